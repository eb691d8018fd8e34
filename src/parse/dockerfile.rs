//! Dockerfile parser that keeps exact byte spans.
//!
//! It follows BuildKit's reading of the file: parser directives only at the very top, line
//! continuations with the escape character (`\` or the one set by `# escape=`), comment and blank
//! lines skipped inside continuations, here-documents on `RUN`/`COPY`/`ADD`, and exec (JSON) form
//! versus shell form. Instructions keep the stage they belong to, so checks can tell layers of the
//! final image from those of discarded build stages. Any text is accepted: an unterminated
//! continuation or here-document simply runs to the end of the file.

use crate::source::{MappedText, Span};

/// A parsed Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerfile {
    pub directives: Vec<Directive>,
    /// The escape character in effect (`\` unless `# escape=` says otherwise).
    pub escape: char,
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    /// Comment lines outside here-document bodies.
    pub comments: Vec<Span>,
}

/// `# name=value` at the top of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lower-cased (`syntax`, `escape`, `check`).
    pub name: String,
    pub value: String,
    pub span: Span,
}

/// One `FROM` and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub index: usize,
    /// The `AS` name, as written.
    pub name: Option<String>,
    /// The base image or stage name.
    pub base: String,
    /// Index of the `FROM` instruction in [`Dockerfile::instructions`].
    pub instruction: usize,
}

/// A word of an instruction's arguments, unquoted, with its span in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub value: String,
    pub span: Span,
}

/// `--name=value` before an instruction's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// Without the leading dashes.
    pub name: String,
    pub value: Option<String>,
    pub span: Span,
}

impl Flag {
    /// The comma-separated `key=value` options of `--mount=...`; a bare key has an empty value.
    pub fn options(&self) -> Vec<(String, String)> {
        self.value
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|o| !o.is_empty())
            .map(|o| match o.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim().to_string()),
                None => (o.trim().to_ascii_lowercase(), String::new()),
            })
            .collect()
    }

    /// The value of option `key` of `--mount=...`.
    pub fn option(&self, key: &str) -> Option<String> {
        self.options()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// `NAME`, `NAME=value` of `ARG` and `ENV`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub key_span: Span,
    pub value: Option<Word>,
    pub span: Span,
}

/// How a `RUN` (or `CMD`, `ENTRYPOINT`) command is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// Run by the shell: the command text with continuations joined.
    Shell(MappedText),
    /// `["executable", "arg", ...]`: each string decoded, mapped to the file.
    Exec(Vec<MappedText>),
}

/// The parsed arguments of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    From {
        image: Option<Word>,
        alias: Option<Word>,
    },
    Arg(Vec<KeyValue>),
    Env(Vec<KeyValue>),
    /// `COPY`/`ADD`: every word but the last is a source.
    Copy {
        sources: Vec<Word>,
        dest: Option<Word>,
    },
    User(Option<Word>),
    Command(CommandForm),
    Other(Vec<Word>),
}

/// A here-document attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub delimiter: String,
    pub strip_tabs: bool,
    /// A quoted delimiter turns off expansion in the body.
    pub quoted: bool,
    /// The body, leading tabs removed for `<<-`.
    pub body: MappedText,
    /// The `<<EOF` marker on the instruction line.
    pub marker_span: Span,
    /// Body and closing delimiter line.
    pub span: Span,
    pub terminated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Upper-cased keyword.
    pub keyword: String,
    pub keyword_span: Span,
    /// The whole instruction: continuation lines and here-document bodies included.
    pub span: Span,
    /// Index of the stage, `None` before the first `FROM` (global `ARG`s).
    pub stage: Option<usize>,
    pub flags: Vec<Flag>,
    pub args: Args,
    pub heredocs: Vec<Heredoc>,
    /// Everything after the keyword, continuation lines joined, here-document bodies excluded.
    pub line: MappedText,
    /// For `RUN`: the shell script it executes, mapped to the file. That is the here-document
    /// body when the command is only a here-document, the `-c` string of an exec-form
    /// `["sh", "-c", ...]`, the exec arguments joined by spaces otherwise, or the command line
    /// followed by its here-documents (so the shell analyser reads them as its own).
    pub script: Option<MappedText>,
    /// Written as `ONBUILD <keyword> ...`: it runs when another image is built FROM this one.
    pub onbuild: bool,
}

impl Instruction {
    pub fn is(&self, keyword: &str) -> bool {
        self.keyword.eq_ignore_ascii_case(keyword)
    }

    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// `--mount=` flags of the given type (`secret`, `cache`, `bind`, `ssh`, `tmpfs`).
    pub fn mounts<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Flag> + 'a {
        self.flags.iter().filter(move |f| {
            f.name.eq_ignore_ascii_case("mount")
                && f.option("type").unwrap_or_else(|| "bind".to_string()) == kind
        })
    }

    /// The shell script this `RUN` executes, mapped to the file (see [`Instruction::script`]).
    pub fn script(&self) -> Option<&MappedText> {
        self.script.as_ref()
    }
}

impl Dockerfile {
    /// The stage that produces the image (the last one).
    pub fn final_stage(&self) -> Option<usize> {
        self.stages.len().checked_sub(1)
    }

