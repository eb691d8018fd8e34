//! A focused reader for Jenkinsfiles: Groovy tokens with byte spans, not a Groovy interpreter.
//!
//! It knows what the Jenkins checks need to find steps and their scripts: identifiers,
//! punctuation, comments, and the string literals (`'...'`, `"..."` with `${...}` interpolation,
//! `'''...'''`, `"""..."""`, slashy `/.../` and dollar-slashy `$/.../$`) whose decoded value
//! maps back to the file through a [`MappedText`]. A `/` opens a slashy string where an operand
//! is expected (after `=`, `(`, `,`, `==~`, `return`, ...) and is a division sign after an operand,
//! as Groovy's own grammar decides. Anything it cannot read whole (an unterminated string or
//! comment, unbalanced brackets) is a [`ParseError`]: a half-read file would give findings about
//! the wrong text.

use super::ParseError;
use crate::source::{MappedText, Span};

/// How a string literal is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delim {
    Single,
    Double,
    TripleSingle,
    TripleDouble,
    /// `/.../`: only `\/` is an escape; may span lines.
    Slashy,
    /// `$/.../$`: `$$` and `$/` are its escapes; may span lines.
    DollarSlashy,
}

impl Delim {
    fn open_len(self) -> usize {
        match self {
            Delim::Single | Delim::Double | Delim::Slashy => 1,
            Delim::TripleSingle | Delim::TripleDouble => 3,
            Delim::DollarSlashy => 2,
        }
    }

    /// GStrings: `$name` and `${expr}` are interpolated by Groovy.
    pub fn interpolates(self) -> bool {
        matches!(
            self,
            Delim::Double | Delim::TripleDouble | Delim::Slashy | Delim::DollarSlashy
        )
    }

    /// Written as a triple-quoted (multi-line) string.
    pub fn is_block(self) -> bool {
        matches!(self, Delim::TripleSingle | Delim::TripleDouble)
    }
}

/// A string literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GString {
    pub delim: Delim,
    /// Between the delimiters.
    pub content: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    Str(GString),
    /// One of `{ } ( ) [ ] , : = + . ;` and any other symbol character.
    Punct(char),
    Number,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    /// The whole token (a string with its delimiters).
    pub span: Span,
}

impl Token {
    pub fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }

    pub fn is(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }

    pub fn string(&self) -> Option<&GString> {
        match &self.tok {
            Tok::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Reads the tokens of `text`, checking that brackets balance.
pub fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut stack: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    if text.starts_with("#!") {
        i = text.find('\n').unwrap_or(text.len());
    }
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map(|n| i + n).unwrap_or(bytes.len());
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(n) => i = i + 2 + n + 2,
                None => return Err(ParseError::new("unterminated /* comment", Some(i..i + 2))),
            },
            b'/' if operand_expected(out.last()) => {
                let end = slashy_end(text, i)?;
                out.push(Token {
                    tok: Tok::Str(GString {
                        delim: Delim::Slashy,
                        content: i + 1..end - 1,
                    }),
                    span: i..end,
                });
                i = end;
            }
            b'\'' | b'"' => {
                let triple = bytes.get(i + 1) == Some(&b) && bytes.get(i + 2) == Some(&b);
                let delim = match (b, triple) {
                    (b'\'', false) => Delim::Single,
                    (b'\'', true) => Delim::TripleSingle,
                    (_, false) => Delim::Double,
                    (_, true) => Delim::TripleDouble,
                };
                let (content, end) = string_end(text, i, delim)?;
                out.push(Token {
                    tok: Tok::Str(GString { delim, content }),
                    span: i..end,
                });
                i = end;
            }
            b'$' if bytes.get(i + 1) == Some(&b'/') => {
                let end = dollar_slashy_end(text, i)?;
                out.push(Token {
                    tok: Tok::Str(GString {
                        delim: Delim::DollarSlashy,
                        content: i + 2..end - 2,
                    }),
                    span: i..end,
                });
                i = end;
            }
            b'{' | b'(' | b'[' => {
                stack.push((b, i));
                out.push(punct(b, i));
                i += 1;
            }
            b'}' | b')' | b']' => {
                let open = match b {
                    b'}' => b'{',
                    b')' => b'(',
                    _ => b'[',
                };
                match stack.pop() {
                    Some((o, _)) if o == open => {}
                    Some((o, at)) => {
                        return Err(ParseError::new(
                            format!(
                                "`{}` closes the `{}` opened on byte {at}: unbalanced brackets",
                                b as char, o as char
                            ),
                            Some(i..i + 1),
                        ))
                    }
                    None => {
                        return Err(ParseError::new(
                            format!("`{}` closes nothing: unbalanced brackets", b as char),
                            Some(i..i + 1),
                        ))
                    }
                }
                out.push(punct(b, i));
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$')
                {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Ident(text[start..i].to_string()),
                    span: start..i,
                });
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Number,
                    span: start..i,
                });
            }
            c if c.is_ascii() => {
                out.push(punct(c, i));
                i += 1;
            }
            _ => {
                // A non-ASCII character outside a string (an identifier letter, a symbol):
                // nothing the checks look for.
                let len = text[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                i += len;
            }
        }
    }
    if let Some((open, at)) = stack.pop() {
        return Err(ParseError::new(
            format!("`{}` is never closed: unbalanced brackets", open as char),
            Some(at..at + 1),
        ));
    }
    Ok(out)
}

