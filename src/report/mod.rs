//! The audit report: many scans (JSON reports, or this run's roots) merged into one [`Audit`],
//! with per repository the migration checklist grouped by what the owner has to do. Rendered as
//! one self-contained HTML page ([`html`]) or Markdown for a comment or a job summary
//! ([`markdown`]). Renderers are pure; loading inputs is the only I/O here.

pub mod html;
pub mod markdown;
pub mod repository;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::finding::{Applicability, Severity};
use crate::scan::Report;
pub use repository::Repository;

/// What the owner of a finding has to do, in the order the checklist shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Revoke,
    TrustedPublishing,
    BuildSecrets,
    CiSecrets,
    Config,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Revoke,
        Action::TrustedPublishing,
        Action::BuildSecrets,
        Action::CiSecrets,
        Action::Config,
    ];

    /// The checklist group a rule's findings go to.
    pub fn of_rule(rule: &str) -> Action {
        match rule {
            "hardcoded-token" | "basic-auth-credential" => Action::Revoke,
            "ci-publish-long-lived-token"
            | "oidc-token-still-set"
            | "trusted-publishing-misconfigured" => Action::TrustedPublishing,
            "ci-token-in-docker-build-arg" => Action::BuildSecrets,
            r if r.starts_with("dockerfile-") || r.starts_with("compose-") => Action::BuildSecrets,
            "env-token-reference" | "ci-token-written-to-npmrc" | "npm-login-in-automation" => {
                Action::CiSecrets
            }
            _ => Action::Config,
        }
    }

    pub fn heading(self) -> &'static str {
        match self {
            Action::Revoke => "Revoke and delete these committed credentials",
            Action::TrustedPublishing => "Move these publish jobs to trusted publishing",
            Action::BuildSecrets => "Switch these Dockerfiles and compose files to build secrets",
            Action::CiSecrets => "Replace these CI secrets with read-only granular tokens",
            Action::Config => "Fix these configuration lines",
        }
    }

    /// What to know before starting on the group (agrees with the facts file, section 10).
    pub fn advice(self) -> &'static str {
        match self {
            Action::Revoke => {
                "An npm_ token may still be live: revoke it first, on npmjs.com (Access Tokens) or \
                 with `npm token revoke <token-id>` from a logged-in session (`npm token list` shows \
                 the id; a bypass-2FA token cannot revoke tokens since 2026-08-03, npm docs), then delete it \
                 from the file and from the git history. A token of another registry is rotated in \
                 that registry's own administration. Classic (UUID) npmjs.org tokens were revoked by \
                 npm on 2025-12-09 (npm changelog): only the line remains to delete."
            }
            Action::TrustedPublishing => {
                "Trusted publishing (OIDC) needs npm >= 11.5.1 and Node >= 22.14.0 and works from \
                 GitHub Actions (GitHub-hosted runners), GitLab.com shared runners and CircleCI \
                 cloud (docs.npmjs.com/trusted-publishers, as of 2026-09-16); register each job with its `npm trust` command. Elsewhere, publish with \
                 a stage-only granular token and `npm stage publish` (npm >= 11.20.0, 2026-09-21), \
                 approved by a maintainer with 2FA: bypass-2FA tokens stop publishing directly \
                 around January 2027 (npm changelog, 2026-07-07)."
            }
            Action::BuildSecrets => {
                "Pass the token as a BuildKit secret (`RUN --mount=type=secret`, compose \
                 `build.secrets`, `docker build --secret`): build arguments and ENV stay in the \
                 image history and layers."
            }
            Action::CiSecrets => {
                "Installs need read-only access only: replace each stored token with a granular \
                 token (`npm token create --packages-and-scopes-permission=read-only \
                 --expires=90`), and write no token into files on the runner."
            }
            Action::Config => {
                "Settings that npm ignores, rejects or reads differently from what the file says."
            }
        }
    }

    /// A stable id for anchors and CSS classes.
    pub fn slug(self) -> &'static str {
        match self {
            Action::Revoke => "revoke",
            Action::TrustedPublishing => "trusted-publishing",
            Action::BuildSecrets => "build-secrets",
            Action::CiSecrets => "ci-secrets",
            Action::Config => "config",
        }
    }
}

