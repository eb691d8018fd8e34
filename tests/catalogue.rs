//! The publisher catalogue (`rules/catalogue.toml`) through the real binary: every entry's
//! fixture is reported as a publish by that entry's tool, scanned as a tree and as a named file;
//! and the semantics the peer suites showed (`fixtures/semantics/<case>/{bad,good}`).

mod common;

use common::*;

fn findings(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["rule"].as_str().unwrap_or("").to_string(),
                        f["severity"].as_str().unwrap_or("").to_string(),
                        f["message"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_catalogue_entry_is_reported_by_its_fixture() {
    let c = npm_auth_scan::catalogue::get();
    assert_eq!(npm_auth_scan::catalogue::load_error(), None);
    let entries: Vec<(&str, &str, &str, bool)> = c
        .commands
        .iter()
        .map(|e| (e.id.as_str(), e.tool.as_str(), e.fixture.as_str(), false))
        .chain(c.actions.iter().map(|a| {
            (
                a.id.as_str(),
                a.tool.as_str(),
                a.fixture.as_str(),
                a.provides_token,
            )
        }))
        .collect();
    for (id, tool, fixture, provides_token) in entries {
        let file = fixtures().join(fixture);
        assert!(file.is_file(), "{id}: fixture {fixture} missing");
        let dir = fixtures().join("catalogue").join(id);
        let rel = file
            .strip_prefix(&dir)
            .unwrap_or_else(|_| panic!("{id}: fixture {fixture} not under catalogue/{id}/"))
            .to_string_lossy()
            .replace('\\', "/");
        // A token provider (Azure npmAuthenticate) is seen through the publish it serves.
        let expect = if provides_token {
            "service connection".to_string()
        } else {
            format!("(`{tool}`)")
        };
        for args in [
            vec!["--format", "json", "."],
            vec!["--format", "json", &rel],
        ] {
            let run = run_in(&dir, &args);
            let found = findings(&json(&run));
            assert!(
                found.iter().any(|(rule, _, message)| {
                    rule == "ci-publish-long-lived-token" && message.contains(&expect)
                }),
                "{id} ({args:?}): no publish by {expect} in {found:#?}\nstderr: {}",
                run.stderr
            );
        }
    }
}

fn case(name: &str, tree: &str) -> Vec<(String, String, String)> {
    let dir = fixtures().join("semantics").join(name).join(tree);
    let run = run_in(&dir, &["--format", "json", "."]);
    findings(&json(&run))
}

#[test]
fn yarn_npm_publish_dash_n_is_a_dry_run() {
    assert!(case("yarn-dry-run", "good").is_empty());
    let bad = case("yarn-dry-run", "bad");
    assert!(
        bad.iter().any(|f| f.0 == "ci-publish-long-lived-token"),
        "{bad:?}"
    );
}

#[test]
fn bun_publish_relying_on_oidc_is_misconfigured() {
    let bad = case("bun-oidc", "bad");
    assert!(
        bad.iter()
            .any(|f| f.0 == "trusted-publishing-misconfigured" && f.2.contains("oven-sh/bun#22423")),
        "{bad:?}"
    );
    assert!(case("bun-oidc", "good").is_empty());
}

#[test]
fn npm_stage_publish_is_clean_with_oidc_and_low_with_a_token() {
    assert!(case("stage-publish", "good").is_empty());
    let bad = case("stage-publish", "bad");
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].0, "ci-publish-long-lived-token");
    assert_eq!(bad[0].1, "low");
    assert!(bad[0].2.contains("stage-only"), "{}", bad[0].2);
}

#[test]
fn each_publish_uses_the_registry_in_effect_at_its_step() {
    // A GitHub Packages publish first, then an npmjs publish with a stored token: the second
    // is the finding; a custom-registry publish after an npmjs setup step is not npm's.
    let bad = case("registry-per-step", "bad");
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].2.contains("secrets.NPM_TOKEN"), "{}", bad[0].2);
    assert!(case("registry-per-step", "good").is_empty());
}

#[test]
fn npm_and_token_in_any_order_name_a_token_in_dockerfiles_and_compose() {
    let bad = case("token-names", "bad");
    for rule in [
        "dockerfile-token-arg",
        "dockerfile-token-env",
        "compose-token-build-arg",
    ] {
        assert!(
            bad.iter()
                .any(|f| f.0 == rule && f.2.contains("NEXUS_NPM_PROXY_TOKEN")),
            "{rule}: {bad:?}"
        );
    }
    assert!(case("token-names", "good").is_empty());
}

#[test]
fn build_push_action_v1_build_args_are_read() {
    let bad = case("build-args-v1", "bad");
    assert!(
        bad.iter().any(|f| f.0 == "ci-token-in-docker-build-arg"),
        "{bad:?}"
    );
    assert!(case("build-args-v1", "good").is_empty());
}

#[test]
fn explain_catalogue_lists_every_entry() {
    let run = run_in(&root(), &["explain", "catalogue"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let c = npm_auth_scan::catalogue::get();
    for e in &c.commands {
        assert!(run.stdout.contains(&format!("`{}`", e.tool)), "{}", e.id);
    }
    for a in &c.actions {
        assert!(run.stdout.contains(&format!("`{}`", a.uses)), "{}", a.id);
    }
    assert!(run.stdout.contains("NEXUS_NPM_PROXY_TOKEN"));
}
