//! Parsers for every file kind the scanner understands. Each keeps byte spans into the file text
//! and never panics: malformed input becomes a [`ParseError`] for that file.

pub mod bunfig;
pub mod dockerfile;
pub mod dotenv;
pub mod groovy;
pub mod npmrc;
pub mod shell;
pub mod yaml;
pub mod yarnrc;

use crate::source::Span;

/// A file that could not be parsed, with the offending position when one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub span: Option<Span>,
}

impl ParseError {
    pub fn new(message: impl Into<String>, span: Option<Span>) -> Self {
        ParseError {
            message: message.into(),
            span,
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// File span of `range`, a byte range of a decoded value whose `content` span it was copied from
/// verbatim (no quotes or escapes removed); `None` when it was not verbatim or `range` is out of it.
pub(crate) fn verbatim_file_span(
    verbatim: bool,
    content: &Span,
    len: usize,
    range: Span,
) -> Option<Span> {
    if !verbatim || range.start > range.end || range.end > len {
        return None;
    }
    Some(content.start + range.start..content.start + range.end)
}