/// A finding as the report needs it (from a JSON report or from this run).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Item {
    pub rule: String,
    pub severity: Severity,
    pub path: String,
    pub line: usize,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub snippet: String,
    #[serde(default)]
    pub suggestion: Option<ItemSuggestion>,
    /// Where a history scan (`--history`) found it.
    #[serde(default)]
    pub commit: Option<ItemCommit>,
}

/// The commit of a finding of a history scan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ItemCommit {
    pub id: String,
    #[serde(default)]
    pub in_head: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ItemSuggestion {
    pub title: String,
    pub applicability: Applicability,
    #[serde(default)]
    pub diff: String,
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A file that could not be scanned, as the JSON `errors` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ItemError {
    pub path: String,
    #[serde(default)]
    pub line: Option<usize>,
    #[serde(default)]
    pub message: String,
}

/// One scanned repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repo {
    pub repository: Repository,
    /// The scan root as typed, which every path of this repository starts with ("" for `.`).
    pub root: String,
    pub files_scanned: usize,
    pub findings: Vec<Item>,
    pub errors: Vec<ItemError>,
}

/// Where a checklist item applies: one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place<'a> {
    pub item: &'a Item,
    /// The finding's path relative to the repository's top.
    pub path: &'a str,
    pub link: Option<String>,
}

/// One thing to do: a credential to revoke, a job to move, a file to rewrite.
#[derive(Debug, Clone)]
pub struct Task<'a> {
    pub title: String,
    pub severity: Severity,
    pub places: Vec<Place<'a>>,
    /// Distinct suggested diffs, with their applicability.
    pub diffs: Vec<(&'a str, Applicability)>,
    /// Distinct notes (commands to run) of the places' suggestions.
    pub notes: Vec<Cow<'a, str>>,
}

/// A repository's checklist: its tasks by action, in [`Action::ALL`] order, empty groups left out.
pub type Checklist<'a> = Vec<(Action, Vec<Task<'a>>)>;

impl Repo {
    /// A path of this repository relative to its top (the scan root stripped).
    pub fn relative<'a>(&self, path: &'a str) -> &'a str {
        if self.root.is_empty() {
            return path;
        }
        path.strip_prefix(self.root.as_str())
            .map(|p| p.trim_start_matches('/'))
            .filter(|p| !p.is_empty())
            .unwrap_or(path)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The migration checklist.
    pub fn checklist(&self) -> Checklist<'_> {
        let mut groups: BTreeMap<Action, Vec<Task<'_>>> = BTreeMap::new();
        let mut index: HashMap<(Action, TaskKey<'_>), usize> = HashMap::new();
        for f in &self.findings {
            let action = Action::of_rule(&f.rule);
            let path = self.relative(&f.path);
            let key = task_key(action, f, path);
            let tasks = groups.entry(action).or_default();
            let at = *index.entry((action, key)).or_insert_with(|| {
                tasks.push(Task {
                    title: key.title(f, path),
                    severity: f.severity,
                    places: Vec::new(),
                    diffs: Vec::new(),
                    notes: Vec::new(),
                });
                tasks.len() - 1
            });
            let task = &mut tasks[at];
            task.severity = task.severity.max(f.severity);
            // A credential only in the history is linked at the commit that holds it.
            let link = match &f.commit {
                Some(c) if !c.in_head => repository::file_link(
                    &Repository {
                        commit: Some(c.id.clone()),
                        ..self.repository.clone()
                    },
                    path,
                    f.line,
                ),
                _ => repository::file_link(&self.repository, path, f.line),
            };
            task.places.push(Place {
                item: f,
                path,
                link,
            });
            if let Some(s) = &f.suggestion {
                if !s.diff.is_empty() && !task.diffs.iter().any(|(d, _)| *d == s.diff) {
                    task.diffs.push((&s.diff, s.applicability));
                }
                for n in &s.notes {
                    let n = self.fill_repository(n);
                    if !task.notes.contains(&n) {
                        task.notes.push(n);
                    }
                }
            }
        }
        groups.into_iter().collect()
    }

    /// An `npm trust` line with the repository left open (`--repo <owner>/<repo>`: the package's
    /// manifest did not say) gets the repository's name, when it is hosted where that command's
    /// CI system runs.
    fn fill_repository<'a>(&self, note: &'a str) -> Cow<'a, str> {
        const OPEN: &str = "<owner>/<repo>";
        let host = self
            .repository
            .url
            .as_deref()
            .and_then(|u| u.split_once("://"))
            .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
        let fits = (note.contains("npm trust github ") && host.contains("github"))
            || (note.contains("npm trust gitlab ") && host.contains("gitlab"));
        if fits && note.contains(OPEN) {
            Cow::Owned(note.replace(OPEN, &self.repository.name))
        } else {
            Cow::Borrowed(note)
        }
    }
}

