//! YAML with positions: a small owned tree in which every node (and every mapping key) knows its
//! byte span in the file, built from `saphyr-parser`'s event stream.
//!
//! Why our own tree rather than a generic loader: checks report findings on exact bytes (a
//! `NODE_AUTH_TOKEN:` key, line 3 of a `run: |` block), aliases must be expanded under a hard
//! budget (a "billion laughs" file must fail fast, not eat the machine), merge keys must be
//! applied, and GitLab's `!reference` tags must stay visible.
//!
//! Every scalar carries its value as a [`MappedText`], so a range found inside the value (a shell
//! command inside a block scalar) maps back to the file with [`Scalar::to_source`]. Literal and
//! folded block scalars map exactly line by line; plain and quoted scalars map exactly except on
//! escape sequences, which map to a neighbouring file position.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use saphyr_parser::{
    Event, Parser, ScalarStyle as ParserStyle, ScanError, Span as ParserSpan, Tag as ParserTag,
};

use super::ParseError;
use crate::source::{MappedText, Span};

/// Most nodes that alias expansion may produce in one file. Real CI files expand a few hundred;
/// anything past this is an alias bomb or not worth scanning.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Deepest nesting accepted. The tree is built (and dropped) recursively, so unbounded nesting
/// (`[[[[...`) would overflow the stack; no real configuration comes close.
pub const MAX_DEPTH: usize = 128;

/// saphyr rejects a tab right after `:` although YAML allows it as separation space; we blank
/// such tabs (one byte for one byte, so every offset stays valid) and retry this many times.
const MAX_TAB_RETRIES: usize = 64;

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` block.
    Literal,
    /// `>` block.
    Folded,
}

/// A scalar value, with a map from the value's text back to the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    style: ScalarStyle,
    /// `mapped.text` is exactly the scalar's value.
    mapped: MappedText,
    /// Verbatim runs (offset in value, offset in file, length): our own copy of the map, so that
    /// [`Scalar::to_source`] can keep every result on a char boundary.
    runs: Vec<(usize, usize, usize)>,
    /// Where the scalar is written; the fallback position for a value made only of escapes.
    span: Span,
    /// False when the approximate character-by-character fallback built the map.
    exact: bool,
}

impl Scalar {
    /// A value read by another parser (a string literal of a Jenkinsfile), so that the CI checks
    /// can analyse it like a YAML scalar. `span` is where it is written.
    pub fn from_mapped(style: ScalarStyle, mapped: MappedText, span: Span) -> Scalar {
        let runs = mapped.pieces().to_vec();
        Scalar {
            style,
            mapped,
            runs,
            span,
            exact: true,
        }
    }

    pub fn value(&self) -> &str {
        &self.mapped.text
    }

    pub fn style(&self) -> ScalarStyle {
        self.style
    }

    /// True when the map follows YAML's folding and escape rules exactly; false when the value
    /// could only be aligned approximately with the file (spans then point near, not at).
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// The value as text assembled from file pieces (see [`MappedText`]).
    pub fn mapped(&self) -> &MappedText {
        &self.mapped
    }

    /// File span of `range` (byte offsets into [`Scalar::value`]). Always in bounds and on char
    /// boundaries of the file; exact wherever the value is a verbatim copy of the file, otherwise
    /// the nearest file position (characters produced by escapes or line folding map to an empty
    /// span next to them).
    pub fn to_source(&self, range: Span) -> Span {
        let value = self.value();
        let end = floor_boundary(value, range.end.min(value.len()));
        let start = floor_boundary(value, range.start.min(end));
        let src_start = self.locate(start);
        if end <= start {
            return src_start..src_start;
        }
        // The end is located through the last character of the range so that a range ending at a
        // line end does not jump to the next line's indentation.
        let last = value
            .get(..end)
            .and_then(|s| s.char_indices().next_back())
            .map(|(i, _)| i)
            .unwrap_or(start);
        let src_end = match self.run_containing(last) {
            Some((t, s, _)) => s + (end - t),
            None => self.locate(last),
        };
        src_start..src_end.max(src_start)
    }

    fn run_containing(&self, offset: usize) -> Option<(usize, usize, usize)> {
        let idx = self.runs.partition_point(|&(t, _, _)| t <= offset);
        let run = *self.runs.get(idx.checked_sub(1)?)?;
        (offset < run.0 + run.2).then_some(run)
    }

    /// File offset for value offset `offset`; inside synthetic text, the end of the preceding run
    /// (or the start of the following one).
    fn locate(&self, offset: usize) -> usize {
        if let Some((t, s, _)) = self.run_containing(offset) {
            return s + (offset - t);
        }
        let idx = self.runs.partition_point(|&(t, _, _)| t <= offset);
        let previous = idx
            .checked_sub(1)
            .and_then(|i| self.runs.get(i))
            .map(|&(_, s, l)| s + l);
        let next = self.runs.get(idx).map(|&(_, s, _)| s);
        previous.or(next).unwrap_or(self.span.start)
    }
}

/// What a node holds. Contents are shared (`Arc`), so an alias or an anchor costs one pointer,
/// not a copy of the anchored tree.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar(Arc<Scalar>),
    Sequence(Arc<Vec<Node>>),
    Mapping(Arc<Vec<Entry>>),
}

/// One key/value pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
    /// The pair came from a merge key (`<<: *anchor`); its spans are those of the anchor's text.
    pub merged: bool,
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// Where the node is written. For a node reached through an alias, the alias (`*name`).
    pub span: Span,
    /// Tag as written (`!reference`, `!!str` for the core schema, verbatim tags as is).
    pub tag: Option<String>,
    /// For a node reached through an alias: the span of the anchored node it copies. Its
    /// children keep the spans of the anchored text.
    pub alias_of: Option<Span>,
}

/// One document of a (possibly multi-document) YAML stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub root: Node,
    pub span: Span,
}

impl Node {
    pub fn span(&self) -> Span {
        self.span.clone()
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value of any scalar, whatever its style (a null written as `~` gives `"~"`, an empty
    /// value gives `""`; use [`Node::is_null`] to tell nulls apart).
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().map(Scalar::value)
    }

    /// YAML 1.2 core-schema booleans; quoted `"true"` is a string, not a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        let s = self.as_scalar()?;
        if s.style != ScalarStyle::Plain {
            return None;
        }
        match s.value() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// A plain empty, `~` or `null` scalar.
    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(|s| {
            s.style == ScalarStyle::Plain
                && matches!(s.value(), "" | "~" | "null" | "Null" | "NULL")
        })
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar(_))
    }

    pub fn is_sequence(&self) -> bool {
        matches!(self.kind, NodeKind::Sequence(_))
    }

    pub fn is_mapping(&self) -> bool {
        matches!(self.kind, NodeKind::Mapping(_))
    }

    pub fn as_sequence(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Sequence(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    /// Items of a sequence; nothing for any other node.
    pub fn iter_seq(&self) -> std::slice::Iter<'_, Node> {
        self.as_sequence().unwrap_or(&[]).iter()
    }

    /// Key/value pairs of a mapping (merged pairs included); nothing for any other node.
    pub fn iter_map(&self) -> impl Iterator<Item = (&Node, &Node)> {
        self.as_mapping()
            .unwrap_or(&[])
            .iter()
            .map(|e| (&e.key, &e.value))
    }

    /// The entry whose key is the scalar `key` (the first one if the key is repeated).
    pub fn get_entry(&self, key: &str) -> Option<&Entry> {
        self.as_mapping()?
            .iter()
            .find(|e| e.key.as_str() == Some(key))
    }

    /// The value under the scalar key `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.get_entry(key).map(|e| &e.value)
    }

    /// Span of the key `key` itself (for findings that point at `NPM_TOKEN:` rather than its
    /// value).
    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.get_entry(key).map(|e| e.key.span())
    }

    /// Follows `path` from this node: a segment is a mapping key, or an index into a sequence.
    pub fn get_path(&self, path: &[&str]) -> Option<&Node> {
        let mut node = self;
        for segment in path {
            node = match &node.kind {
                NodeKind::Mapping(_) => node.get(segment)?,
                NodeKind::Sequence(items) => items.get(segment.parse::<usize>().ok()?)?,
                NodeKind::Scalar(_) => return None,
            };
        }
        Some(node)
    }

    /// Number of nodes in this tree (keys included).
    pub fn node_count(&self) -> usize {
        self.size().0
    }

    /// (node count, height) of this tree.
    fn size(&self) -> (usize, usize) {
        let children: Vec<&Node> = match &self.kind {
            NodeKind::Scalar(_) => Vec::new(),
            NodeKind::Sequence(items) => items.iter().collect(),
            NodeKind::Mapping(entries) => entries.iter().flat_map(|e| [&e.key, &e.value]).collect(),
        };
        children.iter().fold((1, 1), |(count, height), child| {
            let (c, h) = child.size();
            (count + c, height.max(h + 1))
        })
    }
}

