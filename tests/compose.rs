//! Compose checks through the real binary (and, for the rewrite round trip, through the scan
//! library): the seed example, forms of `build.args`/`environment`, `env_file` beside the compose
//! file, literal tokens reported once, parse errors, and suggested edits that re-scan clean.

mod common;

use std::path::Path;

use common::*;
use npm_auth_scan::finding::Severity;
use npm_auth_scan::scan::{apply_replacements, scan_text, ScanSettings};

const TOKEN: &str = "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";

fn scan_json(dir: &Path) -> serde_json::Value {
    json(&run_in(
        dir,
        &[
            "-f",
            "json",
            "--min-severity",
            "info",
            "--fail-on",
            "never",
            ".",
        ],
    ))
}

fn findings(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["rule"].as_str().unwrap_or("").to_string(),
                        f["path"].as_str().unwrap_or("").to_string(),
                        f["line"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn owned(items: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    items
        .iter()
        .map(|(r, p, l)| (r.to_string(), p.to_string(), *l))
        .collect()
}

#[test]
fn seed_example_gets_the_build_secret_rewrite() {
    let dir = fixtures().join("compose-token-build-arg/bad");
    let report = scan_json(&dir);
    let seed: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["path"] == "docker-compose.yml")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(seed.len(), 2, "{report}");
    let arg = seed[0];
    assert_eq!(arg["rule"], "compose-token-build-arg");
    assert_eq!(
        (arg["line"].as_u64(), arg["column"].as_u64()),
        (Some(6), Some(11))
    );
    assert_eq!(arg["severity"], "high");
    let suggestion = &arg["suggestion"];
    let diff = suggestion["diff"].as_str().unwrap_or("");
    for line in [
        "-      args:",
        "-        - NPM_TOKEN=${NPM_GRANULAR_TOKEN}",
        "+      secrets:",
        "+        - npm_token",
        "+secrets:",
        "+  npm_token:",
        "+    environment: NPM_GRANULAR_TOKEN",
    ] {
        assert!(
            diff.lines().any(|l| l == line),
            "missing {line:?} in\n{diff}"
        );
    }
    let notes: Vec<&str> = suggestion["notes"]
        .as_array()
        .map(|n| n.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert!(notes
        .iter()
        .any(|n| n.contains("RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci")));
    assert!(notes.iter().any(|n| n.starts_with("npm token create ")
        && n.contains("--packages-and-scopes-permission=read-only")));
    let env = seed[1];
    assert_eq!(env["rule"], "compose-token-runtime-env");
    assert_eq!(env["severity"], "medium");
    assert!(env["suggestion"]["diff"]
        .as_str()
        .unwrap_or("")
        .contains("-      - NODE_AUTH_TOKEN=${NPM_GRANULAR_TOKEN}"));
}

#[test]
fn list_map_and_key_only_forms_across_services() {
    let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        t.path(),
        "compose.yaml",
        "services:\n  a:\n    build:\n      context: .\n      args:\n        - NODE_ENV=production\n        - NPM_TOKEN\n  b:\n    build:\n      context: .\n      args:\n        NPM_AUTH_TOKEN: \"${NPM_AUTH_TOKEN}\"\n        NPM_TOKEN_FILE: /run/secrets/t\n        BUILD_NPM_TOKEN: x\n    environment:\n      YARN_NPM_AUTH_TOKEN:\n      NPM_CONFIG_//registry.npmjs.org/:_AUTHTOKEN: ${T}\n      LOG_LEVEL: info\n  c:\n    image: node:22\n    environment:\n      - TOKEN=${NODE_AUTH_TOKEN}\n      - GH=${GITHUB_TOKEN}\n",
    );
    let got = findings(&scan_json(t.path()));
    assert_eq!(
        got,
        owned(&[
            ("compose-token-build-arg", "compose.yaml", 7),
            ("compose-token-build-arg", "compose.yaml", 12),
            ("compose-token-build-arg", "compose.yaml", 14),
            ("compose-token-runtime-env", "compose.yaml", 16),
            ("compose-token-runtime-env", "compose.yaml", 17),
            ("compose-token-runtime-env", "compose.yaml", 22),
        ])
    );
}

#[test]
fn build_secrets_and_unrelated_args_are_not_flagged() {
    let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        t.path(),
        "docker-compose.yml",
        "services:\n  app:\n    build:\n      context: .\n      args:\n        NODE_VERSION: \"22\"\n        NPM_TOKEN_FILE: /run/secrets/npm_token\n      secrets:\n        - npm_token\nsecrets:\n  npm_token:\n    environment: NPM_TOKEN\n",
    );
    assert!(findings(&scan_json(t.path())).is_empty());
}

