//! Jenkins pipelines (`Jenkinsfile`, declarative and scripted) into the normalized model, from
//! the tokens of `parse::groovy`.
//!
//! The pipeline is one job: its stages run one after the other in the same workspace (usually on
//! the same node), so a `.npmrc` written in one stage is read by the next. A step is an `sh`/`bat`/`powershell`/`pwsh` call with a
//! string-literal script, or `docker.build(image, 'args')`, read as `docker build args`. The
//! environment a step sees is the pipeline's `environment { }` block (`NAME = credentials('id')`
//! is a stored credential), its stage's, and the `withCredentials([...])` and `withEnv([...])`
//! blocks around it. A script built at run time (`sh script + ' --tag'`, a
//! variable) is not read, so it can raise nothing; steps defined in a shared library
//! (`@Library`) are out of sight, which the file's note says. Jenkins is not an npm
//! trusted-publishing provider.

use std::ops::Range;

use crate::parse::groovy::{self, Delim, GString, Token};
use crate::parse::yaml::{Scalar, ScalarStyle};
use crate::parse::ParseError;
use crate::source::Span;

use super::{
    classify_value, resolve_in, Action, EnvVar, FileCtx, Job, Oidc, Pipeline, Runner, ScriptText,
    Source, Step, System, Value,
};

const SYSTEM: System = System::Jenkins;

const SCRIPT_STEPS: &[&str] = &["sh", "bat", "powershell", "pwsh"];

pub fn check(ctx: &mut FileCtx<'_>) {
    let tokens = match groovy::tokenize(ctx.text) {
        Ok(t) => t,
        Err(e) => {
            ctx.parse_error(e);
            return;
        }
    };
    let mut b = Builder::new(ctx.text, &tokens);
    b.block(0..tokens.len(), &[], false);
    for span in std::mem::take(&mut b.libraries) {
        ctx.note(ParseError::new(
            "uses a Jenkins shared library: the steps it defines are not checked",
            Some(span),
        ));
    }
    let pipeline = b.finish();
    super::rules::run(ctx, &pipeline);
}

