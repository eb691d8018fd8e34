//! The fix engine: `--diff` shows, `--fix` applies, the suggestions' edits.
//!
//! Per file, the applicable edits (safe, plus unsafe with `--unsafe-fixes`) are gathered,
//! identical edits merged and an edit overlapping an earlier one deferred. The result is
//! re-scanned: a fix that makes the file unparsable or raises a finding that was not there
//! before is rolled back whole. Writes are atomic (a temporary file in the same folder, renamed
//! over the original), keep the permissions, never go through a symbolic link, and keep CRLF
//! line endings. No edit may write a credential.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

mod invariants;

pub use invariants::{
    balanced, built_dockerfiles, check_file, check_repo, grant_id_token, requested_permissions,
    scripts, Overlay, RepoView, RepoViolation,
};

use crate::discover::FileKind;
use crate::finding::{Applicability, Edit, Finding, Severity};
use crate::scan::{self, Report, ScanSettings};

/// Which suggestions to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixMode {
    pub unsafe_fixes: bool,
}

impl FixMode {
    fn applies(self, a: Applicability) -> bool {
        match a {
            Applicability::Safe => true,
            Applicability::Unsafe => self.unsafe_fixes,
            Applicability::Manual => false,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePlan {
    pub path: String,
    /// Where to write it.
    pub fs_path: PathBuf,
    pub kind: FileKind,
    /// The repository root the file belongs to (see [`diff_path`]) and its path below it.
    pub repo: PathBuf,
    pub rel: String,
    /// Fixed text (never written when `rolled_back` is set).
    pub fixed: String,
    /// Redacted unified diff of the whole change.
    pub diff: String,
    pub applied: usize,
    pub deferred: usize,
    pub rolled_back: Option<String>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixSummary {
    pub applied: usize,
    pub skipped: usize,
    pub manual: usize,
    /// Unsafe fixes not shown or applied because `--unsafe-fixes` was not given.
    pub hidden: usize,
    /// Files with fixes to apply (not rolled back).
    pub files: usize,
    pub files_written: usize,
    pub errors: Vec<String>,
}

/// `text` with `edits` applied. Edits must be sorted by position and not overlap; bytes outside
/// the edited spans are kept as they are.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        if e.span.start < at || e.span.end > text.len() || e.span.start > e.span.end {
            return None;
        }
        out.push_str(text.get(at..e.span.start)?);
        out.push_str(&e.replacement);
        at = e.span.end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

/// Sorts edits and drops those that repeat or overlap an earlier one; returns the kept edits
/// and how many suggestions had to be deferred.
fn merge(groups: Vec<Vec<Edit>>) -> (Vec<Edit>, usize, usize) {
    let mut kept: Vec<Edit> = Vec::new();
    let mut applied = 0;
    let mut deferred = 0;
    for group in groups {
        let fresh: Vec<&Edit> = group.iter().filter(|e| !kept.contains(e)).collect();
        let clashes = fresh.iter().any(|e| {
            kept.iter().any(|k| {
                e.span.start < k.span.end && k.span.start < e.span.end
                    || (e.span.start == k.span.start && e.span.is_empty() && k.span.is_empty())
            })
        });
        if clashes {
            deferred += 1;
            continue;
        }
        kept.extend(fresh.into_iter().cloned());
        applied += 1;
    }
    kept.sort_by_key(|e| (e.span.start, e.span.end));
    (kept, applied, deferred)
}

/// The file's line ending: CRLF when its first line ends so.
fn uses_crlf(text: &str) -> bool {
    text.find('\n')
        .is_some_and(|i| i > 0 && text.as_bytes()[i - 1] == b'\r')
}

fn to_crlf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// `path` made absolute and without `.` or `..` components (lexically: links are not followed).
fn normalized(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// How a diff names a file, so that `git apply` and `patch -p1` run from the repository root
/// apply it whatever root was typed: relative to the nearest folder above it holding `.git`;
/// outside a repository, relative to the scan root folder it was found under, else (a named
/// file) to the current folder when the file is inside it, else to the file's folder.
pub fn diff_path(file: &Path, root: Option<&Path>) -> String {
    repo_and_rel(file, root).1
}

/// The folder a diff path is relative to (see [`diff_path`]) and the path below it.
fn repo_and_rel(file: &Path, root: Option<&Path>) -> (PathBuf, String) {
    let file = normalized(file);
    let repo = file
        .ancestors()
        .skip(1)
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf);
    let cwd = std::env::current_dir().ok().map(|d| normalized(&d));
    // A named file stands for no folder: the current one is the better guess of the root.
    let root = root.map(normalized).filter(|r| r.is_dir());
    let parent = file.parent().map(Path::to_path_buf);
    let base = [repo, root, cwd, parent]
        .into_iter()
        .flatten()
        .find(|b| file.starts_with(b))
        .unwrap_or_default();
    let rel = file
        .strip_prefix(&base)
        .unwrap_or(&file)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    (base, rel)
}

/// Plans the fixes of every file with applicable suggestions. `roots` are the scan roots as
/// typed (for the paths of the diff).
pub fn plan(
    report: &Report,
    mode: FixMode,
    settings: &ScanSettings,
    roots: &[PathBuf],
) -> (Vec<FilePlan>, FixSummary) {
    let mut by_file: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    let mut summary = FixSummary::default();
    for f in &report.findings {
        let Some(s) = &f.suggestion else { continue };
        if !s.edits.is_empty() && s.applicability == Applicability::Unsafe && !mode.unsafe_fixes {
            summary.hidden += 1;
            continue;
        }
        if s.edits.is_empty() || !mode.applies(s.applicability) {
            summary.manual += 1;
            continue;
        }
        by_file.entry(f.path.as_str()).or_default().push(f);
    }
    let mut plans = Vec::new();
    for (path, findings) in by_file {
        let (Some(original), Some(candidate)) =
            (report.originals.get(path), report.candidates.get(path))
        else {
            continue;
        };
        let secrets: Vec<&str> = report
            .redactions
            .get(path)
            .map(|r| {
                r.iter()
                    .filter_map(|(s, _)| original.get(s.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let crlf = uses_crlf(original);
        let groups: Vec<Vec<Edit>> = findings
            .iter()
            .filter_map(|f| f.suggestion.as_ref())
            .map(|s| {
                s.edits
                    .iter()
                    .map(|e| Edit {
                        span: e.span.clone(),
                        replacement: if crlf {
                            to_crlf(&e.replacement)
                        } else {
                            e.replacement.clone()
                        },
                    })
                    .collect()
            })
            .filter(|edits: &Vec<Edit>| {
                let leaks = edits.iter().any(|e| {
                    secrets
                        .iter()
                        .any(|s| s.len() >= 4 && e.replacement.contains(s))
                });
                !leaks
            })
            .collect();
        let (edits, applied, deferred) = merge(groups);
        let Some(fixed) = apply_edits(original, &edits) else {
            continue;
        };
        if fixed == **original {
            continue;
        }
        let redactions = report.redactions.get(path).cloned().unwrap_or_default();
        let root = roots.get(candidate.root).map(PathBuf::as_path);
        let (repo, rel) = repo_and_rel(&candidate.fs_path, root);
        let diff = scan::render_diff(&rel, original, &edits, &redactions);
        let rolled_back = recheck(candidate, original, &fixed, settings)
            .or_else(|| invariants::check_file(candidate.kind, original, &fixed).err());
        summary.applied += if rolled_back.is_none() { applied } else { 0 };
        summary.files += usize::from(rolled_back.is_none());
        summary.skipped += deferred + if rolled_back.is_some() { applied } else { 0 };
        plans.push(FilePlan {
            path: path.to_string(),
            fs_path: candidate.fs_path.clone(),
            kind: candidate.kind,
            repo,
            rel,
            fixed,
            diff,
            applied,
            deferred,
            rolled_back,
        });
    }
    check_across_files(report, &mut plans, &mut summary);
    plans.sort_by(|a, b| a.path.cmp(&b.path));
    (plans, summary)
}

/// Rolls back, together, the files of every cross-file invariant the planned fixes break.
fn check_across_files(report: &Report, plans: &mut Vec<FilePlan>, summary: &mut FixSummary) {
    // Rolling one file back can break a pair it formed with another, and a caller's grant is a
    // new plan: check again.
    for _ in 0..3 {
        let repos: BTreeSet<PathBuf> = plans.iter().map(|p| p.repo.clone()).collect();
        let mut failed: Vec<(String, PathBuf, String)> = Vec::new();
        let mut granted: Vec<FilePlan> = Vec::new();
        for repo in repos {
            let live: Vec<&FilePlan> = plans
                .iter()
                .filter(|p| p.repo == repo && p.rolled_back.is_none())
                .collect();
            let changed: Vec<(String, FileKind, &str)> = live
                .iter()
                .filter_map(|p| {
                    let original = report.originals.get(&p.path)?;
                    Some((p.rel.clone(), p.kind, &**original))
                })
                .collect();
            let overlay = Overlay {
                root: repo.clone(),
                fixed: live
                    .iter()
                    .map(|p| (p.rel.clone(), p.fixed.as_str()))
                    .collect(),
            };
            for v in check_repo(&changed, &overlay) {
                if let Some(added) = grant_callers(&live, &repo, &v, &overlay) {
                    granted.extend(added);
                    continue;
                }
                for f in v.files {
                    failed.push((f, repo.clone(), v.reason.clone()));
                }
            }
        }
        // A build step or compose file whose fix was rolled back still passes the token the old
        // way: the Dockerfile it builds keeps its old form too.
        for p in plans.iter().filter(|p| p.rolled_back.is_some()) {
            let Some(original) = report.originals.get(&p.path) else {
                continue;
            };
            for df in built_dockerfiles(p.kind, &p.rel, original) {
                failed.push((
                    df,
                    p.repo.clone(),
                    format!("{} builds it and its own fix was not applied", p.rel),
                ));
            }
        }
        if !granted.is_empty() {
            summary.applied += granted.len();
            summary.files += granted.len();
            plans.extend(granted);
            continue;
        }
        failed.retain(|(rel, repo, _)| {
            plans
                .iter()
                .any(|p| &p.rel == rel && &p.repo == repo && p.rolled_back.is_none())
        });
        if failed.is_empty() {
            return;
        }
        for (rel, repo, reason) in failed {
            if let Some(p) = plans
                .iter_mut()
                .find(|p| p.rel == rel && p.repo == repo && p.rolled_back.is_none())
            {
                p.rolled_back = Some(reason);
                summary.applied -= p.applied;
                summary.files -= 1;
                summary.skipped += p.applied;
            }
        }
    }
}

/// A reusable workflow that gains `id-token: write` needs its local callers to grant it: new plans
/// that add the grant to each caller job, when every one can take the edit (`None` otherwise, or
/// when `v` is another kind of violation, or a caller already has a plan of its own).
fn grant_callers(
    live: &[&FilePlan],
    repo: &Path,
    v: &RepoViolation,
    overlay: &Overlay<'_>,
) -> Option<Vec<FilePlan>> {
    if v.grant.is_empty() {
        return None;
    }
    let called = live.iter().find(|p| Some(&p.rel) == v.files.first())?;
    let prefix = called.path.strip_suffix(called.rel.as_str())?;
    let requested = requested_permissions(&called.fixed);
    let files: BTreeSet<&String> = v.grant.iter().map(|(f, _)| f).collect();
    let mut out = Vec::new();
    for file in files {
        if live.iter().any(|p| &p.rel == file) {
            return None;
        }
        let original = overlay.text(file)?;
        let mut edits: Vec<Edit> = Vec::new();
        for (_, job) in v.grant.iter().filter(|(f, _)| f == file) {
            let (at, text) = grant_id_token(&original, job, &requested)?;
            edits.push(Edit {
                span: at..at,
                replacement: text,
            });
        }
        edits.sort_by_key(|e| e.span.start);
        let fixed = apply_edits(&original, &edits)?;
        check_file(FileKind::GithubWorkflow, &original, &fixed).ok()?;
        out.push(FilePlan {
            path: format!("{prefix}{file}"),
            fs_path: repo.join(file),
            kind: FileKind::GithubWorkflow,
            repo: repo.to_path_buf(),
            rel: file.clone(),
            diff: scan::render_diff(file, &original, &edits, &[]),
            fixed,
            applied: 1,
            deferred: 0,
            rolled_back: None,
        });
    }
    Some(out)
}

/// Re-scans the fixed text: why the fix must be rolled back, if it must.
fn recheck(
    candidate: &crate::discover::Candidate,
    original: &str,
    fixed: &str,
    settings: &ScanSettings,
) -> Option<String> {
    // With the repository as context: a reusable workflow is judged with its callers' grant.
    let before = scan::scan_bytes_with_context(candidate, original.as_bytes(), settings);
    let after = scan::scan_bytes_with_context(candidate, fixed.as_bytes(), settings);
    if after.errors.len() > before.errors.len() {
        let why = after
            .errors
            .last()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        return Some(format!("the fixed file does not parse ({why})"));
    }
    let known: BTreeSet<(&str, String)> = before
        .findings
        .iter()
        .map(|f| (f.rule, f.message.clone()))
        .collect();
    // Info findings are an inventory: a literal replaced by `${NPM_TOKEN}` is meant to add one.
    if let Some(new) = after
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .find(|f| !known.contains(&(f.rule, f.message.clone())))
    {
        return Some(format!("the fix would raise a new `{}` finding", new.rule));
    }
    None
}

/// Writes `text` over `path` atomically, keeping its permissions; refuses symbolic links.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let meta = fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{}: is a symbolic link; not written through",
            path.display()
        ));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.npm-auth-scan-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::set_permissions(&tmp, meta.permissions())?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(format!("{}: cannot write: {e}", path.display()));
    }
    Ok(())
}

/// Applies the plans that were not rolled back.
pub fn apply(plans: &[FilePlan], summary: &mut FixSummary) {
    for plan in plans {
        if let Some(why) = &plan.rolled_back {
            summary
                .errors
                .push(format!("{}: fix not applied: {why}", plan.path));
            continue;
        }
        match write_atomically(&plan.fs_path, &plan.fixed) {
            Ok(()) => summary.files_written += 1,
            Err(e) => summary.errors.push(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn edit(a: usize, b: usize, r: &str) -> Edit {
        Edit {
            span: a..b,
            replacement: r.to_string(),
        }
    }

    #[test]
    fn overlapping_suggestions_are_deferred_and_duplicates_merged() {
        let groups = vec![
            vec![edit(0, 3, "x")],
            vec![edit(0, 3, "x")],
            vec![edit(2, 5, "y")],
            vec![edit(6, 7, "z")],
        ];
        let (edits, applied, deferred) = merge(groups);
        assert_eq!(edits, vec![edit(0, 3, "x"), edit(6, 7, "z")]);
        assert_eq!((applied, deferred), (3, 1));
        assert_eq!(apply_edits("abcdefgh", &edits).as_deref(), Some("xdefzh"));
    }

    #[test]
    fn diff_paths_are_relative_to_the_repository_whatever_the_root() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let repo = dir.path().join("repo");
        fs::create_dir_all(repo.join(".git")).unwrap_or_else(|e| panic!("{e}"));
        fs::create_dir_all(repo.join("sub/x")).unwrap_or_else(|e| panic!("{e}"));
        let file = repo.join("sub/x/Dockerfile");
        fs::write(&file, "FROM node\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(diff_path(&file, Some(&repo)), "sub/x/Dockerfile");
        assert_eq!(
            diff_path(
                &repo.join("sub/../sub/./x/Dockerfile"),
                Some(&repo.join("sub"))
            ),
            "sub/x/Dockerfile"
        );
        // Outside a repository: relative to the scan root (a folder, or a named file's folder).
        let plain = dir.path().join("plain");
        fs::create_dir_all(plain.join("a")).unwrap_or_else(|e| panic!("{e}"));
        let f = plain.join("a/.npmrc");
        fs::write(&f, "x\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(diff_path(&f, Some(&plain)), "a/.npmrc");
        assert_eq!(diff_path(&f, Some(&f)), ".npmrc");
    }

    #[test]
    fn crlf_is_kept() {
        assert!(uses_crlf("a\r\nb\r\n"));
        assert!(!uses_crlf("a\nb\r\n"));
        assert_eq!(to_crlf("a\nb\r\nc"), "a\r\nb\r\nc");
    }

    #[test]
    fn refuses_to_write_through_symlinks() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let target = dir.path().join("real");
        fs::write(&target, "a").unwrap_or_else(|e| panic!("{e}"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap_or_else(|e| panic!("{e}"));
        assert!(write_atomically(&link, "b").is_err());
        assert_eq!(fs::read_to_string(&target).unwrap_or_default(), "a");
        write_atomically(&target, "c").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read_to_string(&target).unwrap_or_default(), "c");
    }

    proptest! {
        #[test]
        fn bytes_outside_edited_spans_never_change(
            text in "[a-z\\n]{0,200}",
            cuts in proptest::collection::vec((0usize..200, 0usize..8, "[A-Z]{0,5}"), 0..6),
        ) {
            let mut edits: Vec<Edit> = Vec::new();
            for (start, len, rep) in cuts {
                let start = start.min(text.len());
                let end = (start + len).min(text.len());
                let e = edit(start, end, &rep);
                if edits.iter().all(|k| e.span.end <= k.span.start || k.span.end <= e.span.start) {
                    edits.push(e);
                }
            }
            edits.sort_by_key(|e| (e.span.start, e.span.end));
            let fixed = apply_edits(&text, &edits).unwrap_or_default();
            // Every untouched stretch of the original appears, in order, in the result.
            let mut from = 0;
            let mut cursor = 0;
            for e in &edits {
                let kept = &text[from..e.span.start];
                prop_assert_eq!(&fixed[cursor..cursor + kept.len()], kept);
                cursor += kept.len() + e.replacement.len();
                from = e.span.end;
            }
            prop_assert_eq!(&fixed[cursor..], &text[from..]);
        }
    }
}
