//! Suppressions: inline `npm-auth-scan: ignore[rule,...]` comments, and baseline files.
//!
//! An inline suppression sits in a comment (`#`, `;` or `//`) on the finding's line or the line
//! before. One that suppresses nothing is itself reported (`unused-suppression`), so stale
//! suppressions do not pile up.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::checks::CheckOptions;
use crate::finding::{Applicability, Draft, Finding, Suggestion};
use crate::source::{LineIndex, Span};

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:#|;|//)[^\n]*?npm-auth-scan:\s*ignore\[([^\]\n]*)\]")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// One inline suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inline {
    /// 0-based line of the comment.
    pub line: usize,
    pub rules: Vec<String>,
    /// Span of `npm-auth-scan: ignore[...]`.
    pub span: Span,
    /// What to delete to remove the comment: the whole line when the comment stands alone, else
    /// the comment and the blanks before it.
    pub removal: Span,
}

/// Every suppression comment in `text`.
pub fn find_inline(text: &str, index: &LineIndex) -> Vec<Inline> {
    if !text.contains("npm-auth-scan:") {
        return Vec::new();
    }
    MARKER
        .captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let list = c.get(1)?;
            let start = text[whole.start()..list.start()]
                .find("npm-auth-scan")
                .map_or(whole.start(), |i| whole.start() + i);
            let line = index.line_of(start);
            let line_span = index.line_span(text, line);
            let before = &text[line_span.start..whole.start()];
            let removal = if before.trim().is_empty() {
                let next = index.line_span(text, line + 1).start;
                line_span.start..next.max(line_span.end)
            } else {
                (line_span.start + before.trim_end().len())..line_span.end
            };
            Some(Inline {
                line,
                removal,
                rules: list
                    .as_str()
                    .split(',')
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty())
                    .collect(),
                span: start..whole.end(),
            })
        })
        .collect()
}

/// Removes the drafts an inline comment suppresses; returns how many, and adds an
/// `unused-suppression` draft for each comment that suppressed nothing (only when every rule it
/// names was run, so `--select` does not make suppressions look stale).
pub fn apply_inline(
    text: &str,
    index: &LineIndex,
    drafts: &mut Vec<Draft>,
    options: &CheckOptions,
) -> usize {
    let comments = find_inline(text, index);
    if comments.is_empty() {
        return 0;
    }
    let mut used = vec![false; comments.len()];
    let before = drafts.len();
    drafts.retain(|d| {
        let line = index.line_of(d.span.start.min(text.len()));
        let hit = comments.iter().position(|c| {
            (c.line == line || c.line + 1 == line) && c.rules.iter().any(|r| r == d.rule)
        });
        match hit {
            Some(i) => {
                used[i] = true;
                false
            }
            None => true,
        }
    });
    let suppressed = before - drafts.len();
    for (comment, used) in comments.iter().zip(used) {
        if used {
            continue;
        }
        let unknown: Vec<&String> = comment
            .rules
            .iter()
            .filter(|r| crate::rules::get(r).is_none())
            .collect();
        let all_ran = comment.rules.iter().all(|r| options.rule_enabled(r));
        let stale = !unknown.is_empty() || (all_ran && !comment.rules.is_empty());
        if stale && options.rule_enabled("unused-suppression") {
            let names = comment.rules.join(", ");
            let draft = Draft::at("unused-suppression", comment.span.clone())
                .arg("rules", names)
                .suggestion(
                    Suggestion::new("Remove the suppression comment", Applicability::Safe)
                        .edit(comment.removal.clone(), ""),
                );
            drafts.push(if unknown.is_empty() {
                draft
            } else {
                draft.message_key("unknown-rule")
            });
        }
    }
    suppressed
}

/// A baseline file: the fingerprints of accepted findings, never their content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub rule: String,
    pub path: String,
    pub fingerprint: String,
}

impl Baseline {
    pub fn from_findings(findings: &[Finding]) -> Self {
        let mut entries: Vec<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                rule: f.rule.to_string(),
                path: f.path.clone(),
                fingerprint: f.fingerprint.clone(),
            })
            .collect();
        entries.sort();
        entries.dedup();
        Baseline {
            version: 1,
            findings: entries,
        }
    }

    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("invalid baseline {}: {e}", path.display()))
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write baseline {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_markers_in_every_comment_style() {
        let text = "a=1 # npm-auth-scan: ignore[hardcoded-token] fixture\n; npm-auth-scan: ignore[a, b]\n// npm-auth-scan: ignore[c]\nnpm-auth-scan: ignore[not-a-comment]\n";
        let index = LineIndex::new(text);
        let found = find_inline(text, &index);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].rules, vec!["hardcoded-token"]);
        assert_eq!(found[0].line, 0);
        assert_eq!(
            &text[found[0].span.clone()],
            "npm-auth-scan: ignore[hardcoded-token]"
        );
        assert_eq!(found[1].rules, vec!["a", "b"]);
        assert_eq!(found[2].line, 2);
        assert_eq!(
            &text[found[0].removal.clone()],
            " # npm-auth-scan: ignore[hardcoded-token] fixture"
        );
        assert_eq!(
            &text[found[1].removal.clone()],
            "; npm-auth-scan: ignore[a, b]\n"
        );
    }

    #[test]
    fn suppresses_same_line_and_next_line_only() {
        let text = "# npm-auth-scan: ignore[hardcoded-token]\nA=x\nB=y\n";
        let index = LineIndex::new(text);
        let mut drafts = vec![
            Draft::at("hardcoded-token", 43..46),
            Draft::at("hardcoded-token", 47..50),
        ];
        let n = apply_inline(text, &index, &mut drafts, &CheckOptions::default());
        assert_eq!(n, 1);
        assert_eq!(drafts.len(), 1);
        assert_eq!(drafts[0].span, 47..50);
    }

    #[test]
    fn unused_and_unknown_suppressions_are_reported() {
        let text = "# npm-auth-scan: ignore[hardcoded-token]\nA=1\n# npm-auth-scan: ignore[nope]\n";
        let index = LineIndex::new(text);
        let mut drafts = Vec::new();
        apply_inline(text, &index, &mut drafts, &CheckOptions::default());
        assert_eq!(drafts.len(), 2);
        assert!(drafts.iter().all(|d| d.rule == "unused-suppression"));
        assert_eq!(drafts[1].message_key, Some("unknown-rule"));
        let mut drafts = Vec::new();
        let only_other = CheckOptions {
            select: Some(vec!["unused-suppression".to_string()]),
            ..CheckOptions::default()
        };
        apply_inline(text, &index, &mut drafts, &only_other);
        assert_eq!(
            drafts.len(),
            1,
            "not-run rules do not make a suppression unused"
        );
    }
}
