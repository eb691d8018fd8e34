//! `.npmrc` parser that reads the file the way npm does.
//!
//! npm (through `@npmcli/config`) reads `.npmrc` with the `ini` package, whose rules are looser
//! and odder than a typical ini reader; a scanner that disagrees with npm either misses live
//! credentials or reports lines npm never reads. The rules reproduced here:
//!
//! * Lines are split on any run of `\r`/`\n`; a line whose first non-blank character is `;` or
//!   `#` is a comment. JavaScript's notion of whitespace applies (it includes a BOM, so a BOM
//!   before the first key or comment is ignored).
//! * `[name]` alone on a line opens a section; keys below it live in that section.
//! * Otherwise the line is `key=value` split at the first `=`; no `=` means the key is set to
//!   `true`; a line that starts with `=` is ignored.
//! * Keys and values are trimmed. A value (or key) wrapped in `"…"` is JSON-decoded; one wrapped
//!   in `'…'` loses its quotes. An unquoted value ends at the first `;` or `#` (an inline
//!   comment, even without a space before it); `\;`, `\#` and `\\` are escapes.
//! * A key ending in `[]` is an array element.
//!
//! On top of that, keys are split into their npm meaning: nerf-darted registry keys
//! (`//host/path/:_authToken`), package-scope keys (`@scope:registry`) and plain settings.
//! [`env_refs`] and [`bare_dollar_refs`] find environment references the way npm expands them.

use crate::source::Span;

/// A parsed `.npmrc`: every non-blank line, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Npmrc {
    pub lines: Vec<Line>,
}

/// One non-blank line of the file.
// Values are few (one per line or setting) and short-lived; boxing the large variant
// would add an allocation each for no measurable gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Entry(Entry),
    Comment(Comment),
    Section(Section),
    /// A line npm skips without a word: it starts with `=`, or holds a character that stops
    /// npm's line pattern from matching (U+2028/U+2029 after the `=`).
    Ignored(Span),
}

/// A `;` or `#` comment line. Kept because inline suppression comments live in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The whole line, without its terminator.
    pub line: Span,
    /// The comment text after the `;`/`#` marker.
    pub body: Span,
}

/// A `[name]` section header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub line: Span,
    pub name: String,
}

/// A `key=value` line (or a bare `key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The whole line, without its terminator.
    pub line: Span,
    pub key: Key,
    /// `None` for a line without `=`, which npm reads as `key=true`.
    pub value: Option<Value>,
    /// Name of the enclosing `[section]`, if any. npm nests such keys under the section, so a
    /// credential inside a section is not where npm looks for it.
    pub section: Option<String>,
}

/// Where a quoted key or value's quotes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    None,
    Single,
    Double,
}

/// A key as npm reads it, and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key text after unquoting and escape removal, without a trailing `[]`.
    pub text: String,
    /// The key as written, trimmed (quotes and an inline comment included).
    pub raw: Span,
    /// The bytes the key text comes from: inside the quotes, or before an inline comment.
    pub content: Span,
    pub quote: Quote,
    /// `true` when `text` is byte-for-byte `source[content]` (minus `[]`), so offsets into
    /// `text` are offsets into the file from `content.start`.
    pub verbatim: bool,
    /// The key ended in `[]`.
    pub is_array: bool,
    /// The setting name: `_authToken` in `//host/:_authToken`, `registry` in `@s:registry`.
    pub name: String,
    /// Span of `name` in the file, when the key is verbatim.
    pub name_span: Option<Span>,
    pub scope: Scope,
}

/// What a key is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A plain setting such as `registry` or `_authToken`.
    Unscoped,
    /// A nerf-darted key: `//host/path/:name`.
    Registry(RegistryScope),
    /// A package scope: `@scope:registry`.
    Package { scope: String },
}

