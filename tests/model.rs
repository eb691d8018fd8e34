//! The repository model through the real binary: files reached by reference are scanned with
//! the kind the reference implies, findings name the other files they depend on, and a run on
//! named files (pre-commit) reports for them exactly what a full scan reports.
//!
//! Each case is a tree under `fixtures/model/<case>/{bad,good}/`, copied to a fresh folder
//! outside any git repository before the run.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

/// Copies `fixtures/model/<case>/<side>` into a fresh folder.
fn copy_case(case: &str, side: &str) -> tempfile::TempDir {
    let src = fixtures().join("model").join(case).join(side);
    let dst = tree();
    for file in files_below(&src) {
        let rel = file
            .strip_prefix(&src)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
        write(dst.path(), &rel, bytes);
    }
    dst
}

fn scan(dir: &Path, paths: &[&str]) -> serde_json::Value {
    // `low`: the `info` inventory of env-referenced tokens is not a problem a tree can avoid.
    let mut args = vec![
        "--format",
        "json",
        "--min-severity",
        "low",
        "--fail-on",
        "never",
    ];
    args.extend_from_slice(paths);
    let run = run_in(dir, &args);
    assert!(run.code == 0, "exit {}: {}", run.code, run.stderr);
    json(&run)
}

/// (rule, path, line) of every finding.
fn found(report: &serde_json::Value) -> BTreeSet<(String, String, u64)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["path"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn notes(report: &serde_json::Value) -> Vec<String> {
    report["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            format!(
                "{}:{}: {}",
                n["path"].as_str().unwrap_or(""),
                n["line"].as_u64().unwrap_or(0),
                n["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn has(report: &serde_json::Value, rule: &str, path: &str) -> bool {
    found(report).iter().any(|(r, p, _)| r == rule && p == path)
}

/// A named-file run of `named` reports the findings a full scan reports for those files.
fn named_run_agrees(dir: &Path, full: &serde_json::Value, named: &[&str]) {
    let want: BTreeSet<_> = found(full)
        .into_iter()
        .filter(|(_, p, _)| named.contains(&p.as_str()))
        .collect();
    let got = found(&scan(dir, named));
    assert_eq!(
        got, want,
        "named run of {named:?} disagrees with the full scan"
    );
}

/// Every good tree: no finding at all, as a full scan and file by file.
#[test]
fn good_trees_are_clean() {
    let cases = std::fs::read_dir(fixtures().join("model"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect::<BTreeSet<_>>();
    assert!(cases.len() >= 4, "model cases: {cases:?}");
    for case in cases {
        let dir = copy_case(&case, "good");
        let report = scan(dir.path(), &["."]);
        assert_eq!(
            found(&report),
            BTreeSet::new(),
            "fixtures/model/{case}/good"
        );
        for file in files_below(dir.path()) {
            let rel = file
                .strip_prefix(dir.path())
                .unwrap_or_else(|e| panic!("{e}"))
                .to_string_lossy()
                .replace('\\', "/");
            let named = scan(dir.path(), &[&rel]);
            assert_eq!(
                found(&named),
                BTreeSet::new(),
                "fixtures/model/{case}/good {rel}"
            );
        }
    }
}

#[test]
fn gitlab_local_and_trigger_includes_are_scanned_as_gitlab_ci() {
    let dir = copy_case("gitlab-include", "bad");
    let report = scan(dir.path(), &["."]);
    assert!(has(
        &report,
        "ci-publish-long-lived-token",
        "ci/publish.yml"
    ));
    assert!(has(&report, "ci-publish-long-lived-token", "ci/child.yml"));
    let notes = notes(&report);
    assert!(
        notes.iter().any(|n| n.starts_with(".gitlab-ci.yml:6:")
            && n.contains("project acme/ci-templates")
            && n.contains("not read")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("ci/child.yml:2:") && n.contains("itself")),
        "{notes:?}"
    );
    named_run_agrees(dir.path(), &report, &["ci/publish.yml"]);
    named_run_agrees(dir.path(), &report, &["ci/child.yml", ".gitlab-ci.yml"]);
}

#[test]
fn azure_extends_and_step_templates_are_scanned() {
    let dir = copy_case("azure-template", "bad");
    let report = scan(dir.path(), &["."]);
    assert!(has(
        &report,
        "ci-publish-long-lived-token",
        "templates/release.yml"
    ));
    assert_eq!(report["summary"]["files_scanned"], 3, "{report}");
    named_run_agrees(dir.path(), &report, &["templates/release.yml"]);
}

#[test]
fn compose_build_dockerfile_of_any_name_is_a_dockerfile() {
    let dir = copy_case("compose-dockerfile", "bad");
    let report = scan(dir.path(), &["."]);
    assert!(has(&report, "dockerfile-token-arg", "api/app.build"));
    assert!(has(&report, "dockerfile-npmrc-in-layer", "api/app.build"));
    named_run_agrees(dir.path(), &report, &["api/app.build"]);
}

#[test]
fn docker_build_file_flags_in_ci_steps_are_dockerfiles() {
    let dir = copy_case("docker-build-file", "bad");
    let report = scan(dir.path(), &["."]);
    assert!(has(
        &report,
        "dockerfile-token-env",
        "docker/api-dockerfile.yml"
    ));
    assert!(has(&report, "hardcoded-token", "docker/web.build"));
    named_run_agrees(dir.path(), &report, &["docker/web.build"]);
    named_run_agrees(dir.path(), &report, &["docker/api-dockerfile.yml"]);
}

/// A scan of a subfolder never reads above it; a reference there is a note.
#[test]
fn references_out_of_the_root_are_notes_never_reads() {
    let dir = tree();
    write(
        dir.path(),
        "outside.yml",
        "publish:\n  script:\n    - echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\n    - npm publish\n",
    );
    write(
        dir.path(),
        "repo/.gitlab-ci.yml",
        "include:\n  - local: ../outside.yml\n  - local: /missing.yml\n  - remote: https://example.com/ci.yml\n",
    );
    write(
        dir.path(),
        "repo/docker-compose.yml",
        "services:\n  a:\n    build:\n      context: ../..\n      dockerfile: Dockerfile\n",
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        dir.path().join("outside.yml"),
        dir.path().join("repo/linked.yml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    #[cfg(unix)]
    write(
        dir.path(),
        "repo/ci/a.gitlab-ci.yml",
        "include:\n  - local: linked.yml\n",
    );
    let report = scan(&dir.path().join("repo"), &["."]);
    assert_eq!(found(&report), BTreeSet::new(), "{report}");
    let notes = notes(&report);
    for want in [
        ".gitlab-ci.yml:2: GitLab include ../outside.yml: outside the scan root",
        ".gitlab-ci.yml:3: GitLab include /missing.yml: not found",
        ".gitlab-ci.yml:4: remote include https://example.com/ci.yml: in another repository",
        "docker-compose.yml:5: compose build.dockerfile Dockerfile: outside the scan root",
    ] {
        assert!(
            notes.iter().any(|n| n.starts_with(want)),
            "{want}\n{notes:?}"
        );
    }
    #[cfg(unix)]
    assert!(
        notes
            .iter()
            .any(|n| n.contains("linked.yml") && n.contains("symbolic link out of the scan root")),
        "{notes:?}"
    );
}

/// Two templates including each other: each is read once, the cycle is a note.
#[test]
fn reference_cycles_terminate_with_a_note() {
    let dir = tree();
    write(
        dir.path(),
        "azure-pipelines.yml",
        "extends:\n  template: t/a.yml\n",
    );
    write(dir.path(), "t/a.yml", "steps:\n  - template: b.yml\n");
    write(
        dir.path(),
        "t/b.yml",
        "steps:\n  - template: a.yml\n  - script: |\n      echo \"//registry.npmjs.org/:_authToken=$(NPM_TOKEN)\" > .npmrc\n      npm publish\n",
    );
    let report = scan(dir.path(), &["."]);
    assert_eq!(report["summary"]["files_scanned"], 3, "{report}");
    assert!(
        has(&report, "ci-publish-long-lived-token", "t/b.yml"),
        "{report}"
    );
    let notes = notes(&report);
    assert!(notes.iter().any(|n| n.contains("cycle")), "{notes:?}");
}

fn finding<'a>(
    report: &'a serde_json::Value,
    rule: &str,
    path: &str,
    line: u64,
) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["rule"] == rule && f["path"] == path && f["line"] == line)
        .unwrap_or_else(|| panic!("no {rule} at {path}:{line} in {report}"))
}

/// The grant a reusable workflow's job needs is the caller's: the finding sits on the caller's
/// `uses:` line and names the publishing job's file.
#[test]
fn reusable_workflow_permissions_are_the_callers() {
    let dir = copy_case("github-reusable", "bad");
    let report = scan(dir.path(), &["."]);
    let f = finding(
        &report,
        "trusted-publishing-misconfigured",
        ".github/workflows/release.yml",
        12,
    );
    assert_eq!(
        f["related"],
        serde_json::json!([{"path": ".github/workflows/publish.yml", "line": 14, "column": 14,
            "message": "job `npm` publishes here relying on trusted publishing"}])
    );
    assert_eq!(found(&report).len(), 1, "{report}");
    let diff = f["suggestion"]["diff"].as_str().unwrap_or("");
    assert!(diff.contains("+      id-token: write"), "{diff}");
    named_run_agrees(dir.path(), &report, &[".github/workflows/publish.yml"]);
    named_run_agrees(dir.path(), &report, &[".github/workflows/release.yml"]);

    // The same finding in the other formats: SARIF relatedLocations, a human `see also` line,
    // and one GitHub annotation, on the caller.
    let sarif = run_in(
        dir.path(),
        &["--format", "sarif", "--fail-on", "never", "."],
    );
    let sarif = json(&sarif);
    let rel = &sarif["runs"][0]["results"][0]["relatedLocations"][0];
    assert_eq!(
        rel["physicalLocation"]["artifactLocation"]["uri"],
        ".github/workflows/publish.yml"
    );
    assert_eq!(rel["physicalLocation"]["region"]["startLine"], 14);
    let human = run_in(dir.path(), &["--fail-on", "never", "."]).stdout;
    assert!(
        human.contains("  see also: .github/workflows/publish.yml:14:14: job `npm` publishes here relying on trusted publishing"),
        "{human}"
    );
    let github = run_in(
        dir.path(),
        &["--format", "github", "--fail-on", "never", "."],
    )
    .stdout;
    assert_eq!(
        github.lines().filter(|l| l.starts_with("::")).count(),
        1,
        "{github}"
    );
    assert!(
        github.contains("file=.github/workflows/release.yml,line=12"),
        "{github}"
    );

    // Applying the (unsafe: a new permissions block) fix settles it.
    let fixed = run_in(
        dir.path(),
        &["--fix", "--unsafe-fixes", "--fail-on", "never", "."],
    );
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    assert_eq!(found(&scan(dir.path(), &["."])), BTreeSet::new());
}

/// A local composite action's steps count as the calling job's: its Node set-up and its
/// publishes.
#[test]
fn composite_action_steps_are_the_calling_jobs() {
    let dir = copy_case("github-composite", "bad");
    let report = scan(dir.path(), &["."]);
    let old_node = finding(
        &report,
        "trusted-publishing-misconfigured",
        ".github/workflows/release.yml",
        15,
    );
    assert!(
        old_node["message"]
            .as_str()
            .unwrap_or("")
            .contains("Node 20"),
        "{old_node}"
    );
    assert_eq!(
        old_node["related"][0]["path"],
        ".github/actions/setup/action.yml"
    );
    assert_eq!(old_node["related"][0]["line"], 8);
    let no_grant = finding(
        &report,
        "trusted-publishing-misconfigured",
        ".github/workflows/release.yml",
        17,
    );
    assert_eq!(
        no_grant["related"][0]["path"],
        ".github/actions/publish/action.yml"
    );
    assert_eq!(found(&report).len(), 2, "{report}");
    named_run_agrees(dir.path(), &report, &[".github/workflows/release.yml"]);
    named_run_agrees(dir.path(), &report, &[".github/actions/setup/action.yml"]);
}

/// semantic-release publishes to npm only with `@semantic-release/npm` in its configuration;
/// without it (the good tree) the run needs neither a token nor trusted publishing.
#[test]
fn release_tool_config_decides_whether_it_publishes() {
    let dir = copy_case("release-config", "bad");
    let report = scan(dir.path(), &["."]);
    let f = finding(
        &report,
        "trusted-publishing-misconfigured",
        ".github/workflows/release.yml",
        9,
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .contains("semantic-release"),
        "{f}"
    );
    named_run_agrees(dir.path(), &report, &[".github/workflows/release.yml"]);
}

/// Each caller is judged with its own grant: of two callers, only the one without
/// `id-token: write` is reported.
#[test]
fn each_caller_of_a_reusable_workflow_is_judged_alone() {
    let dir = copy_case("github-reusable-two-callers", "bad");
    let report = scan(dir.path(), &["."]);
    let want: BTreeSet<_> = [(
        "trusted-publishing-misconfigured".to_string(),
        ".github/workflows/manual.yml".to_string(),
        8,
    )]
    .into();
    assert_eq!(found(&report), want, "{report}");
    named_run_agrees(dir.path(), &report, &[".github/workflows/publish.yml"]);
    named_run_agrees(dir.path(), &report, &[".github/workflows/manual.yml"]);
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--staged` judges the staged files with the rest of the repository as context: staging only
/// the caller reports the caller, staging only the called workflow reports nothing.
#[test]
fn staged_files_are_judged_with_their_repository() {
    let dir = copy_case("github-reusable", "bad");
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "init"]);
    let append = |rel: &str| {
        let p = dir.path().join(rel);
        let mut text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        text.push_str("# touched\n");
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        git(dir.path(), &["add", rel]);
    };
    append(".github/workflows/publish.yml");
    let report = scan(dir.path(), &["--staged"]);
    assert_eq!(found(&report), BTreeSet::new(), "{report}");
    append(".github/workflows/release.yml");
    let report = scan(dir.path(), &["--staged"]);
    let want: BTreeSet<_> = [(
        "trusted-publishing-misconfigured".to_string(),
        ".github/workflows/release.yml".to_string(),
        12,
    )]
    .into();
    assert_eq!(found(&report), want, "{report}");
}

/// A bad tree where `ARG TOKEN` reaches npm through a copied `.npmrc` holding `${TOKEN}`: one
/// `dockerfile-token-arg` at `dockerfile:line`, the same from a named-file run, and a rewrite
/// that mounts it as an `env=` secret on the RUN where npm reads it and scans clean.
fn arg_through_copied_npmrc(case: &str, dockerfile: &str, line: u64) {
    let dir = copy_case(case, "bad");
    let report = scan(dir.path(), &["."]);
    let want: BTreeSet<_> = [(
        "dockerfile-token-arg".to_string(),
        dockerfile.to_string(),
        line,
    )]
    .into();
    assert_eq!(found(&report), want, "{report}");
    named_run_agrees(dir.path(), &report, &[dockerfile]);
    let fixed = run_in(
        dir.path(),
        &["--fix", "--unsafe-fixes", "--fail-on", "never", "."],
    );
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    let text = std::fs::read_to_string(dir.path().join(dockerfile)).unwrap_or_default();
    assert!(
        text.contains("RUN --mount=type=secret,id=token,env=TOKEN npm ci"),
        "{text}"
    );
    assert_eq!(found(&scan(dir.path(), &["."])), BTreeSet::new());
    let good = copy_case(case, "good");
    assert_eq!(found(&scan(good.path(), &["."])), BTreeSet::new());
}

/// `COPY .npmrc package.json ./` of an `.npmrc` holding `${TOKEN}` beside the Dockerfile; the
/// good tree already mounts the token as a secret.
#[test]
fn build_arg_read_through_a_copied_npmrc() {
    arg_through_copied_npmrc("dockerfile-npmrc-arg", "Dockerfile", 2);
}

/// The same through an ancestor build context (`docker build -f docker/Dockerfile .`): the
/// `.npmrc` at the repository root is the one `COPY . .` brings in; with the context's
/// `.dockerignore` leaving it out (the good tree), the ARG reaches nothing.
#[test]
fn build_arg_read_through_an_npmrc_of_an_ancestor_context() {
    arg_through_copied_npmrc("dockerfile-npmrc-arg-context", "docker/Dockerfile", 3);
}

/// A package script running release-it is judged by release-it's own config: axios' release PR
/// job (`npm run release`, `"npm": {"publish": false}`) publishes nothing (the good tree); with
/// npm publishing on, the job relies on trusted publishing and cannot use it.
#[test]
fn release_it_config_is_read_through_a_package_script() {
    let dir = copy_case("release-it-config", "bad");
    let report = scan(dir.path(), &["."]);
    let want: BTreeSet<_> = [
        (
            "trusted-publishing-misconfigured".to_string(),
            ".github/workflows/pr.yml".to_string(),
            8,
        ),
        (
            "trusted-publishing-misconfigured".to_string(),
            ".github/workflows/pr.yml".to_string(),
            17,
        ),
    ]
    .into();
    assert_eq!(found(&report), want, "{report}");
    named_run_agrees(dir.path(), &report, &[".github/workflows/pr.yml"]);
}

fn rule_set(items: &[(&str, &str, u64)]) -> BTreeSet<(String, String, u64)> {
    items
        .iter()
        .map(|(r, p, l)| (r.to_string(), p.to_string(), *l))
        .collect()
}

/// `${{ inputs.x }}` in a reusable workflow is the value its callers in the repository pass,
/// else the input's default: `registry-url` defaulting to npmjs makes the publishes count, and
/// Node 20 from a default is judged, with the default as the related location.
#[test]
fn workflow_call_input_defaults_are_resolved() {
    let dir = copy_case("github-workflow-call-inputs", "bad");
    let report = scan(dir.path(), &["."]);
    let want = rule_set(&[
        (
            "ci-publish-long-lived-token",
            ".github/workflows/publish-token.yml",
            23,
        ),
        (
            "trusted-publishing-misconfigured",
            ".github/workflows/publish.yml",
            18,
        ),
    ]);
    assert_eq!(found(&report), want, "{report}");
    let f = finding(
        &report,
        "trusted-publishing-misconfigured",
        ".github/workflows/publish.yml",
        18,
    );
    assert_eq!(f["related"][0]["line"], 7, "{f}");
    // The caller in the repository confirms the default: high confidence.
    assert_eq!(f["confidence"], "high", "{f}");
    // The version is not rewritten at the `${{ inputs.node-version }}` use.
    assert_eq!(f["suggestion"]["diff"], serde_json::Value::Null, "{f}");
    named_run_agrees(dir.path(), &report, &[".github/workflows/publish.yml"]);
    named_run_agrees(
        dir.path(),
        &report,
        &[".github/workflows/publish-token.yml"],
    );
    named_run_agrees(dir.path(), &report, &[".github/workflows/release.yml"]);
}

/// An npm token a secret manager or a script fetches for later steps is a credential of
/// unknown lifetime: reported at medium confidence, naming what filled it.
#[test]
fn tokens_filled_by_earlier_steps_are_reported() {
    let dir = copy_case("github-fetched-token", "bad");
    let report = scan(dir.path(), &["."]);
    let want = rule_set(&[
        (
            "ci-publish-long-lived-token",
            ".github/workflows/release.yml",
            34,
        ),
        (
            "ci-publish-long-lived-token",
            ".github/workflows/release.yml",
            47,
        ),
        (
            "ci-publish-long-lived-token",
            ".github/workflows/release.yml",
            64,
        ),
    ]);
    assert_eq!(found(&report), want, "{report}");
    for (line, source) in [
        (34, "hashicorp/vault-action (step `vault`)"),
        (47, "a `$GITHUB_ENV` write in step `Fetch the npm token`"),
        (64, "1password/load-secrets-action (step `op`)"),
    ] {
        let f = finding(
            &report,
            "ci-publish-long-lived-token",
            ".github/workflows/release.yml",
            line,
        );
        assert_eq!(f["confidence"], "medium", "{f}");
        let message = f["message"].as_str().unwrap_or("");
        assert!(message.contains(source), "{message}");
    }
    named_run_agrees(dir.path(), &report, &[".github/workflows/release.yml"]);
}

/// `node-version-file`, Volta and mise read the Node version from repository files; the finding
/// names the file as related, and Volta's npm pin counts as an npm upgrade (the good tree).
#[test]
fn node_versions_in_repository_files_are_read() {
    let dir = copy_case("node-version-file", "bad");
    let report = scan(dir.path(), &["."]);
    let want = rule_set(&[
        (
            "trusted-publishing-misconfigured",
            ".github/workflows/release.yml",
            17,
        ),
        (
            "trusted-publishing-misconfigured",
            ".github/workflows/release.yml",
            23,
        ),
        (
            "trusted-publishing-misconfigured",
            ".github/workflows/release.yml",
            29,
        ),
    ]);
    assert_eq!(found(&report), want, "{report}");
    for (line, path, related_line) in [
        (17, ".nvmrc", 1),
        (23, "package.json", 5),
        (29, "mise.toml", 2),
    ] {
        let f = finding(
            &report,
            "trusted-publishing-misconfigured",
            ".github/workflows/release.yml",
            line,
        );
        assert_eq!(f["related"][0]["path"], path, "{f}");
        assert_eq!(f["related"][0]["line"], related_line, "{f}");
    }
    named_run_agrees(dir.path(), &report, &[".github/workflows/release.yml"]);
}

/// pnpm 11 publishes with its own OIDC exchange: the npm bundled with Node 22 does not matter
/// (the good tree); pnpm 10 runs the npm CLI, which must be 11.5.1 or later.
#[test]
fn pnpm_11_publishes_do_not_need_a_new_npm() {
    let dir = copy_case("pnpm-native-oidc", "bad");
    let report = scan(dir.path(), &["."]);
    let want = rule_set(&[
        (
            "trusted-publishing-misconfigured",
            ".github/workflows/release.yml",
            17,
        ),
        (
            "trusted-publishing-misconfigured",
            ".github/workflows/release.yml",
            30,
        ),
    ]);
    assert_eq!(found(&report), want, "{report}");
    named_run_agrees(dir.path(), &report, &[".github/workflows/release.yml"]);
}

/// An npm token passed to another repository's action or reusable workflow whose name or
/// inputs say it publishes is a publish with a stored token, at medium confidence, with a note
/// that it was not read; a GitHub release action or shared CI given a read token is not.
#[test]
fn remote_actions_are_judged_by_what_is_passed() {
    let dir = copy_case("remote-uses", "bad");
    let report = scan(dir.path(), &["."]);
    let want = rule_set(&[
        (
            "ci-publish-long-lived-token",
            ".github/workflows/release.yml",
            16,
        ),
        (
            "ci-publish-long-lived-token",
            ".github/workflows/release.yml",
            23,
        ),
        (
            "ci-publish-long-lived-token",
            ".github/workflows/release.yml",
            30,
        ),
        (
            "ci-publish-long-lived-token",
            ".github/workflows/release.yml",
            37,
        ),
    ]);
    assert_eq!(found(&report), want, "{report}");
    for f in report["findings"].as_array().into_iter().flatten() {
        assert_eq!(f["confidence"], "medium", "{f}");
        assert_eq!(f["suggestion"]["applicability"], "manual", "{f}");
        let notes = f["suggestion"]["notes"].to_string();
        assert!(notes.contains("was not read"), "{notes}");
    }
    named_run_agrees(dir.path(), &report, &[".github/workflows/release.yml"]);
}

/// lerna, nx release and beachball publish where their own configuration says: without one
/// (the bad tree) each job publishes to npmjs with a stored token; with `lerna.json`
/// `command.publish.registry`, nx's `nx-release-publish` `registry` and beachball
/// `publish: false` (the good tree) none does. changesets/action publishes only with a
/// `publish:` input.
#[test]
fn release_tool_config_decides_where_it_publishes() {
    let dir = copy_case("release-destination", "bad");
    let report = scan(dir.path(), &["."]);
    let want: BTreeSet<_> = [18, 29, 40, 55]
        .into_iter()
        .map(|line| {
            (
                "ci-publish-long-lived-token".to_string(),
                ".github/workflows/release.yml".to_string(),
                line,
            )
        })
        .collect();
    assert_eq!(found(&report), want, "{report}");
    named_run_agrees(dir.path(), &report, &[".github/workflows/release.yml"]);
}

/// A job extending (or `!reference`-ing) a hidden template of a file included through a
/// wildcard publishes what the template runs, with the job's own token: reported on the job,
/// with the template's `npm publish` as related. A template that writes its own token is
/// reported in its file, where the fix goes. A missing target, an unknown `!reference` and an
/// `extends:` loop are notes. The good tree mints the ID token in the job or in another
/// template of the included file.
#[test]
fn gitlab_extends_and_references_across_included_files() {
    let dir = copy_case("gitlab-extends", "bad");
    let report = scan(dir.path(), &["."]);
    let want: BTreeSet<_> = [
        ("ci-publish-long-lived-token", ".gitlab-ci.yml", 15),
        ("ci-publish-long-lived-token", ".gitlab-ci.yml", 22),
        ("ci-publish-long-lived-token", "ci/templates.yml", 11),
        ("ci-token-written-to-npmrc", "ci/templates.yml", 11),
    ]
    .into_iter()
    .map(|(r, p, l)| (r.to_string(), p.to_string(), l))
    .collect();
    assert_eq!(found(&report), want, "{report}");
    let f = finding(&report, "ci-publish-long-lived-token", ".gitlab-ci.yml", 15);
    assert_eq!(f["related"][0]["path"], "ci/templates.yml");
    assert_eq!(f["related"][0]["line"], 6);
    let notes = notes(&report);
    for want in [
        ".gitlab-ci.yml:34: `pages` extends `.docs`, which no file of this pipeline defines",
        ".gitlab-ci.yml:36: `!reference [.site, script]` names `.site`",
        ".gitlab-ci.yml:39: `.loop-a` extends `.loop-b`, which extends `.loop-a` again",
    ] {
        assert!(
            notes.iter().any(|n| n.starts_with(want)),
            "{want}\n{notes:?}"
        );
    }
    named_run_agrees(dir.path(), &report, &[".gitlab-ci.yml"]);
    named_run_agrees(dir.path(), &report, &["ci/templates.yml"]);
    let fixed = run_in(
        dir.path(),
        &["--fix", "--unsafe-fixes", "--fail-on", "never", "."],
    );
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    assert_eq!(found(&scan(dir.path(), &["."])), BTreeSet::new());
}

/// Stages handed to an `extends:` template of another repository (the 1ES pipeline template)
/// and steps handed to a local step-list template run as written in the caller: their
/// publishes are reported there (a `CmdLine@2` script included). A `${{ parameters.auth }}` in
/// a template is what its caller passes (`$(npmAuthToken)`). The good tree publishes to an
/// Azure Artifacts feed with the build's identity, also through a template parameter
/// (`$(System.AccessToken)`, short-lived).
#[test]
fn azure_stages_and_steps_passed_as_template_parameters() {
    let dir = copy_case("azure-parameters", "bad");
    let report = scan(dir.path(), &["."]);
    let want: BTreeSet<_> = [
        (".azure-pipelines/publish.yml", 29),
        (".azure-pipelines/publish.yml", 37),
        (".azure-pipelines/templates/publish-npm.yml", 7),
    ]
    .into_iter()
    .map(|(p, l)| ("ci-publish-long-lived-token".to_string(), p.to_string(), l))
    .collect();
    assert_eq!(found(&report), want, "{report}");
    named_run_agrees(
        dir.path(),
        &report,
        &[".azure-pipelines/templates/publish-npm.yml"],
    );
    named_run_agrees(dir.path(), &report, &[".azure-pipelines/publish.yml"]);
    named_run_agrees(
        dir.path(),
        &report,
        &[".azure-pipelines/templates/with-node.yml"],
    );
}

/// A build argument of any name copied into an npm token variable with `ENV` is a token build
/// argument; a runtime stage copying a folder in which a build stage kept the `.npmrc` it
/// wrote credentials into ships them. Both rewrites scan clean.
#[test]
fn dockerfile_arg_env_flows_and_copies_from_a_stage() {
    let dir = copy_case("dockerfile-flows", "bad");
    let report = scan(dir.path(), &["."]);
    let want: BTreeSet<_> = [
        ("dockerfile-token-arg", "api/Dockerfile", 5),
        ("dockerfile-token-env", "api/Dockerfile", 6),
        ("dockerfile-token-arg", "web/Dockerfile", 4),
        ("dockerfile-npmrc-in-layer", "web/Dockerfile", 9),
        ("dockerfile-copy-npmrc", "web/Dockerfile", 14),
    ]
    .into_iter()
    .map(|(r, p, l)| (r.to_string(), p.to_string(), l))
    .collect();
    assert_eq!(found(&report), want, "{report}");
    let arg = finding(&report, "dockerfile-token-arg", "api/Dockerfile", 5);
    assert!(
        arg["message"]
            .as_str()
            .unwrap_or("")
            .contains("copied into an `ENV` that reaches npm auth on line 6"),
        "{arg}"
    );
    named_run_agrees(dir.path(), &report, &["web/Dockerfile"]);
    named_run_agrees(dir.path(), &report, &["api/Dockerfile"]);
    let fixed = run_in(
        dir.path(),
        &["--fix", "--unsafe-fixes", "--fail-on", "never", "."],
    );
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    assert_eq!(found(&scan(dir.path(), &["."])), BTreeSet::new());
}

/// A local composite action's `${{ inputs.x }}` is the value the calling step passes, else the
/// input's default.
#[test]
fn composite_action_inputs_are_the_callers() {
    let action = "name: setup\ndescription: Node and npm\ninputs:\n  node-version:\n    default: '20'\nruns:\n  using: composite\n  steps:\n    - uses: actions/setup-node@v6\n      with:\n        node-version: ${{ inputs.node-version }}\n";
    let workflow = |with: &str| {
        format!("on: push\npermissions:\n  id-token: write\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v6\n      - uses: ./.github/actions/setup\n{with}      - run: npm publish --access public\n")
    };
    for (with, want) in [
        ("", vec![9]),
        ("        with:\n          node-version: 24\n", vec![]),
    ] {
        let dir = tree();
        write(dir.path(), ".github/actions/setup/action.yml", action);
        write(dir.path(), ".github/workflows/release.yml", workflow(with));
        let report = scan(dir.path(), &["."]);
        let lines: Vec<u64> = found(&report)
            .into_iter()
            .filter(|(r, p, _)| {
                r == "trusted-publishing-misconfigured" && p == ".github/workflows/release.yml"
            })
            .map(|(_, _, l)| l)
            .collect();
        assert_eq!(lines, want, "{report}");
        named_run_agrees(dir.path(), &report, &[".github/workflows/release.yml"]);
    }
}
