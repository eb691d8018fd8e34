//! Docker Compose files: npm tokens handed to an image build (`build.args`, recorded in the
//! image history and provenance) or to a running container (`environment`, `env_file`), and
//! literal tokens in either place. The suggested rewrite moves a build arg to `build.secrets`
//! backed by a top-level `secrets:` entry read from the host environment (Compose 2.5+/2.6+), and
//! drops runtime tokens the app does not need.

use std::collections::HashSet;
use std::path::Path;

use crate::finding::{Applicability, Confidence, Draft, Suggestion};
use crate::parse::yaml::{Node, NodeKind};
use crate::source::Span;
use crate::token::{self, LiteralKind, SecretKind};

use super::FileCtx;

const BUILD_ARG: &str = "compose-token-build-arg";
const RUNTIME_ENV: &str = "compose-token-runtime-env";
const HARDCODED: &str = "hardcoded-token";

/// The build secret id the rewrite introduces (and the Dockerfile mount must name).
const SECRET_ID: &str = "npm_token";

/// `env_file`s larger than this are not read: an env file is a few lines.
const MAX_ENV_FILE: u64 = 256 * 1024;

/// A failing-checksum `npm_` value below this entropy is a placeholder (same bar as the sweep).
const PLACEHOLDER_ENTROPY: f64 = 3.0;

pub fn check(ctx: &mut FileCtx<'_>) {
    let docs = match ctx.yaml_docs() {
        Ok(docs) => docs,
        Err(error) => {
            ctx.parse_error(error);
            return;
        }
    };
    // A service that merges a shared `x-` block reports it once, at the block.
    let mut seen = HashSet::new();
    for doc in docs.iter() {
        for (name, service) in doc
            .root
            .get("services")
            .into_iter()
            .flat_map(Node::iter_map)
        {
            let service_name = name.as_str().unwrap_or("?");
            if let Some(build) = service.get("build") {
                if let Some(args) = build.get("args") {
                    build_args(ctx, &doc.root, build, args, service_name, &mut seen);
                }
            }
            if let Some(env) = service.get("environment") {
                runtime_env(ctx, env, service, service_name, &mut seen);
            }
            if let Some(files) = service.get("env_file") {
                env_files(ctx, files, service_name, &mut seen);
            }
        }
    }
}

/// Why a variable counts as an npm token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// Its name (`NPM_TOKEN`, `NODE_AUTH_TOKEN`, ...).
    Name,
    /// Its value is a literal `npm_` token.
    Literal,
    /// Its value reads a token variable (`TOKEN=${NPM_TOKEN}`).
    Reference,
}

/// One variable of a `build.args` or `environment` block, list or map form.
struct Var<'n> {
    name: String,
    /// The value as written; `None` for a key-only pass-through from the host environment.
    value: Option<String>,
    /// File span of the value (without quotes), when there is one.
    value_span: Option<Span>,
    /// The whole entry: the list item, or key through value.
    span: Span,
    /// The node holding the entry (list item or key), for line edits.
    anchor: &'n Node,
}

fn vars_of<'n>(text: &str, block: &'n Node) -> Vec<Var<'n>> {
    let mut out = Vec::new();
    match &block.kind {
        NodeKind::Sequence(items) => {
            for item in items.iter() {
                let Some(scalar) = item.as_scalar() else {
                    continue;
                };
                let text = scalar.value();
                let (name, value) = match text.split_once('=') {
                    Some((n, v)) => (n.trim(), Some((v, n.len() + 1))),
                    None => (text.trim(), None),
                };
                if name.is_empty() {
                    continue;
                }
                out.push(Var {
                    name: name.to_string(),
                    value: value.map(|(v, _)| v.to_string()),
                    value_span: value.map(|(v, at)| scalar.to_source(at..at + v.len())),
                    span: item.span(),
                    anchor: item,
                });
            }
        }
        NodeKind::Mapping(entries) => {
            for entry in entries.iter() {
                let Some(name) = entry.key.as_str() else {
                    continue;
                };
                let value = if entry.value.is_null() {
                    None
                } else {
                    entry.value.as_scalar()
                };
                // A key-only entry (`NPM_TOKEN:`) ends at its colon: its null value has an empty
                // span that need not sit on the key's line.
                let end = match value {
                    Some(_) => entry.value.span.end.max(entry.key.span.end),
                    None => after_colon(text, entry.key.span.end),
                };
                out.push(Var {
                    name: name.to_string(),
                    value: value.map(|s| s.value().to_string()),
                    value_span: value.map(|s| s.to_source(0..s.value().len())),
                    span: entry.key.span.start..end,
                    anchor: &entry.key,
                });
            }
        }
        NodeKind::Scalar(_) => {}
    }
    out
}