/// Whether the token before a `/` leaves Groovy expecting an operand, so that the `/` opens a
/// slashy string rather than dividing.
fn operand_expected(prev: Option<&Token>) -> bool {
    match prev.map(|t| &t.tok) {
        None => true,
        Some(Tok::Punct(c)) => !matches!(c, ')' | ']' | '}'),
        Some(Tok::Ident(word)) => matches!(
            word.as_str(),
            "return" | "case" | "in" | "assert" | "when" | "instanceof"
        ),
        Some(Tok::Str(_) | Tok::Number) => false,
    }
}

/// The byte after the `/` closing the slashy string that opens at `start`.
fn slashy_end(text: &str, start: usize) -> Result<usize, ParseError> {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if bytes.get(i + 1) == Some(&b'/') => i += 2,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                i = interpolation_end(text, i + 2).ok_or_else(|| {
                    ParseError::new("unterminated ${ in a slashy string", Some(i..i + 2))
                })?;
            }
            b'/' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(ParseError::new(
        "unterminated slashy string (a `/` that opens a /.../ string is never closed)",
        Some(start..start + 1),
    ))
}

/// The byte after the `/$` closing the dollar-slashy string that opens at `start` (`$$` and
/// `$/` are escapes inside it).
fn dollar_slashy_end(text: &str, start: usize) -> Result<usize, ParseError> {
    let bytes = text.as_bytes();
    let mut i = start + 2;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if matches!(bytes.get(i + 1), Some(b'$' | b'/')) => i += 2,
            b'/' if bytes.get(i + 1) == Some(&b'$') => return Ok(i + 2),
            _ => i += 1,
        }
    }
    Err(ParseError::new(
        "unterminated $/ string",
        Some(start..start + 2),
    ))
}

fn punct(b: u8, at: usize) -> Token {
    Token {
        tok: Tok::Punct(b as char),
        span: at..at + 1,
    }
}

/// The content span and end of the string literal opening at `start`.
fn string_end(text: &str, start: usize, delim: Delim) -> Result<(Span, usize), ParseError> {
    let bytes = text.as_bytes();
    let quote = bytes[start];
    let open = delim.open_len();
    let mut i = start + open;
    let unterminated = || {
        ParseError::new(
            "unterminated string (unbalanced quotes)",
            Some(start..start + open),
        )
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' {
            i += 2;
            continue;
        }
        if b == b'\n' && !delim.is_block() {
            return Err(unterminated());
        }
        if b == b'$' && delim.interpolates() && bytes.get(i + 1) == Some(&b'{') {
            i = interpolation_end(text, i + 2).ok_or_else(unterminated)?;
            continue;
        }
        if b == quote {
            let closes = if delim.is_block() {
                bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote)
            } else {
                true
            };
            if closes {
                return Ok((start + open..i, i + open));
            }
        }
        i += 1;
    }
    Err(unterminated())
}

