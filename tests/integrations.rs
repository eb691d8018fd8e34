//! Integrations through the real binary: SARIF (validated with Microsoft's multitool when
//! `SARIF_MULTITOOL` names it), GitHub annotations and job summary, the configuration file,
//! inline suppressions, baselines, `--staged`, several roots, and the pre-commit hook (run with
//! `pre-commit` when `PRE_COMMIT` names it).

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

const TOKEN: &str = "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";

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn sarif_is_valid_and_complete() {
    let t = tree();
    write(t.path(), "api/.env", format!("A=1\nT={TOKEN}\n"));
    write(
        t.path(),
        "api/.env.local",
        "# npm-auth-scan: ignore[hardcoded-token]\nB=2\n",
    );
    let run = run_in(t.path(), &["-f", "sarif"]);
    assert_eq!(run.code, 1, "exit 1 on findings in SARIF mode too");
    let doc = json(&run);
    assert_eq!(doc["version"], "2.1.0");
    let sarif_run = &doc["runs"][0];
    let driver = &sarif_run["tool"]["driver"];
    assert_eq!(driver["name"], "npm-auth-scan");
    assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().cloned().unwrap_or_default();
    assert_eq!(rules.len(), npm_auth_scan::rules::all().len());
    for r in &rules {
        assert!(r["properties"]["security-severity"].as_str().is_some());
        assert!(r["help"]["markdown"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert_ne!(r["id"], r["name"]);
    }
    let results = sarif_run["results"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = results
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    assert_eq!(ids, vec!["hardcoded-token", "unused-suppression"]);
    let r = &results[0];
    assert_eq!(
        rules[r["ruleIndex"].as_u64().unwrap_or(99) as usize]["id"],
        "hardcoded-token"
    );
    assert_eq!(r["level"], "error");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "api/.env");
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(loc["region"]["startLine"], 2);
    assert_eq!(loc["region"]["startColumn"], 3);
    assert_eq!(
        loc["region"]["endColumn"], 43,
        "SARIF end columns are exclusive"
    );
    assert!(r["partialFingerprints"]["npmAuthScan/v1"]
        .as_str()
        .is_some());
    assert!(sarif_run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .is_some_and(|u| u.starts_with("file:///") && u.ends_with('/')));
    assert!(!run.stdout.contains(TOKEN));
    let unused = &results[1];
    assert!(
        unused["fixes"][0]["artifactChanges"][0]["replacements"][0]["deletedRegion"]["startLine"]
            == 1
    );

    if let Some(tool) = std::env::var_os("SARIF_MULTITOOL") {
        let file = t.path().join("out.sarif");
        fs::write(&file, &run.stdout).unwrap_or_else(|e| panic!("{e}"));
        let out = Command::new(tool)
            .arg("validate")
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("sarif-multitool: {e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(!text.contains(": error "), "{text}");
        assert!(!text.contains(": warning "), "{text}");
    } else {
        eprintln!("SARIF_MULTITOOL not set: schema validation skipped (.ci/run sets it)");
    }
}

#[test]
fn github_annotations_are_escaped_and_summarised() {
    let t = tree();
    write(t.path(), "a,b:c/.env", format!("T={TOKEN}\n"));
    write(
        t.path(),
        "x/.env",
        "# npm-auth-scan: ignore[hardcoded-token]\nA=1\n",
    );
    let summary = t.path().join("summary.md");
    let out = Command::new(env!("CARGO_BIN_EXE_npm-auth-scan"))
        .args(["-f", "github"])
        .current_dir(t.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("::error file=a%2Cb%3Ac/.env,line=1,col=3,endLine=1,endColumn=42,title=hardcoded-token (critical)::"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("%0A"),
        "multi-line messages are escaped: {}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("::warning file=x/.env,line=1,"),
        "{}",
        lines[1]
    );
    assert!(!stdout.contains(TOKEN));
    let table = fs::read_to_string(&summary).unwrap_or_default();
    assert!(
        table.contains("| critical | `hardcoded-token` | `a,b:c/.env:1` |"),
        "{table}"
    );
}

#[test]
fn config_file_sets_defaults_overrides_and_ignores() {
    let t = tree();
    write(t.path(), "app/.env", format!("T={TOKEN}\n"));
    write(t.path(), "test/fixtures/.env", format!("T={TOKEN}\n"));
    write(t.path(), "vendor/.env", format!("T={TOKEN}\n"));
    write(
        t.path(),
        "npm-auth-scan.toml",
        r#"exclude = ["vendor/"]
fail-on = "critical"

[rules.severity]
hardcoded-token = "high"

[[ignore]]
rules = ["hardcoded-token"]
paths = ["test/fixtures/**"]
reason = "fake tokens"
"#,
    );
    let run = run_in(t.path(), &["-f", "json"]);
    let report = json(&run);
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(findings.len(), 1, "{}", run.stdout);
    assert_eq!(findings[0]["path"], "app/.env");
    assert_eq!(findings[0]["severity"], "high");
    assert_eq!(report["summary"]["suppressed"], 1);
    assert_eq!(
        run.code, 0,
        "fail-on critical from the config, severity lowered to high"
    );
    assert_eq!(
        run_in(t.path(), &["--fail-on", "high"]).code,
        1,
        "flags win over the config"
    );

    write(t.path(), ".npm-auth-scan.toml", "");
    fs::remove_file(t.path().join("npm-auth-scan.toml")).unwrap_or_else(|e| panic!("{e}"));
    write(
        t.path(),
        "custom.toml",
        "exclude = []\nfail_on = \"high\"\n",
    );
    let run = run_in(t.path(), &["--config", "custom.toml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown field `fail_on`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("2 │ fail_on = \"high\""),
        "points at the line: {}",
        run.stderr
    );
    write(t.path(), "custom.toml", "[rules]\nselect = [\"nope\"]\n");
    let run = run_in(t.path(), &["--config", "custom.toml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown rule `nope`"), "{}", run.stderr);
}

#[test]
fn inline_suppressions_hide_findings_and_stale_ones_are_reported() {
    let t = tree();
    write(
        t.path(),
        ".env",
        format!("# npm-auth-scan: ignore[hardcoded-token] fake\nT={TOKEN}\nU={TOKEN} # npm-auth-scan: ignore[hardcoded-token]\n\n# npm-auth-scan: ignore[hardcoded-token]\nA=1\n"),
    );
    let run = run_in(t.path(), &["-f", "json"]);
    let report = json(&run);
    assert_eq!(rules_of(&report), vec!["unused-suppression"]);
    assert_eq!(report["findings"][0]["line"], 5);
    assert_eq!(report["summary"]["suppressed"], 2);
    assert_eq!(run.code, 0, "unused-suppression is low");
    let run = run_in(t.path(), &["-f", "json", "--select", "hardcoded-token"]);
    assert!(rules_of(&json(&run)).is_empty());
}

#[test]
fn baseline_hides_known_findings_even_when_they_move() {
    let t = tree();
    write(t.path(), ".env", format!("T={TOKEN}\n"));
    let run = run_in(t.path(), &["--write-baseline", "baseline.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let baseline = fs::read_to_string(t.path().join("baseline.json")).unwrap_or_default();
    assert!(baseline.contains("\"fingerprint\""));
    assert!(
        !baseline.contains(TOKEN) && !baseline.contains("k1dH"),
        "no secret in the baseline"
    );
    write(t.path(), ".env", format!("A=1\n\nT={TOKEN}\n"));
    let run = run_in(t.path(), &["-f", "json", "--baseline", "baseline.json"]);
    let report = json(&run);
    assert_eq!(run.code, 0);
    assert!(rules_of(&report).is_empty());
    assert_eq!(report["summary"]["suppressed"], 1);
    write(t.path(), ".env.local", format!("NEW={TOKEN}\n"));
    let run = run_in(t.path(), &["-f", "json", "--baseline", "baseline.json"]);
    assert_eq!(run.code, 1);
    assert_eq!(json(&run)["findings"][0]["path"], ".env.local");
    let run = run_in(t.path(), &["--baseline", "missing.json"]);
    assert_eq!(run.code, 2);
}

#[test]
fn staged_scans_the_index_not_the_working_tree() {
    let t = tree();
    let root = t.path();
    git(root, &["init", "-q"]);
    write(root, ".env", format!("T={TOKEN}\n"));
    write(root, "old/.env.production", format!("T={TOKEN}\n"));
    git(root, &["add", "."]);
    // Unborn HEAD: everything in the index is staged.
    let run = run_in(root, &["-f", "json", "--staged"]);
    assert_eq!(
        paths_of(&json(&run)),
        vec![".env", "old/.env.production"],
        "{}",
        run.stderr
    );
    git(root, &["commit", "-q", "-m", "init"]);
    let run = run_in(root, &["-f", "json", "--staged"]);
    assert!(paths_of(&json(&run)).is_empty(), "nothing staged");
    // Staged content has the token, the working tree does not.
    write(root, "new/.env", format!("T={TOKEN}\n"));
    git(root, &["add", "new/.env"]);
    write(root, "new/.env", "T=\n");
    fs::create_dir_all(root.join("renamed")).unwrap_or_else(|e| panic!("{e}"));
    git(
        root,
        &["mv", "old/.env.production", "renamed/.env.production"],
    );
    git(root, &["rm", "-q", ".env"]);
    let run = run_in(root, &["-f", "json", "--staged"]);
    assert_eq!(
        paths_of(&json(&run)),
        vec!["new/.env", "renamed/.env.production"],
        "{}",
        run.stderr
    );
    let run = run_in(root, &["-f", "json", "--staged", "new/.env"]);
    assert_eq!(paths_of(&json(&run)), vec!["new/.env"]);
    let run = run_in(&root.join("new"), &["-f", "json", "--staged"]);
    assert_eq!(
        paths_of(&json(&run)),
        vec![".env"],
        "paths are relative to where it runs"
    );
    let run = run_in(root, &["-f", "json"]);
    assert_eq!(paths_of(&json(&run)), vec!["renamed/.env.production"]);
    let outside = tree();
    assert_eq!(run_in(outside.path(), &["--staged"]).code, 2);
}

#[test]
fn several_roots_get_a_summary_each() {
    let t = tree();
    write(t.path(), "repo-a/.env", format!("T={TOKEN}\n"));
    write(t.path(), "repo-b/.env", "A=1\n");
    let run = run_in(t.path(), &["repo-a", "repo-b"]);
    assert!(
        run.stdout.contains("  repo-a: 1 finding in 1 files\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  repo-b: 0 findings in 1 files\n"),
        "{}",
        run.stdout
    );
    let run = run_in(t.path(), &["-f", "json", "repo-a", "repo-b"]);
    assert_eq!(
        json(&run)["summary"]["files_scanned"],
        2,
        "one JSON document"
    );
}

#[test]
fn pre_commit_hook_runs_from_this_checkout() {
    let Some(pre_commit) = std::env::var_os("PRE_COMMIT") else {
        eprintln!("PRE_COMMIT not set: pre-commit hook test skipped (.ci/run sets it)");
        return;
    };
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let t = tree();
    let repo = t.path();
    git(repo, &["init", "-q"]);
    write(
        repo,
        ".pre-commit-config.yaml",
        format!(
            "repos:\n  - repo: {}\n    rev: {head}\n    hooks:\n      - id: npm-auth-scan\n",
            root().display()
        ),
    );
    write(
        repo,
        ".npmrc",
        format!("//registry.npmjs.org/:_authToken={TOKEN}\n"),
    );
    write(repo, "README.md", "hello\n");
    git(repo, &["add", "."]);
    let out = Command::new(&pre_commit)
        .args(["run", "--all-files"])
        .current_dir(repo)
        .env("PRE_COMMIT_HOME", repo.join(".cache"))
        .output()
        .unwrap_or_else(|e| panic!("pre-commit: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "the hook must fail on a token:\n{text}"
    );
    assert!(text.contains("hardcoded-token"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    write(
        repo,
        ".npmrc",
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
    );
    git(repo, &["add", "."]);
    let out = Command::new(&pre_commit)
        .args(["run", "--all-files"])
        .current_dir(repo)
        .env("PRE_COMMIT_HOME", repo.join(".cache"))
        .output()
        .unwrap_or_else(|e| panic!("pre-commit: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
