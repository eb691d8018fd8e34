//! Yarn v1 (classic) `.yarnrc` parser, with positions.
//!
//! Yarn v1 reads `.yarnrc` with its lockfile tokenizer: `key value` pairs, `"…"` strings decoded
//! as JSON, `#` comments, and nested blocks opened by `key:` with two-space indentation. That
//! tokenizer is strict: an unquoted key may not contain `:` and must start with a letter, `/`
//! or `-`, so the common `//registry.npmjs.org/:_authToken abc` line makes Yarn v1 stop with a
//! syntax error. Such lines still put a credential in the repository, so this parser reads
//! them tolerantly (a bare token runs to the next blank) and records in
//! [`Entry::yarn_accepts`] whether Yarn itself would have read the line.
//!
//! Keys use npm's spelling, so their meaning (registry scope, setting name) comes from
//! [`crate::parse::npmrc::key_meaning`].

use crate::parse::npmrc::{key_meaning, Scope};
use crate::source::Span;

/// A parsed `.yarnrc`: every non-blank line, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Yarnrc {
    pub lines: Vec<Line>,
}

// Values are few (one per line or setting) and short-lived; boxing the large variant
// would add an allocation each for no measurable gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Entry(Entry),
    /// A line holding only a `#` comment.
    Comment(Comment),
    /// A line that cannot be read as `key [value]` (an unterminated or undecodable string).
    Invalid {
        line: Span,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub line: Span,
    /// The text after `#`.
    pub body: Span,
}

/// A `key value` line, or `key:` opening a nested block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The whole line, without its terminator.
    pub line: Span,
    /// Indentation in spaces.
    pub indent: usize,
    /// Keys of the enclosing `key:` blocks, outermost first.
    pub parents: Vec<String>,
    pub key: Token,
    /// `None` for `key:` (a block opener) or a key alone on its line.
    pub value: Option<Token>,
    /// The line ends with `key:` and opens a block.
    pub opens_block: bool,
    /// The setting name (`_authToken` in `//host/:_authToken`).
    pub name: String,
    pub name_span: Option<Span>,
    pub scope: Scope,
    /// An inline `# …` comment after the value.
    pub inline_comment: Option<Span>,
    /// Whether Yarn v1's own tokenizer accepts this line. When it does not, Yarn refuses the
    /// whole file, so nothing in it takes effect, but the text is still in the repository.
    pub yarn_accepts: bool,
}

/// A key or value token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The decoded text.
    pub text: String,
    /// The token as written, quotes included.
    pub raw: Span,
    /// Inside the quotes for a string, else equal to `raw`.
    pub content: Span,
    pub quoted: bool,
    /// `text == source[content]`: offsets into `text` are file offsets from `content.start`.
    pub verbatim: bool,
}

impl Token {
    /// File span of `range` (a byte range of `text`), when the token is verbatim.
    pub fn file_span(&self, range: Span) -> Option<Span> {
        super::verbatim_file_span(self.verbatim, &self.content, self.text.len(), range)
    }
}

