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

use super::edits::{self, column, entry_lines, line_start, newline, next_line_start, whole_lines};
use super::script::{self, AuthWrite, Facts, Publish, Scope, TokenUse};
use super::{
    is_placeholder, item_start, node_at_least_22_14, node_bundles_oidc_npm, parse_node_version,
    resolve_in, tokenish_name, Action, EnvVar, FileCtx, Job, Pipeline, Source, Step, System,
};

const PUBLISH: &str = "ci-publish-long-lived-token";
const NPMRC: &str = "ci-token-written-to-npmrc";
const BUILD_ARG: &str = "ci-token-in-docker-build-arg";
const LOGIN: &str = "npm-login-in-automation";
const MISCONFIGURED: &str = "trusted-publishing-misconfigured";
const STILL_SET: &str = "oidc-token-still-set";
const HARDCODED: &str = "hardcoded-token";
const INVENTORY: &str = "env-token-reference";

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
            if let Some(s) = draft.suggestion.take() {
                draft.suggestion = Some(keep_yaml_valid(ctx.text, s));
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
    let after = crate::scan::apply_replacements(text, &edits);
    if crate::parse::yaml::parse(&after).is_ok() || crate::parse::yaml::parse(text).is_err() {
        return s;
    }
    s.edits.clear();
    s.applicability = Applicability::Manual;
    s.note(
        "the automatic rewrite would not keep this file valid YAML here: make the change by hand",
    )
}

pub fn run(ctx: &mut FileCtx<'_>, pipeline: &Pipeline) {
    let mut seen = Seen::default();
    let mut reported_tokens: HashSet<(usize, usize)> = HashSet::new();
    let mut inventory: Vec<(EnvVar, String)> = Vec::new();
    let repo_root = repo_root(ctx);
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
    for job in &pipeline.jobs {
        job_rules(
            ctx,
            pipeline,
            &package_scripts,
            &repo_root,
            &repo_registry,
            job,
            &mut seen,
            &mut reported_tokens,
            &mut inventory,
        );
    }
    if crate::rules::get(INVENTORY).is_some() {
        for (var, job) in inventory {
            if reported_tokens.contains(&(var.value.span.start, var.value.span.end)) {
                continue;
            }
            let draft = Draft::at(INVENTORY, var.value.span.clone())
                .message(format!(
                    "`{}` reads the long-lived token `{}` (job `{job}`). If it is only used to install private packages, make it a read-only granular token; publishing should use trusted publishing.",
                    var.name,
                    display_source(&var.value.source)
                ))
                .suggestion(read_only_token());
            seen.emit(ctx, draft, "");
        }
    }
}

fn display_source(s: &Source) -> String {
    match s {
        Source::Stored(n) => n.clone(),
        Source::Literal => "a literal".into(),
        _ => "a variable".into(),
    }
}

fn read_only_token() -> Suggestion {
    Suggestion::new(
        "Use a read-only granular token for installs",
        Applicability::Manual,
    )
    .note("npm token create --name=ci-install --packages-all --packages-and-scopes-permission=read-only --expires=90")
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
    repo_root: &Option<std::path::PathBuf>,
    repo_registry: &Option<String>,
    job: &Job,
    seen: &mut Seen,
    reported: &mut HashSet<(usize, usize)>,
    inventory: &mut Vec<(EnvVar, String)>,
) {
    let system = p.system;
    // Facts per step.
    let mut steps: Vec<StepFacts> = Vec::new();
    for step in &job.steps {
        let scope_env: Vec<EnvVar> = job.env.iter().chain(step.env.iter()).cloned().collect();
        let resolve = |n: &str| resolve_in(&[&scope_env], n);
        let options = ctx.options;
        let is_token_var = |n: &str| options.is_token_var(n);
        let scope = Scope {
            system,
            resolve: &resolve,
            is_token_var: &is_token_var,
            package_scripts,
            repo_root: repo_root.as_deref(),
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
        }
        if let Some(a) = &step.action {
            action_facts(ctx.text, a, &mut facts);
        }
        steps.push(StepFacts { facts });
    }

    literals(ctx, system, job, &steps, seen);

    // Build args and logins (token writes come last: a job rewrite may cover them).
    for sf in &steps {
        for b in &sf.facts.build_args {
            reported.insert((b.token.span.start, b.token.span.end));
            let suggestion_edits: Vec<crate::finding::Edit> = b
                .edits
                .iter()
                .map(|(s, r)| edit(s.clone(), r.clone()))
                .collect();
            let draft = Draft::at(BUILD_ARG, b.span.clone())
                .arg("name", b.name.clone())
                .arg("token", b.token.display.clone())
                .suggestion(
                    Suggestion {
                        edits: normalize(suggestion_edits),
                        ..Suggestion::new(
                            "Pass the token as a BuildKit secret",
                            Applicability::Unsafe,
                        )
                    }
                    .note(format!(
                        "In the Dockerfile: RUN --mount=type=secret,id={},env={} npm ci   (needs `# syntax=docker/dockerfile:1`; drop the `ARG {}`)",
                        if b.edits.iter().any(|(_, r)| r.starts_with("--secret")) { b.name.to_ascii_lowercase() } else { b.name.clone() },
                        b.name,
                        b.name
                    ))
                    .note("the variable must be in the environment of the build command (for GitHub: `env:` on the step)"),
                )
                .identity(format!("{} {}", job.name, b.name));
            // One report per location: a template shared by several jobs is one line to fix.
            seen.emit(ctx, draft, "");
        }
        if crate::rules::get(LOGIN).is_some() {
            for l in &sf.facts.logins {
                // Verdaccio on localhost in an e2e job: no npmjs.org credential involved.
                let note = if l.local {
                    " Here it targets a local registry (likely Verdaccio in an e2e test), so no npmjs.org credential is involved."
                } else {
                    ""
                };
                let mut draft = Draft::at(LOGIN, l.span.clone())
                    .arg("tool", l.tool.clone())
                    .arg("stage_note", note)
                    .suggestion(
                        Suggestion::new(
                            "Replace the login with a granular token (installs) or trusted publishing (publish)",
                            Applicability::Manual,
                        )
                        .note("npm token create --name=ci-install --packages-all --packages-and-scopes-permission=read-only --expires=90")
                        .note("store it as a CI secret; .npmrc: //registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}")
                        .note("publishing from GitHub Actions, GitLab CI/CD or CircleCI: trusted publishing (OIDC), no stored credential"),
                    )
                    .identity(format!("{} {}", job.name, l.tool));
                if l.local {
                    draft = draft
                        .confidence(Confidence::Low)
                        .severity(crate::finding::Severity::Low);
                }
                // One report per location: a template shared by several jobs is one line to fix.
                seen.emit(ctx, draft, "");
            }
        }
    }

    let superseded = publish_rules(
        ctx,
        p,
        repo_registry,
        job,
        &steps,
        seen,
        reported,
        inventory,
    );
    emit_writes(ctx, system, job, &steps, &superseded, seen, reported);
}

