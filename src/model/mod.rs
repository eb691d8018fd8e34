//! The repository model: the files of one scan root (or, for named files, of their repository),
//! the references between them, and the cross-file facts the rules share.
//!
//! Built once per root after every file is read and before any rule runs: files found by name
//! come from the walk, files found by reference (a GitLab `include:`, an Azure `template:`, a
//! compose `build.dockerfile`, `docker build -f`, a GitHub `uses: ./path`) are read here, once,
//! with the kind the reference implies. After [`Model::link`] nothing reads a CI or build file
//! again; the few support files rules consult (`package.json`, `.yarnrc.yml`, release-tool
//! configs) are read on first use through [`Model::support`], at most once each.
//!
//! Nothing is ever read outside the model's root: a reference that leaves it (`../x.yml`, an
//! absolute path, a symbolic link pointing out), a missing file, an oversized one, a cycle or a
//! remote include becomes a note for that reference and the scan goes on.

pub mod refs;
pub mod release;
pub mod toolchain;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::discover::{self, Candidate, FileError, FileKind};
use crate::finding::Related;
use crate::parse::yaml::{self, Document};
use crate::source::{LineIndex, Span};

pub use refs::RefKind;
use refs::{Base, Target};

/// Support files (package.json, release configs, scripts) larger than this are not read.
const MAX_SUPPORT_FILE: u64 = 1024 * 1024;

/// At most this many files are added by reference to one model (a generated tree of includes
/// stops here, with a note).
const MAX_REFERENCED_FILES: usize = 2000;

/// One file of the model.
#[derive(Debug)]
pub struct ModelFile {
    /// Path relative to the model root, `/`-separated, normalized.
    pub rel: String,
    pub candidate: Candidate,
    pub bytes: Vec<u8>,
    /// Findings in this file are reported (false for context read for named files).
    pub reported: bool,
    /// How the file was first reached when not by its name.
    pub by_reference: Option<RefKind>,
    /// Folder (relative to the model root) that repository-relative paths of this file start
    /// from: above `.github/`, the folder holding `.git`, a `.gitlab-ci.yml`'s folder.
    pub repo_base: String,
    text: OnceLock<Option<Arc<str>>>,
    yaml: OnceLock<Option<Arc<Vec<Document>>>>,
    index: OnceLock<LineIndex>,
}

impl ModelFile {
    /// The text, when it is UTF-8 (BOM dropped).
    pub fn text(&self) -> Option<Arc<str>> {
        self.text
            .get_or_init(|| {
                let bytes = self
                    .bytes
                    .strip_prefix(b"\xEF\xBB\xBF")
                    .unwrap_or(&self.bytes);
                if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
                    return None;
                }
                std::str::from_utf8(bytes).ok().map(Arc::from)
            })
            .clone()
    }

    /// The YAML documents of a YAML kind, parsed once (`None` when it does not parse).
    pub fn yaml(&self) -> Option<Arc<Vec<Document>>> {
        self.yaml
            .get_or_init(|| {
                let text = self.text()?;
                yaml::parse(&text).ok().map(Arc::new)
            })
            .clone()
    }

    fn index(&self) -> Option<&LineIndex> {
        let text = self.text()?;
        Some(self.index.get_or_init(|| LineIndex::new(&text)))
    }
}

/// A reference from one file of the model to another.
#[derive(Debug, Clone)]
pub struct Reference {
    pub from: String,
    /// The path text in `from`.
    pub span: Span,
    pub to: String,
    pub kind: RefKind,
}

/// Whether the model is a whole scan root or the context of named files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A walked folder: every file is reported, files reached by reference too.
    Full,
    /// Named files (pre-commit, `--staged`): only they are reported; the rest is context.
    Named,
}

/// The model of one root.
#[derive(Debug)]
pub struct Model {
    /// The root on disk.
    pub root: PathBuf,
    real_root: Option<PathBuf>,
    /// How outputs spell the root (`""` for the current folder).
    display_root: String,
    mode: Mode,
    max_file_size: u64,
    files: BTreeMap<String, ModelFile>,
    refs: Vec<Reference>,
    notes: Vec<FileError>,
    support: Mutex<HashMap<String, Option<Arc<str>>>>,
}