/// The registry part of a nerf-darted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryScope {
    /// Everything before the final `:name`, e.g. `//registry.npmjs.org/`.
    pub prefix: String,
    /// Host with port, e.g. `registry.npmjs.org` or `localhost:4873`. May hold `${VAR}`.
    pub host: String,
    /// Path from the first `/` after the host, e.g. `/` or `/api/v4/packages/npm/`.
    pub path: String,
    /// `https:` when the key was written as a full URL. npm only consults keys without a
    /// scheme, so such a key is never used for authentication.
    pub scheme: Option<String>,
    /// pnpm's per-package-scope credential (`//host/:@scope:_authToken`, pnpm 11.7+).
    pub package_scope: Option<String>,
    /// Span of `prefix` (scheme included) in the file, when the key is verbatim.
    pub prefix_span: Option<Span>,
}

/// A value as npm reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The value after unquoting and escape removal.
    pub text: String,
    /// The value as written after `=`, trimmed: quotes and an inline comment included. Empty
    /// (at the position after `=`) for `key=`.
    pub raw: Span,
    /// The bytes the value comes from: inside the quotes, or before an inline comment. Replace
    /// this span to change the value while keeping quotes and comment.
    pub content: Span,
    pub quote: Quote,
    /// `true` when `text == source[content]`; see [`Value::file_span`].
    pub verbatim: bool,
    /// An inline comment after an unquoted value, from its `;`/`#` marker.
    pub inline_comment: Option<Span>,
}

impl Value {
    /// File span of `range` (a byte range of `text`), when the value is verbatim.
    pub fn file_span(&self, range: Span) -> Option<Span> {
        super::verbatim_file_span(self.verbatim, &self.content, self.text.len(), range)
    }
}

impl Key {
    /// File span of `range` (a byte range of `text`), when the key is verbatim.
    pub fn file_span(&self, range: Span) -> Option<Span> {
        super::verbatim_file_span(self.verbatim, &self.content, self.text.len(), range)
    }

    /// The registry scope of a nerf-darted key.
    pub fn registry(&self) -> Option<&RegistryScope> {
        match &self.scope {
            Scope::Registry(r) => Some(r),
            _ => None,
        }
    }
}

impl Npmrc {
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

/// JavaScript's `\s` and `String.prototype.trim` whitespace. Differs from Rust's: it includes
/// U+FEFF (so a BOM is trimmed) and excludes U+0085.
pub fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// The span of `text[span]` with JavaScript whitespace trimmed from both ends.
fn trim_span(text: &str, span: Span) -> Span {
    let Some(s) = text.get(span.clone()) else {
        return span.start..span.start;
    };
    let lead = s.len() - s.trim_start_matches(is_js_space).len();
    let trimmed = s.trim_matches(is_js_space);
    let start = span.start + lead;
    start..start + trimmed.len()
}

/// Parses `.npmrc` text. Never fails: npm itself accepts any text.
pub fn parse(text: &str) -> Npmrc {
    parse_inner(text, false)
}

/// Parses `.npmrc` text whose leading UTF-8 BOM was removed. npm reads the BOM as part of the
/// first line, where it is trimmed as whitespace everywhere but in front of `[`: the section
/// pattern is anchored, so `\u{feff}[name]` opens no section and the keys below stay live.
pub fn parse_after_bom(text: &str) -> Npmrc {
    parse_inner(text, true)
}

fn parse_inner(text: &str, after_bom: bool) -> Npmrc {
    let mut lines = Vec::new();
    let mut section: Option<String> = None;
    for line in split_lines(text) {
        let behind_bom = after_bom && line.start == 0;
        if let Some(parsed) = parse_line(text, line, &mut section, behind_bom) {
            lines.push(parsed);
        }
    }
    Npmrc { lines }
}

/// Spans of the maximal runs of characters other than `\r` and `\n` (npm splits on
/// `/[\r\n]+/`, so CRLF, lone CR and blank lines all just separate lines).
fn split_lines(text: &str) -> impl Iterator<Item = Span> + '_ {
    let bytes = text.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() && matches!(bytes.get(pos), Some(b'\r' | b'\n')) {
            pos += 1;
        }
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        while pos < bytes.len() && !matches!(bytes.get(pos), Some(b'\r' | b'\n')) {
            pos += 1;
        }
        Some(start..pos)
    })
}

