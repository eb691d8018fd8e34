//! `.env` checks: a literal npm token assigned to a token variable (`NPM_TOKEN=`,
//! `NODE_AUTH_TOKEN=`, and the names the configuration adds). An `npm_` token under any other
//! name is left to the literal-token sweep.

use crate::checks::registry_auth::{self as auth, token_verdict};
use crate::checks::FileCtx;
use crate::finding::{Applicability, Suggestion};
use crate::parse::dotenv;
use crate::token::{self, SecretKind};

pub fn check(ctx: &mut FileCtx<'_>) {
    let env = dotenv::parse(ctx.text);
    for entry in env.entries() {
        if !ctx.options.is_token_var(&entry.key) {
            continue;
        }
        let value = &entry.value;
        // `NPM_TOKEN=${CI_SECRET}` passes a reference along; loaders expand it.
        if !token::env_refs(&value.text).is_empty() {
            continue;
        }
        // The registry a bare variable is for is unknown.
        let Some(verdict) = token_verdict(&value.text, None) else {
            continue;
        };
        ctx.secret(value.content.clone(), SecretKind::Token);
        let mut s = Suggestion::new(
            format!("Keep {} out of the repository", entry.key),
            Applicability::Manual,
        )
        .edit(value.content.clone(), "")
        .note(format!(
            "set {} in the CI secret store, or locally in an untracked file (.env.local, listed in .gitignore)",
            entry.key
        ));
        for n in auth::replacement_notes(None, &entry.key, verdict.live_npm_token) {
            if !n.starts_with("store the new token") {
                s = s.note(n);
            }
        }
        let draft = verdict
            .draft(value.content.clone())
            .arg("setting", entry.key.clone())
            .arg("registry", "its registry")
            .suggestion(s)
            // A bare variable names no registry (see `Credential::untied`).
            .credential(crate::credential::Credential::untied(&value.text));
        ctx.emit(draft);
    }
}