/// `offset` moved past a `:` that follows it (after blanks), for key-only entries.
fn after_colon(text: &str, offset: usize) -> usize {
    let rest = text.get(offset..).unwrap_or("");
    let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if rest.get(blanks..).is_some_and(|r| r.starts_with(':')) {
        offset + blanks + 1
    } else {
        offset
    }
}

/// Is `var` an npm token handed over, and why?
fn token_reason(ctx: &FileCtx<'_>, var: &Var<'_>) -> Option<Reason> {
    if ctx.options.is_token_var(&var.name) {
        return Some(Reason::Name);
    }
    let value = var.value.as_deref()?;
    if token::find_npm_tokens(value.as_bytes())
        .iter()
        .any(|t| t.checksum_valid)
    {
        return Some(Reason::Literal);
    }
    token::env_refs(value)
        .iter()
        .any(|r| ctx.options.is_token_var(&r.name) && !token::is_short_lived_var(&r.name))
        .then_some(Reason::Reference)
}

/// The host variable the secret should be read from: the one the value already reads, else the
/// variable's own name.
fn host_var(var: &Var<'_>) -> String {
    var.value
        .as_deref()
        .and_then(token::whole_env_ref)
        .map(|r| r.name)
        .unwrap_or_else(|| var.name.clone())
}

