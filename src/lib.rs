//! npm-auth-scan: finds long-lived npm credentials and the build and CI set-ups that carry them.

pub mod parse;
pub mod source;