    /// Stage index of a name used in `FROM name` or `COPY --from=name` (names are
    /// case-insensitive; a number is a stage index).
    pub fn stage_named(&self, name: &str) -> Option<usize> {
        self.stages
            .iter()
            .find(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .map(|s| s.index)
            .or_else(|| {
                name.parse::<usize>()
                    .ok()
                    .filter(|&i| i < self.stages.len())
            })
    }

    /// Whether the layers of `stage` end up in the final image: the final stage, and the stages
    /// it is built `FROM`, transitively.
    pub fn in_final_image(&self, stage: usize) -> bool {
        let mut current = self.final_stage();
        let mut steps = 0;
        while let Some(index) = current {
            if index == stage {
                return true;
            }
            steps += 1;
            if steps > self.stages.len() {
                break;
            }
            current = self
                .stages
                .get(index)
                .and_then(|s| self.stage_named(&s.base))
                .filter(|&base| base < index);
        }
        false
    }

    pub fn directive(&self, name: &str) -> Option<&Directive> {
        self.directives.iter().find(|d| d.name == name)
    }
}

/// The instruction line with continuations joined: text plus a map of verbatim runs.
#[derive(Default)]
struct Joined {
    text: String,
    /// (offset in `text`, offset in the file, length)
    runs: Vec<(usize, usize, usize)>,
}

impl Joined {
    fn push(&mut self, source: &str, span: Span) {
        if let Some(piece) = source.get(span.clone()) {
            if !piece.is_empty() {
                self.runs.push((self.text.len(), span.start, piece.len()));
                self.text.push_str(piece);
            }
        }
    }

    fn to_file(&self, offset: usize) -> usize {
        let idx = self.runs.partition_point(|&(t, _, _)| t <= offset);
        match idx.checked_sub(1).and_then(|i| self.runs.get(i)) {
            Some(&(t, s, len)) => s + (offset - t).min(len),
            None => self.runs.first().map_or(0, |r| r.1),
        }
    }

    fn span(&self, range: Span) -> Span {
        let start = self.to_file(range.start);
        let end = if range.end > range.start {
            self.to_file(range.end - 1) + 1
        } else {
            start
        };
        start..end.max(start)
    }

    /// `text[range]` as mapped text.
    fn mapped(&self, source: &str, range: Span) -> MappedText {
        let mut out = MappedText::new();
        self.push_into(&mut out, source, range);
        out
    }

    /// Appends `text[range]` to `out`, mapped to the file.
    fn push_into(&self, out: &mut MappedText, source: &str, range: Span) {
        for &(t, s, len) in &self.runs {
            let lo = range.start.max(t);
            let hi = range.end.min(t + len);
            if lo < hi {
                out.push_source(source, s + (lo - t)..s + (hi - t));
            }
        }
    }
}

/// Parses a Dockerfile; never fails.
pub fn parse(source: &str) -> Dockerfile {
    let lines = split_lines(source);
    let mut file = Dockerfile {
        escape: '\\',
        ..Dockerfile::default()
    };
    let mut i = 0;
    let mut directives_open = true;
    while let Some(&(start, end)) = lines.get(i) {
        let line = source.get(start..end).unwrap_or("");
        if directives_open {
            if let Some(d) = directive(line, start) {
                if file.directive(&d.name).is_none() {
                    if d.name == "escape" && (d.value == "`" || d.value == "\\") {
                        file.escape = d.value.chars().next().unwrap_or('\\');
                    }
                    file.directives.push(d);
                }
                i += 1;
                continue;
            }
            directives_open = false;
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            i += 1;
            continue;
        }
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('#') {
            file.comments.push(start + indent..end);
            i += 1;
            continue;
        }
        i = instruction(source, &lines, i, indent, &mut file);
    }
    file
}

/// (start, end) of every line, terminators excluded.
fn split_lines(source: &str) -> Vec<(usize, usize)> {
    let mut lines = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', source.as_bytes()) {
        let end = if nl > start && source.as_bytes().get(nl - 1) == Some(&b'\r') {
            nl - 1
        } else {
            nl
        };
        lines.push((start, end));
        start = nl + 1;
    }
    if start < source.len() {
        lines.push((start, source.len()));
    }
    lines
}

fn directive(line: &str, offset: usize) -> Option<Directive> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let (name, value) = rest.split_once('=')?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    let name = name.to_ascii_lowercase();
    if !["syntax", "escape", "check"].contains(&name.as_str()) {
        return None;
    }
    Some(Directive {
        name,
        value: value.trim().to_string(),
        span: offset..offset + line.len(),
    })
}

/// Whether `line` ends with the escape character (trailing blanks allowed), and where.
fn continuation_at(line: &str, escape: char) -> Option<usize> {
    let trimmed = line.trim_end_matches([' ', '\t']);
    trimmed
        .ends_with(escape)
        .then(|| trimmed.len() - escape.len_utf8())
}

