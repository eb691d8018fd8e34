//! The scan pipeline: discover → read → check → finish, per file in parallel, then one sort.
//!
//! Finishing turns a check's [`Draft`]s into [`Finding`]s: positions from the line index, the
//! message from the rule's template, a snippet and a suggestion diff built from the *redacted*
//! text, and a fingerprint that does not depend on line numbers.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::checks::{self, CheckOptions, FileCtx};
use crate::discover::{self, Candidate, FileError, FileKind, WalkOptions};
pub use crate::edit::{apply_replacements, redactions, render_diff};
use crate::edit::{clamp_span, map_offset};
use crate::finding::{Confidence, Draft, Edit, Finding, RenderedSuggestion, Severity};
use crate::model::{Mode, Model};
use crate::rules;
use crate::source::{LineIndex, Span};
use crate::suppress;
use crate::token::{self, SecretKind};

/// Default limit above which a file is not parsed, only swept for tokens in chunks.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// How much of a file decides whether it is binary (a NUL byte in it).
const BINARY_PROBE: usize = 8 * 1024;

/// Chunk size for sweeping files over the size limit.
const SWEEP_CHUNK: usize = 8 * 1024 * 1024;

/// Everything the scan needs, resolved from the command line and the config file.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    pub walk: WalkOptions,
    pub checks: CheckOptions,
    pub min_severity: Severity,
    pub max_file_size: u64,
    /// Per-rule severity overrides (from the config file).
    pub severity_overrides: BTreeMap<String, Severity>,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            walk: WalkOptions::default(),
            checks: CheckOptions::default(),
            min_severity: Severity::Low,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            severity_overrides: BTreeMap::new(),
        }
    }
}

/// What the scan of one file produced.
#[derive(Debug, Default)]
pub struct FileOutcome {
    pub findings: Vec<Finding>,
    pub errors: Vec<FileError>,
    pub notes: Vec<FileError>,
    /// Findings removed by inline suppression comments.
    pub suppressed: usize,
    /// The file text with every secret redacted, kept for renderers when there are findings.
    pub redacted: Option<Arc<str>>,
    /// The original text, kept when a finding carries edits (for `--diff` and `--fix`).
    pub original: Option<Arc<str>>,
    /// Replacement text of every secret span, for renderers that diff the file.
    pub redactions: Vec<(Span, String)>,
    /// Whether the file was read (counts toward `files_scanned`).
    pub scanned: bool,
}

/// The whole scan.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub errors: Vec<FileError>,
    /// Files skipped or only partly checked, with why (not errors: the exit code ignores them).
    pub notes: Vec<FileError>,
    pub files_scanned: usize,
    pub suppressed: usize,
    /// Redacted text of each file with findings, by display path.
    pub sources: BTreeMap<String, Arc<str>>,
    /// Original text of each file whose findings carry edits, by display path.
    pub originals: BTreeMap<String, Arc<str>>,
    /// The candidate (location and kind) of each file with findings, by display path.
    pub candidates: BTreeMap<String, Candidate>,
    /// The redactions of each file with findings, by display path, for diffs of combined fixes.
    pub redactions: BTreeMap<String, Vec<(Span, String)>>,
    /// Per scan root: display name, files scanned, findings.
    pub roots: Vec<RootSummary>,
    /// `--history`: the repositories scanned (SARIF `versionControlProvenance`).
    pub provenance: Vec<crate::history::Provenance>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootSummary {
    pub root: String,
    pub files_scanned: usize,
    pub findings: usize,
    /// The repository the root is (JSON `repository`), filled in for the formats that show it.
    pub repository: Option<crate::report::Repository>,
}

