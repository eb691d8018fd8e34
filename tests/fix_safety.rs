//! Fix safety through the binary (issue 12): each tree under `fixtures/fix-safety/` once got a
//! rewrite that parsed and re-scanned clean but broke the release it fixed. Each is run as a full
//! scan and as a named-file run; the rewrite must now keep the pipeline working, or be rolled
//! back with the reason and nothing written. `--diff` must apply with `git apply` and
//! `patch -p1` whatever root was typed, and say how many unsafe fixes it hides.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A copy of `fixtures/fix-safety/<case>` in a fresh folder.
fn case(name: &str) -> tempfile::TempDir {
    let src = fixtures().join("fix-safety").join(name);
    let t = tree();
    for f in files_below(&src) {
        let rel = f
            .strip_prefix(&src)
            .unwrap_or(&f)
            .to_string_lossy()
            .into_owned();
        write(t.path(), &rel, std::fs::read(&f).unwrap_or_default());
    }
    t
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn fix(dir: &Path, target: &str) -> Run {
    let run = run_in(
        dir,
        &["--fix", "--unsafe-fixes", "--fail-on", "never", target],
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// Both ways of naming what to fix: the whole tree, and the one file.
fn both_runs(name: &str, file: &str, check: impl Fn(&Path, &Run)) {
    for target in [".", file] {
        let t = case(name);
        let run = fix(t.path(), target);
        check(t.path(), &run);
    }
}

#[test]
fn a_publish_script_that_writes_the_token_keeps_running() {
    // Named alone, the workflow is scanned without the script it runs (no finding, no fix); the
    // full scan sees the token the script writes.
    both_runs(
        "script-publish",
        ".github/workflows/release.yml",
        |dir, run| {
            let fixed = read(dir, ".github/workflows/release.yml");
            assert!(
                fixed.contains("- run: ./scripts/cicd/publish.sh"),
                "the publish step was deleted:\n{fixed}\n{}",
                run.stderr
            );
        },
    );
    let t = case("script-publish");
    fix(t.path(), ".");
    let fixed = read(t.path(), ".github/workflows/release.yml");
    assert!(!fixed.contains("secrets.NPM_TOKEN"), "{fixed}");
    assert!(fixed.contains("id-token: write"), "{fixed}");
    let t = case("script-publish");
    let report = run_in(t.path(), &["-f", "json", "--fail-on", "never", "."]).stdout;
    assert!(
        report.contains("writes the token into ~/.npmrc itself"),
        "the suggestion says the script must change too: {report}"
    );
}

#[test]
fn circleci_oidc_claims_are_json_and_the_orb_node_moves() {
    both_runs("circleci-oidc", ".circleci/config.yml", |dir, run| {
        let fixed = read(dir, ".circleci/config.yml");
        let line = fixed
            .lines()
            .find(|l| l.contains("oidc get --claims"))
            .unwrap_or_else(|| panic!("no OIDC step:\n{fixed}\n{}", run.stderr));
        // What bash hands to `circleci`: the claims between the single quotes, as written.
        let claims = line
            .split('\'')
            .nth(1)
            .unwrap_or_else(|| panic!("no quoted claims: {line}"));
        let parsed: serde_json::Value =
            serde_json::from_str(claims).unwrap_or_else(|e| panic!("{claims}: {e}"));
        assert_eq!(parsed["aud"], "npm:registry.npmjs.org");
        assert!(
            fixed.contains("tag: 'lts'"),
            "the orb's Node 16 stayed:\n{fixed}"
        );
    });
}

/// `--fix` of `target` in a copy of `name` writes nothing, and says why on stderr.
fn rolls_back(name: &str, target: &str, why: &str) {
    let t = case(name);
    let files = files_below(t.path());
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).unwrap_or_default())
        .collect();
    let run = fix(t.path(), target);
    assert!(
        run.stderr.contains(why),
        "{name} {target}: expected {why:?} in\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("0 fixes applied"), "{}", run.stderr);
    for (f, old) in files.iter().zip(before) {
        assert_eq!(
            std::fs::read(f).unwrap_or_default(),
            old,
            "{name} {target}: {} was written",
            f.display()
        );
    }
}

#[test]
fn a_build_secret_reads_a_variable_the_step_sets_and_the_dockerfile_mounts() {
    let t = case("docker-secret-env");
    let run = fix(t.path(), ".");
    let ci = read(t.path(), ".github/workflows/docker.yml");
    assert!(
        ci.contains("--secret id=npm_token,env=NPM_TOKEN"),
        "{ci}\n{}",
        run.stderr
    );
    assert!(
        ci.contains("        env:\n          NPM_TOKEN: ${{ secrets.NPM_READ }}\n"),
        "the step sets the variable the secret reads, under the secret's old name:\n{ci}"
    );
    let df = read(t.path(), "Dockerfile");
    assert!(
        df.contains("RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci"),
        "{df}"
    );
    // Either file alone would break the build the other still describes.
    rolls_back(
        "docker-secret-env",
        ".github/workflows/docker.yml",
        "the build no longer passes `--build-arg NPM_TOKEN`, which Dockerfile still reads (`ARG NPM_TOKEN`)",
    );
    rolls_back(
        "docker-secret-env",
        "Dockerfile",
        ".github/workflows/docker.yml builds it with build arg `NPM_TOKEN` and passes no secret it would mount (`npm_token`)",
    );
}

#[test]
fn a_build_secret_the_dockerfile_does_not_mount_rolls_back_both_files() {
    // The Dockerfile writes `.npmrc` in a RUN: its rewrite mounts a whole `.npmrc` file (id
    // `npmrc`) while the CI rewrite passes the token as a variable (id `npm_token`).
    let mismatch = "the build passes secret `npm_token` but Dockerfile mounts `npmrc` (a whole .npmrc file): nothing would reach that mount, so neither file is rewritten; by hand, either pass the file";
    rolls_back("docker-secret-mismatch", ".", mismatch);
    rolls_back(
        "docker-secret-mismatch",
        ".github/workflows/docker.yml",
        "which Dockerfile still reads (`ARG NPM_TOKEN`), and Dockerfile mounts no secret `npm_token`",
    );
    rolls_back(
        "docker-secret-mismatch",
        "Dockerfile",
        "builds it with build arg `NPM_TOKEN` and passes no secret it would mount (`npmrc`)",
    );
}

#[test]
fn a_compose_build_secret_the_dockerfile_mounts_as_an_npmrc_file_is_left_by_hand() {
    rolls_back(
        "docker-npmrc-compose",
        ".",
        "service `web` passes build secret `npm_token` but Dockerfile mounts `npmrc` (a whole .npmrc file)",
    );
    rolls_back(
        "docker-npmrc-compose",
        "compose.yaml",
        "service `web` no longer passes build arg `NPM_TOKEN`, which Dockerfile still reads (`ARG NPM_TOKEN`)",
    );
    rolls_back(
        "docker-npmrc-compose",
        "Dockerfile",
        "compose.yaml builds it with build arg `NPM_TOKEN` and passes no secret it would mount (`npmrc`)",
    );
}

#[test]
fn a_reusable_workflow_gaining_id_token_gets_its_callers_grant_in_the_same_run() {
    both_runs(
        "reusable-workflow",
        ".github/workflows/publish.yml",
        |dir, run| {
            assert!(
                run.stderr.contains("2 fixes applied in 2 files"),
                "{}",
                run.stderr
            );
            let called = read(dir, ".github/workflows/publish.yml");
            assert!(called.contains("id-token: write"), "{called}");
            let caller = read(dir, ".github/workflows/release.yml");
            assert!(
                caller.contains(
                    "  release:\n    permissions:\n      contents: read\n      id-token: write"
                ),
                "the caller job grants what the called workflow needs:\n{caller}"
            );
            let after = json(&run_in(dir, &["-f", "json", "--fail-on", "never", "."]));
            assert!(rules_of(&after).is_empty(), "{after}");
        },
    );
}

#[test]
fn id_token_is_not_added_to_a_reusable_workflow_whose_caller_cannot_take_the_grant() {
    let t = case("reusable-workflow");
    let caller = ".github/workflows/release.yml";
    let flow = read(t.path(), caller).replace(
        "  release:\n",
        "  release:\n    permissions: { contents: read }\n",
    );
    write(t.path(), caller, &flow);
    let run = fix(t.path(), ".");
    assert!(
        run.stderr
            .contains("its caller does not grant (.github/workflows/release.yml job `release`)"),
        "{}",
        run.stderr
    );
    assert!(!read(t.path(), ".github/workflows/publish.yml").contains("id-token"));
    assert_eq!(read(t.path(), caller), flow);
}

#[test]
fn an_older_pinned_npm_is_raised_not_floated() {
    both_runs("pinned-npm", ".github/workflows/publish.yml", |dir, run| {
        let fixed = read(dir, ".github/workflows/publish.yml");
        assert!(
            fixed.contains("- run: npm install -g npm@11.5.1\n"),
            "{fixed}\n{}",
            run.stderr
        );
        assert!(!fixed.contains("npm@latest"), "{fixed}");
        // The caller's `id-token: write` is the one in effect (the repository model sees it):
        // the token goes, and no grant needs adding here.
        assert!(!fixed.contains("NODE_AUTH_TOKEN"), "{fixed}");
        let after = json(&run_in(dir, &["-f", "json", "--fail-on", "never", "."]));
        assert!(
            rules_of(&after).is_empty(),
            "a second run still finds: {after}"
        );
    });
}

#[test]
fn one_fix_settles_a_node_22_job_with_oidc_and_a_token() {
    both_runs(
        "node22-still-set",
        ".github/workflows/release.yml",
        |dir, run| {
            assert!(
                !run.stderr.contains("not applied"),
                "rolled back: {}",
                run.stderr
            );
            let fixed = read(dir, ".github/workflows/release.yml");
            assert!(fixed.contains("node-version: '24'"), "{fixed}");
            assert!(!fixed.contains("NODE_AUTH_TOKEN"), "{fixed}");
            let after = json(&run_in(dir, &["-f", "json", "--fail-on", "never", "."]));
            assert!(
                rules_of(&after).is_empty(),
                "a second run still finds: {after}"
            );
        },
    );
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"))
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_npm-auth-scan"))
}

/// `--diff` run from `cwd` naming `roots`; its output applied with `git apply` and `patch -p1`
/// in the repository gives exactly what `--fix` writes.
fn diff_applies(repo: &Path, cwd: &Path, roots: &[&str]) {
    let mut args = vec!["--diff", "--unsafe-fixes"];
    args.extend(roots);
    let out = Command::new(binary())
        .args(&args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let diff = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(diff.starts_with("--- a/"), "{roots:?}: {diff}");
    assert!(!diff.contains("a//"), "{roots:?}: {diff}");
    let patch = repo.join("fix.patch");
    std::fs::write(&patch, &diff).unwrap_or_else(|e| panic!("{e}"));
    let check = git(repo, &["apply", "--check", "fix.patch"]);
    assert!(
        check.status.success(),
        "{roots:?} from {}: git apply: {}\n{diff}",
        cwd.display(),
        String::from_utf8_lossy(&check.stderr)
    );
    let dry = Command::new("patch")
        .args(["-p1", "--dry-run", "-i", "fix.patch"])
        .current_dir(repo)
        .output();
    if let Ok(dry) = dry {
        assert!(dry.status.success(), "patch -p1: {dry:?}");
    }
    // The diff is what --fix writes: apply it to one copy, --fix another, compare.
    let fixed = tree();
    for f in files_below(repo) {
        let rel = f
            .strip_prefix(repo)
            .unwrap_or(&f)
            .to_string_lossy()
            .into_owned();
        if !rel.starts_with(".git/") && rel != "fix.patch" {
            write(fixed.path(), &rel, std::fs::read(&f).unwrap_or_default());
        }
    }
    let applied = git(repo, &["apply", "fix.patch"]);
    assert!(applied.status.success(), "{applied:?}");
    let _ = std::fs::remove_file(&patch);
    let run = fix(fixed.path(), ".");
    assert!(run.stderr.contains("applied"), "{}", run.stderr);
    for f in files_below(fixed.path()) {
        let rel = f
            .strip_prefix(fixed.path())
            .unwrap_or(&f)
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            std::fs::read_to_string(&f).unwrap_or_default(),
            read(repo, &rel),
            "{rel}: --diff and --fix disagree"
        );
    }
    let reset = git(repo, &["checkout", "--", "."]);
    assert!(reset.status.success(), "{reset:?}");
}

#[test]
fn diff_applies_from_the_repository_root_whatever_root_was_typed() {
    let t = case("docker-secret-env");
    let repo = t.path();
    assert!(git(repo, &["init", "-q"]).status.success());
    assert!(git(repo, &["add", "-A"]).status.success());
    let abs = repo.to_string_lossy().into_owned();
    diff_applies(repo, repo, &["."]);
    diff_applies(repo, repo, &[&abs]);
    diff_applies(repo, &repo.join(".github"), &[&abs]);
    diff_applies(repo, &repo.join(".github"), &["..", "workflows"]);
    diff_applies(repo, repo, &["Dockerfile", ".github/workflows/docker.yml"]);
    let parent = repo.parent().unwrap_or(repo);
    let name = repo
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    diff_applies(repo, parent, &[&name]);
}

#[test]
fn diff_without_unsafe_fixes_says_how_many_it_hides() {
    let t = case("docker-secret-env");
    let run = run_in(t.path(), &["--diff", "."]);
    assert_eq!(run.stdout, "", "unsafe fixes are not shown");
    assert!(
        run.stderr
            .contains("(2 hidden fixes can be enabled with the `--unsafe-fixes` option)"),
        "{}",
        run.stderr
    );
    let shown = run_in(t.path(), &["--diff", "--unsafe-fixes", "."]);
    assert!(!shown.stderr.contains("hidden"), "{}", shown.stderr);
}

/// Every note of every finding of `case`, full scan and named-file run alike.
fn notes_of(name: &str, file: &str) -> Vec<String> {
    let t = case(name);
    let mut out = Vec::new();
    for target in [".", file] {
        let report = json(&run_in(
            t.path(),
            &["-f", "json", "--fail-on", "never", target],
        ));
        for f in report["findings"].as_array().into_iter().flatten() {
            for n in f["suggestion"]["notes"].as_array().into_iter().flatten() {
                out.push(n.as_str().unwrap_or_default().to_string());
            }
        }
    }
    assert!(!out.is_empty(), "{name}: no notes");
    out
}

#[test]
fn a_dockerfile_that_publishes_gets_publish_advice_not_a_read_only_token() {
    let notes = notes_of("docker-notes-publish", "Dockerfile");
    assert!(
        notes
            .iter()
            .all(|n| !n.contains("read-only --packages-all")),
        "{notes:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("this build publishes") && n.contains("read-write-stage-only")),
        "{notes:#?}"
    );
}

#[test]
fn a_dockerfile_for_another_registry_gets_no_npmjs_token_line() {
    let notes = notes_of("docker-notes-registry", "Dockerfile");
    assert!(
        notes.iter().all(|n| !n.contains("npm token create")),
        "{notes:#?}"
    );
    assert!(
        notes.iter().all(|n| !n.contains("registry.npmjs.org")),
        "{notes:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("//npm.pkg.github.com/:_authToken=${NPM_TOKEN}")),
        "{notes:#?}"
    );
}

#[test]
fn per_finding_json_diffs_name_the_file_by_its_path_and_apply_from_an_absolute_root() {
    let t = case("docker-secret-env");
    let repo = t.path();
    assert!(git(repo, &["init", "-q"]).status.success());
    let abs = repo.to_string_lossy().into_owned();
    for root in [".", abs.as_str()] {
        let report = json(&run_in(repo, &["-f", "json", "--fail-on", "never", root]));
        let findings = report["findings"].as_array().cloned().unwrap_or_default();
        assert!(!findings.is_empty(), "{report}");
        for f in findings {
            let path = f["path"].as_str().unwrap_or_default();
            let diff = f["suggestion"]["diff"].as_str().unwrap_or_default();
            assert!(!diff.contains("a//"), "{root}: {diff}");
            if root == "." {
                // A relative root: the header is the finding's `path`.
                assert!(diff.starts_with(&format!("--- a/{path}\n")), "{diff}");
            }
            // Each finding's diff applies alone from the repository root.
            let patch = repo.join("one.patch");
            std::fs::write(&patch, diff).unwrap_or_else(|e| panic!("{e}"));
            let check = git(repo, &["apply", "--check", "one.patch"]);
            assert!(
                check.status.success(),
                "{root}: {}\n{diff}",
                String::from_utf8_lossy(&check.stderr)
            );
            let _ = std::fs::remove_file(&patch);
        }
    }
}
