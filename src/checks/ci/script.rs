//! What a CI script does with npm credentials: publishes, writes of auth settings into `.npmrc`
//! (and Yarn's `npmAuthToken`), logins, `docker build --build-arg`, npm upgrades, CircleCI OIDC
//! token requests. Built on the shell analyser (`parse::shell`); every span is a file span.
//!
//! CI expressions (`${{ secrets.X }}`, Azure `$(x)`) are substituted by the CI system before the
//! shell runs, so they are blanked to `X…X` of the same length before parsing (keeping offsets)
//! and looked up by position afterwards: inside single quotes they still inline the secret.

use std::sync::LazyLock;

use regex::Regex;

use crate::checks::shell_auth::{self, FactKind};
use crate::parse::shell::{self, Command, Word};
use crate::source::Span;

use super::{expressions, Expr, ScriptText, Source, System};

/// A credential a script uses, and where.
#[derive(Debug, Clone)]
pub struct TokenUse {
    /// How to name it in a message: `secrets.NPM_TOKEN`, `$NPM_TOKEN`.
    pub display: String,
    pub span: Span,
    pub source: Source,
    /// Written as a `${VAR}` placeholder that npm expands when it reads the config: the token
    /// reaches npm, but no file on disk holds it.
    pub placeholder: bool,
}

/// A command that publishes a package.
#[derive(Debug, Clone)]
pub struct Publish {
    /// `npm publish`, `semantic-release`, ...
    pub tool: String,
    pub span: Span,
    pub dry_run: bool,
    /// `--registry` given on the command line (or as `npm_config_registry=`).
    pub registry: Option<String>,
    pub provenance: bool,
    /// Yarn Berry (`yarn npm publish`): a configured `npmAuthToken` wins over OIDC.
    pub yarn_berry: bool,
    /// The tool can publish with trusted publishing at all (`rules/catalogue.toml`: not
    /// `bun publish`, Yarn 1: entries whose `oidc_status` is `none`).
    pub oidc_capable: bool,
    /// Tokens handed to this command alone (`NODE_AUTH_TOKEN=... npm publish`, `--//host/:_authToken=`).
    pub inline: Vec<TokenUse>,
    /// An action or reusable workflow of another repository, judged by its name and what is
    /// passed to it: what it runs was not read.
    pub unread: bool,
}

impl Publish {
    /// This publish as the step or job that runs it from another file sees it: named `TOOL in
    /// WHERE`, placed at `span`, and without the tokens handed to the command there (the
    /// caller's own tokens are what it passes).
    pub fn run_from(&self, place: &str, span: Span) -> Publish {
        Publish {
            tool: format!("{} in {place}", self.tool),
            span,
            inline: Vec::new(),
            ..self.clone()
        }
    }
}

/// A command writing an auth setting into an npm (or Yarn) config file.
#[derive(Debug, Clone)]
pub struct AuthWrite {
    /// The command (file span).
    pub span: Span,
    /// The file written: `.npmrc`, `~/.npmrc`, `.yarnrc.yml`.
    pub target: String,
    /// The registry host the setting is for, when written (`//host/:_authToken`).
    pub host: Option<String>,
    pub token: TokenUse,
    /// A rewrite of the word that holds the setting which writes a `${VAR}` placeholder instead
    /// of the value (npm expands it when it reads the file): (file span, replacement).
    pub placeholder: Option<(Span, String)>,
}

/// A default registry set for later npm commands of the job.
#[derive(Debug, Clone)]
pub struct RegistrySet {
    /// The command (file span).
    pub span: Span,
    /// `@scope:registry=`: only for packages of that scope (`@acme`).
    pub scope: Option<String>,
    pub url: String,
    /// Written to a project `.npmrc` (which npm reads before the user config that
    /// `npm config set` and setup-node write).
    pub project: bool,
}

/// `npm login` and friends.
#[derive(Debug, Clone)]
pub struct Login {
    pub span: Span,
    pub tool: String,
    /// Against a local registry (Verdaccio in e2e tests).
    pub local: bool,
}

/// `--build-arg NAME=value` of a container build.
#[derive(Debug, Clone)]
pub struct BuildArg {
    /// From `--build-arg` to the end of its value (file span).
    pub span: Span,
    pub name: String,
    pub token: TokenUse,
    /// The rewrite: the `--secret` flag that replaces it, or the `secrets:` input of
    /// docker/build-push-action.
    pub edits: Vec<(Span, String)>,
}

/// Everything found in one script.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub publishes: Vec<Publish>,
    pub auth_writes: Vec<AuthWrite>,
    pub logins: Vec<Login>,
    pub build_args: Vec<BuildArg>,
    /// `npm install -g npm@latest` (or a version >= 11.5.1).
    pub npm_upgrade: bool,
    /// `circleci run oidc get`: its span and whether it asks for the npm audience.
    pub oidc_get: Option<(Span, bool)>,
    /// Token variables set in the script (`export NPM_TOKEN=...`).
    pub assignments: Vec<TokenUse>,
    /// Literal credentials in auth positions.
    pub literals: Vec<Span>,
    /// Registries the script sets for the rest of the job, in order: `npm config set registry`,
    /// `registry=` / `@scope:registry=` lines written into an `.npmrc`.
    pub registry_sets: Vec<RegistrySet>,
    /// Tokens a task makes available to the rest of the job (Azure `npmAuthenticate` with an
    /// external service connection).
    pub provided: Vec<TokenUse>,
}

