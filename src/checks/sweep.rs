//! The literal-token sweep: every `npm_` token in any scanned file, whatever its kind. Kind
//! checks run first and report literals in auth positions with more context; the sweep reports
//! only the tokens they did not.

use crate::finding::{Applicability, Confidence, Draft, Suggestion};
use crate::token::{self, SecretKind};

use super::FileCtx;

/// Below this many bits per character an `npm_`-shaped string with a failing checksum is a
/// placeholder (`npm_xxxx…`, `npm_0000…`), not a mangled token.
const PLACEHOLDER_ENTROPY: f64 = 3.0;

pub fn check(ctx: &mut FileCtx<'_>) {
    for found in token::find_npm_tokens(ctx.text.as_bytes()) {
        ctx.secret(found.span.clone(), SecretKind::Token);
        if ctx.reported("hardcoded-token", &found.span) {
            continue;
        }
        let draft = Draft::at("hardcoded-token", found.span.clone());
        let draft = if found.checksum_valid {
            draft.message_key("npm-token")
        } else {
            let body = ctx
                .text
                .get(found.span.start + 4..found.span.end)
                .unwrap_or("");
            let known_kind = ctx.kind != crate::discover::FileKind::Other;
            if !known_kind || token::shannon_entropy(body) < PLACEHOLDER_ENTROPY {
                continue;
            }
            draft
                .message_key("npm-token-bad-checksum")
                .confidence(Confidence::Low)
        };
        // An `npm_` token outside an auth setting is tied to no registry (`Credential::untied`).
        let credential = ctx
            .text
            .get(found.span.clone())
            .map(crate::credential::Credential::untied);
        let draft = draft.suggestion(revoke_and_replace());
        ctx.emit(match credential {
            Some(c) => draft.credential(c),
            None => draft,
        });
    }
}

/// The rewrite for a token found outside an auth setting: it cannot be edited into a reference
/// without knowing how the file is used, so the steps are shown.
fn revoke_and_replace() -> Suggestion {
    Suggestion::new(
        "Revoke the token, then read a granular token from the environment",
        Applicability::Manual,
    )
    .note("npm token revoke <token>   # run by the token's owner; then rewrite the history that holds it")
    .note("npm token create --name=ci-install --packages-all --packages-and-scopes-permission=read-only --expires=90   # installs of private packages")
    .note("publishing from CI: use trusted publishing (OIDC) instead of a stored token: https://docs.npmjs.com/trusted-publishers")
}
