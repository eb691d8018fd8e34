//! CI checks beyond the per-rule fixtures: every suggested rewrite of a CI fixture still parses
//! as YAML, keeps every line it does not touch (comments, indentation, key order) and fixes the
//! job it is about; the rewrites are pinned as snapshots; arbitrary YAML never panics the checks.

mod common;

use std::path::Path;

use common::*;
use npm_auth_scan::finding::Severity;
use npm_auth_scan::parse::yaml;
use npm_auth_scan::scan::{apply_replacements, scan_text, ScanSettings};
use proptest::prelude::*;

const CI_RULES: &[&str] = &[
    "ci-publish-long-lived-token",
    "ci-token-in-docker-build-arg",
    "ci-token-written-to-npmrc",
    "trusted-publishing-misconfigured",
    "oidc-token-still-set",
];

/// Rules a trusted-publishing rewrite must leave silent for the job it rewrote.
const PUBLISH_RULES: &[&str] = &[
    "ci-publish-long-lived-token",
    "trusted-publishing-misconfigured",
    "oidc-token-still-set",
];

fn settings() -> ScanSettings {
    ScanSettings {
        min_severity: Severity::Info,
        ..ScanSettings::default()
    }
}

fn is_ci_file(rel: &str) -> bool {
    npm_auth_scan::discover::classify(Path::new(rel)).is_some_and(|k| k.is_ci())
}

/// Lines of `before` that no edit touches must all be in `after`, in the same order.
fn untouched_lines_kept(before: &str, after: &str, edits: &[(std::ops::Range<usize>, String)]) {
    let mut offset = 0;
    let mut rest = after;
    for line in before.split_inclusive('\n') {
        let span = offset..offset + line.len();
        offset += line.len();
        let touched = edits.iter().any(|(e, _)| {
            e.start < span.end && span.start < e.end.max(e.start + 1) && e.start != span.end
        });
        if touched {
            continue;
        }
        match rest.find(line) {
            Some(at) => rest = &rest[at + line.len()..],
            None => panic!("line {line:?} lost or moved by the rewrite:\n{after}"),
        }
    }
}

#[test]
fn rewrites_parse_keep_the_file_and_fix_the_job() {
    let mut settings_insta = insta::Settings::clone_current();
    settings_insta.set_snapshot_path("snapshots/ci");
    settings_insta.set_prepend_module_to_snapshot(false);
    let _guard = settings_insta.bind_to_scope();
    for rule in CI_RULES {
        let bad = fixtures().join(rule).join("bad");
        let mut pinned = String::new();
        for file in files_below(&bad) {
            let rel = file
                .strip_prefix(&bad)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            if !is_ci_file(&rel) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{rel}: {e}"));
            let outcome = scan_text(&rel, &text, &settings());
            let before_count = outcome
                .findings
                .iter()
                .filter(|f| PUBLISH_RULES.contains(&f.rule))
                .count();
            for finding in outcome.findings.iter().filter(|f| f.rule == *rule) {
                let Some(s) = &finding.suggestion else {
                    panic!("{rel}: {} finding without a suggestion", finding.rule);
                };
                if s.edits.is_empty() {
                    continue;
                }
                let mut edits: Vec<_> = s
                    .edits
                    .iter()
                    .map(|e| (e.span.clone(), e.replacement.clone()))
                    .collect();
                edits.sort_by_key(|(s, _)| (s.start, s.end));
                for pair in edits.windows(2) {
                    assert!(
                        pair[0].0.end <= pair[1].0.start,
                        "{rel}: overlapping edits {pair:?}"
                    );
                }
                let after = apply_replacements(&text, &edits);
                if let Err(e) = yaml::parse(&after) {
                    panic!(
                        "{rel}: rewrite for {rule} line {} is not YAML ({e}):\n{after}",
                        finding.line
                    );
                }
                untouched_lines_kept(&text, &after, &edits);
                let again = scan_text(&rel, &after, &settings());
                if *rule == "ci-publish-long-lived-token" && s.title.contains("trusted publishing")
                {
                    let after_count = again
                        .findings
                        .iter()
                        .filter(|f| PUBLISH_RULES.contains(&f.rule))
                        .count();
                    assert!(
                        after_count < before_count,
                        "{rel}: the trusted-publishing rewrite leaves the job flagged:\n{after}\n{:#?}",
                        again.findings.iter().map(|f| (f.rule, f.line, &f.message)).collect::<Vec<_>>()
                    );
                }
                if *rule == "oidc-token-still-set" {
                    assert!(
                        again.findings.len() < outcome.findings.len(),
                        "{rel}: removing the token changed nothing"
                    );
                }
                pinned.push_str(&format!(
                    "===== {rel} (line {}: {})\n{after}\n",
                    finding.line, s.title
                ));
            }
        }
        insta::assert_snapshot!(format!("{rule}.rewrites"), pinned);
    }
}