#[test]
fn env_file_is_reported_only_when_the_file_beside_it_holds_a_token() {
    let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        t.path(),
        "deploy/compose.yaml",
        "services:\n  a:\n    image: x\n    env_file: ./a.env\n  b:\n    image: x\n    env_file:\n      - ./b.env\n      - path: ./c.env\n        required: false\n      - ./missing.env\n      - ${ENV_FILE}\n",
    );
    write(t.path(), "deploy/a.env", "PORT=3000\n");
    write(
        t.path(),
        "deploy/b.env",
        "# token for the registry\nexport NODE_AUTH_TOKEN=\"${X}\"\n",
    );
    write(t.path(), "deploy/c.env", "NPM_TOKEN=\n");
    let got = findings(&scan_json(t.path()));
    assert_eq!(
        got,
        owned(&[("compose-token-runtime-env", "deploy/compose.yaml", 8)])
    );
}

#[test]
fn literal_token_is_reported_once_and_never_shown() {
    let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        t.path(),
        "compose.yml",
        format!("services:\n  app:\n    image: x\n    environment:\n      SOME_VALUE: {TOKEN}\n      NPM_TOKEN: s3cr3tLiteralValue99\n"),
    );
    let run = run_in(t.path(), &["-f", "json", "--fail-on", "never", "."]);
    let report = json(&run);
    assert_eq!(
        findings(&report),
        owned(&[
            ("compose-token-runtime-env", "compose.yml", 5),
            ("hardcoded-token", "compose.yml", 5),
            ("compose-token-runtime-env", "compose.yml", 6),
            ("hardcoded-token", "compose.yml", 6),
        ])
    );
    let human = run_in(t.path(), &["."]);
    for out in [&run.stdout, &human.stdout] {
        assert!(
            !out.contains(TOKEN) && !out.contains("s3cr3tLiteralValue99"),
            "{out}"
        );
    }
    assert_eq!(human.code, 1);
}

#[test]
fn a_shared_anchor_merged_into_services_is_reported_once() {
    let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        t.path(),
        "compose.yaml",
        "x-args: &args\n  NPM_TOKEN: ${NPM_TOKEN}\nservices:\n  a:\n    build:\n      context: a\n      args:\n        <<: *args\n  b:\n    build:\n      context: b\n      args: *args\n",
    );
    let report = scan_json(t.path());
    assert_eq!(
        findings(&report),
        owned(&[("compose-token-build-arg", "compose.yaml", 2)])
    );
    assert_eq!(
        report["findings"][0]["suggestion"]["applicability"],
        "manual"
    );
}

#[test]
fn broken_compose_yaml_is_an_error_and_the_scan_goes_on() {
    let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        t.path(),
        "compose.yaml",
        "services:\n  app:\n    build: [\n",
    );
    write(
        t.path(),
        "other/docker-compose.yml",
        "services:\n  app:\n    build:\n      args:\n        - NPM_TOKEN\n",
    );
    let run = run_in(t.path(), &["-f", "json", "."]);
    let report = json(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(report["errors"][0]["path"], "compose.yaml");
    assert!(report["errors"][0]["line"].as_u64().is_some());
    assert_eq!(
        findings(&report),
        owned(&[("compose-token-build-arg", "other/docker-compose.yml", 5)])
    );
}

/// Applying a build-arg rewrite gives a compose file that still parses and no longer passes
/// the token as a build argument.
#[test]
fn applied_rewrites_rescan_clean() {
    let settings = ScanSettings {
        min_severity: Severity::Info,
        ..ScanSettings::default()
    };
    let cases = [
        std::fs::read_to_string(fixtures().join("compose-token-build-arg/bad/docker-compose.yml"))
            .unwrap_or_default(),
        "services:\n  api:\n    build:\n      context: .\n      args:\n        NODE_ENV: production\n        NPM_TOKEN: ${NPM_TOKEN}\n      secrets:\n        - other\nsecrets:\n  other:\n    file: ./o.txt\n".to_string(),
        "services:\n    api:\n        build:\n            args:\n                - NPM_TOKEN\n                - A=b\n".to_string(),
        "services:\r\n  api:\r\n    build:\r\n      context: .\r\n      args:\r\n        - NPM_TOKEN\r\n".to_string(),
    ];
    for text in cases {
        let mut current = text.clone();
        for rule in ["compose-token-build-arg", "compose-token-runtime-env"] {
            loop {
                let outcome = scan_text("docker-compose.yml", &current, &settings);
                let Some(finding) = outcome.findings.iter().find(|f| f.rule == rule) else {
                    break;
                };
                let edits = finding
                    .suggestion
                    .as_ref()
                    .map(|s| s.edits.clone())
                    .unwrap_or_default();
                assert!(!edits.is_empty(), "{rule} has no edits for\n{current}");
                let replacements: Vec<_> =
                    edits.into_iter().map(|e| (e.span, e.replacement)).collect();
                current = apply_replacements(&current, &replacements);
                assert!(
                    npm_auth_scan::parse::yaml::parse(&current).is_ok(),
                    "rewrite is not YAML:\n{current}"
                );
            }
        }
        let outcome = scan_text("docker-compose.yml", &current, &settings);
        assert!(outcome.findings.is_empty(), "{current}");
        if text.contains('\r') {
            assert!(
                !current.replace("\r\n", "").contains('\n'),
                "mixed line endings:\n{current:?}"
            );
        }
        let doc = npm_auth_scan::parse::yaml::parse(&current).unwrap_or_default();
        let root = &doc[0].root;
        assert!(
            root.get_path(&["secrets", "npm_token", "environment"])
                .is_some(),
            "{current}"
        );
        let build = root
            .get("services")
            .and_then(|s| s.iter_map().next())
            .and_then(|(_, svc)| svc.get("build"));
        assert!(
            build
                .and_then(|b| b.get("secrets"))
                .is_some_and(|s| s.iter_seq().any(|i| i.as_str() == Some("npm_token"))),
            "{current}"
        );
    }
}