/// Scans `roots` (directories walked, files as named) plus `extra` candidates (user-level
/// configs for `--user`).
///
/// Every file is read once, in parallel; files of known kinds then go into one
/// [`Model`](crate::model::Model) per root, which follows their references, and are checked
/// against it in parallel.
pub fn scan(roots: &[PathBuf], extra: Vec<Candidate>, settings: &ScanSettings) -> Report {
    let (mut candidates, walk_errors) = discover::discover(roots, &settings.walk);
    candidates.extend(extra);
    let loaded = in_parallel(candidates, |c| match load(&c, settings) {
        Loaded::Bytes(bytes) if models_it(&c, roots) => (c, Err(bytes)),
        Loaded::Bytes(bytes) => {
            let outcome = scan_bytes(&c, &bytes, settings);
            (c, Ok(outcome))
        }
        Loaded::Done(outcome) => (c, Ok(outcome)),
    });
    let (mut outcomes, inputs) = split_loaded(loaded);
    let notes = scan_models(roots, inputs, false, settings, &mut outcomes);
    // A file of no known kind swept by `--all-files` and also reached by reference was
    // checked as what the reference says: that outcome is the one kept.
    let mut by_model: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (c, _) in &outcomes {
        if c.kind != FileKind::Other {
            by_model.insert(c.display.clone());
        }
    }
    outcomes
        .retain(|(c, _)| c.kind != FileKind::Other || c.named || !by_model.contains(&c.display));
    let mut report = assemble(roots, walk_errors, outcomes);
    report.notes.extend(notes);
    report.sort();
    report
}

/// Scans contents already in memory (the staged blobs of `--staged`): they are the named files,
/// and their repository is read as context.
pub fn scan_blobs(
    roots: &[PathBuf],
    blobs: Vec<(Candidate, Vec<u8>)>,
    errors: Vec<FileError>,
    settings: &ScanSettings,
) -> Report {
    let loaded = in_parallel(blobs, |(c, bytes)| {
        if models_it(&c, roots) {
            (c, Err(bytes))
        } else {
            let outcome = scan_bytes(&c, &bytes, settings);
            (c, Ok(outcome))
        }
    });
    let (mut outcomes, inputs) = split_loaded(loaded);
    let notes = scan_models(roots, inputs, true, settings, &mut outcomes);
    let mut report = assemble(roots, errors, outcomes);
    report.notes.extend(notes);
    report.sort();
    report
}

/// Files of a known kind under a scan root go through the model; others (the `--all-files`
/// sweep, `--user` configs) are checked alone.
fn models_it(c: &Candidate, roots: &[PathBuf]) -> bool {
    (c.kind != FileKind::Other || c.named) && c.root < roots.len()
}

type LoadedFile = (Candidate, Result<FileOutcome, Vec<u8>>);
type Checked = Vec<(Candidate, FileOutcome)>;
type ToModel = Vec<(Candidate, Vec<u8>)>;

fn split_loaded(loaded: Vec<LoadedFile>) -> (Checked, ToModel) {
    let mut outcomes = Vec::new();
    let mut inputs = Vec::new();
    for (c, r) in loaded {
        match r {
            Ok(o) => outcomes.push((c, o)),
            Err(bytes) => inputs.push((c, bytes)),
        }
    }
    (outcomes, inputs)
}

/// Builds the models of `inputs` (one per walked root; one per repository for named files,
/// with the rest of the repository read as context), links them, and checks every reported
/// file against its model. Returns the notes about references not followed.
fn scan_models(
    roots: &[PathBuf],
    inputs: Vec<(Candidate, Vec<u8>)>,
    all_named: bool,
    settings: &ScanSettings,
    outcomes: &mut Vec<(Candidate, FileOutcome)>,
) -> Vec<FileError> {
    let mut by_root: BTreeMap<usize, Model> = BTreeMap::new();
    let mut by_repo: BTreeMap<PathBuf, Model> = BTreeMap::new();
    for (c, bytes) in inputs {
        let named = all_named || c.named;
        if !named {
            if let Some(root) = roots.get(c.root) {
                if let Some(rel) = crate::model::rel_of(root, &c.fs_path) {
                    let model = by_root.entry(c.root).or_insert_with(|| {
                        let display = discover::display_path(root);
                        let display = if display == "." {
                            String::new()
                        } else {
                            display
                        };
                        Model::new(root.clone(), display, Mode::Full, settings.max_file_size)
                    });
                    model.add(rel, c, bytes, true);
                    continue;
                }
            }
        }
        match crate::model::repository_of(&c.fs_path) {
            Some((repo, rel)) => {
                let model = by_repo.entry(repo.clone()).or_insert_with(|| {
                    let display = crate::model::display_root_for(&c.display, &rel, &repo);
                    Model::new(repo.clone(), display, Mode::Named, settings.max_file_size)
                });
                model.add(rel, c, bytes, true);
            }
            None => {
                let outcome = scan_bytes(&c, &bytes, settings);
                outcomes.push((c, outcome));
            }
        }
    }
    for model in by_repo.values_mut() {
        load_context(model, settings);
    }
    let mut models: Vec<Model> = by_root.into_values().chain(by_repo.into_values()).collect();
    let mut notes = Vec::new();
    for model in &mut models {
        model.link();
        notes.extend(model.take_notes());
    }
    let work: Vec<(&Model, &crate::model::ModelFile)> = models
        .iter()
        .flat_map(|m| m.files().filter(|f| f.reported).map(move |f| (m, f)))
        .collect();
    let checked = in_parallel(work, |(model, file)| {
        let link = checks::Link {
            model,
            rel: &file.rel,
        };
        let outcome = scan_bytes_in(&file.candidate, &file.bytes, settings, Some(link));
        (file.candidate.clone(), outcome)
    });
    outcomes.extend(checked);
    notes
}

