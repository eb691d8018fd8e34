//! The npm-style config checks (`.npmrc`, `.yarnrc`, `bunfig.toml`, `.env`) through the real
//! binary, for what the fixture trees do not pin: how the project around a `.npmrc` changes the
//! pnpm verdict, positions in CRLF/BOM files, suggestions' applicability, parse errors, and
//! that no credential shows in any output.

mod common;

use std::path::Path;

use common::*;

const TOKEN: &str = "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";

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    // A repository root, so the project lookup stops here.
    std::fs::create_dir_all(dir.path().join(".git")).unwrap_or_else(|e| panic!("{e}"));
    for (path, content) in files {
        let p = dir.path().join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&p, content).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

fn scan(dir: &Path) -> serde_json::Value {
    let run = run_in(
        dir,
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
    json(&run)
}

fn findings_of<'a>(report: &'a serde_json::Value, rule: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["rule"] == rule).collect())
        .unwrap_or_default()
}

#[test]
fn pnpm_verdict_depends_on_the_pinned_version() {
    let npmrc = "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n";
    let cases = [
        (
            Some(r#"{"packageManager":"pnpm@11.5.3"}"#),
            None,
            Some("high"),
        ),
        (Some(r#"{"packageManager":"pnpm@11.5.2"}"#), None, None),
        (None, Some("pnpm-workspace.yaml"), Some("medium")),
        (Some(r#"{"packageManager":"npm@11.6.2"}"#), None, None),
        (None, None, None),
    ];
    for (package_json, marker, expected) in cases {
        let mut files = vec![(".npmrc", npmrc)];
        if let Some(p) = package_json {
            files.push(("package.json", p));
        }
        if let Some(m) = marker {
            files.push((m, "packages: []\n"));
        }
        let dir = tree(&files);
        let report = scan(dir.path());
        let found = findings_of(&report, "env-not-expanded");
        let got = found.first().and_then(|f| f["confidence"].as_str());
        assert_eq!(got, expected, "{package_json:?} {marker:?}: {report}");
        // The reference itself is always in the inventory.
        assert_eq!(findings_of(&report, "env-token-reference").len(), 1);
    }
}

#[test]
fn pnpm_context_is_found_from_a_nested_package() {
    let dir = tree(&[
        ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
        (
            "packages/app/.npmrc",
            "//npm.pkg.github.com/:_authToken=${GH_NPM_TOKEN}\n",
        ),
    ]);
    let report = scan(dir.path());
    let found = findings_of(&report, "env-not-expanded");
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["path"], "packages/app/.npmrc");
    assert_eq!(found[0]["suggestion"]["applicability"], "manual");
}

#[test]
fn positions_survive_crlf_and_a_bom() {
    let content = format!("\u{feff}; comment\r\n\r\nemail=x@y.z\r\n//registry.npmjs.org/:_authToken = \"{TOKEN}\"\r\n");
    let dir = tree(&[(".npmrc", &content)]);
    let report = scan(dir.path());
    let found = findings_of(&report, "hardcoded-token");
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["line"], 4);
    assert_eq!(found[0]["column"], 37);
    assert_eq!(found[0]["end_column"], 76);
    assert_eq!(found[0]["confidence"], "high");
    assert_eq!(found[0]["suggestion"]["applicability"], "unsafe");
    let diff = found[0]["suggestion"]["diff"].as_str().unwrap_or("");
    assert!(
        diff.contains("+//registry.npmjs.org/:_authToken = \"${NPM_TOKEN}\""),
        "{diff}"
    );
}

#[test]
fn applicability_per_rule() {
    let dir = tree(&[(
        ".npmrc",
        "always-auth=true\n_authToken=${NPM_TOKEN}\n//registry.npmjs.org/:_authToken=$NPM_TOKEN\n",
    )]);
    let report = scan(dir.path());
    for (rule, applicability) in [
        ("obsolete-auth-config", "safe"),
        ("unscoped-auth", "safe"),
        ("env-not-expanded", "safe"),
    ] {
        let found = findings_of(&report, rule);
        assert_eq!(found.len(), 1, "{rule}: {report}");
        assert_eq!(
            found[0]["suggestion"]["applicability"], applicability,
            "{rule}"
        );
    }
    let diff = findings_of(&report, "unscoped-auth")[0]["suggestion"]["diff"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        diff.contains("+//registry.npmjs.org/:_authToken=${NPM_TOKEN}"),
        "{diff}"
    );
}

#[test]
fn yarn_v1_project_keeps_always_auth_removal_unsafe() {
    let dir = tree(&[
        (".npmrc", "always-auth=true\n"),
        (
            "yarn.lock",
            "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n",
        ),
    ]);
    let report = scan(dir.path());
    let found = findings_of(&report, "obsolete-auth-config");
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["suggestion"]["applicability"], "unsafe");
    assert!(found[0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("Yarn v1"));
}

#[test]
fn sections_hide_settings_from_npm() {
    // npm nests keys under a [section]: only the literal-credential rules look inside.
    let dir = tree(&[(
        ".npmrc",
        "[old]\n_authToken=s3cr3t-T0ken-9f8e7d6c\nalways-auth=true\n",
    )]);
    let report = scan(dir.path());
    assert_eq!(findings_of(&report, "hardcoded-token").len(), 1, "{report}");
    assert!(findings_of(&report, "unscoped-auth").is_empty());
    assert!(findings_of(&report, "obsolete-auth-config").is_empty());
    assert!(!report.to_string().contains("s3cr3t-T0ken-9f8e7d6c"));
}

#[test]
fn invalid_bunfig_is_a_file_error_with_a_line() {
    let dir = tree(&[(
        "bunfig.toml",
        "[install]\nregistry = { url = \"https://r/\", token = \"abc\n",
    )]);
    let run = run_in(dir.path(), &["--format", "json", "."]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let report = json(&run);
    let errors = report["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!(errors[0]["path"], "bunfig.toml");
    assert_eq!(errors[0]["line"], 2);
}

#[test]
fn no_credential_appears_in_any_output() {
    let password = "Pa55w0rd-x7";
    let auth = "ZGVwbG95OnMzY3IzdC1wYXNz";
    let dir = tree(&[
        (
            ".npmrc",
            &format!(
                "registry=https://ci:{password}@npm.acme.dev/\n//nexus.acme.dev/:_auth={auth}\n//registry.npmjs.org/:_authToken={TOKEN}\n"
            ),
        ),
        (
            "bunfig.toml",
            &format!("[install]\nregistry = \"https://ci:{password}@npm.acme.dev/\"\n"),
        ),
        (
            ".yarnrc",
            &format!("\"//registry.npmjs.org/:_password\" \"{auth}\"\n"),
        ),
        (".env.local", &format!("export NPM_TOKEN='{TOKEN}'\n")),
    ]);
    for format in ["json", "human"] {
        let run = run_in(
            dir.path(),
            &["--format", format, "--min-severity", "info", "."],
        );
        assert_eq!(run.code, 1);
        for secret in [password, auth, TOKEN] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{format} shows {secret}:\n{}",
                run.stdout
            );
        }
    }
    let report = scan(dir.path());
    assert_eq!(
        findings_of(&report, "basic-auth-credential").len(),
        4,
        "{report}"
    );
    assert_eq!(findings_of(&report, "hardcoded-token").len(), 2, "{report}");
}

#[test]
fn dotenv_token_variables_only() {
    let dir = tree(&[(
        ".env",
        "NODE_AUTH_TOKEN=s3cr3t-T0ken-9f8e7d6c # ci\nNPM_TOKEN=${CI_NPM_TOKEN}\nOTHER=s3cr3t-T0ken-9f8e7d6c\n",
    )]);
    let report = scan(dir.path());
    let found = findings_of(&report, "hardcoded-token");
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["line"], 1);
    assert_eq!(found[0]["confidence"], "medium");
}

mod no_panic {
    use npm_auth_scan::finding::Severity;
    use npm_auth_scan::scan::{scan_text, ScanSettings};
    use proptest::prelude::*;

    fn settings() -> ScanSettings {
        ScanSettings {
            min_severity: Severity::Info,
            ..ScanSettings::default()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Config-like noise through every check of these kinds: no panic, findings in bounds.
        #[test]
        fn checks_never_panic(
            body in "((//[a-z.:$]{0,12}/:)?(_authToken|_auth|_password|username|registry|always-auth|email|NPM_TOKEN|\\[s\\])[ ]?=?[ ]?[\"']?(npm_[A-Za-z0-9]{36}|https://u:p@h/|\\$\\{?[A-Z_:-]{0,6}\\}?|[a-zé0-9;#]{0,8})[\"']?(\r\n|\n))*",
            name in prop::sample::select(vec![".npmrc", ".yarnrc", ".yarnrc.yml", "bunfig.toml", ".env"]),
        ) {
            let outcome = scan_text(name, &body, &settings());
            for f in &outcome.findings {
                prop_assert!(f.line >= 1 && f.end_line >= f.line);
                prop_assert!(!f.snippet.contains("npm_") || f.snippet.contains("****"));
            }
        }
    }
}

#[test]
fn safe_fixes_apply_and_re_lint_clean() {
    let original = "registry=https://npm.acme.dev/\nalways-auth=true\n_authToken=${ACME_NPM_TOKEN}\r\nhttps://registry.npmjs.org/:_authToken=$NPM_TOKEN\n//registry.npmjs.org/:email=ci@acme.dev\n";
    let dir = tree(&[(".npmrc", original)]);
    let run = run_in(dir.path(), &["--fix", "."]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let fixed = std::fs::read_to_string(dir.path().join(".npmrc")).unwrap_or_default();
    assert_eq!(
        fixed,
        "registry=https://npm.acme.dev/\n//npm.acme.dev/:_authToken=${ACME_NPM_TOKEN}\r\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"
    );
    // A second run has nothing left to do.
    let again = run_in(dir.path(), &["--fix", "."]);
    assert_eq!(again.code, 0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".npmrc")).unwrap_or_default(),
        fixed
    );
}

#[test]
fn unsafe_fix_replaces_the_literal_with_a_reference() {
    let dir = tree(&[
        (
            ".npmrc",
            &format!("//registry.npmjs.org/:_authToken=\"{TOKEN}\"\n"),
        ),
        // With text after the closing quote the value is not quoted for npm: the quotes are
        // part of what it sends, so the reference replaces them too.
        (
            "legacy/.npmrc",
            &format!("//registry.npmjs.org/:_authToken=\"{TOKEN}\" ; ci\n"),
        ),
    ]);
    let run = run_in(dir.path(), &["--fix", "."]);
    assert_eq!(run.code, 1, "the literal is only fixed with --unsafe-fixes");
    let report = scan(dir.path());
    for f in findings_of(&report, "hardcoded-token") {
        assert_eq!(f["confidence"], "high", "recognised as an npm token: {f}");
    }
    let run = run_in(dir.path(), &["--fix", "--unsafe-fixes", "."]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".npmrc")).unwrap_or_default(),
        "//registry.npmjs.org/:_authToken=\"${NPM_TOKEN}\"\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("legacy/.npmrc")).unwrap_or_default(),
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN} ; ci\n"
    );
}