fn composeish() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let token = prop_oneof![
        Just("services:\n"),
        Just("  app:\n"),
        Just("    build:\n"),
        Just("      args:\n"),
        Just("        - NPM_TOKEN=${X}\n"),
        Just("        - NPM_TOKEN\n"),
        Just("        NODE_AUTH_TOKEN:\n"),
        Just("        NPM_TOKEN: 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\n"),
        Just("      secrets:\n"),
        Just("        - npm_token\n"),
        Just("    environment:\n"),
        Just("      - NODE_AUTH_TOKEN=${NPM_TOKEN}\n"),
        Just("      NPM_TOKEN: abcdefgh12345\n"),
        Just("    env_file: ./x.env\n"),
        Just("secrets:\n"),
        Just("  npm_token:\n"),
        Just("    environment: NPM_TOKEN\n"),
        Just("x: &a\n"),
        Just("  <<: *a\n"),
        Just("    build: {args: [NPM_TOKEN]}\n"),
        Just("\t"),
        Just(" "),
        Just("é"),
        Just("\r\n"),
        Just("#c\n"),
    ];
    proptest::collection::vec(token, 0..30).prop_map(|t| t.concat())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

    /// Whatever the compose text, the check never panics and its edits stay in bounds, on char
    /// boundaries and apart.
    #[test]
    fn compose_check_never_panics_and_edits_are_sane(text in composeish()) {
        let settings = ScanSettings {
            min_severity: Severity::Info,
            ..ScanSettings::default()
        };
        let outcome = scan_text("compose.yaml", &text, &settings);
        for finding in &outcome.findings {
            let Some(s) = &finding.suggestion else { continue };
            let mut last_end = 0;
            for edit in &s.edits {
                proptest::prop_assert!(edit.span.start >= last_end && edit.span.end <= text.len());
                proptest::prop_assert!(text.is_char_boundary(edit.span.start) && text.is_char_boundary(edit.span.end));
                last_end = edit.span.end;
            }
        }
    }
}

/// `--fix --unsafe-fixes` on the bad fixtures: one run moves every token arg and runtime token
/// (their suggestions share identical insertions instead of clashing), the files re-scan without
/// compose findings, and a second run changes nothing.
#[test]
fn unsafe_fixes_apply_in_one_run_and_settle() {
    for rule in ["compose-token-build-arg", "compose-token-runtime-env"] {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let src = fixtures().join(rule).join("bad");
        for file in files_below(&src) {
            let rel = file.strip_prefix(&src).unwrap_or(&file);
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            write(t.path(), &rel.to_string_lossy(), &text);
        }
        let first = run_in(t.path(), &["--fix", "--unsafe-fixes", "."]);
        assert!(
            first.stderr.contains(" 0 skipped"),
            "{rule}: {}",
            first.stderr
        );
        let report = scan_json(t.path());
        // Only suggestions shown for manual work (an env_file elsewhere) may be left.
        let left: Vec<&serde_json::Value> = report["findings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|f| {
                        f["rule"]
                            .as_str()
                            .is_some_and(|r| r.starts_with("compose-"))
                    })
                    .filter(|f| f["suggestion"]["applicability"] != "manual")
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "{rule}: {left:?}");
        let before: Vec<String> = files_below(t.path())
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .collect();
        run_in(t.path(), &["--fix", "--unsafe-fixes", "."]);
        let after: Vec<String> = files_below(t.path())
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .collect();
        assert_eq!(before, after, "{rule}: a second --fix changed files");
    }
}