/// The files of a named file's repository that can reference it (CI configuration and compose
/// files), read as context: callers of a reusable workflow, workflows using a composite action,
/// the compose file that builds a Dockerfile, the `.gitlab-ci.yml` that includes a file.
fn load_context(model: &mut Model, settings: &ScanSettings) {
    let walk = WalkOptions {
        all_files: false,
        ..settings.walk.clone()
    };
    let (found, _) = discover::discover(std::slice::from_ref(&model.root), &walk);
    let root = model.root.clone();
    let wanted: Vec<(String, Candidate)> = found
        .into_iter()
        .filter(|c| c.kind.is_ci() || c.kind == FileKind::Compose)
        .filter_map(|c| Some((crate::model::rel_of(&root, &c.fs_path)?, c)))
        .filter(|(rel, _)| model.file(rel).is_none())
        .collect();
    let read = in_parallel(wanted, |(rel, c)| {
        let bytes = std::fs::metadata(&c.fs_path)
            .ok()
            .filter(|m| m.is_file() && m.len() <= settings.max_file_size)
            .and_then(|_| std::fs::read(&c.fs_path).ok());
        (rel, c, bytes)
    });
    for (rel, mut c, bytes) in read {
        if let Some(bytes) = bytes {
            c.display = model.display(&rel);
            c.named = false;
            model.add(rel, c, bytes, false);
        }
    }
}

