//! CI configuration checks, for eleven CI systems behind one normalized model.
//!
//! Each adapter (`github`, `gitlab`, `circleci`, `travis`, `azure`, `bitbucket`, `drone` for
//! Drone and Woodpecker, `buildkite`, `onedev`) turns the YAML tree of its system into a
//! [`Pipeline`]; `jenkins` builds the same model from a Jenkinsfile read by `parse::groovy`: jobs, their steps, the environment every step sees,
//! the scripts they run (as YAML scalars, so a span found inside a `run: |` block maps back to
//! the file), the actions/pipes/tasks they use with their inputs, and what the job says about
//! OIDC, its runner and its Node version. The rules in [`rules`] only look at that model, so a
//! rule is written once and holds for every system; what differs per system (how a trusted
//! publishing rewrite is spelled) is decided by [`System`].

mod azure;
mod bitbucket;
mod buildkite;
mod circleci;
mod drone;
mod edits;
pub(crate) mod fills;
pub(crate) mod github;
mod gitlab;
mod jenkins;
mod onedev;
mod rules;
mod script;
mod travis;

use std::sync::LazyLock;

use regex::Regex;

use crate::discover::FileKind;
use crate::parse::yaml::{Node, Scalar};
use crate::source::Span;

use super::FileCtx;

/// The CI system a file belongs to; decides how values are written and how rewrites look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    GithubWorkflow,
    /// A composite action (`action.yml`): permissions and runner are the caller's.
    GithubAction,
    Gitlab,
    CircleCi,
    Travis,
    Azure,
    Bitbucket,
    Jenkins,
    Drone,
    Woodpecker,
    Buildkite,
    OneDev,
}

impl System {
    pub fn from_kind(kind: FileKind) -> Option<System> {
        Some(match kind {
            FileKind::GithubWorkflow => System::GithubWorkflow,
            FileKind::GithubAction => System::GithubAction,
            FileKind::GitlabCi => System::Gitlab,
            FileKind::CircleCi => System::CircleCi,
            FileKind::Travis => System::Travis,
            FileKind::AzurePipelines => System::Azure,
            FileKind::BitbucketPipelines => System::Bitbucket,
            FileKind::Jenkinsfile => System::Jenkins,
            FileKind::DroneCi => System::Drone,
            FileKind::Woodpecker => System::Woodpecker,
            FileKind::Buildkite => System::Buildkite,
            FileKind::OneDev => System::OneDev,
            _ => return None,
        })
    }

    /// Name shown in messages.
    pub fn display(self) -> &'static str {
        match self {
            System::GithubWorkflow | System::GithubAction => "GitHub Actions",
            System::Gitlab => "GitLab CI/CD",
            System::CircleCi => "CircleCI",
            System::Travis => "Travis CI",
            System::Azure => "Azure Pipelines",
            System::Bitbucket => "Bitbucket Pipelines",
            System::Jenkins => "Jenkins",
            System::Drone => "Drone CI",
            System::Woodpecker => "Woodpecker CI",
            System::Buildkite => "Buildkite",
            System::OneDev => "OneDev",
        }
    }

    /// The system substitutes `$VAR`/`${VAR}` in the file before the shell runs (an unknown
    /// variable becomes empty), so text meant for the shell or for npm writes `$$`.
    pub fn substitutes_dollar(self) -> bool {
        matches!(self, System::Drone | System::Woodpecker | System::Buildkite)
    }

    /// How a credential is stored in this system, for suggestions that move a literal there.
    pub fn secret_store(self) -> &'static str {
        match self {
            System::Jenkins => "a Jenkins credential bound with `withCredentials([string(credentialsId: 'npm-token', variable: 'NPM_TOKEN')])` (or `NPM_TOKEN = credentials('npm-token')` in `environment { }`)",
            System::Drone | System::Woodpecker => "a repository secret read with `NPM_TOKEN: { from_secret: npm_token }`",
            System::Buildkite => "a Buildkite secret (`secrets: [NPM_TOKEN]` on the step) or the agent's environment hook",
            System::OneDev => "a job secret written as `@secret:npm_token@`",
            _ => "a masked/secret variable of the CI settings",
        }
    }

    /// Whether npm trusted publishing (OIDC) supports this system (npm docs, trusted-publishers:
    /// GitHub Actions, GitLab.com, CircleCI cloud).
    pub fn trusted_publishing(self) -> bool {
        matches!(
            self,
            System::GithubWorkflow | System::GithubAction | System::Gitlab | System::CircleCi
        )
    }

    /// Systems whose .npmrc advice names the variable, host and file the job itself uses.
    pub fn tailored_npmrc_advice(self) -> bool {
        matches!(
            self,
            System::Jenkins
                | System::Drone
                | System::Woodpecker
                | System::Buildkite
                | System::OneDev
        )
    }

    pub(crate) fn is_github(self) -> bool {
        matches!(self, System::GithubWorkflow | System::GithubAction)
    }
}

