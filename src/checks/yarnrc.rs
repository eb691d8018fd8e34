//! Yarn v1 `.yarnrc` checks: literal tokens and passwords in auth settings and registry URLs.
//!
//! Yarn v1 does not expand `${…}` in `.yarnrc` (it reads the file with its lockfile parser and
//! no environment replacement, unlike `.npmrc`), so the rewrite moves the credential to the
//! project `.npmrc`, which Yarn v1 also reads, as a reference.

use crate::checks::registry_auth::{
    self as auth, line_with_terminator, nerf_dart, token_verdict, url_host,
};
use crate::checks::FileCtx;
use crate::finding::{Applicability, Draft, Suggestion};
use crate::parse::bunfig::url_userinfo;
use crate::parse::npmrc::Scope;
use crate::parse::yarnrc::{self, Entry};
use crate::source::Span;
use crate::token::{self, SecretKind};

/// Yarn v1's default registry.
const YARN_REGISTRY: &str = "registry.yarnpkg.com";

pub fn check(ctx: &mut FileCtx<'_>) {
    let rc = yarnrc::parse(ctx.text);
    let default_host = rc
        .entries()
        .filter(|e| e.parents.is_empty() && e.scope == Scope::Unscoped && e.name == "registry")
        .filter_map(|e| e.value.as_ref().and_then(|v| url_host(&v.text)))
        .last()
        .unwrap_or_else(|| YARN_REGISTRY.to_owned());
    for entry in rc.entries() {
        let Some(value) = &entry.value else { continue };
        let auth_key = matches!(
            entry.name.to_ascii_lowercase().as_str(),
            "_authtoken" | "_auth" | "_password"
        );
        if auth_key && not_expanded(ctx, entry, value, &default_host) {
            continue;
        }
        if value.text.contains('$') {
            continue;
        }
        let host = match &entry.scope {
            Scope::Registry(r) => Some(r.host.clone()),
            Scope::Unscoped => Some(default_host.clone()),
            Scope::Package { .. } => None,
        };
        let host = host.as_deref();
        match entry.name.to_ascii_lowercase().as_str() {
            "_authtoken" => {
                let registry = verify_registry(&rc, entry);
                literal_token(ctx, entry, host, &default_host, registry)
            }
            "_auth" | "_password" if !auth::is_placeholder(&value.text) => {
                literal_password(ctx, entry, host, &default_host)
            }
            "registry" => url_credentials(ctx, entry),
            _ => {}
        }
    }
}

/// A credential placeholder in `.yarnrc`: `$NAME`, `${env.NAME}`, `%NAME%`, `$env:NAME`. Yarn 1
/// parses `.yarnrc` without any environment replacement (yarnpkg/yarn
/// `src/registries/yarn-registry.js` `loadConfig`), so the text itself is sent. Reported as
/// `env-not-expanded`, with the move to `.npmrc` (which Yarn 1 reads and expands `${NAME}` in);
/// true when reported.
fn not_expanded(
    ctx: &mut FileCtx<'_>,
    entry: &Entry,
    value: &yarnrc::Token,
    default_host: &str,
) -> bool {
    let foreign = token::foreign_refs(&value.text);
    let bare = token::env_refs(&value.text)
        .into_iter()
        .filter(|r| r.syntax == token::EnvSyntax::Bare)
        .map(|r| (r.span, r.name));
    let refs: Vec<(Span, String)> = foreign
        .into_iter()
        .map(|r| (r.span, r.name))
        .chain(bare)
        .collect();
    let Some((span, name)) = refs.first() else {
        return false;
    };
    let written = value.text.get(span.clone()).unwrap_or("").to_owned();
    let braced = format!("${{{name}}}");
    let line = npmrc_line(entry, default_host, &entry.name, name);
    let s = move_to_npmrc(
        ctx,
        entry,
        &line,
        format!("Move the setting to .npmrc as {braced}"),
    );
    ctx.emit(
        Draft::at("env-not-expanded", value.content.clone())
            .message_key("yarnrc")
            .arg("setting", entry.key.text.clone())
            .arg("written", written)
            .arg("braced", braced)
            .suggestion(s),
    );
    true
}

/// The `.npmrc` line that replaces a credential in `.yarnrc`.
fn npmrc_line(entry: &Entry, default_host: &str, setting: &str, var: &str) -> String {
    let prefix = match &entry.scope {
        Scope::Registry(r) => r.prefix.clone(),
        _ => format!("//{default_host}/"),
    };
    format!("{prefix}:{setting}=${{{var}}}")
}

fn move_to_npmrc(ctx: &FileCtx<'_>, entry: &Entry, line: &str, title: String) -> Suggestion {
    Suggestion::new(title, Applicability::Manual)
        .edit(line_with_terminator(ctx.text, &entry.line), "")
        .note(format!(
            "add to the project .npmrc (Yarn v1 reads it and expands ${{…}} there): {line}"
        ))
}