/// Maps `items` on the rayon pool, or on this thread when there is only one (no pool start-up
/// for a pre-commit hook that names one file).
fn in_parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    if items.len() > 1 {
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

/// One empty summary per scan root, named as typed.
pub(crate) fn root_summaries(roots: &[PathBuf]) -> Vec<RootSummary> {
    roots
        .iter()
        .map(|r| RootSummary {
            root: discover::display_path(r),
            ..RootSummary::default()
        })
        .collect()
}

/// Gathers per-file outcomes into one report, sorted.
fn assemble(
    roots: &[PathBuf],
    walk_errors: Vec<FileError>,
    outcomes: Vec<(Candidate, FileOutcome)>,
) -> Report {
    let mut report = Report {
        errors: walk_errors,
        roots: root_summaries(roots),
        ..Report::default()
    };
    for (candidate, outcome) in outcomes {
        if outcome.scanned {
            report.files_scanned += 1;
        }
        report.suppressed += outcome.suppressed;
        if let Some(root) = report.roots.get_mut(candidate.root) {
            root.files_scanned += usize::from(outcome.scanned);
            root.findings += outcome.findings.len();
        }
        if !outcome.findings.is_empty() {
            if let Some(text) = outcome.redacted {
                report.sources.insert(candidate.display.clone(), text);
            }
            if let Some(text) = outcome.original {
                report.originals.insert(candidate.display.clone(), text);
            }
            report
                .redactions
                .insert(candidate.display.clone(), outcome.redactions);
            report
                .candidates
                .insert(candidate.display.clone(), candidate.clone());
        }
        let mut findings = outcome.findings;
        let has_diff = findings
            .iter()
            .any(|f| f.suggestion.as_ref().is_some_and(|s| !s.diff.is_empty()));
        if has_diff && candidate.display.starts_with('/') {
            // `a//abs/path` applies nowhere: an absolute root's diffs name the file as `--diff`
            // does, from its repository root.
            let rel = crate::fix::diff_path(
                &candidate.fs_path,
                roots.get(candidate.root).map(PathBuf::as_path),
            );
            for s in findings.iter_mut().filter_map(|f| f.suggestion.as_mut()) {
                s.diff = crate::edit::rename_diff(&s.diff, &candidate.display, &rel);
            }
        }
        report.findings.extend(findings);
        report.errors.extend(outcome.errors);
        report.notes.extend(outcome.notes);
    }
    report.sort();
    report
}

impl Report {
    /// Puts findings, errors and notes in the order every output uses.
    pub fn sort(&mut self) {
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.errors
            .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        self.notes.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// Drops findings for which `drop` says so, counting them as suppressed and keeping the
    /// per-root counts right.
    pub fn suppress(&mut self, drop: impl Fn(&Finding) -> bool) {
        let before = self.findings.len();
        let roots = &mut self.roots;
        self.findings.retain(|f| {
            if drop(f) {
                if let Some(r) = roots.iter_mut().find(|r| belongs_to(&f.path, &r.root)) {
                    r.findings = r.findings.saturating_sub(1);
                }
                false
            } else {
                true
            }
        });
        self.suppressed += before - self.findings.len();
    }
}

/// Is display path `path` under the root displayed as `root`?
pub fn belongs_to(path: &str, root: &str) -> bool {
    root.is_empty()
        || root == "."
        || path == root
        || path.starts_with(&format!("{}/", root.trim_end_matches('/')))
}

/// `path` relative to the root it was found under (as config globs are written).
pub fn relative_to_roots<'a>(path: &'a str, roots: &[RootSummary]) -> &'a str {
    for r in roots {
        let root = r.root.trim_end_matches('/');
        if root.is_empty() || root == "." {
            continue;
        }
        if let Some(rest) = path.strip_prefix(root).and_then(|p| p.strip_prefix('/')) {
            return rest;
        }
    }
    path
}

/// A file read into memory, or what became of it when it could not be (or was too large to be).
enum Loaded {
    Bytes(Vec<u8>),
    Done(FileOutcome),
}

/// Reads, checks and finishes one file on its own (no model). Never panics on the file's
/// content.
pub fn scan_candidate(candidate: &Candidate, settings: &ScanSettings) -> FileOutcome {
    match load(candidate, settings) {
        Loaded::Bytes(bytes) => scan_bytes(candidate, &bytes, settings),
        Loaded::Done(outcome) => outcome,
    }
}

/// Reads one file, once. Files over the size limit are swept for tokens here.
fn load(candidate: &Candidate, settings: &ScanSettings) -> Loaded {
    let display = candidate.display.as_str();
    let error = |message: String| {
        Loaded::Done(FileOutcome {
            errors: vec![FileError {
                path: display.to_string(),
                line: None,
                message,
            }],
            ..FileOutcome::default()
        })
    };
    // Opening a FIFO blocks until a writer appears, and a socket or device is no file to scan:
    // look before opening (the walk only yields regular files, but named paths and `--user`
    // configs come here unchecked).
    match std::fs::metadata(&candidate.fs_path) {
        Ok(m) if !m.is_file() => return error(not_regular(&m)),
        Ok(_) => {}
        Err(e) => return error(format!("cannot open: {}", io_reason(&e))),
    }
    let mut file = match File::open(&candidate.fs_path) {
        Ok(f) => f,
        Err(e) => return error(format!("cannot open: {}", io_reason(&e))),
    };
    let size = match file.metadata() {
        Ok(m) if !m.is_file() => return error(not_regular(&m)),
        Ok(m) => m.len(),
        Err(e) => return error(format!("cannot read metadata: {}", io_reason(&e))),
    };
    if size > settings.max_file_size {
        return Loaded::Done(sweep_large_file(candidate, file, size, settings));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    if let Err(e) = file.read_to_end(&mut bytes) {
        return error(format!("cannot read: {}", io_reason(&e)));
    }
    Loaded::Bytes(bytes)
}

/// Why a path that is not a regular file is not read.
fn not_regular(meta: &std::fs::Metadata) -> String {
    let t = meta.file_type();
    let what = if t.is_dir() {
        "a directory"
    } else {
        special_file_kind(&t)
    };
    format!("{what}: not read (only regular files are scanned)")
}

#[cfg(unix)]
fn special_file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn special_file_kind(_: &std::fs::FileType) -> &'static str {
    "not a regular file"
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::NotFound => "file vanished during the scan".to_string(),
        _ => e.to_string(),
    }
}

