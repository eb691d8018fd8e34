//! Text edits over byte spans: redacting secrets, applying replacements, and the unified diff
//! of a suggestion, which is always computed on redacted text.

use crate::finding::Edit;
use crate::source::Span;
use crate::token::{self, SecretKind};

pub(crate) fn clamp_span(text: &str, span: Span) -> Span {
    let start = crate::source::floor_char_boundary(text, span.start.min(text.len()));
    let end = crate::source::floor_char_boundary(text, span.end.min(text.len())).max(start);
    start..end
}

/// Replacement text for every secret span (overlaps merged, line count preserved).
pub fn redactions(text: &str, secrets: &[(Span, SecretKind)]) -> Vec<(Span, String)> {
    let mut spans: Vec<(Span, SecretKind)> = secrets
        .iter()
        .map(|(s, k)| (clamp_span(text, s.clone()), *k))
        .filter(|(s, _)| s.start < s.end)
        .collect();
    spans.sort_by_key(|(s, _)| (s.start, std::cmp::Reverse(s.end)));
    let mut out: Vec<(Span, String)> = Vec::new();
    for (span, kind) in spans {
        if let Some((last, _)) = out.last() {
            if span.start < last.end {
                continue;
            }
        }
        let secret = &text[span.clone()];
        let mut shown = token::redact(secret.trim(), kind);
        for _ in 0..secret.matches('\n').count() {
            shown.push('\n');
        }
        out.push((span, shown));
    }
    out
}

/// `text` with each (sorted, non-overlapping) span replaced.
pub fn apply_replacements(text: &str, replacements: &[(Span, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (span, with) in replacements {
        if span.start < at || span.end > text.len() {
            continue;
        }
        out.push_str(&text[at..span.start]);
        out.push_str(with);
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Where `offset` of the original text lands in the redacted text.
pub(crate) fn map_offset(offset: usize, redactions: &[(Span, String)]) -> usize {
    let mut shift: isize = 0;
    for (span, with) in redactions {
        if span.end <= offset {
            shift += with.len() as isize - span.len() as isize;
        } else if span.start < offset {
            return (span.start as isize + shift).max(0) as usize;
        } else {
            break;
        }
    }
    (offset as isize + shift).max(0) as usize
}

/// `diff` (from [`render_diff`]) with its header naming `to` instead of `from`.
pub fn rename_diff(diff: &str, from: &str, to: &str) -> String {
    let old = format!("--- a/{from}\n+++ b/{from}\n");
    match diff.strip_prefix(&old) {
        Some(rest) => format!("--- a/{to}\n+++ b/{to}\n{rest}"),
        None => diff.to_string(),
    }
}

/// Unified diff of the suggestion, computed on redacted text so no secret can show.
pub fn render_diff(
    path: &str,
    text: &str,
    edits: &[Edit],
    redactions: &[(Span, String)],
) -> String {
    if edits.is_empty() {
        return String::new();
    }
    let before = apply_replacements(text, redactions);
    let mut combined: Vec<(Span, String)> = edits
        .iter()
        .map(|e| (e.span.clone(), e.replacement.clone()))
        .collect();
    for (span, with) in redactions {
        if !edits
            .iter()
            .any(|e| span.start < e.span.end.max(e.span.start + 1) && e.span.start < span.end)
        {
            combined.push((span.clone(), with.clone()));
        }
    }
    combined.sort_by_key(|(s, _)| (s.start, s.end));
    let after = apply_replacements(text, &combined);
    let diff = similar::TextDiff::from_lines(&before, &after);
    let rendered = diff
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    token::scrub(&rendered).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_through_redactions() {
        let text = "a=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 b";
        let reps = redactions(text, &[(2..42, SecretKind::Token)]);
        let red = apply_replacements(text, &reps);
        assert_eq!(red, "a=npm_****...NndU b");
        assert_eq!(map_offset(43, &reps), red.len() - 1);
        assert_eq!(map_offset(10, &reps), 2);
        assert_eq!(map_offset(1, &reps), 1);
    }

    #[test]
    fn diff_never_shows_the_secret() {
        let text = "//registry.npmjs.org/:_authToken=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\n";
        let reps = redactions(text, &[(33..73, SecretKind::Token)]);
        let edits = [Edit {
            span: 33..73,
            replacement: "${NPM_TOKEN}".to_string(),
        }];
        let diff = render_diff(".npmrc", text, &edits, &reps);
        assert!(
            diff.contains("+//registry.npmjs.org/:_authToken=${NPM_TOKEN}"),
            "{diff}"
        );
        assert!(
            diff.contains("-//registry.npmjs.org/:_authToken=npm_****...NndU"),
            "{diff}"
        );
        assert!(!diff.contains("4dNndU"));
    }
}
