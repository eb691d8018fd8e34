//! Placeholder: filled in by the yaml parser work.