/// Parses the instruction starting on line `first`; returns the index of the next line.
fn instruction(
    source: &str,
    lines: &[(usize, usize)],
    first: usize,
    indent: usize,
    file: &mut Dockerfile,
) -> usize {
    let escape = file.escape;
    let mut joined = Joined::default();
    let mut i = first;
    let mut last_end;
    let mut first_line = true;
    loop {
        let Some(&(start, end)) = lines.get(i) else {
            last_end = source.len();
            break;
        };
        let line = source.get(start..end).unwrap_or("");
        i += 1;
        last_end = end;
        let from = if first_line { start + indent } else { start };
        first_line = false;
        match continuation_at(line, escape) {
            Some(cut) => {
                joined.push(source, from..start + cut);
                // BuildKit drops comment and blank lines inside a continued instruction.
                while let Some(&(s, e)) = lines.get(i) {
                    let next = source.get(s..e).unwrap_or("").trim_start();
                    if next.is_empty() || next.starts_with('#') {
                        i += 1;
                    } else {
                        break;
                    }
                }
                if i >= lines.len() {
                    break;
                }
            }
            None => {
                joined.push(source, from..end);
                break;
            }
        }
    }

    let text = joined.text.clone();
    let word_at = |at: usize| {
        let len = text
            .get(at..)
            .and_then(|t| t.find(|c: char| c.is_whitespace()))
            .map_or(text.len(), |l| at + l);
        let next = text
            .get(len..)
            .and_then(|rest| rest.find(|c: char| !c.is_whitespace()))
            .map_or(text.len(), |o| len + o);
        (
            text.get(at..len).unwrap_or("").to_ascii_uppercase(),
            len,
            next,
        )
    };
    let (mut keyword, mut keyword_len, mut args_start) = word_at(0);
    let mut keyword_span = joined.span(0..keyword_len);
    // `ONBUILD RUN ...` runs in every image built FROM this one: it is read as the instruction it
    // wraps (BuildKit refuses ONBUILD FROM/ONBUILD/MAINTAINER, which stay as they are).
    let mut onbuild = false;
    if keyword == "ONBUILD" && args_start < text.len() {
        let (inner, inner_len, inner_args) = word_at(args_start);
        if !matches!(inner.as_str(), "FROM" | "ONBUILD" | "MAINTAINER") {
            keyword_span = joined.span(args_start..inner_len);
            keyword = inner;
            keyword_len = inner_len;
            args_start = inner_args;
            onbuild = true;
        }
    }

    // Here-documents: bodies follow the instruction line, in marker order.
    let mut heredocs = Vec::new();
    // Per here-document: the file ranges of its body lines, and its marker range in `text`.
    let mut bodies: Vec<(Vec<Span>, Span)> = Vec::new();
    if ["RUN", "COPY", "ADD"].contains(&keyword.as_str()) {
        for (marker, delimiter, strip_tabs, quoted) in heredoc_markers(&text, args_start, escape) {
            let body_start = lines.get(i).map_or(source.len(), |l| l.0);
            let mut body = MappedText::new();
            let mut ranges = Vec::new();
            let mut terminated = false;
            while let Some(&(s, e)) = lines.get(i) {
                i += 1;
                last_end = e;
                let line = source.get(s..e).unwrap_or("");
                let kept = if strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if kept == delimiter {
                    terminated = true;
                    break;
                }
                let skip = line.len() - kept.len();
                let line_end = lines.get(i).map_or(source.len(), |l| l.0);
                let range = s + skip..line_end.max(s + skip);
                body.push_source(source, range.clone());
                ranges.push(range);
            }
            bodies.push((ranges, marker.clone()));
            heredocs.push(Heredoc {
                delimiter,
                strip_tabs,
                quoted,
                body,
                marker_span: joined.span(marker),
                span: body_start..last_end.max(body_start),
                terminated,
            });
        }
    }

    let stage = file.stages.len().checked_sub(1);
    let span_start = joined.to_file(0);
    let mut inst = Instruction {
        keyword: keyword.clone(),
        keyword_span,
        span: span_start..last_end.max(span_start),
        stage,
        flags: Vec::new(),
        args: Args::Other(Vec::new()),
        heredocs,
        line: joined.mapped(source, keyword_len..text.len()),
        script: None,
        onbuild,
    };

    let takes_flags = ["FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"].contains(&keyword.as_str());
    let mut words = split_words(&text, args_start, escape);
    let mut body_start = args_start;
    if takes_flags {
        while let Some(w) = words.first() {
            let Some(flag) = w.value.strip_prefix("--") else {
                break;
            };
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (flag.to_string(), None),
            };
            inst.flags.push(Flag {
                name,
                value,
                span: joined.span(w.range.clone()),
            });
            body_start = words.get(1).map_or(text.len(), |n| n.range.start);
            words.remove(0);
        }
    }
    let to_word = |w: &RawWord| Word {
        value: w.value.clone(),
        span: joined.span(w.range.clone()),
    };

    inst.args = match keyword.as_str() {
        "FROM" => {
            let image = words.first().map(to_word);
            let alias = match (words.get(1), words.get(2)) {
                (Some(a), Some(name)) if a.value.eq_ignore_ascii_case("as") => Some(to_word(name)),
                _ => None,
            };
            file.stages.push(Stage {
                index: file.stages.len(),
                name: alias.as_ref().map(|a| a.value.clone()),
                base: image.as_ref().map(|w| w.value.clone()).unwrap_or_default(),
                instruction: file.instructions.len(),
            });
            inst.stage = Some(file.stages.len() - 1);
            Args::From { image, alias }
        }
        "ARG" => Args::Arg(words.iter().map(|w| key_value(w, &joined)).collect()),
        "ENV" => Args::Env(env_pairs(&text, &words, &joined, escape)),
        "COPY" | "ADD" => {
            let list: Vec<Word> = match json_array(&text, body_start) {
                Some(items) => items
                    .iter()
                    .map(|(value, range)| Word {
                        value: value.clone(),
                        span: joined.span(range.clone()),
                    })
                    .collect(),
                None => words.iter().map(to_word).collect(),
            };
            let mut sources = list;
            let dest = if sources.len() > 1 {
                sources.pop()
            } else {
                None
            };
            Args::Copy { sources, dest }
        }
        "USER" => Args::User(words.first().map(to_word)),
        "RUN" | "CMD" | "ENTRYPOINT" => match json_array(&text, body_start) {
            Some(items) => {
                let args: Vec<MappedText> = items
                    .iter()
                    .map(|(_, range)| {
                        let mut arg = MappedText::new();
                        json_push(&mut arg, &text, range.clone(), &joined, source);
                        arg
                    })
                    .collect();
                if keyword == "RUN" {
                    inst.script = Some(exec_script(&items, &args, &text, &joined, source));
                }
                Args::Command(CommandForm::Exec(args))
            }
            None => {
                let range = body_start.min(text.len())..text.len();
                if keyword == "RUN" {
                    inst.script = Some(shell_script(
                        &text,
                        range.clone(),
                        &bodies,
                        &inst.heredocs,
                        &joined,
                        source,
                    ));
                }
                Args::Command(CommandForm::Shell(joined.mapped(source, range)))
            }
        },
        _ => Args::Other(words.iter().map(to_word).collect()),
    };
    file.instructions.push(inst);
    i
}

