//! Checks, one module per file kind, all behind [`run`]: the one place that decides which checks
//! see which file. A check reads the file through a [`FileCtx`], reports [`Draft`]s, registers
//! every credential it sees as a secret (so no output shows it), and returns nothing.

pub mod bunfig;
pub mod ci;
pub mod compose;
pub mod dockerfile;
pub mod dotenv;
pub mod npmrc;
pub mod registry_auth;
pub mod shell_auth;
pub mod sweep;
pub mod yarnrc;
pub mod yarnrc_yml;

use std::path::Path;

use crate::discover::FileKind;
use crate::finding::Draft;
use crate::parse::ParseError;
use crate::source::{LineIndex, Span};
use crate::token::SecretKind;

/// What checks may consult besides the file itself.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Rules to run (`None`: all).
    pub select: Option<Vec<String>>,
    /// Rules never to run.
    pub ignore: Vec<String>,
    /// Extra variable names to treat as npm tokens (from the config file).
    pub token_vars: Vec<String>,
    /// `--all-files` given explicitly (files of no known kind are swept in every default scan;
    /// there only checksum-valid `npm_` tokens are reported either way).
    pub all_files: bool,
}

impl CheckOptions {
    pub fn rule_enabled(&self, rule: &str) -> bool {
        !self.ignore.iter().any(|r| r == rule)
            && self
                .select
                .as_ref()
                .is_none_or(|s| s.iter().any(|r| r == rule))
    }

    /// Is `name` a variable that holds an npm token (by convention or by configuration)?
    pub fn is_token_var(&self, name: &str) -> bool {
        crate::token::is_npm_token_var(name)
            || self.token_vars.iter().any(|v| v.eq_ignore_ascii_case(name))
    }
}

/// The model a file is checked against, and the file's path in it.
#[derive(Clone, Copy)]
pub struct Link<'a> {
    pub model: &'a crate::model::Model,
    pub rel: &'a str,
}

/// One file under check: its text, where it is, and what has been reported on it so far.
pub struct FileCtx<'a> {
    /// Display path (as outputs show it).
    pub path: &'a str,
    /// Where the file is on disk, to look at siblings (`.dockerignore`, a compose `env_file`).
    pub fs_path: &'a Path,
    pub kind: FileKind,
    pub text: &'a str,
    pub index: &'a LineIndex,
    pub options: &'a CheckOptions,
    pub(crate) drafts: Vec<Draft>,
    pub(crate) secrets: Vec<(Span, SecretKind)>,
    pub(crate) errors: Vec<ParseError>,
    /// Parts of the file the checks could not see into (not errors: the exit code ignores them).
    pub(crate) notes: Vec<ParseError>,
    /// The file started with a UTF-8 BOM, which the scan drops from `text`. npm does not drop
    /// it, and for `.npmrc` that changes meaning (a `[section]` after a BOM is no section).
    pub bom: bool,
    /// The repository model, for facts that live in other files (`None` for content checked on
    /// its own: rule examples, fix re-checks).
    pub link: Option<Link<'a>>,
}

impl<'a> FileCtx<'a> {
    pub fn new(
        path: &'a str,
        fs_path: &'a Path,
        kind: FileKind,
        text: &'a str,
        index: &'a LineIndex,
        options: &'a CheckOptions,
    ) -> Self {
        FileCtx {
            path,
            fs_path,
            kind,
            text,
            index,
            options,
            drafts: Vec::new(),
            secrets: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
            bom: false,
            link: None,
        }
    }

    /// Report a finding (dropped when its rule is not selected).
    pub fn emit(&mut self, draft: Draft) {
        if self.options.rule_enabled(draft.rule) {
            self.drafts.push(draft);
        }
    }

    /// The bytes of `span` are a credential: every output shows them redacted.
    pub fn secret(&mut self, span: Span, kind: SecretKind) {
        if span.start < span.end && span.end <= self.text.len() {
            self.secrets.push((span, kind));
        }
    }

    /// The file could not be parsed (fully): reported in `errors`, the scan goes on.
    pub fn parse_error(&mut self, error: ParseError) {
        self.errors.push(error);
    }

    /// The file was read, but part of what it runs is out of sight (a Jenkins shared library):
    /// reported in `notes`, the exit code ignores it.
    pub fn note(&mut self, note: ParseError) {
        self.notes.push(note);
    }

    /// Has a finding of `rule` already been reported overlapping `span`?
    pub fn reported(&self, rule: &str, span: &Span) -> bool {
        self.drafts
            .iter()
            .any(|d| d.rule == rule && d.span.start < span.end && span.start < d.span.end)
    }

    /// The YAML documents of this file: parsed once, by the model when the file is in one.
    pub fn yaml_docs(
        &self,
    ) -> Result<std::sync::Arc<Vec<crate::parse::yaml::Document>>, ParseError> {
        let cached = self
            .model()
            .and_then(|(m, rel)| m.file(rel))
            .filter(|f| f.text().is_some_and(|t| *t == *self.text))
            .and_then(|f| f.yaml());
        match cached {
            Some(docs) => Ok(docs),
            None => crate::parse::yaml::parse(self.text).map(std::sync::Arc::new),
        }
    }

    /// The model and this file's path in it.
    pub fn model(&self) -> Option<(&'a crate::model::Model, &'a str)> {
        self.link.map(|l| (l.model, l.rel))
    }

    pub fn drafts(&self) -> &[Draft] {
        &self.drafts
    }
}

/// Runs every check that applies to the file's kind, then the literal-token sweep.
pub fn run(ctx: &mut FileCtx<'_>) {
    match ctx.kind {
        FileKind::Npmrc => npmrc::check(ctx),
        FileKind::Yarnrc => yarnrc::check(ctx),
        FileKind::Bunfig => bunfig::check(ctx),
        FileKind::DotEnv => dotenv::check(ctx),
        FileKind::YarnrcYml => yarnrc_yml::check(ctx),
        FileKind::Dockerfile => dockerfile::check(ctx),
        FileKind::Compose => compose::check(ctx),
        FileKind::Other => {}
        FileKind::GithubWorkflow
        | FileKind::GithubAction
        | FileKind::GitlabCi
        | FileKind::CircleCi
        | FileKind::Travis
        | FileKind::AzurePipelines
        | FileKind::BitbucketPipelines
        | FileKind::Jenkinsfile
        | FileKind::DroneCi
        | FileKind::Woodpecker
        | FileKind::Buildkite
        | FileKind::OneDev => ci::check(ctx),
    }
    sweep::check(ctx);
}
