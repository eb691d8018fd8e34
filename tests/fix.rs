//! The fix engine through the binary: `--diff` changes nothing, `--fix` rewrites atomically,
//! keeps line endings and permissions, re-scans clean, and a second run changes nothing.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

const TOKEN: &str = "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";

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn diff_shows_the_rewrite_and_changes_nothing() {
    let t = tree();
    let file = t.path().join(".env");
    let text = "A=1\n# npm-auth-scan: ignore[hardcoded-token] long gone\nB=2\n";
    fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    let run = run_in(t.path(), &["--diff"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with("--- a/.env\n+++ b/.env\n"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("-# npm-auth-scan: ignore[hardcoded-token] long gone\n"));
    assert!(
        run.stderr.contains("1 fix to apply in 1 file"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&file), text, "--diff writes nothing");
}

#[test]
fn fix_applies_safe_rewrites_once_and_keeps_crlf_and_permissions() {
    let t = tree();
    let file = t.path().join(".env");
    let text = "A=1\r\n# npm-auth-scan: ignore[hardcoded-token] long gone\r\nB=2 # npm-auth-scan: ignore[hardcoded-token]\r\nC=3\r\n";
    fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap_or_else(|e| panic!("{e}"));
    let run = run_in(t.path(), &["--fix", "-f", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("2 fixes applied in 1 file"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&file), "A=1\r\nB=2\r\nC=3\r\n");
    let mode = fs::metadata(&file)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    assert_eq!(mode, 0o640);
    assert!(
        rules_of(&json(&run)).is_empty(),
        "the report after --fix is of the fixed file"
    );
    let again = run_in(t.path(), &["--fix"]);
    assert!(again.stderr.contains("0 fixes applied"), "{}", again.stderr);
    assert_eq!(read(&file), "A=1\r\nB=2\r\nC=3\r\n");
    let leftovers: Vec<_> = fs::read_dir(t.path())
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file left behind: {leftovers:?}"
    );
}

#[test]
fn manual_suggestions_are_never_applied_and_nothing_is_written_without_fix() {
    let t = tree();
    let file = t.path().join(".env");
    let text = format!("T={TOKEN}\n");
    fs::write(&file, &text).unwrap_or_else(|e| panic!("{e}"));
    let run = run_in(t.path(), &["--fix", "--unsafe-fixes"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("1 left to do by hand"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&file), text);
    for args in [
        &["-f", "json"][..],
        &["-f", "sarif"],
        &["-f", "github"],
        &["--diff"],
    ] {
        run_in(t.path(), args);
        assert_eq!(read(&file), text, "{args:?} wrote to the file");
    }
}

#[test]
fn fix_does_not_write_through_a_symlink() {
    let t = tree();
    let outside = tree();
    let real = outside.path().join("real.env");
    let text = "# npm-auth-scan: ignore[hardcoded-token]\nA=1\n";
    fs::write(&real, text).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(&real, t.path().join(".env")).unwrap_or_else(|e| panic!("{e}"));
    let run = run_in(t.path(), &["--fix", ".env"]);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(read(&real), text);
}