/// The redacted form of a token in a snippet (`npm_****...dH1k`), which tells the uses of one
/// credential apart from another's.
fn redacted_token(snippet: &str) -> Option<&str> {
    let at = snippet.find("****...")?;
    let tail = snippet.get(at + 7..at + 11)?;
    if !tail.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let start = ["npm_", "NpmToken."]
        .into_iter()
        .find(|p| snippet[..at].ends_with(p))
        .map_or(at, |p| at - p.len());
    snippet.get(start..at + 11)
}

/// The identity of the task a finding belongs to. A credential is one task wherever it is used;
/// elsewhere one suggestion (one rewrite of one file) is one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TaskKey<'a> {
    /// An `npm_` token (its redacted form), or another token in one file.
    Token(&'a str, Option<&'a str>),
    /// A credential that shows no redacted form (a password): one task per finding.
    Secret(&'a str, usize, &'a str),
    /// One rewrite (path, diff), whichever findings it settles.
    Rewrite(&'a str, &'a str),
    /// A finding without a diff.
    Finding(&'a str, usize, &'a str),
}

impl TaskKey<'_> {
    fn title(&self, f: &Item, path: &str) -> String {
        match self {
            TaskKey::Token(token, _) => format!("Revoke `{token}`"),
            TaskKey::Secret(..) => format!("Rotate the credential at {path}:{}", f.line),
            TaskKey::Rewrite(..) => format!(
                "{path}: {}",
                f.suggestion.as_ref().map_or(f.rule.as_str(), |s| &s.title)
            ),
            TaskKey::Finding(..) => format!(
                "{path}:{}: {}",
                f.line,
                f.suggestion.as_ref().map_or(f.rule.as_str(), |s| &s.title)
            ),
        }
    }
}

fn task_key<'a>(action: Action, f: &'a Item, path: &'a str) -> TaskKey<'a> {
    if action == Action::Revoke {
        // An `npm_` token's last four characters tell it apart (checksummed, random); a UUID or
        // another registry's token is one task per file, so two registries never share one.
        return match redacted_token(&f.snippet) {
            Some(token) if token.starts_with("npm_") => TaskKey::Token(token, None),
            Some(token) => TaskKey::Token(token, Some(path)),
            None => TaskKey::Secret(path, f.line, &f.rule),
        };
    }
    match &f.suggestion {
        Some(s) if !s.diff.is_empty() => TaskKey::Rewrite(path, &s.diff),
        _ => TaskKey::Finding(path, f.line, &f.rule),
    }
}

/// Many repositories, and the inputs that could not be read.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    pub repos: Vec<Repo>,
    /// `input: why` for each input that could not be used.
    pub problems: Vec<String>,
}

/// The figures of the summary cards and the chart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub repositories: usize,
    pub with_findings: usize,
    pub credentials: usize,
    pub publish_jobs: usize,
    pub findings: usize,
    pub files_scanned: usize,
    pub unscanned_files: usize,
    pub by_severity: [usize; 5],
    /// Findings per rule, most first.
    pub by_rule: Vec<(String, usize)>,
}

/// Per repository: findings by severity and the counts of the summary cards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoTotals {
    pub by_severity: [usize; 5],
    pub credentials: usize,
    pub publish_jobs: usize,
}