impl Yarnrc {
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

/// Parses `.yarnrc` text. Never fails: unreadable lines become [`Line::Invalid`].
pub fn parse(text: &str) -> Yarnrc {
    let mut lines = Vec::new();
    // (indent, key) of the open `key:` blocks.
    let mut blocks: Vec<(usize, String)> = Vec::new();
    let mut offset = 0;
    for raw_line in text.split_inclusive('\n') {
        let start = offset;
        offset += raw_line.len();
        let mut end = start + raw_line.trim_end_matches(['\n', '\r']).len();
        // Yarn strips a BOM before tokenizing; skip it so it is not part of the first key.
        let mut line_start = start;
        if start == 0 && text.starts_with('\u{feff}') {
            line_start = '\u{feff}'.len_utf8();
            end = end.max(line_start);
        }
        if let Some(line) = parse_line(text, line_start..end, &mut blocks) {
            lines.push(line);
        }
    }
    Yarnrc { lines }
}

fn parse_line(text: &str, line: Span, blocks: &mut Vec<(usize, String)>) -> Option<Line> {
    let s = text.get(line.clone())?;
    let indent = s.len() - s.trim_start_matches(' ').len();
    let body = s.trim_start_matches([' ', '\t']);
    if body.is_empty() {
        return None;
    }
    let body_start = line.start + (s.len() - body.len());
    if body.starts_with('#') {
        return Some(Line::Comment(Comment {
            line: line.clone(),
            body: body_start + 1..line.end,
        }));
    }
    let (key, key_end) = match read_token(text, body_start, line.end) {
        Ok(t) => t,
        Err(message) => return Some(Line::Invalid { line, message }),
    };
    let mut pos = skip_blanks(text, key_end, line.end);
    let mut opens_block = false;
    let mut key = key;
    // `key:` opens a block: the colon belongs to the syntax, not the key.
    if !key.quoted && key.text.ends_with(':') && pos >= line.end {
        key.text.pop();
        key.raw.end -= 1;
        key.content.end -= 1;
        opens_block = true;
    } else if key.quoted && text.get(pos..pos + 1) == Some(":") {
        opens_block = true;
        pos = skip_blanks(text, pos + 1, line.end);
    }
    let mut value = None;
    let mut inline_comment = None;
    let mut trailing_junk = false;
    if pos < line.end {
        if text.get(pos..pos + 1) == Some("#") {
            inline_comment = Some(pos..line.end);
        } else {
            match read_token(text, pos, line.end) {
                Ok((v, v_end)) => {
                    let after = skip_blanks(text, v_end, line.end);
                    if after < line.end {
                        if text.get(after..after + 1) == Some("#") {
                            inline_comment = Some(after..line.end);
                        } else {
                            trailing_junk = true;
                        }
                    }
                    value = Some(v);
                }
                Err(message) => return Some(Line::Invalid { line, message }),
            }
        }
    }

    while blocks.last().is_some_and(|(i, _)| *i >= indent) {
        blocks.pop();
    }
    let parents = blocks.iter().map(|(_, k)| k.clone()).collect();
    if opens_block {
        blocks.push((indent, key.text.clone()));
    }

    let yarn_accepts = indent % 2 == 0
        && !trailing_junk
        && yarn_accepts_key(&key)
        && value.as_ref().is_none_or(yarn_accepts_value);
    let meaning = key_meaning(&key.text, key.verbatim.then_some(key.content.start));
    Some(Line::Entry(Entry {
        line,
        indent,
        parents,
        key,
        value,
        opens_block,
        name: meaning.name,
        name_span: meaning.name_span,
        scope: meaning.scope,
        inline_comment,
        yarn_accepts,
    }))
}

fn skip_blanks(text: &str, mut pos: usize, end: usize) -> usize {
    while pos < end && matches!(text.as_bytes().get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

/// Reads one token starting at `start`: a `"…"` string or a bare run up to a blank.
fn read_token(text: &str, start: usize, end: usize) -> Result<(Token, usize), String> {
    let bytes = text.as_bytes();
    if bytes.get(start) == Some(&b'"') {
        // Yarn ends a string at a `"` not preceded by a lone backslash.
        let mut i = start + 1;
        let mut close = None;
        while i < end {
            if bytes.get(i) == Some(&b'"') {
                let escaped = bytes.get(i - 1) == Some(&b'\\')
                    && !(i >= 2 && i - 2 > start && bytes.get(i - 2) == Some(&b'\\'));
                if !escaped {
                    close = Some(i);
                    break;
                }
            }
            i += 1;
        }
        let Some(close) = close else {
            return Err("unterminated string".to_owned());
        };
        let raw = start..close + 1;
        let literal = text.get(raw.clone()).unwrap_or("");
        let decoded = match serde_json::from_str::<String>(literal) {
            Ok(d) => d,
            Err(_) => return Err("string is not valid JSON".to_owned()),
        };
        let content = start + 1..close;
        let verbatim = text.get(content.clone()) == Some(decoded.as_str());
        return Ok((
            Token {
                text: decoded,
                raw,
                content,
                quoted: true,
                verbatim,
            },
            close + 1,
        ));
    }
    let mut i = start;
    while i < end && !matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let raw = start..i;
    Ok((
        Token {
            text: text.get(raw.clone()).unwrap_or("").to_owned(),
            content: raw.clone(),
            raw,
            quoted: false,
            verbatim: true,
        },
        i,
    ))
}

/// Yarn's tokenizer reads a bare word only when it starts with a letter, `/` or `-`, and ends
/// it at `:` or `,`.
fn yarn_accepts_key(key: &Token) -> bool {
    if key.quoted {
        return true;
    }
    let starts_ok = key
        .text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '-');
    starts_ok && !key.text.contains([':', ','])
}

fn yarn_accepts_value(value: &Token) -> bool {
    if value.quoted {
        return true;
    }
    let t = value.text.as_str();
    if t.bytes().all(|b| b.is_ascii_digit()) || t == "true" || t == "false" {
        return true;
    }
    // A bare value that starts with digits is read as a number followed by another word.
    yarn_accepts_key(value) && !t.starts_with("true") && !t.starts_with("false")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(t: &str) -> Vec<Entry> {
        parse(t).entries().cloned().collect()
    }

    #[test]
    fn bare_key_and_quoted_value() {
        let t = "registry \"https://registry.npmjs.org/\"\n";
        let e = entries(t);
        assert_eq!(e[0].key.text, "registry");
        assert_eq!(e[0].name, "registry");
        let v = e[0].value.clone().unwrap();
        assert_eq!(v.text, "https://registry.npmjs.org/");
        assert_eq!(&t[v.raw.clone()], "\"https://registry.npmjs.org/\"");
        assert_eq!(&t[v.content.clone()], "https://registry.npmjs.org/");
        assert!(e[0].yarn_accepts);
    }

    #[test]
    fn nerf_darted_keys_bare_and_quoted() {
        let t = "//registry.npmjs.org/:_authToken abc\n\"//r.example/:_authToken\" \"def\"\n";
        let e = entries(t);
        assert_eq!(e[0].name, "_authToken");
        assert_eq!(&t[e[0].name_span.clone().unwrap()], "_authToken");
        assert!(matches!(&e[0].scope, Scope::Registry(r) if r.host == "registry.npmjs.org"));
        assert_eq!(e[0].value.clone().unwrap().text, "abc");
        // Yarn's tokenizer stops a bare word at `:`, so it rejects the first line.
        assert!(!e[0].yarn_accepts);
        assert_eq!(e[1].name, "_authToken");
        assert!(matches!(&e[1].scope, Scope::Registry(r) if r.host == "r.example"));
        assert_eq!(e[1].value.clone().unwrap().text, "def");
        assert!(e[1].yarn_accepts);
    }

    #[test]
    fn booleans_emails_comments_and_crlf() {
        let t = "# top\r\nalways-auth true\r\nemail x@y.z # me\r\n\r\n";
        let rc = parse(t);
        let c: Vec<_> = rc.comments().collect();
        assert_eq!(&t[c[0].body.clone()], " top");
        let e: Vec<_> = rc.entries().collect();
        assert_eq!(e[0].key.text, "always-auth");
        assert_eq!(e[0].value.clone().unwrap().text, "true");
        assert_eq!(&t[e[0].line.clone()], "always-auth true");
        assert_eq!(e[1].value.clone().unwrap().text, "x@y.z");
        assert_eq!(&t[e[1].inline_comment.clone().unwrap()], "# me");
    }

    #[test]
    fn escapes_in_strings() {
        let t = "\"a\" \"x\\\"y\\u0041\"";
        let e = entries(t);
        let v = e[0].value.clone().unwrap();
        assert_eq!(v.text, "x\"yA");
        assert!(!v.verbatim);
        assert_eq!(&t[v.raw.clone()], "\"x\\\"y\\u0041\"");
    }

    #[test]
    fn nested_blocks() {
        let t = "scopes:\n  \"@acme\" yes\nother 1\n";
        let e = entries(t);
        assert!(e[0].opens_block);
        assert_eq!(e[0].key.text, "scopes");
        assert_eq!(e[1].parents, vec!["scopes".to_owned()]);
        assert!(e[2].parents.is_empty());
    }

    #[test]
    fn bom_and_invalid_lines() {
        let t = "\u{feff}registry x\n\"open value\n";
        let rc = parse(t);
        let e: Vec<_> = rc.entries().collect();
        assert_eq!(e[0].key.text, "registry");
        assert!(matches!(rc.lines.get(1), Some(Line::Invalid { .. })));
    }

    #[test]
    fn numbers_and_key_alone() {
        let e = entries("network-timeout 600000\nflag\nx 123abc\n");
        assert!(e[0].yarn_accepts);
        assert_eq!(e[1].value, None);
        assert!(!e[2].yarn_accepts);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn check(t: &str, s: &Span) {
            assert!(s.start <= s.end && s.end <= t.len());
            assert!(t.is_char_boundary(s.start) && t.is_char_boundary(s.end));
        }

        fn check_all(t: &str) {
            for line in parse(t).lines {
                match line {
                    Line::Entry(e) => {
                        check(t, &e.line);
                        for tok in std::iter::once(&e.key).chain(e.value.as_ref()) {
                            check(t, &tok.raw);
                            check(t, &tok.content);
                            if tok.verbatim {
                                assert_eq!(&t[tok.content.clone()], tok.text);
                            }
                        }
                        for s in e.name_span.iter().chain(e.inline_comment.iter()) {
                            check(t, s);
                        }
                    }
                    Line::Comment(c) => {
                        check(t, &c.line);
                        check(t, &c.body);
                    }
                    Line::Invalid { line, .. } => check(t, &line),
                }
            }
        }

        proptest! {
            #[test]
            fn never_panics_and_spans_are_valid(t in "\\PC*") {
                check_all(&t);
            }

            #[test]
            fn yarnrc_like_input(t in "(\u{feff}?[ ]*\"?[a-z/:_\\\\\"]*\"?:?[ \t]*\"?[a-zé0-9\\\\\"#]*\"?[ ]*(#.*)?(\r\n|\n))*") {
                check_all(&t);
            }
        }
    }
}
