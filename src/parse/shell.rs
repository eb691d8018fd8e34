//! Placeholder: filled in by the shell parser work.