/// How names resolve while analysing: scope lookup and the token-variable test.
pub struct Scope<'a> {
    pub system: System,
    pub resolve: &'a dyn Fn(&str) -> Option<Source>,
    pub is_token_var: &'a dyn Fn(&str) -> bool,
    /// `scripts` of the repository's package.json, to see through `npm run release`.
    pub package_scripts: &'a std::collections::BTreeMap<String, String>,
    /// Reads a repository file by its path from the repository root (through the model, so a
    /// script run by several steps is read once).
    pub read: &'a dyn Fn(&str) -> Option<std::sync::Arc<str>>,
}

/// Largest repository script read to see what a step runs.
const MAX_SCRIPT_BYTES: u64 = 256 * 1024;

/// How deep scripts calling scripts are followed.
const MAX_SCRIPT_DEPTH: u32 = 2;

static AUTH_SETTING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)(?:(//[^\s:'"=]*):)?(_authToken|_auth|_password|npmAuthToken)\s*[=:]\s*["']?([^\s"'#]*)"#)
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Analyses one script scalar.
pub fn analyse(script: &ScriptText, scope: &Scope<'_>) -> Facts {
    let value = script.scalar.value();
    let exprs = expressions(scope.system, value);
    let prepped = blank(value, &exprs);
    let parsed = shell::parse(&prepped);
    let a = Analyser {
        map: Mapping::Scalar(script),
        scope,
        exprs: &exprs,
        depth: 0,
    };
    let mut facts = Facts::default();
    for command in &parsed.commands {
        a.command(command, &parsed.commands, &mut facts);
    }
    // Logins: the shared shell analyser decides what a login is, for Dockerfiles and CI alike.
    // Its spans map through the scalar's text map; the blanked text has the same offsets.
    for fact in shell_auth::analyse(&parsed, script.scalar.mapped()) {
        let FactKind::Login { tool, registry } = fact.kind else {
            continue;
        };
        let command = parsed.commands.get(fact.command);
        let local = registry.as_deref().is_some_and(is_local_registry)
            || command.is_some_and(|c| {
                c.words.iter().any(|w| is_local_registry(&w.value))
                    || c.assignments.iter().any(|a| {
                        a.value
                            .as_ref()
                            .is_some_and(|v| is_local_registry(&v.value))
                    })
            });
        facts.logins.push(Login {
            span: fact.span,
            tool,
            local,
        });
    }
    facts
}

/// `text` with every expression replaced by `X`s of the same byte length.
fn blank(text: &str, exprs: &[Expr]) -> String {
    if exprs.is_empty() {
        return text.to_string();
    }
    let mut bytes = text.as_bytes().to_vec();
    for e in exprs {
        for b in bytes.get_mut(e.range.clone()).into_iter().flatten() {
            if *b != b'\n' {
                *b = b'X';
            }
        }
    }
    // Expressions start and end on ASCII delimiters, so the result is valid UTF-8; the lossy
    // conversion is only a guard.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Where the analysed text is, for spans.
enum Mapping<'a> {
    /// A script written in the CI file.
    Scalar(&'a ScriptText),
    /// A repository script run by a step: everything found in it is reported at the step's
    /// command, and nothing in it is rewritten (edits are spans of the CI file).
    External { call: Span, path: String },
}

struct Analyser<'a> {
    map: Mapping<'a>,
    scope: &'a Scope<'a>,
    exprs: &'a [Expr],
    depth: u32,
}

/// npm/pnpm/yarn options that take a separate value (so the value is not the subcommand).
const VALUE_FLAGS: &[&str] = &[
    "--registry",
    "-w",
    "--workspace",
    "--tag",
    "--access",
    "--otp",
    "--prefix",
    "-C",
    "--dir",
    "--filter",
    "-F",
    "--userconfig",
    "--cwd",
    "-p",
    "--package",
];

fn positional(args: &[Word]) -> Vec<&Word> {
    let mut out = Vec::new();
    let mut skip = false;
    for w in args {
        if skip {
            skip = false;
            continue;
        }
        if w.value.starts_with('-') {
            skip = VALUE_FLAGS.contains(&w.value.as_str());
            continue;
        }
        out.push(w);
    }
    out
}

fn flag_value(args: &[Word], flag: &str) -> Option<String> {
    let eq = format!("{flag}=");
    let mut iter = args.iter();
    while let Some(w) = iter.next() {
        if w.value == flag {
            return iter.next().map(|v| v.value.clone());
        }
        if let Some(v) = w.value.strip_prefix(&eq) {
            return Some(v.to_string());
        }
    }
    None
}

fn has_flag(args: &[Word], flag: &str) -> bool {
    let eq = format!("{flag}=");
    args.iter().any(|w| {
        w.value == flag
            || w.value
                .strip_prefix(&eq)
                .is_some_and(|v| !matches!(v, "false" | "0"))
    })
}

/// Drops wrappers in front of the real command: `sudo`, `env A=b`, `npx -y`, `pnpm exec`,
/// `yarn dlx`, `bunx`, and `yarn`/`pnpm` running a package binary (`yarn changeset publish`).
fn unwrap_words(words: &[Word]) -> &[Word] {
    let mut w = words;
    for _ in 0..6 {
        let Some(first) = w.first() else { return w };
        let name = first.value.rsplit('/').next().unwrap_or(&first.value);
        let rest = &w[1..];
        w = match name {
            "sudo" | "exec" | "time" | "nohup" => rest,
            "env" => {
                let skip = rest
                    .iter()
                    .take_while(|x| x.value.contains('=') || x.value.starts_with('-'))
                    .count();
                &rest[skip..]
            }
            "npx" | "bunx" => {
                let mut i = 0;
                while let Some(x) = rest.get(i) {
                    if x.value == "-p" || x.value == "--package" {
                        i += 2;
                    } else if x.value.starts_with('-') {
                        i += 1;
                    } else {
                        break;
                    }
                }
                rest.get(i..).unwrap_or(&[])
            }
            "pnpm" | "pn" | "yarn" => match rest.first().map(|x| x.value.as_str()) {
                Some("exec" | "dlx") => &rest[1..],
                Some(p) if crate::catalogue::is_publisher_program(p) => rest,
                _ => return w,
            },
            _ => return w,
        };
    }
    w
}

/// The package name of an `npx`-style argument: `semantic-release@24` → `semantic-release`.
fn bin_name(word: &str) -> &str {
    let base = word.rsplit('/').next().unwrap_or(word);
    match base.find('@') {
        Some(0) | None => base,
        Some(i) => &base[..i],
    }
}

fn is_local_registry(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ["localhost", "127.0.0.1", "0.0.0.0", "verdaccio", "[::1]"]
        .iter()
        .any(|h| lower.contains(h))
}

impl Analyser<'_> {
    fn file_span(&self, range: Span) -> Span {
        match &self.map {
            Mapping::Scalar(script) => script.scalar.to_source(range),
            Mapping::External { call, .. } => call.clone(),
        }
    }

    /// Whether spans found here are spans of the CI file (so edits can be offered).
    fn editable(&self) -> bool {
        matches!(self.map, Mapping::Scalar(_))
    }

    /// `./scripts/publish.sh`, `bash scripts/release.sh`: the repository script the command
    /// runs, analysed with what the step's environment gives it.
    fn external_script(&self, command: &Command, words: &[Word], facts: &mut Facts) {
        if self.depth >= MAX_SCRIPT_DEPTH {
            return;
        }
        let Some(first) = words.first() else { return };
        if bin_name(&first.value) == "make" {
            if let Some((rel, recipe)) = self.make_recipe(&words[1..]) {
                self.external_text(command, &rel, &recipe, facts);
            }
            return;
        }
        let path = if first.value.ends_with(".sh") {
            Some(first.value.as_str())
        } else if matches!(
            bin_name(&first.value),
            "bash" | "sh" | "zsh" | "source" | "."
        ) {
            positional(&words[1..])
                .first()
                .map(|w| w.value.as_str())
                .filter(|p| p.ends_with(".sh"))
        } else {
            None
        };
        let Some(path) = path.filter(|p| !p.starts_with('/') && !p.contains('$')) else {
            return;
        };
        let rel = path.trim_start_matches("./");
        let Some(text) = (self.scope.read)(rel) else {
            return;
        };
        self.external_text(command, rel, &text, facts);
    }

    /// `make drone-publish`: the recipe of that target in the repository's Makefile, as the
    /// shell would run it (make's `$$` is the shell's `$`). A `-C dir`/`-f file` run, a target
    /// made of variables or a Makefile without that rule is not read.
    fn make_recipe(&self, args: &[Word]) -> Option<(String, String)> {
        if args
            .iter()
            .any(|w| w.value.starts_with('-') || w.value.contains('$'))
        {
            return None;
        }
        let target = args.iter().find(|w| !w.value.contains('='))?.value.clone();
        let (rel, text) = ["Makefile", "makefile", "GNUmakefile"]
            .iter()
            .find_map(|name| (self.scope.read)(name).map(|t| (name.to_string(), t)))?;
        let mut recipe = String::new();
        let mut inside = false;
        for line in text.lines() {
            if let Some(body) = line.strip_prefix('\t') {
                if inside {
                    let body = body.trim_start_matches(['@', '-', '+']);
                    recipe.push_str(&body.replace("$$", "$"));
                    recipe.push('\n');
                }
                continue;
            }
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            // `target: prerequisites` (not `VAR := value`).
            inside = line.split_once(':').is_some_and(|(names, rest)| {
                !rest.starts_with('=') && names.split_whitespace().any(|n| n == target)
            });
        }
        (!recipe.is_empty()).then_some((rel, recipe))
    }

    /// What a repository script (or Makefile recipe) `rel` does, reported at `command`.
    fn external_text(&self, command: &Command, rel: &str, text: &str, facts: &mut Facts) {
        if text.len() as u64 > MAX_SCRIPT_BYTES {
            return;
        }
        let parsed = shell::parse(text);
        let inner = Analyser {
            map: Mapping::External {
                call: self.file_span(command.span.clone()),
                path: rel.to_string(),
            },
            scope: self.scope,
            exprs: &[],
            depth: self.depth + 1,
        };
        let mut found = Facts::default();
        for c in &parsed.commands {
            inner.command(c, &parsed.commands, &mut found);
        }
        // Literals in the script are the token sweep's business, at their real position.
        let not_literal = |t: &TokenUse| t.source != Source::Literal;
        for mut p in found.publishes {
            p.inline.retain(not_literal);
            facts.publishes.push(p);
        }
        facts.auth_writes.extend(
            found
                .auth_writes
                .into_iter()
                .filter(|w| not_literal(&w.token)),
        );
        facts.build_args.extend(
            found
                .build_args
                .into_iter()
                .filter(|b| not_literal(&b.token)),
        );
        facts
            .assignments
            .extend(found.assignments.into_iter().filter(not_literal));
        facts.npm_upgrade |= found.npm_upgrade;
        facts.oidc_get = facts.oidc_get.take().or(found.oidc_get);
        facts.registry_sets.extend(found.registry_sets);
    }

    /// Names a publish found in a repository script after the script.
    fn tool_name(&self, tool: String) -> String {
        match &self.map {
            Mapping::External { path, .. } => format!("{tool} in {path}"),
            Mapping::Scalar(_) => tool,
        }
    }

    fn command(&self, command: &Command, all: &[Command], facts: &mut Facts) {
        let words = unwrap_words(&command.words);
        let Some(first) = words.first() else {
            self.assignments(command, facts);
            return;
        };
        let name = bin_name(&first.value);
        let args = &words[1..];
        let pos = positional(args);
        let sub = pos.first().map(|w| w.value.as_str()).unwrap_or("");
        let sub2 = pos.get(1).map(|w| w.value.as_str()).unwrap_or("");
        let publish_tool = publish_tool(&first.value, args, &pos)
            .map(|c| (c.tool.clone(), c))
            .or_else(|| self.package_script_publish(name, sub, sub2, 0));
        if let Some((tool, entry)) = publish_tool {
            self.publish(command, args, self.tool_name(tool), entry, facts);
        }
        self.external_script(command, words, facts);
        if matches!(name, "npm" | "pnpm" | "pn" | "yarn")
            && (sub == "config" && sub2 == "set" || sub == "set")
        {
            self.config_set(command, name, args, facts);
        }
        let global_install = matches!(name, "npm" | "pnpm")
            && matches!(sub, "install" | "i" | "add")
            && (has_flag(args, "-g") || has_flag(args, "--global"));
        let volta = name == "volta" && sub == "install";
        if (global_install && pos.iter().skip(1).any(|w| npm_spec_is_oidc_ready(&w.value)))
            || (volta && pos.iter().any(|w| npm_spec_is_oidc_ready(&w.value)))
        {
            facts.npm_upgrade = true;
        }
        if name == "circleci" && sub == "run" && sub2 == "oidc" {
            let npm_aud = command
                .words
                .iter()
                .any(|w| w.value.contains("npm:registry.npmjs.org"));
            facts.oidc_get = Some((self.file_span(command.span.clone()), npm_aud));
        }
        let builds = match name {
            "docker" | "podman" => {
                sub == "build" || (matches!(sub, "buildx" | "image") && sub2 == "build")
            }
            "buildah" => matches!(sub, "bud" | "build"),
            "executor" => true,
            _ => false,
        };
        if builds {
            self.build_args(args, facts);
        }
        self.file_writes(command, all, facts);
        self.github_env(command, facts);
        self.assignments(command, facts);
    }

    /// `npm run release`, `yarn release`, `pnpm release`: the package.json script it runs, when
    /// that script publishes.
    fn package_script_publish(
        &self,
        name: &str,
        sub: &str,
        sub2: &str,
        depth: u32,
    ) -> Option<(String, &'static crate::catalogue::Command)> {
        if depth > 2 || !matches!(name, "npm" | "pnpm" | "pn" | "yarn" | "bun") {
            return None;
        }
        let script = match sub {
            "run" | "run-script" => sub2,
            s if name != "npm" => s,
            _ => return None,
        };
        let body = self.scope.package_scripts.get(script)?;
        for c in shell::parse(body).commands {
            let words = unwrap_words(&c.words);
            let Some(first) = words.first() else { continue };
            let inner = bin_name(&first.value);
            let args = &words[1..];
            let pos = positional(args);
            let s1 = pos.first().map(|w| w.value.as_str()).unwrap_or("");
            let s2 = pos.get(1).map(|w| w.value.as_str()).unwrap_or("");
            let found = publish_tool(&first.value, args, &pos)
                .filter(|c| !c.is_dry_run(&|f| has_flag(args, f)))
                .map(|c| (c.tool.clone(), c))
                .or_else(|| self.package_script_publish(inner, s1, s2, depth + 1));
            if let Some((tool, entry)) = found {
                return Some((format!("{name} run {script} ({tool})"), entry));
            }
        }
        None
    }

    fn publish(
        &self,
        command: &Command,
        args: &[Word],
        tool: String,
        entry: &crate::catalogue::Command,
        facts: &mut Facts,
    ) {
        let mut registry = flag_value(args, "--registry");
        let mut dry_run = entry.is_dry_run(&|f| has_flag(args, f))
            || has_flag(args, "--dry-run")
            || has_flag(args, "--dryRun");
        let mut inline = Vec::new();
        // `beachball publish -n $(npmToken)`, `rush publish --npm-auth-token $T`: the token
        // itself is a flag value, whatever the variable holding it is called.
        for flag in &entry.token_flags {
            let eq = format!("{flag}=");
            for (i, w) in args.iter().enumerate() {
                let found = if w.value == *flag {
                    args.get(i + 1).map(|v| (v, 0..v.value.len()))
                } else {
                    w.value
                        .strip_prefix(&eq)
                        .map(|v| (w, eq.len()..eq.len() + v.len()))
                };
                if let Some(t) = found
                    .and_then(|(word, range)| self.token_in_word(word, range))
                    .filter(|t| !t.placeholder && t.source != Source::ShortLived)
                {
                    inline.push(t);
                }
            }
        }
        for a in &command.assignments {
            let lower = a.name.to_ascii_lowercase();
            let value = a.value.as_ref().map(|v| v.value.as_str()).unwrap_or("");
            if lower == "npm_config_registry" {
                registry = Some(value.to_string());
            }
            if lower == "npm_config_dry_run" && value == "true" {
                dry_run = true;
            }
            if (self.scope.is_token_var)(&a.name) {
                if let Some(v) = &a.value {
                    if let Some(t) = self
                        .token_in_word(v, 0..v.value.len())
                        .filter(|t| !t.placeholder)
                    {
                        inline.push(t);
                    }
                }
            }
        }
        for w in args {
            for (_, _, range) in auth_settings(&w.value) {
                if let Some(t) = self.token_in_word(w, range).filter(|t| !t.placeholder) {
                    inline.push(t);
                }
            }
        }
        let span = command
            .words
            .last()
            .map(|w| command.span.start..w.span.end)
            .unwrap_or(command.span.clone());
        facts.publishes.push(Publish {
            yarn_berry: entry.yarn_berry,
            oidc_capable: entry.oidc_capable,
            tool,
            span: self.file_span(span),
            dry_run,
            registry,
            provenance: has_flag(args, "--provenance"),
            inline,
            unread: false,
        });
    }

    fn config_set(&self, command: &Command, tool: &str, args: &[Word], facts: &mut Facts) {
        // `npm config set KEY VALUE`, `npm config set KEY=VALUE`, `npm set KEY VALUE`.
        let pos = positional(args);
        let start = pos
            .iter()
            .position(|w| w.value == "set")
            .map(|i| i + 1)
            .unwrap_or(0);
        let Some(key_word) = pos.get(start) else {
            return;
        };
        let (key, value_word, value_range) = match key_word.value.split_once('=') {
            Some((k, v)) => {
                let at = k.len() + 1;
                (k.to_string(), *key_word, at..at + v.len())
            }
            None => match pos.get(start + 1) {
                Some(v) => (key_word.value.clone(), *v, 0..v.value.len()),
                None => return,
            },
        };
        let scoped = key.strip_suffix(":registry").filter(|s| s.starts_with('@'));
        if (key == "registry" || scoped.is_some()) && matches!(tool, "npm" | "pnpm" | "pn") {
            // `npm config set registry URL`: where later publishes of the job go. It writes
            // the user config unless told otherwise.
            let project = flag_value(args, "--location").as_deref() == Some("project");
            facts.registry_sets.push(RegistrySet {
                span: self.file_span(command.span.clone()),
                scope: scoped.map(str::to_string),
                url: value_word.value.get(value_range).unwrap_or("").to_string(),
                project,
            });
            return;
        }
        let is_auth = key.ends_with("_authToken")
            || key.ends_with("_auth")
            || key.ends_with("_password")
            || key == "npmAuthToken"
            || key.ends_with(".npmAuthToken");
        if !is_auth {
            return;
        }
        let Some(token) = self.token_in_word(value_word, value_range) else {
            return;
        };
        let target = if tool == "yarn" && key.contains("npmAuthToken") {
            "~/.yarnrc.yml"
        } else {
            "~/.npmrc"
        };
        let host = key
            .strip_prefix("//")
            .and_then(|k| k.split(['/', ':']).next())
            .map(str::to_string);
        let placeholder = self.placeholder_rewrite(value_word, &token);
        facts.auth_writes.push(AuthWrite {
            span: self.file_span(command.span.clone()),
            target: target.to_string(),
            host,
            token,
            placeholder,
        });
    }

    /// A word whose whole value is `PREFIX$VAR` (shell-expanded) rewritten to `'PREFIX${VAR}'`, so
    /// the file gets the placeholder and npm reads the variable itself.
    fn placeholder_rewrite(&self, word: &Word, token: &TokenUse) -> Option<(Span, String)> {
        if !self.editable() || word.vars.len() != 1 || word.value.contains('\'') {
            return None;
        }
        let var = word.vars.first()?;
        let name = &var.name;
        let dollar = word.value.find('$')?;
        let rest = &word.value[dollar..];
        let end = if rest.starts_with("${") {
            rest.find('}')? + 1
        } else {
            1 + rest[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len() - 1)
        };
        let replaced = format!(
            "'{}${{{}}}{}'",
            &word.value[..dollar],
            name,
            &rest[end.min(rest.len())..]
        );
        if !matches!(token.source, Source::Stored(_)) {
            return None;
        }
        Some((self.file_span(word.span.clone()), replaced))
    }

    fn build_args(&self, args: &[Word], facts: &mut Facts) {
        let mut i = 0;
        while let Some(w) = args.get(i) {
            let (flag_word, value_word, offset) = if w.value == "--build-arg" {
                match args.get(i + 1) {
                    Some(v) => {
                        i += 1;
                        (w, v, 0)
                    }
                    None => break,
                }
            } else if w.value.starts_with("--build-arg=") {
                (w, w, "--build-arg=".len())
            } else {
                i += 1;
                continue;
            };
            i += 1;
            let spec = value_word.value.get(offset..).unwrap_or("");
            let (name, has_value) = match spec.split_once('=') {
                Some((n, _)) => (n.to_string(), true),
                None => (spec.to_string(), false),
            };
            let token = if has_value {
                let start = offset + name.len() + 1;
                self.token_in_word(value_word, start..value_word.value.len())
                    .filter(|t| !t.placeholder)
            } else {
                // `--build-arg NPM_TOKEN` copies the variable from the environment.
                (self.scope.is_token_var)(&name).then(|| TokenUse {
                    display: format!("${name}"),
                    span: self.file_span(value_word.span.clone()),
                    source: (self.scope.resolve)(&name)
                        .unwrap_or(Source::Stored(format!("${name}"))),
                    placeholder: false,
                })
            };
            let Some(token) = token else { continue };
            // A login's user name or e-mail (`NPM_AUTH_USERNAME`) is no token, whatever it reads.
            let upper = name.to_ascii_uppercase();
            let login_field = ["USER", "EMAIL"].iter().any(|f| upper.contains(f));
            if !(self.scope.is_token_var)(&name)
                && (login_field || !super::looks_like_npm_secret(&token.display))
            {
                continue;
            }
            if !matches!(token.source, Source::Stored(_) | Source::Literal) {
                continue;
            }
            let env_name = value_word
                .vars
                .first()
                .map(|v| v.name.clone())
                .filter(|_| has_value)
                .unwrap_or_else(|| name.clone());
            let span = self.file_span(flag_word.span.start..value_word.span.end);
            let edits = if self.editable() {
                vec![(
                    span.clone(),
                    format!("--secret id={},env={}", name.to_ascii_lowercase(), env_name),
                )]
            } else {
                Vec::new()
            };
            facts.build_args.push(BuildArg {
                edits,
                span,
                name,
                token,
            });
        }
    }

    /// `echo "NPM_TOKEN=..." >> $GITHUB_ENV`: the variable is set for every later step.
    fn github_env(&self, command: &Command, facts: &mut Facts) {
        let to_env = command
            .file_writes()
            .any(|(_, t)| t.value.contains("GITHUB_ENV"));
        if !to_env {
            return;
        }
        for w in command.args() {
            let Some((name, _)) = w.value.split_once('=') else {
                continue;
            };
            if !(self.scope.is_token_var)(name) {
                continue;
            }
            let start = name.len() + 1;
            if let Some(t) = self
                .token_in_word(w, start..w.value.len())
                .filter(|t| !t.placeholder && t.source.is_stored())
            {
                facts.provided.push(t);
            }
        }
    }

    /// `echo ... > .npmrc`, `cat > ~/.npmrc <<EOF`, `echo ... | tee -a .npmrc`.
    fn file_writes(&self, command: &Command, all: &[Command], facts: &mut Facts) {
        let mut targets: Vec<String> = command
            .file_writes()
            .map(|(_, t)| t.value.clone())
            .filter(|t| is_config_target(t))
            .collect();
        let tee = command.base_name() == Some("tee");
        if tee {
            targets.extend(
                command
                    .args()
                    .iter()
                    .filter(|w| is_config_target(&w.value))
                    .map(|w| w.value.clone()),
            );
        }
        let Some(target) = targets.into_iter().next() else {
            return;
        };
        // The content: the command's own words, a here-document, or for `tee` the commands
        // before it in the pipeline.
        let mut sources: Vec<&Command> = vec![command];
        if tee {
            sources
                .extend(all.iter().filter(|c| {
                    c.pipeline == command.pipeline && c.span.end <= command.span.start
                }));
        }
        let project = is_project_npmrc(&target);
        for c in sources {
            let args = c.args();
            let bodies = c.redirects.iter().filter_map(|r| r.heredoc.as_ref());
            let texts = args
                .iter()
                .map(|w| w.value.as_str())
                .chain(bodies.map(|h| h.body.as_str()));
            for text in texts {
                for (scope, url) in registry_lines(text) {
                    facts.registry_sets.push(RegistrySet {
                        span: self.file_span(c.span.clone()),
                        scope,
                        url,
                        project,
                    });
                }
            }
            for (wi, w) in args.iter().enumerate() {
                for (_, host, range) in auth_settings(&w.value) {
                    // `printf '//host/:_authToken=%s\n' "$NPM_TOKEN"`: the value is an argument.
                    let is_format = w
                        .value
                        .get(range.clone())
                        .is_some_and(|v| v.starts_with("%s"))
                        && c.base_name() == Some("printf");
                    let found = if is_format {
                        args.get(wi + 1..)
                            .unwrap_or(&[])
                            .iter()
                            .find_map(|a| self.token_in_word(a, 0..a.value.len()))
                    } else {
                        self.token_in_word(w, range)
                    };
                    if let Some(token) = found {
                        let placeholder = if is_format {
                            None
                        } else {
                            self.placeholder_rewrite(w, &token)
                        };
                        facts.auth_writes.push(AuthWrite {
                            span: self.file_span(c.span.clone()),
                            target: target.clone(),
                            host,
                            token,
                            placeholder,
                        });
                    }
                }
            }
            for r in &c.redirects {
                let Some(h) = &r.heredoc else { continue };
                for (_, host, range) in auth_settings(&h.body) {
                    let value = h.body.get(range.clone()).unwrap_or("");
                    let start = h.body_span.start + range.start;
                    let span_in_script = start..start + value.len();
                    if let Some(token) = self.token_at(span_in_script, value, !h.quoted) {
                        facts.auth_writes.push(AuthWrite {
                            span: self.file_span(c.span.clone()),
                            target: target.clone(),
                            host,
                            token,
                            placeholder: None,
                        });
                    }
                }
            }
        }
    }

    /// `export NPM_TOKEN=...` and `NPM_TOKEN=...` alone: the token is set for the rest of the
    /// script.
    fn assignments(&self, command: &Command, facts: &mut Facts) {
        for a in &command.assignments {
            if !(self.scope.is_token_var)(&a.name) {
                continue;
            }
            let Some(v) = &a.value else { continue };
            if let Some(t) = self
                .token_in_word(v, 0..v.value.len())
                .filter(|t| !t.placeholder)
            {
                if t.source == Source::Literal {
                    facts.literals.push(t.span.clone());
                }
                facts.assignments.push(t);
            }
        }
    }

    /// The credential in `word.value[range]`: an expression, a variable or a literal.
    fn token_in_word(&self, word: &Word, range: Span) -> Option<TokenUse> {
        let value = word.value.get(range.clone())?;
        if value.is_empty() {
            return None;
        }
        let start = range.start;
        let in_script = word.value_span(range);
        // Single-quoted `$VAR` is not expanded by the shell: it is literal text, but npm expands
        // `${VAR}` when it reads the file, which is the safe form.
        let expands = word
            .vars
            .iter()
            .any(|v| v.span.start < in_script.end && in_script.start < v.span.end);
        // `//host/:_authToken=$(vault read ...)`: whatever the command prints is the credential
        // (this only runs for values in npm auth positions).
        let substitution = value.starts_with("$(") || value.starts_with('`');
        if substitution
            && !word.raw.starts_with('\'')
            && !self
                .exprs
                .iter()
                .any(|e| e.range.start < in_script.end && in_script.start < e.range.end)
        {
            // The auth-setting pattern stops at the first space: show the whole substitution.
            let rest = word.value.get(start..).unwrap_or(value);
            let whole = match (value.starts_with('`'), rest.get(1..)) {
                (true, Some(r)) => r.find('`').map(|i| &rest[..i + 2]),
                _ => rest.find(')').map(|i| &rest[..=i]),
            }
            .unwrap_or(value);
            let shown: String = whole.chars().take(40).collect();
            let display = if shown.len() < whole.len() {
                format!("{shown}…")
            } else {
                shown
            };
            return Some(TokenUse {
                display: display.clone(),
                span: self.file_span(in_script),
                source: Source::Stored(format!("the output of {display}")),
                placeholder: false,
            });
        }
        self.token_at(in_script, value, expands)
    }

    /// Classifies the value found at `span` of the script.
    fn token_at(&self, span: Span, value: &str, expands: bool) -> Option<TokenUse> {
        // A value made of several expressions (OneDev `@job_token@:@secret:access-token@`) is as
        // long-lived as its stored part.
        let overlapping: Vec<&Expr> = self
            .exprs
            .iter()
            .filter(|e| e.range.start < span.end.max(span.start + 1) && span.start < e.range.end)
            .collect();
        let chosen = overlapping
            .iter()
            .find(|e| e.source.is_stored())
            .or(overlapping.first())
            .copied();
        if let Some(e) = chosen {
            let mut source = e.source.clone();
            // An Azure template parameter is what its callers pass, whatever its name says.
            if let Some(s) = e
                .env_name
                .as_deref()
                .filter(|n| n.starts_with("parameters."))
                .and_then(|n| (self.scope.resolve)(n))
            {
                source = s;
            }
            if let (Source::Other, Some(name)) = (&source, &e.env_name) {
                // Outside GitHub (Jenkins `${env.NPM_TOKEN}`), a token variable the file does not
                // define comes from the CI system's settings, like a shell `$NPM_TOKEN`.
                let unresolved =
                    if !self.scope.system.is_github() && (self.scope.is_token_var)(name) {
                        Source::Stored(format!("env.{name}"))
                    } else {
                        Source::Other
                    };
                source = (self.scope.resolve)(name).unwrap_or(unresolved);
            }
            let display = match &source {
                Source::Stored(s) => s.clone(),
                _ => value.to_string(),
            };
            return Some(TokenUse {
                display,
                span: self.file_span(e.range.clone()),
                source,
                placeholder: false,
            });
        }
        let file_span = self.file_span(span.clone());
        if let Some(r) = crate::token::env_refs(value).into_iter().next() {
            let source = if crate::token::is_short_lived_var(&r.name) {
                Source::ShortLived
            } else if let Some(s) = (self.scope.resolve)(&r.name) {
                s
            } else if self.scope.system.is_github() {
                Source::Other
            } else {
                Source::Stored(format!("${}", r.name))
            };
            // `'${NPM_TOKEN}'` written as is is a placeholder npm expands: no secret on disk,
            // but the token still reaches npm.
            if !expands
                && !matches!(
                    r.syntax,
                    crate::token::EnvSyntax::Braced | crate::token::EnvSyntax::BracedOptional
                )
            {
                return None;
            }
            return Some(TokenUse {
                display: format!("${}", r.name),
                span: file_span,
                source,
                placeholder: !expands,
            });
        }
        if value.contains('$') || super::is_placeholder(value) {
            return None;
        }
        Some(TokenUse {
            display: "a literal token".into(),
            span: file_span,
            source: Source::Literal,
            placeholder: false,
        })
    }
}

/// The publish command (`rules/catalogue.toml`) that `program args...` is, if it is one.
fn publish_tool(
    program: &str,
    args: &[Word],
    pos: &[&Word],
) -> Option<&'static crate::catalogue::Command> {
    let pos: Vec<&str> = pos.iter().map(|w| w.value.as_str()).collect();
    crate::catalogue::find_command(program, &pos, &|f| has_flag(args, f))
}