/// Checks a file's content (from disk, the git index, or a rule example) on its own.
pub fn scan_bytes(candidate: &Candidate, bytes: &[u8], settings: &ScanSettings) -> FileOutcome {
    scan_bytes_in(candidate, bytes, settings, None)
}

/// Checks a file's content (the text a fix would write, say) with its repository as context, as
/// a named file is: the findings it gets in a scan, whatever other files it depends on.
pub fn scan_bytes_with_context(
    candidate: &Candidate,
    bytes: &[u8],
    settings: &ScanSettings,
) -> FileOutcome {
    if candidate.kind == FileKind::Other {
        return scan_bytes(candidate, bytes, settings);
    }
    let Some((repo, rel)) = crate::model::repository_of(&candidate.fs_path) else {
        return scan_bytes(candidate, bytes, settings);
    };
    let display = crate::model::display_root_for(&candidate.display, &rel, &repo);
    let mut model = Model::new(repo, display, Mode::Named, settings.max_file_size);
    model.add(rel.clone(), candidate.clone(), bytes.to_vec(), true);
    load_context(&mut model, settings);
    model.link();
    match model.file(&rel) {
        Some(file) => {
            let link = checks::Link {
                model: &model,
                rel: &file.rel,
            };
            scan_bytes_in(&file.candidate, &file.bytes, settings, Some(link))
        }
        None => scan_bytes(candidate, bytes, settings),
    }
}

/// Checks a file's content against the model of its root, when it has one.
pub fn scan_bytes_in(
    candidate: &Candidate,
    bytes: &[u8],
    settings: &ScanSettings,
    link: Option<checks::Link<'_>>,
) -> FileOutcome {
    let display = candidate.display.as_str();
    let probe = &bytes[..bytes.len().min(BINARY_PROBE)];
    if memchr::memchr(0, probe).is_some() {
        let mut outcome = FileOutcome::default();
        if candidate.kind != FileKind::Other || candidate.named {
            outcome.errors.push(FileError {
                path: display.to_string(),
                line: None,
                message: "binary file (contains NUL bytes): not scanned".to_string(),
            });
        }
        return outcome;
    }
    let bom = bytes.starts_with(b"\xEF\xBB\xBF");
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut outcome = FileOutcome {
        scanned: true,
        ..FileOutcome::default()
    };
    // The token sweep is the only check for files of no known kind, and it needs `npm_`: most
    // files of the default sweep end here, without UTF-8 validation or a line index.
    if candidate.kind == FileKind::Other && memchr::memmem::find(bytes, b"npm_").is_none() {
        return outcome;
    }
    let (text, kind) = match std::str::from_utf8(bytes) {
        Ok(text) => (std::borrow::Cow::Borrowed(text), candidate.kind),
        Err(e) => {
            if candidate.kind != FileKind::Other {
                outcome.errors.push(FileError {
                    path: display.to_string(),
                    line: None,
                    message: format!(
                        "not valid UTF-8 (byte {}): only swept for literal tokens",
                        e.valid_up_to()
                    ),
                });
            }
            (String::from_utf8_lossy(bytes), FileKind::Other)
        }
    };
    let index = LineIndex::new(&text);
    let mut ctx = FileCtx::new(
        display,
        &candidate.fs_path,
        kind,
        &text,
        &index,
        &settings.checks,
    );
    ctx.bom = bom;
    ctx.link = link;
    checks::run(&mut ctx);
    let FileCtx {
        mut drafts,
        secrets,
        errors,
        notes,
        ..
    } = ctx;
    for n in notes {
        let line = n.span.map(|s| index.position(&text, s.start).line);
        outcome.notes.push(FileError {
            path: display.to_string(),
            line,
            message: token::scrub(&n.message).into_owned(),
        });
    }
    outcome.suppressed = suppress::apply_inline(&text, &index, &mut drafts, &settings.checks);
    for e in errors {
        let line = e.span.map(|s| index.position(&text, s.start).line);
        outcome.errors.push(FileError {
            path: display.to_string(),
            line,
            message: token::scrub(&e.message).into_owned(),
        });
    }
    finish(
        display,
        &text,
        &index,
        drafts,
        &secrets,
        settings,
        &mut outcome,
    );
    outcome
}