impl Model {
    pub fn new(root: PathBuf, display_root: String, mode: Mode, max_file_size: u64) -> Model {
        Model {
            real_root: root.canonicalize().ok(),
            root,
            display_root,
            mode,
            max_file_size,
            files: BTreeMap::new(),
            refs: Vec::new(),
            notes: Vec::new(),
            support: Mutex::new(HashMap::new()),
        }
    }

    /// An empty model for content that has no folder (rule examples, in-memory scans).
    pub fn empty() -> Model {
        Model::new(PathBuf::new(), String::new(), Mode::Full, 0)
    }

    /// Adds a file read by the caller (from the walk, a named path or the git index).
    pub fn add(&mut self, rel: String, candidate: Candidate, bytes: Vec<u8>, reported: bool) {
        let repo_base = self.repo_base_of(&rel, candidate.kind, None);
        self.files.insert(
            rel.clone(),
            ModelFile {
                rel,
                candidate,
                bytes,
                reported,
                by_reference: None,
                repo_base,
                text: OnceLock::new(),
                yaml: OnceLock::new(),
                index: OnceLock::new(),
            },
        );
    }

    pub fn file(&self, rel: &str) -> Option<&ModelFile> {
        self.files.get(rel)
    }

    pub fn files(&self) -> impl Iterator<Item = &ModelFile> {
        self.files.values()
    }

    /// Notes about references that were not followed.
    pub fn take_notes(&mut self) -> Vec<FileError> {
        std::mem::take(&mut self.notes)
    }

