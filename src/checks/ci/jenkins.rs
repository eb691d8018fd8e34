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
    classify_value, resolve_in, Action, EnvVar, FileCtx, Job, NodeSetup, Oidc, Pipeline, Runner,
    ScriptText, Source, Step, System, Value,
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
    for (name, span) in std::mem::take(&mut b.unknown_npm_steps) {
        ctx.note(ParseError::new(
            format!("calls `{name}`, a step defined outside this file (a shared library or plugin): what it runs is not checked"),
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
    /// Calls of npm-named steps neither Jenkins nor this file defines (`publishToNpm()`,
    /// `withNpmConfig { }`): out of sight, so noted.
    unknown_npm_steps: Vec<(String, Span)>,
    /// `tools { nodejs 'node-22.14.0' }`: the NodeJS installation, when its name carries a version.
    node: Option<NodeSetup>,
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
            unknown_npm_steps: Vec::new(),
            node: None,
        }
    }

    fn finish(mut self) -> Pipeline {
        for job in &mut self.jobs {
            let mut env = self.global.clone();
            env.append(&mut job.env);
            job.env = env;
            if job.node.is_none() {
                job.node = self.node.clone();
            }
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
                "tools" if self.is(i + 1, '{') => {
                    let Some(end) = self.close(i + 1) else { break };
                    self.tools(i + 2..end);
                    i = end + 1;
                }
                "nodejs" if self.is(i + 1, '(') => {
                    // `nodejs('Node 22') { ... }` / `nodejs(nodeJSInstallationName: '...')`: the
                    // NodeJS plugin's wrapper; its block is walked as it comes.
                    let Some(args_end) = self.close(i + 1) else {
                        break;
                    };
                    let named = (i + 2..args_end).find_map(|k| {
                        (self.tok(k).and_then(Token::ident) == Some("nodeJSInstallationName")
                            && self.is(k + 1, ':'))
                        .then(|| self.tok(k + 2).and_then(Token::string))
                        .flatten()
                    });
                    let first = self.top_level_strings(i + 2..args_end).first().copied();
                    if let Some(s) = first.or(named) {
                        self.node_tool(s);
                    }
                    i = args_end + 1;
                }
                "configFileProvider" if self.is(i + 1, '(') => {
                    // The block is walked as it comes: the managed file is there for its steps.
                    let Some(args_end) = self.close(i + 1) else {
                        break;
                    };
                    let steps = self.config_files(i, args_end);
                    self.job().steps.extend(steps);
                    i = args_end + 1;
                }
                "withCredentials" | "withEnv" | "withNPM" if self.is(i + 1, '(') => {
                    let Some(args_end) = self.close(i + 1) else {
                        break;
                    };
                    let mut inner = env.to_vec();
                    match word {
                        "withCredentials" => {
                            let vars = self.bindings(i + 2..args_end);
                            // A secret file bound to NPM_CONFIG_USERCONFIG is the .npmrc npm reads.
                            for v in &vars {
                                if v.name.eq_ignore_ascii_case("NPM_CONFIG_USERCONFIG")
                                    && matches!(&v.value.source, Source::Stored(d) if d.starts_with(SECRET_FILE))
                                {
                                    let span = t.span.start
                                        ..self.tok(args_end).map_or(t.span.end, |c| c.span.end);
                                    let step =
                                        managed_npmrc(span, v.key_span.clone(), v.value.clone());
                                    self.job().steps.push(step);
                                }
                            }
                            inner.extend(vars);
                        }
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
                w if (self.is(i + 1, '(') || self.is(i + 1, '{'))
                    && w.to_ascii_lowercase().contains("npm")
                    && !self.defined_here(w) =>
                {
                    if !self.unknown_npm_steps.iter().any(|(n, _)| n == w) {
                        self.unknown_npm_steps.push((w.to_string(), t.span.clone()));
                    }
                    i += 1;
                }
                _ => i += 1,
            }
        }
    }

    /// `def name(...)` (or `void name(...)`) in this file: a local function, whose body the walk
    /// reads where it is written.
    fn defined_here(&self, name: &str) -> bool {
        self.toks.windows(3).any(|w| {
            matches!(w[0].ident(), Some("def" | "void" | "String" | "Object"))
                && w[1].ident() == Some(name)
                && w[2].is('(')
        })
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
        // Each binding is one bracketed group of `key: 'value'` pairs, after the name of its kind
        // (`file(...)`) or with a `$class:` key (`[$class: 'FileBinding', ...]`).
        let mut groups: Vec<Group<'a>> = vec![Group::default()];
        for idx in range {
            let Some(t) = self.tok(idx) else { break };
            if t.is('(') || t.is('[') {
                let kind = idx
                    .checked_sub(1)
                    .and_then(|p| self.tok(p))
                    .and_then(Token::ident)
                    .filter(|_| t.is('('));
                groups.push(Group {
                    kind,
                    pairs: Vec::new(),
                });
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
                    g.pairs.push((key, s));
                }
            }
        }
        for group in &groups {
            self.binding_group(group, &mut out);
        }
        out
    }

    fn binding_group(&self, group: &Group<'_>, out: &mut Vec<EnvVar>) {
        let value = |key: &str| group.pairs.iter().find(|(k, _)| *k == key).map(|(_, s)| *s);
        let Some(id) = value("credentialsId") else {
            return;
        };
        let id_text = self.decoded(id);
        let class = value("$class").map(|c| self.decoded(c));
        let secret_file = group.kind == Some("file") || class.as_deref() == Some("FileBinding");
        let display = if secret_file {
            format!("{SECRET_FILE} '{id_text}'")
        } else {
            format!("credentials '{id_text}'")
        };
        for (key, var) in &group.pairs {
            if !(*key == "variable" || key.ends_with("Variable")) {
                continue;
            }
            out.push(EnvVar {
                name: self.decoded(var),
                key_span: var.content.clone(),
                value: Value {
                    text: id_text.clone(),
                    span: id.content.clone(),
                    source: Source::Stored(display.clone()),
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
        let span = self.toks[at].span.start..self.tok(args_end).map_or(0, |t| t.span.end);
        let config = (at + 2..args_end).find_map(|idx| {
            let key = self.tok(idx).and_then(Token::ident)?;
            let s = self.tok(idx + 2).and_then(Token::string)?;
            (key == "npmrcConfig" && self.is(idx + 1, ':')).then_some((idx, s))
        });
        match config {
            Some((idx, s)) => {
                let text = self.decoded(s);
                let value = Value {
                    source: Source::Stored(format!("managed npmrc {text}")),
                    text,
                    span: s.content.clone(),
                };
                managed_npmrc(span, self.toks[idx].span.clone(), value)
            }
            None => managed_npmrc(
                span.clone(),
                span.clone(),
                Value {
                    text: String::new(),
                    span,
                    source: Source::Other,
                },
            ),
        }
    }

    /// `configFileProvider([configFile(fileId: 'id', targetLocation: '.npmrc')])`: the managed
    /// files that are an npm config (written to an `.npmrc`, or named by the variable npm reads
    /// its user config from). Maven settings and other managed files are no npm credential.
    fn config_files(&self, at: usize, args_end: usize) -> Vec<Step> {
        let mut out = Vec::new();
        let mut idx = at + 2;
        while idx < args_end {
            let is_config =
                self.tok(idx).and_then(Token::ident) == Some("configFile") && self.is(idx + 1, '(');
            let Some(close) = is_config.then(|| self.close(idx + 1)).flatten() else {
                idx += 1;
                continue;
            };
            let pair = |key: &str| {
                (idx + 2..close).find_map(|k| {
                    let s = self.tok(k + 2).and_then(Token::string)?;
                    (self.tok(k).and_then(Token::ident) == Some(key) && self.is(k + 1, ':'))
                        .then_some((k, s))
                })
            };
            let target = pair("targetLocation").map(|(_, s)| self.decoded(s));
            let variable = pair("variable").map(|(_, s)| self.decoded(s));
            let npmrc = target.as_deref().is_some_and(|t| t.ends_with(".npmrc"))
                || variable
                    .as_deref()
                    .is_some_and(|v| v.eq_ignore_ascii_case("NPM_CONFIG_USERCONFIG"));
            if let (true, Some((k, id))) = (npmrc, pair("fileId")) {
                let text = self.decoded(id);
                let span = self.toks[idx].span.start..self.tok(close).map_or(0, |t| t.span.end);
                out.push(managed_npmrc(
                    span,
                    self.toks[k].span.clone(),
                    Value {
                        source: Source::Stored(format!("managed npmrc {text}")),
                        text,
                        span: id.content.clone(),
                    },
                ));
            }
            idx = close + 1;
        }
        out
    }

    /// `tools { nodejs 'node-22.14.0' }`: a NodeJS installation whose name carries its version.
    fn tools(&mut self, range: Range<usize>) {
        for idx in range {
            if self.tok(idx).and_then(Token::ident) != Some("nodejs") {
                continue;
            }
            let s = match self.tok(idx + 1) {
                Some(t) if t.is('(') => self.tok(idx + 2).and_then(Token::string),
                Some(t) => t.string(),
                None => None,
            };
            if let Some(s) = s {
                self.node_tool(s);
            }
        }
    }

    /// The job's Node from the name of a NodeJS tool installation, when it carries a version.
    fn node_tool(&mut self, s: &GString) {
        if !groovy::is_verbatim(self.text, s) {
            return;
        }
        let name = self.decoded(s);
        if let Some((at, version)) = version_in(&name) {
            let start = s.content.start + at;
            self.node.get_or_insert(NodeSetup {
                span: start..start + version.len(),
                version: version.to_string(),
                from_file: None,
                assumed: false,
            });
        }
    }
}

/// The credential a block reads from: [`SECRET_FILE`] bindings and managed config files.
const SECRET_FILE: &str = "secret file credentials";

/// One bracketed binding of `withCredentials([...])`.
#[derive(Default)]
struct Group<'a> {
    /// `file`, `string`, `usernamePassword`: the name before `(`.
    kind: Option<&'a str>,
    pairs: Vec<(&'a str, &'a GString)>,
}

/// A step standing for a managed or secret-file `.npmrc` the block's steps publish with.
fn managed_npmrc(span: Span, key_span: Span, value: Value) -> Step {
    let input = EnvVar {
        name: "npmrcConfig".into(),
        entry_span: key_span.start..value.span.end.max(key_span.start),
        key_span,
        value,
        block: None,
    };
    Step {
        span: span.clone(),
        env: Vec::new(),
        scripts: Vec::new(),
        action: Some(Action {
            name: "jenkins:withnpm".into(),
            version: None,
            span,
            inputs: vec![input],
            inputs_block: None,
        }),
        list_item: false,
    }
}

/// The Node version in a NodeJS tool installation name (`node22`, `NodeJS 20.11.1`,
/// `8.16.0`), with its offset; a name without digits (`node-lts`) has none.
fn version_in(name: &str) -> Option<(usize, &str)> {
    let at = name.find(|c: char| c.is_ascii_digit())?;
    let rest = &name[at..];
    let len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let version = rest[..len].trim_end_matches('.');
    let major: u32 = version.split('.').next()?.parse().ok()?;
    // A Node major (0.x was the last before 4); anything else is a label, not a version.
    (4..100).contains(&major).then_some((at, version))
}

fn style(delim: Delim) -> ScalarStyle {
    match delim {
        Delim::Single => ScalarStyle::SingleQuoted,
        Delim::TripleSingle | Delim::TripleDouble => ScalarStyle::Literal,
        Delim::Double | Delim::Slashy | Delim::DollarSlashy => ScalarStyle::DoubleQuoted,
    }
}

#[cfg(test)]
mod tests {
    use super::version_in;

    #[test]
    fn node_versions_in_tool_installation_names() {
        assert_eq!(version_in("node22"), Some((4, "22")));
        assert_eq!(version_in("NodeJS 20.11.1"), Some((7, "20.11.1")));
        assert_eq!(version_in("8.16.0"), Some((0, "8.16.0")));
        assert_eq!(version_in("node-lts"), None);
        assert_eq!(version_in("nodejs"), None);
        assert_eq!(version_in("build-2024"), None);
    }
}