impl Document {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.root.get(key)
    }

    pub fn get_path(&self, path: &[&str]) -> Option<&Node> {
        self.root.get_path(path)
    }
}

/// Parses every document of `text`. Never panics; malformed YAML, alias bombs and absurd nesting
/// are a [`ParseError`] pointing at the offending position.
pub fn parse(text: &str) -> Result<Vec<Document>, ParseError> {
    let offsets = Offsets::new(text);
    // `patched` is what saphyr sees; it differs from `text` only by tabs blanked to spaces.
    let mut patched: Option<String> = None;
    for _ in 0..=MAX_TAB_RETRIES {
        let input = patched.as_deref().unwrap_or(text);
        let mut builder = Builder {
            text,
            offsets: &offsets,
            events: Parser::new_from_str(input),
            anchors: HashMap::new(),
            expanded: 0,
            cursor: 0,
        };
        match builder.stream() {
            Ok(docs) => return Ok(docs),
            Err(Failure::Scan(err)) => {
                let Some(tab) = blockable_tab(input, &offsets, &err) else {
                    return Err(scan_error(text, &offsets, &err));
                };
                let mut next = input.to_owned();
                next.replace_range(tab..tab + 1, " ");
                patched = Some(next);
            }
            Err(Failure::Other(err)) => return Err(err),
        }
    }
    Err(ParseError::new(
        "too many tabs after `:` to parse",
        Some(0..0),
    ))
}

/// A tab directly after `:` that saphyr refused: byte offset of the tab.
fn blockable_tab(input: &str, offsets: &Offsets, err: &ScanError) -> Option<usize> {
    if !err
        .info()
        .contains("must be followed by a valid YAML whitespace")
    {
        return None;
    }
    let at = offsets.byte(err.marker().index());
    let tab = at.checked_sub(1)?;
    let colon = tab.checked_sub(1)?;
    let bytes = input.as_bytes();
    (bytes.get(tab) == Some(&b'\t') && bytes.get(colon) == Some(&b':')).then_some(tab)
}

fn scan_error(text: &str, offsets: &Offsets, err: &ScanError) -> ParseError {
    let at = offsets.byte(err.marker().index());
    let end = text
        .get(at..)
        .and_then(|rest| rest.chars().next())
        .map(|c| at + c.len_utf8())
        .unwrap_or(at);
    ParseError::new(format!("invalid YAML: {}", err.info()), Some(at..end))
}

enum Failure {
    Scan(ScanError),
    Other(ParseError),
}

fn fail(message: impl Into<String>, span: Span) -> Failure {
    Failure::Other(ParseError::new(message, Some(span)))
}

/// saphyr positions count characters; we need bytes.
enum Offsets {
    Ascii(usize),
    Table(Vec<usize>),
}

impl Offsets {
    fn new(text: &str) -> Self {
        if text.is_ascii() {
            Offsets::Ascii(text.len())
        } else {
            let mut table: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            table.push(text.len());
            Offsets::Table(table)
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match self {
            Offsets::Ascii(len) => char_index.min(*len),
            Offsets::Table(table) => table.get(char_index).or(table.last()).copied().unwrap_or(0),
        }
    }
}

type SpannedEvent<'a> = (Event<'a>, ParserSpan);

struct Builder<'a, 'o> {
    text: &'a str,
    offsets: &'o Offsets,
    events: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// Anchor id → the anchored node with its size.
    anchors: HashMap<usize, Built>,
    /// Nodes produced so far by alias expansion, against [`MAX_ALIAS_NODES`].
    expanded: usize,
    /// Byte end of the last event read: where a block scalar's header search starts.
    cursor: usize,
}

