//! Every rule's fixtures, through the real binary: `fixtures/<rule-id>/bad/` must raise the rule,
//! `fixtures/<rule-id>/good/` must not; the JSON and human outputs of each bad tree are pinned as
//! snapshots; no output shows a fixture credential in full.

mod common;

use std::path::Path;

use common::*;

fn rule_dirs() -> Vec<(String, std::path::PathBuf)> {
    let mut dirs: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap_or_else(|e| panic!("fixtures/: {e}"))
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| npm_auth_scan::rules::get(name).is_some())
        .collect();
    dirs.sort();
    dirs
}

fn assert_no_secret(outputs: &[(&str, &str)], secrets: &[String], dir: &Path) {
    for (format, text) in outputs {
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{format} output of {} shows a credential in full",
                dir.display()
            );
        }
    }
}

#[test]
fn every_rule_has_bad_and_good_fixtures() {
    let with_fixtures: Vec<String> = rule_dirs().into_iter().map(|(n, _)| n).collect();
    for rule in npm_auth_scan::rules::all() {
        assert!(
            with_fixtures.contains(&rule.id),
            "rule {} has no fixtures/{}/ folder",
            rule.id,
            rule.id
        );
        let dir = fixtures().join(&rule.id);
        assert!(dir.join("bad").is_dir(), "fixtures/{}/bad missing", rule.id);
        assert!(
            dir.join("good").is_dir(),
            "fixtures/{}/good missing",
            rule.id
        );
    }
}

#[test]
fn bad_fixtures_raise_their_rule_and_good_ones_do_not() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/fixtures");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    for (rule, dir) in rule_dirs() {
        let bad = dir.join("bad");
        let run = run_in(
            &bad,
            &[
                "--format",
                "json",
                "--min-severity",
                "info",
                "--fail-on",
                "never",
                ".",
            ],
        );
        let report = json(&run);
        assert!(
            rules_of(&report).contains(&rule),
            "fixtures/{rule}/bad does not raise {rule}:\n{}",
            run.stdout
        );
        assert_eq!(run.code, 0, "--fail-on never exits 0: {}", run.stderr);
        let human = run_in(&bad, &["--min-severity", "info", "."]);
        let failing = report["findings"].as_array().is_some_and(|a| {
            a.iter()
                .any(|f| matches!(f["severity"].as_str(), Some("medium" | "high" | "critical")))
        });
        assert_eq!(
            human.code,
            i32::from(failing),
            "{rule}: exit 1 exactly when a finding is at or above medium"
        );
        let secrets = secrets_in(&bad);
        let sarif = run_in(&bad, &["-f", "sarif", "--min-severity", "info", "."]);
        let github = run_in(&bad, &["-f", "github", "--min-severity", "info", "."]);
        let diff = run_in(
            &bad,
            &["--diff", "--unsafe-fixes", "--min-severity", "info", "."],
        );
        let html = run_in(&bad, &["-f", "html", "--min-severity", "info", "."]);
        let markdown = run_in(&bad, &["-f", "markdown", "--min-severity", "info", "."]);
        let baseline_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let baseline = baseline_dir.path().join("baseline.json");
        let baseline_arg = baseline.to_string_lossy().into_owned();
        let written = run_in(&bad, &["--write-baseline", &baseline_arg, "."]);
        let baseline_text = std::fs::read_to_string(&baseline).unwrap_or_default();
        assert_no_secret(
            &[
                ("json", &run.stdout),
                ("human", &human.stdout),
                ("human stderr", &human.stderr),
                ("sarif", &sarif.stdout),
                ("github", &github.stdout),
                ("html", &html.stdout),
                ("markdown", &markdown.stdout),
                ("diff", &diff.stdout),
                ("diff stderr", &diff.stderr),
                ("baseline", &baseline_text),
                ("baseline stderr", &written.stderr),
            ],
            &secrets,
            &bad,
        );
        insta::assert_snapshot!(format!("{rule}.json"), run.stdout);
        insta::assert_snapshot!(format!("{rule}.human"), human.stdout);

        let good = dir.join("good");
        let run = run_in(&good, &["--format", "json", "--min-severity", "info", "."]);
        let report = json(&run);
        assert!(
            !rules_of(&report).contains(&rule),
            "fixtures/{rule}/good raises {rule}:\n{}",
            run.stdout
        );
        assert!(
            report["errors"].as_array().is_some_and(|e| e.is_empty()),
            "fixtures/{rule}/good has errors: {}",
            run.stdout
        );
    }
}
