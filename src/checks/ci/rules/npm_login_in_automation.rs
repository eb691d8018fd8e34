//! `npm-login-in-automation`: `npm login`/`adduser`-style logins in a CI job, which create a
//! long-lived session token.

use super::*;

pub(super) const LOGIN: &str = "npm-login-in-automation";

/// Interactive-style logins (`npm login`, `npm adduser`, `npm-cli-login`) in a CI job.
pub(super) fn report(ctx: &mut FileCtx<'_>, job: &Job, sf: &StepFacts, seen: &mut Seen) {
    if crate::rules::get(LOGIN).is_some() {
        for l in &sf.facts.logins {
            // Verdaccio on localhost in an e2e job: no npmjs.org credential involved.
            let note = if l.local {
                " Here it targets a local registry (likely Verdaccio in an e2e test), so no npmjs.org credential is involved."
            } else {
                ""
            };
            let mut draft = Draft::at(LOGIN, l.span.clone())
                .arg("tool", l.tool.clone())
                .arg("npm12", crate::advice::login_npm12_note(&l.tool))
                .arg("stage_note", note)
                .suggestion(
                    Suggestion::new(
                        "Replace the login with a granular token (installs) or trusted publishing (publish)",
                        Applicability::Manual,
                    )
                    .note("npm token create --name=ci-install --packages-all --packages-and-scopes-permission=read-only --expires=90")
                    .note("store it as a CI secret; .npmrc: //registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}")
                    .note("publishing from GitHub Actions, GitLab CI/CD or CircleCI: trusted publishing (OIDC), no stored credential"),
                )
                .identity(format!("{} {}", job.name, l.tool));
            if l.local {
                draft = draft
                    .confidence(Confidence::Low)
                    .severity(crate::finding::Severity::Low);
            }
            // One report per location: a template shared by several jobs is one line to fix.
            seen.emit(ctx, draft, "");
        }
    }
}