/// Turns drafts into findings; keeps the redacted (and, with edits, original) text.
fn finish(
    path: &str,
    text: &str,
    index: &LineIndex,
    drafts: Vec<Draft>,
    secrets: &[(Span, SecretKind)],
    settings: &ScanSettings,
    outcome: &mut FileOutcome,
) {
    if drafts.is_empty() {
        return;
    }
    let redactions = redactions(text, secrets);
    let redacted: Arc<str> = Arc::from(apply_replacements(text, &redactions));
    let redacted_index = LineIndex::new(&redacted);
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut has_edits = false;
    for draft in drafts {
        let Some(rule) = rules::get(draft.rule) else {
            debug_assert!(false, "finding of unknown rule {}", draft.rule);
            continue;
        };
        let severity = settings
            .severity_overrides
            .get(draft.rule)
            .copied()
            .or(draft.severity)
            .unwrap_or(rule.severity);
        if severity < settings.min_severity {
            continue;
        }
        let span = clamp_span(text, draft.span.clone());
        let start = index.position(text, span.start);
        let last = if span.end > span.start {
            span.end - 1
        } else {
            span.start
        };
        let end = index.position(text, last);
        let display_span = map_offset(span.start, &redactions)
            ..map_offset(span.end, &redactions).max(map_offset(span.start, &redactions));
        // Scrubbed as well: a token glued to other word characters (`npm_…_authToken`) is no
        // token to the checks, so no secret span covers it, yet it is one to a reader.
        let snippet = token::scrub(&snippet_of(
            &redacted,
            &redacted_index,
            display_span.clone(),
        ))
        .into_owned();
        let message = match &draft.message {
            Some(m) => m.clone(),
            None => rule.render_message(draft.message_key, &draft.args),
        };
        let identity = draft
            .identity
            .clone()
            .unwrap_or_else(|| snippet.split_whitespace().collect::<Vec<_>>().join(" "));
        let occurrence = seen
            .entry((draft.rule.to_string(), identity.clone()))
            .and_modify(|n| *n += 1)
            .or_insert(0);
        let fingerprint = fingerprint(draft.rule, path, &identity, *occurrence);
        let suggestion = draft.suggestion.map(|s| {
            let edits: Vec<Edit> = s
                .edits
                .into_iter()
                .map(|e| Edit {
                    span: clamp_span(text, e.span),
                    replacement: e.replacement,
                })
                .collect();
            has_edits |= !edits.is_empty();
            RenderedSuggestion {
                diff: render_diff(path, text, &edits, &redactions),
                title: token::scrub(&s.title).into_owned(),
                applicability: s.applicability,
                notes: s
                    .notes
                    .iter()
                    .map(|n| token::scrub(n).into_owned())
                    .collect(),
                edits,
            }
        });
        outcome.findings.push(Finding {
            rule: draft.rule,
            severity,
            confidence: draft.confidence.unwrap_or(rule.confidence),
            path: path.to_string(),
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            message: token::scrub(&message).into_owned(),
            snippet,
            suggestion,
            fingerprint,
            span: display_span,
            credential: draft.credential,
            related: draft
                .related
                .into_iter()
                .map(|mut r| {
                    r.message = token::scrub(&r.message).into_owned();
                    r
                })
                .collect(),
            verification: None,
            commit: None,
        });
    }
    if !outcome.findings.is_empty() {
        outcome.redacted = Some(redacted);
        if has_edits {
            outcome.original = Some(Arc::from(text));
        }
        outcome.redactions = redactions;
    }
}