    /// References out of `rel`.
    pub fn refs_from<'a>(&'a self, rel: &'a str) -> impl Iterator<Item = &'a Reference> + 'a {
        self.refs.iter().filter(move |r| r.from == rel)
    }

    /// References into `rel` (its callers, includers, the compose files that build it).
    pub fn refs_to<'a>(&'a self, rel: &'a str) -> impl Iterator<Item = &'a Reference> + 'a {
        self.refs.iter().filter(move |r| r.to == rel)
    }

    /// The reference written at `span` of `from`, if that text is one.
    pub fn reference_at(&self, from: &str, span: &Span) -> Option<&Reference> {
        self.refs
            .iter()
            .find(|r| r.from == from && r.span.start < span.end && span.start < r.span.end)
    }

    /// The display path of `rel`.
    pub fn display(&self, rel: &str) -> String {
        if let Some(f) = self.files.get(rel) {
            return f.candidate.display.clone();
        }
        join_display(&self.display_root, rel)
    }

    /// A related location at `span` of file `rel` of the model.
    pub fn related(&self, rel: &str, span: &Span, message: impl Into<String>) -> Related {
        let (line, column) = self
            .files
            .get(rel)
            .and_then(|f| {
                let text = f.text()?;
                let p = f.index()?.position(&text, span.start);
                Some((p.line, p.column))
            })
            .unwrap_or((1, 1));
        Related {
            path: self.display(rel),
            line,
            column,
            message: message.into(),
        }
    }

    /// A support file (`package.json`, `.nvmrc`, a release config, a script), at `rel` under
    /// the root: from the model when it is a scanned file, else read on first use, at most once.
    pub fn support(&self, rel: &str) -> Option<Arc<str>> {
        let rel = normalize(rel)?;
        if let Some(f) = self.files.get(&rel) {
            return f.text();
        }
        if self.root.as_os_str().is_empty() && self.real_root.is_none() {
            return None;
        }
        let mut cache = self.support.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = cache.get(&rel) {
            return hit.clone();
        }
        let text = self
            .safe_path(&rel)
            .ok()
            .filter(|p| {
                std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= MAX_SUPPORT_FILE)
            })
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(Arc::from);
        cache.insert(rel, text.clone());
        text
    }

    /// `name` in the repository folder of `from` (`package.json` beside `.github/`).
    pub fn repo_file(&self, from: &str, name: &str) -> Option<Arc<str>> {
        let base = self.files.get(from).map(|f| f.repo_base.as_str())?;
        self.support(&join_rel(base, name))
    }

    /// A related location at byte `offset` of `name`, a support file of `from`'s repository
    /// (the `.nvmrc` a workflow's `node-version-file` names).
    pub fn repo_related(
        &self,
        from: &str,
        name: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Option<Related> {
        let rel = normalize(&join_rel(self.repo_base(from)?, name))?;
        let text = self.support(&rel)?;
        let p = LineIndex::new(&text).position(&text, offset.min(text.len()));
        Some(Related {
            path: self.display(&rel),
            line: p.line,
            column: p.column,
            message: message.into(),
        })
    }

    /// The repository folder of `from`, relative to the root.
    pub fn repo_base(&self, from: &str) -> Option<&str> {
        self.files.get(from).map(|f| f.repo_base.as_str())
    }

    /// Where `rel` is on disk, when it stays inside the root (symbolic links included).
    fn safe_path(&self, rel: &str) -> Result<PathBuf, &'static str> {
        let path = self.root.join(rel);
        let meta = std::fs::symlink_metadata(&path).map_err(|_| "not found")?;
        if meta.file_type().is_symlink() || rel.contains('/') {
            let (Some(real_root), Ok(real)) = (&self.real_root, path.canonicalize()) else {
                return Err("not found");
            };
            if !real.starts_with(real_root) {
                return Err("a symbolic link out of the scan root");
            }
        }
        Ok(path)
    }

    /// The folder that repository-relative paths of a file start from.
    fn repo_base_of(&self, rel: &str, kind: FileKind, referrer: Option<&str>) -> String {
        if let Some(r) = referrer.and_then(|r| self.files.get(r)) {
            return r.repo_base.clone();
        }
        if let Some(i) = rel
            .find(".github/")
            .filter(|i| *i == 0 || rel[..*i].ends_with('/'))
        {
            return rel[..i].trim_end_matches('/').to_string();
        }
        for folder in [".circleci/", ".buildkite/", ".woodpecker/"] {
            if let Some(i) = rel
                .find(folder)
                .filter(|i| *i == 0 || rel[..*i].ends_with('/'))
            {
                return rel[..i].trim_end_matches('/').to_string();
            }
        }
        let dir = parent_rel(rel);
        // The entry file of a CI system sits at its repository's root.
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let entry = matches!(
            name,
            ".gitlab-ci.yml"
                | ".gitlab-ci.yaml"
                | ".travis.yml"
                | "bitbucket-pipelines.yml"
                | ".drone.yml"
                | ".drone.yaml"
                | ".woodpecker.yml"
                | ".woodpecker.yaml"
                | ".onedev-buildspec.yml"
        ) || name.starts_with("azure-pipelines")
            || kind == FileKind::Jenkinsfile;
        if kind.is_ci() && entry {
            return dir;
        }
        // The nearest folder holding `.git`, inside the root.
        let mut d = dir.clone();
        loop {
            if !self.root.as_os_str().is_empty() && self.root.join(&d).join(".git").exists() {
                return d;
            }
            if d.is_empty() {
                break;
            }
            d = parent_rel(&d);
        }
        String::new()
    }

    /// Follows every reference of every file, reading the files reached, until nothing new is
    /// found.
    pub fn link(&mut self) {
        let mut queue: Vec<String> = self.files.keys().cloned().collect();
        let mut added = 0usize;
        let mut warned_limit = false;
        while let Some(from) = queue.pop() {
            let Some(file) = self.files.get(&from) else {
                continue;
            };
            let kind = file.candidate.kind;
            if !(kind.is_ci() || kind == FileKind::Compose) {
                continue;
            }
            let reported = file.reported;
            let (Some(docs), Some(text)) = (file.yaml(), file.text()) else {
                continue;
            };
            for raw in refs::extract(kind, &docs, &text) {
                let path = match &raw.target {
                    Target::Remote(what) => {
                        if reported {
                            self.note(
                                &from,
                                &raw.span,
                                format!("{what}: in another repository, not read; judged by what is passed to it"),
                            );
                        }
                        continue;
                    }
                    Target::Local { path, base } => (path.clone(), base.clone()),
                };
                let wildcard = raw.kind == RefKind::GitlabInclude && path.0.contains('*');
                let resolved = if wildcard {
                    self.expand_wildcard(&from, &path.0)
                } else {
                    self.resolve(&from, raw.kind, &path.0, &path.1)
                        .map(|to| vec![to])
                };
                let tos = match resolved {
                    Ok(tos) => tos,
                    Err(why) => {
                        if reported && !raw.implicit {
                            self.note(
                                &from,
                                &raw.span,
                                format!("{} {}: {why}; not followed", raw.kind.describe(), path.0),
                            );
                        }
                        continue;
                    }
                };
                for to in tos {
                    if to == from && wildcard {
                        // `**/*.yml` matches the including file too; GitLab reads it once.
                        continue;
                    }
                    if to == from {
                        if reported {
                            self.note(
                                &from,
                                &raw.span,
                                format!(
                                    "{} {} refers to this file itself; not followed",
                                    raw.kind.describe(),
                                    path.0
                                ),
                            );
                        }
                        continue;
                    }
                    let from_base = self
                        .files
                        .get(&from)
                        .map(|r| r.repo_base.clone())
                        .unwrap_or_default();
                    if let Some(f) = self.files.get_mut(&to) {
                        // A named file of no known kind (`ci/publish.yml`) is what its reference says.
                        if f.candidate.kind == FileKind::Other {
                            f.candidate.kind = raw.kind.implied_kind();
                            f.by_reference = Some(raw.kind);
                            f.repo_base = from_base;
                            queue.push(to.clone());
                        }
                    } else {
                        if added >= MAX_REFERENCED_FILES {
                            if !warned_limit && reported {
                                warned_limit = true;
                                self.note(
                                &from,
                                &raw.span,
                                format!("more than {MAX_REFERENCED_FILES} files reached by reference: the rest are not followed"),
                            );
                            }
                            continue;
                        }
                        match self.read_referenced(&from, &to, raw.kind) {
                            Ok(()) => {
                                added += 1;
                                queue.push(to.clone());
                            }
                            Err(why) => {
                                if reported && !raw.implicit {
                                    self.note(
                                        &from,
                                        &raw.span,
                                        format!(
                                            "{} {}: {why}; not followed",
                                            raw.kind.describe(),
                                            path.0
                                        ),
                                    );
                                }
                                continue;
                            }
                        }
                    }
                    self.refs.push(Reference {
                        from: from.clone(),
                        span: raw.span.clone(),
                        to,
                        kind: raw.kind,
                    });
                }
            }
        }
        self.refs
            .sort_by(|a, b| (&a.from, a.span.start).cmp(&(&b.from, b.span.start)));
        self.refs
            .dedup_by(|a, b| a.from == b.from && a.span == b.span && a.to == b.to);
        self.note_cycles();
    }

    /// A reference cycle (a template including a file that includes it back) is followed once;
    /// a note names it.
    fn note_cycles(&mut self) {
        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for r in &self.refs {
            edges.entry(&r.from).or_default().insert(&r.to);
        }
        let mut found: Vec<(String, Span, String)> = Vec::new();
        for r in &self.refs {
            // Is `r.from` reachable from `r.to`? Then this edge closes a cycle.
            let mut stack = vec![r.to.as_str()];
            let mut seen = BTreeSet::new();
            while let Some(n) = stack.pop() {
                if n == r.from {
                    found.push((r.from.clone(), r.span.clone(), r.to.clone()));
                    break;
                }
                if seen.insert(n) {
                    stack.extend(edges.get(n).into_iter().flatten().copied());
                }
            }
        }
        for (from, span, to) in found {
            if self.files.get(&from).is_some_and(|f| f.reported) {
                let to = self.display(&to);
                self.note(
                    &from,
                    &span,
                    format!("reference to {to} is part of a cycle: each file is read once"),
                );
            }
        }
    }

    fn note(&mut self, from: &str, span: &Span, message: String) {
        let related = self.related(from, span, "");
        self.notes.push(FileError {
            path: related.path,
            line: Some(related.line),
            message: crate::token::scrub(&message).into_owned(),
        });
    }

    /// The model path a reference of `from` names.
    fn resolve(
        &self,
        from: &str,
        kind: RefKind,
        path: &str,
        base: &Base,
    ) -> Result<String, String> {
        let absolute = path.starts_with('/') || path.starts_with('\\') || path.contains(":\\");
        let dir = match base {
            Base::Repo => {
                if absolute && matches!(kind, RefKind::DockerBuildFile) {
                    return Err("an absolute path, outside the repository".into());
                }
                self.files
                    .get(from)
                    .map(|f| f.repo_base.clone())
                    .unwrap_or_default()
            }
            Base::FileDir(sub) => {
                if absolute || sub.starts_with('/') {
                    return Err("an absolute path, outside the repository".into());
                }
                join_rel(&parent_rel(from), sub)
            }
        };
        let joined = join_rel(&dir, path.trim_start_matches('/'));
        let Some(rel) = normalize(&joined) else {
            return Err("outside the scan root".into());
        };
        match kind {
            RefKind::GithubAction if !is_yaml_name(&rel) => {
                let candidates = [join_rel(&rel, "action.yml"), join_rel(&rel, "action.yaml")];
                for c in &candidates {
                    if self.files.contains_key(c) || self.safe_path(c).is_ok() {
                        return Ok(c.clone());
                    }
                }
                if self.root.join(&rel).join("Dockerfile").exists() {
                    return Err("a Docker container action (no action.yml)".into());
                }
                Err("no action.yml there".into())
            }
            _ => Ok(rel),
        }
    }

    /// The files a wildcard `include: local:` names (`ci/*.yml`, `**/*.gitlab-ci.yml`), as
    /// GitLab matches them: from the repository folder, `*` within one folder, `**` across
    /// folders; only YAML files, sorted. Symbolic links, `.git/` and `node_modules/` are not
    /// entered.
    fn expand_wildcard(&self, from: &str, pattern: &str) -> Result<Vec<String>, String> {
        const MAX_VISITED: usize = 20_000;
        let pattern = pattern.trim().trim_start_matches('/');
        if normalize(pattern).is_none() || pattern.split('/').any(|p| p == "..") {
            return Err("outside the scan root".into());
        }
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("not a valid wildcard ({e})"))?
            .compile_matcher();
        let base = self
            .files
            .get(from)
            .map(|f| f.repo_base.clone())
            .unwrap_or_default();
        // Walk from the part of the pattern before its first wildcard.
        let literal: Vec<&str> = pattern
            .split('/')
            .take_while(|p| !p.contains(['*', '?', '[', '{']))
            .collect();
        let start = join_rel(&base, &literal.join("/"));
        let mut out = Vec::new();
        let mut stack = vec![start];
        let mut visited = 0usize;
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(self.root.join(&dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                visited += 1;
                if visited > MAX_VISITED {
                    return Err(format!("more than {MAX_VISITED} paths under the wildcard"));
                }
                let Ok(ft) = entry.file_type() else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = join_rel(&dir, &name);
                if ft.is_dir() {
                    if name != ".git" && name != "node_modules" {
                        stack.push(rel);
                    }
                } else if ft.is_file() && is_yaml_name(&rel) {
                    let in_repo = rel
                        .strip_prefix(&base)
                        .map(|r| r.trim_start_matches('/'))
                        .unwrap_or(&rel);
                    if glob.is_match(in_repo) {
                        out.push(rel);
                    }
                }
            }
        }
        if out.is_empty() {
            return Err("matches no file".into());
        }
        out.sort();
        Ok(out)
    }

    fn read_referenced(&mut self, from: &str, to: &str, kind: RefKind) -> Result<(), String> {
        let path = self.safe_path(to).map_err(str::to_string)?;
        let meta = std::fs::metadata(&path).map_err(|_| "not found".to_string())?;
        if !meta.is_file() {
            return Err("not a file".into());
        }
        if meta.len() > self.max_file_size {
            return Err(format!("{} bytes, over the size limit", meta.len()));
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read: {e}"))?;
        let file_kind = discover::classify(Path::new(to))
            .filter(|k| *k != FileKind::Other)
            .unwrap_or(kind.implied_kind());
        let root_index = self.files.get(from).map(|f| f.candidate.root).unwrap_or(0);
        let candidate = Candidate {
            fs_path: path,
            display: join_display(&self.display_root, to),
            kind: file_kind,
            named: false,
            root: root_index,
        };
        let repo_base = self.repo_base_of(to, file_kind, Some(from));
        self.files.insert(
            to.to_string(),
            ModelFile {
                rel: to.to_string(),
                candidate,
                bytes,
                reported: self.mode == Mode::Full,
                by_reference: Some(kind),
                repo_base,
                text: OnceLock::new(),
                yaml: OnceLock::new(),
                index: OnceLock::new(),
            },
        );
        Ok(())
    }
}