/// A word of the joined line: unquoted value and its range in the joined text.
struct RawWord {
    value: String,
    range: Span,
}

/// Splits on blanks outside quotes, removing quotes and escapes like BuildKit's word lexer.
fn split_words(text: &str, from: usize, escape: char) -> Vec<RawWord> {
    let mut words = Vec::new();
    let mut chars = text.get(from..).unwrap_or("").char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let start = from + i;
        let mut end = start;
        let mut value = String::new();
        let mut quote: Option<char> = None;
        while let Some(&(j, c)) = chars.peek() {
            if quote.is_none() && c.is_whitespace() {
                break;
            }
            chars.next();
            end = from + j + c.len_utf8();
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (Some('\''), c) => value.push(c),
                (_, c) if c == escape => {
                    if let Some((k, n)) = chars.next() {
                        end = from + k + n.len_utf8();
                        value.push(n);
                    }
                }
                (_, c) => value.push(c),
            }
        }
        words.push(RawWord {
            value,
            range: start..end,
        });
    }
    words
}

fn key_value(w: &RawWord, joined: &Joined) -> KeyValue {
    let span = joined.span(w.range.clone());
    match w.value.split_once('=') {
        Some((key, value)) => {
            // The raw text has the key unquoted in every realistic case; locate '=' in it.
            let raw = joined.text.get(w.range.clone()).unwrap_or("");
            let eq = raw.find('=').map_or(w.range.end, |e| w.range.start + e);
            KeyValue {
                key: key.to_string(),
                key_span: joined.span(w.range.start..eq),
                value: Some(Word {
                    value: value.to_string(),
                    span: joined.span((eq + 1).min(w.range.end)..w.range.end),
                }),
                span,
            }
        }
        None => KeyValue {
            key: w.value.clone(),
            key_span: span.clone(),
            value: None,
            span,
        },
    }
}

/// `ENV a=b c="d e"`, or the legacy `ENV key the rest of the line`.
fn env_pairs(text: &str, words: &[RawWord], joined: &Joined, escape: char) -> Vec<KeyValue> {
    let Some(first) = words.first() else {
        return Vec::new();
    };
    if first.value.contains('=') {
        return words.iter().map(|w| key_value(w, joined)).collect();
    }
    let key_span = joined.span(first.range.clone());
    let value = words.get(1).map(|second| {
        let raw_end = text.trim_end().len().max(second.range.start);
        let value: Vec<String> = split_words(text, second.range.start, escape)
            .into_iter()
            .map(|w| w.value)
            .collect();
        Word {
            value: value.join(" "),
            span: joined.span(second.range.start..raw_end),
        }
    });
    let end = value.as_ref().map_or(key_span.end, |v| v.span.end);
    vec![KeyValue {
        key: first.value.clone(),
        key_span: key_span.clone(),
        value,
        span: key_span.start..end,
    }]
}

/// `<<EOF` markers in the instruction line: (marker range, delimiter, strip tabs, quoted).
fn heredoc_markers(text: &str, from: usize, escape: char) -> Vec<(Span, String, bool, bool)> {
    let mut out = Vec::new();
    for w in split_words(text, from, escape) {
        let raw = text.get(w.range.clone()).unwrap_or("");
        // The marker may be glued to the command (`cat<<EOF`) or a redirection (`1<<EOF`).
        let Some(at) = raw.find("<<") else {
            continue;
        };
        let after = raw.get(at + 2..).unwrap_or("");
        if after.starts_with('<') {
            continue; // a here-string
        }
        let (strip, rest) = match after.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, after),
        };
        let (quoted, name) = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => (
                true,
                rest.get(1..).and_then(|r| r.strip_suffix(q)).unwrap_or(""),
            ),
            _ => (false, rest),
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid || (at > 0 && raw.starts_with(['"', '\''])) {
            continue;
        }
        out.push((
            w.range.start + at..w.range.end,
            name.to_string(),
            strip,
            quoted,
        ));
    }
    out
}