impl<'a> Builder<'a, '_> {
    fn next(&mut self) -> Result<(SpannedEvent<'a>, usize), Failure> {
        match self.events.next() {
            Some(Ok(ev)) => {
                let previous = self.cursor;
                self.cursor = self.offsets.byte(ev.1.end.index()).max(previous);
                Ok((ev, previous))
            }
            Some(Err(err)) => Err(Failure::Scan(err)),
            None => Err(fail(
                "unexpected end of YAML",
                self.text.len()..self.text.len(),
            )),
        }
    }

    fn span(&self, span: &ParserSpan) -> Span {
        let start = self.offsets.byte(span.start.index());
        let end = self.offsets.byte(span.end.index()).max(start);
        start..end
    }

    fn stream(&mut self) -> Result<Vec<Document>, Failure> {
        let mut docs = Vec::new();
        loop {
            let ((event, span), _) = self.next()?;
            match event {
                Event::StreamStart | Event::Nothing => {}
                Event::StreamEnd => return Ok(docs),
                Event::DocumentStart(_) => {
                    let start = self.span(&span).start;
                    docs.push(self.document(start)?);
                }
                _ => return Err(fail("unexpected YAML event", self.span(&span))),
            }
        }
    }

    fn document(&mut self, start: usize) -> Result<Document, Failure> {
        // Anchors do not cross document boundaries.
        self.anchors.clear();
        let (first, previous) = self.next()?;
        let root = if matches!(first.0, Event::DocumentEnd) {
            let at = self.span(&first.1).start;
            let end = self.span(&first.1).end;
            return Ok(Document {
                root: empty_null(at),
                span: start..end.max(start),
            });
        } else {
            self.node(first, previous, 0)?.node
        };
        let ((event, span), _) = self.next()?;
        if !matches!(event, Event::DocumentEnd) {
            return Err(fail("expected the end of the document", self.span(&span)));
        }
        let end = self.span(&span).end.max(root.span.end).max(start);
        Ok(Document {
            root,
            span: start..end,
        })
    }

    fn node(
        &mut self,
        (event, span): SpannedEvent<'a>,
        previous: usize,
        depth: usize,
    ) -> Result<Built, Failure> {
        let here = self.span(&span);
        if depth > MAX_DEPTH {
            return Err(fail("YAML nested too deeply", here));
        }
        let (built, anchor) = match event {
            Event::Alias(id) => return self.alias(id, here, depth),
            Event::Scalar(value, style, anchor, tag) => {
                let node = self.scalar(&value, style, tag.as_deref(), here, previous);
                (Built::leaf(node), anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                let open = flow_open(self.text, &here, b'[');
                let mut items = Vec::new();
                let mut end = here.end;
                let mut size = Size::one();
                loop {
                    let (ev, prev) = self.next()?;
                    if matches!(ev.0, Event::SequenceEnd) {
                        if open.is_some() {
                            end = end.max(self.span(&ev.1).end);
                        }
                        break;
                    }
                    let item = self.node(ev, prev, depth + 1)?;
                    end = end.max(item.node.span.end);
                    size.add_child(&item);
                    items.push(item.node);
                }
                let start = open.unwrap_or(here.end);
                let node = Node {
                    kind: NodeKind::Sequence(Arc::new(items)),
                    span: start..end.max(start),
                    tag: tag.as_deref().map(tag_text),
                    alias_of: None,
                };
                (size.with(node), anchor)
            }
            Event::MappingStart(anchor, tag) => {
                let open = flow_open(self.text, &here, b'{');
                let (entries, mut end, size) = self.mapping_entries(depth)?;
                if open.is_none() {
                    end = end.min(self.text.len());
                }
                let start = open.unwrap_or(here.end);
                let node = Node {
                    kind: NodeKind::Mapping(Arc::new(entries)),
                    span: start..end.max(start),
                    tag: tag.as_deref().map(tag_text),
                    alias_of: None,
                };
                (size.with(node), anchor)
            }
            _ => return Err(fail("unexpected YAML event", here)),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, built.clone());
        }
        Ok(built)
    }

    fn alias(&mut self, id: usize, here: Span, depth: usize) -> Result<Built, Failure> {
        let Some(target) = self.anchors.get(&id) else {
            return Err(fail("alias to an unknown anchor", here));
        };
        // Aliases of aliases can nest deeper than anything written; whoever walks the tree
        // recursively must stay within the same depth bound.
        if depth + target.height > MAX_DEPTH {
            return Err(fail("YAML nested too deeply through aliases", here));
        }
        // The copy itself is a pointer, but a check walking the tree visits every expanded node:
        // that is what the budget bounds.
        self.expanded = self.expanded.saturating_add(target.count);
        if self.expanded > MAX_ALIAS_NODES {
            return Err(fail(
                format!("alias expansion exceeds {MAX_ALIAS_NODES} nodes (alias bomb?)"),
                here,
            ));
        }
        let mut built = target.clone();
        built.node.alias_of = Some(built.node.span.clone());
        built.node.span = here;
        Ok(built)
    }

    /// Reads key/value pairs up to `MappingEnd`, applies merge keys, and returns the entries
    /// with the byte end of the mapping.
    fn mapping_entries(&mut self, depth: usize) -> Result<(Vec<Entry>, usize, Size), Failure> {
        enum Raw {
            // Boxed: a node is much larger than the merge list.
            Explicit(Box<(Node, Node)>),
            Merge(Vec<Node>),
        }
        let mut raw = Vec::new();
        let mut end = 0;
        // Counted over what is written (merge sources included, even where explicit keys
        // override them): an upper bound is all the budget needs.
        let mut size = Size::one();
        let flow_end;
        loop {
            let (ev, prev) = self.next()?;
            if matches!(ev.0, Event::MappingEnd) {
                flow_end = self.span(&ev.1).end;
                break;
            }
            let key = self.node(ev, prev, depth + 1)?;
            let (ev, prev) = self.next()?;
            let value = self.node(ev, prev, depth + 1)?;
            size.add_child(&key);
            size.add_child(&value);
            let (key, value) = (key.node, value.node);
            end = end.max(key.span.end).max(value.span.end);
            if is_merge_key(&key) {
                let sources = match &value.kind {
                    NodeKind::Mapping(_) => Some(vec![value.clone()]),
                    NodeKind::Sequence(items) if items.iter().all(Node::is_mapping) => {
                        Some(items.to_vec())
                    }
                    _ => None,
                };
                if let Some(sources) = sources {
                    raw.push(Raw::Merge(sources));
                    continue;
                }
            }
            raw.push(Raw::Explicit(Box::new((key, value))));
        }
        // Explicit keys win over merged ones wherever they appear; among merged mappings the
        // earlier one wins (YAML merge-key semantics).
        let explicit: HashSet<String> = raw
            .iter()
            .filter_map(|r| match r {
                Raw::Explicit(pair) => pair.0.as_str().map(str::to_owned),
                Raw::Merge(_) => None,
            })
            .collect();
        let mut merged_keys: HashSet<String> = HashSet::new();
        let mut entries = Vec::new();
        for item in raw {
            match item {
                Raw::Explicit(pair) => {
                    let (key, value) = *pair;
                    entries.push(Entry {
                        key,
                        value,
                        merged: false,
                    });
                }
                Raw::Merge(sources) => {
                    for source in sources {
                        let NodeKind::Mapping(source_entries) = &source.kind else {
                            continue;
                        };
                        for e in source_entries.iter() {
                            if let Some(k) = e.key.as_str() {
                                if explicit.contains(k) || !merged_keys.insert(k.to_owned()) {
                                    continue;
                                }
                            }
                            entries.push(Entry {
                                merged: true,
                                ..e.clone()
                            });
                        }
                    }
                }
            }
        }
        // A flow mapping ends at its `}`; a block mapping at the end of its last value (its
        // `MappingEnd` event sits at the next token, possibly lines later).
        let end = match flow_end {
            fe if fe > 0 && self.text.as_bytes().get(fe - 1) == Some(&b'}') => fe.max(end),
            _ => end,
        };
        Ok((entries, end, size))
    }

    fn scalar(
        &self,
        value: &str,
        style: ParserStyle,
        tag: Option<&ParserTag>,
        here: Span,
        previous: usize,
    ) -> Node {
        let style = match style {
            ParserStyle::Plain => ScalarStyle::Plain,
            ParserStyle::SingleQuoted => ScalarStyle::SingleQuoted,
            ParserStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
            ParserStyle::Literal => ScalarStyle::Literal,
            ParserStyle::Folded => ScalarStyle::Folded,
        };
        let text = self.text;
        let (span, pieces) = match style {
            ScalarStyle::Literal | ScalarStyle::Folded => {
                let header = block_header(text, previous, here.start);
                let lines_start = header
                    .and_then(|h| text.get(h..)?.find('\n').map(|n| h + n + 1))
                    .unwrap_or_else(|| line_start(text, here.start))
                    .min(here.end.max(here.start));
                let content_end = trim_end_ws(text, lines_start, here.end);
                let start = header.unwrap_or(here.start);
                let end = content_end.max(start + usize::from(header.is_some()));
                let pieces = map_block(text, lines_start..here.end, value)
                    .unwrap_or_else(|| map_greedy(text, lines_start..here.end, value));
                (start..end.min(text.len()), pieces)
            }
            _ => {
                let mut start = skip_properties(text, here.start, here.end);
                // saphyr places an implicit null (`key:` with nothing after) on the `:`; the
                // natural place is just after it.
                if start == here.end && text.as_bytes().get(start) == Some(&b':') {
                    start += 1;
                }
                let here = here.start..here.end.max(start);
                let region = start..here.end;
                let pieces = map_flow(text, region.clone(), style, value)
                    .unwrap_or_else(|| map_greedy(text, region.clone(), value));
                (region, pieces)
            }
        };
        Node {
            kind: NodeKind::Scalar(Arc::new(pieces.into_scalar(style, span.clone()))),
            span,
            tag: tag.map(tag_text),
            alias_of: None,
        }
    }
}

