//! What a check reports: a [`Draft`] built at a primary location, finished by the scan into a
//! [`Finding`] with positions, a redacted snippet, a rendered suggestion and a fingerprint.

use serde::{Deserialize, Serialize};

use crate::credential::Credential;
use crate::source::Span;
use crate::verify::Verification;

/// Severities, lowest first (the order `--fail-on` and `--min-severity` compare with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// One step down, for findings in places that matter less (a stage not in the final image).
    pub fn lowered(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure the check is that the finding is real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Whether `--fix` may apply a suggestion on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Applied by `--fix`: the result behaves the same or strictly better, with nothing else to do.
    Safe,
    /// Applied only with `--unsafe-fixes`: needs a change elsewhere (a CI secret, a build flag).
    Unsafe,
    /// Shown, never applied.
    Manual,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
            Applicability::Manual => "manual",
        }
    }
}

/// Replace the bytes of `span` with `replacement`. Replacements never hold a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub replacement: String,
}

/// A concrete rewrite: the edits, what else the user must do, and whether it may be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub title: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
    /// Commands and steps outside the file: `npm token create ...`, `docker build --secret ...`.
    pub notes: Vec<String>,
}

impl Suggestion {
    pub fn new(title: impl Into<String>, applicability: Applicability) -> Self {
        Suggestion {
            title: title.into(),
            applicability,
            edits: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn edit(mut self, span: Span, replacement: impl Into<String>) -> Self {
        self.edits.push(Edit {
            span,
            replacement: replacement.into(),
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// A finding as a check reports it: a rule, a primary span, and what to say. There is no way to
/// make one without a location.
#[derive(Debug, Clone)]
pub struct Draft {
    pub rule: &'static str,
    pub span: Span,
    pub message_key: Option<&'static str>,
    pub message: Option<String>,
    pub args: Vec<(&'static str, String)>,
    pub severity: Option<Severity>,
    pub confidence: Option<Confidence>,
    pub suggestion: Option<Suggestion>,
    /// Extra text that tells apart findings of one rule on identical lines of one file (for the
    /// fingerprint). Never a secret.
    pub identity: Option<String>,
    /// The raw token, for `--verify` only; never serialized (see [`crate::verify`]).
    pub credential: Option<Credential>,
    /// Other places (usually in other files) the finding depends on.
    pub related: Vec<Related>,
}

impl Draft {
    pub fn at(rule: &'static str, span: Span) -> Self {
        Draft {
            rule,
            span,
            message_key: None,
            message: None,
            args: Vec::new(),
            severity: None,
            confidence: None,
            suggestion: None,
            identity: None,
            credential: None,
            related: Vec::new(),
        }
    }

    /// Use the named message template of the rule file (`[messages] key = "..."`).
    pub fn message_key(mut self, key: &'static str) -> Self {
        self.message_key = Some(key);
        self
    }

    /// Use this exact message instead of a template.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Fill `{name}` in the message template.
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    pub fn confidence(mut self, confidence: Confidence) -> Self {
        self.confidence = Some(confidence);
        self
    }

    pub fn suggestion(mut self, suggestion: Suggestion) -> Self {
        self.suggestion = Some(suggestion);
        self
    }

    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }

    /// Another place the finding depends on (the caller of a reusable workflow, the composite
    /// action that sets up Node, the copied `.npmrc`).
    pub fn related(mut self, related: Related) -> Self {
        if !self.related.contains(&related) {
            self.related.push(related);
        }
        self
    }

    /// The literal token this finding is about and its registry, for `--verify`.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }
}

/// A place a finding depends on or repeats in, outside its primary location: `related` in JSON
/// v1 (an addition), SARIF `relatedLocations`, a `see also` line in human output. Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Related {
    /// Display path (the scan root as typed, `/` separators).
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A suggestion as shown: title, applicability, redacted unified diff, notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedSuggestion {
    pub title: String,
    pub applicability: Applicability,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diff: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The raw edits, for `--fix`, SARIF `fixes` and the human output. Not serialized in JSON v1.
    #[serde(skip)]
    pub edits: Vec<Edit>,
}

/// A finished finding, in the shape of the JSON v1 contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub confidence: Confidence,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    pub snippet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<RenderedSuggestion>,
    pub fingerprint: String,
    /// Byte span in the file, for renderers that show source.
    #[serde(skip)]
    pub span: Span,
    /// The raw token, held until `--verify` takes it; never serialized.
    #[serde(skip)]
    pub credential: Option<Credential>,
    /// Other files and lines the finding depends on: an addition to JSON v1.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// What the token's registry said (`--verify` only): an addition to JSON v1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// History scans: the commit that introduced the blob at `path` (JSON v1 addition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<crate::history::CommitInfo>,
}

impl Finding {
    /// The order every output uses: path, line, column, rule.
    pub fn sort_key(&self) -> (&str, usize, usize, &str) {
        (&self.path, self.line, self.column, self.rule)
    }

    /// The key of this finding's text in [`Report::sources`](crate::scan::Report): the path, or
    /// for a history finding the path at its commit (one path holds many texts over time).
    pub fn source_key(&self) -> Option<String> {
        Some(match &self.commit {
            Some(c) => format!("{}@{}", self.path, c.id),
            None => self.path.clone(),
        })
    }
}
