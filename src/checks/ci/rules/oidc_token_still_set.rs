//! `oidc-token-still-set`: a publish job that can already mint an OIDC token and is still
//! handed a long-lived one, which stays valid (and stealable) after the switch.

use super::*;

pub(super) const STILL_SET: &str = "oidc-token-still-set";

/// A publish job that can mint an OIDC token and is still handed a long-lived one.
pub(super) fn report(
    ctx: &mut FileCtx<'_>,
    job: &Job,
    (steps, publish_step): (&[StepFacts], usize),
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
            {
                // One run settles the job: the Node/npm OIDC needs moves with the token.
                let mut s = remove_tokens_suggestion(ctx, job, tokens);
                let system = System::from_kind(ctx.kind).unwrap_or(System::GithubWorkflow);
                s.edits.extend(runtime_edits(
                    ctx,
                    system,
                    job,
                    steps,
                    publish_step,
                    publish,
                ));
                s.edits = normalize(std::mem::take(&mut s.edits));
                s
            },
            &publish.tool,
        ))
        .identity(who.clone());
    let draft = if publish.unread {
        let system = System::from_kind(ctx.kind).unwrap_or(System::GithubWorkflow);
        draft
            .confidence(Confidence::Medium)
            .suggestion(remote_uses::unread_suggestion(publish, system))
    } else if ci_publish_long_lived_token::all_fetched(tokens) {
        draft.confidence(Confidence::Medium)
    } else {
        draft
    };
    seen.emit(ctx, draft, &who);
}
