//! The advice every check gives about npm tokens, in one place, so that what the scanner says
//! about stage-only tokens, staged publishing and the bypass-2FA phase-out is said the same way
//! (and dated the same way) by every rule and every CI system.
//!
//! Facts (npm-auth-facts.md §10, checked 2026-12-01): around January 2027 bypass-2FA granular
//! tokens lose direct publishing (they keep installs and staging a publish); stage-only tokens
//! exist since 2026-09-18 and npm 11.20.0 / 12.1.0 accept them; `npm stage publish` can create a
//! new package since 2026-10-02; trusted publishing is still only GitHub Actions (GitHub-hosted
//! runners), GitLab.com shared runners and CircleCI cloud.

use crate::finding::{Applicability, Suggestion};

/// Where the dated facts below come from (shown in notes and `explain`).
pub const STAGE_ONLY_SOURCE: &str = "https://github.blog/changelog/2026-09-18-stage-only-npm-tokens-for-safer-automation (2026-09-18)";
pub const BYPASS_PHASE_OUT_SOURCE: &str = "https://github.blog/changelog/2026-07-07-npm-install-time-security-and-gat-bypass2fa-deprecation (2026-07-07)";
pub const TRUSTED_PUBLISHERS_URL: &str = "https://docs.npmjs.com/trusted-publishers";

/// The CI systems npm accepts OIDC tokens from (facts §10, 2026-09-16).
pub const TRUSTED_PROVIDERS: &str =
    "GitHub Actions (GitHub-hosted runners), GitLab.com shared runners or CircleCI cloud, as of 2026-09-16";

/// `npm token create` for a stage-only token named after the CI system (`travis`, `azure`, ...).
pub fn stage_only_token_create(ci: &str, pkg: &str) -> String {
    format!(
        "npm token create --name={ci}-stage --packages={pkg} --packages-and-scopes-permission=read-write-stage-only --expires=90"
    )
}

/// The job's publish command under staged publishing.
pub const STAGE_PUBLISH: &str = "in the job, run `npm stage publish` instead of `npm publish` (stage-only tokens need npm >= 11.20.0 or >= 12.1.0, released 2026-09-21); a maintainer with 2FA approves the staged version on npmjs.com (`npm stage list`, then approve), and since 2026-10-02 this also creates a new package";

/// The bypass-2FA write token, labelled as what it is now.
pub fn bypass_stopgap(ci: &str, pkg: &str) -> String {
    format!(
        "stop-gap only: a bypass-2FA write token (npm token create --name={ci}-publish --packages={pkg} --packages-and-scopes-permission=read-write --bypass-2fa --expires=90) stops working for direct publishing around January 2027 ({BYPASS_PHASE_OUT_SOURCE})"
    )
}

/// The title of the suggestion for a CI job that publishes with a stored token where npm does
/// not accept OIDC tokens.
pub const STAGE_TITLE: &str = "Publish with a stage-only token and `npm stage publish`";

/// Notes for a job on a CI system npm does not trust (Travis, Azure Pipelines, Bitbucket,
/// Jenkins, Drone, self-hosted runners, ...): stage-only token and staged publishing first, or
/// moving the job to a trusted-publishing provider; the bypass-2FA token last, as a stop-gap.
///
/// `ci` is a short lower-case name for token names (`travis`); `system` the display name;
/// `self_hosted` when the system itself is a provider but the runner is not cloud-hosted.
pub fn without_trusted_publishing(
    ci: &str,
    system: &str,
    pkg: &str,
    self_hosted: bool,
) -> Vec<String> {
    let mut notes = vec![
        format!(
            "{}   # stage-only: can stage a publish, cannot publish directly ({STAGE_ONLY_SOURCE})",
            stage_only_token_create(ci, pkg)
        ),
        STAGE_PUBLISH.to_owned(),
        "store the token as a CI secret read only by the publish step, and rotate it before it expires (write tokens live at most 90 days: npm changelog, 2025-09-29)".to_owned(),
    ];
    notes.push(if self_hosted {
        format!("or publish with no stored token at all: trusted publishing needs a cloud-hosted runner ({TRUSTED_PROVIDERS}): {TRUSTED_PUBLISHERS_URL}")
    } else {
        format!("or move the publish job to a trusted-publishing provider ({TRUSTED_PROVIDERS}): {system} is not one, and OIDC needs no stored token: {TRUSTED_PUBLISHERS_URL}")
    });
    notes.push(bypass_stopgap(ci, pkg));
    notes
}

/// The suggestion built from [`without_trusted_publishing`], for checks with no rewrite to offer.
pub fn stage_suggestion(ci: &str, system: &str, pkg: &str, self_hosted: bool) -> Suggestion {
    let mut s = Suggestion::new(STAGE_TITLE, Applicability::Manual);
    s.notes = without_trusted_publishing(ci, system, pkg, self_hosted);
    s
}

/// A short token-name slug for a CI system's display name: `Travis CI` → `travis`.
pub fn ci_slug(system: &str) -> String {
    system
        .split_whitespace()
        .next()
        .unwrap_or("ci")
        .to_ascii_lowercase()
}

/// The one-line advice for a token that may publish (config files, where the CI system is not
/// known): trusted publishing where available, else stage-only.
pub const PUBLISH_TOKEN_NOTE: &str = "npm token create --name=ci-stage --packages=<your-package> --packages-and-scopes-permission=read-write-stage-only --expires=90   # only if this token publishes and trusted publishing is not available: then run `npm stage publish` (npm >= 11.20.0, 2026-09-21) and approve with 2FA; bypass-2FA write tokens lose direct publishing around January 2027 (npm changelog, 2026-07-07)";

/// `npm stage publish` with a stored token: the recommended shape, as long as the token is
/// stage-only (a low finding says so).
pub const STAGE_TOKEN_CHECK: &str = "make sure the token is stage-only (`--packages-and-scopes-permission=read-write-stage-only`): a read-write bypass-2FA token here could also publish directly until around January 2027 (npm changelog, 2026-07-07)";

/// The sentence a login message adds for `tool`: `npm adduser` is gone in npm 12.
pub fn login_npm12_note(tool: &str) -> &'static str {
    if matches!(tool, "npm adduser" | "npm add-user") {
        " `npm adduser` no longer exists in npm >= 12.0.0 (npm 12.0.0, 2026-07-08): on a current npm this step fails outright."
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_only_comes_first_and_bypass_is_labelled_stop_gap() {
        let notes = without_trusted_publishing("travis", "Travis CI", "my-pkg", false);
        assert!(notes[0].starts_with("npm token create --name=travis-stage --packages=my-pkg --packages-and-scopes-permission=read-write-stage-only --expires=90"));
        assert!(notes[1].contains("npm stage publish"));
        assert!(notes[3].contains("Travis CI is not one"));
        let last = notes.last().map(String::as_str).unwrap_or("");
        assert!(last.starts_with("stop-gap only"), "{last}");
        assert!(last.contains("January 2027"), "{last}");
        for n in &notes[..notes.len() - 1] {
            assert!(!n.contains("--bypass-2fa"), "{n}");
        }
    }

    #[test]
    fn self_hosted_points_at_cloud_runners() {
        let notes = without_trusted_publishing("github", "GitHub Actions", "p", true);
        assert!(notes[3].contains("cloud-hosted runner"), "{}", notes[3]);
        assert_eq!(ci_slug("Azure Pipelines"), "azure");
    }
}