/// Token writes into config files; a write the job's publish rewrite already removes gets that
/// rewrite's note instead of an edit of its own, so one `--fix` settles both.
fn emit_writes(
    ctx: &mut FileCtx<'_>,
    system: System,
    job: &Job,
    steps: &[StepFacts],
    superseded: &[Span],
    seen: &mut Seen,
    reported: &mut HashSet<(usize, usize)>,
) {
    for sf in steps {
        for w in &sf.facts.auth_writes {
            if !matches!(w.token.source, Source::Stored(_) | Source::Literal) || w.token.placeholder
            {
                continue;
            }
            reported.insert((w.token.span.start, w.token.span.end));
            let suggestion = if superseded.contains(&w.span) {
                Suggestion::new(
                    "Removed by the publish job's rewrite (trusted publishing needs no token file)",
                    Applicability::Manual,
                )
                .note("apply the suggestion of the job's publish finding: it deletes this write")
            } else {
                npmrc_suggestion(system, w)
            };
            let draft = Draft::at(NPMRC, w.span.clone())
                .arg("target", w.target.clone())
                .arg("token", w.token.display.clone())
                .arg("job", job.name.clone())
                .suggestion(suggestion)
                .identity(format!("{} {}", job.name, w.token.display));
            // One report per location: a template shared by several jobs is one line to fix.
            seen.emit(ctx, draft, "");
        }
    }
}

