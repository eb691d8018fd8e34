//! The CI rules, over the normalized model: which job publishes to npm, with which long-lived
//! token, whether it is set up for trusted publishing, and what the rewrite is.
//!
//! One finding per job and problem: a publish job with a stored token is
//! `ci-publish-long-lived-token` (or `oidc-token-still-set` when the job can already mint an OIDC
//! token); a publish job without one relies on OIDC and is checked for what makes OIDC fail
//! (`trusted-publishing-misconfigured`). Token writes into `.npmrc`, container build args,
//! logins and literals are reported wherever they are.

use std::collections::HashSet;

use crate::finding::{Applicability, Confidence, Draft, Suggestion};
use crate::parse::yaml::Node;
use crate::source::Span;
use crate::token::SecretKind;

use crate::checks::ci::edits::{
    self, column, entry_lines, line_start, newline, next_line_start, whole_lines,
};
use crate::checks::ci::script::{self, AuthWrite, Facts, Publish, Scope, TokenUse};
use crate::checks::ci::{
    is_placeholder, item_start, node_at_least_22_14, node_bundles_oidc_npm, parse_node_version,
    resolve_in, tokenish_name, Action, EnvVar, FileCtx, Job, Pipeline, Source, Step, System,
};

mod ci_publish_long_lived_token;
mod ci_token_in_docker_build_arg;
mod ci_token_written_to_npmrc;
mod env_token_reference;
mod gitlab_extends;
mod hardcoded_token;
mod local_uses;
mod npm_login_in_automation;
mod oidc_token_still_set;
mod remote_uses;
mod suggest;
mod trusted_publishing_misconfigured;

use suggest::*;

/// Where a token reaching a publish comes from, which decides how the rewrite removes it.
#[derive(Debug, Clone)]
enum Origin {
    Env(EnvVar),
    Input(EnvVar),
    Write(AuthWrite, usize),
    Other,
}

#[derive(Debug, Clone)]
struct JobToken {
    token: TokenUse,
    origin: Origin,
}

/// Analysed step: its scripts' facts merged.
struct StepFacts {
    facts: Facts,
}