/// Where a value comes from, which is what decides whether it is a long-lived credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A credential stored in the CI system (`secrets.NPM_TOKEN`, a CI variable, `$(npmToken)`,
    /// a service connection): long-lived. The string names it for messages.
    Stored(String),
    /// Minted per job by the CI system (`secrets.GITHUB_TOKEN`, `$CI_JOB_TOKEN`).
    ShortLived,
    /// Explicitly empty (`NODE_AUTH_TOKEN: ''`, set to force OIDC).
    Empty,
    /// Literal text written in the file.
    Literal,
    /// Something else (a non-secret expression, a variable holding no credential).
    Other,
}

impl Source {
    pub fn is_stored(&self) -> bool {
        matches!(self, Source::Stored(_))
    }
}

/// A value written in the file, with where it is and where it comes from.
#[derive(Debug, Clone)]
pub struct Value {
    pub text: String,
    pub span: Span,
    pub source: Source,
}

/// An environment variable (or pipe variable, action input) set in the file.
#[derive(Debug, Clone)]
pub struct EnvVar {
    pub name: String,
    pub key_span: Span,
    pub value: Value,
    /// The whole `NAME: value` entry (key start to value end), for deleting it.
    pub entry_span: Span,
    /// The `env:` mapping it sits in, for deleting the mapping when it is the only entry.
    pub block: Option<Block>,
}

impl EnvVar {
    /// A variable that hands an npm token to what runs (by its name, or because its value
    /// reads a secret with an npm-looking name).
    pub fn is_token(&self, ctx: &FileCtx<'_>) -> bool {
        let named = ctx.options.is_token_var(&self.name)
            || ["YARN_NPM_AUTH_TOKEN", "NPM_CONFIG__AUTH"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&self.name));
        // A login's user name, e-mail or password is not a token (the login is reported itself).
        let upper = self.name.to_ascii_uppercase();
        let login_field = ["PASS", "USER", "EMAIL"].iter().any(|f| upper.contains(f));
        named
            || !login_field
                && matches!(&self.value.source, Source::Stored(s) if looks_like_npm_secret(s))
                && !crate::token::is_short_lived_var(&self.name)
    }
}

/// A mapping block (`env:`, `variables:`, `with:`) and its key, for rewrites that remove its last
/// entry.
#[derive(Debug, Clone)]
pub struct Block {
    pub key_span: Span,
    pub value_span: Span,
    pub entries: usize,
}

/// A script the CI system runs, as the YAML scalar it is written in.
#[derive(Debug, Clone)]
pub struct ScriptText {
    pub scalar: Scalar,
    /// The node span (for deleting a one-line list item).
    pub span: Span,
    /// Written as one item of a list of commands (GitLab/Travis/Bitbucket `script:`).
    pub list_item: bool,
}

/// An action, pipe, task or deploy provider a step uses, with its inputs.
#[derive(Debug, Clone)]
pub struct Action {
    /// Normalized lower-case name without version: `actions/setup-node`, `atlassian/npm-publish`,
    /// `npmauthenticate`, `travis:npm`.
    pub name: String,
    pub version: Option<String>,
    pub span: Span,
    pub inputs: Vec<EnvVar>,
    /// The `with:`/`inputs:`/`variables:` mapping.
    pub inputs_block: Option<Block>,
}

impl Action {
    pub fn input(&self, name: &str) -> Option<&EnvVar> {
        self.inputs
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
    }
}

/// One step of a job: a script, an action, or both (Azure tasks with scripts).
#[derive(Debug, Clone)]
pub struct Step {
    /// The step node (a list item's content).
    pub span: Span,
    pub env: Vec<EnvVar>,
    pub scripts: Vec<ScriptText>,
    pub action: Option<Action>,
    /// Step is written as an item of a YAML list (so a step can be inserted before it).
    pub list_item: bool,
}

