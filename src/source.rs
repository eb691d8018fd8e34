//! File text with a line index: the one place where byte spans become 1-based line/column pairs.

use std::ops::Range;

/// A byte range into a file's text. Every parser reports positions as spans; only this module
/// turns them into lines and columns.
pub type Span = Range<usize>;

/// A 1-based line/column position. Columns count characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Start offsets of every line of a text, for span → position lookups.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { starts }
    }

    /// Index (0-based) of the line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// Byte span of line `line` (0-based), without its line terminator.
    pub fn line_span(&self, text: &str, line: usize) -> Span {
        let start = self.starts.get(line).copied().unwrap_or(text.len());
        let mut end = self
            .starts
            .get(line + 1)
            .map(|s| s - 1)
            .unwrap_or(text.len());
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        start..end
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 1-based position of byte `offset`; the column counts characters from the line start.
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.line_of(offset);
        let start = self.starts[line];
        let column = text[start..offset].chars().count() + 1;
        Position {
            line: line + 1,
            column,
        }
    }
}

/// The largest char boundary at or below `offset`.
pub fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_chars() {
        let text = "ab\r\nçd\nx";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 0), Position { line: 1, column: 1 });
        assert_eq!(idx.position(text, 4), Position { line: 2, column: 1 });
        assert_eq!(idx.position(text, 6), Position { line: 2, column: 2 });
        assert_eq!(idx.position(text, 8), Position { line: 3, column: 1 });
        assert_eq!(idx.line_span(text, 0), 0..2);
        assert_eq!(&text[idx.line_span(text, 1)], "çd");
        assert_eq!(idx.line_count(), 3);
    }
}

/// Text assembled from pieces of a file (a Dockerfile instruction with its continuation lines
/// joined, a YAML block scalar with its indentation removed), with a map back to file offsets.
/// Analysers work on `text`; `to_source` turns their spans back into spans of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappedText {
    pub text: String,
    /// Verbatim runs: (offset in `text`, offset in the file, length). Sorted, non-overlapping.
    pieces: Vec<(usize, usize, usize)>,
}

impl MappedText {
    pub fn new() -> Self {
        MappedText::default()
    }

    /// The whole of `source[span]`, copied verbatim.
    pub fn verbatim(source: &str, span: Span) -> Self {
        let mut mapped = MappedText::new();
        mapped.push_source(source, span);
        mapped
    }

    /// Appends `source[span]` verbatim, remembering where it came from.
    pub fn push_source(&mut self, source: &str, span: Span) {
        let Some(piece) = source.get(span.clone()) else {
            return;
        };
        if piece.is_empty() {
            return;
        }
        self.pieces.push((self.text.len(), span.start, piece.len()));
        self.text.push_str(piece);
    }

    /// Appends text that stands for something in the file without being a copy of it (a joining
    /// space, an unescaped quote). It maps to the file position of the nearest preceding piece.
    pub fn push_synthetic(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// The verbatim runs: (offset in `text`, offset in the file, length), sorted.
    pub fn pieces(&self) -> &[(usize, usize, usize)] {
        &self.pieces
    }

    /// File offset of `offset` in `text`. Offsets inside synthetic text map to the end of the
    /// preceding verbatim piece (or the start of the following one when there is none before).
    pub fn offset_to_source(&self, offset: usize) -> usize {
        let idx = self.pieces.partition_point(|&(t, _, _)| t <= offset);
        if idx == 0 {
            return self.pieces.first().map(|&(_, s, _)| s).unwrap_or(0);
        }
        let (t, s, len) = self.pieces[idx - 1];
        s + (offset - t).min(len)
    }

    /// File span of `range` in `text`.
    pub fn to_source(&self, range: Span) -> Span {
        let start = self.offset_to_source(range.start);
        let end = if range.end > range.start {
            self.end_to_source(range.end - 1)
        } else {
            start
        };
        start..end.max(start)
    }

    /// File offset just past the byte at `last` in `text`. A byte of synthetic text ends at its
    /// preceding piece's end: adding one there would step past the piece, and past the file
    /// when the piece ends it (an unterminated heredoc closed by a synthetic marker).
    fn end_to_source(&self, last: usize) -> usize {
        let idx = self.pieces.partition_point(|&(t, _, _)| t <= last);
        if idx == 0 {
            return self.pieces.first().map(|&(_, s, _)| s).unwrap_or(0);
        }
        let (t, s, len) = self.pieces[idx - 1];
        if last - t < len {
            s + (last - t) + 1
        } else {
            s + len
        }
    }
}

#[cfg(test)]
mod mapped_tests {
    use super::*;

    #[test]
    fn synthetic_text_after_the_last_piece_never_maps_past_the_file() {
        // Found by the Dockerfile property test: `RUN E<<E` (heredoc never closed).
        let file = "RUN E<<E";
        let mut m = MappedText::new();
        m.push_source(file, 4..8);
        m.push_synthetic("\nE");
        for i in 0..=m.text.len() {
            let s = m.to_source(0..i);
            assert!(s.end <= file.len(), "{i}: {s:?}");
        }
        assert_eq!(m.to_source(0..m.text.len()), 4..8);
    }

    #[test]
    fn maps_joined_continuation_lines_back_to_the_file() {
        let file = "RUN echo a \\\n    && echo b\n";
        let mut m = MappedText::new();
        m.push_source(file, 4..11);
        m.push_synthetic(" ");
        m.push_source(file, 17..26);
        assert_eq!(m.text, "echo a  && echo b");
        let b = m.text.find("echo b").unwrap();
        assert_eq!(&file[m.to_source(b..b + 6)], "echo b");
        assert_eq!(&file[m.to_source(0..6)], "echo a");
    }
}