fn parse_line(
    text: &str,
    line: Span,
    section: &mut Option<String>,
    behind_bom: bool,
) -> Option<Line> {
    let s = text.get(line.clone())?;
    let body = s.trim_start_matches(is_js_space);
    if body.is_empty() {
        return None;
    }
    if body.starts_with(';') || body.starts_with('#') {
        let marker = line.start + (s.len() - body.len());
        return Some(Line::Comment(Comment {
            line: line.clone(),
            body: marker + 1..line.end,
        }));
    }
    // Section headers must start in column 1: the pattern is anchored `^\[`.
    if let Some(rest) = s.strip_prefix('[').filter(|_| !behind_bom) {
        let trailing = rest.trim_end_matches(is_js_space);
        if let Some(inner) = trailing.strip_suffix(']') {
            if !inner.contains(']') {
                let inner_span = line.start + 1..line.start + 1 + inner.len();
                let name = unquote(text, inner_span).text;
                *section = Some(name.clone());
                return Some(Line::Section(Section { line, name }));
            }
        }
    }
    if s.starts_with('=') {
        return Some(Line::Ignored(line));
    }
    let (key_span, value_span) = match s.find('=') {
        Some(eq) => {
            let after = &s[eq + 1..];
            // `(.*)$` cannot cross these JavaScript line terminators, so the line never matches.
            if after.contains(['\u{2028}', '\u{2029}']) {
                return Some(Line::Ignored(line));
            }
            (
                line.start..line.start + eq,
                Some(line.start + eq + 1..line.end),
            )
        }
        None => (line.clone(), None),
    };
    let key = parse_key(text, key_span);
    let value = value_span.map(|span| {
        let u = unquote(text, span);
        Value {
            text: u.text,
            raw: u.raw,
            content: u.content,
            quote: u.quote,
            verbatim: u.verbatim,
            inline_comment: u.comment,
        }
    });
    Some(Line::Entry(Entry {
        line,
        key,
        value,
        section: section.clone(),
    }))
}

/// Result of the `ini` package's `unsafe()` on a key or value.
struct Unquoted {
    text: String,
    raw: Span,
    content: Span,
    quote: Quote,
    verbatim: bool,
    comment: Option<Span>,
}

/// `ini`'s `unsafe()`: trim, then JSON-decode a quoted string or cut an unquoted one at its
/// first unescaped `;`/`#`.
fn unquote(text: &str, span: Span) -> Unquoted {
    let raw = trim_span(text, span);
    let s = text.get(raw.clone()).unwrap_or("");
    let first = s.chars().next();
    let last = s.chars().next_back();
    let quoted = match (first, last) {
        (Some('"'), Some('"')) => Some(Quote::Double),
        (Some('\''), Some('\'')) => Some(Quote::Single),
        _ => None,
    };
    match quoted {
        Some(Quote::Double) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(serde_json::Value::String(decoded)) => {
                let content = inner_span(&raw);
                let verbatim = text.get(content.clone()) == Some(decoded.as_str());
                Unquoted {
                    text: decoded,
                    raw,
                    content,
                    quote: Quote::Double,
                    verbatim,
                    comment: None,
                }
            }
            // JSON.parse failed (or a lone `"`): npm keeps the text, quotes and all.
            _ => Unquoted {
                text: s.to_owned(),
                raw: raw.clone(),
                content: raw,
                quote: Quote::None,
                verbatim: true,
                comment: None,
            },
        },
        Some(_) => {
            let content = inner_span(&raw);
            let inner = text.get(content.clone()).unwrap_or("");
            // npm strips the single quotes, then still tries JSON.parse on what is left.
            let (decoded, verbatim) = match serde_json::from_str::<serde_json::Value>(inner) {
                Ok(serde_json::Value::String(d)) => {
                    let v = d == inner;
                    (d, v)
                }
                _ => (inner.to_owned(), true),
            };
            Unquoted {
                text: decoded,
                raw,
                content,
                quote: Quote::Single,
                verbatim,
                comment: None,
            }
        }
        _ => unescape_unquoted(s, raw),
    }
}