/// What a job says about trusted publishing.
#[derive(Debug, Clone, Default)]
pub struct Oidc {
    /// The job can mint an npm OIDC token: GitHub `id-token: write` (workflow or job level),
    /// GitLab `id_tokens: NPM_ID_TOKEN` with the npm audience, CircleCI `circleci run oidc get`.
    pub configured: bool,
    /// Something in the job is about OIDC (an `id_tokens:` block, `NPM_ID_TOKEN`), even if wrong.
    pub signal: bool,
    /// GitLab `id_tokens:` without an `NPM_ID_TOKEN` for `npm:registry.npmjs.org`: where.
    pub wrong_audience: Option<Span>,
    /// The permissions were not decided in this file (a reusable or composite workflow).
    pub inherited: bool,
    /// A reusable workflow whose callers in this repository are known: a missing grant is
    /// reported on each caller's `uses:` line, where the fix goes, not here.
    pub callers_judge: bool,
}

/// Where the job runs.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    /// A self-hosted runner label/tag/resource class, with its span.
    pub self_hosted: Option<Span>,
    /// Confidence that the runner is self-hosted is only medium (a custom GitLab tag).
    pub self_hosted_guess: bool,
}

/// The Node version a job sets up, as written.
#[derive(Debug, Clone)]
pub struct NodeSetup {
    pub version: String,
    /// The span of the version text itself (inside quotes, after `node:` in an image name), or
    /// of the setting naming the file that holds it (`node-version-file: .nvmrc`).
    pub span: Span,
    /// The repository file the version is read from (`.nvmrc`, `package.json#volta`): the
    /// version is changed there, not at `span`.
    pub from_file: Option<crate::finding::Related>,
    /// The version is the default of an input of a workflow (or action) no caller in the
    /// repository is known for: callers elsewhere may pass another one.
    pub assumed: bool,
}

/// One job: its steps and everything they see.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    /// The job's name key (or the file start for single-job systems).
    pub key_span: Span,
    /// The job's body mapping, when it is one.
    pub body: Option<Node>,
    /// Environment set above the steps (workflow, default, job level), outermost first.
    pub env: Vec<EnvVar>,
    pub steps: Vec<Step>,
    pub oidc: Oidc,
    pub runner: Runner,
    pub node: Option<NodeSetup>,
}

/// A whole CI file in the normalized form.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub system: System,
    pub jobs: Vec<Job>,
    /// Top-level nodes an adapter wants the rewrites to see (GitHub workflow `permissions:`).
    pub root: Option<Node>,
}

/// Entry point for every CI file kind.
pub fn check(ctx: &mut FileCtx<'_>) {
    let Some(system) = System::from_kind(ctx.kind) else {
        return;
    };
    if system == System::Jenkins {
        jenkins::check(ctx);
        return;
    }
    let docs = match ctx.yaml_docs() {
        Ok(docs) => docs,
        Err(e) => {
            ctx.parse_error(e);
            return;
        }
    };
    for doc in docs.iter() {
        if let Some(expected) = not_a_pipeline(system, &doc.root) {
            ctx.note(crate::parse::ParseError::new(
                format!(
                    "not a {} pipeline (no {expected}): nothing in it is checked",
                    system.display()
                ),
                Some(doc.root.span.clone()),
            ));
            continue;
        }
        let pipeline = match system {
            System::GithubWorkflow | System::GithubAction => github::pipeline(ctx, system, doc),
            System::Gitlab => gitlab::pipeline(ctx, doc),
            System::CircleCi => circleci::pipeline(ctx, doc),
            System::Travis => travis::pipeline(ctx, doc),
            System::Azure => azure::pipeline(ctx, doc),
            System::Bitbucket => bitbucket::pipeline(ctx, doc),
            System::Drone | System::Woodpecker => drone::pipeline(ctx.text, system, doc, ctx.path),
            System::Buildkite => buildkite::pipeline(ctx.text, doc),
            System::OneDev => onedev::pipeline(doc),
            System::Jenkins => continue,
        };
        rules::run(ctx, &pipeline);
    }
}

