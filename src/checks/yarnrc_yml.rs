//! Yarn Berry `.yarnrc.yml` checks: `npmAuthToken` and `npmAuthIdent` at the top level, under
//! `npmScopes.<scope>` and under `npmRegistries.<url>`: literal credentials, `$NAME` references
//! Yarn does not expand (it knows `${NAME}`, `${NAME-x}` and `${NAME:-x}` only), and the
//! inventory of credentials read from the environment.

use crate::checks::registry_auth::{self as auth, is_npmjs_host, token_verdict, url_host};
use crate::checks::FileCtx;
use crate::finding::{Applicability, Draft, Suggestion};
use crate::parse::yaml::{self, Node, Scalar};
use crate::source::Span;
use crate::token::{self, is_short_lived_var, EnvSyntax, SecretKind};

/// Yarn's default registry (a mirror of registry.npmjs.org).
const YARN_REGISTRY: &str = "registry.yarnpkg.com";

pub fn check(ctx: &mut FileCtx<'_>) {
    let docs = match yaml::parse(ctx.text) {
        Ok(docs) => docs,
        Err(error) => {
            ctx.parse_error(error);
            return;
        }
    };
    for doc in &docs {
        let root = &doc.root;
        let top_host = server_host(root).unwrap_or_else(|| YARN_REGISTRY.to_owned());
        auth_block(ctx, root, "", &top_host);
        for (scope, node) in root.get("npmScopes").into_iter().flat_map(Node::iter_map) {
            let host = server_host(node).unwrap_or_else(|| top_host.clone());
            let path = format!("npmScopes.{}.", scope.as_str().unwrap_or("?"));
            auth_block(ctx, node, &path, &host);
        }
        for (url, node) in root
            .get("npmRegistries")
            .into_iter()
            .flat_map(Node::iter_map)
        {
            let url = url.as_str().unwrap_or("");
            let host = url_host(url).unwrap_or_else(|| url.to_owned());
            auth_block(ctx, node, &format!("npmRegistries[\"{url}\"]."), &host);
        }
    }
}

fn server_host(node: &Node) -> Option<String> {
    let url = node.get("npmRegistryServer")?.as_str()?;
    if url.contains('$') {
        return None;
    }
    url_host(url)
}

fn auth_block(ctx: &mut FileCtx<'_>, node: &Node, path: &str, host: &str) {
    for (name, ident) in [("npmAuthToken", false), ("npmAuthIdent", true)] {
        let Some(entry) = node.get_entry(name) else {
            continue;
        };
        let Some(scalar) = entry.value.as_scalar() else {
            continue;
        };
        if entry.value.is_null() || scalar.value().trim().is_empty() {
            continue;
        }
        let setting = format!("{path}{name}");
        let site = Site {
            setting: &setting,
            host,
            scalar,
            value_span: entry.value.span(),
            entry_span: entry.key.span().start..entry.value.span().end,
            ident,
            top_level: path.is_empty(),
            has_token: node.get("npmAuthToken").is_some(),
        };
        let refs = token::env_refs(scalar.value());
        let foreign = token::foreign_refs(scalar.value());
        if !foreign.is_empty() {
            foreign_not_expanded(ctx, &site, &foreign);
        } else if refs.iter().any(|r| r.syntax == EnvSyntax::Bare) {
            not_expanded(ctx, &site, &refs);
        } else if let Some(r) = refs.first() {
            if !is_short_lived_var(&r.name) {
                inventory(ctx, &site, &r.name);
            }
        } else if ident {
            literal_ident(ctx, &site);
        } else {
            literal_token(ctx, &site);
        }
    }
}

/// Where a credential setting is.
struct Site<'a> {
    setting: &'a str,
    host: &'a str,
    scalar: &'a Scalar,
    /// The value as written (quotes included).
    value_span: Span,
    /// `key: value`.
    entry_span: Span,
    ident: bool,
    top_level: bool,
    /// The block also sets `npmAuthToken` (which Yarn prefers over `npmAuthIdent`).
    has_token: bool,
}

impl Site<'_> {
    /// File span of the whole value text (inside quotes).
    fn content(&self) -> Span {
        self.scalar.to_source(0..self.scalar.value().len())
    }
}

fn literal_token(ctx: &mut FileCtx<'_>, site: &Site<'_>) {
    let host = Some(site.host);
    let Some(verdict) = token_verdict(site.scalar.value(), host) else {
        return;
    };
    let content = site.content();
    ctx.secret(content.clone(), SecretKind::Token);
    let var = auth::token_var_for(host);
    let mut s = auth::replace_token_suggestion(
        site.value_span.clone(),
        &format!("\"${{{var}}}\""),
        host,
        &var,
        verdict.live_npm_token,
    );
    if site.top_level {
        s = s.note("Yarn also reads the top-level token from the environment variable YARN_NPM_AUTH_TOKEN, with no line in the file");
    }
    let draft = verdict
        .draft(content)
        .arg("setting", site.setting.to_owned())
        .arg("registry", site.host.to_owned())
        .suggestion(s)
        // Only the host of the registry is known here (not its path or scheme): whoami goes to
        // that host's root, which is right for most registries and never another host.
        .credential(crate::credential::Credential::new(
            site.scalar.value(),
            crate::verify::registry_for_nerf(&format!("//{}/", site.host), None, &[]),
        ));
    ctx.emit(draft);
}