/// The publish rules of one job; returns the token writes its rewrite deletes.
#[allow(clippy::too_many_arguments)]
fn publish_rules(
    ctx: &mut FileCtx<'_>,
    p: &Pipeline,
    repo_registry: &Option<String>,
    job: &Job,
    steps: &[StepFacts],
    seen: &mut Seen,
    reported: &mut HashSet<(usize, usize)>,
    inventory: &mut Vec<(EnvVar, String)>,
) -> Vec<Span> {
    let system = p.system;
    let mut superseded: Vec<Span> = Vec::new();
    // Publishes to npm.
    let job_registry = job_registry(job, repo_registry.as_deref());
    let mut publishes: Vec<(usize, &Publish)> = Vec::new();
    for (i, sf) in steps.iter().enumerate() {
        for p in &sf.facts.publishes {
            let registry = p.registry.clone().or(job_registry.clone());
            if p.dry_run || registry.as_deref().is_some_and(|r| !is_npm_registry(r)) {
                continue;
            }
            publishes.push((i, p));
        }
    }
    let job_npm_upgrade = steps.iter().any(|s| s.facts.npm_upgrade);
    let job_oidc_get = steps.iter().find_map(|s| s.facts.oidc_get.clone());

    // Inventory of the tokens the job reads; those that reach a publish are reported by the
    // publish rules and dropped from it at the end.
    for var in job
        .env
        .iter()
        .chain(job.steps.iter().flat_map(|s| s.env.iter()))
    {
        if var.is_token(ctx) && var.value.source.is_stored() {
            inventory.push((var.clone(), job.name.clone()));
        }
    }
    if publishes.is_empty() {
        return superseded;
    }

    let mut oidc = job.oidc.clone();
    if let Some((span, npm_aud)) = &job_oidc_get {
        oidc.signal = true;
        oidc.configured |= *npm_aud;
        if !*npm_aud {
            oidc.wrong_audience = oidc.wrong_audience.or(Some(span.clone()));
        }
    }

    // One finding per job, at the first npm publish that is handed a token (the first publish
    // when none is). It covers the tokens of every publish step: a later `npm publish --tag`
    // step with its own token is the same problem, and the rewrite must remove it too.
    let per_step: Vec<Vec<JobToken>> = publishes
        .iter()
        .map(|&(i, _)| tokens_for(ctx, job, steps, i))
        .collect();
    let chosen = per_step.iter().position(|t| !t.is_empty()).unwrap_or(0);
    let Some(&(publish_step, publish)) = publishes.get(chosen) else {
        return superseded;
    };
    let mut tokens: Vec<JobToken> = Vec::new();
    for t in per_step.into_iter().skip(chosen).flatten() {
        if !tokens.iter().any(|k| k.token.span == t.token.span) {
            tokens.push(t);
        }
    }
    let short_lived = job
        .env
        .iter()
        .chain(
            job.steps
                .get(publish_step)
                .map(|s| s.env.iter())
                .into_iter()
                .flatten(),
        )
        .any(|v| v.is_token(ctx) && v.value.source == Source::ShortLived)
        || publish
            .inline
            .iter()
            .any(|t| t.source == Source::ShortLived);

    if let Some(first) = tokens.first() {
        for t in &tokens {
            reported.insert((t.token.span.start, t.token.span.end));
        }
        // Every suggestion below but the granular-token one removes the token writes.
        let rewrites =
            oidc.configured || system.trusted_publishing() && job.runner.self_hosted.is_none();
        if rewrites {
            for t in &tokens {
                if let Origin::Write(w, si) = &t.origin {
                    let removed = job
                        .steps
                        .get(*si)
                        .and_then(|st| write_removal(ctx.text, st, w))
                        .is_some();
                    if removed {
                        superseded.push(w.span.clone());
                    }
                }
            }
        }
        let who = format!("{} {}", job.name, publish.tool);
        if oidc.configured && publish.yarn_berry {
            let draft = Draft::at(MISCONFIGURED, first.token.span.clone())
                .message_key("yarn-token")
                .arg("job", job.name.clone())
                .arg("token", first.token.display.clone())
                .suggestion(tool_notes(
                    remove_tokens_suggestion(ctx, job, &tokens),
                    &publish.tool,
                ))
                .identity(who.clone());
            seen.emit(ctx, draft, &who);
        } else if oidc.configured {
            let draft = Draft::at(STILL_SET, first.token.span.clone())
                .arg("job", job.name.clone())
                .arg("token", first.token.display.clone())
                .arg("tool", publish.tool.clone())
                .suggestion(tool_notes(
                    remove_tokens_suggestion(ctx, job, &tokens),
                    &publish.tool,
                ))
                .identity(who.clone());
            seen.emit(ctx, draft, &who);
        } else {
            let supported = system.trusted_publishing() && job.runner.self_hosted.is_none();
            let suggestion = if supported {
                trusted_publishing_rewrite(ctx, p, job, steps, publish_step, publish, &tokens)
            } else {
                granular_token_suggestion(ctx, system, job.runner.self_hosted.is_some())
            };
            let draft = Draft::at(PUBLISH, first.token.span.clone())
                .message_key(if supported {
                    "supported"
                } else {
                    "unsupported"
                })
                .arg("system", system.display())
                .arg("job", job.name.clone())
                .arg("token", first.token.display.clone())
                .arg("tool", publish.tool.clone())
                .suggestion(suggestion)
                .identity(who.clone());
            seen.emit(ctx, draft, &who);
        }
        return superseded;
    }

    if steps
        .iter()
        .any(|s| s.facts.logins.iter().any(|l| !l.local))
    {
        // The job logs in (reported as npm-login-in-automation): that session, not OIDC, is
        // what the publish uses.
        return superseded;
    }
    if short_lived {
        // `secrets.GITHUB_TOKEN`/`$CI_JOB_TOKEN` as the publish credential: the package goes to
        // the CI platform's own registry, not npmjs.org.
        return superseded;
    }
    let opaque = job
        .env
        .iter()
        .chain(
            job.steps
                .get(publish_step)
                .map(|s| s.env.iter())
                .into_iter()
                .flatten(),
        )
        .any(|v| v.is_token(ctx) && v.value.source == Source::Other);
    if opaque {
        // A token from somewhere this file does not show (`steps.vault.outputs.token`): the job
        // has a credential, so it is not relying on OIDC.
        return superseded;
    }
    let relies_on_oidc = match system {
        System::GithubWorkflow | System::GithubAction => true,
        _ => oidc.signal || publish.provenance,
    };
    if !relies_on_oidc {
        return superseded;
    }
    misconfiguration(
        ctx,
        p,
        job,
        publish_step,
        publish,
        &oidc,
        job_npm_upgrade,
        seen,
    );
    superseded
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
    let publish =
        |tool: &str, inline: Vec<TokenUse>, registry: Option<String>, dry: bool| Publish {
            tool: tool.to_string(),
            span: a.span.clone(),
            dry_run: dry,
            registry,
            provenance: false,
            yarn_berry: false,
            inline,
        };
    match a.name.as_str() {
        "changesets/action" if a.input("publish").is_some() => {
            facts
                .publishes
                .push(publish("changesets/action", Vec::new(), None, false));
        }
        "js-devtools/npm-publish" => {
            let registry = a.input("registry").map(|r| r.value.text.clone());
            facts.publishes.push(publish(
                "JS-DevTools/npm-publish",
                token_inputs(),
                registry,
                bool_input("dry-run"),
            ));
        }
        "cycjimmy/semantic-release-action" | "codfish/semantic-release-action" => {
            facts.publishes.push(publish(
                "semantic-release",
                Vec::new(),
                None,
                bool_input("dry_run") || bool_input("dry-run"),
            ));
        }
        "atlassian/npm-publish" => {
            facts.publishes.push(publish(
                "atlassian/npm-publish pipe",
                token_inputs(),
                None,
                false,
            ));
        }
        "travis:npm" => {
            let mut inline = token_inputs();
            if inline.is_empty() {
                // Without `api_token`, dpl reads `NPM_API_TOKEN` from the repository settings.
                inline.push(TokenUse {
                    display: "$NPM_API_TOKEN (repository settings)".into(),
                    span: a.span.clone(),
                    source: Source::Stored("$NPM_API_TOKEN".into()),
                    placeholder: false,
                });
            }
            let registry = a.input("registry").map(|r| r.value.text.clone());
            facts.publishes.push(publish(
                "deploy: provider: npm",
                inline,
                registry,
                bool_input("dry_run"),
            ));
        }
        "npm" => {
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
                facts
                    .publishes
                    .push(publish("Npm@1 publish", inline, None, false));
            }
        }
        "npmauthenticate" => {
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
        "docker" => {
            // Azure `Docker@2`: `arguments: --build-arg NPM_TOKEN=$(npmToken)`.
            if let Some(args) = a.input("arguments") {
                azure_docker_args(text, args, facts);
            }
        }
        "docker/build-push-action" => {
            if let Some(args) = a.input("build-args") {
                build_push_args(text, a, args, facts);
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
        let stored = super::expressions(System::GithubWorkflow, value)
            .into_iter()
            .find_map(|e| match e.source {
                Source::Stored(s) => Some((s, e.range)),
                _ => None,
            });
        let token_name = crate::token::is_npm_token_var(name.trim());
        let Some((display, _)) =
            stored.filter(|(s, _)| token_name || super::looks_like_npm_secret(s))
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
        let source = super::classify_value(System::Azure, value, &|_| None);
        let token_name = crate::token::is_npm_token_var(name.as_str());
        let stored = match &source {
            Source::Stored(s) => Some(s.clone()),
            _ if value.is_empty() && token_name => Some(format!("${}", name.as_str())),
            _ => None,
        };
        let Some(display) = stored.filter(|s| token_name || super::looks_like_npm_secret(s)) else {
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

/// The registry a job's publishes go to when the command does not say: setup-node's
/// `registry-url`, `NPM_CONFIG_REGISTRY`.
fn job_registry(job: &Job, repo_registry: Option<&str>) -> Option<String> {
    // npm's order: --registry (on the command) > publishConfig > environment > project .npmrc
    // > the user .npmrc setup-node writes.
    let env = job
        .env
        .iter()
        .find(|v| v.name.eq_ignore_ascii_case("NPM_CONFIG_REGISTRY"))
        .map(|v| v.value.text.clone());
    if let Some(r) = repo_registry.filter(|r| r.starts_with("publishConfig:")) {
        return Some(r.trim_start_matches("publishConfig:").to_string());
    }
    if env.is_some() {
        return env;
    }
    if let Some(r) = repo_registry {
        return Some(r.to_string());
    }
    for step in &job.steps {
        if let Some(a) = &step.action {
            if a.name == "actions/setup-node" {
                if let Some(r) = a.input("registry-url") {
                    return Some(r.value.text.clone());
                }
            }
        }
    }
    None
}

/// The first `npmAuthToken:` setting of the repository's `.yarnrc.yml`, as `line N`.
fn repo_yarnrc_token(ctx: &FileCtx<'_>) -> Option<String> {
    let text = std::fs::read_to_string(repo_root(ctx)?.join(".yarnrc.yml")).ok()?;
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
    let npmrc = std::fs::read_to_string(repo_root(ctx)?.join(".npmrc")).ok()?;
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
    if let Some(a) = step.and_then(|s| s.action.as_ref()) {
        for input in &a.inputs {
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
        if var.is_token(ctx) {
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
    for sf in steps {
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

/// Literal credentials in auth positions: env values, inputs, script assignments and writes.
fn literals(
    ctx: &mut FileCtx<'_>,
    system: System,
    job: &Job,
    steps: &[StepFacts],
    seen: &mut Seen,
) {
    let mut spans: Vec<(Span, Option<EnvVar>)> = Vec::new();
    let vars = job
        .env
        .iter()
        .chain(job.steps.iter().flat_map(|s| s.env.iter()))
        .filter(|v| v.is_token(ctx))
        .chain(
            job.steps
                .iter()
                .filter_map(|s| s.action.as_ref())
                .flat_map(|a| {
                    a.inputs.iter().filter(|i| {
                        tokenish_name(&i.name) || crate::token::is_npm_token_var(&i.name)
                    })
                }),
        );
    for v in vars {
        if v.value.source == Source::Literal && !is_placeholder(&v.value.text) {
            spans.push((v.value.span.clone(), Some(v.clone())));
        }
    }
    for sf in steps {
        spans.extend(sf.facts.literals.iter().map(|s| (s.clone(), None)));
        for w in &sf.facts.auth_writes {
            if w.token.source == Source::Literal {
                spans.push((w.token.span.clone(), None));
            }
        }
        for p in &sf.facts.publishes {
            for t in &p.inline {
                if t.source == Source::Literal {
                    spans.push((t.span.clone(), None));
                }
            }
        }
    }
    for (span, var) in spans {
        let value = ctx.text.get(span.clone()).unwrap_or("");
        let inner = edits::unquoted(ctx.text, &span);
        let literal = ctx.text.get(inner.clone()).unwrap_or(value).trim();
        if literal.is_empty() {
            continue;
        }
        let kind = crate::token::classify_literal(literal);
        if kind == crate::token::LiteralKind::NpmTokenBadChecksum {
            // The sweep decides about these (placeholder or damaged token).
            continue;
        }
        if kind == crate::token::LiteralKind::Other
            && (literal.len() < 16 || crate::token::shannon_entropy(literal) < 3.0)
        {
            continue;
        }
        ctx.secret(inner.clone(), SecretKind::Token);
        let what = match kind {
            crate::token::LiteralKind::NpmToken => "an npm access token",
            crate::token::LiteralKind::Uuid => {
                "a UUID-format (legacy or third-party registry) token"
            }
            _ => "a literal credential",
        };
        let mut suggestion = Suggestion::new(
            "Revoke the token and read it from the CI secret store",
            Applicability::Manual,
        )
        .note("npm token revoke <token>   # run by the token's owner");
        if let (Some(var), true) = (&var, system.is_github()) {
            let secret = var.name.to_ascii_uppercase().replace('-', "_");
            suggestion = Suggestion::new(
                "Read the token from a repository secret (after revoking the committed one)",
                Applicability::Unsafe,
            )
            .edit(span.clone(), format!("${{{{ secrets.{secret} }}}}"))
            .note(format!("create the repository secret {secret}, then revoke the committed token: npm token revoke <token>"));
        } else if var.is_some() {
            suggestion = suggestion.note(format!(
                "define it as a masked/secret variable in the {} settings and reference it as a variable",
                system.display()
            ));
        }
        let draft = Draft::at(HARDCODED, span.clone())
            .message(format!(
                "{what} is written in this {} file. Anyone who can read the repository can use it: revoke it and read a token from the CI secret store (or use trusted publishing).",
                system.display()
            ))
            .suggestion(suggestion);
        seen.emit(ctx, draft, "");
    }
}

fn npmrc_suggestion(system: System, w: &AuthWrite) -> Suggestion {
    match &w.placeholder {
        Some((span, replacement)) => Suggestion::new(
            "Write a ${VAR} placeholder that npm expands when it reads the file",
            Applicability::Unsafe,
        )
        .edit(span.clone(), replacement.clone())
        .note("the variable must be set in the environment of every later npm command (npm expands `${VAR}` in .npmrc; pnpm >= 11.5.3 does not in a project .npmrc, use ~/.npmrc there)"),
        None if system.is_github() => Suggestion::new(
            "Let actions/setup-node write the .npmrc and pass the token only to the step that needs it",
            Applicability::Manual,
        )
        .note("- uses: actions/setup-node@v6\n  with:\n    registry-url: 'https://registry.npmjs.org'\n- run: npm ci\n  env:\n    NODE_AUTH_TOKEN: ${{ secrets.NPM_READ_TOKEN }}")
        .note("for publishing, use trusted publishing (no token at all): https://docs.npmjs.com/trusted-publishers"),
        None => Suggestion::new(
            "Keep the token out of files: write `//registry.npmjs.org/:_authToken=${NPM_TOKEN}` literally (single quotes)",
            Applicability::Manual,
        )
        .note("echo '//registry.npmjs.org/:_authToken=${NPM_TOKEN}' > ~/.npmrc"),
    }
}

// ---------------------------------------------------------------------------------------------
// Trusted publishing checks.

#[allow(clippy::too_many_arguments)]
fn misconfiguration(
    ctx: &mut FileCtx<'_>,
    p: &Pipeline,
    job: &Job,
    publish_step: usize,
    publish: &Publish,
    oidc: &super::Oidc,
    npm_upgrade: bool,
    seen: &mut Seen,
) {
    let system = p.system;
    let who = format!("{} {}", job.name, publish.tool);
    let emit = |ctx: &mut FileCtx<'_>, seen: &mut Seen, draft: Draft| {
        let key = draft.message_key.unwrap_or("");
        let draft = draft
            .arg("job", job.name.clone())
            .arg("tool", publish.tool.clone())
            .arg("system", system.display())
            .identity(format!("{who} {key}"));
        seen.emit(ctx, draft, &who);
    };

    if !system.trusted_publishing() {
        let draft = Draft::at(MISCONFIGURED, publish.span.clone())
            .message_key("unsupported-ci")
            .suggestion(granular_token_suggestion(ctx, system, false));
        emit(ctx, seen, draft);
        return;
    }
    if publish.yarn_berry && oidc.configured {
        // Yarn sends a configured `npmAuthToken` before it tries OIDC; the repository's
        // `.yarnrc.yml` is read in CI as well.
        if let Some(line) = repo_yarnrc_token(ctx) {
            let draft = Draft::at(MISCONFIGURED, publish.span.clone())
                .message_key("yarn-token")
                .arg("token", format!("npmAuthToken in .yarnrc.yml ({line})"))
                .suggestion(
                    Suggestion::new(
                        "Remove npmAuthToken from the repository's .yarnrc.yml",
                        Applicability::Manual,
                    )
                    .note("delete the npmAuthToken line (and any npmScopes/npmRegistries entry holding one) from .yarnrc.yml; keep read-only tokens for installs in the CI environment (YARN_NPM_AUTH_TOKEN on the install step only)"),
                );
            emit(ctx, seen, draft);
        }
    }
    if publish.tool == "yarn publish" {
        let draft = Draft::at(MISCONFIGURED, publish.span.clone())
            .message_key("no-oidc-tool")
            .suggestion(Suggestion::new(
                "Publish with npm (or Yarn >= 4.10 `yarn npm publish`), which support trusted publishing",
                Applicability::Manual,
            ).note("replace `yarn publish` with `npm publish` (npm >= 11.5.1)"));
        emit(ctx, seen, draft);
    }
    // A GitLab template's ID tokens may come from the job that extends it.
    let gitlab_template = system == System::Gitlab && oidc.inherited;
    if !oidc.configured && system != System::GithubAction && !gitlab_template {
        let (span, key) = match (&oidc.wrong_audience, system) {
            (Some(s), _) => (s.clone(), "wrong-audience"),
            (None, System::Gitlab) => (job.key_span.clone(), "no-id-tokens"),
            (None, System::CircleCi) => (publish.span.clone(), "no-oidc-get"),
            (None, _) => (job.key_span.clone(), "no-id-token"),
        };
        let (edits, safe) = oidc_edits(ctx, p, job, oidc, publish_step);
        let mut suggestion = Suggestion::new(
            match system {
                System::Gitlab => "Add the npm ID token to the job",
                System::CircleCi => "Request the npm OIDC token before publishing",
                _ => "Grant the job `id-token: write`",
            },
            if safe {
                Applicability::Safe
            } else {
                Applicability::Unsafe
            },
        );
        suggestion.edits = edits;
        let suggestion = trust_notes(ctx, system, job, suggestion);
        let mut draft = Draft::at(MISCONFIGURED, span)
            .message_key(key)
            .suggestion(suggestion);
        if oidc.inherited {
            draft = draft
                .confidence(Confidence::Low)
                .message_key("no-id-token-reusable");
        }
        emit(ctx, seen, draft);
    }
    if let Some(span) = &job.runner.self_hosted {
        let mut draft = Draft::at(MISCONFIGURED, span.clone())
            .message_key("self-hosted")
            .suggestion(granular_token_suggestion(ctx, system, true));
        if job.runner.self_hosted_guess {
            draft = draft.confidence(Confidence::Medium);
        }
        emit(ctx, seen, draft);
    }
    // Tools that run the npm CLI for the upload (also through `npm run <script>`).
    let needs_npm = [
        "npm publish",
        "npm stage publish",
        "changeset",
        "JS-DevTools/npm-publish",
        "lerna publish",
    ]
    .iter()
    .any(|t| publish.tool.contains(t))
        && !publish.tool.contains("yarn npm publish");
    let version = job
        .node
        .as_ref()
        .and_then(|n| parse_node_version(&n.version).map(|v| (n, v)));
    match version {
        Some((n, v)) if !node_at_least_22_14(v) && !publish.yarn_berry => {
            let mut s =
                Suggestion::new("Use Node 24 (npm >= 11.5.1 bundled)", Applicability::Unsafe);
            if let Some(e) = node_edit(ctx, n) {
                s.edits.push(e);
            }
            let draft = Draft::at(MISCONFIGURED, n.span.clone())
                .message_key("old-node")
                .arg("version", n.version.clone())
                .suggestion(s);
            emit(ctx, seen, draft);
        }
        Some((n, v)) if needs_npm && !node_bundles_oidc_npm(v) && !npm_upgrade => {
            let s = upgrade_suggestion(ctx, p, job, publish_step);
            let draft = Draft::at(MISCONFIGURED, n.span.clone())
                .message_key("old-npm")
                .arg("version", n.version.clone())
                .suggestion(s);
            emit(ctx, seen, draft);
        }
        None if needs_npm
            && !npm_upgrade
            && system.is_github()
            && job.node.is_none()
            && !has_setup_node_expr(job) =>
        {
            let s = upgrade_suggestion(ctx, p, job, publish_step);
            let draft = Draft::at(MISCONFIGURED, publish.span.clone())
                .message_key("no-node-setup")
                .confidence(Confidence::Low)
                .suggestion(s);
            emit(ctx, seen, draft);
        }
        _ => {}
    }
}

fn has_setup_node_expr(job: &Job) -> bool {
    job.steps.iter().any(|s| {
        s.action.as_ref().is_some_and(|a| {
            a.name == "actions/setup-node"
                && (a.input("node-version").is_some() || a.input("node-version-file").is_some())
        })
    })
}

fn upgrade_suggestion(
    ctx: &FileCtx<'_>,
    p: &Pipeline,
    job: &Job,
    publish_step: usize,
) -> Suggestion {
    let mut s = Suggestion::new(
        "Upgrade npm to >= 11.5.1 before publishing",
        Applicability::Unsafe,
    );
    if let Some(e) = npm_upgrade_edit(ctx, p.system, job, publish_step) {
        s.edits.push(e);
    } else {
        s = s.note("npm install -g npm@latest");
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Rewrites.

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
    let text = std::fs::read_to_string(repo_root(ctx)?.join("package.json")).ok()?;
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

fn granular_token_suggestion(ctx: &FileCtx<'_>, system: System, self_hosted: bool) -> Suggestion {
    let (pkg, _) = package_info(ctx);
    let slug: String = system
        .display()
        .split_whitespace()
        .next()
        .unwrap_or("ci")
        .to_ascii_lowercase();
    let mut s = Suggestion::new(
        "Publish with a short-lived granular write token, rotated",
        Applicability::Manual,
    )
    .note(format!(
        "npm token create --name={slug}-publish --packages={pkg} --packages-and-scopes-permission=read-write --bypass-2fa --expires=90"
    ))
    .note("store it as a CI secret read only by the publish step, and rotate it before it expires (write tokens live at most 90 days)");
    s = if self_hosted {
        s.note("trusted publishing (no stored token) needs a cloud-hosted runner: run the publish job on a GitHub-hosted runner, GitLab.com shared runner or CircleCI cloud")
    } else {
        s.note(format!(
            "{} is not a trusted-publishing provider: moving the publish job to GitHub Actions, GitLab CI/CD (GitLab.com) or CircleCI cloud removes the stored token entirely",
            system.display()
        ))
    };
    s
}

/// What a publish helper needs before it can publish with OIDC.
fn tool_notes(mut s: Suggestion, tool: &str) -> Suggestion {
    if tool.contains("semantic-release") {
        s = s.note(
            "needs @semantic-release/npm >= 13.1.0 (semantic-release 25) for trusted publishing",
        );
    }
    if tool.contains("changeset") {
        s = s.note("needs changesets/action >= 1.7.0 (writes no token when NPM_TOKEN is unset)");
    }
    if tool.contains("JS-DevTools/npm-publish") {
        s = s.note("needs JS-DevTools/npm-publish >= 4.1.0 (token optional with OIDC)");
    }
    if tool.contains("yarn npm publish") {
        s = s.note("needs Yarn >= 4.10 for OIDC in `yarn npm publish`");
    }
    s
}

fn remove_tokens_suggestion(ctx: &FileCtx<'_>, job: &Job, tokens: &[JobToken]) -> Suggestion {
    let mut s = Suggestion::new(
        "Remove the long-lived token from the publish step",
        Applicability::Unsafe,
    );
    s.edits = token_removal_edits(ctx, job, tokens);
    s.note("with an OIDC token available, npm publishes with it when the exchange succeeds; Yarn uses a configured token first")
        .note("once publishing works without it, revoke the token and delete the CI secret")
        .note("if `npm ci` installs private packages, give that step a read-only granular token")
}

fn trusted_publishing_rewrite(
    ctx: &FileCtx<'_>,
    p: &Pipeline,
    job: &Job,
    steps: &[StepFacts],
    publish_step: usize,
    publish: &Publish,
    tokens: &[JobToken],
) -> Suggestion {
    let system = p.system;
    let mut s = Suggestion::new(
        format!(
            "Publish with trusted publishing (OIDC) from {}",
            system.display()
        ),
        Applicability::Unsafe,
    );
    let (mut edits, _) = oidc_edits(ctx, p, job, &job.oidc, publish_step);
    edits.extend(token_removal_edits(ctx, job, tokens));
    let npm_upgrade = steps.iter().any(|s| s.facts.npm_upgrade);
    let version = job
        .node
        .as_ref()
        .and_then(|n| parse_node_version(&n.version).map(|v| (n, v)));
    match version {
        Some((n, v)) if !node_at_least_22_14(v) => edits.extend(node_edit(ctx, n)),
        Some((_, v)) if !node_bundles_oidc_npm(v) && !npm_upgrade => {
            edits.extend(npm_upgrade_edit(ctx, system, job, publish_step))
        }
        None if !npm_upgrade && !publish.yarn_berry => {
            edits.extend(npm_upgrade_edit(ctx, system, job, publish_step))
        }
        _ => {}
    }
    for step in &job.steps {
        if let Some(a) = &step.action {
            let major = a.version.as_deref().and_then(|v| {
                v.trim_start_matches('v')
                    .split('.')
                    .next()?
                    .parse::<u64>()
                    .ok()
            });
            if a.name == "js-devtools/npm-publish" && major.is_some_and(|m| m < 4) {
                // v4.1.0 made `token` optional for OIDC; `@v4` resolves to the latest 4.x.
                if let Some(at) = ctx.text.get(a.span.clone()).and_then(|t| t.rfind('@')) {
                    edits.push(edit(a.span.start + at + 1..a.span.end, "v4"));
                }
            }
        }
    }
    s.edits = normalize(edits);
    if system == System::GithubAction {
        s = s.note("composite action: the calling workflow's job must grant `permissions: id-token: write`");
    }
    s = trust_notes(ctx, system, job, s);
    if system == System::CircleCi {
        s = s.note("then remove NPM_TOKEN from the project settings / context");
    }
    s = tool_notes(s, &publish.tool);
    s.note("the package must already exist on npm (the first publish needs a token); installs of private packages still need a read-only token")
        .note("after the first OIDC publish: revoke the token, and set the package to \"Require two-factor authentication and disallow tokens\"")
}

/// How to register the trusted publisher on npmjs.com for this job (`npm trust ...`).
fn trust_notes(ctx: &FileCtx<'_>, system: System, job: &Job, mut s: Suggestion) -> Suggestion {
    let (pkg, repo) = package_info(ctx);
    s = match system {
        System::GithubWorkflow | System::GithubAction => {
            // A job bound to a deployment environment is matched on it too.
            let env = job
                .body
                .as_ref()
                .and_then(|b| b.get("environment"))
                .and_then(|e| e.as_str().or_else(|| e.get("name").and_then(Node::as_str)))
                .filter(|e| !e.contains("${{"))
                .map(|e| format!(" --env {e}"))
                .unwrap_or_default();
            s.note(format!(
                "register the trusted publisher on npmjs.com (the workflow file name must match exactly): npm trust github {pkg} --file {} --repo {repo}{env}",
                if system == System::GithubAction { "<calling-workflow>.yml".to_string() } else { file_name(ctx) }
            ))
        }
        System::Gitlab => s.note(format!(
            "register the trusted publisher on npmjs.com (the top-level CI file, even when this job is included from another): npm trust gitlab {pkg} --file .gitlab-ci.yml --project {repo}"
        )).note("trusted publishing works on GitLab.com shared runners; add `SIGSTORE_ID_TOKEN: {aud: sigstore}` for provenance"),
        System::CircleCi => s.note(format!(
            "register the trusted publisher on npmjs.com: npm trust circleci {pkg} --org-id <org-uuid> --project-id <project-uuid> --pipeline-definition-id <pipeline-definition-uuid> --vcs-origin <vcs-origin>"
        )),
        _ => s,
    };
    s
}

/// Sorted edits with those inside an earlier deletion dropped.
fn normalize(mut edits: Vec<crate::finding::Edit>) -> Vec<crate::finding::Edit> {
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out: Vec<crate::finding::Edit> = Vec::new();
    for e in edits {
        if let Some(last) = out.last() {
            if e.span.start < last.span.end {
                continue;
            }
            if e.span == last.span && e.replacement == last.replacement {
                continue;
            }
        }
        out.push(e);
    }
    out
}

fn edit(span: Span, replacement: impl Into<String>) -> crate::finding::Edit {
    crate::finding::Edit {
        span,
        replacement: replacement.into(),
    }
}

/// The job-level change that lets the job mint an npm OIDC token; `true` when it cannot change
/// anything else (adding one line to an existing job-level permissions block).
fn oidc_edits(
    ctx: &FileCtx<'_>,
    p: &Pipeline,
    job: &Job,
    oidc: &super::Oidc,
    publish_step: usize,
) -> (Vec<crate::finding::Edit>, bool) {
    let text = ctx.text;
    let nl = newline(text);
    // Line insertions need a block-style job; a flow mapping (`job: {...}`) gets no edits.
    if job
        .body
        .as_ref()
        .is_some_and(|b| text.get(b.span.start..).is_some_and(|t| t.starts_with('{')))
    {
        return (Vec::new(), false);
    }
    match p.system {
        System::GithubWorkflow => {
            let Some(body) = &job.body else {
                return (Vec::new(), false);
            };
            if job.oidc.configured {
                return (Vec::new(), true);
            }
            github_permissions(text, nl, p.root.as_ref(), body, job)
        }
        System::Gitlab => {
            if job.oidc.configured {
                return (Vec::new(), true);
            }
            let Some(body) = &job.body else {
                return (Vec::new(), false);
            };
            let Some(first) = body.as_mapping().and_then(|m| m.first()) else {
                return (Vec::new(), false);
            };
            let indent = column(text, first.key.span.start);
            let step = indent
                .saturating_sub(column(text, job.key_span.start))
                .max(2);
            if let Some(aud) = body.get_path(&["id_tokens", "NPM_ID_TOKEN", "aud"]) {
                // The token is there with the wrong audience: fix the audience in place.
                return (vec![edit(aud.span(), "\"npm:registry.npmjs.org\"")], true);
            }
            if let Some(ids) = body.get_entry("id_tokens") {
                if let Some(e) = ids.value.as_mapping().and_then(|m| m.last()) {
                    let at = entry_lines(text, &(e.key.span.start..e.value.span.end))
                        .map(|s| s.end)
                        .unwrap_or_else(|| next_line_start(text, e.value.span.end));
                    let col = column(text, e.key.span.start);
                    let add = edits::indent_lines(
                        &[
                            "NPM_ID_TOKEN:",
                            &format!("{}aud: \"npm:registry.npmjs.org\"", " ".repeat(step)),
                        ],
                        col,
                        nl,
                    );
                    return (vec![edit(at..at, add)], false);
                }
            }
            let at = body
                .get_entry("script")
                .filter(|e| !e.merged)
                .map(|e| line_start(text, e.key.span.start))
                .unwrap_or_else(|| line_start(text, first.key.span.start));
            let pad = " ".repeat(step);
            let add = edits::indent_lines(
                &[
                    "id_tokens:",
                    &format!("{pad}NPM_ID_TOKEN:"),
                    &format!("{pad}{pad}aud: \"npm:registry.npmjs.org\""),
                ],
                indent,
                nl,
            );
            (vec![edit(at..at, add)], false)
        }
        System::CircleCi => {
            if let Some(span) = &oidc.wrong_audience {
                return (circleci_audience(text, span).into_iter().collect(), true);
            }
            let Some(step) = job.steps.get(publish_step) else {
                return (Vec::new(), false);
            };
            let Some(dash) = item_start(text, step.span.start) else {
                return (Vec::new(), false);
            };
            let col = column(text, dash);
            let at = line_start(text, dash);
            let add = edits::indent_lines(
                &[
                    "- run:",
                    "    name: Request an npm OIDC token for trusted publishing",
                    "    command: |",
                    "      echo \"export NPM_ID_TOKEN=$(circleci run oidc get --claims '{\\\"aud\\\": \\\"npm:registry.npmjs.org\\\"}')\" >> \"$BASH_ENV\"",
                ],
                col,
                nl,
            );
            (vec![edit(at..at, add)], false)
        }
        _ => (Vec::new(), false),
    }
}

/// `circleci run oidc get` with another audience (or none): the npm audience in its claims.
fn circleci_audience(text: &str, span: &Span) -> Option<crate::finding::Edit> {
    static AUD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(\\?"aud\\?"\s*:\s*\\?")([^"\\]*)"#)
            .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    let command = text.get(span.clone())?;
    if let Some(c) = AUD.captures(command) {
        let m = c.get(2)?;
        return Some(edit(
            span.start + m.start()..span.start + m.end(),
            "npm:registry.npmjs.org",
        ));
    }
    let at = command.find("oidc get")? + "oidc get".len();
    Some(edit(
        span.start + at..span.start + at,
        " --claims '{\"aud\": \"npm:registry.npmjs.org\"}'",
    ))
}

fn github_permissions(
    text: &str,
    nl: &str,
    root: Option<&Node>,
    body: &Node,
    job: &Job,
) -> (Vec<crate::finding::Edit>, bool) {
    let Some(first) = body.as_mapping().and_then(|m| m.first()) else {
        return (Vec::new(), false);
    };
    let indent = column(text, first.key.span.start);
    let step = indent
        .saturating_sub(column(text, job.key_span.start))
        .max(2);
    if let Some(perms) = body.get("permissions") {
        return (add_to_permissions(text, nl, perms), perms.is_mapping());
    }
    let mut lines: Vec<String> = vec!["permissions:".into()];
    match root.and_then(|r| r.get("permissions")) {
        Some(rp) if rp.is_mapping() => {
            // The job-level block replaces the workflow-level one: keep what it granted.
            for (k, v) in rp.iter_map() {
                let key = text.get(k.span()).unwrap_or("");
                let value = text.get(v.span()).unwrap_or("");
                if key == "id-token" {
                    continue;
                }
                lines.push(format!("{}{key}: {value}", " ".repeat(step)));
            }
        }
        _ => {
            for grant in default_grants(job) {
                lines.push(format!("{}{grant}", " ".repeat(step)));
            }
        }
    }
    lines.push(format!(
        "{}id-token: write  # trusted publishing to npm",
        " ".repeat(step)
    ));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let block = edits::indent_lines(&refs, indent, nl);
    let at = body
        .get_entry("runs-on")
        .and_then(|e| entry_lines(text, &(e.key.span.start..e.value.span.end)))
        .map(|s| s.end)
        .unwrap_or_else(|| line_start(text, first.key.span.start));
    (vec![edit(at..at, block)], false)
}

/// What a job with no `permissions:` anywhere still needs once a block is added (a block sets
/// every permission it does not name to none): release tools push tags and open pull requests.
fn default_grants(job: &Job) -> &'static [&'static str] {
    let uses = |needle: &str| {
        job.steps.iter().any(|s| {
            s.action.as_ref().is_some_and(|a| a.name.contains(needle))
                || s.scripts.iter().any(|t| t.scalar.value().contains(needle))
        })
    };
    if uses("semantic-release") {
        &["contents: write", "issues: write", "pull-requests: write"]
    } else if uses("changesets/action") || uses("changeset version") {
        &["contents: write", "pull-requests: write"]
    } else {
        &["contents: read"]
    }
}

/// Adds `id-token: write` to an existing `permissions:` value.
fn add_to_permissions(text: &str, nl: &str, perms: &Node) -> Vec<crate::finding::Edit> {
    let raw = text.get(perms.span()).unwrap_or("");
    if perms.is_mapping() && raw.starts_with('{') {
        let close = perms.span.end.saturating_sub(1);
        let inner = text.get(perms.span.start + 1..close).unwrap_or("").trim();
        return if inner.is_empty() {
            vec![edit(perms.span(), "{ id-token: write }")]
        } else {
            vec![edit(close..close, ", id-token: write ")]
        };
    }
    if let Some(last) = perms.as_mapping().and_then(|m| m.last()) {
        let col = column(text, last.key.span.start);
        let at = entry_lines(text, &(last.key.span.start..last.value.span.end))
            .map(|s| s.end)
            .unwrap_or_else(|| next_line_start(text, last.value.span.end));
        return vec![edit(
            at..at,
            format!("{}id-token: write{nl}", " ".repeat(col)),
        )];
    }
    // `read-all`, `write-all`, `{}` written as a scalar, or nothing at all (`permissions:`
    // with an empty value, which needs a space after the colon).
    let value = "{ contents: read, id-token: write }";
    if perms.span.is_empty()
        || text
            .get(..perms.span.start)
            .is_some_and(|b| b.ends_with(':'))
    {
        return vec![edit(perms.span(), format!(" {value}"))];
    }
    vec![edit(perms.span(), value)]
}

fn node_edit(ctx: &FileCtx<'_>, n: &super::NodeSetup) -> Option<crate::finding::Edit> {
    // CircleCI's convenience images are tagged with full versions (`cimg/node:24.11`), so they
    // get their `lts` tag; `node:18-alpine` becomes `node:24-alpine` (the span is the version
    // part); a setup-node/NodeTool version becomes `24` inside its quotes.
    let before = ctx.text.get(..n.span.start).unwrap_or("");
    if before.ends_with("cimg/node:") {
        return Some(edit(n.span.clone(), "lts"));
    }
    Some(edit(edits::unquoted(ctx.text, &n.span), "24"))
}

fn npm_upgrade_edit(
    ctx: &FileCtx<'_>,
    system: System,
    job: &Job,
    publish_step: usize,
) -> Option<crate::finding::Edit> {
    let text = ctx.text;
    let step = job.steps.get(publish_step)?;
    let nl = newline(text);
    match system {
        System::GithubWorkflow | System::GithubAction => {
            let dash = item_start(text, step.span.start)?;
            let at = line_start(text, dash);
            let mut line =
                "- run: npm install -g npm@latest  # trusted publishing needs npm >= 11.5.1"
                    .to_string();
            if system == System::GithubAction {
                line.push_str(&format!(
                    "{nl}{}  shell: bash",
                    " ".repeat(column(text, dash))
                ));
            }
            Some(edit(
                at..at,
                edits::indent_lines(&[&line], column(text, dash), nl),
            ))
        }
        System::Gitlab | System::CircleCi => {
            let script = step.scripts.iter().find(|s| s.list_item)?;
            let dash = item_start(text, script.span.start)?;
            let at = line_start(text, dash);
            let line = if system == System::Gitlab {
                "- npm install -g npm@latest"
            } else {
                "- run: sudo npm install -g npm@latest"
            };
            Some(edit(
                at..at,
                edits::indent_lines(&[line], column(text, dash), nl),
            ))
        }
        _ => None,
    }
}

/// Deletes the token settings the publish step sees: env entries (the whole block when every
/// entry goes), token inputs, and the lines or steps that write the token into `.npmrc`.
fn token_removal_edits(
    ctx: &FileCtx<'_>,
    job: &Job,
    tokens: &[JobToken],
) -> Vec<crate::finding::Edit> {
    let text = ctx.text;
    let mut out = Vec::new();
    let mut deleted_per_block: Vec<(Span, usize, usize, Span)> = Vec::new();
    for t in tokens {
        match &t.origin {
            Origin::Env(var) | Origin::Input(var) => {
                if let Some(block) = &var.block {
                    let key = block.key_span.clone();
                    match deleted_per_block.iter_mut().find(|(k, ..)| *k == key) {
                        Some(entry) => entry.1 += 1,
                        None => deleted_per_block.push((
                            key,
                            1,
                            block.entries,
                            block.value_span.clone(),
                        )),
                    }
                }
                if let Some(lines) = entry_lines(text, &var.entry_span) {
                    out.push(edit(lines, ""));
                }
            }
            Origin::Write(w, si) => {
                let Some(step) = job.steps.get(*si) else {
                    continue;
                };
                if let Some(e) = write_removal(text, step, w) {
                    out.push(e);
                }
            }
            Origin::Other => {}
        }
    }
    for (key, deleted, entries, value_span) in deleted_per_block {
        if deleted >= entries {
            if let Some(lines) = entry_lines(text, &(key.start..value_span.end)) {
                out.push(edit(lines, ""));
            }
        }
    }
    normalize(out)
}

/// Removing a write of the token: the script line when it stands alone, or the whole step when
/// the step does nothing else.
fn write_removal(text: &str, step: &Step, w: &AuthWrite) -> Option<crate::finding::Edit> {
    let script = step
        .scripts
        .iter()
        .find(|s| s.span.start <= w.span.start && w.span.end <= s.span.end)?;
    let value = script.scalar.value().trim();
    let command = text.get(w.span.clone())?.trim();
    let only_command = value == command;
    if only_command && !script.list_item && step.list_item && step.action.is_none() {
        // `- run: echo ... > .npmrc`: the step goes.
        let dash = item_start(text, step.span.start)?;
        let lines = entry_lines(text, &(dash..step.span.end))?;
        return Some(edit(lines, ""));
    }
    if only_command && script.list_item {
        return whole_lines(text, &script.span).map(|l| edit(l, ""));
    }
    // One line out of a script: only in a literal block, where each line stands alone (in plain,
    // quoted and folded scalars the next line may continue this one).
    if script.scalar.style() != crate::parse::yaml::ScalarStyle::Literal {
        return None;
    }
    whole_lines(text, &w.span).map(|l| edit(l, ""))
}