#[test]
fn every_ci_system_has_a_bad_fixture_for_the_publish_rule() {
    let bad = fixtures().join("ci-publish-long-lived-token").join("bad");
    let report = json(&run_in(
        &bad,
        &["--format", "json", "--fail-on", "never", "."],
    ));
    let paths: Vec<String> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "ci-publish-long-lived-token")
        .filter_map(|f| f["path"].as_str().map(str::to_string))
        .collect();
    for expected in [
        ".github/workflows/release.yml",
        ".github/actions/publish/action.yml",
        ".gitlab-ci.yml",
        ".circleci/config.yml",
        ".travis.yml",
        "azure-pipelines.yml",
        "bitbucket-pipelines.yml",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "no ci-publish-long-lived-token finding in {expected}: {paths:?}"
        );
    }
}

#[test]
fn broken_ci_yaml_is_an_error_entry_not_a_crash() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wf = dir.path().join(".github").join("workflows");
    std::fs::create_dir_all(&wf).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(wf.join("bad.yml"), "jobs:\n  a: [unclosed\n").unwrap_or_else(|e| panic!("{e}"));
    let run = run_in(dir.path(), &["--format", "json", "."]);
    let report = json(&run);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(
        report["errors"][0]["path"].as_str(),
        Some(".github/workflows/bad.yml")
    );
}

const CI_PATHS: &[&str] = &[
    ".github/workflows/p.yml",
    "action.yml",
    ".gitlab-ci.yml",
    ".circleci/config.yml",
    ".travis.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
];

/// YAML-ish lines built from the words the checks look for, at random indentation.
fn yamlish() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "jobs:",
        "steps:",
        "- run: |",
        "run: npm publish",
        "env:",
        "NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}",
        "permissions:",
        "id-token: write",
        "- uses: actions/setup-node@v5",
        "with:",
        "node-version: 18",
        "script:",
        "- npm publish --provenance",
        "id_tokens:",
        "NPM_ID_TOKEN:",
        "aud: x",
        "variables:",
        "NPM_TOKEN: $X",
        "- echo \"//r/:_authToken=${NPM_TOKEN}\" > .npmrc",
        "extends: .t",
        ".t:",
        "- !reference [.t, script]",
        "deploy:",
        "provider: npm",
        "api_key: $K",
        "pipelines:",
        "default:",
        "- step:",
        "- pipe: atlassian/npm-publish:0.3",
        "stages:",
        "- stage: a",
        "- job: b",
        "- task: npmAuthenticate@0",
        "inputs:",
        "customEndpoint: x",
        "docker build --build-arg NPM_TOKEN=$T .",
        "build-args: |",
        "<<: *a",
        "a: &a",
        "runs-on: [self-hosted]",
        "tags: [x]",
        "'",
        "\"",
        "{",
        "[",
        "]",
        "}",
        "|",
        "-",
        "yarn npm publish",
        "circleci run oidc get",
        "npm login",
        "resource_class: a/b",
        "- |",
        "  ",
        ":",
        "runs:",
        "using: composite",
        "${{",
        "$(npmToken)",
        "cat > .npmrc <<EOF",
        "EOF",
        "\t",
    ]);
    prop::collection::vec((0usize..8, word), 0..40).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(indent, w)| format!("{}{}\n", " ".repeat(indent), w))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn ci_checks_never_panic_on_yamlish_input(text in yamlish(), which in 0usize..7) {
        let path = CI_PATHS[which];
        let outcome = scan_text(path, &text, &settings());
        for f in &outcome.findings {
            prop_assert!(f.line >= 1);
            let Some(s) = &f.suggestion else { continue };
            let mut edits: Vec<_> = s.edits.iter().map(|e| e.span.clone()).collect();
            edits.sort_by_key(|e| (e.start, e.end));
            for e in &edits {
                prop_assert!(e.start <= e.end && e.end <= text.len(), "{e:?} out of bounds");
                prop_assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
            }
            for pair in edits.windows(2) {
                prop_assert!(pair[0].end <= pair[1].start, "overlapping edits {:?}", pair);
            }
        }
    }

    #[test]
    fn ci_checks_never_panic_on_arbitrary_text(text in ".{0,400}", which in 0usize..7) {
        let _ = scan_text(CI_PATHS[which], &text, &settings());
    }
}