/// Span inside a pair of one-byte quotes; empty for a lone quote.
fn inner_span(raw: &Span) -> Span {
    if raw.end >= raw.start + 2 {
        raw.start + 1..raw.end - 1
    } else {
        let p = (raw.start + 1).min(raw.end);
        p..p
    }
}

fn unescape_unquoted(s: &str, raw: Span) -> Unquoted {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    let mut had_escape = false;
    let mut cut = s.len();
    for (i, c) in s.char_indices() {
        if escaped {
            if !matches!(c, '\\' | ';' | '#') {
                out.push('\\');
            } else {
                had_escape = true;
            }
            out.push(c);
            escaped = false;
        } else if c == ';' || c == '#' {
            cut = i;
            break;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    if escaped {
        out.push('\\');
    }
    let before = trim_span(s, 0..cut);
    let content = raw.start + before.start..raw.start + before.end;
    let text = out.trim_matches(is_js_space).to_owned();
    let comment = (cut < s.len()).then(|| raw.start + cut..raw.end);
    Unquoted {
        verbatim: !had_escape,
        text,
        raw,
        content,
        quote: Quote::None,
        comment,
    }
}

fn parse_key(text: &str, span: Span) -> Key {
    let u = unquote(text, span);
    let mut key_text = u.text;
    let is_array = key_text.len() > 2 && key_text.ends_with("[]");
    if is_array {
        key_text.truncate(key_text.len() - 2);
    }
    // Offsets into `key_text` map to the file only when it is a verbatim prefix of content.
    let meaning = key_meaning(&key_text, u.verbatim.then_some(u.content.start));
    Key {
        name_span: meaning.name_span,
        name: meaning.name,
        scope: meaning.scope,
        text: key_text,
        raw: u.raw,
        content: u.content,
        quote: u.quote,
        verbatim: u.verbatim,
        is_array,
    }
}

/// What a config key means to npm: its setting name and what it is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMeaning {
    pub name: String,
    pub name_span: Option<Span>,
    pub scope: Scope,
}

/// Interprets a key (`//host/path/:_authToken`, `@scope:registry`, `registry`). Yarn v1's
/// `.yarnrc` uses the same key spelling, so its parser shares this. `file_start` is the file
/// offset of the key's first byte when the key text is verbatim from the file; spans are
/// only computed then.
pub fn key_meaning(key_text: &str, file_start: Option<usize>) -> KeyMeaning {
    let at = |r: Span| -> Option<Span> {
        let start = file_start?;
        (r.start <= r.end && r.end <= key_text.len()).then(|| start + r.start..start + r.end)
    };
    let (name_range, scope) = split_key(key_text);
    let name = key_text.get(name_range.clone()).unwrap_or("").to_owned();
    let scope = match scope {
        KeyScope::Unscoped => Scope::Unscoped,
        KeyScope::Package(r) => Scope::Package {
            scope: key_text.get(r).unwrap_or("").to_owned(),
        },
        KeyScope::Registry {
            prefix,
            scheme,
            host,
            path,
            package_scope,
        } => Scope::Registry(RegistryScope {
            prefix: key_text.get(prefix.clone()).unwrap_or("").to_owned(),
            host: key_text.get(host).unwrap_or("").to_owned(),
            path: key_text.get(path).unwrap_or("").to_owned(),
            scheme: scheme.and_then(|r| key_text.get(r)).map(str::to_owned),
            package_scope: package_scope
                .and_then(|r| key_text.get(r))
                .map(str::to_owned),
            prefix_span: at(prefix),
        }),
    };
    KeyMeaning {
        name,
        name_span: at(name_range),
        scope,
    }
}

/// Key structure as byte ranges of the key text.
enum KeyScope {
    Unscoped,
    Package(Span),
    Registry {
        /// Up to (not including) the `:` before the name, scheme included.
        prefix: Span,
        scheme: Option<Span>,
        host: Span,
        path: Span,
        package_scope: Option<Span>,
    },
}

/// Splits a key into its setting name and scope. Returns the name's range and the scope.
fn split_key(key: &str) -> (Span, KeyScope) {
    let whole = 0..key.len();
    let (scheme, after_scheme) = if let Some(i) = key.find("://") {
        let head = &key[..i];
        if matches!(head.to_ascii_lowercase().as_str(), "http" | "https") {
            (Some(0..i + 1), i + 1)
        } else {
            (None, 0)
        }
    } else {
        (None, 0)
    };
    if key[after_scheme..].starts_with("//") {
        let Some(colon) = last_colon_outside_braces(key, after_scheme + 2) else {
            return (whole, KeyScope::Unscoped);
        };
        let name = colon + 1..key.len();
        let mut prefix_end = colon;
        // pnpm's `//host/:@scope:_authToken`: the registry prefix ends at the `:` before `@`.
        let mut package_scope = None;
        if let Some(at) = key[..colon].rfind(":@") {
            if at > after_scheme + 2 {
                package_scope = Some(at + 1..colon);
                prefix_end = at;
            }
        }
        let host_start = after_scheme + 2;
        let host_end = key[host_start..prefix_end]
            .find('/')
            .map_or(prefix_end, |i| host_start + i);
        return (
            name,
            KeyScope::Registry {
                prefix: 0..prefix_end,
                scheme,
                host: host_start..host_end,
                path: host_end..prefix_end,
                package_scope,
            },
        );
    }
    if key.starts_with('@') {
        if let Some(colon) = key.find(':') {
            return (colon + 1..key.len(), KeyScope::Package(0..colon));
        }
    }
    (whole, KeyScope::Unscoped)
}

/// The last `:` at or after `from` that is not inside a `${…}` reference (a port or a
/// `${VAR:-x}` must not be taken for the name separator).
fn last_colon_outside_braces(key: &str, from: usize) -> Option<usize> {
    let bytes = key.as_bytes();
    let mut depth = 0usize;
    let mut found = None;
    let mut i = from;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'$') if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            Some(b'}') if depth > 0 => depth -= 1,
            Some(b':') if depth == 0 => found = Some(i),
            _ => {}
        }
        i += 1;
    }
    found
}

