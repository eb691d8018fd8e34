//! Actions and reusable workflows of other repositories (`uses: org/repo@v1`,
//! `uses: org/repo/.github/workflows/release.yml@v1`), which are not read: judged by their
//! name and by what the step passes to them. An npm token handed to one whose name or inputs
//! say it publishes (`npm-publish`, `release`, `npmPublish: true`) is a publish with a stored
//! token, at medium confidence. The publishers the catalogue knows (changesets/action,
//! JS-DevTools/npm-publish) are judged by their entries instead.

use super::*;

/// Words in an action's or workflow's name that say it publishes.
const PUBLISH_WORDS: &[&str] = &["publish", "release", "deploy-npm", "npm-deploy"];

/// Inputs that, set to true, say the action publishes.
const PUBLISH_INPUTS: &[&str] = &["publish", "npmPublish", "npm-publish", "npm_publish"];

/// Actions with a publishing name that make GitHub releases or tags, never npm publishes.
const NOT_NPM: &[&str] = &[
    "softprops/action-gh-release",
    "ncipollo/release-action",
    "actions/create-release",
    "actions/upload-release-asset",
    "googleapis/release-please-action",
    "google-github-actions/release-please-action",
    "marvinpinto/action-automatic-releases",
    "goreleaser/goreleaser-action",
    "release-drafter/release-drafter",
];

/// A name of another repository's action or workflow (not `./local`, not `docker://`).
fn is_remote(name: &str) -> bool {
    !name.starts_with('.') && !name.starts_with("docker://") && name.contains('/')
}

/// The publish a step using a remote action (or a job calling a remote reusable workflow)
/// stands for, when its name or inputs say it publishes and an npm token is passed to it.
pub(super) fn remote_publish(ctx: &FileCtx<'_>, step: &Step, a: &Action) -> Option<Publish> {
    if !is_remote(&a.name)
        || crate::catalogue::find_action(&a.name).is_some()
        || NOT_NPM.contains(&a.name.as_str())
    {
        return None;
    }
    let lower = a.name.to_ascii_lowercase();
    let by_name = PUBLISH_WORDS.iter().any(|w| lower.contains(w));
    let by_input = PUBLISH_INPUTS.iter().any(|i| {
        a.input(i)
            .is_some_and(|v| matches!(v.value.text.trim(), "true" | "True" | "yes"))
    });
    if !(by_name || by_input) {
        return None;
    }
    let inline: Vec<TokenUse> = a
        .inputs
        .iter()
        .filter(|i| npm_token_input(ctx, i))
        .map(|i| token_of_value(&i.value))
        .collect();
    let env_token = step
        .env
        .iter()
        .any(|v| v.is_token(ctx) && v.value.source.is_stored());
    if inline.is_empty() && !env_token {
        return None;
    }
    Some(Publish {
        tool: a.name.clone(),
        span: a.span.clone(),
        dry_run: false,
        registry: None,
        provenance: false,
        yarn_berry: false,
        oidc_capable: true,
        inline,
        unread: true,
    })
}

/// An input that hands an npm token: named like one (`npm-token`, `NODE_AUTH_TOKEN`), or any
/// token-named input reading a secret named like an npm token (`token: ${{ secrets.NPM_TOKEN }}`).
pub(super) fn npm_token_input(ctx: &FileCtx<'_>, input: &EnvVar) -> bool {
    let Source::Stored(secret) = &input.value.source else {
        return false;
    };
    let named = ctx.options.is_token_var(&input.name.replace('-', "_"));
    named || tokenish_name(&input.name) && crate::checks::ci::looks_like_npm_secret(secret)
}

/// The rewrite for a publish that happens in an action or workflow this scan did not read: by
/// hand, since only its maintainers know whether it can publish with trusted publishing.
pub(super) fn unread_suggestion(publish: &Publish, system: System) -> Suggestion {
    let mut s = Suggestion::new(
        format!(
            "Publish with trusted publishing in `{}` instead of passing it a token",
            publish.tool
        ),
        Applicability::Manual,
    )
    .note(format!(
        "`{}` is in another repository and was not read: it is judged by its name and by the token passed to it",
        publish.tool
    ));
    if system.trusted_publishing() {
        s = s.note("if it publishes with npm >= 11.5.1 (or supports OIDC), grant the job `id-token: write`, register the trusted publisher and stop passing the token; otherwise pass a stage-only granular token and use staged publishing");
    }
    s
}