struct Builder<'a> {
    text: &'a str,
    toks: &'a [Token],
    /// For each opening bracket token, the index of its closing one.
    closing: Vec<usize>,
    jobs: Vec<Job>,
    /// Pipeline-level `environment { }` (seen by every stage).
    global: Vec<EnvVar>,
    libraries: Vec<Span>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, toks: &'a [Token]) -> Self {
        let mut closing = vec![usize::MAX; toks.len()];
        let mut stack = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            if t.is('{') || t.is('(') || t.is('[') {
                stack.push(i);
            } else if t.is('}') || t.is(')') || t.is(']') {
                if let Some(open) = stack.pop() {
                    closing[open] = i;
                }
            }
        }
        Builder {
            text,
            toks,
            closing,
            jobs: Vec::new(),
            global: Vec::new(),
            libraries: Vec::new(),
        }
    }

    fn finish(mut self) -> Pipeline {
        for job in &mut self.jobs {
            let mut env = self.global.clone();
            env.append(&mut job.env);
            job.env = env;
        }
        Pipeline {
            system: SYSTEM,
            jobs: self.jobs,
            root: None,
        }
    }

    fn tok(&self, i: usize) -> Option<&'a Token> {
        self.toks.get(i)
    }

    fn is(&self, i: usize, c: char) -> bool {
        self.tok(i).is_some_and(|t| t.is(c))
    }

    fn close(&self, open: usize) -> Option<usize> {
        self.closing.get(open).copied().filter(|&c| c != usize::MAX)
    }

    /// The pipeline's job (one per file: `pipeline { }` or scripted `node { }`).
    fn job(&mut self) -> &mut Job {
        if self.jobs.is_empty() {
            self.jobs.push(Job {
                name: "pipeline".into(),
                key_span: 0..0,
                body: None,
                env: Vec::new(),
                steps: Vec::new(),
                oidc: Oidc::default(),
                runner: Runner::default(),
                node: None,
            });
        }
        let last = self.jobs.len() - 1;
        &mut self.jobs[last]
    }

    fn decoded(&self, s: &GString) -> String {
        groovy::decode(self.text, s, "").text
    }

    /// Walks `range`, giving its steps `env` (the stage environment and the credential and
    /// `withEnv` bindings around them). `in_stage`: the stage's `environment { }` is already in
    /// `env`.
    fn block(&mut self, range: Range<usize>, env: &[EnvVar], in_stage: bool) {
        let mut i = range.start;
        while i < range.end {
            let Some(t) = self.tok(i) else { break };
            if t.is('@') && self.tok(i + 1).and_then(Token::ident) == Some("Library") {
                self.libraries
                    .push(t.span.start..self.tok(i + 1).map_or(t.span.end, |n| n.span.end));
                i += 2;
                continue;
            }
            let Some(word) = t.ident() else {
                i += 1;
                continue;
            };
            // `x.sh(...)` is a method of some object, `sh:` a map key: not steps.
            let method = i > 0 && self.is(i - 1, '.');
            let key = self.is(i + 1, ':');
            if method
                && !(word == "build" && self.tok(i - 2).and_then(Token::ident) == Some("docker"))
                || key
            {
                i += 1;
                continue;
            }
            match word {
                "library"
                    if self.is(i + 1, '(') || self.tok(i + 1).and_then(Token::string).is_some() =>
                {
                    self.libraries.push(t.span.clone());
                    i += 1;
                }
                "stage" => i = self.stage(i, range.end, env),
                "environment" if self.is(i + 1, '{') => {
                    let Some(end) = self.close(i + 1) else { break };
                    if !in_stage {
                        let vars = self.environment(i + 2..end, &[]);
                        self.global.extend(vars);
                    }
                    i = end + 1;
                }
                "withCredentials" | "withEnv" | "withNPM" if self.is(i + 1, '(') => {
                    let Some(args_end) = self.close(i + 1) else {
                        break;
                    };
                    let mut inner = env.to_vec();
                    match word {
                        "withCredentials" => inner.extend(self.bindings(i + 2..args_end)),
                        "withEnv" => inner.extend(self.with_env(i + 2..args_end, env)),
                        _ => {
                            let step = self.with_npm(i, args_end);
                            self.job().steps.push(step);
                        }
                    }
                    if self.is(args_end + 1, '{') {
                        let Some(end) = self.close(args_end + 1) else {
                            break;
                        };
                        self.block(args_end + 2..end, &inner, in_stage);
                        i = end + 1;
                    } else {
                        i = args_end + 1;
                    }
                }
                w if SCRIPT_STEPS.contains(&w) && !method => {
                    let (script, next) = self.script_arg(i + 1);
                    if let Some(s) = script {
                        let scalar = Scalar::from_mapped(
                            style(s.delim),
                            groovy::decode(self.text, s, ""),
                            s.content.clone(),
                        );
                        self.push_step(t.span.start, next, scalar, env);
                    }
                    i = next.max(i + 1);
                }
                "build" if method && self.is(i + 1, '(') => {
                    // `docker.build('image', '--build-arg NPM_TOKEN=... .')`
                    let Some(end) = self.close(i + 1) else { break };
                    let args = self.top_level_strings(i + 2..end);
                    if let Some(s) = args.get(1) {
                        let scalar = Scalar::from_mapped(
                            ScalarStyle::DoubleQuoted,
                            groovy::decode(self.text, s, "docker build "),
                            s.content.clone(),
                        );
                        let start = self.tok(i - 2).map_or(t.span.start, |d| d.span.start);
                        self.push_step(start, end + 1, scalar, env);
                    }
                    i = end + 1;
                }
                _ => i += 1,
            }
        }
    }

    fn push_step(&mut self, start: usize, next: usize, scalar: Scalar, env: &[EnvVar]) {
        let end = self
            .tok(next.saturating_sub(1))
            .map_or(start, |t| t.span.end.max(start));
        let span = scalar.to_source(0..scalar.value().len());
        self.job().steps.push(Step {
            span: start..end,
            env: env.to_vec(),
            scripts: vec![ScriptText {
                scalar,
                span,
                list_item: false,
            }],
            action: None,
            list_item: false,
        });
    }

    /// `stage('name') { ... }`: its body, with its own `environment { }` in front of the
    /// bindings around it. A scripted `stage 'name'` (no block) needs nothing.
    fn stage(&mut self, i: usize, end: usize, env: &[EnvVar]) -> usize {
        if !self.is(i + 1, '(') {
            return i + 1;
        }
        let Some(args_end) = self.close(i + 1) else {
            return end;
        };
        if !self.is(args_end + 1, '{') {
            return args_end + 1;
        }
        let Some(body_end) = self.close(args_end + 1) else {
            return end;
        };
        let mut inner = env.to_vec();
        let mut idx = args_end + 2;
        while idx < body_end {
            if self.tok(idx).and_then(Token::ident) == Some("environment") && self.is(idx + 1, '{')
            {
                let close = self.close(idx + 1).unwrap_or(body_end);
                let vars = self.environment(idx + 2..close, &inner);
                inner.extend(vars);
                idx = close + 1;
                continue;
            }
            idx = match self.tok(idx) {
                Some(t) if t.is('{') || t.is('(') || t.is('[') => {
                    self.close(idx).unwrap_or(body_end) + 1
                }
                _ => idx + 1,
            };
        }
        self.block(args_end + 2..body_end, &inner, true);
        body_end + 1
    }

    /// The script string of `sh '...'`, `sh("...")`, `sh(script: '...', returnStdout: true)`,
    /// and the token index after the call. A script assembled at run time gives `None`.
    fn script_arg(&self, at: usize) -> (Option<&'a GString>, usize) {
        let readable = |idx: usize| !self.is(idx + 1, '+') && !self.is(idx + 1, '?');
        if let Some(s) = self.tok(at).and_then(Token::string) {
            return (readable(at).then_some(s), at + 1);
        }
        if !self.is(at, '(') {
            return (None, at);
        }
        let Some(end) = self.close(at) else {
            return (None, at + 1);
        };
        let mut idx = at + 1;
        while idx < end {
            if self.tok(idx).and_then(Token::ident) == Some("script") && self.is(idx + 1, ':') {
                let s = self.tok(idx + 2).and_then(Token::string);
                return (s.filter(|_| readable(idx + 2) && idx + 3 <= end), end + 1);
            }
            idx = match self.tok(idx) {
                Some(t) if t.is('(') || t.is('[') || t.is('{') => {
                    self.close(idx).unwrap_or(end) + 1
                }
                _ => idx + 1,
            };
        }
        let first = self.tok(at + 1).and_then(Token::string);
        let ends_arg = self.is(at + 2, ',') || at + 2 == end;
        (first.filter(|_| ends_arg), end + 1)
    }

    /// String literals that are whole arguments of a call (`a, 'b', "c"`).
    fn top_level_strings(&self, range: Range<usize>) -> Vec<&'a GString> {
        let mut out = Vec::new();
        let mut idx = range.start;
        let mut arg_start = true;
        while idx < range.end {
            let Some(t) = self.tok(idx) else { break };
            if t.is(',') {
                arg_start = true;
                idx += 1;
                continue;
            }
            if let (true, Some(s)) = (arg_start, t.string()) {
                if self.is(idx + 1, ',') || idx + 1 == range.end {
                    out.push(s);
                }
            }
            arg_start = false;
            idx = if t.is('(') || t.is('[') || t.is('{') {
                self.close(idx).unwrap_or(range.end) + 1
            } else {
                idx + 1
            };
        }
        out
    }

    /// `NAME = credentials('id')`, `NAME = 'value'`, `NAME = "${env.X}"` lines.
    fn environment(&self, range: Range<usize>, outer: &[EnvVar]) -> Vec<EnvVar> {
        let mut out: Vec<EnvVar> = Vec::new();
        let mut idx = range.start;
        while idx < range.end {
            let (Some(name_tok), true) = (self.tok(idx), self.is(idx + 1, '=')) else {
                idx += 1;
                continue;
            };
            let Some(name) = name_tok.ident() else {
                idx += 1;
                continue;
            };
            let value_at = idx + 2;
            let value = self.tok(value_at);
            let (text, span, source, last) = match value {
                Some(v) if v.ident() == Some("credentials") && self.is(value_at + 1, '(') => {
                    let close = self.close(value_at + 1).unwrap_or(value_at + 1);
                    let id = self.top_level_strings(value_at + 2..close).first().copied();
                    let (id_text, id_span) = match id {
                        Some(s) => (self.decoded(s), s.content.clone()),
                        None => (String::new(), v.span.clone()),
                    };
                    (
                        id_text.clone(),
                        id_span,
                        Source::Stored(format!("credentials('{id_text}')")),
                        close,
                    )
                }
                Some(v) if v.string().is_some() && !self.is(value_at + 1, '+') => {
                    let s = v.string().unwrap_or_else(|| unreachable!("checked above"));
                    let text = self.decoded(s);
                    let scopes: Vec<&[EnvVar]> = vec![&self.global, outer, &out];
                    let source = classify_value(SYSTEM, &text, &|n| resolve_in(&scopes, n));
                    (text, s.content.clone(), source, value_at)
                }
                Some(v) => (String::new(), v.span.clone(), Source::Other, value_at),
                None => break,
            };
            let end = self.tok(last).map_or(span.end, |t| t.span.end);
            out.push(EnvVar {
                name: name.to_string(),
                key_span: name_tok.span.clone(),
                value: Value { text, span, source },
                entry_span: name_tok.span.start..end,
                block: None,
            });
            idx = last + 1;
        }
        out
    }

    /// The variables of `withCredentials([string(credentialsId: 'id', variable: 'NPM_TOKEN'),
    /// usernamePassword(...), [$class: 'StringBinding', ...]])`.
    fn bindings(&self, range: Range<usize>) -> Vec<EnvVar> {
        let mut out = Vec::new();
        // Each binding is one bracketed group of `key: 'value'` pairs.
        let mut groups: Vec<Vec<(&'a str, &'a GString)>> = vec![Vec::new()];
        for idx in range {
            let Some(t) = self.tok(idx) else { break };
            if t.is('(') || t.is('[') {
                groups.push(Vec::new());
            } else if t.is(')') || t.is(']') {
                if let Some(group) = groups.pop() {
                    self.binding_group(&group, &mut out);
                }
            } else if let (Some(key), true, Some(s)) = (
                t.ident(),
                self.is(idx + 1, ':'),
                self.tok(idx + 2).and_then(Token::string),
            ) {
                if let Some(g) = groups.last_mut() {
                    g.push((key, s));
                }
            }
        }
        for group in &groups {
            self.binding_group(group, &mut out);
        }
        out
    }

    fn binding_group(&self, group: &[(&str, &GString)], out: &mut Vec<EnvVar>) {
        let id = group
            .iter()
            .find(|(k, _)| *k == "credentialsId")
            .map(|(_, s)| *s);
        let Some(id) = id else { return };
        let id_text = self.decoded(id);
        for (key, var) in group {
            if !(*key == "variable" || key.ends_with("Variable")) {
                continue;
            }
            out.push(EnvVar {
                name: self.decoded(var),
                key_span: var.content.clone(),
                value: Value {
                    text: id_text.clone(),
                    span: id.content.clone(),
                    source: Source::Stored(format!("credentials '{id_text}'")),
                },
                entry_span: var.content.clone(),
                block: None,
            });
        }
    }

    /// `withEnv(['NPM_TOKEN=...', "A=${b}"])`.
    fn with_env(&self, range: Range<usize>, outer: &[EnvVar]) -> Vec<EnvVar> {
        let mut out = Vec::new();
        for idx in range {
            let Some(s) = self.tok(idx).and_then(Token::string) else {
                continue;
            };
            let mapped = groovy::decode(self.text, s, "");
            let Some((name, value)) = mapped.text.split_once('=') else {
                continue;
            };
            let vstart = name.len() + 1;
            let source = classify_value(SYSTEM, value, &|n| resolve_in(&[outer], n));
            out.push(EnvVar {
                name: name.trim().to_string(),
                key_span: mapped.to_source(0..name.len()),
                value: Value {
                    text: value.to_string(),
                    span: mapped.to_source(vstart..mapped.text.len()),
                    source,
                },
                entry_span: s.content.clone(),
                block: None,
            });
        }
        out
    }

    /// `withNPM(npmrcConfig: 'id')`: a managed `.npmrc` (Config File Provider) for the block.
    fn with_npm(&self, at: usize, args_end: usize) -> Step {
        let mut inputs = Vec::new();
        for idx in at + 2..args_end {
            if let (Some(key), true, Some(s)) = (
                self.tok(idx).and_then(Token::ident),
                self.is(idx + 1, ':'),
                self.tok(idx + 2).and_then(Token::string),
            ) {
                let text = self.decoded(s);
                inputs.push(EnvVar {
                    name: key.to_string(),
                    key_span: self.toks[idx].span.clone(),
                    value: Value {
                        text: text.clone(),
                        span: s.content.clone(),
                        source: Source::Stored(format!("managed npmrc {text}")),
                    },
                    entry_span: self.toks[idx].span.start..s.content.end,
                    block: None,
                });
            }
        }
        let span = self.toks[at].span.start..self.tok(args_end).map_or(0, |t| t.span.end);
        Step {
            span: span.clone(),
            env: Vec::new(),
            scripts: Vec::new(),
            action: Some(Action {
                name: "jenkins:withnpm".into(),
                version: None,
                span,
                inputs,
                inputs_block: None,
            }),
            list_item: false,
        }
    }
}

fn style(delim: Delim) -> ScalarStyle {
    match delim {
        Delim::Single => ScalarStyle::SingleQuoted,
        Delim::TripleSingle | Delim::TripleDouble => ScalarStyle::Literal,
        Delim::Double | Delim::Slashy | Delim::DollarSlashy => ScalarStyle::DoubleQuoted,
    }
}