/// For the systems whose file names say little (a `.drone.yml` may hold a secret, a
/// `buildkite.yml` anything): what a document lacks to be a pipeline, if it is none. Drone's
/// own other kinds (`kind: secret`, `kind: signature`) are pipelines' companions, not notes.
fn not_a_pipeline(system: System, root: &Node) -> Option<&'static str> {
    let has = |keys: &[&str]| keys.iter().any(|k| root.get(k).is_some());
    match system {
        System::Drone => {
            let kind = root
                .get("kind")
                .and_then(Node::as_str)
                .unwrap_or("pipeline");
            (kind == "pipeline" && !has(&["steps", "pipeline"])).then_some("`steps:`")
        }
        System::Woodpecker => (!has(&["steps", "pipeline"])).then_some("`steps:`"),
        System::Buildkite => (!root.is_sequence() && !has(&["steps"])).then_some("`steps:`"),
        System::OneDev => (!has(&["jobs"])).then_some("`jobs:`"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers the adapters share.

static GH_EXPR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{\{(.*?)\}\}").unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

static GH_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\b(secrets|inputs|vars|env)\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['"]([^'"]+)['"]\s*\])"#)
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// `steps.<id>.outputs.<name>` in a GitHub expression.
static GH_STEP_OUTPUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bsteps\s*\.\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\.\s*outputs\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['"]([^'"]+)['"]\s*\])"#)
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// OneDev's `@secret:name@` and `@param:name@` / `@property:name@` variables (`@@` is an `@`).
static ONEDEV_VAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"@(secret|param|property|job_token|build_number|tag|branch|commit_hash)(?::([^@\s]+))?@",
    )
    .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Groovy interpolation of the pipeline's `env` and `params` maps in a Jenkinsfile string.
static JENKINS_EXPR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{\s*(env|params)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}|\$(env|params)\.([A-Za-z_][A-Za-z0-9_]*)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// `$$VAR`: Drone, Woodpecker and Buildkite substitute `$VAR` in the file themselves and pass
/// `$$` through as `$`, so the shell sees `$VAR`.
static DOLLAR_ESCAPED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

static AZURE_MACRO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\(([A-Za-z_][A-Za-z0-9_.]*)\)|\$\[\s*variables\.([A-Za-z0-9_.]+)\s*\]")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// A secret name that, by its name, holds an npm token.
pub fn looks_like_npm_secret(display: &str) -> bool {
    let upper = display.to_ascii_uppercase();
    upper.contains("NPM")
        || upper.contains("NODE_AUTH")
        || upper.contains("YARN") && upper.contains("TOKEN")
        || upper.contains("SERVICE CONNECTION")
}

/// An input or variable name that holds a token.
pub fn tokenish_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase().replace('-', "_");
    lower.contains("token") || lower == "api_key" || lower.contains("npm_auth")
}

/// Expressions and macros of the CI system inside a text, each with the source its
/// variable resolves to (without scope: `env.X` references are [`Source::Other`] until resolved).
#[derive(Debug, Clone)]
pub struct Expr {
    /// Byte range in the text.
    pub range: Span,
    pub source: Source,
    /// For `env.X`: X, to resolve against the scope.
    pub env_name: Option<String>,
}