fn is_yaml_name(rel: &str) -> bool {
    rel.ends_with(".yml") || rel.ends_with(".yaml")
}

/// `a/b` of `a/b/c`; `""` for a top-level name.
pub fn parent_rel(rel: &str) -> String {
    rel.rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
}

pub fn join_rel(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else if name.is_empty() {
        dir.to_string()
    } else {
        format!("{}/{}", dir.trim_end_matches('/'), name)
    }
}

fn join_display(root: &str, rel: &str) -> String {
    if root.is_empty() || root == "." {
        rel.to_string()
    } else {
        format!("{}/{}", root.trim_end_matches('/'), rel)
    }
}

/// `a/./b/../c` → `a/c`; `None` when it climbs above the start.
pub fn normalize(rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in rel.split(['/', '\\']) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// `path` relative to `root`, `/`-separated, when it is under it.
pub fn rel_of(root: &Path, path: &Path) -> Option<String> {
    let rest = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rest
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    Some(parts.join("/"))
}

/// The repository a named file belongs to: the nearest folder above it holding `.git`, else the
/// working folder when the file is under it, else the file's own folder. Returns the root and
/// the file's path relative to it.
pub fn repository_of(file: &Path) -> Option<(PathBuf, String)> {
    let real = file.canonicalize().ok()?;
    let parent = real.parent()?;
    let git = parent.ancestors().find(|d| d.join(".git").exists());
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|c| c.canonicalize().ok())
        .filter(|c| real.starts_with(c));
    let dir = git
        .map(Path::to_path_buf)
        .or(cwd)
        .unwrap_or(parent.to_path_buf());
    let rel = rel_of(&dir, &real)?;
    Some((dir, rel))
}