impl Audit {
    /// Every repository's checklist, in `repos` order (built in parallel).
    pub fn checklists(&self) -> Vec<Checklist<'_>> {
        self.repos.par_iter().map(Repo::checklist).collect()
    }

    pub fn repo_totals(&self, lists: &[Checklist<'_>]) -> Vec<RepoTotals> {
        self.repos
            .iter()
            .zip(lists)
            .map(|(r, list)| {
                let mut t = RepoTotals::default();
                for f in &r.findings {
                    t.by_severity[f.severity as usize] += 1;
                }
                for (action, tasks) in list {
                    match action {
                        Action::Revoke => t.credentials = tasks.len(),
                        Action::TrustedPublishing => t.publish_jobs = tasks.len(),
                        _ => {}
                    }
                }
                t
            })
            .collect()
    }

    pub fn totals(&self, per_repo: &[RepoTotals]) -> Totals {
        let mut t = Totals {
            repositories: self.repos.len(),
            ..Totals::default()
        };
        let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
        for (r, rt) in self.repos.iter().zip(per_repo) {
            t.with_findings += usize::from(!r.findings.is_empty());
            t.findings += r.findings.len();
            t.files_scanned += r.files_scanned;
            t.unscanned_files += r.errors.len();
            t.credentials += rt.credentials;
            t.publish_jobs += rt.publish_jobs;
            for (i, n) in rt.by_severity.iter().enumerate() {
                t.by_severity[i] += n;
            }
            for f in &r.findings {
                *by_rule.entry(&f.rule).or_default() += 1;
            }
        }
        t.by_rule = by_rule
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        t.by_rule
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        t
    }

    /// Repository indices in checklist order: the most severe first, then most findings, then by
    /// name (a truncated Markdown report keeps what matters most).
    pub fn checklist_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.repos.len())
            .filter(|&i| !self.repos[i].findings.is_empty() || !self.repos[i].errors.is_empty())
            .collect();
        order.sort_by(|&a, &b| {
            let (ra, rb) = (&self.repos[a], &self.repos[b]);
            rb.max_severity()
                .cmp(&ra.max_severity())
                .then_with(|| rb.findings.len().cmp(&ra.findings.len()))
                .then_with(|| ra.repository.name.cmp(&rb.repository.name))
        });
        order
    }

    /// This run's report, one repository per scan root. Findings outside every root (`--user`
    /// configs) go to the first.
    pub fn from_scan(report: &Report) -> Audit {
        let mut repos: Vec<Repo> = Vec::new();
        for r in &report.roots {
            let repository = r.repository.clone().unwrap_or_else(|| Repository {
                name: r.root.clone(),
                ..Repository::default()
            });
            // Named files (pre-commit) are paths from the working directory: one repository.
            let root = if Path::new(&r.root).is_file() {
                String::new()
            } else {
                root_prefix(&r.root)
            };
            match repos
                .iter_mut()
                .find(|p| p.repository == repository && p.root == root)
            {
                Some(same) => same.files_scanned += r.files_scanned,
                None => repos.push(Repo {
                    repository,
                    root,
                    files_scanned: r.files_scanned,
                    ..Repo::default()
                }),
            }
        }
        if repos.is_empty() {
            repos.push(Repo::default());
        }
        for f in &report.findings {
            let at = owner_of(&repos, &f.path);
            repos[at].findings.push(Item {
                rule: f.rule.to_string(),
                severity: f.severity,
                path: f.path.clone(),
                line: f.line,
                message: f.message.clone(),
                snippet: f.snippet.clone(),
                suggestion: f.suggestion.as_ref().map(|s| ItemSuggestion {
                    title: s.title.clone(),
                    applicability: s.applicability,
                    diff: s.diff.clone(),
                    notes: s.notes.clone(),
                }),
                commit: f.commit.as_ref().map(|c| ItemCommit {
                    id: c.id.clone(),
                    in_head: c.in_head,
                }),
            });
        }
        for e in &report.errors {
            let at = owner_of(&repos, &e.path);
            repos[at].errors.push(ItemError {
                path: e.path.clone(),
                line: e.line,
                message: e.message.clone(),
            });
        }
        Audit {
            repos,
            problems: Vec::new(),
        }
    }

    /// Adds the repositories of one JSON report (`label`: the input's name, used when the report
    /// does not name its repository).
    pub fn add_json(&mut self, label: &str, text: &str) -> Result<(), String> {
        let doc: InputDoc = serde_json::from_str(text)
            .map_err(|e| format!("not an npm-auth-scan JSON report: {e}"))?;
        if doc.version != crate::output::json::VERSION {
            return Err(format!(
                "JSON report version {} (this version reads {})",
                doc.version,
                crate::output::json::VERSION
            ));
        }
        let fallback = || Repository {
            name: label.to_string(),
            ..Repository::default()
        };
        let mut repos: Vec<Repo> = match doc.roots {
            Some(roots) if !roots.is_empty() => roots
                .into_iter()
                .map(|r| Repo {
                    repository: r.repository.unwrap_or_else(|| Repository {
                        name: format!("{label}: {}", r.path),
                        ..Repository::default()
                    }),
                    root: root_prefix(&r.path),
                    files_scanned: r.files_scanned,
                    ..Repo::default()
                })
                .collect(),
            _ => vec![Repo {
                repository: doc.repository.unwrap_or_else(fallback),
                files_scanned: doc.summary.map_or(0, |s| s.files_scanned),
                ..Repo::default()
            }],
        };
        for r in &mut repos {
            sanitize(&mut r.repository);
        }
        for mut f in doc.findings {
            if f.commit
                .as_ref()
                .is_some_and(|c| c.id.is_empty() || !c.id.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                f.commit = None;
            }
            let at = owner_of(&repos, &f.path);
            repos[at].findings.push(f);
        }
        for e in doc.errors {
            let at = owner_of(&repos, &e.path);
            repos[at].errors.push(e);
        }
        self.repos.extend(repos);
        Ok(())
    }

    /// Reads every input (a JSON report, or a folder: every `*.json` below it, as artifact
    /// downloads lay them out); an input that cannot be used becomes a problem, the rest go on.
    pub fn load(inputs: &[PathBuf]) -> Audit {
        let mut audit = Audit::default();
        let mut files = Vec::new();
        for input in inputs {
            if input.is_dir() {
                let before = files.len();
                json_files_below(input, &mut files);
                if files.len() == before {
                    audit.problems.push(format!(
                        "{}: no .json report in this folder",
                        crate::discover::display_path(input)
                    ));
                }
            } else {
                files.push(input.clone());
            }
        }
        for file in files {
            let shown = crate::discover::display_path(&file);
            let result = std::fs::read(&file)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".to_string()))
                .and_then(|text| audit.add_json(&input_label(&file), &text));
            if let Err(e) = result {
                audit.problems.push(format!("{shown}: {e}"));
            }
        }
        audit
    }
}

