//! `.env` / `.env.*` parser with positions.
//!
//! There is no single `.env` grammar; this follows the common ground of the `dotenv` package,
//! Bun's loader and Docker Compose's `env_file`: `KEY=value` with an optional `export `
//! prefix and blanks around `=`; `'…'` is literal, `"…"` knows backslash escapes, both may run
//! over several lines; an unquoted value is trimmed and ends at a ` #` comment (a `#` inside a
//! word is kept, as Compose does); `#` lines are comments. Lines that are none of these are
//! kept as [`Line::Other`] so a checker can still sweep them for tokens.

use crate::source::Span;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DotEnv {
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Entry(Entry),
    Comment(Comment),
    /// A non-blank line that is not an assignment.
    Other(Span),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub line: Span,
    /// The text after `#`.
    pub body: Span,
}

/// `KEY=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// From the first non-blank character to the end of the value's last line (a quoted value
    /// may span lines), without the line terminator.
    pub line: Span,
    pub exported: bool,
    pub key: String,
    pub key_span: Span,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    None,
    Single,
    Double,
    Backtick,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The value after unquoting and escape processing.
    pub text: String,
    /// As written, quotes included; empty (after `=`) for `KEY=`.
    pub raw: Span,
    /// Inside the quotes, or the trimmed unquoted text before any comment.
    pub content: Span,
    pub quote: Quote,
    /// `text == source[content]`: offsets into `text` are file offsets from `content.start`.
    pub verbatim: bool,
    /// A ` # …` comment after the value.
    pub inline_comment: Option<Span>,
}

impl Value {
    /// File span of `range` (a byte range of `text`), when the value is verbatim.
    pub fn file_span(&self, range: Span) -> Option<Span> {
        super::verbatim_file_span(self.verbatim, &self.content, self.text.len(), range)
    }
}

impl DotEnv {
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.lines.iter().filter_map(|l| match l {
            Line::Entry(e) => Some(e),
            _ => None,
        })
    }

    pub fn comments(&self) -> impl Iterator<Item = &Comment> {
        self.lines.iter().filter_map(|l| match l {
            Line::Comment(c) => Some(c),
            _ => None,
        })
    }
}

/// Parses `.env` text. Never fails.
pub fn parse(text: &str) -> DotEnv {
    let mut lines = Vec::new();
    let mut pos = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    while pos < text.len() {
        let end = line_end(text, pos);
        let (line, next) = parse_line(text, pos, end);
        if let Some(line) = line {
            lines.push(line);
        }
        // Skip the terminator; a multi-line value moves `next` past its closing line.
        pos = next.max(end);
        if text.as_bytes().get(pos) == Some(&b'\r') {
            pos += 1;
        }
        if text.as_bytes().get(pos) == Some(&b'\n') {
            pos += 1;
        }
        if pos == end {
            // A lone `\r` that is not followed by `\n`: step over it.
            pos += 1;
        }
    }
    DotEnv { lines }
}

