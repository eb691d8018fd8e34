//! `--staged`: the content about to be committed, read from the git index rather than the
//! working tree, so a pre-commit hook judges what will actually land.
//!
//! Shells out to `git` (it is there wherever a commit is being made): `git diff --cached` lists
//! added, copied, modified and renamed paths (deletions have nothing to scan; a rename is scanned
//! under its new name; an unborn HEAD compares with the empty tree), and one
//! `git cat-file --batch` reads every blob.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::discover::{self, Candidate, FileError, FileKind};

/// What was read from the index: each file with its staged content, and the files that could
/// not be read.
#[derive(Debug, Default)]
pub struct Staged {
    pub blobs: Vec<(Candidate, Vec<u8>)>,
    pub errors: Vec<FileError>,
}

/// Runs `git ARGS` in `dir`; stdout on success, the error text otherwise.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The staged files under `roots` (all of them for `.`), read from the index, as candidates with
/// their content. Named files are scanned whatever their kind; others only when of a known kind
/// (or with `all_files`).
pub fn staged_blobs(
    roots: &[PathBuf],
    all_files: bool,
    excludes: &[String],
) -> Result<Staged, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    let top = git(&cwd, &["rev-parse", "--show-toplevel"])
        .map_err(|e| format!("--staged needs a git repository: {e}"))?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
    let listed = git(
        &top,
        &[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--diff-filter=ACMR",
            "--no-renames",
        ],
    )?;
    let staged: Vec<String> = listed
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let exclude = build_excludes(&top, excludes);
    let cwd_real = cwd.canonicalize().unwrap_or(cwd.clone());
    let top_real = top.canonicalize().unwrap_or(top.clone());
    let roots_abs: Vec<(usize, PathBuf, bool)> = roots
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let abs = if r.is_absolute() {
                r.clone()
            } else {
                cwd_real.join(r)
            };
            let abs = abs.canonicalize().unwrap_or(abs);
            (i, abs.clone(), abs.is_file())
        })
        .collect();

    let mut wanted: Vec<(Candidate, String)> = Vec::new();
    for rel in staged {
        let abs = top_real.join(&rel);
        let Some((root, named)) = roots_abs.iter().find_map(|(i, r, is_file)| {
            if *is_file {
                (abs == *r).then_some((*i, true))
            } else {
                abs.starts_with(r).then_some((*i, false))
            }
        }) else {
            continue;
        };
        if !named && exclude.matched_path_or_any_parents(&rel, false).is_ignore() {
            continue;
        }
        let kind = match discover::classify(Path::new(&rel)) {
            Some(k) => k,
            None if named || all_files => FileKind::Other,
            None => continue,
        };
        let display = match abs.strip_prefix(&cwd_real) {
            Ok(p) => discover::display_path(p),
            Err(_) => discover::display_path(&abs),
        };
        wanted.push((
            Candidate {
                fs_path: abs,
                display,
                kind,
                named,
                root,
            },
            rel,
        ));
    }
    read_blobs(&top, wanted)
}

fn build_excludes(top: &Path, globs: &[String]) -> Gitignore {
    let mut b = GitignoreBuilder::new(top);
    for g in globs {
        let _ = b.add_line(None, g);
    }
    b.build().unwrap_or_else(|_| Gitignore::empty())
}

/// Reads each `:path` blob of the index through one `git cat-file --batch`.
fn read_blobs(top: &Path, wanted: Vec<(Candidate, String)>) -> Result<Staged, String> {
    if wanted.is_empty() {
        return Ok(Staged::default());
    }
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(top)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run git cat-file: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("git cat-file: no stdin")?;
    let requests: String = wanted.iter().map(|(_, rel)| format!(":{rel}\n")).collect();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(requests.as_bytes());
    });
    let stdout = child.stdout.take().ok_or("git cat-file: no stdout")?;
    let mut reader = BufReader::new(stdout);
    let mut blobs = Vec::new();
    let mut errors = Vec::new();
    for (candidate, _) in wanted {
        let mut header = String::new();
        if reader.read_line(&mut header).map_err(|e| e.to_string())? == 0 {
            return Err("git cat-file ended early".to_string());
        }
        let fields: Vec<&str> = header.split_whitespace().collect();
        match fields.as_slice() {
            [_, "blob", size] => {
                let size: usize = size
                    .parse()
                    .map_err(|_| format!("bad cat-file header: {header}"))?;
                let mut content = vec![0u8; size];
                reader.read_exact(&mut content).map_err(|e| e.to_string())?;
                let mut newline = [0u8; 1];
                reader.read_exact(&mut newline).map_err(|e| e.to_string())?;
                blobs.push((candidate, content));
            }
            _ => errors.push(FileError {
                path: candidate.display.clone(),
                line: None,
                message: format!("not readable from the index: {}", header.trim()),
            }),
        }
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(Staged { blobs, errors })
}