/// A report file is input: an address that is not plain http(s) (`javascript:`, quotes,
/// brackets) and a commit that is not hex are dropped, so no link can carry anything else.
fn sanitize(repo: &mut Repository) {
    let plain_url = |u: &String| {
        (u.starts_with("https://") || u.starts_with("http://"))
            && u.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~:/%@+".contains(&b))
    };
    if !repo.url.as_ref().is_some_and(plain_url) {
        repo.url = None;
    }
    let hex =
        |c: &String| !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_hexdigit());
    if !repo.commit.as_ref().is_some_and(hex) {
        repo.commit = None;
    }
}

/// The label of an input that does not name its repository: its file name without `.json`.
fn input_label(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| crate::discover::display_path(path));
    name.strip_suffix(".json").unwrap_or(&name).to_string()
}

fn json_files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        // Symbolic links are not followed: a link cycle cannot make this loop.
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            json_files_below(&p, out);
        } else if meta.is_file() && p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

/// The prefix the paths of a root start with: "" for `.`, else the root without a trailing `/`.
fn root_prefix(root: &str) -> String {
    let r = root.trim_end_matches('/');
    if r == "." {
        String::new()
    } else {
        r.to_string()
    }
}

/// The repository whose root is the longest prefix of `path` (the first when none is).
fn owner_of(repos: &[Repo], path: &str) -> usize {
    let mut best: Option<(usize, usize)> = None;
    for (i, r) in repos.iter().enumerate() {
        let under = r.root.is_empty()
            || path == r.root
            || path
                .strip_prefix(r.root.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
        if under && best.is_none_or(|(_, len)| r.root.len() > len) {
            best = Some((i, r.root.len()));
        }
    }
    best.map_or(0, |(i, _)| i)
}

#[derive(Deserialize)]
struct InputDoc {
    version: u32,
    #[serde(default)]
    findings: Vec<Item>,
    #[serde(default)]
    errors: Vec<ItemError>,
    #[serde(default)]
    summary: Option<InputSummary>,
    #[serde(default)]
    repository: Option<Repository>,
    #[serde(default)]
    roots: Option<Vec<InputRoot>>,
}

#[derive(Deserialize)]
struct InputSummary {
    #[serde(default)]
    files_scanned: usize,
}

#[derive(Deserialize)]
struct InputRoot {
    path: String,
    #[serde(default)]
    files_scanned: usize,
    #[serde(default)]
    repository: Option<Repository>,
}

/// Text for people: `1 repository`, `3 repositories`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `text` with every `npm_` token redacted (the last line of defence), without a copy when
/// there is none.
pub fn scrubbed(text: String) -> String {
    match crate::token::scrub(&text) {
        std::borrow::Cow::Owned(s) => s,
        std::borrow::Cow::Borrowed(_) => text,
    }
}

/// Our messages mark code with single backticks: the text split into (is code, part). Text
/// with an odd number of backticks is all plain.
pub fn code_spans(text: &str) -> Vec<(bool, &str)> {
    if text.bytes().filter(|b| *b == b'`').count() % 2 == 1 {
        return vec![(false, text)];
    }
    text.split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| (i % 2 == 1, part))
        .collect()
}

