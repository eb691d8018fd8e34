//! Best-effort analyser for POSIX-style shell commands, shared by Dockerfile `RUN` instructions and
//! CI `run:`/`script:` steps.
//!
//! It does not execute or fully validate shell: it recovers the simple commands, their words,
//! assignments, redirections, variable references and here-documents, with byte spans into the
//! text it was given, which is what the credential checks need. Any input is accepted; malformed
//! quoting or unbalanced substitutions simply run to the end of the text.
//!
//! Command substitutions (`$(...)`, backticks) and inline scripts (`sh -c '...'`, `bash <<EOF`)
//! are parsed as well; their commands are marked with their [`Nesting`] and mapped back to the
//! coordinates of the outer text.

use crate::source::Span;

/// Beyond this depth substitutions and inline scripts are kept as text: deeply nested input must
/// not exhaust the stack.
const MAX_DEPTH: u32 = 24;

/// Leading words that open or close compound commands. Dropping them makes the command inside
/// (`then npm login`) look like the simple command it runs.
const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
    "esac",
];

/// Shells whose `-c` string or here-document is itself a script worth analysing.
const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"];

/// Builtins whose `NAME=value` arguments define variables, like prefix assignments do.
const DECLARERS: &[&str] = &["export", "declare", "typeset", "readonly", "local"];

/// Every simple command found, in source order (outer commands before the commands nested in them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<Command>,
}

/// Where a command was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// Directly in the text given.
    None,
    /// Inside `$(...)` or backticks.
    Substitution,
    /// Inside the script string of `sh -c`, or a here-document fed to a shell.
    InlineScript,
}

/// A simple command: optional assignments, words, redirections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command name followed by its arguments (compound keywords like `then` removed).
    pub words: Vec<Word>,
    pub assignments: Vec<Assignment>,
    pub redirects: Vec<Redirect>,
    /// Commands joined by `|` share this id; every other separator starts a new one.
    pub pipeline: usize,
    pub span: Span,
    /// 0 for top-level commands, +1 for each substitution or inline script around it.
    pub depth: u32,
    pub nesting: Nesting,
}

/// One shell word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word as written in the script it was parsed from (for words of an inline `sh -c`
    /// script that is the inner script, so it may differ from the outer text at `span`).
    pub raw: String,
    /// The word with quotes and escapes removed; expansions (`$VAR`, `$(...)`) kept as written.
    pub value: String,
    pub span: Span,
    /// Variable references that the shell expands (not those inside single quotes).
    pub vars: Vec<VarRef>,
    /// Whether any part of the word was quoted or escaped.
    pub quoted: bool,
    /// Source offset of every byte of `value`, to map inline scripts back to the outer text.
    offsets: Vec<usize>,
}

