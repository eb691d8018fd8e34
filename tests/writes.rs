//! What the binary may write: nothing in the scanned tree without `--fix`, whatever the format
//! or flag, and with `--fix` nothing outside the scan root, even through a symbolic link to a
//! folder elsewhere. The no-write runs also audit redaction: no fixture credential in full in
//! any output, format, diff, baseline or error message.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;

/// Every file below `dir` (links as their target path, not followed) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            let rel = p.strip_prefix(dir).unwrap_or(&p).to_path_buf();
            if t.is_symlink() {
                let target = fs::read_link(&p).unwrap_or_default();
                out.insert(rel, target.to_string_lossy().into_owned().into_bytes());
            } else if t.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel, fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for f in files_below(from) {
        let rel = f.strip_prefix(from).unwrap_or(&f);
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        fs::copy(&f, &dest).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

#[test]
fn nothing_is_written_without_fix() {
    // A copy of every fixture tree, so a regression cannot damage the repository's fixtures.
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tree = work.path().join("tree");
    copy_tree(&fixtures(), &tree);
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let baseline = outside.path().join("baseline.json");
    let report = outside.path().join("report.sarif");
    let baseline_s = baseline.to_string_lossy().into_owned();
    let report_s = report.to_string_lossy().into_owned();
    let before = snapshot(&tree);
    assert!(before.len() > 10, "the fixtures were copied");
    let runs: Vec<Vec<&str>> = vec![
        vec![],
        vec!["-f", "json"],
        vec!["-f", "sarif"],
        vec!["-f", "github"],
        vec!["-f", "human", "--color", "always"],
        vec!["--diff"],
        vec!["--diff", "--unsafe-fixes"],
        vec!["--unsafe-fixes"],
        vec!["--all-files", "--no-ignore", "--min-severity", "info"],
        vec!["--write-baseline", &baseline_s],
        vec!["--baseline", &baseline_s, "-f", "json"],
        vec!["-f", "sarif", "-o", &report_s],
    ];
    // The same runs double as the redaction audit: no fixture credential in full on stdout,
    // stderr, or in the baseline and report files.
    let secrets = secrets_in(&fixtures());
    assert!(!secrets.is_empty());
    for args in &runs {
        let run = run_in(&tree, args);
        assert!(
            matches!(run.code, 0..=2) && !run.stderr.contains("panicked"),
            "{args:?}: {}",
            run.stderr
        );
        let files: String = [&baseline, &report]
            .iter()
            .map(|p| fs::read_to_string(p).unwrap_or_default())
            .collect();
        for secret in &secrets {
            for (what, text) in [
                ("stdout", &run.stdout),
                ("stderr", &run.stderr),
                ("files", &files),
            ] {
                assert!(
                    !text.contains(secret.as_str()),
                    "{args:?}: {what} shows {secret}"
                );
            }
        }
        assert_eq!(
            snapshot(&tree),
            before,
            "{args:?} changed the scanned tree without --fix"
        );
    }
    assert!(
        baseline.is_file() && report.is_file(),
        "explicit outputs are written"
    );
}

#[cfg(unix)]
#[test]
fn fix_never_writes_through_a_symlink_out_of_the_root() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = work.path().join("root");
    let outside = work.path().join("outside");
    fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{e}"));
    fs::create_dir_all(&outside).unwrap_or_else(|e| panic!("{e}"));
    // An unscoped token reference: `--fix` scopes it (a safe fix), so a write is certain.
    let npmrc = "_authToken=${NPM_TOKEN}\n";
    fs::write(root.join(".npmrc"), npmrc).unwrap_or_else(|e| panic!("{e}"));
    fs::write(outside.join(".npmrc"), npmrc).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(&outside, root.join("linked-dir")).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(outside.join(".npmrc"), root.join("linked.npmrc"))
        .unwrap_or_else(|e| panic!("{e}"));
    let outside_before = snapshot(&outside);
    for args in [
        vec!["--fix"],
        vec!["--fix", "--unsafe-fixes", "--no-ignore"],
    ] {
        let run = run_in(&root, &args);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert_eq!(
            snapshot(&outside),
            outside_before,
            "{args:?} wrote outside the scan root"
        );
    }
    let fixed = fs::read_to_string(root.join(".npmrc")).unwrap_or_default();
    assert_eq!(
        fixed, "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
        "the file inside the root was fixed"
    );
    assert!(root.join("linked-dir").is_symlink() && root.join("linked.npmrc").is_symlink());
}
