//! `env-token-reference`: an inventory of the stored tokens jobs read that no other rule
//! reported, so long-lived tokens used only for installs are known too.

use super::*;

pub(super) const INVENTORY: &str = "env-token-reference";

/// The stored tokens jobs read that no other rule reported: where long-lived tokens are used.
pub(super) fn report(
    ctx: &mut FileCtx<'_>,
    inventory: Vec<(EnvVar, String)>,
    seen: &mut Seen,
    reported_tokens: &HashSet<(usize, usize)>,
) {
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
