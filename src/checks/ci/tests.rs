//! Unit tests of the CI model and rules.