/// Drafts already emitted in this file: aliases and `extends:` share nodes, so the same
/// location can be reached twice.
#[derive(Default)]
struct Seen {
    keys: HashSet<(&'static str, usize, usize, String)>,
    /// Other files a finding at a span (or about a publish tool) depends on: a local action's
    /// publish or Node set-up, attached to every draft there.
    related: Vec<(Span, String, crate::finding::Related)>,
}

impl Seen {
    fn emit(&mut self, ctx: &mut FileCtx<'_>, mut draft: Draft, who: &str) {
        let key = (
            draft.rule,
            draft.span.start,
            draft.span.end,
            who.to_string(),
        );
        if self.keys.insert(key) {
            for (span, tool, related) in &self.related {
                let at = span.start < draft.span.end && draft.span.start < span.end;
                if at || !tool.is_empty() && who.ends_with(tool.as_str()) {
                    draft = draft.related(related.clone());
                }
            }
            if let Some(s) = draft.suggestion.take() {
                draft.suggestion = Some(if ctx.kind == crate::discover::FileKind::Jenkinsfile {
                    keep_groovy_strings(ctx.text, s)
                } else {
                    keep_yaml_valid(ctx.text, s)
                });
            }
            ctx.emit(draft);
        }
    }
}

/// A rewrite must leave the file valid YAML. Span edits are checked by parsing the result (block
/// scalars take their indentation from their first line, flow collections need their commas: a
/// local edit can break them); when one would not parse, the edits are dropped and the
/// suggestion becomes a manual one.
fn keep_yaml_valid(text: &str, mut s: Suggestion) -> Suggestion {
    if s.edits.is_empty() {
        return s;
    }
    let mut edits: Vec<(Span, String)> = s
        .edits
        .iter()
        .map(|e| (e.span.clone(), e.replacement.clone()))
        .collect();
    edits.sort_by_key(|(span, _)| (span.start, span.end));
    let after = crate::edit::apply_replacements(text, &edits);
    if crate::parse::yaml::parse(&after).is_ok() || crate::parse::yaml::parse(text).is_err() {
        return s;
    }
    s.edits.clear();
    s.applicability = Applicability::Manual;
    s.note(
        "the automatic rewrite would not keep this file valid YAML here: make the change by hand",
    )
}

/// A rewrite of a Jenkinsfile may only change text inside a string literal written without
/// escapes, with nothing that ends the string or adds an interpolation; anything else (an edit
/// of the Groovy code around the scripts) becomes a manual suggestion.
fn keep_groovy_strings(text: &str, mut s: Suggestion) -> Suggestion {
    if s.edits.is_empty() {
        return s;
    }
    let Ok(tokens) = crate::parse::groovy::tokenize(text) else {
        return s;
    };
    let safe = s
        .edits
        .iter()
        .all(|e| crate::parse::groovy::edit_is_safe(text, &tokens, &e.span, &e.replacement));
    if safe {
        return s;
    }
    let wanted: Vec<String> = s
        .edits
        .iter()
        .map(|e| format!("`{}`", e.replacement))
        .collect();
    s.edits.clear();
    s.applicability = Applicability::Manual;
    s.note(format!(
        "the automatic rewrite would change the Groovy around this script, not only the script: make the change by hand ({}), in a `sh '''...'''` string where it needs single quotes",
        wanted.join(", ")
    ))
}

pub fn run(ctx: &mut FileCtx<'_>, pipeline: &Pipeline) {
    let mut seen = Seen::default();
    let mut reported_tokens: HashSet<(usize, usize)> = HashSet::new();
    let mut inventory: Vec<(EnvVar, String)> = Vec::new();
    let repo_registry = repo_registry(ctx);
    let package_scripts: std::collections::BTreeMap<String, String> = manifest(ctx)
        .and_then(|m| {
            m.get("scripts")?.as_object().map(|o| {
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
        })
        .unwrap_or_default();
    local_uses::reusable_calls(ctx, pipeline, &package_scripts, &mut seen);
    gitlab_extends::notes(ctx, pipeline);
    for job in &pipeline.jobs {
        job_rules(
            ctx,
            pipeline,
            &package_scripts,
            &repo_registry,
            job,
            &mut seen,
            &mut reported_tokens,
            &mut inventory,
        );
    }
    env_token_reference::report(ctx, inventory, &mut seen, &reported_tokens);
}

fn display_source(s: &Source) -> String {
    match s {
        Source::Stored(n) => n.clone(),
        Source::Literal => "a literal".into(),
        _ => "a variable".into(),
    }
}

/// The token an action input, pipe variable or task input hands over, named by its source.
fn token_of_value(v: &super::Value) -> TokenUse {
    TokenUse {
        display: display_source(&v.source),
        span: v.span.clone(),
        source: v.source.clone(),
        placeholder: false,
    }
}

fn is_npm_registry(url: &str) -> bool {
    let u = url.trim().to_ascii_lowercase();
    u.is_empty() || u.contains("registry.npmjs.org") || u.contains("registry.yarnpkg.com")
}

#[allow(clippy::too_many_arguments)]
fn job_rules(
    ctx: &mut FileCtx<'_>,
    p: &Pipeline,
    package_scripts: &std::collections::BTreeMap<String, String>,
    repo_registry: &Option<String>,
    job: &Job,
    seen: &mut Seen,
    reported: &mut HashSet<(usize, usize)>,
    inventory: &mut Vec<(EnvVar, String)>,
) {
    let system = p.system;
    let mut steps = step_facts(ctx, system, job, package_scripts);
    let elsewhere = local_uses::inline_local_actions(ctx, job, &mut steps, package_scripts, seen);
    // A GitLab job's templates in other files of its pipeline add steps at the end.
    let mut extended = gitlab_extends::extend(ctx, p, job, package_scripts, seen);
    if let Some((_, added)) = extended.as_mut() {
        steps.append(added);
    }
    let job = extended.as_ref().map_or(job, |(j, _)| j);
    job_rules_with(
        ctx,
        p,
        repo_registry,
        job,
        &steps,
        &elsewhere,
        seen,
        reported,
        inventory,
    );
}

#[allow(clippy::too_many_arguments)]
fn job_rules_with(
    ctx: &mut FileCtx<'_>,
    p: &Pipeline,
    repo_registry: &Option<String>,
    job: &Job,
    steps: &[StepFacts],
    elsewhere: &local_uses::Elsewhere,
    seen: &mut Seen,
    reported: &mut HashSet<(usize, usize)>,
    inventory: &mut Vec<(EnvVar, String)>,
) {
    let system = p.system;
    hardcoded_token::literals(ctx, system, job, steps, seen);

    // Build args and logins (token writes come last: a job rewrite may cover them).
    for sf in steps {
        ci_token_in_docker_build_arg::report(ctx, system, job, sf, seen, reported);
        npm_login_in_automation::report(ctx, system, job, sf, seen);
    }

    let superseded = ci_publish_long_lived_token::publish_rules(
        ctx,
        p,
        repo_registry,
        job,
        steps,
        elsewhere,
        seen,
        reported,
        inventory,
    );
    ci_token_written_to_npmrc::emit_writes(ctx, system, job, steps, &superseded, seen, reported);
}

/// The facts of every step of `job`: what its scripts and its action do.
fn step_facts(
    ctx: &FileCtx<'_>,
    system: System,
    job: &Job,
    package_scripts: &std::collections::BTreeMap<String, String>,
) -> Vec<StepFacts> {
    let mut steps: Vec<StepFacts> = Vec::new();
    let mut exported = exported_tokens(ctx, system, job).into_iter().peekable();
    for (i, step) in job.steps.iter().enumerate() {
        let scope_env: Vec<EnvVar> = job.env.iter().chain(step.env.iter()).cloned().collect();
        let resolve = |n: &str| {
            resolve_in(&[&scope_env], n).or_else(|| {
                n.strip_prefix("parameters.")
                    .filter(|_| system == System::Azure)
                    .and_then(|p| crate::checks::ci::azure::template_parameter(ctx, p))
            })
        };
        let options = ctx.options;
        let is_token_var = |n: &str| options.is_token_var(n);
        let scope = Scope {
            system,
            resolve: &resolve,
            is_token_var: &is_token_var,
            package_scripts,
            read: &|name: &str| repo_text(ctx, name),
        };
        let mut facts = Facts::default();
        for s in &step.scripts {
            let f = script::analyse(s, &scope);
            facts.publishes.extend(f.publishes);
            facts.auth_writes.extend(f.auth_writes);
            facts.logins.extend(f.logins);
            facts.build_args.extend(f.build_args);
            facts.npm_upgrade |= f.npm_upgrade;
            facts.oidc_get = facts.oidc_get.or(f.oidc_get);
            facts.assignments.extend(f.assignments);
            facts.literals.extend(f.literals);
            facts.provided.extend(f.provided);
            facts.registry_sets.extend(f.registry_sets);
        }
        if let Some(a) = &step.action {
            action_facts(ctx.text, a, &mut facts);
            toolchain_facts(ctx, a, &mut facts);
            if system.is_github() {
                facts
                    .publishes
                    .extend(remote_uses::remote_publish(ctx, step, a));
            }
        }
        while let Some((_, t)) = exported.next_if(|(at, _)| *at == i) {
            facts.provided.push(t);
        }
        facts.publishes.retain(|p| !release_tool_skips_npm(ctx, p));
        steps.push(StepFacts { facts });
    }
    steps
}

/// Token variables that GitHub steps fetch at run time and export to the later steps (a secret
/// manager's `exportEnv`, `echo "NPM_TOKEN=$(...)" >> "$GITHUB_ENV"`), by step index. Stored
/// secrets written to `$GITHUB_ENV` are found by the script analysis itself.
fn exported_tokens(ctx: &FileCtx<'_>, system: System, job: &Job) -> Vec<(usize, TokenUse)> {
    use crate::checks::ci::fills;
    if !system.is_github() {
        return Vec::new();
    }
    let nodes: Vec<&Node> = job
        .body
        .as_ref()
        .and_then(|b| b.get("steps"))
        .map(|s| s.iter_seq().collect())
        .unwrap_or_default();
    let mut acc: Vec<fills::Fill> = Vec::new();
    let mut out = Vec::new();
    for (i, step) in job.steps.iter().enumerate() {
        let (id, label) = nodes
            .get(i)
            .map(|n| fills::step_label(n))
            .unwrap_or((None, "run".to_string()));
        let resolve_env = |n: &str| resolve_in(&[&job.env, &step.env], n);
        let new = fills::step_fills(step, id.as_deref(), &label, &acc, &resolve_env);
        for f in &new {
            let Some(name) = f.env.as_deref().filter(|n| *n != "*") else {
                continue;
            };
            if !ctx.options.is_token_var(name) {
                continue;
            }
            if let Some(Source::Stored(display)) = fills::resolve(std::slice::from_ref(f), name)
                .filter(|s| matches!(s, Source::Stored(d) if fills::split_fetched(d).is_some()))
            {
                out.push((
                    i,
                    TokenUse {
                        display: display.clone(),
                        span: f.span.clone(),
                        source: Source::Stored(display),
                        placeholder: false,
                    },
                ));
            }
        }
        acc.extend(new);
    }
    out
}

/// npm versions a set-up action pins: volta-cli/action's `npm-version` input, else the
/// repository's `package.json#volta.npm` it installs.
fn toolchain_facts(ctx: &FileCtx<'_>, a: &Action, facts: &mut Facts) {
    if a.name != "volta-cli/action" {
        return;
    }
    let npm = a
        .input("npm-version")
        .map(|v| v.value.text.clone())
        .or_else(|| {
            let read = |name: &str| repo_text(ctx, name);
            crate::model::toolchain::volta(&read).1
        });
    if npm.is_some_and(|v| script::npm_spec_is_oidc_ready(&format!("npm@{}", v.trim()))) {
        facts.npm_upgrade = true;
    }
}

/// A release tool whose own configuration in the repository says it does not publish to
/// npmjs.org (semantic-release without `@semantic-release/npm`, release-it with
/// `npm.publish: false`, beachball `publish: false`, lerna or beachball configured for another
/// registry, ...). A `--registry` on the command line wins over the configuration.
fn release_tool_skips_npm(ctx: &FileCtx<'_>, p: &Publish) -> bool {
    use crate::model::release::{self, Destination};
    let read = |name: &str| repo_text(ctx, name);
    match underlying_tool(&p.tool) {
        "semantic-release" => release::semantic_release_publishes(&read) == Some(false),
        "release-it" => release::release_it_publishes(&read) == Some(false),
        tool => match release::destination(tool, &read) {
            Some(Destination::Nothing) => true,
            Some(Destination::Registry(r)) => p.registry.is_none() && !is_npm_registry(&r),
            None => false,
        },
    }
}

/// The publisher a tool name stands for: `npm run release (release-it)` (a package script) and
/// `release-it in scripts/release.sh` (a repository script) are release-it runs.
fn underlying_tool(tool: &str) -> &str {
    let mut t = tool.split(" in ").next().unwrap_or(tool);
    while let Some(inner) = t
        .strip_suffix(')')
        .and_then(|rest| rest.split_once(" (").map(|(_, inner)| inner))
    {
        t = inner;
    }
    t
}

/// Publishes and tokens that actions, pipes, tasks and deploy providers stand for.
fn action_facts(text: &str, a: &Action, facts: &mut Facts) {
    let bool_input = |n: &str| {
        a.input(n)
            .is_some_and(|v| matches!(v.value.text.trim(), "true" | "True" | "yes"))
    };
    let token_inputs = || -> Vec<TokenUse> {
        a.inputs
            .iter()
            .filter(|i| tokenish_name(&i.name) || i.name.eq_ignore_ascii_case("NPM_TOKEN"))
            .filter(|i| matches!(i.value.source, Source::Stored(_) | Source::Literal))
            .map(|i| TokenUse {
                display: match &i.value.source {
                    Source::Stored(s) => s.clone(),
                    _ => "a literal token".into(),
                },
                span: i.value.span.clone(),
                source: i.value.source.clone(),
                placeholder: false,
            })
            .collect()
    };
    let publish = |entry: &crate::catalogue::Action,
                   inline: Vec<TokenUse>,
                   registry: Option<String>,
                   dry: bool| Publish {
        tool: entry.tool.clone(),
        span: a.span.clone(),
        dry_run: dry,
        registry,
        provenance: false,
        yarn_berry: false,
        oidc_capable: entry.oidc_capable,
        inline,
        unread: false,
    };
    let Some(entry) = crate::catalogue::find_action(&a.name) else {
        other_action_facts(text, a, facts);
        return;
    };
    // What `rules/catalogue.toml` says about the action; `handler` entries need code below.
    if entry.handler.is_none() {
        if entry
            .requires_input
            .as_deref()
            .is_some_and(|i| a.input(i).is_none())
        {
            return;
        }
        let mut inline = if entry.token_inputs {
            token_inputs()
        } else {
            Vec::new()
        };
        if inline.is_empty() {
            if let Some(default) = &entry.default_token {
                let stored = default.split_whitespace().next().unwrap_or(default);
                inline.push(TokenUse {
                    display: default.clone(),
                    span: a.span.clone(),
                    source: Source::Stored(stored.to_string()),
                    placeholder: false,
                });
            }
        }
        let registry = entry
            .registry_input
            .as_deref()
            .and_then(|i| a.input(i))
            .map(|r| r.value.text.clone());
        let dry = entry.dry_run_inputs.iter().any(|i| bool_input(i));
        facts.publishes.push(publish(entry, inline, registry, dry));
        return;
    }
    match entry.handler.as_deref().unwrap_or("") {
        "azure-npm" => {
            // Azure `Npm@1` task.
            let command = a.input("command").map(|c| c.value.text.as_str());
            let custom_publish = command == Some("custom")
                && a.input("customCommand").is_some_and(|c| {
                    c.value.text.split_whitespace().next() == Some("publish")
                        && !c.value.text.contains("--dry-run")
                });
            // The service connection that authenticates the publish, if it is an external one
            // (`useFeed` publishes to an Azure Artifacts feed with the pipeline's identity).
            let endpoint = if custom_publish {
                a.input("customEndpoint")
            } else if command == Some("publish")
                && a.input("publishRegistry")
                    .is_some_and(|r| r.value.text == "useExternalRegistry")
            {
                a.input("publishEndpoint")
            } else {
                None
            };
            if endpoint.is_some() || custom_publish {
                let inline = endpoint
                    .map(|e| TokenUse {
                        display: format!("service connection {}", e.value.text),
                        span: e.value.span.clone(),
                        source: Source::Stored(format!("service connection {}", e.value.text)),
                        placeholder: false,
                    })
                    .into_iter()
                    .collect();
                facts.publishes.push(publish(entry, inline, None, false));
            }
        }
        "azure-npm-authenticate" => {
            // An external service connection puts its (long-lived) token into the .npmrc for
            // the rest of the job; without one it authenticates to Azure Artifacts feeds.
            if let Some(e) = a.input("customEndpoint") {
                let display = format!("service connection {}", e.value.text);
                facts.provided.push(TokenUse {
                    display: display.clone(),
                    span: e.value.span.clone(),
                    source: Source::Stored(display),
                    placeholder: false,
                });
            }
        }
        _ => {}
    }
}

/// Actions that are no publishers but may hand a token to a container build.
fn other_action_facts(text: &str, a: &Action, facts: &mut Facts) {
    match a.name.as_str() {
        "docker" => {
            // Azure `Docker@2`: `arguments: --build-arg NPM_TOKEN=$(npmToken)`.
            if let Some(args) = a.input("arguments") {
                azure_docker_args(text, args, facts);
            }
        }
        "plugins/npm" | "woodpeckerci/plugin-npm" | "sinlov/woodpecker-npm" => {
            // Drone/Woodpecker npm plugin: publishes with `token` (or `username`/`password`).
            let inline = a
                .inputs
                .iter()
                .filter(|i| {
                    let name = i.name.to_ascii_lowercase();
                    tokenish_name(&i.name) || name == "token" || name.ends_with("password")
                })
                .filter(|i| matches!(i.value.source, Source::Stored(_) | Source::Literal))
                .map(|i| token_of_value(&i.value))
                .collect();
            let registry = a
                .inputs
                .iter()
                .find(|i| i.name.to_ascii_lowercase().ends_with("registry"))
                .map(|r| r.value.text.clone());
            facts.publishes.push(Publish {
                tool: format!("{} plugin", a.name),
                span: a.span.clone(),
                dry_run: false,
                registry,
                provenance: false,
                yarn_berry: false,
                oidc_capable: false,
                inline,
                unread: false,
            });
        }
        "plugins/docker"
        | "plugins/kaniko"
        | "plugins/docker-buildx"
        | "woodpeckerci/plugin-docker-buildx"
        | "thegeeklab/drone-docker-buildx"
        | "docker-compose" => plugin_build_args(a, facts),
        "jenkins:withnpm" => {
            // Jenkins `withNPM(npmrcConfig: ...)`: a managed .npmrc (with its token) for the block.
            if let Some(c) = a
                .input("npmrcConfig")
                .filter(|c| c.value.source.is_stored())
            {
                let display = display_source(&c.value.source);
                facts.provided.push(TokenUse {
                    display: display.clone(),
                    span: c.value.span.clone(),
                    source: Source::Stored(display),
                    placeholder: false,
                });
            }
        }
        "docker/build-push-action" => {
            if let Some(args) = a.input("build-args") {
                build_push_args(text, a, args, facts);
            } else if let Some(args) = a.input("build_args") {
                // v1's spelling of the input. v1 has no `secrets:` input: moving the line there
                // needs the upgrade to v6 as well, so no edit is offered.
                let before = facts.build_args.len();
                build_push_args(text, a, args, facts);
                for b in &mut facts.build_args[before..] {
                    b.edits.clear();
                }
            }
        }
        _ => {}
    }
}

/// `build-args:` lines of docker/build-push-action carrying an npm token. The rewrite moves the
/// line to the action's `secrets:` input (same `id=value` syntax), renaming the key when the
/// token is the only build arg.
fn build_push_args(text: &str, a: &Action, args: &EnvVar, facts: &mut Facts) {
    let region = args.value.span.clone();
    let Some(block) = text.get(region.clone()) else {
        return;
    };
    let mut lines: Vec<(Span, &str)> = Vec::new();
    let mut at = region.start;
    for raw in block.split('\n') {
        let start = at;
        at += raw.len() + 1;
        let content = raw.trim();
        if content.is_empty() || content.starts_with('|') || content.starts_with('>') {
            continue;
        }
        let lead = raw.len() - raw.trim_start().len();
        lines.push((start + lead..start + lead + content.len(), content));
    }
    let has_secrets = a.input("secrets").is_some();
    let only = lines.len() == 1;
    for (span, content) in &lines {
        let Some((name, value)) = content.trim_matches('"').split_once('=') else {
            continue;
        };
        let stored = crate::checks::ci::expressions(System::GithubWorkflow, value)
            .into_iter()
            .find_map(|e| match e.source {
                Source::Stored(s) => Some((s, e.range)),
                _ => None,
            });
        let token_name = crate::token::is_npm_token_var(name.trim());
        let Some((display, _)) =
            stored.filter(|(s, _)| token_name || crate::checks::ci::looks_like_npm_secret(s))
        else {
            continue;
        };
        let mut edits = Vec::new();
        if !has_secrets && only && block.trim_start().starts_with('|') {
            edits.push((args.key_span.clone(), "secrets".to_string()));
        } else if !has_secrets {
            if let (Some(del), Some(entry)) =
                (whole_lines(text, span), entry_lines(text, &args.entry_span))
            {
                let nl = newline(text);
                let key_col = column(text, args.key_span.start);
                let line_col = column(text, span.start);
                edits.push((del, String::new()));
                edits.push((
                    entry.end..entry.end,
                    format!(
                        "{}secrets: |{nl}{}{content}{nl}",
                        " ".repeat(key_col),
                        " ".repeat(line_col)
                    ),
                ));
            }
        }
        facts.build_args.push(script::BuildArg {
            span: span.clone(),
            name: name.trim().to_string(),
            token: TokenUse {
                display: display.clone(),
                span: span.clone(),
                source: Source::Stored(display),
                placeholder: false,
            },
            edits,
        });
    }
}

/// Build args of a container-build plugin (Drone/Woodpecker `build_args`,
/// `build_args_from_env`, Buildkite docker-compose `args`), one input per list item. The plugins
/// differ in how (and whether) they take BuildKit secrets, so the rewrite is left to the user.
fn plugin_build_args(a: &Action, facts: &mut Facts) {
    for input in &a.inputs {
        let key = input.name.to_ascii_lowercase();
        if !matches!(
            key.as_str(),
            "build_args" | "build-args" | "build_args_from_env" | "args"
        ) {
            continue;
        }
        let text = input.value.text.trim();
        let name = text.split_once('=').map(|(n, _)| n).unwrap_or(text).trim();
        let token_name = crate::token::is_npm_token_var(name);
        let source = match &input.value.source {
            // A variable passed by name that the file does not define: the agent's or the CI
            // settings' variable of that name.
            Source::Other if token_name && !text.contains('=') => {
                Source::Stored(format!("${name}"))
            }
            s => s.clone(),
        };
        let display = match &source {
            Source::Stored(s) if token_name || crate::checks::ci::looks_like_npm_secret(s) => {
                s.clone()
            }
            _ => continue,
        };
        facts.build_args.push(script::BuildArg {
            span: input.value.span.clone(),
            name: name.to_string(),
            token: TokenUse {
                display,
                span: input.value.span.clone(),
                source,
                placeholder: false,
            },
            edits: Vec::new(),
        });
    }
}

/// `--build-arg NAME=value` in the `arguments:` input of Azure's Docker task, found in the file
/// text of the input (so the span is exact when the value is written plainly).
fn azure_docker_args(text: &str, args: &EnvVar, facts: &mut Facts) {
    static BUILD_ARG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"--build-arg[ =]([A-Za-z_][A-Za-z0-9_]*)(?:=(\S+))?")
            .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    let region = args.value.span.clone();
    let Some(written) = text.get(region.clone()) else {
        return;
    };
    for c in BUILD_ARG.captures_iter(written) {
        let (Some(whole), Some(name)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let value = c.get(2).map(|v| v.as_str()).unwrap_or("");
        let source = crate::checks::ci::classify_value(System::Azure, value, &|_| None);
        let token_name = crate::token::is_npm_token_var(name.as_str());
        let stored = match &source {
            Source::Stored(s) => Some(s.clone()),
            _ if value.is_empty() && token_name => Some(format!("${}", name.as_str())),
            _ => None,
        };
        let Some(display) =
            stored.filter(|s| token_name || crate::checks::ci::looks_like_npm_secret(s))
        else {
            continue;
        };
        let span = region.start + whole.start()..region.start + whole.end();
        facts.build_args.push(script::BuildArg {
            edits: vec![(
                span.clone(),
                format!(
                    "--secret id={},env={}",
                    name.as_str().to_ascii_lowercase(),
                    name.as_str()
                ),
            )],
            span: span.clone(),
            name: name.as_str().to_string(),
            token: TokenUse {
                display: display.clone(),
                span,
                source: Source::Stored(display),
                placeholder: false,
            },
        });
    }
}

/// The registry publish `publish` of step `at` goes to, as npm decides it at that point of the
/// job: `--registry` on the command > `publishConfig.registry` > `NPM_CONFIG_REGISTRY` in the
/// environment > the project `.npmrc` (as the job has written it so far, then as committed) >
/// the user config, which setup-node's `registry-url` and `npm config set registry` each
/// rewrite (the latest before the publish wins).
///
/// With none of these, a job that has written auth only for another registry's host publishes
/// there (the package.json or `.npmrc` saying so is not in view), unless an npm token that the
/// job wrote for no other host reaches the publish.
fn publish_registry(
    ctx: &FileCtx<'_>,
    job: &Job,
    steps: &[StepFacts],
    at: usize,
    publish: &Publish,
    repo_registry: Option<&str>,
) -> Option<String> {
    if let Some(r) = &publish.registry {
        return Some(r.clone());
    }
    if let Some(r) = repo_registry.and_then(|r| r.strip_prefix("publishConfig:")) {
        return Some(r.to_string());
    }
    let registry_var = |vars: &[EnvVar]| {
        vars.iter()
            .find(|v| v.name.eq_ignore_ascii_case("NPM_CONFIG_REGISTRY"))
            .map(|v| v.value.text.clone())
    };
    let env = job
        .steps
        .get(at)
        .and_then(|s| registry_var(&s.env))
        .or_else(|| registry_var(&job.env));
    if env.is_some() {
        return env;
    }
    // The package's scope, for `@scope:registry=` lines; unknown (no package.json in view): a
    // scoped line the job writes is taken to be for the package it publishes.
    let scope = manifest(ctx).map(|m| {
        m["name"]
            .as_str()
            .and_then(|n| n.strip_prefix('@'))
            .and_then(|n| n.split('/').next())
            .map(|s| format!("@{s}"))
    });
    let applies = |set: &script::RegistrySet| match (&set.scope, &scope) {
        (None, _) | (Some(_), None) => true,
        (Some(written), Some(pkg)) => pkg.as_deref() == Some(written.as_str()),
    };
    let before = |step: usize, span: &Span| step < at || span.start <= publish.span.start;
    let mut project: Option<String> = None;
    let mut user: Option<String> = None;
    let mut npm_auth = false;
    let mut other_hosts: Vec<&script::AuthWrite> = Vec::new();
    for (i, (step, sf)) in job.steps.iter().zip(steps).enumerate().take(at + 1) {
        let setup_node = step
            .action
            .as_ref()
            .filter(|a| a.name == "actions/setup-node");
        if let Some((a, url)) = setup_node.and_then(|a| Some((a, a.input("registry-url")?))) {
            // With `scope:`, setup-node writes `@scope:registry=` (it adds the `@`).
            let set = script::RegistrySet {
                span: url.value.span.clone(),
                scope: a.input("scope").map(|s| {
                    let s = s.value.text.trim();
                    if s.starts_with('@') {
                        s.to_string()
                    } else {
                        format!("@{s}")
                    }
                }),
                url: url.value.text.clone(),
                project: false,
            };
            if applies(&set) {
                user = Some(set.url);
            }
        }
        for set in sf.facts.registry_sets.iter().filter(|s| before(i, &s.span)) {
            if !applies(set) {
                continue;
            }
            if set.project {
                project = Some(set.url.clone());
            } else {
                user = Some(set.url.clone());
            }
        }
        for w in sf.facts.auth_writes.iter().filter(|w| before(i, &w.span)) {
            match w.host.as_deref() {
                Some(h) if !is_npm_registry(h) => other_hosts.push(w),
                _ => npm_auth = true,
            }
        }
    }
    if let Some(r) = project
        .or_else(|| repo_registry.map(str::to_string))
        .or(user)
    {
        return Some(r);
    }
    let last = other_hosts.last()?;
    let committed_npm_auth =
        repo_text(ctx, ".npmrc").is_some_and(|t| t.contains("//registry.npmjs.org/:_auth"));
    if npm_auth || committed_npm_auth {
        return None;
    }
    // Every npm token the publish is handed must be one the job wrote for another host.
    let written_for_other = |name: &str, shown: &str| {
        other_hosts.iter().any(|w| {
            let d = w.token.display.trim_start_matches('$');
            d.eq_ignore_ascii_case(name) || d == shown
        })
    };
    let env_tokens = job
        .env
        .iter()
        .chain(job.steps.get(at).into_iter().flat_map(|s| s.env.iter()))
        .filter(|v| v.is_token(ctx) && v.value.source.is_stored())
        .all(|v| written_for_other(&v.name, &display_source(&v.value.source)));
    let inline_tokens = publish
        .inline
        .iter()
        .all(|t| written_for_other(t.display.trim_start_matches('$'), &t.display));
    (env_tokens && inline_tokens)
        .then(|| format!("https://{}/", last.host.as_deref().unwrap_or("")))
}

/// The first `npmAuthToken:` setting of the repository's `.yarnrc.yml`, as `line N`.
fn repo_yarnrc_token(ctx: &FileCtx<'_>) -> Option<String> {
    let text = repo_text(ctx, ".yarnrc.yml")?;
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with("npmAuthToken:") && !t.trim_end().ends_with("npmAuthToken:")
        })
        .map(|i| format!("line {}", i + 1))
}

/// The registry the repository's package publishes to when nothing in CI says otherwise:
/// `publishConfig.registry` of package.json (marked `publishConfig:`), or the project `.npmrc`
/// (`@scope:registry=` for a scoped package, else `registry=`).
fn repo_registry(ctx: &FileCtx<'_>) -> Option<String> {
    let manifest = manifest(ctx);
    if let Some(r) = manifest
        .as_ref()
        .and_then(|m| m["publishConfig"]["registry"].as_str())
    {
        return Some(format!("publishConfig:{r}"));
    }
    let npmrc = repo_text(ctx, ".npmrc")?;
    let scope = manifest
        .as_ref()
        .and_then(|m| m["name"].as_str())
        .and_then(|n| n.strip_prefix('@'))
        .and_then(|n| n.split('/').next())
        .map(|s| format!("@{s}:registry"));
    let mut plain = None;
    for line in npmrc.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if Some(key) == scope.as_deref() {
            return Some(value.trim().to_string());
        }
        if key == "registry" {
            plain = Some(value.trim().to_string());
        }
    }
    plain
}