/// `$NAME`, `${NAME}`, `${NAME:-default}` and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    pub name: String,
    /// The whole reference, `$` included.
    pub span: Span,
    pub braced: bool,
    /// The word after `:-`, `-`, `:=`, `=`, `:+`, `+`, `:?` or `?`, as written.
    pub default: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentKind {
    /// `FOO=bar cmd`: in the environment of that one command.
    Prefix,
    /// `FOO=bar` alone: a shell variable for the rest of the script.
    Standalone,
    /// `export FOO=bar` (or `declare`, `readonly`, `local`, `typeset`).
    Export,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub name: String,
    pub name_span: Span,
    /// `None` for `export FOO` without a value.
    pub value: Option<Word>,
    pub span: Span,
    pub kind: AssignmentKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectOp {
    /// `<`
    In,
    /// `>`
    Out,
    /// `>>`
    Append,
    /// `>|`
    Clobber,
    /// `<>`
    ReadWrite,
    /// `<&`
    DupIn,
    /// `>&`
    DupOut,
    /// `&>`
    OutErr,
    /// `&>>`
    AppendOutErr,
    /// `<<`
    Heredoc,
    /// `<<-`
    HeredocStripTabs,
    /// `<<<`
    HereString,
}

impl RedirectOp {
    /// Whether the redirection writes to its target file.
    pub fn writes(self) -> bool {
        matches!(
            self,
            RedirectOp::Out
                | RedirectOp::Append
                | RedirectOp::Clobber
                | RedirectOp::ReadWrite
                | RedirectOp::OutErr
                | RedirectOp::AppendOutErr
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub op: RedirectOp,
    /// The explicit file descriptor (`2>`), if any.
    pub fd: Option<u32>,
    /// The file, descriptor or here-string word; for here-documents, the delimiter word.
    pub target: Option<Word>,
    pub heredoc: Option<Heredoc>,
    pub span: Span,
}

/// The body of a `<<DELIM` redirection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub delimiter: String,
    /// A quoted delimiter (`<<'EOF'`) turns expansion off in the body.
    pub quoted: bool,
    pub strip_tabs: bool,
    /// The body, leading tabs removed for `<<-`.
    pub body: String,
    /// The body in the text, without the closing delimiter line.
    pub body_span: Span,
    /// Expanded references in the body (none when the delimiter is quoted).
    pub vars: Vec<VarRef>,
    /// False when the text ended before the delimiter line.
    pub terminated: bool,
    offsets: Vec<usize>,
}

impl Script {
    /// Commands of pipeline `id`, in order.
    pub fn pipeline(&self, id: usize) -> impl Iterator<Item = &Command> {
        self.commands.iter().filter(move |c| c.pipeline == id)
    }

    /// Every span in the script, for callers that need to check or translate them all.
    pub fn spans(&self) -> Vec<Span> {
        let mut out = Vec::new();
        for command in &self.commands {
            let mut command = command.clone();
            remap_command(
                &mut command,
                &mut |s: Span| {
                    out.push(s.clone());
                    s
                },
                &|o| o,
            );
        }
        out
    }
}

impl Command {
    /// The command name (first word's value), if there is one.
    pub fn name(&self) -> Option<&str> {
        self.words.first().map(|w| w.value.as_str())
    }

    /// The command name without its directory (`/usr/bin/npm` → `npm`).
    pub fn base_name(&self) -> Option<&str> {
        self.name().map(|n| n.rsplit('/').next().unwrap_or(n))
    }

    pub fn args(&self) -> &[Word] {
        self.words.get(1..).unwrap_or(&[])
    }

    /// Redirections that write to a file (not to another descriptor).
    pub fn file_writes(&self) -> impl Iterator<Item = (&Redirect, &Word)> {
        self.redirects
            .iter()
            .filter_map(|r| match (&r.target, r.op) {
                (Some(t), op) if op.writes() => Some((r, t)),
                _ => None,
            })
    }
}

impl Word {
    /// True when the word has no quotes, escapes or expansions: its value is exactly its text.
    pub fn is_plain(&self) -> bool {
        !self.quoted && self.vars.is_empty() && self.raw == self.value
    }

    /// Source span of `self.value[range]` (a byte range of the unquoted value).
    pub fn value_span(&self, range: Span) -> Span {
        map_range(&self.offsets, range, self.span.end)
    }
}

/// Parses `text`; never fails. Spans are byte ranges of `text`.
pub fn parse(text: &str) -> Script {
    let mut state = State::default();
    parse_into(text, &mut state, 0, Nesting::None);
    let mut commands = state.commands;
    commands.sort_by_key(|c| c.span.start);
    Script { commands }
}

#[derive(Default)]
struct State {
    commands: Vec<Command>,
    next_pipeline: usize,
}

impl State {
    fn new_pipeline(&mut self) -> usize {
        let id = self.next_pipeline;
        self.next_pipeline += 1;
        id
    }
}

fn parse_into(text: &str, state: &mut State, depth: u32, nesting: Nesting) {
    let first = state.commands.len();
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        end: text.len(),
        depth,
        nesting,
        pending: Vec::new(),
    };
    parser.parse_list(state, false);
    if depth >= MAX_DEPTH {
        return;
    }
    let last = state.commands.len();
    let mut inline = Vec::new();
    for index in first..last {
        let Some((script, offsets, fallback)) = state.commands.get(index).and_then(inline_script)
        else {
            continue;
        };
        let mut sub = State {
            commands: Vec::new(),
            next_pipeline: state.next_pipeline,
        };
        parse_into(&script, &mut sub, depth + 1, Nesting::InlineScript);
        state.next_pipeline = sub.next_pipeline;
        for mut command in sub.commands {
            remap_command(
                &mut command,
                &mut |s| map_range(&offsets, s, fallback),
                &|o| offsets.get(o).copied().unwrap_or(fallback),
            );
            inline.push(command);
        }
    }
    state.commands.extend(inline);
}

/// The script run by `sh -c '...'` or `bash <<EOF`, with the source offset of each of its bytes.
fn inline_script(command: &Command) -> Option<(String, Vec<usize>, usize)> {
    if !SHELLS.contains(&command.base_name()?) {
        return None;
    }
    let mut saw_c = false;
    let mut args = command.args().iter();
    while let Some(arg) = args.next() {
        let v = arg.value.as_str();
        if v == "-o" || v == "+o" {
            args.next();
        } else if v == "--" {
            continue;
        } else if (v.starts_with('-') || v.starts_with('+')) && v.len() > 1 {
            saw_c |= v.starts_with('-') && !v.starts_with("--") && v.contains('c');
        } else if saw_c {
            return Some((arg.value.clone(), arg.offsets.clone(), arg.span.end));
        } else {
            // `sh script.sh`: the script lives in another file.
            return None;
        }
    }
    if saw_c {
        return None;
    }
    command
        .redirects
        .iter()
        .filter(|r| r.fd.is_none_or(|fd| fd == 0))
        .find_map(|r| r.heredoc.as_ref())
        .map(|h| (h.body.clone(), h.offsets.clone(), h.body_span.end))
}

/// Maps a byte range of a derived string back to the source through per-byte offsets.
fn map_range(offsets: &[usize], range: Span, fallback: usize) -> Span {
    let start = offsets.get(range.start).copied().unwrap_or(fallback);
    let end = if range.end == 0 || range.end <= range.start {
        start
    } else {
        offsets
            .get(range.end - 1)
            .map(|o| o + 1)
            .unwrap_or(fallback)
    };
    start..end.max(start)
}

/// Type of the function translating the offsets kept for inline scripts.
type OffsetMap<'a> = &'a dyn Fn(usize) -> usize;

/// Applies `f` to every span of `command`, and `g` to the offsets kept for inline scripts.
fn remap_command(command: &mut Command, f: &mut dyn FnMut(Span) -> Span, g: OffsetMap<'_>) {
    command.span = f(command.span.clone());
    for word in &mut command.words {
        remap_word(word, f, g);
    }
    for assignment in &mut command.assignments {
        assignment.name_span = f(assignment.name_span.clone());
        assignment.span = f(assignment.span.clone());
        if let Some(value) = &mut assignment.value {
            remap_word(value, f, g);
        }
    }
    for redirect in &mut command.redirects {
        redirect.span = f(redirect.span.clone());
        if let Some(target) = &mut redirect.target {
            remap_word(target, f, g);
        }
        if let Some(heredoc) = &mut redirect.heredoc {
            heredoc.body_span = f(heredoc.body_span.clone());
            for var in &mut heredoc.vars {
                var.span = f(var.span.clone());
            }
            remap_offsets(&mut heredoc.offsets, g);
        }
    }
}

fn remap_word(word: &mut Word, f: &mut dyn FnMut(Span) -> Span, g: OffsetMap<'_>) {
    word.span = f(word.span.clone());
    for var in &mut word.vars {
        var.span = f(var.span.clone());
    }
    remap_offsets(&mut word.offsets, g);
}

fn remap_offsets(offsets: &mut [usize], g: OffsetMap<'_>) {
    for offset in offsets.iter_mut() {
        *offset = g(*offset);
    }
}

/// A word being read: its unquoted value with the source offset of every byte.
#[derive(Default)]
struct WordBuf {
    value: String,
    offsets: Vec<usize>,
    vars: Vec<VarRef>,
    quoted: bool,
}

impl WordBuf {
    fn push_char(&mut self, c: char, at: usize) {
        self.value.push(c);
        self.offsets.extend(at..at + c.len_utf8());
    }

    fn push_str(&mut self, s: &str, at: usize) {
        self.value.push_str(s);
        self.offsets.extend(at..at + s.len());
    }
}

/// The command being assembled.
#[derive(Default)]
struct Builder {
    words: Vec<Word>,
    assignments: Vec<Assignment>,
    redirects: Vec<Redirect>,
}

impl Builder {
    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.assignments.is_empty() && self.redirects.is_empty()
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    depth: u32,
    nesting: Nesting,
    /// Here-documents whose bodies start after the next newline: (command index, redirect index).
    pending: Vec<(usize, usize)>,
}

impl<'a> Parser<'a> {
    fn byte(&self, at: usize) -> Option<u8> {
        if at < self.end {
            self.bytes.get(at).copied()
        } else {
            None
        }
    }

    fn char_at(&self, at: usize) -> Option<char> {
        if at >= self.end {
            return None;
        }
        self.text.get(at..)?.chars().next()
    }

    fn sub(&self, pos: usize, end: usize, nesting: Nesting) -> Parser<'a> {
        Parser {
            text: self.text,
            bytes: self.bytes,
            pos,
            end,
            depth: self.depth + 1,
            nesting,
            pending: Vec::new(),
        }
    }

    /// Reads commands until the end, or, with `stop_at_paren`, past the `)` closing a `$(`.
    fn parse_list(&mut self, state: &mut State, stop_at_paren: bool) {
        let mut cmd = Builder::default();
        let mut pipeline = state.new_pipeline();
        let mut parens = 0usize;
        while let Some(b) = self.byte(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\\' if self.byte(self.pos + 1) == Some(b'\n') => self.pos += 2,
                b'#' => {
                    while self.byte(self.pos).is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                b'\n' => {
                    self.finish(state, &mut cmd, pipeline);
                    pipeline = state.new_pipeline();
                    self.pos += 1;
                    self.read_heredocs(state);
                }
                b';' => {
                    self.finish(state, &mut cmd, pipeline);
                    pipeline = state.new_pipeline();
                    self.pos += 1;
                }
                b'&' if self.byte(self.pos + 1) == Some(b'>') => self.redirect(&mut cmd),
                b'&' => {
                    self.finish(state, &mut cmd, pipeline);
                    pipeline = state.new_pipeline();
                    self.pos += if self.byte(self.pos + 1) == Some(b'&') {
                        2
                    } else {
                        1
                    };
                }
                b'|' if self.byte(self.pos + 1) == Some(b'|') => {
                    self.finish(state, &mut cmd, pipeline);
                    pipeline = state.new_pipeline();
                    self.pos += 2;
                }
                b'|' => {
                    self.finish(state, &mut cmd, pipeline);
                    self.pos += if self.byte(self.pos + 1) == Some(b'&') {
                        2
                    } else {
                        1
                    };
                }
                b'(' => {
                    self.finish(state, &mut cmd, pipeline);
                    pipeline = state.new_pipeline();
                    parens += 1;
                    self.pos += 1;
                }
                b')' => {
                    self.finish(state, &mut cmd, pipeline);
                    pipeline = state.new_pipeline();
                    self.pos += 1;
                    if parens > 0 {
                        parens -= 1;
                    } else if stop_at_paren {
                        return;
                    }
                }
                b'<' | b'>' => self.redirect(&mut cmd),
                b'0'..=b'9' if self.is_fd_redirect() => self.redirect(&mut cmd),
                _ => {
                    let start = self.pos;
                    match self.word(state) {
                        Some(word) => self.add_word(&mut cmd, word),
                        None => {
                            // Not a word start: skip one char so the loop always advances.
                            self.pos = start + self.char_at(start).map_or(1, char::len_utf8);
                        }
                    }
                }
            }
        }
        self.finish(state, &mut cmd, pipeline);
    }

    fn is_fd_redirect(&self) -> bool {
        let mut at = self.pos;
        while self.byte(at).is_some_and(|b| b.is_ascii_digit()) {
            at += 1;
        }
        matches!(self.byte(at), Some(b'<' | b'>'))
    }

    fn add_word(&self, cmd: &mut Builder, word: Word) {
        if cmd.words.is_empty() {
            if !word.quoted && RESERVED.contains(&word.value.as_str()) {
                return;
            }
            if let Some(assignment) = split_assignment(&word, self.text, AssignmentKind::Prefix) {
                cmd.assignments.push(assignment);
                return;
            }
        }
        cmd.words.push(word);
    }

    fn finish(&mut self, state: &mut State, cmd: &mut Builder, pipeline: usize) {
        let mut built = std::mem::take(cmd);
        if built.is_empty() {
            return;
        }
        if built.words.is_empty() {
            for a in &mut built.assignments {
                a.kind = AssignmentKind::Standalone;
            }
        }
        let declarer = built
            .words
            .first()
            .is_some_and(|w| !w.quoted && DECLARERS.contains(&w.value.as_str()));
        if declarer {
            for word in built.words.iter().skip(1) {
                if word.value.starts_with('-') {
                    continue;
                }
                if let Some(a) = split_assignment(word, self.text, AssignmentKind::Export) {
                    built.assignments.push(a);
                } else if is_name(&word.value) {
                    built.assignments.push(Assignment {
                        name: word.value.clone(),
                        name_span: word.span.clone(),
                        value: None,
                        span: word.span.clone(),
                        kind: AssignmentKind::Export,
                    });
                }
            }
        }
        let spans = built
            .words
            .iter()
            .map(|w| w.span.clone())
            .chain(built.assignments.iter().map(|a| a.span.clone()))
            .chain(built.redirects.iter().map(|r| r.span.clone()));
        let (start, end) = spans.fold((usize::MAX, 0), |(s, e), span| {
            (s.min(span.start), e.max(span.end))
        });
        let index = state.commands.len();
        for (r, redirect) in built.redirects.iter().enumerate() {
            if redirect.heredoc.is_some() {
                self.pending.push((index, r));
            }
        }
        state.commands.push(Command {
            words: built.words,
            assignments: built.assignments,
            redirects: built.redirects,
            pipeline,
            span: start.min(end)..end,
            depth: self.depth,
            nesting: self.nesting,
        });
    }

    /// Reads the bodies of pending here-documents, which start at the current position.
    fn read_heredocs(&mut self, state: &mut State) {
        for (ci, ri) in std::mem::take(&mut self.pending) {
            let Some(heredoc) = state
                .commands
                .get_mut(ci)
                .and_then(|c| c.redirects.get_mut(ri))
                .and_then(|r| r.heredoc.as_mut())
            else {
                continue;
            };
            let body_start = self.pos;
            let mut body_end = self.end;
            let mut buf = WordBuf::default();
            heredoc.terminated = false;
            while self.pos < self.end {
                let line_start = self.pos;
                let line_end = self
                    .bytes
                    .get(line_start..self.end)
                    .and_then(|rest| memchr::memchr(b'\n', rest))
                    .map_or(self.end, |i| line_start + i);
                let line = self.text.get(line_start..line_end).unwrap_or("");
                let line = line.strip_suffix('\r').unwrap_or(line);
                let stripped = if heredoc.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                self.pos = (line_end + 1).min(self.end);
                if stripped == heredoc.delimiter {
                    body_end = line_start;
                    heredoc.terminated = true;
                    break;
                }
                let skipped = line.len() - stripped.len();
                let kept_end = (line_end + 1).min(self.end);
                if let Some(kept) = self.text.get(line_start + skipped..kept_end) {
                    buf.push_str(kept, line_start + skipped);
                }
            }
            heredoc.body_span = body_start..body_end.max(body_start);
            if !heredoc.quoted {
                heredoc.vars = scan_vars(&buf.value, &buf.offsets, body_end);
            }
            heredoc.body = buf.value;
            heredoc.offsets = buf.offsets;
        }
    }

    fn redirect(&mut self, cmd: &mut Builder) {
        let start = self.pos;
        let mut fd: Option<u32> = None;
        while let Some(b) = self.byte(self.pos).filter(u8::is_ascii_digit) {
            fd = Some(
                fd.unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(u32::from(b - b'0')),
            );
            self.pos += 1;
        }
        let rest = self.text.get(self.pos..self.end).unwrap_or("");
        let (op, len) = [
            ("&>>", RedirectOp::AppendOutErr),
            ("&>", RedirectOp::OutErr),
            ("<<<", RedirectOp::HereString),
            ("<<-", RedirectOp::HeredocStripTabs),
            ("<<", RedirectOp::Heredoc),
            ("<>", RedirectOp::ReadWrite),
            ("<&", RedirectOp::DupIn),
            ("<", RedirectOp::In),
            (">>", RedirectOp::Append),
            (">|", RedirectOp::Clobber),
            (">&", RedirectOp::DupOut),
            (">", RedirectOp::Out),
        ]
        .into_iter()
        .find(|(s, _)| rest.starts_with(s))
        .map_or((RedirectOp::Out, 1), |(s, op)| (op, s.len()));
        self.pos += len;
        while matches!(self.byte(self.pos), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        let mut scratch = State::default();
        let target = self.word(&mut scratch);
        let heredoc = match (op, &target) {
            (RedirectOp::Heredoc | RedirectOp::HeredocStripTabs, Some(t)) => Some(Heredoc {
                delimiter: t.value.clone(),
                quoted: t.quoted,
                strip_tabs: op == RedirectOp::HeredocStripTabs,
                body: String::new(),
                body_span: self.pos..self.pos,
                vars: Vec::new(),
                terminated: false,
                offsets: Vec::new(),
            }),
            _ => None,
        };
        let end = target.as_ref().map_or(self.pos, |t| t.span.end);
        cmd.redirects.push(Redirect {
            op,
            fd,
            target,
            heredoc,
            span: start..end.max(start),
        });
    }

    /// Reads one word at the current position; `None` (nothing consumed) at an operator.
    fn word(&mut self, state: &mut State) -> Option<Word> {
        let start = self.pos;
        let mut buf = WordBuf::default();
        while let Some(b) = self.byte(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>' => {
                    break
                }
                b'\\' => {
                    self.pos += 1;
                    match self.char_at(self.pos) {
                        Some('\n') => self.pos += 1,
                        Some(c) => {
                            buf.quoted = true;
                            buf.push_char(c, self.pos);
                            self.pos += c.len_utf8();
                        }
                        None => {}
                    }
                }
                b'\'' => {
                    buf.quoted = true;
                    self.pos += 1;
                    while let Some(c) = self.char_at(self.pos) {
                        self.pos += c.len_utf8();
                        if c == '\'' {
                            break;
                        }
                        buf.push_char(c, self.pos - c.len_utf8());
                    }
                }
                b'"' => {
                    buf.quoted = true;
                    self.pos += 1;
                    self.double_quoted(state, &mut buf);
                }
                b'$' => self.dollar(state, &mut buf, false),
                b'`' => self.backtick(state, &mut buf),
                _ => {
                    let Some(c) = self.char_at(self.pos) else {
                        break;
                    };
                    buf.push_char(c, self.pos);
                    self.pos += c.len_utf8();
                }
            }
        }
        if self.pos == start {
            return None;
        }
        Some(Word {
            raw: self.text.get(start..self.pos).unwrap_or("").to_string(),
            value: buf.value,
            span: start..self.pos,
            vars: buf.vars,
            quoted: buf.quoted,
            offsets: buf.offsets,
        })
    }

    /// Reads up to and past the closing `"`; the opening one is already consumed.
    fn double_quoted(&mut self, state: &mut State, buf: &mut WordBuf) {
        while let Some(c) = self.char_at(self.pos) {
            match c {
                '"' => {
                    self.pos += 1;
                    return;
                }
                '\\' => match self.char_at(self.pos + 1) {
                    Some('\n') => self.pos += 2,
                    Some(e @ ('$' | '`' | '"' | '\\')) => {
                        buf.push_char(e, self.pos + 1);
                        self.pos += 2;
                    }
                    _ => {
                        buf.push_char('\\', self.pos);
                        self.pos += 1;
                    }
                },
                '$' => self.dollar(state, buf, true),
                '`' => self.backtick(state, buf),
                _ => {
                    buf.push_char(c, self.pos);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn dollar(&mut self, state: &mut State, buf: &mut WordBuf, in_double: bool) {
        let start = self.pos;
        match self.byte(start + 1) {
            Some(b'(') if self.byte(start + 2) == Some(b'(') => {
                self.pos = self.skip_balanced(start + 1, b'(', b')');
            }
            Some(b'(') => {
                if self.depth < MAX_DEPTH {
                    let mut sub = self.sub(start + 2, self.end, Nesting::Substitution);
                    sub.parse_list(state, true);
                    self.pos = sub.pos.max(start + 2);
                } else {
                    self.pos = self.skip_balanced(start + 1, b'(', b')');
                }
            }
            Some(b'{') => {
                let end = self.skip_balanced(start + 1, b'{', b'}');
                let inner_end = if self.bytes.get(end - 1) == Some(&b'}') && end > start + 2 {
                    end - 1
                } else {
                    end
                };
                let inner = self.text.get(start + 2..inner_end).unwrap_or("");
                let (name, default, default_at) = split_braced(inner);
                if !name.is_empty() {
                    buf.vars.push(VarRef {
                        name: name.to_string(),
                        span: start..end,
                        braced: true,
                        default: default.map(str::to_string),
                    });
                }
                if let Some(default) = default {
                    let at = start + 2 + default_at;
                    let offsets: Vec<usize> = (at..at + default.len()).collect();
                    buf.vars.extend(scan_vars(default, &offsets, end));
                }
                self.pos = end;
            }
            Some(b'\'') if !in_double => {
                buf.quoted = true;
                self.pos = start + 2;
                while let Some(c) = self.char_at(self.pos) {
                    match c {
                        '\'' => {
                            self.pos += 1;
                            return;
                        }
                        '\\' => {
                            self.pos += 1;
                            if let Some(e) = self.char_at(self.pos) {
                                buf.push_char(e, self.pos);
                                self.pos += e.len_utf8();
                            }
                        }
                        _ => {
                            buf.push_char(c, self.pos);
                            self.pos += c.len_utf8();
                        }
                    }
                }
                return;
            }
            Some(b'"') if !in_double => {
                // `$"..."` is a translatable string: the `"` case reads it next.
                self.pos = start + 1;
                return;
            }
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                let mut end = start + 1;
                while self
                    .byte(end)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    end += 1;
                }
                buf.vars.push(VarRef {
                    name: self.text.get(start + 1..end).unwrap_or("").to_string(),
                    span: start..end,
                    braced: false,
                    default: None,
                });
                self.pos = end;
            }
            Some(b) if b.is_ascii_digit() || b"@*#?$!-".contains(&b) => {
                buf.vars.push(VarRef {
                    name: char::from(b).to_string(),
                    span: start..start + 2,
                    braced: false,
                    default: None,
                });
                self.pos = start + 2;
            }
            _ => {
                buf.push_char('$', start);
                self.pos = start + 1;
                return;
            }
        }
        let raw = self.text.get(start..self.pos).unwrap_or("");
        buf.push_str(raw, start);
    }

    fn backtick(&mut self, state: &mut State, buf: &mut WordBuf) {
        let start = self.pos;
        let mut at = start + 1;
        let mut close = None;
        while let Some(b) = self.byte(at) {
            match b {
                b'\\' => at += 2,
                b'`' => {
                    close = Some(at);
                    break;
                }
                _ => at += 1,
            }
        }
        let inner_end = close.unwrap_or(self.end).min(self.end);
        if self.depth < MAX_DEPTH {
            let mut sub = self.sub(start + 1, inner_end, Nesting::Substitution);
            sub.parse_list(state, false);
        }
        self.pos = close.map_or(self.end, |c| c + 1);
        let raw = self.text.get(start..self.pos).unwrap_or("");
        buf.push_str(raw, start);
    }

    /// Position just past the bracket closing the one at `open_at`, skipping quoted text.
    fn skip_balanced(&self, open_at: usize, open: u8, close: u8) -> usize {
        let mut depth = 0usize;
        let mut at = open_at;
        let mut quote: Option<u8> = None;
        while let Some(b) = self.byte(at) {
            match quote {
                Some(q) if b == q => quote = None,
                Some(b'"') if b == b'\\' => at += 1,
                Some(_) => {}
                None if b == b'\\' => at += 1,
                None if b == b'\'' || b == b'"' => quote = Some(b),
                None if b == open => depth += 1,
                None if b == close => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return (at + 1).min(self.end);
                    }
                }
                None => {}
            }
            at += 1;
        }
        // Stepping over an escape may land in the middle of a char at the very end.
        let mut end = self.end;
        while end > open_at && !self.text.is_char_boundary(end) {
            end -= 1;
        }
        end
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME=value` as an assignment, when the name is written unquoted.
fn split_assignment(word: &Word, text: &str, kind: AssignmentKind) -> Option<Assignment> {
    let eq = word.value.find('=')?;
    let name = word.value.get(..eq)?;
    if !is_name(name) || !word.raw.starts_with(name) || word.raw.as_bytes().get(eq) != Some(&b'=') {
        return None;
    }
    let name_span = word.span.start..word.span.start + eq;
    let value_start = word.span.start + eq + 1;
    let value = Word {
        raw: text
            .get(value_start..word.span.end)
            .unwrap_or_else(|| word.raw.get(eq + 1..).unwrap_or(""))
            .to_string(),
        value: word.value.get(eq + 1..).unwrap_or("").to_string(),
        span: value_start..word.span.end.max(value_start),
        vars: word
            .vars
            .iter()
            .filter(|v| v.span.start >= value_start)
            .cloned()
            .collect(),
        quoted: word.quoted,
        offsets: word.offsets.get(eq + 1..).unwrap_or(&[]).to_vec(),
    };
    Some(Assignment {
        name: name.to_string(),
        name_span,
        value: Some(value),
        span: word.span.clone(),
        kind,
    })
}

/// Splits the inside of `${...}` into the variable name and the default word, with the offset of
/// the default inside `inner`.
fn split_braced(inner: &str) -> (&str, Option<&str>, usize) {
    let body = inner.strip_prefix(['#', '!']).unwrap_or(inner);
    let skipped = inner.len() - body.len();
    let name_len = if body.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len())
    } else {
        body.chars()
            .next()
            .filter(|c| c.is_ascii_digit() || "@*#?$!-".contains(*c))
            .map_or(0, char::len_utf8)
    };
    let name = body.get(..name_len).unwrap_or("");
    let rest = body.get(name_len..).unwrap_or("");
    for op in [":-", ":=", ":+", ":?", "-", "=", "+", "?"] {
        if let Some(default) = rest.strip_prefix(op) {
            return (name, Some(default), skipped + name_len + op.len());
        }
    }
    (name, None, 0)
}

/// Variable references in expanded text (a here-document body, a `${X:-default}`), mapped
/// through `offsets` to source positions.
fn scan_vars(text: &str, offsets: &[usize], fallback: usize) -> Vec<VarRef> {
    let bytes = text.as_bytes();
    let mut vars = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                let close = text.get(i..).and_then(|t| t.find('}')).map(|c| i + c);
                let end = close.map_or(bytes.len(), |c| c + 1);
                let inner = text.get(i + 2..close.unwrap_or(bytes.len())).unwrap_or("");
                let (name, default, _) = split_braced(inner);
                if !name.is_empty() {
                    vars.push(VarRef {
                        name: name.to_string(),
                        span: map_range(offsets, i..end, fallback),
                        braced: true,
                        default: default.map(str::to_string),
                    });
                }
                i = end;
            }
            b'$' if bytes
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') =>
            {
                let mut end = i + 1;
                while bytes
                    .get(end)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    end += 1;
                }
                vars.push(VarRef {
                    name: text.get(i + 1..end).unwrap_or("").to_string(),
                    span: map_range(offsets, i..end, fallback),
                    braced: false,
                    default: None,
                });
                i = end;
            }
            _ => i += 1,
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(script: &Script) -> Vec<String> {
        script
            .commands
            .iter()
            .map(|c| {
                c.words
                    .iter()
                    .map(|w| w.value.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    fn check_spans(text: &str, script: &Script) {
        for span in script.spans() {
            assert!(span.start <= span.end, "{span:?} reversed in {text:?}");
            assert!(span.end <= text.len(), "{span:?} out of {text:?}");
            assert!(text.is_char_boundary(span.start), "{span:?} in {text:?}");
            assert!(text.is_char_boundary(span.end), "{span:?} in {text:?}");
        }
    }

    #[test]
    fn splits_on_every_separator() {
        let s = parse("a 1 && b 2 || c; d & e\nf | g");
        assert_eq!(names(&s), ["a 1", "b 2", "c", "d", "e", "f", "g"]);
        let pipes: Vec<usize> = s.commands.iter().map(|c| c.pipeline).collect();
        assert_eq!(pipes[5], pipes[6]);
        let mut distinct = pipes[..6].to_vec();
        distinct.dedup();
        assert_eq!(distinct.len(), 6);
    }

    #[test]
    fn echo_tee_pipeline_shares_an_id() {
        let text = "echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" | tee -a .npmrc";
        let s = parse(text);
        assert_eq!(s.commands.len(), 2);
        assert_eq!(s.commands[0].pipeline, s.commands[1].pipeline);
        assert_eq!(s.pipeline(s.commands[0].pipeline).count(), 2);
        let arg = &s.commands[0].words[1];
        assert_eq!(arg.value, "//registry.npmjs.org/:_authToken=${NPM_TOKEN}");
        assert_eq!(arg.vars[0].name, "NPM_TOKEN");
        assert_eq!(&text[arg.vars[0].span.clone()], "${NPM_TOKEN}");
        assert_eq!(&text[s.commands[1].span.clone()], "tee -a .npmrc");
    }

    #[test]
    fn quotes_and_escapes() {
        let s = parse(r#"echo 'a $B' "c \"d\" $E" f\ g \$H"#);
        let w = &s.commands[0].words;
        assert_eq!(w[1].value, "a $B");
        assert!(w[1].vars.is_empty());
        assert_eq!(w[2].value, "c \"d\" $E");
        assert_eq!(w[2].vars[0].name, "E");
        assert_eq!(w[3].value, "f g");
        assert_eq!(w[4].value, "$H");
        assert!(w[4].vars.is_empty());
        assert!(w[0].is_plain() && !w[3].is_plain());
        assert_eq!(w[2].raw, r#""c \"d\" $E""#);
    }

    #[test]
    fn variable_forms() {
        let text = "echo $A ${B} ${C:-x$D} ${#E} $1 $@ ${F-y}";
        let s = parse(text);
        let vars: Vec<(String, Option<String>)> = s.commands[0]
            .words
            .iter()
            .flat_map(|w| w.vars.iter())
            .map(|v| (v.name.clone(), v.default.clone()))
            .collect();
        let expect = [
            ("A", None),
            ("B", None),
            ("C", Some("x$D")),
            ("D", None),
            ("E", None),
            ("1", None),
            ("@", None),
            ("F", Some("y")),
        ];
        let expect: Vec<(String, Option<String>)> = expect
            .iter()
            .map(|(n, d)| (n.to_string(), d.map(str::to_string)))
            .collect();
        assert_eq!(vars, expect);
        let d = &s.commands[0].words[3].vars[1];
        assert_eq!(&text[d.span.clone()], "$D");
    }

    #[test]
    fn command_substitution_is_parsed_and_nested() {
        let text = "TOKEN=$(cat /run/secrets/npm) npm ci && echo `whoami`";
        let s = parse(text);
        assert_eq!(
            names(&s),
            ["npm ci", "cat /run/secrets/npm", "echo `whoami`", "whoami"]
        );
        let cat = &s.commands[1];
        assert_eq!(cat.nesting, Nesting::Substitution);
        assert_eq!(cat.depth, 1);
        assert_eq!(&text[cat.span.clone()], "cat /run/secrets/npm");
        let npm = &s.commands[0];
        assert_eq!(npm.assignments[0].name, "TOKEN");
        assert_eq!(npm.assignments[0].kind, AssignmentKind::Prefix);
        assert_eq!(
            npm.assignments[0].value.as_ref().map(|v| v.value.as_str()),
            Some("$(cat /run/secrets/npm)")
        );
        assert_eq!(s.commands[3].nesting, Nesting::Substitution);
        // Arithmetic is not a command.
        assert_eq!(names(&parse("echo $((1 + (2)))")), ["echo $((1 + (2)))"]);
    }

    #[test]
    fn assignments_and_exports() {
        let s = parse("FOO=bar BAZ='q x' cmd arg; X=1; export NODE_AUTH_TOKEN=\"$T\" -n Y");
        let c = &s.commands[0];
        assert_eq!(c.assignments.len(), 2);
        assert_eq!(
            c.assignments[1].value.as_ref().map(|v| v.value.as_str()),
            Some("q x")
        );
        assert_eq!(c.name(), Some("cmd"));
        assert_eq!(
            s.commands[1].assignments[0].kind,
            AssignmentKind::Standalone
        );
        let e = &s.commands[2];
        assert_eq!(e.name(), Some("export"));
        let names: Vec<&str> = e.assignments.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["NODE_AUTH_TOKEN", "Y"]);
        let v = e.assignments[0]
            .value
            .as_ref()
            .map(|v| v.vars[0].name.as_str());
        assert_eq!(v, Some("T"));
        assert!(e
            .assignments
            .iter()
            .all(|a| a.kind == AssignmentKind::Export));
        // A quoted name is not an assignment.
        assert!(parse("'A'=b").commands[0].assignments.is_empty());
    }

    #[test]
    fn redirections() {
        let text = "echo x > .npmrc; echo y >> ~/.npmrc 2>/dev/null; cmd &> log < in; a >&2";
        let s = parse(text);
        let ops: Vec<(RedirectOp, Option<u32>, String)> = s
            .commands
            .iter()
            .flat_map(|c| c.redirects.iter())
            .map(|r| {
                let t = r
                    .target
                    .as_ref()
                    .map(|t| t.value.clone())
                    .unwrap_or_default();
                (r.op, r.fd, t)
            })
            .collect();
        assert_eq!(
            ops,
            [
                (RedirectOp::Out, None, ".npmrc".to_string()),
                (RedirectOp::Append, None, "~/.npmrc".to_string()),
                (RedirectOp::Out, Some(2), "/dev/null".to_string()),
                (RedirectOp::OutErr, None, "log".to_string()),
                (RedirectOp::In, None, "in".to_string()),
                (RedirectOp::DupOut, None, "2".to_string()),
            ]
        );
        assert_eq!(&text[s.commands[0].redirects[0].span.clone()], "> .npmrc");
        assert_eq!(&text[s.commands[0].span.clone()], "echo x > .npmrc");
        let writes: Vec<&str> = s.commands[1]
            .file_writes()
            .map(|(_, t)| t.value.as_str())
            .collect();
        assert_eq!(writes, ["~/.npmrc", "/dev/null"]);
        let hs = parse("cat <<< \"$TOKEN\"");
        let r = &hs.commands[0].redirects[0];
        assert_eq!(r.op, RedirectOp::HereString);
        assert_eq!(
            r.target.as_ref().map(|t| t.vars[0].name.as_str()),
            Some("TOKEN")
        );
    }

    #[test]
    fn heredoc_bodies() {
        let text = "cat <<EOF > .npmrc && cat <<-'END' >x\n//r/:_authToken=${NPM_TOKEN}\nEOF\n\t$NOT\n\tEND\necho done";
        let s = parse(text);
        assert_eq!(names(&s), ["cat", "cat", "echo done"]);
        let h = s.commands[0].redirects[0]
            .heredoc
            .as_ref()
            .expect("heredoc");
        assert_eq!(h.delimiter, "EOF");
        assert_eq!(h.body, "//r/:_authToken=${NPM_TOKEN}\n");
        assert_eq!(&text[h.body_span.clone()], "//r/:_authToken=${NPM_TOKEN}\n");
        assert_eq!(&text[h.vars[0].span.clone()], "${NPM_TOKEN}");
        assert!(h.terminated);
        let writes: Vec<&str> = s.commands[0]
            .file_writes()
            .map(|(_, t)| t.value.as_str())
            .collect();
        assert_eq!(writes, [".npmrc"]);
        let h2 = s.commands[1].redirects[0]
            .heredoc
            .as_ref()
            .expect("heredoc");
        assert!(h2.quoted && h2.strip_tabs);
        assert_eq!(h2.body, "$NOT\n");
        assert!(h2.vars.is_empty());
        let open = parse("cat <<EOF\nno end");
        let h = open.commands[0].redirects[0]
            .heredoc
            .as_ref()
            .expect("heredoc");
        assert!(!h.terminated);
        assert_eq!(h.body, "no end");
    }

    #[test]
    fn inline_shell_scripts() {
        let text = r#"sh -c "echo \"//r/:_authToken=$T\" > .npmrc" && bash -ec 'npm login'"#;
        let s = parse(text);
        assert_eq!(
            names(&s),
            [
                "sh -c echo \"//r/:_authToken=$T\" > .npmrc",
                "echo //r/:_authToken=$T",
                "bash -ec npm login",
                "npm login"
            ]
        );
        let echo = &s.commands[1];
        assert_eq!(echo.nesting, Nesting::InlineScript);
        assert_eq!(
            &text[echo.redirects[0]
                .target
                .as_ref()
                .map(|t| t.span.clone())
                .unwrap_or_default()],
            ".npmrc"
        );
        assert_eq!(&text[echo.words[1].vars[0].span.clone()], "$T");
        assert_eq!(&text[s.commands[3].span.clone()], "npm login");

        let body = "bash <<EOF\nnpm config set //r/:_authToken $T\nEOF\n";
        let s = parse(body);
        assert_eq!(s.commands[1].name(), Some("npm"));
        assert_eq!(
            &body[s.commands[1].span.clone()],
            "npm config set //r/:_authToken $T"
        );
        // A script file is not inline.
        assert_eq!(parse("sh build.sh").commands.len(), 1);
    }

    #[test]
    fn comments_keywords_and_continuations() {
        let s = parse("# setup\nif [ -n \"$T\" ]; then npm login; fi # trailing\nnpm \\\n  ci");
        assert_eq!(names(&s), ["[ -n $T ]", "npm login", "npm ci"]);
        assert_eq!(names(&parse("echo a#b")), ["echo a#b"]);
        assert_eq!(names(&parse("(cd x && npm ci)")), ["cd x", "npm ci"]);
    }

    #[test]
    fn value_span_maps_into_quoted_words() {
        let text = r#"echo "a=$TOKEN""#;
        let s = parse(text);
        let w = &s.commands[0].words[1];
        assert_eq!(&text[w.value_span(2..8)], "$TOKEN");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let text = "$(".repeat(5000) + &"`".repeat(100) + &"${".repeat(5000);
        let s = parse(&text);
        check_spans(&text, &s);
        let sh = "sh -c \"".repeat(200);
        check_spans(&sh, &parse(&sh));
    }

    proptest! {
        #[test]
        fn never_panics_and_spans_are_valid(text in "\\PC*") {
            let s = parse(&text);
            check_spans(&text, &s);
        }

        #[test]
        fn shell_alphabet_is_safe(text in "[a-z$(){}`'\"\\\\ <>|&;#=\n\t-é]{0,80}") {
            let s = parse(&text);
            check_spans(&text, &s);
        }
    }
}