/// Longest snippet line shown whole. A minified bundle or a generated one-line file can hold a
/// token on a line of hundreds of megabytes; the snippet then shows a window around the span.
pub const MAX_SNIPPET_LINE: usize = 240;

/// The lines a span covers (at most five), trailing blanks trimmed, long lines cut to a window
/// around the span (marked with `…`).
fn snippet_of(text: &str, index: &LineIndex, span: Span) -> String {
    let first = index.line_of(span.start.min(text.len()));
    let last = index
        .line_of(span.end.saturating_sub(1).max(span.start).min(text.len()))
        .min(first + 4);
    (first..=last)
        .map(|l| {
            let line = index.line_span(text, l);
            let shown = window(text, line, &span);
            let trimmed = text[shown.clone()].trim_end();
            let mut out = String::with_capacity(trimmed.len() + 8);
            let cut_before = shown.start > index.line_span(text, l).start;
            let cut_after = shown.end < index.line_span(text, l).end;
            if cut_before {
                out.push('…');
            }
            out.push_str(trimmed);
            if cut_after {
                out.push('…');
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The part of `line` a snippet shows: all of it when short, else [`MAX_SNIPPET_LINE`] bytes
/// starting a little before the span (or the line's start, for lines the span only crosses).
fn window(text: &str, line: Span, span: &Span) -> Span {
    if line.len() <= MAX_SNIPPET_LINE {
        return line;
    }
    let lead = MAX_SNIPPET_LINE / 4;
    let from = if span.start > line.start && span.start < line.end {
        span.start.saturating_sub(lead).max(line.start)
    } else {
        line.start
    };
    let start = crate::source::floor_char_boundary(text, from);
    let end = crate::source::floor_char_boundary(text, (start + MAX_SNIPPET_LINE).min(line.end));
    start..end.max(start)
}

/// Stable identity of a finding: rule, file, what the line says (redacted), and which
/// occurrence of that text it is. Line numbers play no part, so moving code keeps it.
fn fingerprint(rule: &str, path: &str, identity: &str, occurrence: usize) -> String {
    let mut hasher = Sha256::new();
    for part in [rule, path, identity, &occurrence.to_string()] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Files over the size limit are not parsed; they are swept for `npm_` tokens chunk by chunk,
/// with a note saying so.
fn sweep_large_file(
    candidate: &Candidate,
    mut file: File,
    size: u64,
    settings: &ScanSettings,
) -> FileOutcome {
    let display = candidate.display.as_str();
    let mut outcome = FileOutcome {
        scanned: true,
        ..FileOutcome::default()
    };
    if candidate.kind != FileKind::Other {
        outcome.notes.push(FileError {
            path: display.to_string(),
            line: None,
            message: format!(
                "{} is over the {} limit (--max-file-size): only swept for literal tokens",
                human_size(size),
                human_size(settings.max_file_size)
            ),
        });
    }
    if !settings.checks.rule_enabled("hardcoded-token") {
        return outcome;
    }
    let Some(rule) = rules::get("hardcoded-token") else {
        return outcome;
    };
    let overlap = token::NPM_TOKEN_LEN;
    let mut buf = vec![0u8; SWEEP_CHUNK + overlap];
    let mut carried = 0usize;
    let mut line = 1usize;
    let mut column_base = 0usize;
    let mut first = true;
    loop {
        let read = match read_full(&mut file, &mut buf[carried..]) {
            Ok(n) => n,
            Err(e) => {
                outcome.errors.push(FileError {
                    path: display.to_string(),
                    line: None,
                    message: format!("cannot read: {}", io_reason(&e)),
                });
                break;
            }
        };
        let filled = carried + read;
        let at_eof = filled < buf.len();
        let chunk = &buf[..filled];
        if first && memchr::memchr(0, &chunk[..chunk.len().min(BINARY_PROBE)]).is_some() {
            return FileOutcome::default();
        }
        first = false;
        // A token starting in the last `overlap` bytes may run into the next chunk: that tail is
        // carried over and searched again, so each token is reported exactly once.
        let consumed_to = if at_eof { filled } else { filled - overlap };
        let mut cursor = 0usize;
        for found in token::find_npm_tokens(chunk) {
            if found.span.start >= consumed_to {
                continue;
            }
            if let Some(last_nl) = memchr::memrchr(b'\n', &chunk[cursor..found.span.start]) {
                line += memchr::memchr_iter(b'\n', &chunk[cursor..found.span.start]).count();
                column_base = 0;
                cursor += last_nl + 1;
            }
            let column = column_base + (found.span.start - cursor) + 1;
            if !found.checksum_valid {
                continue;
            }
            let secret = String::from_utf8_lossy(&chunk[found.span.clone()]).into_owned();
            let shown = token::redact(&secret, SecretKind::Token);
            outcome.findings.push(Finding {
                rule: "hardcoded-token",
                severity: settings
                    .severity_overrides
                    .get("hardcoded-token")
                    .copied()
                    .unwrap_or(rule.severity),
                confidence: Confidence::High,
                path: display.to_string(),
                line,
                column,
                end_line: line,
                end_column: column + token::NPM_TOKEN_LEN - 1,
                message: rule.render_message(Some("npm-token"), &[]),
                fingerprint: fingerprint("hardcoded-token", display, &shown, 0),
                snippet: shown,
                suggestion: None,
                span: 0..0,
                // Not tied to any registry: npm's own is where it would work.
                credential: Some(crate::credential::Credential::for_default_registry(&secret)),
                related: Vec::new(),
                verification: None,
                commit: None,
            });
        }
        if let Some(last_nl) = memchr::memrchr(b'\n', &chunk[cursor..consumed_to]) {
            line += memchr::memchr_iter(b'\n', &chunk[cursor..consumed_to]).count();
            column_base = consumed_to - (cursor + last_nl + 1);
        } else {
            column_base += consumed_to - cursor;
        }
        if at_eof {
            break;
        }
        buf.copy_within(consumed_to..filled, 0);
        carried = filled - consumed_to;
    }
    outcome
        .findings
        .retain(|f| f.severity >= settings.min_severity);
    outcome
}

/// `1.5 MiB`, `512 KiB`, `100 B`.
fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    match bytes {
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= KIB => format!("{:.1} KiB", b as f64 / KIB as f64),
        b => format!("{b} B"),
    }
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut total = 0;
    while total < buf.len() {
        match file.read(&mut buf[total..]) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// Scans one in-memory file as if it were at `path` (rule examples, staged blobs).
pub fn scan_text(path: &str, text: &str, settings: &ScanSettings) -> FileOutcome {
    let p = Path::new(path);
    let candidate = Candidate {
        fs_path: p.to_path_buf(),
        display: discover::display_path(p),
        kind: discover::classify(p).unwrap_or(FileKind::Other),
        named: true,
        root: 0,
    };
    scan_bytes(&candidate, text.as_bytes(), settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_of_huge_lines_are_a_window_around_the_span() {
        let text = format!("a\n{}TOKEN{}\nb", "é".repeat(5000), "x".repeat(5000));
        let index = LineIndex::new(&text);
        let at = text.find("TOKEN").unwrap_or(0);
        let snippet = snippet_of(&text, &index, at..at + 5);
        assert!(snippet.contains("TOKEN"), "{snippet}");
        assert!(snippet.starts_with('…') && snippet.ends_with('…'));
        assert!(snippet.len() <= MAX_SNIPPET_LINE + 8, "{}", snippet.len());
        let short = snippet_of(&text, &index, 0..1);
        assert_eq!(short, "a");
    }

    #[test]
    fn fingerprint_ignores_lines_but_not_occurrence() {
        let a = fingerprint("r", "p", "x = 1", 0);
        assert_eq!(a, fingerprint("r", "p", "x = 1", 0));
        assert_ne!(a, fingerprint("r", "p", "x = 1", 1));
        assert_eq!(a.len(), 32);
    }
}
