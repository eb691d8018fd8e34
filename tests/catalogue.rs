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
        // `--min-severity info`: `npm stage publish` with a token is only an info note.
        let base = ["--format", "json", "--min-severity", "info"];
        for target in [".", rel.as_str()] {
            let args: Vec<&str> = base.iter().copied().chain([target]).collect();
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
fn npm_stage_publish_is_clean_with_oidc_and_an_info_note_with_a_token() {
    assert!(case("stage-publish", "good").is_empty());
    let dir = fixtures().join("semantics/stage-publish/bad");
    let run = run_in(&dir, &["--format", "json", "--min-severity", "info", "."]);
    let staged: Vec<_> = findings(&json(&run))
        .into_iter()
        .filter(|f| f.0 == "ci-publish-long-lived-token")
        .collect();
    assert_eq!(staged.len(), 1, "{staged:?}");
    assert_eq!(staged[0].1, "info");
    assert!(staged[0].2.contains("stage-only"), "{}", staged[0].2);
    // Not reported at the default minimum severity: it is the recommended shape.
    assert!(case("stage-publish", "bad").is_empty());
}

#[test]
fn without_trusted_publishing_the_rewrite_stages_the_publish_and_rescans_clean() {
    let t = tree();
    let pipeline = std::fs::read_to_string(
        fixtures().join("ci-publish-long-lived-token/bad/azure-pipelines.yml"),
    )
    .unwrap_or_else(|e| panic!("fixture: {e}"));
    write(t.path(), "azure-pipelines.yml", &pipeline);
    let run = run_in(t.path(), &["--fix", "--unsafe-fixes", "--format", "json"]);
    let fixed = std::fs::read_to_string(t.path().join("azure-pipelines.yml"))
        .unwrap_or_else(|e| panic!("fixed file: {e}"));
    assert!(
        fixed.contains("      npm stage publish\n"),
        "{fixed}\n{}",
        run.stderr
    );
    assert_eq!(fixed.matches("npm publish").count(), 0, "{fixed}");
    assert!(
        !rules_of(&json(&run)).contains(&"ci-publish-long-lived-token".to_string()),
        "{}",
        run.stdout
    );
    let again = run_in(t.path(), &["--fix", "--unsafe-fixes", "--format", "json"]);
    let twice = std::fs::read_to_string(t.path().join("azure-pipelines.yml"))
        .unwrap_or_else(|e| panic!("fixed file: {e}"));
    assert_eq!(
        twice, fixed,
        "a second --fix changes nothing: {}",
        again.stderr
    );
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
fn the_npmrc_a_job_has_written_so_far_decides_where_each_publish_goes() {
    // `registry=`, `@scope:registry=` and `//host/:_authToken` lines written into the project
    // .npmrc by earlier commands: a GitHub Packages or GitLab registry publish is not npm's,
    // an npmjs publish after one is; as a tree and as named files.
    let dir = fixtures().join("semantics/registry-npmrc-written/bad");
    for target in [
        ".",
        ".github/workflows/release.yml",
        "gitlab/.gitlab-ci.yml",
    ] {
        let report = json(&run_in(&dir, &["--format", "json", target]));
        let found = findings(&report);
        let publishes: Vec<_> = found
            .iter()
            .filter(|f| f.0 == "ci-publish-long-lived-token")
            .collect();
        let expected = if target == "." { 2 } else { 1 };
        assert_eq!(publishes.len(), expected, "{target}: {found:?}");
        assert!(
            publishes.iter().all(|f| f.2.contains("NPM_TOKEN")),
            "{target}: {found:?}"
        );
        assert!(
            !found.iter().any(|f| f.2.contains("GH_PACKAGES_TOKEN")),
            "{target}: the GitHub Packages token is not npm's: {found:?}"
        );
    }
    let dir = fixtures().join("semantics/registry-npmrc-written/good");
    for target in [
        ".",
        ".github/workflows/release.yml",
        "gitlab/.gitlab-ci.yml",
        "gitlab-api/.gitlab-ci.yml",
    ] {
        let report = json(&run_in(&dir, &["--format", "json", target]));
        let found = findings(&report);
        // The GitHub Packages token written in clear is still a token in a file, but its
        // suggestion is for its own registry: no npmjs setup, no trusted publishing.
        assert!(
            found.iter().all(|f| f.0 == "ci-token-written-to-npmrc"),
            "{target}: {found:?}"
        );
        for f in report["findings"].as_array().into_iter().flatten() {
            let notes = f["suggestion"]["notes"].to_string();
            assert!(notes.contains("https://npm.pkg.github.com"), "{notes}");
            assert!(!notes.contains("registry.npmjs.org"), "{notes}");
            assert!(!notes.contains("trusted publishing"), "{notes}");
        }
    }
}

#[test]
fn a_reusable_workflow_publishing_where_its_npmrc_says_is_not_an_oidc_publish() {
    // The caller grants no id-token: write; the called job publishes to GitHub Packages by the
    // .npmrc it writes (good), or to npmjs relying on OIDC (bad: reported at the caller).
    let caller = "on: push\njobs:\n  call:\n    uses: ./.github/workflows/publish.yml\n";
    let called = |registry_line: &str| {
        format!("on: workflow_call\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-node@v5\n        with:\n          node-version: 24\n      - run: |\n{registry_line}          npm publish\n")
    };
    for (line, reported) in [
        (
            "          echo \"registry=https://npm.pkg.github.com\" > .npmrc\n",
            false,
        ),
        ("", true),
    ] {
        let t = tree();
        write(t.path(), ".github/workflows/release.yml", caller);
        write(t.path(), ".github/workflows/publish.yml", called(line));
        for target in [".", ".github/workflows/release.yml"] {
            let rules = rules_of(&json(&run_in(t.path(), &["--format", "json", target])));
            assert_eq!(
                rules.contains(&"trusted-publishing-misconfigured".to_string()),
                reported,
                "{line:?} {target}: {rules:?}"
            );
        }
    }
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

#[test]
fn npmrc_backups_are_read_as_npmrc_and_other_registries_tokens_are_hardcoded() {
    let bad = case("npmrc-backups", "bad");
    let dir = fixtures().join("semantics/npmrc-backups/bad");
    let report = json(&run_in(&dir, &["--format", "json", "."]));
    let mut paths = paths_of(&report);
    paths.dedup();
    assert_eq!(paths, [".npmrc.bak", ".npmrcOLD2", "npmrc.backup"]);
    assert!(bad.iter().all(|f| f.0 == "hardcoded-token"), "{bad:?}");
    assert!(bad.iter().any(|f| f.2.contains("npm.pkg.github.com")));
    assert!(bad.iter().any(|f| f.2.contains("gitlab.example.com")));
    for secret in [
        "ghp_R7xQ2mK9vL4pN8wZ3tY6uB1cD5fG0hJ2kL9a",
        "glpat-Xy7Zk2Qw9Er4Ty6Ui8Op",
    ] {
        assert!(
            !report.to_string().contains(secret),
            "{secret} shown in full"
        );
    }
    // A named backup is read the same way (pre-commit passes staged names).
    let named = json(&run_in(&dir, &["--format", "json", "npmrc.backup"]));
    assert_eq!(rules_of(&named), ["hardcoded-token"]);
    assert!(case("npmrc-backups", "good").is_empty());
}

#[test]
fn a_value_in_an_npm_auth_key_is_a_credential_whatever_its_name() {
    let bad = case("auth-key-values", "bad");
    assert!(
        bad.iter()
            .any(|f| f.0 == "ci-token-written-to-npmrc" && f.2.contains("$DEPLOY_SECRET")),
        "{bad:?}"
    );
    assert!(
        bad.iter()
            .any(|f| f.0 == "ci-token-written-to-npmrc" && f.2.contains("$(cat /run/keys/publish)")),
        "{bad:?}"
    );
    assert!(
        bad.iter().any(|f| f.0 == "ci-publish-long-lived-token"),
        "{bad:?}"
    );
    assert!(case("auth-key-values", "good").is_empty());
}

#[test]
fn onbuild_instructions_are_checked_like_the_instruction_they_wrap() {
    let bad = case("onbuild", "bad");
    let rules: Vec<&str> = bad.iter().map(|f| f.0.as_str()).collect();
    assert!(rules.contains(&"dockerfile-token-arg"), "{bad:?}");
    assert!(rules.contains(&"dockerfile-npmrc-in-layer"), "{bad:?}");
    assert!(rules.contains(&"dockerfile-token-env"), "{bad:?}");
    // Each says where it comes from, and that it runs in the child image's build.
    for f in &bad {
        assert!(
            f.2.contains("`ONBUILD` instruction") && f.2.contains("child image"),
            "{f:?}"
        );
    }
    let dir = fixtures().join("semantics/onbuild/bad");
    let named = json(&run_in(&dir, &["--format", "json", "Dockerfile"]));
    assert_eq!(rules_of(&named).len(), bad.len());
    assert!(case("onbuild", "good").is_empty());
}

#[test]
fn readme_catalogue_table_matches_the_catalogue() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap_or_default();
    let start = "<!-- catalogue-table:start -->\n";
    let end = "<!-- catalogue-table:end -->";
    let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) else {
        panic!("README.md lacks the catalogue-table markers");
    };
    let current = &readme[a + start.len()..b];
    let wanted = npm_auth_scan::catalogue::markdown();
    if current != wanted {
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{}{}", &readme[..a + start.len()], wanted, &readme[b..]);
            std::fs::write(&path, updated).unwrap_or_else(|e| panic!("{e}"));
        } else {
            panic!("README catalogue table is out of date; run `UPDATE_README=1 cargo test --test catalogue`.\nWanted:\n{wanted}");
        }
    }
}