/// A node with the size of the tree it stands for (aliases expanded).
#[derive(Clone)]
struct Built {
    node: Node,
    count: usize,
    height: usize,
}

impl Built {
    fn leaf(node: Node) -> Self {
        Built {
            node,
            count: 1,
            height: 1,
        }
    }
}

/// Size of a collection being built.
struct Size {
    count: usize,
    height: usize,
}

impl Size {
    fn one() -> Self {
        Size {
            count: 1,
            height: 1,
        }
    }

    fn add_child(&mut self, child: &Built) {
        self.count = self.count.saturating_add(child.count);
        self.height = self.height.max(child.height + 1);
    }

    fn with(self, node: Node) -> Built {
        Built {
            node,
            count: self.count,
            height: self.height,
        }
    }
}

fn empty_null(at: usize) -> Node {
    Node {
        kind: NodeKind::Scalar(Arc::new(
            Pieces::default().into_scalar(ScalarStyle::Plain, at..at),
        )),
        span: at..at,
        tag: None,
        alias_of: None,
    }
}

fn is_merge_key(key: &Node) -> bool {
    key.as_scalar()
        .is_some_and(|s| s.style == ScalarStyle::Plain && s.value() == "<<")
        && key.tag.as_deref().is_none_or(|t| t == "!!merge")
}

fn tag_text(tag: &ParserTag) -> String {
    match tag.handle.as_str() {
        "!" => format!("!{}", tag.suffix),
        "tag:yaml.org,2002:" => format!("!!{}", tag.suffix),
        handle => format!("{handle}{}", tag.suffix),
    }
}

/// For a flow collection (its start event ends on the bracket), the bracket's offset.
fn flow_open(text: &str, here: &Span, bracket: u8) -> Option<usize> {
    let at = here.end.checked_sub(1)?;
    (here.end > here.start && text.as_bytes().get(at) == Some(&bracket)).then_some(at)
}

/// Skips anchors and tags (and the blanks and comments after them) written before a scalar.
fn skip_properties(text: &str, mut pos: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < end && matches!(bytes.get(pos), Some(b'&' | b'!')) {
        while pos < end && !matches!(bytes.get(pos), Some(b' ' | b'\t' | b'\r' | b'\n') | None) {
            pos += 1;
        }
        loop {
            match bytes.get(pos) {
                Some(b' ' | b'\t' | b'\r' | b'\n') if pos < end => pos += 1,
                Some(b'#') if pos < end => {
                    while pos < end && bytes.get(pos) != Some(&b'\n') {
                        pos += 1;
                    }
                }
                _ => break,
            }
        }
    }
    floor_boundary(text, pos.min(end))
}

/// Offset of a block scalar's `|`/`>` indicator, searched from the end of the previous event
/// over `:`, `-`, `?`, blanks and node properties.
fn block_header(text: &str, from: usize, content: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut pos = from;
    while pos < content {
        match bytes.get(pos)? {
            b'|' | b'>' => return Some(pos),
            b':' | b'-' | b'?' | b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'&' | b'!' => {
                while pos < content && !matches!(bytes.get(pos)?, b' ' | b'\t' | b'\r' | b'\n') {
                    pos += 1;
                }
            }
            _ => return None,
        }
    }
    None
}

fn line_start(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .and_then(|s| s.rfind('\n'))
        .map(|n| n + 1)
        .unwrap_or(0)
}

fn trim_end_ws(text: &str, start: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = end.min(text.len());
    while end > start && matches!(bytes.get(end - 1), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        end -= 1;
    }
    end
}

fn floor_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A value being assembled from verbatim file pieces and synthetic text.
struct Pieces {
    mapped: MappedText,
    runs: Vec<(usize, usize, usize)>,
    exact: bool,
}

impl Default for Pieces {
    fn default() -> Self {
        Pieces {
            mapped: MappedText::new(),
            runs: Vec::new(),
            exact: true,
        }
    }
}

