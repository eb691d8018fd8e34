//! Text edits on YAML files that keep everything else as written: comments, indentation, key
//! order, quoting, line endings. A rewrite is never a re-serialization; it inserts or deletes
//! whole lines, or replaces one scalar's text, at spans the YAML layer gave us.

use crate::source::Span;

/// Start of the line holding `offset`.
pub fn line_start(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.get(..offset)
        .and_then(|s| s.rfind('\n'))
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// Offset just after the line terminator of the line holding `offset` (or the text end).
pub fn next_line_start(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.get(offset..)
        .and_then(|s| s.find('\n'))
        .map(|i| offset + i + 1)
        .unwrap_or(text.len())
}

/// Column (in bytes; YAML indentation is spaces) of `offset` within its line.
pub fn column(text: &str, offset: usize) -> usize {
    offset.min(text.len()) - line_start(text, offset)
}

/// The file's line terminator.
pub fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// The whole lines covering `span`, when nothing else shares them: before the span only blanks
/// (and a `- ` list marker), after it only blanks or a comment. `None` when deleting them would
/// cut something else.
pub fn whole_lines(text: &str, span: &Span) -> Option<Span> {
    let start = line_start(text, span.start);
    let before = text.get(start..span.start)?;
    if !before
        .trim_start()
        .trim_start_matches('-')
        .trim()
        .is_empty()
    {
        return None;
    }
    let end = next_line_start(text, span.end.saturating_sub(1).max(span.start));
    let after = text.get(span.end..end)?;
    let after = after.trim();
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    Some(start..end)
}

/// The lines of a mapping entry `key: value` (value spans may end before a trailing comment),
/// and, when the value is a block scalar or a nested block, every more-indented line after it.
pub fn entry_lines(text: &str, entry: &Span) -> Option<Span> {
    let lines = whole_lines(text, entry)?;
    let indent = column(text, entry.start);
    // Take following lines that are blank, comments at deeper indentation, or deeper content
    // (a folded value continues there).
    let mut end = lines.end;
    while end < text.len() {
        let next = next_line_start(text, end);
        let line = text.get(end..next).unwrap_or("");
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start();
        let col = content.len() - trimmed.len();
        if trimmed.is_empty() || col <= indent {
            break;
        }
        end = next;
    }
    Some(lines.start..end)
}

/// Text of `lines` for insertion at `indent` spaces, each ended by `nl`.
pub fn indent_lines(lines: &[&str], indent: usize, nl: &str) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for l in lines {
        if l.is_empty() {
            out.push_str(nl);
        } else {
            out.push_str(&pad);
            out.push_str(l);
            out.push_str(nl);
        }
    }
    out
}

/// The span of a scalar's text inside its quotes.
pub fn unquoted(text: &str, span: &Span) -> Span {
    let s = text.get(span.clone()).unwrap_or("");
    if s.len() >= 2
        && (s.starts_with('"') && s.ends_with('"') || s.starts_with('\'') && s.ends_with('\''))
    {
        span.start + 1..span.end - 1
    } else {
        span.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_lines_only_when_alone() {
        let t = "a:\n  - echo x # c\n  b: y z\n";
        let x = t.find("echo").unwrap_or(0);
        assert_eq!(whole_lines(t, &(x..x + 6)), Some(3..18));
        let y = t.find("y z").unwrap_or(0);
        assert_eq!(whole_lines(t, &(y..y + 1)), None);
    }

    #[test]
    fn entry_lines_take_block_values() {
        let t = "env:\n  A: |\n    x\n    y\n  B: 1\n";
        let a = t.find("A:").unwrap_or(0);
        let span = entry_lines(t, &(a..a + 4)).unwrap_or(0..0);
        assert_eq!(&t[span], "  A: |\n    x\n    y\n");
    }
}
