//! Placeholder: filled in by the bunfig parser work.
