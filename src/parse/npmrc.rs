//! Placeholder: filled in by the npmrc parser work.
