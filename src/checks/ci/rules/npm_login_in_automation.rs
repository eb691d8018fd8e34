//! `npm-login-in-automation`: `npm login`/`adduser`-style logins in a CI job, which create a
//! long-lived session token.

use super::*;

pub(super) const LOGIN: &str = "npm-login-in-automation";

/// Interactive-style logins (`npm login`, `npm adduser`, `npm-cli-login`) in a CI job.
pub(super) fn report(
    ctx: &mut FileCtx<'_>,
    system: System,
    job: &Job,
    sf: &StepFacts,
    seen: &mut Seen,
) {
    if crate::rules::get(LOGIN).is_some() {
        for l in &sf.facts.logins {
            // Verdaccio on localhost in an e2e job: no npmjs.org credential involved.
            let note = if l.local {
                " Here it targets a local registry (likely Verdaccio in an e2e test), so no npmjs.org credential is involved."
            } else {
                ""
            };
            let mut draft = Draft::at(LOGIN, l.span.clone());
            if system.tailored_npmrc_advice() {
                draft = draft
                    .message_key("system")
                    .arg("system", system.display())
                    .arg("job", job.name.clone());
            }
            draft = draft
                .arg("tool", l.tool.clone())
                .arg("npm12", crate::advice::login_npm12_note(&l.tool))
                .arg("stage_note", note)
                .suggestion(if system.tailored_npmrc_advice() {
                    system_suggestion(system)
                } else {
                    Suggestion::new(
                        "Replace the login with a granular token (installs) or trusted publishing (publish)",
                        Applicability::Manual,
                    )
                    .note("npm token create --name=ci-install --packages-all --packages-and-scopes-permission=read-only --expires=90")
                    .note("store it as a CI secret; .npmrc: //registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}")
                    .note("publishing from GitHub Actions, GitLab CI/CD or CircleCI: trusted publishing (OIDC), no stored credential")
                })
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

/// For a system npm does not trust (no trusted publishing): a stage-only token in the system's
/// own secret store for publishing, a read-only one for installs, and the `.npmrc` line written
/// so that the system leaves `${NPM_TOKEN}` to npm.
fn system_suggestion(system: System) -> Suggestion {
    let ci = crate::advice::ci_slug(system.display());
    let line = if system.substitutes_dollar() {
        "//registry.npmjs.org/:_authToken=$${NPM_TOKEN}"
    } else {
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}"
    };
    let write = match system {
        System::Jenkins => format!("sh \'\'\'echo \'{line}\' > .npmrc\'\'\'"),
        System::OneDev => format!("echo \'{line}\' > .npmrc   # with an `envVars:` entry NPM_TOKEN: \'@secret:npm_stage_token@\'"),
        _ => format!("echo \'{line}\' > .npmrc"),
    };
    Suggestion::new(
        "Replace the login with a stage-only token (publish) or a read-only granular token (installs)",
        Applicability::Manual,
    )
    .note(crate::advice::stage_only_token_create(&ci, "<package>"))
    .note(crate::advice::STAGE_PUBLISH)
    .note(format!("store it as {}; then, in place of the login: {write}", system.secret_store()))
    .note(format!("for installs only: npm token create --name={ci}-install --packages-all --packages-and-scopes-permission=read-only --expires=90"))
    .note(format!("{} is no trusted-publishing provider; GitHub Actions, GitLab.com and CircleCI cloud are (no stored credential at all)", system.display()))
}