/// The base URL `--verify` asks about a token of this entry: its key's registry, else the
/// file's `registry`, else Yarn's. None for a package-scoped key (no registry to tell).
fn verify_registry(rc: &yarnrc::Yarnrc, entry: &Entry) -> Option<String> {
    let urls: Vec<String> = rc
        .entries()
        .filter(|e| e.name == "registry")
        .filter_map(|e| e.value.as_ref().map(|v| v.text.clone()))
        .collect();
    match &entry.scope {
        Scope::Registry(r) => {
            crate::verify::registry_for_nerf(&r.prefix, r.scheme.as_deref(), &urls)
        }
        Scope::Unscoped => {
            let default = rc
                .entries()
                .filter(|e| e.parents.is_empty() && e.scope == Scope::Unscoped)
                .filter(|e| e.name == "registry")
                .filter_map(|e| e.value.as_ref())
                .last();
            match default {
                Some(v) => crate::verify::registry_url(&v.text),
                None => Some(format!("https://{YARN_REGISTRY}/")),
            }
        }
        Scope::Package { .. } => None,
    }
}

fn literal_token(
    ctx: &mut FileCtx<'_>,
    entry: &Entry,
    host: Option<&str>,
    default_host: &str,
    registry: Option<String>,
) {
    let Some(value) = &entry.value else { return };
    let Some(verdict) = token_verdict(&value.text, host) else {
        return;
    };
    ctx.secret(value.content.clone(), SecretKind::Token);
    let var = auth::token_var_for(host);
    let line = npmrc_line(entry, default_host, "_authToken", &var);
    let mut s = move_to_npmrc(
        ctx,
        entry,
        &line,
        format!("Move the token to .npmrc as ${{{var}}}"),
    );
    for n in auth::replacement_notes(host, &var, verdict.live_npm_token) {
        s = s.note(n);
    }
    let draft = verdict
        .draft(value.content.clone())
        .arg("setting", entry.key.text.clone())
        .arg("registry", host.unwrap_or(YARN_REGISTRY).to_owned())
        .suggestion(s)
        .credential(crate::credential::Credential::new(&value.text, registry));
    ctx.emit(draft);
}

fn literal_password(ctx: &mut FileCtx<'_>, entry: &Entry, host: Option<&str>, default_host: &str) {
    let Some(value) = &entry.value else { return };
    ctx.secret(value.content.clone(), SecretKind::Password);
    let is_auth = entry.name.eq_ignore_ascii_case("_auth");
    let var = auth::token_var_for(host);
    let line = npmrc_line(entry, default_host, "_authToken", &var);
    let mut s = move_to_npmrc(
        ctx,
        entry,
        &line,
        format!("Authenticate with a token from {var} in .npmrc instead of a password"),
    )
    .note(
        "change the password of this account: it has been readable by everyone with the repository",
    );
    for n in auth::replacement_notes(host, &var, false) {
        s = s.note(n);
    }
    ctx.emit(
        Draft::at("basic-auth-credential", value.content.clone())
            .message_key(if is_auth {
                "npmrc-auth"
            } else {
                "npmrc-password"
            })
            .arg("setting", entry.key.text.clone())
            .arg("registry", host.unwrap_or(YARN_REGISTRY).to_owned())
            .suggestion(s),
    );
}

fn url_credentials(ctx: &mut FileCtx<'_>, entry: &Entry) {
    let Some(value) = &entry.value else { return };
    let Some((user, Some(pass))) = url_userinfo(&value.text) else {
        return;
    };
    if pass.is_empty() {
        return;
    }
    let pass_span = value
        .file_span(pass.clone())
        .unwrap_or(value.content.clone());
    ctx.secret(pass_span.clone(), SecretKind::Password);
    let host = url_host(&value.text);
    let var = auth::token_var_for(host.as_deref());
    let nerf = nerf_dart(&value.text).unwrap_or_default();
    let mut s = Suggestion::new(
        "Take the credentials out of the URL; authenticate with a token in .npmrc",
        Applicability::Manual,
    );
    if let Some(userinfo) = value.file_span(user.start..pass.end + 1) {
        s = s.edit(userinfo, "");
    }
    s = s
        .note(format!(
            "add to the project .npmrc (Yarn v1 reads it and expands ${{…}} there): {nerf}:_authToken=${{{var}}}"
        ))
        .note("change the password of this account: it has been readable by everyone with the repository");
    ctx.emit(
        Draft::at("basic-auth-credential", pass_span)
            .message_key("url-userinfo")
            .arg("setting", entry.key.text.clone())
            .arg("registry", host.unwrap_or_default())
            .suggestion(s),
    );
}