/// `npmAuthIdent`: `username:password`, plain or base64.
fn literal_ident(ctx: &mut FileCtx<'_>, site: &Site<'_>) {
    if auth::is_placeholder(site.scalar.value()) {
        return;
    }
    let content = site.content();
    ctx.secret(content.clone(), SecretKind::Password);
    let suggestion = if is_npmjs_host(site.host) {
        let var = auth::token_var_for(None);
        let mut s = Suggestion::new(
            format!("Authenticate with a granular token from {var} instead of a password"),
            Applicability::Manual,
        );
        s = if site.has_token {
            // Yarn already sends the token; the password line only leaks.
            s.edit(whole_lines(ctx.text, &site.entry_span), "")
        } else {
            s.edit(
                site.entry_span.clone(),
                format!("npmAuthToken: \"${{{var}}}\""),
            )
        };
        s = s.note("change the password of this account: it has been readable by everyone with the repository");
        for n in auth::replacement_notes(None, &var, false) {
            s = s.note(n);
        }
        s
    } else {
        let token_var = auth::token_var_for(Some(site.host));
        let var = format!(
            "{}_AUTH_IDENT",
            token_var.strip_suffix("_TOKEN").unwrap_or(&token_var)
        );
        Suggestion::new(
            format!("Read the credential from the environment variable {var}"),
            Applicability::Unsafe,
        )
        .edit(site.value_span.clone(), format!("\"${{{var}}}\""))
        .note(format!(
            "change the password in {}, then store \"user:password\" as the CI secret {var}",
            site.host
        ))
        .note("if the registry issues tokens, prefer npmAuthToken with a token over a password")
    };
    ctx.emit(
        Draft::at("basic-auth-credential", content)
            .message_key("yarn-ident")
            .arg("setting", site.setting.to_owned())
            .arg("registry", site.host.to_owned())
            .suggestion(suggestion),
    );
}

/// `span` widened to whole lines, terminator included (for deleting a `key: value` line).
fn whole_lines(text: &str, span: &Span) -> Span {
    let start = text
        .get(..span.start)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let end = text
        .get(span.end..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| span.end + i + 1);
    start..end
}

fn not_expanded(ctx: &mut FileCtx<'_>, site: &Site<'_>, refs: &[token::EnvRef]) {
    let Some(first) = refs.iter().find(|r| r.syntax == EnvSyntax::Bare) else {
        return;
    };
    let written = format!("${}", first.name);
    let bare = refs.iter().filter(|r| r.syntax == EnvSyntax::Bare);
    let rewrites = bare.map(|r| (r.span.clone(), r.name.as_str()));
    emit_not_expanded(ctx, site, "bare-yarn", written, &first.name, rewrites);
}

/// `${env.NAME}`, `%NAME%`, `$env:NAME`: Yarn expands only `${NAME}`, so the token is never read.
fn foreign_not_expanded(ctx: &mut FileCtx<'_>, site: &Site<'_>, refs: &[token::ForeignRef]) {
    let Some(first) = refs.first() else { return };
    let written = site
        .scalar
        .value()
        .get(first.span.clone())
        .unwrap_or("")
        .to_owned();
    let rewrites = refs.iter().map(|r| (r.span.clone(), r.name.as_str()));
    emit_not_expanded(ctx, site, "foreign-yarn", written, &first.name, rewrites);
}

/// An `env-not-expanded` finding whose fix writes each reference (its span in the value) as
/// `${NAME}`, the one form Yarn expands; manual when the value cannot be edited exactly.
fn emit_not_expanded<'a>(
    ctx: &mut FileCtx<'_>,
    site: &Site<'_>,
    message_key: &'static str,
    written: String,
    first: &str,
    rewrites: impl Iterator<Item = (Span, &'a str)>,
) {
    let braced = format!("${{{first}}}");
    let mut s = Suggestion::new(
        format!("Write the reference as {braced}"),
        Applicability::Safe,
    );
    if site.scalar.is_exact() {
        for (span, name) in rewrites {
            s = s.edit(site.scalar.to_source(span), format!("${{{name}}}"));
        }
    } else {
        s.applicability = Applicability::Manual;
    }
    ctx.emit(
        Draft::at("env-not-expanded", site.content())
            .message_key(message_key)
            .arg("setting", site.setting.to_owned())
            .arg("written", written)
            .arg("braced", braced)
            .suggestion(s),
    );
}

fn inventory(ctx: &mut FileCtx<'_>, site: &Site<'_>, var: &str) {
    let npmjs = is_npmjs_host(site.host);
    let mut s = Suggestion::new(
        "Keep the reference; make what it holds short-lived",
        Applicability::Manual,
    );
    if npmjs {
        s = s
            .note(auth::TOKEN_CREATE_INSTALL)
            .note(auth::TRUSTED_PUBLISHING)
            .note("Yarn sends a configured npmAuthToken instead of OIDC: keep it out of the publishing job (Yarn 4.10+ publishes with OIDC)");
    }
    let key = if site.ident {
        "password"
    } else if npmjs {
        "token"
    } else {
        "registry-token"
    };
    ctx.emit(
        Draft::at("env-token-reference", site.content())
            .message_key(key)
            .arg("setting", site.setting.to_owned())
            .arg("registry", site.host.to_owned())
            .arg("var", var.to_owned())
            .suggestion(s),
    );
}
