//! Cargo features through the binary. The default build has `--verify`; one built with
//! `--no-default-features` (no `verify`: no HTTP client, no TLS) refuses it as a usage error and
//! scans as usual. `.ci/run` runs this file in both builds.

mod common;

use common::*;

#[test]
#[cfg(not(feature = "verify"))]
fn verify_is_a_usage_error_without_the_feature() {
    let run = run_in(&fixtures(), &["--verify", "hardcoded-token/bad"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--verify: this npm-auth-scan was built without the `verify` feature"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.is_empty(),
        "nothing scanned, nothing sent: {}",
        run.stdout
    );
}

#[test]
#[cfg(feature = "verify")]
fn verify_is_offered_with_the_feature() {
    let run = run_in(&fixtures(), &["--help"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("--verify"), "{}", run.stdout);
}

#[test]
fn scans_the_same_in_every_build() {
    let run = run_in(&fixtures(), &["-f", "json", "hardcoded-token/bad"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(rules_of(&json(&run)).iter().any(|r| r == "hardcoded-token"));
    let report = json(&run);
    assert!(
        report["findings"]
            .as_array()
            .is_some_and(|f| f.iter().all(|f| f.get("verification").is_none())),
        "no verification without --verify"
    );
}
