//! The command-line contract through the real binary: exit codes, discovery, flags, bad input.

mod common;

use std::fs;

use common::*;

const TOKEN: &str = "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";

#[test]
fn clean_tree_exits_zero() {
    let t = tree();
    write(t.path(), ".env", "NODE_ENV=production\n");
    let run = run_in(t.path(), &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("No findings in 1 files scanned"),
        "{}",
        run.stdout
    );
}

#[test]
fn findings_exit_one_and_fail_on_controls_it() {
    let t = tree();
    write(t.path(), ".env", format!("T={TOKEN}\n"));
    assert_eq!(run_in(t.path(), &[]).code, 1);
    assert_eq!(run_in(t.path(), &["--fail-on", "never"]).code, 0);
    assert_eq!(run_in(t.path(), &["--fail-on", "critical"]).code, 1);
    assert_eq!(run_in(t.path(), &["--format", "json"]).code, 1);
    let hidden = run_in(
        t.path(),
        &["--min-severity", "critical", "--ignore", "hardcoded-token"],
    );
    assert_eq!(hidden.code, 0, "{}", hidden.stdout);
}

#[test]
fn usage_errors_exit_two() {
    let t = tree();
    for args in [
        vec!["--fail-on", "severe"],
        vec!["--min-severity", "loud"],
        vec!["--select", "no-such-rule"],
        vec!["--format", "xml"],
        vec!["--threads", "0"],
        vec!["--max-file-size", "big"],
        vec!["does-not-exist"],
    ] {
        let run = run_in(t.path(), &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty(), "{args:?} explains itself on stderr");
    }
}

#[test]
fn missing_path_is_an_error_entry_but_other_paths_are_scanned() {
    let t = tree();
    write(t.path(), "a/.env", format!("T={TOKEN}\n"));
    let run = run_in(t.path(), &["--format", "json", "a", "missing"]);
    let report = json(&run);
    assert_eq!(run.code, 1, "findings win over errors");
    assert_eq!(report["errors"][0]["path"], "missing");
    assert_eq!(paths_of(&report), vec!["a/.env"]);
}

#[test]
fn walk_respects_ignore_files_and_skips_git_and_node_modules() {
    let t = tree();
    let line = format!("T={TOKEN}\n");
    write(t.path(), ".gitignore", "ignored/\n");
    write(t.path(), "ignored/.env", &line);
    write(t.path(), ".git/.env", &line);
    write(t.path(), "node_modules/pkg/.env", &line);
    write(t.path(), ".hidden/.env", &line);
    write(t.path(), "excluded/.env", &line);
    let run = run_in(t.path(), &["--format", "json", "--exclude", "excluded/"]);
    assert_eq!(paths_of(&json(&run)), vec![".hidden/.env"]);
    let run = run_in(t.path(), &["--format", "json", "--no-ignore"]);
    assert_eq!(
        paths_of(&json(&run)),
        vec![
            ".hidden/.env",
            "excluded/.env",
            "ignored/.env",
            "node_modules/pkg/.env"
        ]
    );
}

#[test]
fn named_files_are_scanned_even_when_ignored_and_of_no_known_kind() {
    let t = tree();
    write(t.path(), ".gitignore", "*.sh\nsecret.env\n");
    write(
        t.path(),
        "release.sh",
        format!("NPM_TOKEN={TOKEN} npm publish\n"),
    );
    write(t.path(), "secret.env", format!("T={TOKEN}\n"));
    let run = run_in(t.path(), &["--format", "json", "release.sh", "secret.env"]);
    assert_eq!(paths_of(&json(&run)), vec!["release.sh", "secret.env"]);
    let walked = run_in(t.path(), &["--format", "json"]);
    assert!(paths_of(&json(&walked)).is_empty());
}

#[test]
fn every_file_is_swept_for_valid_tokens_unless_known_kinds_only() {
    let t = tree();
    write(
        t.path(),
        "src/config.js",
        format!("const token = '{TOKEN}';\n"),
    );
    write(
        t.path(),
        "src/test.js",
        "const fake = 'npm_hK0FJXBYCkejhEMY4Kp6bOOZn1DlfBOmtbJY';\n",
    );
    write(
        t.path(),
        "img.png",
        b"\x89PNG\x00\x00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",
    );
    let fast = run_in(t.path(), &["-f", "json", "--known-kinds-only"]);
    assert!(paths_of(&json(&fast)).is_empty());
    assert_eq!(json(&fast)["summary"]["files_scanned"], 0);
    // The default scan and `--all-files` (still accepted) sweep every text file.
    for args in [&["-f", "json"][..], &["-f", "json", "--all-files"][..]] {
        let run = run_in(t.path(), args);
        assert_eq!(paths_of(&json(&run)), vec!["src/config.js"], "{args:?}");
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.is_empty(),
            "binary files are skipped silently: {}",
            run.stderr
        );
    }
    let both = run_in(t.path(), &["--all-files", "--known-kinds-only"]);
    assert_eq!(both.code, 2, "contradictory flags are a usage error");
}

#[test]
fn paths_keep_the_root_as_typed() {
    let t = tree();
    write(t.path(), "services/api/.env", format!("T={TOKEN}\n"));
    let run = run_in(t.path(), &["-f", "json", "services"]);
    assert_eq!(paths_of(&json(&run)), vec!["services/api/.env"]);
    let run = run_in(&t.path().join("services"), &["-f", "json"]);
    assert_eq!(paths_of(&json(&run)), vec!["api/.env"]);
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let t = tree();
    for i in 0..40 {
        write(
            t.path(),
            &format!("p{i}/.env"),
            format!("A={TOKEN}\nB={TOKEN}\n"),
        );
    }
    let one = run_in(t.path(), &["-f", "json", "-j", "1"]);
    let four = run_in(t.path(), &["-f", "json", "-j", "4"]);
    assert_eq!(one.stdout, four.stdout);
    assert_eq!(json(&one)["summary"]["findings"], 80);
}