/// Every CI file of the bad fixtures, with its path (the file name decides the CI system).
fn ci_fixture_files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for rule in CI_RULES {
        let bad = fixtures().join(rule).join("bad");
        for file in files_below(&bad) {
            let rel = file
                .strip_prefix(&bad)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            if is_ci_file(&rel) {
                if let Ok(text) = std::fs::read_to_string(&file) {
                    out.push((rel, text));
                }
            }
        }
    }
    out
}

/// A line-level mutation: 0 delete, 1 duplicate, 2 indent by two, 3 dedent by two, 4 swap with
/// the next line, 5 trailing comment, 6 blank line before; 7 turns the file CRLF.
fn mutate(text: &str, ops: &[(usize, u8)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for &(at, op) in ops {
        if lines.is_empty() {
            break;
        }
        let i = at % lines.len();
        match op {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => lines[i] = format!("  {}", lines[i]),
            3 => lines[i] = lines[i].strip_prefix("  ").unwrap_or(&lines[i]).to_string(),
            4 if i + 1 < lines.len() => lines.swap(i, i + 1),
            5 => lines[i].push_str("  # note"),
            6 => lines.insert(i, String::new()),
            _ => {}
        }
    }
    let crlf = ops.iter().any(|&(_, op)| op == 7);
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut out = lines.join(nl);
    out.push_str(nl);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Near-valid CI files: findings keep their invariants, and applying any suggestion gives a
    /// text that scans again without panicking.
    #[test]
    fn mutated_fixtures_keep_edits_sane(pick in 0usize..1000, ops in prop::collection::vec((0usize..200, 0u8..8), 1..5)) {
        let files = ci_fixture_files();
        prop_assume!(!files.is_empty());
        let (path, original) = &files[pick % files.len()];
        let text = mutate(original, &ops);
        let outcome = scan_text(path, &text, &settings());
        for f in &outcome.findings {
            let Some(s) = &f.suggestion else { continue };
            let mut edits: Vec<_> = s.edits.iter().map(|e| (e.span.clone(), e.replacement.clone())).collect();
            edits.sort_by_key(|(e, _)| (e.start, e.end));
            for pair in edits.windows(2) {
                prop_assert!(pair[0].0.end <= pair[1].0.start, "overlapping edits in {path}: {:?}", pair);
            }
            let after = apply_replacements(&text, &edits);
            if yaml::parse(&text).is_ok() {
                prop_assert!(
                    yaml::parse(&after).is_ok(),
                    "{path}: {} rewrite breaks the YAML:\n--- before\n{text}\n--- after\n{after}",
                    f.rule
                );
            }
            let _ = scan_text(path, &after, &settings());
        }
    }
}