/// Parses `["a", "b"]` at `from` (up to the end of the text); `None` when it is not a JSON
/// array of strings, which makes the instruction shell form, as in BuildKit. Each item is its
/// decoded value and the range of its content between the quotes.
fn json_array(text: &str, from: usize) -> Option<Vec<(String, Span)>> {
    let rest = text.get(from..)?;
    let body = rest.trim_end();
    if !body.starts_with('[') || !body.ends_with(']') {
        return None;
    }
    let bytes = text.as_bytes();
    let end = from + body.len();
    let mut at = from + 1;
    let mut items = Vec::new();
    let skip_ws = |mut at: usize| {
        while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
            at += 1;
        }
        at
    };
    at = skip_ws(at);
    if bytes.get(at) == Some(&b']') {
        return (at + 1 == end).then_some(items);
    }
    loop {
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let content_start = at + 1;
        let mut value = String::new();
        let mut j = content_start;
        loop {
            let c = text.get(j..)?.chars().next()?;
            match c {
                '"' => break,
                '\\' => {
                    let e = text.get(j + 1..)?.chars().next()?;
                    j += 2;
                    match e {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        'r' => value.push('\r'),
                        'b' => value.push('\u{8}'),
                        'f' => value.push('\u{c}'),
                        'u' => {
                            let hex = text.get(j..j + 4)?;
                            let code = u32::from_str_radix(hex, 16).ok()?;
                            value.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            j += 4;
                        }
                        '"' | '\\' | '/' => value.push(e),
                        _ => return None,
                    }
                }
                c => {
                    value.push(c);
                    j += c.len_utf8();
                }
            }
        }
        items.push((value, content_start..j));
        at = skip_ws(j + 1);
        match bytes.get(at) {
            Some(b',') => at = skip_ws(at + 1),
            Some(b']') if at + 1 == end => return Some(items),
            _ => return None,
        }
    }
}

/// The script of an exec-form `RUN`: the `-c` string of a shell, or the arguments joined.
fn exec_script(
    items: &[(String, Span)],
    args: &[MappedText],
    text: &str,
    joined: &Joined,
    source: &str,
) -> MappedText {
    let is_shell = items.first().is_some_and(|(argv0, _)| {
        let base = argv0.rsplit('/').next().unwrap_or("");
        ["sh", "bash", "dash", "ash", "zsh", "ksh"].contains(&base)
    });
    if is_shell {
        let c_at = items
            .iter()
            .skip(1)
            .position(|(a, _)| a.starts_with('-') && !a.starts_with("--") && a.contains('c'));
        if let Some(script) = c_at.and_then(|i| args.get(i + 2)) {
            return script.clone();
        }
    }
    let mut joined_args = MappedText::new();
    for (i, (_, range)) in items.iter().enumerate() {
        if i > 0 {
            joined_args.push_synthetic(" ");
        }
        json_push(&mut joined_args, text, range.clone(), joined, source);
    }
    joined_args
}

/// The script of a shell-form `RUN` with its here-documents.
fn shell_script(
    text: &str,
    command: Span,
    bodies: &[(Vec<Span>, Span)],
    heredocs: &[Heredoc],
    joined: &Joined,
    source: &str,
) -> MappedText {
    let mut script = MappedText::new();
    if bodies.is_empty() {
        joined.push_into(&mut script, source, command);
        return script;
    }
    let only_heredocs = text
        .get(command.clone())
        .unwrap_or("")
        .char_indices()
        .all(|(i, c)| {
            let at = command.start + i;
            c.is_whitespace() || bodies.iter().any(|(_, m)| m.contains(&at))
        });
    if only_heredocs {
        for (ranges, _) in bodies {
            for range in ranges {
                script.push_source(source, range.clone());
            }
        }
        return script;
    }
    joined.push_into(&mut script, source, command);
    for ((ranges, _), heredoc) in bodies.iter().zip(heredocs) {
        script.push_synthetic("\n");
        for range in ranges {
            script.push_source(source, range.clone());
        }
        script.push_synthetic(&heredoc.delimiter);
    }
    script
}

