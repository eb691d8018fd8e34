//! Placeholder: filled in by the yarnrc parser work.