/// Every long-lived token the publish step sees.
fn tokens_for(ctx: &FileCtx<'_>, job: &Job, steps: &[StepFacts], i: usize) -> Vec<JobToken> {
    let mut out: Vec<JobToken> = Vec::new();
    let push = |token: TokenUse, origin: Origin, out: &mut Vec<JobToken>| {
        if !matches!(token.source, Source::Stored(_) | Source::Literal) {
            return;
        }
        if out.iter().any(|t| t.token.span == token.span) {
            return;
        }
        out.push(JobToken { token, origin });
    };
    let step = job.steps.get(i);
    let facts = steps.get(i).map(|s| &s.facts);
    // Env the publish step sees, inner scopes first: the finding points at the closest one.
    let env: Vec<&EnvVar> = step
        .map(|s| s.env.iter().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(job.env.iter().rev())
        .collect();
    // What an unread action does with its other token inputs (a GitHub token, a deploy key)
    // is unknown: only the npm ones count.
    let unread = facts.is_some_and(|f| f.publishes.iter().any(|p| p.unread));
    if let Some(a) = step.and_then(|s| s.action.as_ref()) {
        for input in &a.inputs {
            if unread && !remote_uses::npm_token_input(ctx, input) {
                continue;
            }
            if tokenish_name(&input.name) || input.name.eq_ignore_ascii_case("NPM_TOKEN") {
                push(
                    TokenUse {
                        display: display_source(&input.value.source),
                        span: input.value.span.clone(),
                        source: input.value.source.clone(),
                        placeholder: false,
                    },
                    Origin::Input(input.clone()),
                    &mut out,
                );
            }
        }
    }
    if let Some(f) = facts {
        for p in &f.publishes {
            for t in &p.inline {
                push(t.clone(), Origin::Other, &mut out);
            }
        }
    }
    for var in env {
        if var.is_token(ctx) && !written_for_other_registry(job, steps, &var.name) {
            push(
                TokenUse {
                    display: match &var.value.source {
                        Source::Stored(s) => s.clone(),
                        _ => format!("a literal in {}", var.name),
                    },
                    span: var.value.span.clone(),
                    source: var.value.source.clone(),
                    placeholder: false,
                },
                Origin::Env(var.clone()),
                &mut out,
            );
        }
    }
    if let Some(f) = facts {
        for t in &f.assignments {
            push(t.clone(), Origin::Other, &mut out);
        }
    }
    // Tokens exported to the rest of the job by this step or an earlier one.
    for sf in steps.iter().take(i + 1) {
        for t in &sf.facts.provided {
            push(t.clone(), Origin::Other, &mut out);
        }
    }
    for (si, sf) in steps.iter().enumerate() {
        for w in &sf.facts.auth_writes {
            if w.host.as_deref().is_some_and(|h| !is_npm_registry(h)) {
                continue;
            }
            push(w.token.clone(), Origin::Write(w.clone(), si), &mut out);
        }
    }
    out
}

/// Whether the job writes the variable `name` into an `.npmrc` only as another registry's
/// credential (`//npm.pkg.github.com/:_authToken=${NPM_TOKEN}`): then it is that registry's
/// token, not npm's, whatever it is called. setup-node's `registry-url` reads `NODE_AUTH_TOKEN`
/// for its own registry, so that name stays npm's where setup-node sets one.
fn written_for_other_registry(job: &Job, steps: &[StepFacts], name: &str) -> bool {
    let names = |w: &&script::AuthWrite| {
        w.token
            .display
            .trim_start_matches('$')
            .eq_ignore_ascii_case(name)
    };
    let writes = || steps.iter().flat_map(|s| s.facts.auth_writes.iter());
    let other = writes()
        .filter(names)
        .any(|w| w.host.as_deref().is_some_and(|h| !is_npm_registry(h)));
    let npm = writes()
        .filter(names)
        .any(|w| w.host.as_deref().is_none_or(is_npm_registry));
    let setup_node_reads = name.eq_ignore_ascii_case("NODE_AUTH_TOKEN")
        && job.steps.iter().any(|s| {
            s.action.as_ref().is_some_and(|a| {
                a.name == "actions/setup-node" && a.input("registry-url").is_some()
            })
        });
    other && !npm && !setup_node_reads
}

/// A file of the CI file's repository (`package.json`, `.npmrc`, a script): from the model,
/// which reads each at most once; straight from disk for a file checked on its own.
pub(super) fn repo_text(ctx: &FileCtx<'_>, name: &str) -> Option<std::sync::Arc<str>> {
    if let Some((model, rel)) = ctx.model() {
        return model.repo_file(rel, name);
    }
    std::fs::read_to_string(repo_root(ctx)?.join(name))
        .ok()
        .map(std::sync::Arc::from)
}

/// The repository root: above `.github/` or `.circleci/`, else the CI file's folder. `None`
/// for in-memory scans (rule examples), which have no folder on disk.
fn repo_root(ctx: &FileCtx<'_>) -> Option<std::path::PathBuf> {
    let mut dir = ctx.fs_path.parent()?;
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "workflows" {
        dir = dir.parent().and_then(|p| p.parent())?;
    } else if name == ".circleci" || name == ".github" {
        dir = dir.parent()?;
    } else if dir
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        == Some(".github")
    {
        // `.github/actions/<name>/action.yml`
        dir = dir.parent().and_then(|p| p.parent())?;
    }
    // An empty folder is an in-memory scan of a bare name: there is nothing on disk to read.
    (!dir.as_os_str().is_empty() && dir.is_dir()).then(|| dir.to_path_buf())
}

/// The repository's package.json.
fn manifest(ctx: &FileCtx<'_>) -> Option<serde_json::Value> {
    let text = repo_text(ctx, "package.json")?;
    serde_json::from_str(&text).ok()
}

fn package_info(ctx: &FileCtx<'_>) -> (String, String) {
    let manifest = manifest(ctx);
    let name = manifest
        .as_ref()
        .filter(|m| m["private"].as_bool() != Some(true))
        .and_then(|m| m["name"].as_str())
        .filter(|n| {
            n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "@/._-".contains(c))
        })
        .map(str::to_string)
        .unwrap_or_else(|| "<package>".into());
    let repo = manifest
        .as_ref()
        .and_then(|m| m["repository"]["url"].as_str().or(m["repository"].as_str()))
        .and_then(repo_slug)
        .unwrap_or_else(|| "<owner>/<repo>".into());
    (name, repo)
}

/// `owner/repo` of a package.json repository field.
fn repo_slug(url: &str) -> Option<String> {
    let u = url
        .trim()
        .trim_start_matches("git+")
        .trim_end_matches(".git");
    let rest = u
        .strip_prefix("github:")
        .or_else(|| u.split_once("github.com/").map(|(_, r)| r))
        .or_else(|| u.split_once("github.com:").map(|(_, r)| r))
        .or_else(|| u.split_once("gitlab.com/").map(|(_, r)| r))
        .or_else(|| (!u.contains(':') && u.matches('/').count() == 1).then_some(u))?;
    let slug: String = rest.split(['#', '?']).next()?.to_string();
    (slug.contains('/')
        && slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)))
    .then_some(slug)
}

fn file_name(ctx: &FileCtx<'_>) -> String {
    ctx.path.rsplit('/').next().unwrap_or(ctx.path).to_string()
}
