//! Bad input through the real binary: binary and non-UTF-8 files under known names, odd line
//! endings, a 200 MB single-line file, deep trees, symbolic link loops, FIFOs and sockets,
//! vanishing files, malformed YAML/TOML, a YAML alias bomb, broken Dockerfiles.
//!
//! Every case checks the contract: exit code 0/1/2, an `errors` entry for each file that could
//! not be read or parsed, the other findings still reported, and no panic. Runs that could hang
//! (FIFOs, bombs, huge files) go through [`run_guarded`], which kills the binary after a generous
//! deadline so that a hang fails the test instead of stalling the suite.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const TOKEN: &str = "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";

/// Long enough for a debug build on a loaded machine; only a hang gets near it.
const DEADLINE: Duration = Duration::from_secs(120);

/// Runs the binary like [`common::run_in`], but kills it (and fails) past [`DEADLINE`]. Output
/// goes to files, so a chatty child can never block on a full pipe. With `measure`, the run goes
/// through `/usr/bin/time` (when present) and the peak RSS in KiB is returned.
fn run_guarded(cwd: &Path, args: &[&str], measure: bool) -> (Run, Option<u64>) {
    let scratch = tree();
    let out_path = scratch.path().join("stdout");
    let err_path = scratch.path().join("stderr");
    let rss_path = scratch.path().join("rss");
    let home = scratch.path().join("home");
    fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    let bin = env!("CARGO_BIN_EXE_npm-auth-scan");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if measure && time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_path).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let stdout = fs::File::create(&out_path).unwrap_or_else(|e| panic!("{e}"));
    let stderr = fs::File::create(&err_path).unwrap_or_else(|e| panic!("{e}"));
    let mut child = cmd
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run the binary: {e}"));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("npm-auth-scan {args:?} did not finish within {DEADLINE:?}: it hangs");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("wait: {e}"),
        }
    };
    let run = Run {
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
        code: status.code().unwrap_or(-1),
    };
    let rss = fs::read_to_string(&rss_path)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()));
    (run, rss)
}

/// Runs with the deadline and checks what holds for every run: no panic, an exit code of the
/// contract, and no credential in full on either stream.
fn scan(cwd: &Path, args: &[&str]) -> Run {
    let (run, _) = run_guarded(cwd, args, false);
    sane(&run, args);
    run
}

fn sane(run: &Run, args: &[&str]) {
    assert!(
        !run.stderr.contains("panicked"),
        "{args:?} panicked:\n{}",
        run.stderr
    );
    assert!(
        matches!(run.code, 0..=2),
        "{args:?} exited {}:\n{}",
        run.code,
        run.stderr
    );
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "{args:?} printed the token"
    );
}