/// The first 12 characters of a commit id.
pub fn short_commit(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(rule: &str, path: &str, line: usize, snippet: &str, diff: &str) -> Item {
        Item {
            rule: rule.into(),
            severity: Severity::High,
            path: path.into(),
            line,
            message: format!("{rule} here"),
            snippet: snippet.into(),
            suggestion: Some(ItemSuggestion {
                title: format!("fix {rule}"),
                applicability: Applicability::Unsafe,
                diff: diff.into(),
                notes: vec!["npm token revoke <token-id>".into()],
            }),
            commit: None,
        }
    }

    #[test]
    fn code_spans_split_on_backticks() {
        assert_eq!(
            code_spans("run `npm ci` then `x`"),
            vec![
                (false, "run "),
                (true, "npm ci"),
                (false, " then "),
                (true, "x")
            ]
        );
        assert_eq!(code_spans("odd ` tick"), vec![(false, "odd ` tick")]);
    }

    #[test]
    fn redacted_tokens_are_found_in_snippets() {
        assert_eq!(
            redacted_token("//registry.npmjs.org/:_authToken=npm_****...WNH1"),
            Some("npm_****...WNH1")
        );
        assert_eq!(
            redacted_token("x=NpmToken.****...89ab;"),
            Some("NpmToken.****...89ab")
        );
        assert_eq!(
            redacted_token("npmAuthToken: \"****...913d\""),
            Some("****...913d")
        );
        assert_eq!(redacted_token("_auth=********"), None);
    }

    #[test]
    fn one_credential_is_one_task_wherever_it_is_used() {
        let repo = Repo {
            root: "acme".into(),
            findings: vec![
                item(
                    "hardcoded-token",
                    "acme/.npmrc",
                    1,
                    "t=npm_****...WNH1",
                    "d1",
                ),
                item(
                    "hardcoded-token",
                    "acme/ci/.env",
                    4,
                    "T=npm_****...WNH1",
                    "d2",
                ),
                item(
                    "basic-auth-credential",
                    "acme/.npmrc",
                    2,
                    "_auth=********",
                    "",
                ),
                item("dockerfile-token-arg", "acme/Dockerfile", 2, "ARG T", "df"),
                item("dockerfile-token-env", "acme/Dockerfile", 3, "ENV T", "df"),
                item(
                    "ci-publish-long-lived-token",
                    "acme/.gitlab-ci.yml",
                    9,
                    "",
                    "p",
                ),
            ],
            ..Repo::default()
        };
        let list = repo.checklist();
        let actions: Vec<Action> = list.iter().map(|(a, _)| *a).collect();
        assert_eq!(
            actions,
            vec![
                Action::Revoke,
                Action::TrustedPublishing,
                Action::BuildSecrets
            ]
        );
        let revoke = &list[0].1;
        assert_eq!(revoke.len(), 2);
        assert_eq!(revoke[0].title, "Revoke `npm_****...WNH1`");
        let paths: Vec<&str> = revoke[0].places.iter().map(|p| p.path).collect();
        assert_eq!(paths, vec![".npmrc", "ci/.env"]);
        assert_eq!(revoke[0].diffs.len(), 2);
        assert_eq!(revoke[0].notes, vec!["npm token revoke <token-id>"]);
        let mut hosted = repo.clone();
        hosted.repository = Repository {
            name: "acme/api".into(),
            url: Some("https://github.com/acme/api".into()),
            commit: None,
        };
        let open = "npm trust github @acme/api --file publish.yml --repo <owner>/<repo>";
        assert_eq!(
            hosted.fill_repository(open),
            "npm trust github @acme/api --file publish.yml --repo acme/api"
        );
        let gitlab = "npm trust gitlab x --file .gitlab-ci.yml --project <owner>/<repo>";
        assert_eq!(
            hosted.fill_repository(gitlab),
            gitlab,
            "not hosted on GitLab"
        );
        assert_eq!(revoke[1].title, "Rotate the credential at .npmrc:2");
        let docker = &list[2].1;
        assert_eq!(
            docker.len(),
            1,
            "one rewrite of the Dockerfile, two findings"
        );
        assert_eq!(docker[0].places.len(), 2);
        assert_eq!(docker[0].diffs, vec![("df", Applicability::Unsafe)]);
    }

    #[test]
    fn multi_root_reports_split_by_root() {
        let doc = r#"{"version": 1, "findings": [
            {"rule": "hardcoded-token", "severity": "critical", "path": "repos/api/.npmrc", "line": 1},
            {"rule": "unscoped-auth", "severity": "medium", "path": "repos/web/.npmrc", "line": 2},
            {"rule": "unscoped-auth", "severity": "medium", "path": "repos/api-v2/.npmrc", "line": 3}],
          "errors": [{"path": "repos/web/ci.yml", "message": "bad YAML"}],
          "roots": [{"path": "repos/api", "files_scanned": 3, "repository": {"name": "acme/api"}},
                    {"path": "repos/web/", "files_scanned": 5},
                    {"path": "repos/api-v2", "files_scanned": 1}]}"#;
        let mut audit = Audit::default();
        assert_eq!(audit.add_json("scan", doc), Ok(()));
        let names: Vec<&str> = audit
            .repos
            .iter()
            .map(|r| r.repository.name.as_str())
            .collect();
        assert_eq!(
            names,
            vec!["acme/api", "scan: repos/web/", "scan: repos/api-v2"]
        );
        let counts: Vec<usize> = audit.repos.iter().map(|r| r.findings.len()).collect();
        assert_eq!(counts, vec![1, 1, 1]);
        assert_eq!(audit.repos[1].errors.len(), 1);
        assert_eq!(audit.repos[2].relative("repos/api-v2/.npmrc"), ".npmrc");
    }

    #[test]
    fn addresses_and_commits_of_inputs_are_checked() {
        let mut audit = Audit::default();
        let doc = r#"{"version": 1, "repository": {"name": "x", "url": "javascript:alert(1)", "commit": "abc\")"}}"#;
        assert_eq!(audit.add_json("x", doc), Ok(()));
        assert_eq!(audit.repos[0].repository.url, None);
        assert_eq!(audit.repos[0].repository.commit, None);
        let ok = r#"{"version": 1, "repository": {"name": "x", "url": "https://github.com/a/b", "commit": "0123abcd"}}"#;
        assert_eq!(audit.add_json("y", ok), Ok(()));
        assert_eq!(
            audit.repos[1].repository.url.as_deref(),
            Some("https://github.com/a/b")
        );
    }

    #[test]
    fn bad_inputs_are_refused_with_a_reason() {
        let mut audit = Audit::default();
        assert!(audit.add_json("x", "{").is_err());
        assert!(audit.add_json("x", "[1, 2]").is_err());
        let v2 = audit.add_json("x", r#"{"version": 2, "findings": []}"#);
        assert!(v2.is_err_and(|e| e.contains("version 2")));
        assert!(audit.repos.is_empty());
        assert_eq!(audit.add_json("named-by-file", r#"{"version": 1}"#), Ok(()));
        assert_eq!(audit.repos[0].repository.name, "named-by-file");
    }
}