/// A file name npm or Yarn reads auth settings from.
fn is_config_target(target: &str) -> bool {
    let base = target.rsplit('/').next().unwrap_or(target);
    base == ".npmrc"
        || base == "npmrc"
        || base == ".yarnrc.yml"
        || target.contains("NPM_CONFIG_USERCONFIG")
}

/// Whether a written config file is a project `.npmrc` (a relative path), not the user's
/// (`~/.npmrc`, `$HOME/.npmrc`, `$NPM_CONFIG_USERCONFIG`) nor a Yarn file.
fn is_project_npmrc(target: &str) -> bool {
    let base = target.rsplit('/').next().unwrap_or(target);
    base == ".npmrc" && !target.starts_with(['~', '$', '/'])
}

/// `registry=URL` and `@scope:registry=URL` lines of a config text written by a script:
/// (scope, URL or variable). `\n` escapes (`echo -e`, `printf`) separate lines too.
fn registry_lines(text: &str) -> Vec<(Option<String>, String)> {
    static LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?m)(?:^|\\n|\s)(@[A-Za-z0-9._-]+:)?registry\s*=\s*["']?([^\s"'\\]+)"#)
            .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    if !text.contains("registry") {
        return Vec::new();
    }
    LINE.captures_iter(text)
        .filter_map(|c| {
            let url = c.get(2)?.as_str();
            let scope = c
                .get(1)
                .map(|s| s.as_str().trim_end_matches(':').to_string());
            // A variable (`${CI_API_V4_URL}/projects/...`, GitLab's documented form) names a
            // registry too, one that is not npmjs unless it says so.
            (url.contains("://") || url.starts_with("//") || url.starts_with('$'))
                .then(|| (scope, url.to_string()))
        })
        .collect()
}