/// The byte after the `}` closing a `${` whose body starts at `i`.
fn interpolation_end(text: &str, mut i: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            q @ (b'\'' | b'"') => {
                // A quoted string inside the expression (`${x ?: 'a}b'}`).
                i += 1;
                while i < bytes.len() && bytes[i] != q && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\n' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The value of `s` as Groovy decodes its escapes, after `prefix` (synthetic text), mapped back
/// to the file. `${...}` interpolations stay as written: for a shell script they read the same
/// variable the shell would.
pub fn decode(text: &str, s: &GString, prefix: &str) -> MappedText {
    let mut m = MappedText::new();
    m.push_synthetic(prefix);
    let Some(body) = text.get(s.content.clone()) else {
        return m;
    };
    if matches!(s.delim, Delim::Slashy | Delim::DollarSlashy) {
        decode_slashy(text, s, &mut m);
        return m;
    }
    let base = s.content.start;
    let bytes = body.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        m.push_source(text, base + run..base + i);
        let next = body[i + 1..].chars().next();
        let (replacement, len): (Option<String>, usize) = match next {
            Some('n') => (Some("\n".into()), 2),
            Some('t') => (Some("\t".into()), 2),
            Some('r') => (Some("\r".into()), 2),
            Some('b') => (Some("\u{8}".into()), 2),
            Some('f') => (Some("\u{c}".into()), 2),
            Some('s') => (Some(" ".into()), 2),
            Some(c @ ('\\' | '\'' | '"' | '$')) => (Some(c.to_string()), 2),
            // A backslash at a line end joins the lines (triple-quoted strings).
            Some('\n') => (Some(String::new()), 2),
            Some('\r') if body[i + 2..].starts_with('\n') => (Some(String::new()), 3),
            Some('u') => {
                let hex = body.get(i + 2..i + 6).unwrap_or("");
                match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                    Some(c) if hex.len() == 4 => (Some(c.to_string()), 6),
                    _ => (None, 1),
                }
            }
            Some(c) => (None, 1 + c.len_utf8()),
            None => (None, 1),
        };
        match replacement {
            Some(r) => m.push_synthetic(&r),
            // Not an escape Groovy knows: kept as written.
            None => m.push_source(text, base + i..base + (i + len).min(bytes.len())),
        }
        i = (i + len).min(bytes.len());
        run = i;
    }
    m.push_source(text, base + run..base + bytes.len());
    m
}