/// `(path, message)` of every JSON `errors` entry.
fn errors_of(report: &serde_json::Value) -> Vec<(String, String)> {
    report["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["path"].as_str().unwrap_or_default().to_string(),
                        e["message"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn error_paths(report: &serde_json::Value) -> Vec<String> {
    let mut p: Vec<String> = errors_of(report).into_iter().map(|(p, _)| p).collect();
    p.sort();
    p
}

fn finding_paths(report: &serde_json::Value) -> Vec<String> {
    let mut p: Vec<String> = report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["path"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    p.dedup();
    p
}

/// Deterministic pseudo-random bytes (xorshift), so a failure reproduces.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Names of every kind of file the scanner parses.
const KNOWN: &[&str] = &[
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    "bunfig.toml",
    ".env",
    "Dockerfile",
    "docker-compose.yml",
    ".github/workflows/x.yml",
    ".github/actions/a/action.yml",
    ".gitlab-ci.yml",
    ".circleci/config.yml",
    ".travis.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
];

#[test]
fn binary_files_with_known_names_are_errors_and_other_findings_stay() {
    let t = tree();
    for (i, name) in KNOWN.iter().enumerate() {
        let mut bytes = noise(i as u64 + 1, 4096);
        bytes[100] = 0;
        write(t.path(), &format!("bin/{name}"), &bytes);
    }
    write(t.path(), "ok/.env", format!("T={TOKEN}\n"));
    let run = scan(t.path(), &["-f", "json"]);
    let report = json(&run);
    assert_eq!(run.code, 1, "findings win over errors: {}", run.stderr);
    let mut want: Vec<String> = KNOWN.iter().map(|n| format!("bin/{n}")).collect();
    want.sort();
    assert_eq!(error_paths(&report), want);
    assert!(
        errors_of(&report).iter().all(|(_, m)| m.contains("binary")),
        "{:?}",
        errors_of(&report)
    );
    assert_eq!(finding_paths(&report), vec!["ok/.env"]);
    fs::remove_dir_all(t.path().join("ok")).unwrap_or_else(|e| panic!("{e}"));
    let run = scan(t.path(), &["-f", "json"]);
    assert_eq!(run.code, 2, "unreadable files alone exit 2");
    // The human format explains each on stderr too.
    let run = scan(t.path(), &[]);
    assert!(run.stderr.contains("bin/.npmrc"), "{}", run.stderr);
}

#[test]
fn invalid_utf8_is_an_error_but_the_file_is_still_swept() {
    let t = tree();
    for name in KNOWN {
        let mut bytes = noise(7, 300);
        // No NUL (so not binary), some bytes that are never valid UTF-8.
        for b in bytes.iter_mut() {
            if *b == 0 {
                *b = 1;
            }
        }
        bytes.extend_from_slice(b"\n\xff\xfe\xc0\x80\n//r/:_authToken=");
        bytes.extend_from_slice(TOKEN.as_bytes());
        bytes.push(b'\n');
        write(t.path(), name, &bytes);
    }
    let run = scan(t.path(), &["-f", "json"]);
    let report = json(&run);
    assert_eq!(run.code, 1);
    let mut want: Vec<String> = KNOWN.iter().map(|n| n.to_string()).collect();
    want.sort();
    assert_eq!(error_paths(&report), want);
    assert!(
        errors_of(&report).iter().all(|(_, m)| m.contains("UTF-8")),
        "{:?}",
        errors_of(&report)
    );
    let mut found = finding_paths(&report);
    found.sort();
    assert_eq!(found, want, "the token sweep still runs on each");
}

#[test]
fn nul_bytes_past_the_binary_probe_do_not_break_parsing() {
    let t = tree();
    for name in KNOWN {
        let mut text = format!("# {}\n", "x".repeat(9000)).into_bytes();
        text.extend_from_slice(b"a: \0\0\n");
        text.extend_from_slice(format!("NPM_TOKEN={TOKEN}\n").as_bytes());
        write(t.path(), name, &text);
    }
    let run = scan(t.path(), &["-f", "json"]);
    let report = json(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = finding_paths(&report);
    assert!(found.contains(&".env".to_string()), "{found:?}");
    assert!(found.contains(&".npmrc".to_string()), "{found:?}");
}

/// A credential in each kind, written with `\n`; the cases rewrite the line endings.
fn credentials_by_kind() -> Vec<(&'static str, String)> {
    vec![
        (".npmrc", format!("; c\n//r/:_authToken={TOKEN}\n")),
        (".env", format!("# c\nNPM_TOKEN={TOKEN}\n")),
        (".yarnrc.yml", format!("# c\nnpmAuthToken: {TOKEN}\n")),
        (".yarnrc", format!("# c\n\"//r/:_authToken\" \"{TOKEN}\"\n")),
        ("bunfig.toml", format!("# c\n[install]\ntoken = \"{TOKEN}\"\n")),
        ("Dockerfile", "FROM node\nARG NPM_TOKEN\nRUN npm ci\n".to_string()),
        (
            "docker-compose.yml",
            format!("services:\n  a:\n    build:\n      args:\n        NPM_TOKEN: {TOKEN}\n"),
        ),
        (
            ".github/workflows/x.yml",
            format!("on: push\njobs:\n  a:\n    runs-on: x\n    env:\n      NPM_TOKEN: {TOKEN}\n    steps:\n      - run: echo\n"),
        ),
    ]
}

#[test]
fn crlf_lone_cr_and_boms_keep_findings_and_positions_in_range() {
    for (variant, bom, eol) in [
        ("lf+bom", true, "\n"),
        ("crlf", false, "\r\n"),
        ("crlf+bom", true, "\r\n"),
        ("cr", false, "\r"),
    ] {
        let t = tree();
        let cases = credentials_by_kind();
        for (name, text) in &cases {
            let mut body = text.replace('\n', eol);
            if bom {
                body.insert(0, '\u{feff}');
            }
            write(t.path(), name, body);
        }
        let run = scan(t.path(), &["-f", "json"]);
        let report = json(&run);
        assert_eq!(run.code, 1, "{variant}: {}", run.stderr);
        let found = finding_paths(&report);
        // With lone CR the line-based formats see one long line; npm and dotenv readers still
        // split on CR, the YAML and TOML ones do too. Every kind must still be found with LF and
        // CRLF; with lone CR at least the token-bearing ones.
        let must: Vec<&str> = if eol == "\r" {
            vec![".npmrc", ".env", ".yarnrc.yml", "docker-compose.yml"]
        } else {
            cases.iter().map(|(n, _)| *n).collect()
        };
        for name in must {
            assert!(
                found.iter().any(|p| p == name),
                "{variant}: no finding in {name}: {found:?} {:?}",
                errors_of(&report)
            );
        }
        for f in report["findings"].as_array().into_iter().flatten() {
            let (line, col) = (f["line"].as_u64(), f["column"].as_u64());
            assert!(
                line.is_some_and(|l| l >= 1) && col.is_some_and(|c| c >= 1),
                "{variant}: {f}"
            );
            assert!(
                f["end_line"].as_u64() >= line,
                "{variant}: end before start: {f}"
            );
        }
    }
}

#[test]
fn a_200_mib_single_line_file_is_swept_in_bounded_memory() {
    let t = tree();
    // Sparse: 8 KiB of text, a hole, and a token at the very end, all on one line. The hole
    // reads as NUL bytes, which only the first 8 KiB probe would call binary.
    let size: u64 = 200 * 1024 * 1024;
    for name in ["big.txt", ".npmrc"] {
        let p = t.path().join(name);
        let f = fs::File::create(&p).unwrap_or_else(|e| panic!("{e}"));
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::io::BufWriter::new(f);
        f.write_all(&[b'a'; 8192]).unwrap_or_else(|e| panic!("{e}"));
        f.seek(SeekFrom::Start(size - 100))
            .unwrap_or_else(|e| panic!("{e}"));
        f.write_all(format!("X={TOKEN}\n").as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        f.flush().unwrap_or_else(|e| panic!("{e}"));
    }
    let args = ["-f", "json", "--all-files"];
    let (run, rss) = run_guarded(t.path(), &args, true);
    sane(&run, &args);
    let report = json(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(finding_paths(&report), vec![".npmrc", "big.txt"]);
    for f in report["findings"].as_array().into_iter().flatten() {
        assert_eq!(f["line"], 1);
        assert_eq!(f["column"], size - 100 + 3);
    }
    assert!(
        errors_of(&report).is_empty(),
        "too big is a note, not an error"
    );
    assert_eq!(report["notes"][0]["path"], ".npmrc");
    if let Some(kib) = rss {
        // Two 200 MiB files read whole would be 400 MiB and more; chunked it stays near 30 MiB.
        assert!(
            kib < 256 * 1024,
            "peak RSS {kib} KiB: the file was read whole"
        );
    }
    // Raised limit: the known kind is parsed, not swept (still no crash on a 200 MiB line).
    let run = scan(t.path(), &["-f", "json", "--max-file-size", "1G", ".npmrc"]);
    assert!(matches!(run.code, 1 | 2), "{}", run.stderr);
}

#[test]
fn a_200_level_deep_tree_is_walked() {
    let t = tree();
    let deep: PathBuf = (0..200).map(|_| "d").collect();
    let rel = deep.join(".npmrc");
    write(
        t.path(),
        &rel.to_string_lossy(),
        format!("//r/:_authToken={TOKEN}\n"),
    );
    let run = scan(t.path(), &["-f", "json"]);
    let report = json(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        finding_paths(&report),
        vec![format!("{}/.npmrc", "d/".repeat(199) + "d")]
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_dangling_links_are_not_followed() {
    use std::os::unix::fs::symlink;
    let t = tree();
    write(t.path(), "a/.npmrc", format!("//r/:_authToken={TOKEN}\n"));
    let link = |target: &str, at: &str| {
        symlink(target, t.path().join(at)).unwrap_or_else(|e| panic!("{e}"));
    };
    link(".", "a/self");
    link("..", "a/up");
    link("loop2", "loop1");
    link("loop1", "loop2");
    link("missing", "dangling.npmrc");
    link("a/.npmrc", "alias.npmrc");
    let run = scan(t.path(), &["-f", "json"]);
    let report = json(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        finding_paths(&report),
        vec!["a/.npmrc"],
        "links are not followed, so the file is reported once"
    );
    assert_eq!(report["summary"]["findings"], 1);
    assert!(errors_of(&report).is_empty(), "{:?}", errors_of(&report));
    // Named on the command line, a link that leads nowhere is an error that says so.
    for name in ["loop1", "dangling.npmrc"] {
        let run = scan(t.path(), &["-f", "json", name]);
        let report = json(&run);
        assert_eq!(run.code, 2);
        let errors = errors_of(&report);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, name);
        assert!(errors[0].1.contains("symbolic link"), "{errors:?}");
    }
}

#[cfg(unix)]
#[test]
fn fifos_and_sockets_never_block_the_scan() {
    let t = tree();
    write(t.path(), ".env", format!("T={TOKEN}\n"));
    let fifo = t.path().join("fifo.npmrc");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    assert!(made, "mkfifo");
    let _socket = std::os::unix::net::UnixListener::bind(t.path().join("sock.npmrc"))
        .unwrap_or_else(|e| panic!("{e}"));
    // Walked: only regular files are read, special files are passed over.
    let run = scan(t.path(), &["-f", "json"]);
    let report = json(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(finding_paths(&report), vec![".env"]);
    assert!(errors_of(&report).is_empty(), "{:?}", errors_of(&report));
    // Named: an error for each (opening a FIFO would wait for a writer forever).
    let run = scan(
        t.path(),
        &["-f", "json", "fifo.npmrc", "sock.npmrc", ".env"],
    );
    let report = json(&run);
    assert_eq!(run.code, 1);
    let errors = errors_of(&report);
    assert_eq!(
        errors.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        vec!["fifo.npmrc", "sock.npmrc"]
    );
    assert!(errors[0].1.contains("FIFO"), "{errors:?}");
    assert!(errors[1].1.contains("socket"), "{errors:?}");
    let run = scan(t.path(), &["fifo.npmrc"]);
    assert_eq!(run.code, 2);
}

#[test]
fn files_vanishing_during_the_walk_are_at_worst_errors() {
    // Best effort: a thread deletes files while the binary walks and reads them. Whatever the
    // interleaving, the run ends, does not panic, and a file that was seen and then lost is
    // reported as an error for that file.
    let t = tree();
    let n = 400;
    for i in 0..n {
        write(t.path(), &format!("p{i}/.env"), format!("T={TOKEN}\n"));
    }
    let root = t.path().to_path_buf();
    let remover = std::thread::spawn(move || {
        for i in (0..n).rev() {
            let _ = fs::remove_dir_all(root.join(format!("p{i}")));
        }
    });
    let run = scan(t.path(), &["-f", "json", "-j", "2"]);
    let _ = remover.join();
    let report = json(&run);
    let found = report["summary"]["findings"].as_u64().unwrap_or(0);
    let errors = errors_of(&report);
    for (path, message) in &errors {
        assert!(
            message.contains("vanished"),
            "a lost file or folder says so: {path}: {message}"
        );
    }
    let expected_code = if found > 0 {
        1
    } else if errors.is_empty() {
        0
    } else {
        2
    };
    assert_eq!(run.code, expected_code, "{found} findings, {errors:?}");
}

#[test]
fn malformed_yaml_and_toml_are_errors_with_lines() {
    let t = tree();
    let broken: &[(&str, &str)] = &[
        ("bunfig.toml", "[install\ntoken = \"x\n"),
        ("docker-compose.yml", "services:\n  a: [\n    b: {\n"),
        (".yarnrc.yml", "npmAuthToken: \"unterminated\nx: : :\n"),
        ("compose.yaml", "key: &anchor\n  x: *undefined_alias\n"),
    ];
    for (name, text) in broken {
        write(t.path(), name, text);
    }
    write(t.path(), ".npmrc", format!("//r/:_authToken={TOKEN}\n"));
    let run = scan(t.path(), &["-f", "json"]);
    let report = json(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let mut want: Vec<String> = broken.iter().map(|(n, _)| n.to_string()).collect();
    want.sort();
    assert_eq!(error_paths(&report), want, "{:?}", errors_of(&report));
    for e in report["errors"].as_array().into_iter().flatten() {
        assert!(e["line"].as_u64().is_some_and(|l| l >= 1), "{e}");
    }
    assert_eq!(finding_paths(&report), vec![".npmrc"]);
    fs::remove_file(t.path().join(".npmrc")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan(t.path(), &[]).code, 2);
}

/// Nine levels of nine-fold aliases: 9^9 (387 million) nodes if anything expanded them.
fn alias_bomb(indent: &str) -> String {
    let mut s = format!("{indent}l0: &l0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for i in 1..10 {
        let p = format!("*l{}", i - 1);
        let items = [p.as_str(); 9].join(",");
        s.push_str(&format!("{indent}l{i}: &l{i} [{items}]\n"));
    }
    s
}

#[test]
fn yaml_alias_bombs_take_bounded_time_and_memory() {
    let t = tree();
    let compose = format!(
        "x-bomb:\n{}services:\n  api:\n    build:\n      context: .\n      args:\n        NPM_TOKEN: {TOKEN}\n",
        alias_bomb("  ")
    );
    write(t.path(), "docker-compose.yml", &compose);
    let workflow = format!(
        "{}on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: {TOKEN}\n",
        alias_bomb("")
    );
    write(t.path(), ".github/workflows/x.yml", &workflow);
    write(t.path(), ".yarnrc.yml", alias_bomb(""));
    let args = ["-f", "json", "--min-severity", "info"];
    let (run, rss) = run_guarded(t.path(), &args, true);
    sane(&run, &args);
    let report = json(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = finding_paths(&report);
    assert!(
        found.contains(&"docker-compose.yml".to_string())
            && found.contains(&".github/workflows/x.yml".to_string()),
        "findings next to the bomb are still reported: {found:?}"
    );
    if let Some(kib) = rss {
        assert!(
            kib < 256 * 1024,
            "peak RSS {kib} KiB: the aliases were expanded"
        );
    }
}

#[test]
fn broken_dockerfiles_still_report_what_they_can() {
    let t = tree();
    let cases: &[(&str, &str)] = &[
        (
            "heredoc/Dockerfile",
            "FROM node\nARG NPM_TOKEN\nRUN <<EOF\necho \"//r/:_authToken=${NPM_TOKEN}\" > .npmrc\nnpm ci\n",
        ),
        (
            "heredoc2/Dockerfile",
            "FROM node\nARG NPM_TOKEN\nRUN <<-\"EOT\" bash <<EOF2\nx\nEOT\n",
        ),
        (
            "continuation/Dockerfile",
            "FROM node\nARG NPM_TOKEN\nRUN echo a \\\n# comment in a continuation\n  && echo b \\\n",
        ),
        ("escape/Dockerfile", "# escape=`\nFROM node\nARG NPM_TOKEN\nRUN echo `\n"),
        ("only-backslash/Dockerfile", "ARG NPM_TOKEN\n\\"),
        ("empty-run/Dockerfile", "FROM node\nARG NPM_TOKEN\nRUN\nCOPY\nENV\n"),
    ];
    for (name, text) in cases {
        write(t.path(), name, text);
    }
    let run = scan(t.path(), &["-f", "json"]);
    let report = json(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let mut want: Vec<String> = cases.iter().map(|(n, _)| n.to_string()).collect();
    want.sort();
    assert_eq!(
        finding_paths(&report),
        want,
        "every file's ARG NPM_TOKEN is still found"
    );
    for f in report["findings"].as_array().into_iter().flatten() {
        let rule = f["rule"].as_str().unwrap_or_default();
        assert!(rule.starts_with("dockerfile-"), "{rule}");
    }
}