/// How outputs spell a repository root found above a named file: the typed display path minus
/// the file's path in the repository (`repo/.github/workflows/x.yml` → `repo`), else the
/// absolute root.
pub fn display_root_for(display: &str, rel: &str, root: &Path) -> String {
    if display == rel {
        return String::new();
    }
    if let Some(prefix) = display.strip_suffix(&format!("/{rel}")) {
        return prefix.to_string();
    }
    discover::display_path(root)
}

/// A file reader over `(name, text)` pairs, for the resolvers' unit tests.
#[cfg(test)]
pub(crate) fn test_reader(files: &[(&str, &str)]) -> impl Fn(&str) -> Option<Arc<str>> {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    move |name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| Arc::from(t.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_keeps_inside_and_refuses_escape() {
        assert_eq!(normalize("a/./b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("./x.yml").as_deref(), Some("x.yml"));
        assert_eq!(normalize("../x.yml"), None);
        assert_eq!(normalize("a/../../x"), None);
    }

    #[test]
    fn display_roots() {
        let root = Path::new("/r");
        assert_eq!(display_root_for(".github/w.yml", ".github/w.yml", root), "");
        assert_eq!(
            display_root_for("repo/.github/w.yml", ".github/w.yml", root),
            "repo"
        );
        assert_eq!(
            display_root_for("elsewhere.yml", ".github/w.yml", root),
            "/r"
        );
    }
}
