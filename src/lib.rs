//! npm-auth-scan: finds long-lived npm credentials and the build and CI set-ups that carry them,
//! and shows the rewrite to granular tokens, BuildKit secrets and trusted publishing.
//!
//! Detection returns data ([`finding::Finding`]); only [`output`] renders and only [`app`] prints.

pub mod advice;
pub mod app;
pub mod catalogue;
pub mod checks;
pub mod cli;
pub mod config;
pub mod credential;
pub mod discover;
pub mod edit;
pub mod finding;
pub mod fix;
pub mod history;
pub mod model;
pub mod output;
pub mod parse;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod staged;
pub mod suppress;
pub mod token;
pub mod verify;