/// An environment reference npm expands: `${NAME}` or `${NAME?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRef {
    /// Byte range of the whole `${…}` in the searched text.
    pub range: Span,
    pub name: String,
    /// `${NAME?}`: empty when unset (npm 11.6.0+); plain `${NAME}` stays literal when unset.
    pub optional: bool,
    /// Preceded by an odd number of backslashes: npm drops one and keeps the text literally.
    pub escaped: bool,
}

/// The `${…}` references in `s` as npm's `envReplace` sees them: a name of any characters but
/// `$`, `{`, `}` and `?`, an optional `?`, and backslash escaping.
pub fn env_refs(s: &str) -> Vec<EnvRef> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(rel) = s.get(i..).and_then(|t| t.find("${")) {
        let start = i + rel;
        i = start + 2;
        let name_start = start + 2;
        let Some(name_len) = s
            .get(name_start..)
            .and_then(|t| t.find(['$', '{', '}', '?']))
        else {
            break;
        };
        if name_len == 0 {
            continue;
        }
        let name_end = name_start + name_len;
        let optional = bytes.get(name_end) == Some(&b'?');
        let close = if optional { name_end + 1 } else { name_end };
        if bytes.get(close) != Some(&b'}') {
            continue;
        }
        let backslashes = bytes
            .get(..start)
            .unwrap_or(&[])
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        out.push(EnvRef {
            range: start..close + 1,
            name: s.get(name_start..name_end).unwrap_or("").to_owned(),
            optional,
            escaped: backslashes % 2 == 1,
        });
        i = close + 1;
    }
    out
}