impl Pieces {
    fn source(&mut self, text: &str, span: Span) {
        let Some(piece) = text.get(span.clone()) else {
            return;
        };
        if piece.is_empty() {
            return;
        }
        let at = self.mapped.text.len();
        // Adjacent runs are merged to keep the map small.
        match self.runs.last_mut() {
            Some((t, s, l)) if *t + *l == at && *s + *l == span.start => *l += piece.len(),
            _ => self.runs.push((at, span.start, piece.len())),
        }
        self.mapped.push_source(text, span);
    }

    fn synthetic(&mut self, text: &str) {
        self.mapped.push_synthetic(text);
    }

    fn into_scalar(self, style: ScalarStyle, span: Span) -> Scalar {
        Scalar {
            style,
            mapped: self.mapped,
            runs: self.runs,
            span,
            exact: self.exact,
        }
    }
}

/// Lines of `text[region]`, as byte spans without their `\r\n`/`\n`.
fn lines(text: &str, region: Span) -> Vec<Span> {
    let Some(slice) = text.get(region.clone()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut start = region.start;
    for part in slice.split('\n') {
        let end = start + part.len();
        let trimmed = if part.ends_with('\r') { end - 1 } else { end };
        out.push(start..trimmed);
        start = end + 1;
    }
    out
}

/// Maps a literal or folded block: each content line, indentation removed, must appear in the
/// value in order, separated only by the newlines and spaces that chomping and folding produce.
fn map_block(text: &str, region: Span, value: &str) -> Option<Pieces> {
    let mut pieces = Pieces::default();
    let mut p = 0;
    for line in lines(text, region) {
        let content = text.get(line.clone())?;
        let indent = content.len() - content.trim_start_matches(' ').len();
        let core = content.get(indent..)?;
        if core.is_empty() {
            continue;
        }
        let rest = value.get(p..)?;
        let q = p + (rest.len() - rest.trim_start_matches([' ', '\n']).len());
        if !value.get(q..)?.starts_with(core) {
            // Text after the scalar inside the event's span (a trailing comment line) is fine
            // once the whole value has been matched.
            if rest.trim_matches([' ', '\n']).is_empty() {
                break;
            }
            return None;
        }
        // Spaces that belong to the value (extra indentation) map onto the spaces right before
        // the line's text.
        let mut extend = 0;
        while extend < indent
            && q - extend > p
            && value.as_bytes().get(q - extend - 1) == Some(&b' ')
        {
            extend += 1;
        }
        pieces.synthetic(value.get(p..q - extend)?);
        pieces.source(text, line.start + indent - extend..line.end);
        p = q + core.len();
    }
    pieces.synthetic(value.get(p..)?);
    Some(pieces)
}

enum Token {
    Verbatim(Span),
    Synthetic(String),
}

/// Maps a plain or quoted scalar: lines are trimmed and folded (one break → space, blank lines →
/// newlines), `''` and backslash escapes are decoded; whatever does not line up exactly with the
/// value makes the caller fall back to [`map_greedy`].
fn map_flow(text: &str, region: Span, style: ScalarStyle, value: &str) -> Option<Pieces> {
    let inner = match style {
        ScalarStyle::Plain => region,
        _ => {
            if region.end < region.start + 2 {
                return None;
            }
            region.start + 1..region.end - 1
        }
    };
    let all = lines(text, inner);
    let count = all.len();
    let mut pieces = Pieces::default();
    let mut p = 0;
    let mut blanks = 0;
    let mut joined = true; // no separator before the first line
    let bytes = text.as_bytes();
    for (i, line) in all.into_iter().enumerate() {
        let (mut s, mut e) = (line.start, line.end);
        if i > 0 {
            while s < e && matches!(bytes.get(s), Some(b' ' | b'\t')) {
                s += 1;
            }
        }
        let mut escaped_break = false;
        if i + 1 < count {
            let backslashes = text
                .get(s..e)?
                .bytes()
                .rev()
                .take_while(|&b| b == b'\\')
                .count();
            if style == ScalarStyle::DoubleQuoted && backslashes % 2 == 1 {
                escaped_break = true;
                e -= 1;
            } else {
                while e > s && matches!(bytes.get(e - 1), Some(b' ' | b'\t')) {
                    e -= 1;
                }
            }
        }
        if s == e && i > 0 && i + 1 < count && !escaped_break {
            blanks += 1;
            continue;
        }
        if i > 0 {
            let gap = if joined || blanks > 0 {
                "\n".repeat(blanks)
            } else {
                " ".to_owned()
            };
            if !value.get(p..)?.starts_with(gap.as_str()) {
                return None;
            }
            pieces.synthetic(&gap);
            p += gap.len();
        }
        blanks = 0;
        joined = escaped_break;
        for token in flow_tokens(text, s..e, style)? {
            match token {
                Token::Verbatim(span) => {
                    let piece = text.get(span.clone())?;
                    if !value.get(p..)?.starts_with(piece) {
                        return None;
                    }
                    pieces.source(text, span);
                    p += piece.len();
                }
                Token::Synthetic(decoded) => {
                    if !value.get(p..)?.starts_with(decoded.as_str()) {
                        return None;
                    }
                    pieces.synthetic(&decoded);
                    p += decoded.len();
                }
            }
        }
    }
    (p == value.len()).then_some(pieces)
}

/// Splits one line of a flow scalar into verbatim runs and decoded escapes.
fn flow_tokens(text: &str, span: Span, style: ScalarStyle) -> Option<Vec<Token>> {
    let slice = text.get(span.clone())?;
    let mut tokens = Vec::new();
    let mut run_start = span.start;
    let mut chars = slice.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at = span.start + i;
        match (style, c) {
            (ScalarStyle::SingleQuoted, '\'') => {
                // `''` stands for one quote: keep the first, drop the second.
                tokens.push(Token::Verbatim(run_start..at + 1));
                chars.next();
                run_start = at + 2;
            }
            (ScalarStyle::DoubleQuoted, '\\') => {
                tokens.push(Token::Verbatim(run_start..at));
                let (_, escape) = chars.next()?;
                let escape_at = at + 1;
                let mut hex = |n: usize| -> Option<String> {
                    let mut code = 0u32;
                    for _ in 0..n {
                        let (_, h) = chars.next()?;
                        code = code * 16 + h.to_digit(16)?;
                    }
                    char::from_u32(code).map(String::from)
                };
                let decoded = match escape {
                    '"' | '\\' | '/' | ' ' | '\t' => {
                        tokens.push(Token::Verbatim(escape_at..escape_at + escape.len_utf8()));
                        None
                    }
                    '0' => Some("\0".to_owned()),
                    'a' => Some("\u{7}".to_owned()),
                    'b' => Some("\u{8}".to_owned()),
                    't' => Some("\t".to_owned()),
                    'n' => Some("\n".to_owned()),
                    'v' => Some("\u{b}".to_owned()),
                    'f' => Some("\u{c}".to_owned()),
                    'r' => Some("\r".to_owned()),
                    'e' => Some("\u{1b}".to_owned()),
                    'N' => Some("\u{85}".to_owned()),
                    '_' => Some("\u{a0}".to_owned()),
                    'L' => Some("\u{2028}".to_owned()),
                    'P' => Some("\u{2029}".to_owned()),
                    'x' => Some(hex(2)?),
                    'u' => Some(hex(4)?),
                    'U' => Some(hex(8)?),
                    _ => return None,
                };
                if let Some(decoded) = decoded {
                    tokens.push(Token::Synthetic(decoded));
                }
                run_start = chars
                    .peek()
                    .map(|&(j, _)| span.start + j)
                    .unwrap_or(span.end);
            }
            _ => {}
        }
    }
    tokens.push(Token::Verbatim(run_start..span.end));
    Some(tokens)
}

