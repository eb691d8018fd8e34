//! Placeholder: filled in by the dotenv parser work.