/// End of the line starting at `pos`: the offset of its `\n` (or of a `\r` before it).
fn line_end(text: &str, pos: usize) -> usize {
    let nl = text
        .get(pos..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| pos + i);
    if nl > pos && text.as_bytes().get(nl - 1) == Some(&b'\r') {
        nl - 1
    } else {
        nl
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn skip_blanks(text: &str, mut pos: usize, end: usize) -> usize {
    while pos < end && text.as_bytes().get(pos).copied().is_some_and(is_blank) {
        pos += 1;
    }
    pos
}

/// Parses the line `start..end`; returns the line and where parsing stopped (past `end` when
/// a quoted value continued onto later lines).
fn parse_line(text: &str, start: usize, end: usize) -> (Option<Line>, usize) {
    let bytes = text.as_bytes();
    let first = skip_blanks(text, start, end);
    if first >= end {
        return (None, end);
    }
    if bytes.get(first) == Some(&b'#') {
        let c = Comment {
            line: start..end,
            body: first + 1..end,
        };
        return (Some(Line::Comment(c)), end);
    }
    let mut pos = first;
    let mut exported = false;
    if text.get(pos..pos + 6) == Some("export") && bytes.get(pos + 6).copied().is_some_and(is_blank)
    {
        exported = true;
        pos = skip_blanks(text, pos + 6, end);
    }
    let key_start = pos;
    let key_ok_first = bytes
        .get(pos)
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    while pos < end
        && bytes
            .get(pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        pos += 1;
    }
    let key_span = key_start..pos;
    let eq = skip_blanks(text, pos, end);
    if !key_ok_first || bytes.get(eq) != Some(&b'=') {
        return (Some(Line::Other(start..end)), end);
    }
    let value_start = skip_blanks(text, eq + 1, end);
    let (value, stop) = parse_value(text, value_start, end);
    let entry = Entry {
        line: first..stop.max(end),
        exported,
        key: text.get(key_span.clone()).unwrap_or("").to_owned(),
        key_span,
        value,
    };
    (Some(Line::Entry(entry)), stop)
}

fn parse_value(text: &str, start: usize, end: usize) -> (Value, usize) {
    let bytes = text.as_bytes();
    let quote = match bytes.get(start) {
        Some(b'\'') if start < end => Some((Quote::Single, b'\'')),
        Some(b'"') if start < end => Some((Quote::Double, b'"')),
        Some(b'`') if start < end => Some((Quote::Backtick, b'`')),
        _ => None,
    };
    if let Some((kind, q)) = quote {
        if let Some(close) = find_close(bytes, start + 1, q, kind == Quote::Double) {
            let content = start + 1..close;
            let inner = text.get(content.clone()).unwrap_or("");
            let decoded = if kind == Quote::Double {
                unescape_double(inner)
            } else {
                inner.to_owned()
            };
            let raw = start..close + 1;
            let after = skip_blanks(text, close + 1, line_end(text, close + 1));
            let rest_end = line_end(text, close + 1);
            let inline_comment =
                (bytes.get(after) == Some(&b'#') && after < rest_end).then_some(after..rest_end);
            let verbatim = decoded == inner;
            return (
                Value {
                    text: decoded,
                    raw,
                    content,
                    quote: kind,
                    verbatim,
                    inline_comment,
                },
                rest_end,
            );
        }
        // No closing quote anywhere: read the rest of the line as an unquoted value.
    }
    // Unquoted: up to a `#` that follows a blank.
    let mut cut = end;
    let mut i = start;
    while i < end {
        if bytes.get(i) == Some(&b'#')
            && (i == start || bytes.get(i - 1).copied().is_some_and(is_blank))
        {
            cut = i;
            break;
        }
        i += 1;
    }
    let mut content_end = cut;
    while content_end > start && bytes.get(content_end - 1).copied().is_some_and(is_blank) {
        content_end -= 1;
    }
    let content = start..content_end;
    let text_value = text.get(content.clone()).unwrap_or("").to_owned();
    (
        Value {
            text: text_value,
            raw: content.clone(),
            content,
            quote: Quote::None,
            verbatim: true,
            inline_comment: (cut < end).then_some(cut..end),
        },
        end,
    )
}

/// Offset of the closing quote at or after `from`; a double-quoted string skips `\"`.
fn find_close(bytes: &[u8], from: usize, q: u8, escapes: bool) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'\\') if escapes => i += 2,
            Some(b) if *b == q => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(t: &str) -> Vec<Entry> {
        parse(t).entries().cloned().collect()
    }

    #[test]
    fn plain_export_and_spaces() {
        let t = "NPM_TOKEN=npm_abc\nexport NODE_AUTH_TOKEN = xyz  \n";
        let e = entries(t);
        assert_eq!(e[0].key, "NPM_TOKEN");
        assert_eq!(&t[e[0].key_span.clone()], "NPM_TOKEN");
        assert_eq!(e[0].value.text, "npm_abc");
        assert!(!e[0].exported);
        assert!(e[1].exported);
        assert_eq!(e[1].key, "NODE_AUTH_TOKEN");
        assert_eq!(&t[e[1].value.content.clone()], "xyz");
        assert_eq!(&t[e[1].line.clone()], "export NODE_AUTH_TOKEN = xyz  ");
    }

    #[test]
    fn quotes() {
        let t = "A='lit\\n $X'\nB=\"esc\\n\\\"q\\\"\"\nC=`tick`\n";
        let e = entries(t);
        assert_eq!(e[0].value.text, "lit\\n $X");
        assert_eq!(e[0].value.quote, Quote::Single);
        assert!(e[0].value.verbatim);
        assert_eq!(&t[e[0].value.raw.clone()], "'lit\\n $X'");
        assert_eq!(e[1].value.text, "esc\n\"q\"");
        assert!(!e[1].value.verbatim);
        assert_eq!(e[2].value.text, "tick");
    }

    #[test]
    fn comments_inline_and_hash_in_word() {
        let t = "# c\nA=abc # note\nB=ab#c\nC=\"q\" # after\nD=#x\n";
        let rc = parse(t);
        assert_eq!(rc.comments().count(), 1);
        let e: Vec<_> = rc.entries().collect();
        assert_eq!(e[0].value.text, "abc");
        assert_eq!(&t[e[0].value.inline_comment.clone().unwrap()], "# note");
        assert_eq!(e[1].value.text, "ab#c");
        assert_eq!(&t[e[2].value.inline_comment.clone().unwrap()], "# after");
        assert_eq!(e[3].value.text, "");
    }

    #[test]
    fn empty_values_crlf_and_other_lines() {
        let t = "A=\r\nB=x\r\nnot an assignment\r\n1BAD=x\r\n";
        let rc = parse(t);
        let e: Vec<_> = rc.entries().collect();
        assert_eq!(e[0].value.text, "");
        assert!(e[0].value.raw.is_empty());
        assert_eq!(e[1].value.text, "x");
        assert_eq!(&t[e[1].line.clone()], "B=x");
        assert_eq!(
            rc.lines
                .iter()
                .filter(|l| matches!(l, Line::Other(_)))
                .count(),
            2
        );
    }

    #[test]
    fn multiline_quoted_value() {
        let t = "KEY=\"line1\nline2\"\nNEXT=1\n";
        let e = entries(t);
        assert_eq!(e[0].value.text, "line1\nline2");
        assert_eq!(&t[e[0].line.clone()], "KEY=\"line1\nline2\"");
        assert_eq!(e[1].key, "NEXT");
    }

    #[test]
    fn unterminated_quote_reads_the_line() {
        let e = entries("A='open\nB=2\n");
        assert_eq!(e[0].value.text, "'open");
        assert_eq!(e[1].key, "B");
    }

    #[test]
    fn bom_and_lone_cr() {
        let e = entries("\u{feff}A=1\rB=2");
        assert_eq!(e[0].key, "A");
        assert_eq!(e[0].value.text, "1\rB=2");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn check(t: &str, s: &Span) {
            assert!(s.start <= s.end && s.end <= t.len(), "{s:?}");
            assert!(t.is_char_boundary(s.start) && t.is_char_boundary(s.end));
        }

        fn check_all(t: &str) {
            for l in parse(t).lines {
                match l {
                    Line::Entry(e) => {
                        for s in [&e.line, &e.key_span, &e.value.raw, &e.value.content] {
                            check(t, s);
                        }
                        if let Some(c) = &e.value.inline_comment {
                            check(t, c);
                        }
                        if e.value.verbatim {
                            assert_eq!(&t[e.value.content.clone()], e.value.text);
                        }
                    }
                    Line::Comment(c) => {
                        check(t, &c.line);
                        check(t, &c.body);
                    }
                    Line::Other(s) => check(t, &s),
                }
            }
        }

        proptest! {
            #[test]
            fn never_panics_and_spans_are_valid(t in "\\PC*") {
                check_all(&t);
            }

            #[test]
            fn dotenv_like_input(t in "(\u{feff}?[ \t]*(export )?[A-Z_é]*[ ]*=?[ ]*['\"`]?[a-zé\\\\#'\" \r]*['\"`]?(\r\n|\n|\r))*") {
                check_all(&t);
            }
        }
    }
}