/// Last-resort map: walks value and file text together, copying matching characters and
/// skipping file characters that are layout (blanks, quotes, backslashes); what cannot be matched
/// becomes synthetic. Approximate, but always in bounds.
fn map_greedy(text: &str, region: Span, value: &str) -> Pieces {
    let mut pieces = Pieces {
        exact: false,
        ..Pieces::default()
    };
    let src = text.get(region.clone()).unwrap_or("");
    let mut sp = 0;
    for c in value.chars() {
        let mut matched = false;
        while let Some(sc) = src.get(sp..).and_then(|s| s.chars().next()) {
            if sc == c {
                let at = region.start + sp;
                pieces.source(text, at..at + sc.len_utf8());
                sp += sc.len_utf8();
                matched = true;
                break;
            }
            if matches!(sc, ' ' | '\t' | '\r' | '\n' | '"' | '\'' | '\\') {
                sp += sc.len_utf8();
                continue;
            }
            // An escape's letters: look a little ahead for the character, else consume one file
            // character for this value character so the walk cannot stall.
            let window: String = src.get(sp..).unwrap_or("").chars().take(12).collect();
            if let Some(k) = window.find(c) {
                sp += k;
                continue;
            }
            sp += sc.len_utf8();
            break;
        }
        if !matched {
            let mut buf = [0u8; 4];
            pieces.synthetic(c.encode_utf8(&mut buf));
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn one(text: &str) -> Document {
        match parse(text) {
            Ok(mut docs) if docs.len() == 1 => docs.remove(0),
            other => panic!("expected one document, got {other:?}"),
        }
    }

    fn at<'t>(text: &'t str, span: &Span) -> &'t str {
        &text[span.clone()]
    }

    #[test]
    fn mapping_keys_values_and_accessors() {
        let text = "# top comment\nname: ci # trailing\non:\n  push:\n    branches: [main]\njobs:\n  build:\n    if: true\n    env:\n      EMPTY:\n      TILDE: ~\n      S: 'true'\n    steps:\n      - run: npm ci\n      - uses: actions/checkout@v4\n";
        let doc = one(text);
        let root = &doc.root;
        assert_eq!(root.get("name").and_then(Node::as_str), Some("ci"));
        assert_eq!(at(text, &root.key_span("name").unwrap()), "name");
        assert_eq!(at(text, &root.get("name").unwrap().span), "ci");
        let build = root.get_path(&["jobs", "build"]).unwrap();
        assert_eq!(build.get("if").and_then(Node::as_bool), Some(true));
        assert_eq!(build.get_path(&["env", "S"]).and_then(Node::as_bool), None);
        let empty = build.get_path(&["env", "EMPTY"]).unwrap();
        assert!(empty.is_null());
        // An implicit null sits right after its key's colon, on the key's line.
        let colon = text.find("EMPTY:").unwrap() + "EMPTY:".len();
        assert_eq!(empty.span, colon..colon);
        assert!(build.get_path(&["env", "TILDE"]).unwrap().is_null());
        assert!(!build.get_path(&["env", "S"]).unwrap().is_null());
        let run = build.get_path(&["steps", "0", "run"]).unwrap();
        assert_eq!(at(text, &run.span), "npm ci");
        assert_eq!(build.get("steps").unwrap().iter_seq().count(), 2);
        let keys: Vec<&str> = build.iter_map().filter_map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["if", "env", "steps"]);
        let branches = root.get_path(&["on", "push", "branches"]).unwrap();
        assert_eq!(at(text, &branches.span), "[main]");
        let steps = build.get("steps").unwrap();
        assert!(at(text, &steps.span).starts_with("- run: npm ci"));
        assert!(at(text, &steps.span).ends_with("actions/checkout@v4"));
        assert!(root.get("missing").is_none());
        assert!(root.get_path(&["jobs", "build", "steps", "9"]).is_none());
    }

    #[test]
    fn multi_document_files() {
        let text = "a: 1\n---\nb: 2\n...\n---\n- c\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].get("b").and_then(Node::as_str), Some("2"));
        assert_eq!(at(text, &docs[2].root.iter_seq().next().unwrap().span), "c");
        assert!(parse("").unwrap().is_empty());
        assert!(parse("# only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn crlf_bom_and_non_ascii_keep_byte_spans() {
        let text = "\u{feff}café: é\r\nrun: |\r\n  echo ü\r\n  npm ci\r\n";
        let doc = one(text);
        assert_eq!(at(text, &doc.root.key_span("café").unwrap()), "café");
        assert_eq!(at(text, &doc.root.get("café").unwrap().span), "é");
        let run = doc.root.get("run").unwrap().as_scalar().unwrap();
        assert_eq!(run.value(), "echo ü\nnpm ci\n");
        let npm = run.value().find("npm ci").unwrap();
        assert_eq!(at(text, &run.to_source(npm..npm + 6)), "npm ci");
        let echo = run.to_source(0..7);
        assert_eq!(at(text, &echo), "echo ü");
    }

    #[test]
    fn tabs_where_yaml_allows_them() {
        let text = "a:\t1\nb: \tx\nc: \"p\tq\"\nd: [x,\ty]\ne:\t[z]\n";
        let doc = one(text);
        assert_eq!(doc.get("a").and_then(Node::as_str), Some("1"));
        assert_eq!(at(text, &doc.get("a").unwrap().span), "1");
        assert_eq!(doc.get("b").and_then(Node::as_str), Some("x"));
        assert_eq!(doc.get("c").and_then(Node::as_str), Some("p\tq"));
        assert_eq!(doc.get_path(&["d", "1"]).and_then(Node::as_str), Some("y"));
        assert_eq!(doc.get_path(&["e", "0"]).and_then(Node::as_str), Some("z"));
        // Tabs as indentation are a YAML error, and stay one.
        assert!(parse("a:\n\t- x\n").is_err());
    }

    #[test]
    fn aliases_resolve_and_keep_their_own_span() {
        let text = "base: &b\n  image: node:22\nother: *b\nlist: [*b]\nv: &v hello\nw: *v\n";
        let doc = one(text);
        let other = doc.get("other").unwrap();
        assert_eq!(at(text, &other.span), "*b");
        assert_eq!(at(text, other.alias_of.as_ref().unwrap()), "image: node:22");
        let image = other.get("image").unwrap();
        assert_eq!(image.as_str(), Some("node:22"));
        // Children keep the anchored text's spans: that is where the bytes are.
        assert_eq!(at(text, &image.span), "node:22");
        assert_eq!(
            doc.get_path(&["list", "0", "image"]).and_then(Node::as_str),
            Some("node:22")
        );
        let w = doc.get("w").unwrap();
        assert_eq!((w.as_str(), at(text, &w.span)), (Some("hello"), "*v"));
        assert_eq!(at(text, &doc.get("v").unwrap().span), "hello");
        let err = parse("a: *nope\n").unwrap_err();
        assert!(err.span.is_some());
    }

    #[test]
    fn billion_laughs_fails_fast() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in names.windows(2) {
            let refs = vec![format!("*{}", pair[0]); 9].join(",");
            text.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
        }
        let started = Instant::now();
        let err = parse(&text).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(err.message.contains("alias"), "{}", err.message);
        let span = err.span.unwrap();
        assert!(text[span].starts_with('*'));
    }

    #[test]
    fn alias_depth_is_bounded() {
        let mut text = String::from("a0: &a0 [x]\n");
        for i in 1..200 {
            text.push_str(&format!("a{i}: &a{i} [[*a{}]]\n", i - 1));
        }
        assert!(parse(&text).is_err());
    }

    #[test]
    fn nested_anchors_are_shared_not_copied() {
        // Each anchor used to copy the whole tree below it: quadratic in depth x size.
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!("{}- &a{i}\n", "  ".repeat(i)));
        }
        text.push_str(&format!(
            "{}- [{}]\n",
            "  ".repeat(100),
            vec!["x"; 20_000].join(",")
        ));
        let started = Instant::now();
        assert!(parse(&text).is_ok());
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn merge_keys_merge_and_explicit_keys_win() {
        let text = "defaults: &d\n  image: node:20\n  stage: test\nextra: &e\n  stage: build\n  tags: [x]\njob:\n  <<: *d\n  image: node:22\njob2:\n  <<: [*e, *d]\n  script: npm ci\njob3:\n  image: mine\n  <<: {image: theirs, when: always}\n";
        let doc = one(text);
        let job = doc.get("job").unwrap();
        assert_eq!(job.get("image").and_then(Node::as_str), Some("node:22"));
        assert_eq!(job.get("stage").and_then(Node::as_str), Some("test"));
        assert!(job.get("<<").is_none());
        assert_eq!(
            job.iter_map()
                .filter(|(k, _)| k.as_str() == Some("image"))
                .count(),
            1
        );
        let stage = job.get_entry("stage").unwrap();
        assert!(stage.merged);
        assert_eq!(at(text, &stage.value.span), "test");
        let job2 = doc.get("job2").unwrap();
        assert_eq!(job2.get("stage").and_then(Node::as_str), Some("build"));
        assert_eq!(job2.get("image").and_then(Node::as_str), Some("node:20"));
        assert_eq!(job2.get("script").and_then(Node::as_str), Some("npm ci"));
        let job3 = doc.get("job3").unwrap();
        assert_eq!(job3.get("image").and_then(Node::as_str), Some("mine"));
        assert_eq!(job3.get("when").and_then(Node::as_str), Some("always"));
    }

    #[test]
    fn tags_are_kept_and_never_an_error() {
        let text = "test:\n  script:\n    - !reference [.setup, script]\n    - npm test\nv: !!str 3\nc: !custom\n  k: v\nbang: !\n";
        let doc = one(text);
        let first = doc.get_path(&["test", "script", "0"]).unwrap();
        assert_eq!(first.tag(), Some("!reference"));
        assert!(first.is_sequence());
        assert_eq!(at(text, &first.span), "[.setup, script]");
        let parts: Vec<&str> = first.iter_seq().filter_map(Node::as_str).collect();
        assert_eq!(parts, [".setup", "script"]);
        let v = doc.get("v").unwrap();
        assert_eq!(
            (v.tag(), v.as_str(), at(text, &v.span)),
            (Some("!!str"), Some("3"), "3")
        );
        let c = doc.get("c").unwrap();
        assert_eq!(c.tag(), Some("!custom"));
        assert_eq!(at(text, &c.span), "k: v");
    }

    #[test]
    fn scalar_styles_and_values() {
        let text = "p: plain text\ns: 'it''s'\nd: \"a\\tb \\\"q\\\"\"\nl: |\n  one\n  two\nf: >\n  folded\n  line\n";
        let doc = one(text);
        let style = |k: &str| doc.get(k).unwrap().as_scalar().unwrap().style();
        assert_eq!(style("p"), ScalarStyle::Plain);
        assert_eq!(style("s"), ScalarStyle::SingleQuoted);
        assert_eq!(style("d"), ScalarStyle::DoubleQuoted);
        assert_eq!(style("l"), ScalarStyle::Literal);
        assert_eq!(style("f"), ScalarStyle::Folded);
        assert_eq!(doc.get("s").and_then(Node::as_str), Some("it's"));
        assert_eq!(at(text, &doc.get("s").unwrap().span), "'it''s'");
        let d = doc.get("d").unwrap().as_scalar().unwrap();
        assert_eq!(d.value(), "a\tb \"q\"");
        let q = d.value().find('q').unwrap();
        assert_eq!(at(text, &d.to_source(q..q + 1)), "q");
        assert_eq!(doc.get("f").and_then(Node::as_str), Some("folded line\n"));
        let f = doc.get("f").unwrap().as_scalar().unwrap();
        assert_eq!(at(text, &f.to_source(7..11)), "line");
        assert_eq!(at(text, &doc.get("l").unwrap().span), "|\n  one\n  two");
    }

    #[test]
    fn run_block_inner_span_maps_back_to_the_file() {
        let text = "jobs:\n  publish:\n    steps:\n      - name: Publish\n        run: |\n          npm ci\n            # indented more\n          echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\n\n          npm publish\n        env:\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n";
        let doc = one(text);
        let run = doc
            .get_path(&["jobs", "publish", "steps", "0", "run"])
            .unwrap();
        let scalar = run.as_scalar().unwrap();
        assert_eq!(scalar.value().lines().nth(1), Some("  # indented more"));
        for needle in [
            "npm ci",
            "  # indented more",
            "_authToken=${NPM_TOKEN}",
            "> .npmrc",
            "npm publish",
        ] {
            let i = scalar.value().find(needle).unwrap();
            assert_eq!(at(text, &scalar.to_source(i..i + needle.len())), needle);
        }
        // Line 3 of the block as a whole, indentation stripped.
        let line3 = scalar.value().lines().nth(2).unwrap();
        let i = scalar.value().find(line3).unwrap();
        let span = scalar.to_source(i..i + line3.len());
        assert_eq!(at(text, &span), line3);
        let index = crate::source::LineIndex::new(text);
        assert_eq!(index.position(text, span.start).line, 8);
        assert_eq!(index.position(text, span.start).column, 11);
        // The MappedText view agrees.
        assert_eq!(
            at(text, &scalar.mapped().to_source(i..i + line3.len())),
            line3
        );
    }

    #[test]
    fn multi_line_plain_and_quoted_scalars_map_their_lines() {
        let text = "a: first\n  second\n\n  third\nb: 'x\n  y'\nc: \"p\\\n  q \\u00e9 r\"\n";
        let doc = one(text);
        let a = doc.get("a").unwrap().as_scalar().unwrap();
        assert_eq!(a.value(), "first second\nthird");
        let i = a.value().find("third").unwrap();
        assert_eq!(at(text, &a.to_source(i..i + 5)), "third");
        let b = doc.get("b").unwrap().as_scalar().unwrap();
        assert_eq!(b.value(), "x y");
        assert_eq!(at(text, &b.to_source(2..3)), "y");
        let c = doc.get("c").unwrap().as_scalar().unwrap();
        assert_eq!(c.value(), "pq é r");
        let r = c.value().find('r').unwrap();
        assert_eq!(at(text, &c.to_source(r..r + 1)), "r");
        // A decoded escape maps next to itself, never out of bounds.
        let e = c.value().find('é').unwrap();
        let span = c.to_source(e..e + 2);
        assert!(span.end <= text.len() && text.is_char_boundary(span.start));
    }

    #[test]
    fn exact_maps_do_not_need_the_fallback() {
        let text = "a: first\n  second\n\n  third\nb: 'it''s\n  y'\nc: \"p\\\n  q \\u00e9 \\\" r\"\nl: |+\n  x\n\n    y\n\n\nf: >-\n  one\n  two\n\n  three\n    more\n# comment\ng: |\n  z\n";
        let doc = one(text);
        assert_eq!(doc.root.iter_map().count(), 6);
        for (key, value) in doc.root.iter_map() {
            let s = value.as_scalar().unwrap();
            assert!(s.is_exact(), "{:?} {:?}", key.as_str(), s.value());
        }
    }

    #[test]
    fn malformed_yaml_is_an_error_with_position() {
        for bad in [
            "a: [1, 2\n",
            "a: b: c\n",
            "key: \"open\n",
            "- a\nb: c\n",
            "a:\n  - x\n y: z\n",
        ] {
            let err = parse(bad).unwrap_err();
            let span = err.span.clone().unwrap();
            assert!(span.end <= bad.len(), "{bad:?}: {err:?}");
            assert!(!err.message.is_empty());
        }
        let err = parse("ok: 1\nbad: é: x\n").unwrap_err();
        assert_eq!(
            crate::source::LineIndex::new("ok: 1\nbad: é: x\n")
                .position("ok: 1\nbad: é: x\n", err.span.unwrap().start)
                .line,
            2
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse(&text).is_err());
        let ok = format!("{}{}", "[".repeat(50), "]".repeat(50));
        assert!(parse(&ok).is_ok());
    }

    fn check_node(text: &str, node: &Node) {
        let in_bounds = |s: &Span| {
            s.start <= s.end
                && s.end <= text.len()
                && text.is_char_boundary(s.start)
                && text.is_char_boundary(s.end)
        };
        assert!(in_bounds(&node.span), "{:?} in {text:?}", node.span);
        if let Some(a) = &node.alias_of {
            assert!(in_bounds(a));
        }
        match &node.kind {
            NodeKind::Scalar(s) => {
                assert_eq!(s.mapped().text, s.value());
                let len = s.value().len();
                for range in [0..len, 0..len / 2, len / 3..len, len / 2..len / 2 + 1] {
                    let mapped = s.to_source(range);
                    assert!(in_bounds(&mapped), "{mapped:?} in {text:?}");
                }
            }
            NodeKind::Sequence(items) => items.iter().for_each(|n| check_node(text, n)),
            NodeKind::Mapping(entries) => entries.iter().for_each(|e| {
                check_node(text, &e.key);
                check_node(text, &e.value);
            }),
        }
    }

    fn yamlish() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let token = prop_oneof![
            Just("a"),
            Just("key"),
            Just(":"),
            Just(": "),
            Just(" "),
            Just("  "),
            Just("\n"),
            Just("\r\n"),
            Just("\t"),
            Just("- "),
            Just("&x "),
            Just("*x"),
            Just("<<: "),
            Just("|"),
            Just("|-\n"),
            Just(">"),
            Just("'"),
            Just("\""),
            Just("\\"),
            Just("\\n"),
            Just("["),
            Just("]"),
            Just("{"),
            Just("}"),
            Just(", "),
            Just("#"),
            Just("é"),
            Just("\u{feff}"),
            Just("!t "),
            Just("!reference "),
            Just("? "),
            Just("---\n"),
            Just("...\n"),
            Just("''"),
            Just("\\u00e9"),
            Just("日本"),
        ];
        proptest::collection::vec(token, 0..80).prop_map(|t| t.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        #[test]
        fn never_panics_and_spans_stay_in_bounds(text in yamlish()) {
            match parse(&text) {
                Ok(docs) => for doc in &docs {
                    proptest::prop_assert!(doc.span.end <= text.len());
                    check_node(&text, &doc.root);
                },
                Err(err) => if let Some(span) = err.span {
                    proptest::prop_assert!(span.start <= span.end && span.end <= text.len());
                    proptest::prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
                },
            }
        }

        #[test]
        fn never_panics_on_arbitrary_strings(text in "\\PC*") {
            if let Ok(docs) = parse(&text) {
                for doc in &docs {
                    check_node(&text, &doc.root);
                }
            }
        }
    }
}