fn message_key(var: &Var<'_>, reason: Reason) -> Option<&'static str> {
    match (reason, &var.value) {
        (Reason::Literal, _) => Some("literal"),
        (Reason::Reference, _) => Some("reference"),
        (Reason::Name, None) => Some("pass-through"),
        (Reason::Name, Some(_)) => None,
    }
}

fn build_args(
    ctx: &mut FileCtx<'_>,
    root: &Node,
    build: &Node,
    args: &Node,
    service: &str,
    seen: &mut HashSet<(&'static str, usize, usize)>,
) {
    let vars = vars_of(ctx.text, args);
    let reasons: Vec<Option<Reason>> = vars.iter().map(|v| token_reason(ctx, v)).collect();
    // One plan per args block: every token arg of it moves to the same secret, so the
    // suggestions share their insertions (identical edits merge when fixes are applied
    // together) and, when nothing else is left, all replace the whole `args:` block alike.
    let plan = BlockPlan {
        only_tokens: reasons.iter().all(Option::is_some),
        host: vars
            .iter()
            .zip(&reasons)
            .find(|(_, r)| r.is_some())
            .map(|(v, _)| host_var(v))
            .unwrap_or_default(),
    };
    for (var, reason) in vars.iter().zip(reasons) {
        literal_value(ctx, var, seen);
        let Some(reason) = reason else {
            continue;
        };
        if !seen.insert((BUILD_ARG, var.span.start, var.span.end)) {
            continue;
        }
        let suggestion = build_secret_rewrite(ctx.text, root, build, args, &plan, var, service);
        let mut draft = Draft::at(BUILD_ARG, var.span.clone())
            .arg("name", var.name.clone())
            .arg("service", service)
            .arg("var", host_var(var))
            .identity(format!("{service}/build.args/{}", var.name))
            .suggestion(suggestion);
        if let Some(key) = message_key(var, reason) {
            draft = draft.message_key(key);
        }
        ctx.emit(draft);
    }
}

fn runtime_env(
    ctx: &mut FileCtx<'_>,
    env: &Node,
    service_node: &Node,
    service: &str,
    seen: &mut HashSet<(&'static str, usize, usize)>,
) {
    let vars = vars_of(ctx.text, env);
    let reasons: Vec<Option<Reason>> = vars.iter().map(|v| token_reason(ctx, v)).collect();
    let only_tokens = reasons.iter().all(Option::is_some);
    for (var, reason) in vars.iter().zip(reasons) {
        literal_value(ctx, var, seen);
        let Some(reason) = reason else {
            continue;
        };
        if !seen.insert((RUNTIME_ENV, var.span.start, var.span.end)) {
            continue;
        }
        let suggestion = runtime_removal(ctx.text, service_node, only_tokens, var);
        let mut draft = Draft::at(RUNTIME_ENV, var.span.clone())
            .arg("name", var.name.clone())
            .arg("service", service)
            .identity(format!("{service}/environment/{}", var.name))
            .suggestion(suggestion);
        if let Some(key) = message_key(var, reason) {
            draft = draft.message_key(key);
        }
        ctx.emit(draft);
    }
}

/// `hardcoded-token` for a literal credential written as the value of a token variable (or an
/// `npm_` token under any name). Reported here, with the compose rewrite, so the sweep skips it.
fn literal_value(
    ctx: &mut FileCtx<'_>,
    var: &Var<'_>,
    seen: &mut HashSet<(&'static str, usize, usize)>,
) {
    let (Some(value), Some(span)) = (var.value.as_deref(), var.value_span.clone()) else {
        return;
    };
    let value = value.trim();
    if value.is_empty() || value.contains('$') {
        return;
    }
    let named = ctx.options.is_token_var(&var.name);
    let (key, confidence) = match token::classify_literal(value) {
        LiteralKind::NpmToken => (Some("npm-token"), Confidence::High),
        LiteralKind::NpmTokenBadChecksum => {
            let body = value.get(4..).unwrap_or("");
            if token::shannon_entropy(body) < PLACEHOLDER_ENTROPY {
                return;
            }
            (Some("npm-token-bad-checksum"), Confidence::Low)
        }
        LiteralKind::Uuid if named => (None, Confidence::Medium),
        LiteralKind::Other if named && looks_like_secret(value) => (None, Confidence::Medium),
        LiteralKind::Uuid | LiteralKind::Other => return,
    };
    ctx.secret(span.clone(), SecretKind::Token);
    if !seen.insert((HARDCODED, span.start, span.end)) || ctx.reported(HARDCODED, &span) {
        return;
    }
    // No edit of its own: the compose rewrite of the same entry (build secret or removal)
    // takes the literal out, and two edits of one line would only clash.
    let suggestion = Suggestion::new(
        "Revoke the token: it stays in the repository history",
        Applicability::Manual,
    )
    .note("npm token revoke <token>   # by the token's owner")
    .note(format!(
        "the compose rewrite of `{}` removes the literal; a token still needed comes from the host environment, never the file",
        var.name
    ));
    let mut draft = Draft::at(HARDCODED, span)
        .confidence(confidence)
        .suggestion(suggestion)
        // An environment value names no registry (see `Credential::untied`).
        .credential(crate::credential::Credential::untied(value));
    if let Some(key) = key {
        draft = draft.message_key(key);
    }
    ctx.emit(draft);
}

/// A literal that could be a credential, not a placeholder or a switch.
fn looks_like_secret(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    value.len() >= 8
        && !value.contains(char::is_whitespace)
        && !value.contains(['<', '>'])
        && ![
            "changeme",
            "your",
            "xxx",
            "token",
            "example",
            "placeholder",
            "secret",
        ]
        .iter()
        .any(|p| lower.contains(p))
}

fn env_files(
    ctx: &mut FileCtx<'_>,
    files: &Node,
    service: &str,
    seen: &mut HashSet<(&'static str, usize, usize)>,
) {
    let entries: Vec<&Node> = match &files.kind {
        NodeKind::Scalar(_) => vec![files],
        NodeKind::Sequence(items) => items
            .iter()
            .filter_map(|i| {
                if i.is_mapping() {
                    i.get("path")
                } else {
                    Some(i)
                }
            })
            .collect(),
        NodeKind::Mapping(_) => Vec::new(),
    };
    let dir = ctx.fs_path.parent().unwrap_or(Path::new("."));
    for entry in entries {
        let Some(rel) = entry.as_str() else { continue };
        // An interpolated or absolute path is not something we can check precisely.
        if rel.is_empty() || rel.contains('$') || Path::new(rel).is_absolute() {
            continue;
        }
        let Some(var) = token_var_in_env_file(ctx, &dir.join(rel)) else {
            continue;
        };
        if !seen.insert((RUNTIME_ENV, entry.span.start, entry.span.end)) {
            continue;
        }
        let suggestion = Suggestion::new(
            format!("Remove {var} from {rel}: the running container does not need it"),
            Applicability::Manual,
        )
        .note(format!(
            "{rel}: delete the {var}= line (the image was built with its dependencies already installed)"
        ))
        .note(read_only_token("runtime-install"))
        .note("if the app really calls a private registry at run time, mount a read-only token as a compose secret file instead of the environment");
        ctx.emit(
            Draft::at(RUNTIME_ENV, entry.span())
                .message_key("env-file")
                .arg("name", var.clone())
                .arg("file", rel)
                .arg("service", service)
                .identity(format!("{service}/env_file/{rel}/{var}"))
                .suggestion(suggestion),
        );
    }
}

/// The first npm token variable set in an env file beside the compose file.
fn token_var_in_env_file(ctx: &FileCtx<'_>, path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_ENV_FILE {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        if line.starts_with('#') {
            return None;
        }
        let (name, value) = line.split_once('=')?;
        let name = name.trim();
        let value = value.trim().trim_matches(['"', '\'']);
        if value.is_empty() {
            return None;
        }
        let literal = token::find_npm_tokens(value.as_bytes())
            .iter()
            .any(|t| t.checksum_valid);
        (ctx.options.is_token_var(name) || literal).then(|| name.to_string())
    })
}

/// The `npm token create` line for the read-only granular token that replaces a stored one.
fn read_only_token(name: &str) -> String {
    format!("npm token create --name={name} --packages-and-scopes-permission=read-only --scopes=@your-scope --expires=90   # a read-only granular token, if one is still needed")
}

/// What the token args of one `build.args` block have in common.
struct BlockPlan {
    /// Every entry of the block is a token: the whole `args:` goes.
    only_tokens: bool,
    /// Host variable the shared secret reads (that of the block's first token arg).
    host: String,
}

/// The `build.secrets` rewrite for one build arg.
fn build_secret_rewrite(
    text: &str,
    root: &Node,
    build: &Node,
    args: &Node,
    plan: &BlockPlan,
    var: &Var<'_>,
    service: &str,
) -> Suggestion {
    let host = plan.host.as_str();
    let mut suggestion = Suggestion::new(
        format!(
            "Pass {} to the build as a secret, not a build argument",
            var.name
        ),
        Applicability::Unsafe,
    );
    // A merged entry lives in a shared block that other services may use too: no edit there.
    let merged = var.span.start < args.span.start || var.span.end > args.span.end;
    let edits = if merged {
        None
    } else {
        build_secret_edits(text, root, build, args, plan.only_tokens, var, host)
    };
    match edits {
        Some(edits) => {
            for (span, replacement) in edits {
                suggestion = suggestion.edit(span, replacement);
            }
        }
        None => {
            suggestion.applicability = Applicability::Manual;
            let place = if merged {
                format!("the shared block merged into services.{service}.build.args")
            } else {
                format!("services.{service}.build.args")
            };
            suggestion = suggestion.note(format!(
                "compose file: remove {} from {place}, add `secrets: [{SECRET_ID}]` under build, and a top-level `secrets: {{{SECRET_ID}: {{environment: {host}}}}}`",
                var.name
            ));
        }
    }
    suggestion
        .note(format!(
            "Dockerfile: drop `ARG {}` and any step writing it to .npmrc; install with `RUN --mount=type=secret,id={SECRET_ID},env={} npm ci` (first line `# syntax=docker/dockerfile:1`: `env=` needs Dockerfile frontend 1.10+)",
            var.name, var.name
        ))
        .note(format!(
            "build.secrets needs Docker Compose 2.5+, a secret read from `environment:` 2.6+; `docker compose build` then reads {host} from the environment"
        ))
        .note(read_only_token("docker-build"))
}

/// The removal of one runtime variable.
fn runtime_removal(text: &str, service: &Node, only_tokens: bool, var: &Var<'_>) -> Suggestion {
    let mut suggestion = Suggestion::new(
        format!("Remove {} from the container's environment", var.name),
        Applicability::Unsafe,
    );
    // With nothing but tokens in it, the whole `environment:` goes (an empty one is invalid).
    let cut = if only_tokens {
        service
            .get_entry("environment")
            .and_then(|e| entry_lines(text, &e.key, &e.value))
    } else {
        item_lines(text, var)
    };
    match cut {
        Some(lines) => suggestion = suggestion.edit(lines, ""),
        None => suggestion.applicability = Applicability::Manual,
    }
    suggestion
        .note("the running app rarely needs a registry token: dependencies are installed when the image is built (with a build secret)")
        .note("if the app really installs from a private registry at run time, give it a read-only granular token as a compose secret file, not an environment variable")
        .note(read_only_token("runtime-install"))
}

/// Edits that move `var` from `build.args` to `build.secrets` and declare the top-level secret.
/// `None` when the layout is not plain block style (flow mappings, odd indentation).
fn build_secret_edits(
    text: &str,
    root: &Node,
    build: &Node,
    args: &Node,
    only_tokens: bool,
    var: &Var<'_>,
    host: &str,
) -> Option<Vec<(Span, String)>> {
    let args_entry = build.get_entry("args")?;
    let args_lines = entry_lines(text, &args_entry.key, &args_entry.value)?;
    let args_indent = column(text, args_entry.key.span.start);
    let unit = child_offset(text, args_entry.key.span.start, args).unwrap_or(2);
    let pad = " ".repeat(args_indent);
    let item_pad = " ".repeat(args_indent + unit);

    let mut edits: Vec<(Span, String)> = Vec::new();
    let existing = build.get_entry("secrets");
    let already = existing.is_some_and(|e| {
        e.value.iter_seq().any(|s| {
            s.as_str() == Some(SECRET_ID)
                || s.get("source").and_then(Node::as_str) == Some(SECRET_ID)
        })
    });
    let new_block = format!("{pad}secrets:\n{item_pad}- {SECRET_ID}\n");
    match existing {
        None => {
            if only_tokens {
                edits.push((args_lines, new_block));
            } else {
                edits.push((item_lines(text, var)?, String::new()));
                edits.push((args_lines.end..args_lines.end, new_block));
            }
        }
        Some(secrets) => {
            let removal = if only_tokens {
                args_lines
            } else {
                item_lines(text, var)?
            };
            edits.push((removal, String::new()));
            if !already {
                let lines = entry_lines(text, &secrets.key, &secrets.value)?;
                let first = secrets.value.iter_seq().next()?;
                let indent = column(text, first.span.start).checked_sub(2)?;
                edits.push((
                    lines.end..lines.end,
                    format!("{}- {SECRET_ID}\n", " ".repeat(indent)),
                ));
            }
        }
    }
    edits.push(top_level_secret(text, root, host)?);
    let mut edits = tidy(edits);
    // New lines follow the file's line endings.
    if text.contains("\r\n") {
        for (_, with) in &mut edits {
            *with = with.replace('\n', "\r\n");
        }
    }
    Some(edits)
}

/// The top-level `secrets: npm_token: environment: HOST` declaration, appended to an existing
/// block or at the end of the file; an empty edit when it is already declared.
fn top_level_secret(text: &str, root: &Node, host: &str) -> Option<(Span, String)> {
    let unit = root
        .get_entry("services")
        .and_then(|e| child_offset(text, e.key.span.start, &e.value))
        .unwrap_or(2);
    let u = " ".repeat(unit);
    match root.get_entry("secrets") {
        Some(existing) => {
            if existing.value.get(SECRET_ID).is_some() {
                return Some((text.len()..text.len(), String::new()));
            }
            let lines = entry_lines(text, &existing.key, &existing.value)?;
            let indent = existing
                .value
                .as_mapping()?
                .first()
                .map(|e| column(text, e.key.span.start))?;
            let pad = " ".repeat(indent);
            Some((
                lines.end..lines.end,
                format!("{pad}{SECRET_ID}:\n{pad}{u}environment: {host}\n"),
            ))
        }
        None => {
            let lead = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            Some((
                text.len()..text.len(),
                format!("{lead}secrets:\n{u}{SECRET_ID}:\n{u}{u}environment: {host}\n"),
            ))
        }
    }
}

/// Sorts edits and drops empty no-ops. Touching edits stay separate so that the insertions
/// several suggestions share remain identical (the fix engine merges identical edits).
fn tidy(mut edits: Vec<(Span, String)>) -> Vec<(Span, String)> {
    edits.retain(|(span, with)| !(span.is_empty() && with.is_empty()));
    edits.sort_by_key(|(span, _)| (span.start, span.end));
    edits
}

/// Whole lines of a block-style mapping entry (key line through the value's last line, newline
/// included), or `None` when the key does not start its line or text follows the value.
fn entry_lines(text: &str, key: &Node, value: &Node) -> Option<Span> {
    let start = line_start(text, key.span.start);
    if !text.get(start..key.span.start)?.trim().is_empty() {
        return None;
    }
    let end = value.span.end.max(key.span.end);
    Some(start..line_end_after(text, end)?)
}

/// Whole lines of one entry of a block list (`- NAME=...`) or block mapping (`NAME: ...`).
fn item_lines(text: &str, var: &Var<'_>) -> Option<Span> {
    let start = line_start(text, var.span.start);
    let before = text.get(start..var.anchor.span.start)?.trim();
    if !(before.is_empty() || before == "-") {
        return None;
    }
    Some(start..line_end_after(text, var.span.end)?)
}

/// The offset after the newline ending the line that holds `offset`, if only blanks or a
/// comment follow `offset` on it.
fn line_end_after(text: &str, offset: usize) -> Option<usize> {
    let rest = text.get(offset..)?;
    let line_len = rest.find('\n').map(|n| n + 1).unwrap_or(rest.len());
    let tail = rest.get(..line_len)?.trim();
    (tail.is_empty() || tail.starts_with('#')).then_some(offset + line_len)
}

fn line_start(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .and_then(|s| s.rfind('\n'))
        .map(|n| n + 1)
        .unwrap_or(0)
}

fn column(text: &str, offset: usize) -> usize {
    offset - line_start(text, offset)
}

/// How much deeper than `key_start` the first child of `value` is indented (the file's indent
/// unit, or the list indent).
fn child_offset(text: &str, key_start: usize, value: &Node) -> Option<usize> {
    let first = match &value.kind {
        NodeKind::Sequence(items) => {
            // The dash sits before the item: measure the dash's column.
            let item = items.first()?;
            let start = line_start(text, item.span.start);
            let dash = text.get(start..item.span.start)?.find('-')?;
            return dash.checked_sub(column(text, key_start)).filter(|d| *d > 0);
        }
        NodeKind::Mapping(entries) => entries.first()?.key.span.start,
        NodeKind::Scalar(_) => return None,
    };
    column(text, first)
        .checked_sub(column(text, key_start))
        .filter(|d| *d > 0)
}
