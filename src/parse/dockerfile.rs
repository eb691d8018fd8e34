//! Placeholder: filled in by the dockerfile parser work.