/// Appends the decoded JSON string at `range` of the joined text to `out`, mapped to the file:
/// literal runs map verbatim, an escaped quote, slash or backslash maps to its second character,
/// other escapes are synthetic.
fn json_push(out: &mut MappedText, text: &str, range: Span, joined: &Joined, source: &str) {
    let mut run_start = range.start;
    let mut j = range.start;
    let flush = |out: &mut MappedText, from: usize, to: usize| {
        if from < to {
            joined.push_into(out, source, from..to);
        }
    };
    while j < range.end {
        let Some(c) = text.get(j..).and_then(|t| t.chars().next()) else {
            break;
        };
        if c != '\\' {
            j += c.len_utf8();
            continue;
        }
        flush(out, run_start, j);
        let e = text
            .get(j + 1..)
            .and_then(|t| t.chars().next())
            .unwrap_or('\\');
        match e {
            '"' | '\\' | '/' => {
                flush(out, j + 1, j + 2);
                j += 2;
            }
            'u' => {
                let code = text
                    .get(j + 2..j + 6)
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}');
                out.push_synthetic(&code.to_string());
                j += 6;
            }
            other => {
                let decoded = match other {
                    'n' => "\n",
                    't' => "\t",
                    'r' => "\r",
                    _ => "",
                };
                out.push_synthetic(decoded);
                j += 1 + other.len_utf8();
            }
        }
        run_start = j;
    }
    flush(out, run_start, j.min(range.end));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at<'a>(src: &'a str, span: &Span) -> &'a str {
        src.get(span.clone()).unwrap_or("<bad span>")
    }

    fn script_text(inst: &Instruction) -> String {
        inst.script().map(|s| s.text.clone()).unwrap_or_default()
    }

    #[test]
    fn onbuild_wraps_an_instruction() {
        let src = "FROM node\nonbuild  RUN --mount=type=secret,id=npmrc npm ci\nONBUILD ARG NPM_TOKEN\nONBUILD ONBUILD RUN x\nONBUILD\n";
        let df = parse(src);
        let kw: Vec<(&str, bool)> = df
            .instructions
            .iter()
            .map(|i| (i.keyword.as_str(), i.onbuild))
            .collect();
        assert_eq!(
            kw,
            [
                ("FROM", false),
                ("RUN", true),
                ("ARG", true),
                ("ONBUILD", false),
                ("ONBUILD", false)
            ]
        );
        let run = &df.instructions[1];
        assert_eq!(at(src, &run.keyword_span), "RUN");
        assert!(run.flag("mount").is_some());
        assert_eq!(script_text(run), "npm ci");
        let Args::Arg(args) = &df.instructions[2].args else {
            panic!("ARG args");
        };
        assert_eq!(args[0].key, "NPM_TOKEN");
    }

    #[test]
    fn seed_migration_pattern() {
        let src = "FROM node:20\nARG NPM_TOKEN\nRUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\n\nRUN rm -f .npmrc # To prevent your token from leaking\n";
        let df = parse(src);
        let kw: Vec<&str> = df.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(kw, ["FROM", "ARG", "RUN", "RUN"]);
        let Args::Arg(args) = &df.instructions[1].args else {
            panic!("ARG args");
        };
        assert_eq!(args[0].key, "NPM_TOKEN");
        assert!(args[0].value.is_none());
        assert_eq!(at(src, &df.instructions[1].span), "ARG NPM_TOKEN");
        let run = &df.instructions[2];
        assert_eq!(
            script_text(run),
            "echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc"
        );
        // A shell span maps back to the file.
        let script = run.script().expect("script");
        let p = script.text.find(".npmrc").expect("npmrc");
        assert_eq!(at(src, &script.to_source(p..p + 6)), ".npmrc");
        assert_eq!(df.instructions[3].stage, Some(0));
        // `#` after an instruction is not a comment for Dockerfiles.
        assert!(script_text(&df.instructions[3]).ends_with("leaking"));
    }

    #[test]
    fn directives_only_at_the_top() {
        let src =
            "# syntax=docker/dockerfile:1\n# ESCAPE=`\n# syntax=other\nFROM x\n# check=skip=all\n";
        let df = parse(src);
        assert_eq!(df.escape, '`');
        let names: Vec<&str> = df.directives.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["syntax", "escape"]);
        assert_eq!(
            df.directive("syntax").map(|d| d.value.as_str()),
            Some("docker/dockerfile:1")
        );
        assert_eq!(df.comments.len(), 1);
        let late = parse("# hello\n# syntax=docker/dockerfile:1\nFROM x\n");
        assert!(late.directives.is_empty());
        assert_eq!(late.comments.len(), 2);
    }

    #[test]
    fn continuations_skip_comments_and_blank_lines() {
        let src = "RUN npm ci \\\n# a comment\n\n    && npm run build\nRUN x";
        let df = parse(src);
        assert_eq!(df.instructions.len(), 2);
        let run = &df.instructions[0];
        assert_eq!(script_text(run), "npm ci     && npm run build");
        assert_eq!(
            at(src, &run.span),
            "RUN npm ci \\\n# a comment\n\n    && npm run build"
        );
        let s = run.script().expect("script");
        let p = s.text.find("npm run").expect("found");
        assert_eq!(at(src, &s.to_source(p..p + 11)), "npm run bui");
    }

    #[test]
    fn backtick_escape_continuations() {
        let src = "# escape=`\nFROM x\nRUN echo a `\n  b\nCOPY a\\b c\\";
        let df = parse(src);
        assert_eq!(script_text(&df.instructions[1]), "echo a   b");
        let Args::Copy { sources, dest } = &df.instructions[2].args else {
            panic!("copy");
        };
        assert_eq!(sources[0].value, "a\\b");
        assert_eq!(dest.as_ref().map(|d| d.value.as_str()), Some("c\\"));
    }

    #[test]
    fn keyword_is_case_insensitive_and_indented() {
        let src = "  from node AS Build\n  run echo hi\n";
        let df = parse(src);
        assert_eq!(df.instructions[0].keyword, "FROM");
        assert_eq!(at(src, &df.instructions[0].keyword_span), "from");
        assert_eq!(df.stages[0].name.as_deref(), Some("Build"));
        assert_eq!(df.stage_named("build"), Some(0));
        assert!(df.instructions[1].is("run"));
    }

    #[test]
    fn heredocs() {
        let src = "RUN <<EOF\nnpm config set //r/:_authToken $T\nEOF\nRUN cat <<-'A' > /root/.npmrc && cat <<\"B\" >x\n\tline a\n\tA\nline b\nB\nCOPY <<EOF /app/.npmrc\n//r/:_authToken=${T}\nEOF\nRUN echo \"<<EOF\"\nRUN <<OPEN\nno end";
        let df = parse(src);
        let kw: Vec<&str> = df.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(kw, ["RUN", "RUN", "COPY", "RUN", "RUN"]);
        let only = &df.instructions[0];
        assert_eq!(script_text(only), "npm config set //r/:_authToken $T\n");
        assert_eq!(
            at(src, &only.span),
            "RUN <<EOF\nnpm config set //r/:_authToken $T\nEOF"
        );
        let two = &df.instructions[1];
        assert_eq!(two.heredocs.len(), 2);
        assert!(two.heredocs[0].strip_tabs && two.heredocs[0].quoted);
        assert_eq!(two.heredocs[0].body.text, "line a\n");
        assert_eq!(two.heredocs[1].delimiter, "B");
        assert_eq!(at(src, &two.heredocs[0].marker_span), "<<-'A'");
        assert_eq!(
            script_text(two),
            "cat <<-'A' > /root/.npmrc && cat <<\"B\" >x\nline a\nA\nline b\nB"
        );
        let copy = &df.instructions[2];
        let Args::Copy { sources, dest } = &copy.args else {
            panic!("copy");
        };
        assert_eq!(sources[0].value, "<<EOF");
        assert_eq!(dest.as_ref().map(|d| d.value.as_str()), Some("/app/.npmrc"));
        assert_eq!(copy.heredocs[0].body.text, "//r/:_authToken=${T}\n");
        assert!(df.instructions[3].heredocs.is_empty());
        let open = &df.instructions[4];
        assert!(!open.heredocs[0].terminated);
        assert_eq!(script_text(open), "no end");
        assert_eq!(open.span.end, src.len());
    }

    #[test]
    fn exec_form_and_flags() {
        let src = r#"RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --network=none ["sh", "-c", "echo \"x\" > .npmrc"]
RUN ["npm", "ci"]
RUN [not json
COPY --from=builder --chown=node:node ["a b", "/dst/"]
"#;
        let df = parse(src);
        let run = &df.instructions[0];
        assert_eq!(run.flags.len(), 2);
        let mount = run.mounts("secret").next().expect("secret mount");
        assert_eq!(mount.option("id").as_deref(), Some("npmrc"));
        assert_eq!(mount.option("target").as_deref(), Some("/root/.npmrc"));
        assert_eq!(
            at(src, &mount.span),
            "--mount=type=secret,id=npmrc,target=/root/.npmrc"
        );
        let script = run.script().expect("script");
        assert_eq!(script.text, "echo \"x\" > .npmrc");
        let p = script.text.find(".npmrc").expect("found");
        assert_eq!(at(src, &script.to_source(p..p + 6)), ".npmrc");
        assert!(matches!(&run.args, Args::Command(CommandForm::Exec(a)) if a.len() == 3));
        assert_eq!(script_text(&df.instructions[1]), "npm ci");
        assert!(matches!(
            df.instructions[2].args,
            Args::Command(CommandForm::Shell(_))
        ));
        let copy = &df.instructions[3];
        assert_eq!(
            copy.flag("from").and_then(|f| f.value.as_deref()),
            Some("builder")
        );
        assert_eq!(
            copy.flag("chown").and_then(|f| f.value.as_deref()),
            Some("node:node")
        );
        let Args::Copy { sources, dest } = &copy.args else {
            panic!("copy");
        };
        assert_eq!(sources[0].value, "a b");
        assert_eq!(at(src, &sources[0].span), "a b");
        assert_eq!(dest.as_ref().map(|d| d.value.as_str()), Some("/dst/"));
    }

    #[test]
    fn stages_and_global_args() {
        let src = "ARG NODE=20\nFROM node:${NODE} AS deps\nARG NPM_TOKEN\nFROM deps AS build\nFROM nginx\nCOPY --from=build /a /b\n";
        let df = parse(src);
        assert_eq!(df.instructions[0].stage, None);
        assert_eq!(df.instructions[2].stage, Some(0));
        assert_eq!(df.instructions[5].stage, Some(2));
        assert_eq!(df.stages.len(), 3);
        assert_eq!(df.stages[1].base, "deps");
        assert_eq!(df.final_stage(), Some(2));
        assert!(df.in_final_image(2));
        assert!(!df.in_final_image(0));
        let chained = parse("FROM node AS base\nFROM base\n");
        assert!(chained.in_final_image(0));
        let Args::Arg(args) = &df.instructions[0].args else {
            panic!("arg");
        };
        assert_eq!(args[0].value.as_ref().map(|v| v.value.as_str()), Some("20"));
        assert_eq!(at(src, &args[0].key_span), "NODE");
        assert_eq!(args[0].value.as_ref().map(|v| at(src, &v.span)), Some("20"));
    }

    #[test]
    fn env_forms() {
        let src = "ENV A=1 B=\"two words\" C='x y'\nENV LEGACY some value here\nENV NPM_TOKEN=${NPM_TOKEN}\n";
        let df = parse(src);
        let Args::Env(pairs) = &df.instructions[0].args else {
            panic!("env");
        };
        let kv: Vec<(&str, &str)> = pairs
            .iter()
            .map(|p| {
                (
                    p.key.as_str(),
                    p.value.as_ref().map_or("", |v| v.value.as_str()),
                )
            })
            .collect();
        assert_eq!(kv, [("A", "1"), ("B", "two words"), ("C", "x y")]);
        assert_eq!(
            pairs[1].value.as_ref().map(|v| at(src, &v.span)),
            Some("\"two words\"")
        );
        let Args::Env(legacy) = &df.instructions[1].args else {
            panic!("env");
        };
        assert_eq!(legacy[0].key, "LEGACY");
        assert_eq!(
            legacy[0].value.as_ref().map(|v| v.value.as_str()),
            Some("some value here")
        );
        assert_eq!(
            legacy[0].value.as_ref().map(|v| at(src, &v.span)),
            Some("some value here")
        );
        let Args::Env(tok) = &df.instructions[2].args else {
            panic!("env");
        };
        assert_eq!(
            tok[0].value.as_ref().map(|v| v.value.as_str()),
            Some("${NPM_TOKEN}")
        );
    }

    #[test]
    fn copy_add_user() {
        let src = "COPY package.json .npmrc ./\nADD .npmrc /root/\nCOPY . .\nUSER node\nFROM x\n";
        let df = parse(src);
        let Args::Copy { sources, dest } = &df.instructions[0].args else {
            panic!("copy");
        };
        let names: Vec<&str> = sources.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(names, ["package.json", ".npmrc"]);
        assert_eq!(dest.as_ref().map(|d| d.value.as_str()), Some("./"));
        assert!(df.instructions[1].is("ADD"));
        let Args::User(user) = &df.instructions[3].args else {
            panic!("user");
        };
        assert_eq!(user.as_ref().map(|u| u.value.as_str()), Some("node"));
    }

    #[test]
    fn crlf_and_unterminated_continuation() {
        let src = "FROM x\r\nRUN a \\\r\n  b\r\nRUN c \\";
        let df = parse(src);
        assert_eq!(script_text(&df.instructions[1]), "a   b");
        assert_eq!(script_text(&df.instructions[2]), "c ");
        assert_eq!(df.instructions[2].span.end, src.len());
    }

    #[test]
    fn run_scripts_feed_the_shell_analyser() {
        let src = "RUN cat <<EOF > /root/.npmrc \\
  && npm ci
//r/:_authToken=${NPM_TOKEN}
EOF
";
        let df = parse(src);
        let script = df.instructions[0].script().expect("script");
        let parsed = crate::parse::shell::parse(&script.text);
        let names: Vec<Option<&str>> = parsed.commands.iter().map(|c| c.name()).collect();
        assert_eq!(names, [Some("cat"), Some("npm")]);
        let heredoc = parsed.commands[0].redirects[0]
            .heredoc
            .as_ref()
            .expect("heredoc");
        let var = &heredoc.vars[0];
        assert_eq!(at(src, &script.to_source(var.span.clone())), "${NPM_TOKEN}");
        let npm = &parsed.commands[1];
        assert_eq!(at(src, &script.to_source(npm.span.clone())), "npm ci");
    }

    fn check(src: &str) {
        let df = parse(src);
        let ok = |s: &Span| {
            s.start <= s.end
                && s.end <= src.len()
                && src.is_char_boundary(s.start)
                && src.is_char_boundary(s.end)
        };
        let mapped_ok = |m: &MappedText| {
            (0..=m.text.len())
                .filter(|&i| m.text.is_char_boundary(i))
                .all(|i| ok(&m.to_source(0..i)))
        };
        for inst in &df.instructions {
            assert!(ok(&inst.span) && ok(&inst.keyword_span), "{inst:?}");
            assert!(inst.flags.iter().all(|f| ok(&f.span)));
            for h in &inst.heredocs {
                assert!(ok(&h.span) && ok(&h.marker_span) && mapped_ok(&h.body));
            }
            assert!(mapped_ok(&inst.line));
            if let Some(s) = inst.script() {
                assert!(mapped_ok(s));
            }
            let words: Vec<&Word> = match &inst.args {
                Args::From { image, alias } => image.iter().chain(alias.iter()).collect(),
                Args::Arg(kv) | Args::Env(kv) => kv.iter().flat_map(|k| k.value.iter()).collect(),
                Args::Copy { sources, dest } => sources.iter().chain(dest.iter()).collect(),
                Args::User(u) => u.iter().collect(),
                Args::Command(_) => Vec::new(),
                Args::Other(w) => w.iter().collect(),
            };
            assert!(words.iter().all(|w| ok(&w.span)));
            if let Args::Arg(kv) | Args::Env(kv) = &inst.args {
                assert!(kv.iter().all(|k| ok(&k.span) && ok(&k.key_span)));
            }
        }
        for d in &df.directives {
            assert!(ok(&d.span));
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_spans_are_valid(src in "\\PC*") {
            check(&src);
        }

        #[test]
        fn dockerfile_alphabet_is_safe(
            src in "(RUN|COPY|ENV|ARG|FROM|# escape=`|#|<<-?'?E'?|E|\\[\"a\\\\u00e9\", |\\]|\\\\|`|=|--mount=x| |\n|é|\"|'){0,40}"
        ) {
            check(&src);
        }
    }
}