/// Slashy strings have one escape each (`\/`; `$$` and `$/` in dollar-slashy ones), every other
/// character is itself.
fn decode_slashy(text: &str, s: &GString, m: &mut MappedText) {
    let escapes: &[&str] = match s.delim {
        Delim::Slashy => &["\\/"],
        _ => &["$$", "$/"],
    };
    let base = s.content.start;
    let body = text.get(s.content.clone()).unwrap_or("");
    let mut run = 0;
    let mut i = 0;
    while i < body.len() {
        match escapes.iter().find(|e| body[i..].starts_with(**e)) {
            Some(e) => {
                m.push_source(text, base + run..base + i);
                m.push_synthetic(&e[1..]);
                i += 2;
                run = i;
            }
            None => i += body[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    m.push_source(text, base + run..base + body.len());
}

/// Whether the content of `s` is written without escapes (its decoded value is its text).
pub fn is_verbatim(text: &str, s: &GString) -> bool {
    text.get(s.content.clone())
        .is_some_and(|body| match s.delim {
            Delim::Slashy => !body.contains("\\/"),
            Delim::DollarSlashy => !body.contains("$$") && !body.contains("$/"),
            _ => !body.contains('\\'),
        })
}

/// Replacing `span` by `replacement` keeps the Jenkinsfile readable and means the same: the span
/// lies inside one string literal written without escapes, and the replacement has no character
/// that would end the string or change what Groovy does with it.
pub fn edit_is_safe(text: &str, tokens: &[Token], span: &Span, replacement: &str) -> bool {
    let Some(s) = tokens
        .iter()
        .filter_map(Token::string)
        .find(|s| s.content.start <= span.start && span.end <= s.content.end)
    else {
        return false;
    };
    if !is_verbatim(text, s) {
        return false;
    }
    let forbidden: &[char] = match s.delim {
        Delim::Single | Delim::TripleSingle => &['\'', '\\', '\n'],
        Delim::Double | Delim::TripleDouble => &['"', '\\', '$', '\n'],
        Delim::Slashy | Delim::DollarSlashy => &['/', '$', '\\', '\n'],
    };
    !replacement.contains(forbidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(text: &str) -> Vec<String> {
        tokenize(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .filter_map(Token::string)
            .map(|s| decode(text, s, "").text)
            .collect()
    }

    #[test]
    fn reads_every_quoting_style_with_escapes() {
        let text = r#"sh 'echo \'a\''
sh "echo \$HOME ${env.X}"
sh '''
  npm publish \
    --access public
'''
sh """echo "${"x"}" """
def r = $/a\b/$
"#;
        assert_eq!(
            strings(text),
            vec![
                "echo 'a'".to_string(),
                "echo $HOME ${env.X}".into(),
                "\n  npm publish     --access public\n".into(),
                "echo \"${\"x\"}\" ".into(),
                "a\\b".into(),
            ]
        );
    }

    #[test]
    fn decoded_text_maps_back_to_the_file() {
        let text = "sh \"echo \\$NPM_TOKEN > .npmrc\"";
        let toks = tokenize(text).unwrap_or_else(|e| panic!("{e}"));
        let s = toks
            .iter()
            .find_map(Token::string)
            .unwrap_or_else(|| panic!("no string"));
        let m = decode(text, s, "");
        let at = m.text.find("NPM_TOKEN").unwrap_or(0);
        assert_eq!(&text[m.to_source(at..at + 9)], "NPM_TOKEN");
        let at = m.text.find(".npmrc").unwrap_or(0);
        assert_eq!(&text[m.to_source(at..at + 6)], ".npmrc");
    }

    #[test]
    fn slashy_strings_are_strings_where_an_operand_is_expected() {
        let text = "def ok = env.TAG ==~ /v\\d+\\/x/\ndef q = /it's \"quoted\"/\ndef half = total / 2 / 1\nsh(/npm publish/)\ndef d = $/a$$b$/c don't/$\n";
        assert_eq!(
            strings(text),
            vec![
                "v\\d+/x".to_string(),
                "it's \"quoted\"".into(),
                "npm publish".into(),
                "a$b/c don't".into(),
            ]
        );
        assert!(tokenize("def r = /never closed\n").is_err());
        assert!(tokenize("def r = $/never closed/\n").is_err());
    }

    #[test]
    fn comments_and_slashes_are_not_strings() {
        let text = "// it's a comment\n/* don't */ def x = 4 / 2 // 'no'\nsh 'ok'";
        assert_eq!(strings(text), vec!["ok".to_string()]);
    }

    #[test]
    fn unbalanced_input_is_an_error_not_a_panic() {
        for bad in [
            "sh 'echo",
            "pipeline { stages {",
            "sh \"${env.X\"",
            "}",
            "stage('a') ]",
            "/* never closed",
            "sh '''never closed",
        ] {
            assert!(tokenize(bad).is_err(), "{bad:?}");
        }
        for ok in ["", "#!groovy\n", "pipeline { agent any }", "é ü 'ß'"] {
            assert!(tokenize(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn safe_edits_stay_inside_an_unescaped_string() {
        let text = "sh 'docker build --build-arg NPM_TOKEN=$NPM_TOKEN .'\nsh \"a \\$B\"";
        let toks = tokenize(text).unwrap_or_else(|e| panic!("{e}"));
        let at = text.find("--build-arg").unwrap_or(0);
        let span = at..at + "--build-arg NPM_TOKEN=$NPM_TOKEN".len();
        assert!(edit_is_safe(
            text,
            &toks,
            &span,
            "--secret id=npm_token,env=NPM_TOKEN"
        ));
        assert!(!edit_is_safe(text, &toks, &span, "it's"));
        assert!(!edit_is_safe(text, &toks, &(0..2), "x"));
        let b = text.find("a \\$B").unwrap_or(0);
        assert!(!edit_is_safe(text, &toks, &(b..b + 1), "c"));
    }
}
