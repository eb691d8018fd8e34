//! `bunfig.toml` checks: literal tokens and passwords in `[install] registry` and
//! `[install.scopes]`, and the inventory of credentials read from the environment.
//!
//! Bun expands `$NAME` (and `${NAME}`) in these values, so a rewrite reads the credential as
//! `$NAME`, the form Bun's documentation uses.

use crate::checks::registry_auth::{self as auth, is_npmjs_host, token_verdict, url_host};
use crate::checks::FileCtx;
use crate::finding::{Applicability, Draft, Suggestion};
use crate::parse::bunfig::{self, url_userinfo, Field, Registry, RegistryForm};
use crate::token::{self, is_short_lived_var, SecretKind};

pub fn check(ctx: &mut FileCtx<'_>) {
    let config = match bunfig::parse(ctx.text) {
        Ok(c) => c,
        Err(e) => {
            ctx.parse_error(e);
            return;
        }
    };
    if let Some(r) = &config.registry {
        registry(ctx, r, "install.registry".to_owned());
    }
    for scope in &config.scopes {
        registry(
            ctx,
            &scope.registry,
            format!("install.scopes.{}", scope.scope),
        );
    }
}

fn registry(ctx: &mut FileCtx<'_>, r: &Registry, setting: String) {
    let host = r
        .form
        .url()
        .filter(|u| !u.text.contains('$'))
        .and_then(|u| url_host(&u.text));
    let host = host.as_deref();
    match &r.form {
        RegistryForm::Url(url) => {
            let Some((user, Some(pass))) = url_userinfo(&url.text) else {
                return;
            };
            let password = url.text.get(pass.clone()).unwrap_or("");
            if password.is_empty() {
                return;
            }
            let pass_span = url.file_span(pass.clone()).unwrap_or(url.content.clone());
            if !token::env_refs(password).is_empty() {
                inventory(ctx, pass_span, &setting, host, password, true);
                return;
            }
            ctx.secret(pass_span.clone(), SecretKind::Password);
            let var = auth::token_var_for(host);
            let clean = format!(
                "{}{}",
                url.text.get(..user.start).unwrap_or(""),
                url.text.get(pass.end + 1..).unwrap_or("")
            );
            let mut s = Suggestion::new(
                format!("Authenticate with a token from ${var} instead of a password in the URL"),
                Applicability::Manual,
            )
            .edit(r.span.clone(), format!("{{ url = \"{clean}\", token = \"${var}\" }}"))
            .note("change the password of this account: it has been readable by everyone with the repository");
            for n in auth::replacement_notes(host, &var, false) {
                s = s.note(n);
            }
            ctx.emit(
                Draft::at("basic-auth-credential", pass_span)
                    .message_key("url-userinfo")
                    .arg("setting", setting)
                    .arg("registry", host.unwrap_or("the registry").to_owned())
                    .suggestion(s),
            );
        }
        RegistryForm::Table {
            token: tok,
            password,
            ..
        } => {
            if let Some(f) = tok {
                // Bun's default registry is npm's; a URL it cannot be told from sends nothing.
                let registry = match r.form.url() {
                    Some(u) => crate::verify::registry_url(&u.text),
                    None => Some(crate::credential::DEFAULT_REGISTRY.to_owned()),
                };
                token_field(ctx, f, &setting, host, registry);
            }
            if let Some(f) = password {
                password_field(ctx, f, &setting, host);
            }
        }
        RegistryForm::Other => {}
    }
}

fn token_field(
    ctx: &mut FileCtx<'_>,
    f: &Field,
    setting: &str,
    host: Option<&str>,
    registry: Option<String>,
) {
    let v = &f.value;
    if !v.is_string {
        return;
    }
    let setting = format!("{setting}.token");
    if let Some(r) = token::env_refs(&v.text).first() {
        if !is_short_lived_var(&r.name) {
            inventory(ctx, v.content.clone(), &setting, host, &r.name, false);
        }
        return;
    }
    let Some(verdict) = token_verdict(&v.text, host) else {
        return;
    };
    ctx.secret(v.content.clone(), SecretKind::Token);
    let var = auth::token_var_for(host);
    let s = auth::replace_token_suggestion(
        v.content.clone(),
        &format!("${var}"),
        host,
        &var,
        verdict.live_npm_token,
    );
    let draft = verdict
        .draft(v.content.clone())
        .arg("setting", setting)
        .arg("registry", host.unwrap_or("the registry").to_owned())
        .suggestion(s)
        .credential(crate::credential::Credential::new(&v.text, registry));
    ctx.emit(draft);
}

fn password_field(ctx: &mut FileCtx<'_>, f: &Field, setting: &str, host: Option<&str>) {
    let v = &f.value;
    if !v.is_string || auth::is_placeholder(&v.text) {
        return;
    }
    let setting = format!("{setting}.password");
    if let Some(r) = token::env_refs(&v.text).first() {
        if !is_short_lived_var(&r.name) {
            inventory(ctx, v.content.clone(), &setting, host, &r.name, true);
        }
        return;
    }
    ctx.secret(v.content.clone(), SecretKind::Password);
    let token_var = auth::token_var_for(host);
    let var = format!(
        "{}_PASSWORD",
        token_var.strip_suffix("_TOKEN").unwrap_or(&token_var)
    );
    let mut s = Suggestion::new(
        format!("Read the password from ${var}"),
        Applicability::Unsafe,
    )
    .edit(v.content.clone(), format!("${var}"))
    .note(format!(
        "change the password, then store it (plain, Bun does not base64 it) as the CI secret {var}"
    ));
    if host.is_none_or(is_npmjs_host) {
        s = s.note(format!(
            "better: replace username/password with `token = \"${token_var}\"` and a granular token"
        ));
        s = s.note(auth::TOKEN_CREATE_INSTALL);
    }
    ctx.emit(
        Draft::at("basic-auth-credential", v.content.clone())
            .message_key("bunfig-password")
            .arg("setting", setting)
            .arg("registry", host.unwrap_or("the registry").to_owned())
            .suggestion(s),
    );
}

fn inventory(
    ctx: &mut FileCtx<'_>,
    span: crate::source::Span,
    setting: &str,
    host: Option<&str>,
    var: &str,
    password: bool,
) {
    let var = var
        .trim_start_matches('$')
        .trim_matches(['{', '}'])
        .to_owned();
    let mut s = Suggestion::new(
        "Keep the reference; make what it holds short-lived",
        Applicability::Manual,
    );
    if host.is_none_or(is_npmjs_host) {
        s = s
            .note(auth::TOKEN_CREATE_INSTALL)
            .note(auth::TRUSTED_PUBLISHING);
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
            .arg("setting", setting.to_owned())
            .arg("registry", host.unwrap_or("the registry").to_owned())
            .arg("var", var)
            .suggestion(s),
    );
}