/// Every CI-level expression in `text` (`${{ ... }}` on GitHub, `$(x)` macros on Azure).
pub fn expressions(system: System, text: &str) -> Vec<Expr> {
    let mut out = Vec::new();
    if system.is_github() {
        if !text.contains("${{") {
            return out;
        }
        for m in GH_EXPR.captures_iter(text) {
            let (Some(whole), Some(inner)) = (m.get(0), m.get(1)) else {
                continue;
            };
            let (source, env_name) = github_expr_source(inner.as_str());
            out.push(Expr {
                range: whole.range(),
                source,
                env_name,
            });
        }
    } else if matches!(
        system,
        System::Drone | System::Woodpecker | System::Buildkite
    ) {
        if !text.contains("$$") {
            return out;
        }
        for m in DOLLAR_ESCAPED.captures_iter(text) {
            let Some(whole) = m.get(0) else { continue };
            let name = m.get(1).or(m.get(2)).map(|n| n.as_str()).unwrap_or("");
            let source = if crate::token::is_short_lived_var(name) {
                Source::ShortLived
            } else {
                Source::Other
            };
            out.push(Expr {
                range: whole.range(),
                source,
                env_name: Some(name.to_string()),
            });
        }
    } else if system == System::OneDev {
        if !text.contains('@') {
            return out;
        }
        for m in ONEDEV_VAR.captures_iter(text) {
            let Some(whole) = m.get(0) else { continue };
            // `@@` escapes a literal `@`: `ci-bot@@host` is no variable.
            if text[..whole.start()].ends_with('@') {
                continue;
            }
            let kind = m.get(1).map(|k| k.as_str()).unwrap_or("");
            let name = m.get(2).map(|n| n.as_str()).unwrap_or("");
            let source = match kind {
                "secret" => Source::Stored(format!("@secret:{name}@")),
                "job_token" => Source::ShortLived,
                _ => Source::Other,
            };
            out.push(Expr {
                range: whole.range(),
                source,
                env_name: None,
            });
        }
    } else if system == System::Jenkins {
        if !text.contains("env.") && !text.contains("params.") {
            return out;
        }
        for m in JENKINS_EXPR.captures_iter(text) {
            let Some(whole) = m.get(0) else { continue };
            let ns = m.get(1).or(m.get(3)).map(|n| n.as_str()).unwrap_or("");
            let name = m.get(2).or(m.get(4)).map(|n| n.as_str()).unwrap_or("");
            let source = if ns == "params" && tokenish_name(name) {
                Source::Stored(format!("params.{name}"))
            } else {
                Source::Other
            };
            out.push(Expr {
                range: whole.range(),
                source,
                env_name: (ns == "env").then(|| name.to_string()),
            });
        }
    } else if system == System::Azure {
        // Template expressions, expanded when the pipeline is compiled.
        for m in GH_EXPR.captures_iter(text) {
            let (Some(whole), Some(inner)) = (m.get(0), m.get(1)) else {
                continue;
            };
            let name = inner
                .as_str()
                .trim()
                .rsplit(['.', '[', '\'', '"'])
                .find(|p| !p.is_empty() && *p != "]")
                .unwrap_or("");
            let lower = inner.as_str().to_ascii_lowercase();
            let source = if lower.contains("system.accesstoken") {
                Source::ShortLived
            } else if tokenish_name(name) || name.to_ascii_lowercase().contains("npm") {
                Source::Stored(format!("${{{{{}}}}}", inner.as_str()))
            } else {
                Source::Other
            };
            // `${{ parameters.x }}`: resolved from the template's callers when they are read.
            let param = inner
                .as_str()
                .trim()
                .strip_prefix("parameters.")
                .filter(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                })
                .map(|p| format!("parameters.{p}"));
            out.push(Expr {
                range: whole.range(),
                source,
                env_name: param,
            });
        }
        for m in AZURE_MACRO.captures_iter(text) {
            let Some(whole) = m.get(0) else { continue };
            let name = m.get(1).or(m.get(2)).map(|n| n.as_str()).unwrap_or("");
            // `$(cmd)` is also bash command substitution; only variable-looking names count.
            let lower = name.to_ascii_lowercase();
            let source = if lower.starts_with("system.accesstoken") {
                Source::ShortLived
            } else if tokenish_name(name) || lower.contains("npm") || lower.contains("secret") {
                Source::Stored(format!("$({name})"))
            } else if name.contains('.') {
                Source::Other
            } else {
                continue;
            };
            out.push(Expr {
                range: whole.range(),
                source,
                env_name: None,
            });
        }
    }
    out
}

/// What a `${{ ... }}` expression reads.
fn github_expr_source(inner: &str) -> (Source, Option<String>) {
    let mut stored: Option<String> = None;
    let mut short = false;
    let mut env_name = None;
    for c in GH_SECRET.captures_iter(inner) {
        let ns = c.get(1).map(|m| m.as_str()).unwrap_or("");
        let name = c.get(2).or(c.get(3)).map(|m| m.as_str()).unwrap_or("");
        match ns {
            "secrets" if name.eq_ignore_ascii_case("GITHUB_TOKEN") => short = true,
            "secrets" => stored = stored.or(Some(format!("secrets.{name}"))),
            "inputs" if tokenish_name(name) => stored = stored.or(Some(format!("inputs.{name}"))),
            "vars" if tokenish_name(name) => stored = stored.or(Some(format!("vars.{name}"))),
            "env" => env_name = Some(name.to_string()),
            _ => {}
        }
    }
    if inner.contains("github.token") {
        short = true;
    }
    if env_name.is_none() {
        // Resolved against what earlier steps output (a secret manager's, a `$GITHUB_OUTPUT`
        // write), under the key `steps.<id>.outputs.<name>`.
        env_name = GH_STEP_OUTPUT.captures(inner).map(|c| {
            let id = c.get(1).map(|m| m.as_str()).unwrap_or("");
            let name = c.get(2).or(c.get(3)).map(|m| m.as_str()).unwrap_or("");
            format!("steps.{id}.outputs.{name}")
        });
    }
    match (stored, short) {
        (Some(s), _) => (Source::Stored(s), None),
        (None, true) => (Source::ShortLived, None),
        (None, false) => (Source::Other, env_name),
    }
}

