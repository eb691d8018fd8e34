//! `.npmrc` checks: literal tokens and passwords in auth settings, auth settings npm 9+ refuses
//! (unscoped) or ignores (`always-auth`), references npm or pnpm will not expand, and the
//! inventory of tokens read from the environment.
//!
//! Everything is judged the way npm reads the file (see [`crate::parse::npmrc`]): a setting
//! inside a `[section]` is nested under that section by npm and never used for auth, so only
//! the literal-credential rules look at it.

use crate::checks::registry_auth::{
    self as auth, is_npmjs_host, line_with_terminator, nerf_dart, token_verdict, url_host,
    ProjectContext,
};
use crate::checks::FileCtx;
use crate::finding::{Applicability, Confidence, Draft, Suggestion};
use crate::parse::bunfig::url_userinfo;
use crate::parse::npmrc::{self, bare_dollar_refs, env_refs, Entry, Npmrc, Scope};
use crate::source::Span;
use crate::token::{is_short_lived_var, SecretKind};

/// Settings npm ≥ 9 refuses unless they are scoped to a registry (`@npmcli/config` validate()).
const MUST_BE_SCOPED: [&str; 4] = ["_auth", "_authToken", "username", "_password"];

/// Credential settings pnpm 11.5.3+ will not expand `${…}` in, in a project `.npmrc`.
const PNPM_CREDENTIALS: [&str; 7] = [
    "_authToken",
    "_auth",
    "_password",
    "username",
    "tokenHelper",
    "cert",
    "key",
];

/// Settings whose value is a registry or proxy URL.
const URL_SETTINGS: [&str; 4] = ["registry", "proxy", "https-proxy", "http-proxy"];

/// The registry unscoped settings apply to: the file's `registry=`, else npm's default.
struct DefaultRegistry {
    nerf: String,
    host: String,
}

fn default_registry(rc: &Npmrc) -> DefaultRegistry {
    let from_file = rc
        .entries()
        .filter(|e| e.section.is_none() && e.key.scope == Scope::Unscoped)
        .filter(|e| e.key.name == "registry")
        .filter_map(|e| e.value.as_ref())
        .filter_map(|v| Some((nerf_dart(&v.text)?, url_host(&v.text)?)))
        .last();
    match from_file {
        Some((nerf, host)) => DefaultRegistry { nerf, host },
        None => DefaultRegistry {
            nerf: "//registry.npmjs.org/".to_owned(),
            host: "registry.npmjs.org".to_owned(),
        },
    }
}

/// How a value refers to the environment, as npm sees it.
struct ValueRefs {
    /// `${NAME}` / `${NAME?}` npm expands (not backslash-escaped).
    braced: Vec<npmrc::EnvRef>,
    /// `${NAME:-x}`/`${NAME-x}`: npm looks up a variable literally named `NAME:-x`.
    defaulted: Vec<npmrc::EnvRef>,
    /// `$NAME`: npm sends it as text.
    bare: Vec<(Span, String)>,
}

impl ValueRefs {
    fn of(text: &str) -> ValueRefs {
        let mut braced = Vec::new();
        let mut defaulted = Vec::new();
        for r in env_refs(text).into_iter().filter(|r| !r.escaped) {
            if is_env_name(&r.name) {
                braced.push(r);
            } else if default_syntax_name(&r.name).is_some() {
                defaulted.push(r);
            }
        }
        ValueRefs {
            braced,
            defaulted,
            bare: bare_dollar_refs(text),
        }
    }