/// `$NAME` references without braces. npm does not expand them: the text is sent as is.
/// Returns the byte range of each `$NAME` and the name.
pub fn bare_dollar_refs(s: &str) -> Vec<(Span, String)> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    for (i, _) in s.match_indices('$') {
        let first = bytes.get(i + 1).copied();
        if !matches!(first, Some(b) if b.is_ascii_alphabetic() || b == b'_') {
            continue;
        }
        let len = bytes
            .get(i + 1..)
            .unwrap_or(&[])
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        let name = s.get(i + 1..i + 1 + len).unwrap_or("").to_owned();
        out.push((i..i + 1 + len, name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<Entry> {
        parse(text).entries().cloned().collect()
    }

    fn one(text: &str) -> Entry {
        let e = entries(text);
        assert_eq!(e.len(), 1, "{e:#?}");
        e.into_iter().next().unwrap()
    }

    #[test]
    fn plain_key_value_with_spaces() {
        let t = "registry = https://registry.npmjs.org/ \n";
        let e = one(t);
        assert_eq!(e.key.text, "registry");
        assert_eq!(e.key.name, "registry");
        assert_eq!(e.key.scope, Scope::Unscoped);
        assert_eq!(&t[e.key.raw.clone()], "registry");
        let v = e.value.unwrap();
        assert_eq!(v.text, "https://registry.npmjs.org/");
        assert_eq!(&t[v.raw.clone()], "https://registry.npmjs.org/");
        assert_eq!(v.content, v.raw);
        assert_eq!(&t[e.line], "registry = https://registry.npmjs.org/ ");
    }

    #[test]
    fn nerf_darted_token_key() {
        let t = "//registry.npmjs.org/:_authToken=npm_abc\n";
        let e = one(t);
        assert_eq!(e.key.name, "_authToken");
        assert_eq!(&t[e.key.name_span.clone().unwrap()], "_authToken");
        let r = e.key.registry().unwrap();
        assert_eq!(r.prefix, "//registry.npmjs.org/");
        assert_eq!(r.host, "registry.npmjs.org");
        assert_eq!(r.path, "/");
        assert_eq!(r.scheme, None);
        assert_eq!(&t[r.prefix_span.clone().unwrap()], "//registry.npmjs.org/");
        assert_eq!(e.value.unwrap().text, "npm_abc");
    }

    #[test]
    fn nerf_dart_with_port_path_and_env() {
        let e = one("//localhost:4873/:_authToken=x");
        let r = e.key.registry().unwrap();
        assert_eq!(r.host, "localhost:4873");
        assert_eq!(e.key.name, "_authToken");

        let e = one("//gitlab.com/api/v4/projects/${CI_PROJECT_ID}/packages/npm/:_authToken=${CI_JOB_TOKEN}");
        let r = e.key.registry().unwrap();
        assert_eq!(r.host, "gitlab.com");
        assert_eq!(r.path, "/api/v4/projects/${CI_PROJECT_ID}/packages/npm/");
        assert_eq!(e.key.name, "_authToken");

        let e = one("//${REGISTRY_HOST:-x}/:_auth=abc");
        assert_eq!(e.key.registry().unwrap().host, "${REGISTRY_HOST:-x}");
        assert_eq!(e.key.name, "_auth");
    }

    #[test]
    fn nerf_dart_with_scheme_and_pnpm_scope() {
        let e = one("https://registry.npmjs.org/:_authToken=x");
        let r = e.key.registry().unwrap();
        assert_eq!(r.scheme.as_deref(), Some("https:"));
        assert_eq!(r.host, "registry.npmjs.org");
        assert_eq!(r.prefix, "https://registry.npmjs.org/");

        let e = one("//npm.pkg.github.com/:@acme:_authToken=x");
        let r = e.key.registry().unwrap();
        assert_eq!(r.prefix, "//npm.pkg.github.com/");
        assert_eq!(r.package_scope.as_deref(), Some("@acme"));
        assert_eq!(e.key.name, "_authToken");
    }

    #[test]
    fn package_scope_key() {
        let e = one("@acme:registry=https://npm.pkg.github.com");
        assert_eq!(
            e.key.scope,
            Scope::Package {
                scope: "@acme".into()
            }
        );
        assert_eq!(e.key.name, "registry");
    }

    #[test]
    fn quoted_values() {
        let t = "a=\"npm_x\\u0041\"\nb='single'\nc = \"plain\" \nd=\"bad\\q\"\n";
        let e = entries(t);
        let a = e[0].value.clone().unwrap();
        assert_eq!(a.text, "npm_xA");
        assert_eq!(a.quote, Quote::Double);
        assert!(!a.verbatim);
        assert_eq!(&t[a.content.clone()], "npm_x\\u0041");
        let b = e[1].value.clone().unwrap();
        assert_eq!(b.text, "single");
        assert_eq!(b.quote, Quote::Single);
        assert_eq!(&t[b.raw.clone()], "'single'");
        assert_eq!(&t[b.content.clone()], "single");
        let c = e[2].value.clone().unwrap();
        assert_eq!(c.text, "plain");
        assert!(c.verbatim);
        // Invalid JSON: npm keeps the raw text, quotes included.
        let d = e[3].value.clone().unwrap();
        assert_eq!(d.text, "\"bad\\q\"");
        assert_eq!(d.quote, Quote::None);
    }

    #[test]
    fn single_quotes_then_json() {
        let e = one("a='\"x\"'");
        assert_eq!(e.value.unwrap().text, "x");
        let e = one("a='");
        let v = e.value.unwrap();
        assert_eq!(v.text, "");
        assert!(v.content.start <= v.content.end);
    }

    #[test]
    fn inline_comments_and_escapes() {
        let t = "a=abc ; note\nb=abc#x\nc=a\\;b\\#c\\\\d\\e\n";
        let e = entries(t);
        let a = e[0].value.clone().unwrap();
        assert_eq!(a.text, "abc");
        assert_eq!(&t[a.content.clone()], "abc");
        assert_eq!(&t[a.inline_comment.clone().unwrap()], "; note");
        assert_eq!(e[1].value.clone().unwrap().text, "abc");
        let c = e[2].value.clone().unwrap();
        assert_eq!(c.text, "a;b#c\\d\\e");
        assert!(!c.verbatim);
    }

    #[test]
    fn comments_sections_arrays_and_bare_keys() {
        let t = "; semi\n  # hash\n[sec]\nk[]=1\nk[]=2\nflag\n=ignored\n[ bad\n";
        let rc = parse(t);
        let comments: Vec<_> = rc.comments().collect();
        assert_eq!(comments.len(), 2);
        assert_eq!(&t[comments[0].body.clone()], " semi");
        assert_eq!(&t[comments[1].body.clone()], " hash");
        let e: Vec<_> = rc.entries().collect();
        assert_eq!(e[0].key.text, "k");
        assert!(e[0].key.is_array);
        assert_eq!(e[0].section.as_deref(), Some("sec"));
        assert_eq!(e[2].key.text, "flag");
        assert_eq!(e[2].value, None);
        // `[ bad` is not a section header: it is read as a bare key.
        assert_eq!(e[3].key.text, "[ bad");
        assert!(rc.lines.iter().any(|l| matches!(l, Line::Ignored(_))));
        assert!(rc
            .lines
            .iter()
            .any(|l| matches!(l, Line::Section(s) if s.name == "sec")));
    }

    #[test]
    fn crlf_bom_and_empty_value() {
        let t = "\u{feff}//r/:_authToken=tok\r\nemail=\r\n";
        let e = entries(t);
        assert_eq!(e[0].key.text, "//r/:_authToken");
        assert_eq!(&t[e[0].line.clone()], "\u{feff}//r/:_authToken=tok");
        assert_eq!(e[0].value.clone().unwrap().text, "tok");
        let v = e[1].value.clone().unwrap();
        assert_eq!(v.text, "");
        assert!(v.raw.is_empty());
    }

    #[test]
    fn bom_before_comment() {
        let rc = parse("\u{feff}# c\n");
        assert_eq!(rc.comments().count(), 1);
    }

    #[test]
    fn quoted_key() {
        let t = "\"//r/:_authToken\" = x";
        let e = one(t);
        assert_eq!(e.key.name, "_authToken");
        assert_eq!(e.key.quote, Quote::Double);
        assert_eq!(&t[e.key.name_span.unwrap()], "_authToken");
    }

    #[test]
    fn separator_line_is_ignored() {
        let rc = parse("a=b\u{2028}c\n");
        assert!(matches!(rc.lines.as_slice(), [Line::Ignored(_)]));
    }

    #[test]
    fn env_references() {
        let r = env_refs("${NPM_TOKEN}");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].name, "NPM_TOKEN");
        assert_eq!(r[0].range, 0..12);
        assert!(!r[0].optional && !r[0].escaped);

        let r = env_refs("a${X?}b\\${Y}c\\\\${Z}${}${A$B}");
        let names: Vec<_> = r
            .iter()
            .map(|e| (e.name.as_str(), e.optional, e.escaped))
            .collect();
        assert_eq!(
            names,
            vec![("X", true, false), ("Y", false, true), ("Z", false, false)]
        );
        assert!(env_refs("${UNCLOSED").is_empty());
    }

    #[test]
    fn bare_dollar_references() {
        let r = bare_dollar_refs("$NPM_TOKEN and ${X} $1 $_a");
        let names: Vec<_> = r.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, vec!["NPM_TOKEN", "_a"]);
        assert_eq!(r[0].0, 0..10);
    }

    #[test]
    fn value_file_span_maps_text_offsets() {
        let t = "//r/:_authToken = \"${NPM_TOKEN}\"";
        let e = one(t);
        let v = e.value.unwrap();
        let r = env_refs(&v.text);
        assert_eq!(&t[v.file_span(r[0].range.clone()).unwrap()], "${NPM_TOKEN}");
    }

    #[test]
    fn a_bom_before_a_section_header_opens_no_section() {
        // Found by the differential test: npm keeps the BOM, so `^\[` does not match.
        let t = "[sec]\n_authToken=x\n";
        let e = parse_after_bom(t);
        assert!(e.entries().all(|e| e.section.is_none()));
        assert_eq!(
            e.entries().next().map(|e| e.key.text.as_str()),
            Some("[sec]")
        );
        assert!(parse(t)
            .entries()
            .all(|e| e.section.as_deref() == Some("sec")));
        // Only the first line is behind the BOM.
        let later = parse_after_bom("a=1\n[sec]\nb=2\n");
        assert_eq!(
            later.entries().last().and_then(|e| e.section.clone()),
            Some("sec".into())
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn check(t: &str, s: &Span) {
            assert!(s.start <= s.end && s.end <= t.len(), "{s:?} in {}", t.len());
            assert!(t.is_char_boundary(s.start) && t.is_char_boundary(s.end));
        }

        fn check_all(t: &str) {
            for line in parse(t).lines {
                match line {
                    Line::Entry(e) => {
                        for s in [&e.line, &e.key.raw, &e.key.content] {
                            check(t, s);
                        }
                        if let Some(s) = &e.key.name_span {
                            check(t, s);
                        }
                        if let Some(r) = e.key.registry() {
                            if let Some(s) = &r.prefix_span {
                                check(t, s);
                            }
                        }
                        if let Some(v) = &e.value {
                            check(t, &v.raw);
                            check(t, &v.content);
                            if let Some(c) = &v.inline_comment {
                                check(t, c);
                            }
                            if v.verbatim {
                                assert_eq!(&t[v.content.clone()], v.text);
                            }
                            for r in env_refs(&v.text) {
                                if let Some(s) = v.file_span(r.range) {
                                    check(t, &s);
                                }
                            }
                        }
                    }
                    Line::Comment(c) => {
                        check(t, &c.line);
                        check(t, &c.body);
                    }
                    Line::Section(s) => check(t, &s.line),
                    Line::Ignored(s) => check(t, &s),
                }
            }
        }

        proptest! {
            #[test]
            fn never_panics_and_spans_are_valid(t in "\\PC*") {
                check_all(&t);
            }

            #[test]
            fn npmrc_like_input(t in "([ \t\u{feff}]*(//[a-z.:${}]*/:)?[_a-zA-Z\\[\\]\"'@:]*[ ]*=?[ ]*[\"'a-z0-9;#\\\\${}?é\u{2028}]*(\r\n|\n|\r))*") {
                check_all(&t);
            }
        }
    }
}