/// Where the value of a `NAME: value` setting comes from. `resolve` looks a variable name up in
/// the scope (the env of outer levels); `None` means the file does not define it.
pub fn classify_value(
    system: System,
    text: &str,
    resolve: &dyn Fn(&str) -> Option<Source>,
) -> Source {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Source::Empty;
    }
    let exprs = expressions(system, trimmed);
    if !exprs.is_empty() {
        // A template parameter is what its callers pass, whatever its name says.
        for e in &exprs {
            if let Some(name) = e
                .env_name
                .as_deref()
                .filter(|n| n.starts_with("parameters."))
            {
                if let Some(s) = resolve(name) {
                    return s;
                }
            }
        }
        for e in &exprs {
            if e.source.is_stored() {
                return e.source.clone();
            }
        }
        for e in &exprs {
            if let Some(name) = &e.env_name {
                if let Some(s) = resolve(name) {
                    return s;
                }
            }
        }
        if exprs.iter().any(|e| e.source == Source::ShortLived) {
            return Source::ShortLived;
        }
        return Source::Other;
    }
    if system.is_github() {
        // GitHub does not expand `$VAR` in env values; it is literal text.
        return Source::Literal;
    }
    let refs = crate::token::env_refs(trimmed);
    if let Some(r) = refs.first() {
        if crate::token::is_short_lived_var(&r.name) {
            return Source::ShortLived;
        }
        if let Some(s) = resolve(&r.name) {
            return s;
        }
        return Source::Stored(format!("${}", r.name));
    }
    Source::Literal
}