#[test]
fn output_flag_writes_the_report_to_a_file() {
    let t = tree();
    write(t.path(), ".env", format!("T={TOKEN}\n"));
    let out = t.path().join("report.json");
    let out_s = out.to_string_lossy().into_owned();
    let run = run_in(t.path(), &["-f", "json", "-o", &out_s, ".env"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    let text = fs::read_to_string(&out).unwrap_or_default();
    assert!(text.contains("\"rule\": \"hardcoded-token\""));
    assert!(!text.contains(TOKEN));
}

#[test]
fn bad_input_gives_an_error_for_that_file_and_the_scan_goes_on() {
    let t = tree();
    write(
        t.path(),
        "a/.env",
        b"T=\xff\xfe\nX=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\n",
    );
    write(t.path(), "b/.npmrc", b"\x00\x01\x02binary");
    write(t.path(), "c/.env", b"");
    write(t.path(), "d/.env", format!("\u{feff}A=1\r\nT={TOKEN}\r\n"));
    let run = run_in(t.path(), &["-f", "json"]);
    let report = json(&run);
    assert_eq!(run.code, 1);
    let errors: Vec<String> = report["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| format!("{} {}", e["path"], e["message"]))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains("a/.env") && errors[0].contains("UTF-8"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("b/.npmrc") && errors[1].contains("binary"),
        "{errors:?}"
    );
    assert_eq!(paths_of(&report), vec!["a/.env", "d/.env"]);
    let d = &report["findings"][1];
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(2), Some(3))
    );
    assert!(
        run.stderr.contains("a/.env"),
        "errors are explained on stderr"
    );
    let clean = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(clean.path(), ".npmrc", b"\x00binary");
    assert_eq!(
        run_in(clean.path(), &[]).code,
        2,
        "an unreadable file alone exits 2"
    );
}

#[test]
fn files_over_the_size_limit_are_swept_in_chunks_with_exact_positions() {
    let t = tree();
    let mut content = "x".repeat(3000);
    content.push('\n');
    content.push_str(&"y\n".repeat(10));
    content.push_str(&format!("a={TOKEN}\n"));
    write(t.path(), ".env", &content);
    let run = run_in(t.path(), &["-f", "json", "--max-file-size", "1K"]);
    let report = json(&run);
    let f = &report["findings"][0];
    assert_eq!(f["line"], 12);
    assert_eq!(f["column"], 3);
    assert_eq!(report["notes"][0]["path"], ".env");
    assert!(!run.stdout.contains(TOKEN));
}

#[test]
fn user_configs_are_scanned_with_home_relative_names() {
    let t = tree();
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        home.path(),
        ".npmrc",
        format!("//registry.npmjs.org/:_authToken={TOKEN}\n"),
    );
    let run = run_with_home(t.path(), home.path(), &["-f", "json", "--user"]);
    assert_eq!(paths_of(&json(&run)), vec!["~/.npmrc"]);
    let run = run_with_home(t.path(), home.path(), &["-f", "json"]);
    assert!(paths_of(&json(&run)).is_empty());
}

#[test]
fn rules_and_explain_subcommands() {
    let t = tree();
    let run = run_in(t.path(), &["rules"]);
    assert_eq!(run.code, 0);
    let row = run
        .stdout
        .lines()
        .find(|l| l.starts_with("hardcoded-token "))
        .unwrap_or_default();
    assert!(
        row.contains(" critical ") && row.contains("Literal npm credential"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.lines().count(),
        npm_auth_scan::rules::all().len() + 1,
        "one row per rule and a header"
    );
    let run = run_in(t.path(), &["explain", "hardcoded-token"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("## Why") && run.stdout.contains("## References"));
    assert!(!run.stdout.contains(TOKEN), "examples are redacted too");
    let run = run_in(t.path(), &["explain", "nope"]);
    assert_eq!(run.code, 2);
}

#[test]
fn json_document_has_the_contract_shape() {
    let t = tree();
    write(t.path(), ".env", format!("T={TOKEN}\n"));
    let report = json(&run_in(t.path(), &["-f", "json"]));
    assert_eq!(report["version"], 1);
    assert_eq!(report["tool"]["name"], "npm-auth-scan");
    let f = &report["findings"][0];
    for key in [
        "rule",
        "severity",
        "confidence",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "snippet",
        "suggestion",
        "fingerprint",
    ] {
        assert!(!f[key].is_null(), "finding lacks {key}");
    }
    assert_eq!(f["end_column"], 42);
    assert_eq!(report["summary"]["by_severity"]["critical"], 1);
    assert_eq!(report["summary"]["files_scanned"], 1);
}

#[test]
fn fingerprints_survive_moving_lines() {
    let t = tree();
    write(t.path(), ".env", format!("T={TOKEN}\n"));
    let before = json(&run_in(t.path(), &["-f", "json"]));
    write(t.path(), ".env", format!("A=1\nB=2\n\nT={TOKEN}\n"));
    let after = json(&run_in(t.path(), &["-f", "json"]));
    assert_eq!(after["findings"][0]["line"], 4);
    assert_eq!(
        before["findings"][0]["fingerprint"],
        after["findings"][0]["fingerprint"]
    );
}