/// Auth settings in a config text: (key, registry host, value range).
fn auth_settings(text: &str) -> Vec<(String, Option<String>, Span)> {
    if !text.contains("_auth") && !text.contains("_password") && !text.contains("npmAuthToken") {
        return Vec::new();
    }
    AUTH_SETTING
        .captures_iter(text)
        .filter_map(|c| {
            let key = c.get(2)?.as_str().to_string();
            let host = c
                .get(1)
                .and_then(|h| h.as_str().trim_start_matches('/').split('/').next())
                .map(str::to_string);
            let value = c.get(3)?;
            Some((key, host, value.range()))
        })
        .collect()
}

/// `npm`, `npm@latest`, `npm@11`, `npm@^11.5.1`, `npm@11.6.0`: npm 11.5.1 or later.
pub(crate) fn npm_spec_is_oidc_ready(spec: &str) -> bool {
    let Some(rest) = spec.strip_prefix("npm") else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(version) = rest.strip_prefix('@') else {
        return false;
    };
    let v = version.trim_start_matches(['^', '~', '>', '=', 'v']);
    if matches!(v, "latest" | "next" | "") {
        return true;
    }
    let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next().flatten().unwrap_or(0);
    let minor = parts.next().flatten();
    let patch = parts.next().flatten();
    match (major, minor, patch) {
        (m, _, _) if m > 11 => true,
        (11, None, _) => true,
        (11, Some(mi), _) if mi > 5 => true,
        (11, Some(5), p) => p.unwrap_or(1) >= 1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_versions_for_oidc() {
        for yes in [
            "npm",
            "npm@latest",
            "npm@11",
            "npm@^11.5.1",
            "npm@11.6.0",
            "npm@12",
        ] {
            assert!(npm_spec_is_oidc_ready(yes), "{yes}");
        }
        for no in ["npm@10", "npm@11.4.2", "npm@11.5.0", "npmx", "node"] {
            assert!(!npm_spec_is_oidc_ready(no), "{no}");
        }
    }

    #[test]
    fn registry_lines_of_written_config() {
        assert_eq!(
            registry_lines("registry=https://npm.pkg.github.com"),
            [(None, "https://npm.pkg.github.com".to_string())]
        );
        assert_eq!(
            registry_lines(
                "  @acme:registry = \"https://gitlab.example.com/api/v4/packages/npm/\""
            ),
            [(
                Some("@acme".to_string()),
                "https://gitlab.example.com/api/v4/packages/npm/".to_string()
            )]
        );
        // `echo -e` / printf escapes separate lines too.
        assert_eq!(
            registry_lines("always-auth=true\\nregistry=https://r.example/"),
            [(None, "https://r.example/".to_string())]
        );
        // Flags and variables named like it are no config lines; a value must be a URL.
        assert!(registry_lines("--registry=https://x.example/").is_empty());
        assert!(registry_lines("npm_config_registry=https://x.example/").is_empty());
        assert_eq!(
            registry_lines(
                "@acme:registry=${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/npm/"
            ),
            [(
                Some("@acme".to_string()),
                "${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/npm/".to_string()
            )]
        );
        assert!(registry_lines("registry=true").is_empty());
        assert!(is_project_npmrc(".npmrc") && is_project_npmrc("packages/a/.npmrc"));
        assert!(!is_project_npmrc("~/.npmrc") && !is_project_npmrc("$HOME/.npmrc"));
    }

    #[test]
    fn auth_settings_in_text() {
        let found = auth_settings("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n_auth = abc");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].1.as_deref(), Some("registry.npmjs.org"));
        assert_eq!(found[1].1, None);
    }
}
