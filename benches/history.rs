//! Criterion benchmark of `--history`: a generated repository of 1,500 commits over 300
//! packages (each commit edits a few sources and now and then an `.npmrc`, one of which holds a
//! token for a while), packed as `git gc` leaves it, or the repository named by
//! `NPM_AUTH_SCAN_BENCH_REPO` (e.g. a clone of babel, as `benches/history.sh` times it).
//! Built with `git fast-import`, so the setup takes a second, not minutes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use npm_auth_scan::history::{scan_history, HistoryOptions};
use npm_auth_scan::scan::ScanSettings;

/// Made up, checksum-valid: the finding the benchmark expects.
const TOKEN: &str = "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";
const PACKAGES: usize = 300;
const COMMITS: usize = 1500;

fn git(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    cmd
}

fn run(mut cmd: Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    assert!(status.success(), "{cmd:?} failed");
}

/// A `fast-import` blob command: `data` under mark `:mark`.
fn blob(stream: &mut Vec<u8>, mark: usize, data: &str) {
    let _ = write!(stream, "blob\nmark :{mark}\ndata {}\n{data}\n", data.len());
}

fn generated_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    run(git(dir.path(), &["init", "-q"]));
    let mut stream = Vec::new();
    let mut mark = 0usize;
    for commit in 0..COMMITS {
        let mut files = Vec::new();
        // The first commit lays out every package; later ones touch three sources each.
        let touched: Vec<usize> = if commit == 0 {
            (0..PACKAGES).collect()
        } else {
            (0..3).map(|k| (commit * 7 + k * 101) % PACKAGES).collect()
        };
        for &p in &touched {
            for f in ["index.js", "util.js"] {
                mark += 1;
                let body = format!(
                    "// package {p}, revision {commit}\nmodule.exports = function () {{\n  return {};\n}};\n{}",
                    commit * 31 + p,
                    "const filler = computeSomething(argument, other_argument);\n".repeat(20)
                );
                blob(&mut stream, mark, &body);
                files.push((format!("pkg{p}/src/{f}"), mark));
            }
            if commit == 0 || commit % 50 == 0 {
                mark += 1;
                let npmrc = if commit == 500 && p == touched[0] {
                    format!("//registry.npmjs.org/:_authToken={TOKEN}\n")
                } else {
                    format!("registry=https://registry.npmjs.org/\n# {commit}\n")
                };
                blob(&mut stream, mark, &npmrc);
                files.push((format!("pkg{p}/.npmrc"), mark));
            }
        }
        let _ = write!(
            stream,
            "commit refs/heads/main\ncommitter Bench <bench@example.com> {} +0000\ndata 9\nrevision\n",
            1_600_000_000 + commit * 3600
        );
        for (path, m) in files {
            let _ = writeln!(stream, "M 100644 :{m} {path}");
        }
        stream.push(b'\n');
    }
    let mut cmd = git(dir.path(), &["fast-import", "--quiet"]);
    let mut child = cmd
        .stdin(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run git fast-import: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&stream)
            .unwrap_or_else(|e| panic!("fast-import: {e}"));
    }
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "git fast-import failed");
    // One pack with deltas, as a clone has it.
    run(git(
        dir.path(),
        &["gc", "-q", "--aggressive", "--prune=now"],
    ));
    run(git(dir.path(), &["reset", "-q", "--hard"]));
    dir
}

fn bench_history(c: &mut Criterion) {
    let generated;
    let repo: PathBuf = match std::env::var_os("NPM_AUTH_SCAN_BENCH_REPO") {
        Some(p) => PathBuf::from(p),
        None => {
            generated = generated_repository();
            generated.path().to_path_buf()
        }
    };
    let settings = ScanSettings::default();
    let options = HistoryOptions::default();
    let first = scan_history(std::slice::from_ref(&repo), &options, &settings);
    if std::env::var_os("NPM_AUTH_SCAN_BENCH_REPO").is_none() {
        assert_eq!(
            first.findings.len(),
            1,
            "the one token of the generated history"
        );
    }
    let mut g = c.benchmark_group("history");
    g.sample_size(10);
    g.throughput(Throughput::Elements(first.files_scanned as u64));
    g.bench_function("every blob of every ref", |b| {
        b.iter(|| scan_history(std::slice::from_ref(&repo), &options, &settings).files_scanned)
    });
    g.finish();
}

criterion_group!(benches, bench_history);
criterion_main!(benches);
