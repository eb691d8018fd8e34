//! `oidc-token-still-set`: a publish job that can already mint an OIDC token and is still
//! handed a long-lived one, which stays valid (and stealable) after the switch.

use super::*;

pub(super) const STILL_SET: &str = "oidc-token-still-set";

/// A publish job that can mint an OIDC token and is still handed a long-lived one.
pub(super) fn report(
    ctx: &mut FileCtx<'_>,
    job: &Job,
    publish: &Publish,
    tokens: &[JobToken],
    seen: &mut Seen,
) {
    let Some(first) = tokens.first() else {
        return;
    };
    let who = format!("{} {}", job.name, publish.tool);
    let draft = Draft::at(STILL_SET, first.token.span.clone())
        .arg("job", job.name.clone())
        .arg("token", first.token.display.clone())
        .arg("tool", publish.tool.clone())
        .suggestion(tool_notes(
            remove_tokens_suggestion(ctx, job, tokens),
            &publish.tool,
        ))
        .identity(who.clone());
    seen.emit(ctx, draft, &who);
}