/// A literal that stands for nothing real (`xxx`, `<token>`, `dummy`), never reported.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    let lower = v.to_ascii_lowercase();
    if v.len() < 8 || v.contains(['<', '>', ' ']) {
        return true;
    }
    // A secret reference a secret manager resolves (1Password's `op://vault/item/field`).
    if lower.starts_with("op://") {
        return true;
    }
    let first = v.chars().next().unwrap_or('x');
    if v.chars().all(|c| c == first || c == '-' || c == '_') {
        return true;
    }
    [
        "dummy",
        "placeholder",
        "example",
        "changeme",
        "your",
        "fake",
        "redacted",
        "xxxx",
        "test-token",
        "token-here",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// Reads a `NAME: value` mapping into [`EnvVar`]s (scalar values only; GitLab's
/// `{value: ..., description: ...}` form too).
pub fn env_block(
    system: System,
    key: &Node,
    value: &Node,
    resolve: &dyn Fn(&str) -> Option<Source>,
) -> Vec<EnvVar> {
    let block = Block {
        key_span: key.span(),
        value_span: value.span(),
        entries: value.as_mapping().map(|m| m.len()).unwrap_or(0),
    };
    let mut out = Vec::new();
    for (k, v) in value.iter_map() {
        let Some(name) = k.as_str() else { continue };
        let v = match v.get("value") {
            Some(inner) if v.is_mapping() => inner,
            _ => v,
        };
        let Some(text) = v.as_str() else { continue };
        let source = if v.is_null() {
            Source::Empty
        } else {
            classify_value(system, text, resolve)
        };
        out.push(EnvVar {
            name: name.to_string(),
            key_span: k.span(),
            value: Value {
                text: text.to_string(),
                span: v.span(),
                source,
            },
            entry_span: k.span.start..v.span.end.max(k.span.end),
            block: Some(block.clone()),
        });
    }
    out
}

/// Looks `name` up in scopes, innermost last.
pub fn resolve_in(scopes: &[&[EnvVar]], name: &str) -> Option<Source> {
    for scope in scopes.iter().rev() {
        if let Some(v) = scope.iter().rev().find(|v| v.name == name) {
            return Some(v.value.source.clone());
        }
    }
    None
}

/// Collects the scalars of a script node: one string, or a (nested) list of strings.
pub fn scripts_of(node: &Node, out: &mut Vec<ScriptText>) {
    scripts_of_depth(node, out, false, 0);
}

fn scripts_of_depth(node: &Node, out: &mut Vec<ScriptText>, item: bool, depth: usize) {
    if depth > 8 {
        return;
    }
    if let Some(s) = node.as_scalar() {
        if !node.is_null() {
            out.push(ScriptText {
                scalar: s.clone(),
                span: node.span(),
                list_item: item,
            });
        }
        return;
    }
    for child in node.iter_seq() {
        scripts_of_depth(child, out, true, depth + 1);
    }
}

/// Drone, Woodpecker and Buildkite pass `$$` to the shell as `$`: each script is rewritten to the
/// text the shell runs, each kept `$` mapped to the first of its pair in the file (so a span of
/// `$NPM_TOKEN` covers `$$NPM_TOKEN`, and an edit replaces both).
pub fn unescape_double_dollars(file: &str, scripts: &mut [ScriptText]) {
    for script in scripts {
        let value = script.scalar.value();
        if !value.contains("$$") {
            continue;
        }
        // Value offsets of the second `$` of every pair, left to right.
        let mut drops = Vec::new();
        let bytes = value.as_bytes();
        let mut i = 0;
        while i + 1 < bytes.len() {
            if bytes[i] == b'$' && bytes[i + 1] == b'$' {
                drops.push(i + 1);
                i += 2;
            } else {
                i += 1;
            }
        }
        let pieces = script.scalar.mapped().pieces();
        let mut out = crate::source::MappedText::new();
        let emit = |a: usize, b: usize, out: &mut crate::source::MappedText| {
            let mut at = a;
            for &(t, f, len) in pieces {
                if t + len <= at || t >= b {
                    continue;
                }
                if t > at {
                    out.push_synthetic(value.get(at..t).unwrap_or(""));
                    at = t;
                }
                let end = b.min(t + len);
                out.push_source(file, f + (at - t)..f + (end - t));
                at = end;
            }
            if at < b {
                out.push_synthetic(value.get(at..b).unwrap_or(""));
            }
        };
        let mut start = 0;
        for d in drops {
            emit(start, d, &mut out);
            start = d + 1;
        }
        emit(start, value.len(), &mut out);
        script.scalar = Scalar::from_mapped(script.scalar.style(), out, script.span.clone());
    }
}

/// `major.minor.patch` of a version text (`18`, `v20.11.1`, `22.x`, `'18.19'`); missing parts
/// are `None`. Aliases (`lts/*`, `latest`, `current`, `node`) are a recent Node.
pub fn parse_node_version(text: &str) -> Option<(u64, Option<u64>, Option<u64>)> {
    let t = text.trim().trim_start_matches(['v', '^', '~', '>', '=']);
    let lower = t.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "lts/*" | "lts" | "latest" | "current" | "node" | "lts-latest" | "*"
    ) {
        return Some((u64::MAX, None, None));
    }
    if let Some(codename) = lower.strip_prefix("lts/") {
        // Named LTS lines: hydrogen 18, iron 20, jod 22 (22.14+ is later than its first LTS).
        return match codename {
            "hydrogen" => Some((18, None, None)),
            "iron" => Some((20, None, None)),
            "jod" => Some((22, None, None)),
            _ => Some((u64::MAX, None, None)),
        };
    }
    let mut parts = t.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|p| p.parse().ok());
    let patch = parts.next().and_then(|p| p.parse().ok());
    Some((major, minor, patch))
}

/// The Node version trusted publishing needs is met (22.14.0 or later; an unspecified minor of
/// 22 installs the latest 22.x).
pub fn node_at_least_22_14(v: (u64, Option<u64>, Option<u64>)) -> bool {
    match v {
        (m, _, _) if m > 22 => true,
        (22, None, _) => true,
        (22, Some(minor), _) => minor >= 14,
        _ => false,
    }
}

/// The npm bundled with that Node is 11.5.1 or later (Node 24 ships npm 11; Node 22 and older
/// ship npm 10 or older) [inference from Node release notes].
pub fn node_bundles_oidc_npm(v: (u64, Option<u64>, Option<u64>)) -> bool {
    v.0 >= 24
}

/// Span of `node` widened to the start of its line's `- ` list marker, when it is a list item.
pub fn item_start(text: &str, start: usize) -> Option<usize> {
    let line_start = text.get(..start)?.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let before = text.get(line_start..start)?;
    let trimmed = before.trim_end();
    if trimmed.trim_start() == "-" {
        Some(line_start + before.find('-').unwrap_or(0))
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