    fn is_literal(&self) -> bool {
        self.braced.is_empty() && self.defaulted.is_empty() && self.bare.is_empty()
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME` of `NAME:-fallback` / `NAME-fallback`.
fn default_syntax_name(name: &str) -> Option<&str> {
    let end = name.find('-')?;
    let var = name.get(..end)?;
    let var = var.strip_suffix(':').unwrap_or(var);
    is_env_name(var).then_some(var)
}

pub fn check(ctx: &mut FileCtx<'_>) {
    let rc = if ctx.bom {
        npmrc::parse_after_bom(ctx.text)
    } else {
        npmrc::parse(ctx.text)
    };
    let registry = default_registry(&rc);
    // The project matters only to two rules; look at the disk only when one may fire.
    let mut project: Option<ProjectContext> = None;
    let user_level = ctx.path.starts_with("~/");
    for entry in rc.entries() {
        let host = entry_host(entry, &registry);
        let refs = entry.value.as_ref().map(|v| ValueRefs::of(&v.text));
        let name = entry.key.name.as_str();
        let lname = name.to_ascii_lowercase();
        let literal = refs.as_ref().is_some_and(ValueRefs::is_literal);

        match lname.as_str() {
            "_authtoken" if literal => literal_token(ctx, &rc, entry, host.as_deref()),
            "_auth" | "_password" if literal => {
                literal_password(ctx, &rc, entry, &registry, host.as_deref())
            }
            _ => {}
        }
        if name == "registry" {
            url_credentials(ctx, entry, &registry);
        }
        if entry.section.is_some() {
            continue;
        }
        unscoped(ctx, entry, &registry);
        // Only where the setting reads as if it did something: `always-auth=false` (npm's old
        // default) is as much a no-op to Yarn v1 as to npm, and an empty `email=` says nothing.
        let value = entry
            .value
            .as_ref()
            .map(|v| v.text.trim().trim_matches(['"', '\'']));
        let says_something = !matches!(value, None | Some("" | "false" | "0"));
        if says_something
            && (name == "always-auth" || (name == "email" && entry.key.registry().is_some()))
        {
            let p = project.get_or_insert_with(|| ProjectContext::for_config(ctx.fs_path));
            obsolete(ctx, entry, p.yarn_v1);
        }
        if let Some(refs) = &refs {
            let auth_like = MUST_BE_SCOPED.iter().any(|s| s.eq_ignore_ascii_case(name))
                || URL_SETTINGS.contains(&name);
            if auth_like {
                not_expanded(ctx, entry, refs);
            }
            if matches!(lname.as_str(), "_authtoken" | "_auth" | "_password") {
                inventory(ctx, entry, refs, host.as_deref());
            }
        }
        if !user_level && pnpm_sensitive(entry) {
            let p = project.get_or_insert_with(|| ProjectContext::for_config(ctx.fs_path));
            if p.pnpm {
                pnpm_ignored(ctx, entry, p);
            }
        }
    }
}

/// The registry host an entry's credential is for (None when the key names no registry).
fn entry_host(entry: &Entry, registry: &DefaultRegistry) -> Option<String> {
    match &entry.key.scope {
        Scope::Registry(r) => Some(r.host.clone()),
        Scope::Unscoped => Some(registry.host.clone()),
        Scope::Package { .. } => None,
    }
}

fn registry_label(host: Option<&str>) -> String {
    host.unwrap_or("registry.npmjs.org").to_owned()
}

/// The base URL of the registry an `_authToken` entry is for, as `--verify` contacts it: the
/// key's own nerf dart (with the scheme of a registry URL of this file for it), else the file's
/// `registry=`, else npm's. None when the registry cannot be told safely.
fn verify_registry(rc: &Npmrc, entry: &Entry) -> Option<String> {
    let urls: Vec<String> = rc
        .entries()
        .filter(|e| e.key.name == "registry")
        .filter_map(|e| e.value.as_ref().map(|v| v.text.clone()))
        .collect();
    match &entry.key.scope {
        Scope::Registry(r) => {
            crate::verify::registry_for_nerf(&r.prefix, r.scheme.as_deref(), &urls)
        }
        // `@scope:_authToken` names no registry npm would send it to: nothing is sent.
        Scope::Package { .. } => None,
        Scope::Unscoped => {
            let default = rc
                .entries()
                .filter(|e| e.section.is_none() && e.key.scope == Scope::Unscoped)
                .filter(|e| e.key.name == "registry")
                .filter_map(|e| e.value.as_ref())
                .last();
            match default {
                Some(v) => crate::verify::registry_url(&v.text),
                None => Some(crate::credential::DEFAULT_REGISTRY.to_owned()),
            }
        }
    }
}

fn literal_token(ctx: &mut FileCtx<'_>, rc: &Npmrc, entry: &Entry, host: Option<&str>) {
    let Some(value) = &entry.value else { return };
    let Some(verdict) = token_verdict(&value.text, host) else {
        return;
    };
    ctx.secret(value.content.clone(), SecretKind::Token);
    let var = auth::token_var_for(host);
    let suggestion = auth::replace_token_suggestion(
        value.content.clone(),
        &format!("${{{var}}}"),
        host,
        &var,
        verdict.live_npm_token,
    );
    let draft = verdict
        .draft(value.content.clone())
        .arg("setting", entry.key.text.clone())
        .arg("registry", registry_label(host))
        .suggestion(suggestion)
        .credential(crate::credential::Credential::new(
            &value.text,
            verify_registry(rc, entry),
        ));
    ctx.emit(draft);
}

/// `_auth` (base64 `user:password`) or `_password` (base64 password) written as a literal.
fn literal_password(
    ctx: &mut FileCtx<'_>,
    rc: &Npmrc,
    entry: &Entry,
    registry: &DefaultRegistry,
    host: Option<&str>,
) {
    let Some(value) = &entry.value else { return };
    if auth::is_placeholder(&value.text) {
        return;
    }
    ctx.secret(value.content.clone(), SecretKind::Password);
    let is_auth = entry.key.name.eq_ignore_ascii_case("_auth");
    let prefix = match entry.key.registry() {
        Some(r) => r.prefix.clone(),
        None => registry.nerf.clone(),
    };
    let npmjs = host.is_none_or(is_npmjs_host);
    let suggestion = if npmjs {
        // npm's registry issues tokens; a password in a config file is never the way there.
        let var = auth::token_var_for(host);
        let mut s = Suggestion::new(
            format!("Authenticate with a granular token from {var} instead of a password"),
            Applicability::Manual,
        )
        .edit(
            entry.line.clone(),
            format!("{prefix}:_authToken=${{{var}}}"),
        );
        if !is_auth {
            // The matching `username` line goes with the password.
            for other in rc.entries().filter(|e| {
                e.key.name == "username"
                    && e.section == entry.section
                    && e.key.registry().map(|r| &r.prefix)
                        == entry.key.registry().map(|r| &r.prefix)
            }) {
                s = s.edit(line_with_terminator(ctx.text, &other.line), "");
            }
        }
        s = s.note("change the password of this account: it has been readable by everyone with the repository");
        for n in auth::replacement_notes(host, &var, false) {
            s = s.note(n);
        }
        s
    } else {
        let var = password_var_for(host, is_auth);
        let mut s = Suggestion::new(
            format!("Read the credential from the environment variable {var}"),
            Applicability::Unsafe,
        )
        .edit(value.content.clone(), format!("${{{var}}}"));
        s = s.note(format!(
            "change the password in {}, then store {} as a CI secret",
            registry_label(host),
            if is_auth {
                format!("base64(\"user:password\") in {var}")
            } else {
                format!("base64(password) in {var}")
            }
        ));
        s.note("if the registry issues tokens, prefer `_authToken` with a token over a password")
    };
    ctx.emit(
        Draft::at("basic-auth-credential", value.content.clone())
            .message_key(if is_auth {
                "npmrc-auth"
            } else {
                "npmrc-password"
            })
            .arg("setting", entry.key.text.clone())
            .arg("registry", registry_label(host))
            .suggestion(suggestion),
    );
}

/// `NPM_AUTH`/`NPM_PASSWORD`, prefixed with the registry's name like token variables.
fn password_var_for(host: Option<&str>, is_auth: bool) -> String {
    let token_var = auth::token_var_for(host);
    let base = token_var.strip_suffix("_TOKEN").unwrap_or(&token_var);
    format!("{base}_{}", if is_auth { "AUTH" } else { "PASSWORD" })
}

/// `registry=https://user:password@host/`: basic auth inside the URL.
fn url_credentials(ctx: &mut FileCtx<'_>, entry: &Entry, registry: &DefaultRegistry) {
    let Some(value) = &entry.value else { return };
    let Some((user, Some(pass))) = url_userinfo(&value.text) else {
        return;
    };
    let password = value.text.get(pass.clone()).unwrap_or("");
    if password.is_empty() || password.contains('$') {
        return;
    }
    let pass_span = value
        .file_span(pass.clone())
        .unwrap_or(value.content.clone());
    ctx.secret(pass_span.clone(), SecretKind::Password);
    let host = url_host(&value.text);
    let var = auth::token_var_for(host.as_deref());
    let nerf = nerf_dart(&value.text).unwrap_or_else(|| registry.nerf.clone());
    let mut s = Suggestion::new(
        "Take the credentials out of the URL; authenticate with a token from the environment",
        Applicability::Manual,
    );
    // Remove `user:password@` and add the scoped token line after this one.
    if let Some(userinfo) = value.file_span(user.start..pass.end + 1) {
        s = s.edit(userinfo, "");
    }
    s = s
        .edit(
            entry.line.end..entry.line.end,
            format!("\n{nerf}:_authToken=${{{var}}}"),
        )
        .note("change the password of this account: it has been readable by everyone with the repository");
    for n in auth::replacement_notes(host.as_deref(), &var, false) {
        s = s.note(n);
    }
    ctx.emit(
        Draft::at("basic-auth-credential", pass_span)
            .message_key("url-userinfo")
            .arg("setting", entry.key.text.clone())
            .arg("registry", host.unwrap_or_else(|| registry.host.clone()))
            .suggestion(s),
    );
}

/// An auth setting npm 9+ refuses because no registry scopes it, or one written with a URL
/// scheme that npm never looks up.
fn unscoped(ctx: &mut FileCtx<'_>, entry: &Entry, registry: &DefaultRegistry) {
    let name = entry.key.name.as_str();
    // npm reads neither key (its keys are case-sensitive), yet validate() refuses to run while
    // either is set, and `npm config fix` deletes them; found by the differential test.
    if matches!(entry.key.scope, Scope::Unscoped) && matches!(name, "_authtoken" | "-authtoken") {
        let scoped = format!("{}:_authToken", registry.nerf);
        let s = Suggestion::new(
            format!("Rename to {scoped}"),
            // Makes npm send a credential it ignored so far: the user decides.
            Applicability::Unsafe,
        )
        .edit(entry.key.content.clone(), scoped.clone())
        .note("`npm config fix` would delete the line instead");
        ctx.emit(
            Draft::at("unscoped-auth", entry.key.raw.clone())
                .message_key("misspelled")
                .arg("setting", name.to_owned())
                .arg("scoped", scoped)
                .suggestion(s),
        );
        return;
    }
    if !MUST_BE_SCOPED.contains(&name) {
        return;
    }
    match &entry.key.scope {
        Scope::Unscoped => {
            let scoped = format!("{}:{name}", registry.nerf);
            let s = Suggestion::new(
                format!("Scope the setting to {}", registry.nerf),
                Applicability::Safe,
            )
            .edit(entry.key.content.clone(), scoped.clone())
            .note(
                "this is the rewrite `npm config fix` makes; Yarn v1 reads the scoped key as well",
            );
            ctx.emit(
                Draft::at("unscoped-auth", entry.key.raw.clone())
                    .arg("setting", name.to_owned())
                    .arg("scoped", scoped)
                    .suggestion(s),
            );
        }
        Scope::Registry(r) => {
            let Some(scheme) = &r.scheme else { return };
            let mut s =
                Suggestion::new(format!("Drop `{scheme}` from the key"), Applicability::Safe);
            match &r.prefix_span {
                Some(p) => s = s.edit(p.start..p.start + scheme.len(), ""),
                None => s.applicability = Applicability::Manual,
            }
            ctx.emit(
                Draft::at("unscoped-auth", entry.key.raw.clone())
                    .message_key("scheme")
                    .arg("key", entry.key.text.clone())
                    .arg("scheme", scheme.clone())
                    .suggestion(s),
            );
        }
        Scope::Package { .. } => {}
    }
}

/// `always-auth` (removed in npm 7) and per-registry `email` (no longer read per registry).
fn obsolete(ctx: &mut FileCtx<'_>, entry: &Entry, yarn_v1: bool) {
    let is_always_auth = entry.key.name == "always-auth";
    let delete = line_with_terminator(ctx.text, &entry.line);
    let (key, applicability) = if !is_always_auth {
        ("scoped-email", Applicability::Safe)
    } else if yarn_v1 {
        // Yarn v1 still sends credentials to a registry only with `always-auth` when the
        // registry's host differs from the token's; removing it there changes what Yarn does.
        ("always-auth-yarn-v1", Applicability::Unsafe)
    } else {
        ("always-auth", Applicability::Safe)
    };
    let s = Suggestion::new("Delete the line", applicability).edit(delete, "");
    ctx.emit(
        Draft::at("obsolete-auth-config", entry.key.raw.clone())
            .message_key(key)
            .arg("key", entry.key.text.clone())
            .suggestion(s),
    );
}

/// `$NAME` (sent as text by npm) and `${NAME:-x}` (npm looks up a variable of that whole name).
fn not_expanded(ctx: &mut FileCtx<'_>, entry: &Entry, refs: &ValueRefs) {
    let Some(value) = &entry.value else { return };
    let mut edits: Vec<(Span, String)> = Vec::new();
    let mut shown: Option<(String, String)> = None;
    for (range, name) in &refs.bare {
        let written = value.text.get(range.clone()).unwrap_or("").to_owned();
        let braced = format!("${{{name}}}");
        if let Some(span) = value.file_span(range.clone()) {
            edits.push((span, braced.clone()));
        }
        shown.get_or_insert((written, braced));
    }
    let bare = shown.is_some();
    for r in &refs.defaulted {
        let Some(var) = default_syntax_name(&r.name) else {
            continue;
        };
        let written = value.text.get(r.range.clone()).unwrap_or("").to_owned();
        let braced = format!("${{{var}}}");
        if let Some(span) = value.file_span(r.range.clone()) {
            edits.push((span, braced.clone()));
        }
        shown.get_or_insert((written, braced));
    }
    let Some((written, braced)) = shown else {
        return;
    };
    let mut s = Suggestion::new(
        format!("Write the reference as {braced}"),
        Applicability::Safe,
    );
    if edits.is_empty() {
        s.applicability = Applicability::Manual;
    }
    for (span, with) in edits {
        s = s.edit(span, with);
    }
    ctx.emit(
        Draft::at("env-not-expanded", value.content.clone())
            .message_key(if bare { "bare" } else { "default-syntax" })
            .arg("setting", entry.key.text.clone())
            .arg("written", written)
            .arg("braced", braced)
            .suggestion(s),
    );
}

/// Does pnpm 11.5.3+ refuse `${…}` in this entry of a project `.npmrc`?
fn pnpm_sensitive(entry: &Entry) -> bool {
    let has_ref = |t: &str| env_refs(t).iter().any(|r| !r.escaped);
    let in_key = has_ref(&entry.key.text);
    let in_value = entry.value.as_ref().is_some_and(|v| has_ref(&v.text));
    if !in_key && !in_value {
        return false;
    }
    entry.key.text.starts_with("//")
        || PNPM_CREDENTIALS.contains(&entry.key.name.as_str())
        || (URL_SETTINGS.contains(&entry.key.name.as_str()) && in_value)
}

fn pnpm_ignored(ctx: &mut FileCtx<'_>, entry: &Entry, project: &ProjectContext) {
    let (key, confidence) = match project.pnpm_ignores_env_credentials() {
        Some(false) => return,
        Some(true) => ("pnpm", Confidence::High),
        None => ("pnpm-unknown-version", Confidence::Medium),
    };
    let span = entry
        .value
        .as_ref()
        .filter(|v| env_refs(&v.text).iter().any(|r| !r.escaped))
        .map_or(entry.key.raw.clone(), |v| v.content.clone());
    let var = entry
        .value
        .as_ref()
        .and_then(|v| env_refs(&v.text).into_iter().find(|r| !r.escaped))
        .map_or_else(|| "NPM_TOKEN".to_owned(), |r| r.name);
    let key_text = &entry.key.text;
    let s = Suggestion::new(
        "Set the credential outside the project .npmrc, where pnpm expands it",
        Applicability::Manual,
    )
    .edit(line_with_terminator(ctx.text, &entry.line), "")
    .note(format!("pnpm config set '{key_text}' \"${var}\"   # in the CI job, before pnpm install (writes pnpm's auth.ini)"))
    .note(format!("or set the environment variable 'pnpm_config_{key_text}' (pnpm 11.6+)"))
    .note("keep the line if npm also reads this file (npm still expands it); pnpm only warns and skips it");
    let mut draft = Draft::at("env-not-expanded", span)
        .message_key(key)
        .arg("key", key_text.clone())
        .confidence(confidence)
        .suggestion(s);
    if let Some(v) = &project.pnpm_version {
        draft = draft.arg("version", v.split('+').next().unwrap_or(v).to_owned());
    }
    ctx.emit(draft);
}

/// Info: a long-lived credential read from the environment.
fn inventory(ctx: &mut FileCtx<'_>, entry: &Entry, refs: &ValueRefs, host: Option<&str>) {
    let Some(value) = &entry.value else { return };
    let Some(r) = refs.braced.iter().find(|r| !is_short_lived_var(&r.name)) else {
        return;
    };
    let password = !entry.key.name.eq_ignore_ascii_case("_authToken");
    let span = value
        .file_span(r.range.clone())
        .unwrap_or(value.content.clone());
    let mut s = Suggestion::new(
        "Keep the reference; make what it holds short-lived",
        Applicability::Manual,
    );
    if host.is_none_or(is_npmjs_host) {
        s = s
            .note(auth::TOKEN_CREATE_INSTALL)
            .note(auth::TRUSTED_PUBLISHING);
    } else {
        s = s.note(format!(
            "use the shortest-lived credential {} offers, rotated on a schedule",
            registry_label(host)
        ));
    }
    ctx.emit(
        Draft::at("env-token-reference", span)
            .message_key(if password {
                "password"
            } else if host.is_none_or(is_npmjs_host) {
                "token"
            } else {
                "registry-token"
            })
            // The setting name, not the key as written: scoping the key (a safe fix) must not
            // turn this into a "new" finding when the fix is re-checked.
            .arg("setting", entry.key.name.clone())
            .arg("registry", registry_label(host))
            .arg("var", r.name.clone())
            .suggestion(s),
    );
}