#[test]
fn yarnrc_yml_blocks_and_hosts() {
    let dir = tree(&[(
        ".yarnrc.yml",
        &format!(
            "npmAuthToken: {TOKEN}\nnpmScopes:\n  acme:\n    npmRegistryServer: https://npm.acme.dev\n    npmAuthToken: a73c9572-f1b9-8983-983d-ba3ac3cc913d\nnpmRegistries:\n  \"//registry.npmjs.org\":\n    npmAuthToken: a73c9572-f1b9-8983-983d-ba3ac3cc913d\n"
        ),
    )]);
    let report = scan(dir.path());
    let found = findings_of(&report, "hardcoded-token");
    let summary: Vec<(i64, &str)> = found
        .iter()
        .map(|f| {
            (
                f["line"].as_i64().unwrap_or(0),
                f["severity"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // An npm_ token (critical), a UUID for another registry (its live credential, critical),
    // and a UUID for registry.npmjs.org (a revoked classic token, medium).
    assert_eq!(
        summary,
        vec![(1, "critical"), (5, "critical"), (8, "medium")],
        "{report}"
    );
    assert!(!report.to_string().contains(TOKEN));
}

#[test]
fn semicolon_comments_suppress_in_npmrc() {
    let dir = tree(&[(
        ".npmrc",
        "; npm-auth-scan: ignore[obsolete-auth-config] kept for Yarn v1 installs\nalways-auth=true\n//registry.npmjs.org/:always-auth=true ; npm-auth-scan: ignore[obsolete-auth-config]\n",
    )]);
    let report = scan(dir.path());
    assert!(
        findings_of(&report, "obsolete-auth-config").is_empty(),
        "{report}"
    );
    assert_eq!(report["summary"]["suppressed"], 2, "{report}");
}

#[test]
fn scoping_fix_is_kept_with_the_inventory_shown() {
    let dir = tree(&[(".npmrc", "_authToken=${NPM_TOKEN}\n")]);
    let run = run_in(dir.path(), &["--fix", "--min-severity", "info", "."]);
    assert!(run.stderr.contains("1 fix applied"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".npmrc")).unwrap_or_default(),
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"
    );
}
