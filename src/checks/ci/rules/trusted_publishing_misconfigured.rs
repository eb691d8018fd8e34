//! `trusted-publishing-misconfigured`: a publish job relying on OIDC with something that makes
//! the exchange fail (no ID token, wrong audience, old Node/npm, self-hosted runner, Yarn token).

use super::*;

pub(super) const MISCONFIGURED: &str = "trusted-publishing-misconfigured";

#[allow(clippy::too_many_arguments)]
pub(super) fn misconfiguration(
    ctx: &mut FileCtx<'_>,
    p: &Pipeline,
    job: &Job,
    publish_step: usize,
    publish: &Publish,
    oidc: &crate::checks::ci::Oidc,
    npm_upgrade: bool,
    elsewhere: &local_uses::Elsewhere,
    seen: &mut Seen,
) {
    let system = p.system;
    let who = format!("{} {}", job.name, publish.tool);
    let emit = |ctx: &mut FileCtx<'_>, seen: &mut Seen, draft: Draft| {
        let key = draft.message_key.unwrap_or("");
        let draft = draft
            .arg("job", job.name.clone())
            .arg("tool", publish.tool.clone())
            .arg("system", system.display())
            .identity(format!("{who} {key}"));
        seen.emit(ctx, draft, &who);
    };

    if !system.trusted_publishing() {
        let draft = Draft::at(MISCONFIGURED, publish.span.clone())
            .message_key("unsupported-ci")
            .suggestion(granular_token_suggestion(ctx, system, false));
        emit(ctx, seen, draft);
        return;
    }
    if publish.yarn_berry && oidc.configured {
        // Yarn sends a configured `npmAuthToken` before it tries OIDC; the repository's
        // `.yarnrc.yml` is read in CI as well.
        if let Some(line) = repo_yarnrc_token(ctx) {
            let draft = Draft::at(MISCONFIGURED, publish.span.clone())
                .message_key("yarn-token")
                .arg("token", format!("npmAuthToken in .yarnrc.yml ({line})"))
                .suggestion(
                    Suggestion::new(
                        "Remove npmAuthToken from the repository's .yarnrc.yml",
                        Applicability::Manual,
                    )
                    .note("delete the npmAuthToken line (and any npmScopes/npmRegistries entry holding one) from .yarnrc.yml; keep read-only tokens for installs in the CI environment (YARN_NPM_AUTH_TOKEN on the install step only)"),
                );
            emit(ctx, seen, draft);
        }
    }
    if !publish.oidc_capable {
        let bun = publish.tool.contains("bun publish");
        let draft = Draft::at(MISCONFIGURED, publish.span.clone())
            .message_key(if bun { "no-oidc-bun" } else { "no-oidc-tool" })
            .suggestion(if bun {
                Suggestion::new(
                    "Publish with npm, which supports trusted publishing",
                    Applicability::Manual,
                )
                .note("replace `bun publish` with `npm publish` (npm >= 11.5.1 does OIDC: docs.npmjs.com/trusted-publishers, as of 2026-09-16), or `bunx npm@latest publish` where npm is not installed")
            } else {
                Suggestion::new(
                    "Publish with npm (or Yarn >= 4.10 `yarn npm publish`), which support trusted publishing",
                    Applicability::Manual,
                )
                .note(format!("replace `{}` with `npm publish` (npm >= 11.5.1)", publish.tool))
            });
        emit(ctx, seen, draft);
    }
    // A GitLab template's ID tokens may come from the job that extends it.
    let gitlab_template = system == System::Gitlab && oidc.inherited;
    // A reusable workflow's callers in this repository get the finding on their `uses:` line.
    if !oidc.configured && system != System::GithubAction && !gitlab_template && !oidc.callers_judge
    {
        let (span, key) = match (&oidc.wrong_audience, system) {
            (Some(s), _) => (s.clone(), "wrong-audience"),
            (None, System::Gitlab) => (job.key_span.clone(), "no-id-tokens"),
            (None, System::CircleCi) => (publish.span.clone(), "no-oidc-get"),
            (None, _) => (job.key_span.clone(), "no-id-token"),
        };
        let (edits, safe) = oidc_edits(ctx, p, job, oidc, publish_step);
        let mut suggestion = Suggestion::new(
            match system {
                System::Gitlab => "Add the npm ID token to the job",
                System::CircleCi => "Request the npm OIDC token before publishing",
                _ => "Grant the job `id-token: write`",
            },
            if safe {
                Applicability::Safe
            } else {
                Applicability::Unsafe
            },
        );
        suggestion.edits = edits;
        let suggestion = trust_notes(ctx, system, job, suggestion);
        let mut draft = Draft::at(MISCONFIGURED, span)
            .message_key(key)
            .suggestion(suggestion);
        if oidc.inherited {
            draft = draft
                .confidence(Confidence::Low)
                .message_key("no-id-token-reusable");
        }
        emit(ctx, seen, draft);
    }
    if let Some(span) = &job.runner.self_hosted {
        let mut draft = Draft::at(MISCONFIGURED, span.clone())
            .message_key("self-hosted")
            .suggestion(granular_token_suggestion(ctx, system, true));
        if job.runner.self_hosted_guess {
            draft = draft.confidence(Confidence::Medium);
        }
        emit(ctx, seen, draft);
    }
    // Tools that run the npm CLI for the upload (also through `npm run <script>`).
    let needs_npm = [
        "npm publish",
        "npm stage publish",
        "changeset",
        "JS-DevTools/npm-publish",
        "lerna publish",
    ]
    .iter()
    .any(|t| publish.tool.contains(t))
        && !publish.tool.contains("yarn npm publish");
    if needs_npm && pnpm_publishes_natively(ctx, job, &publish.tool) {
        // pnpm >= 11 publishes and exchanges the OIDC token itself: the Node and npm of the
        // job do not matter to trusted publishing.
        return;
    }
    if job.node.is_none() {
        if let Some(setup) = &elsewhere.node {
            // Node comes from a local action: judged by its version, pointed at the `uses:`.
            let v = setup.version.as_deref().and_then(parse_node_version);
            let draft = match v {
                Some(v) if !node_at_least_22_14(v) && !publish.yarn_berry => Some(
                    Draft::at(MISCONFIGURED, setup.uses.clone())
                        .message_key("old-node")
                        .arg("version", setup.version.clone().unwrap_or_default())
                        .suggestion(Suggestion::new(
                            "Use Node 24 (npm >= 11.5.1 bundled) in the local action",
                            Applicability::Manual,
                        )),
                ),
                Some(v) if needs_npm && !node_bundles_oidc_npm(v) && !npm_upgrade => Some(
                    Draft::at(MISCONFIGURED, setup.uses.clone())
                        .message_key("old-npm")
                        .arg("version", setup.version.clone().unwrap_or_default())
                        .suggestion(upgrade_suggestion(ctx, p, job, publish_step)),
                ),
                _ => None,
            };
            if let Some(draft) = draft {
                emit(ctx, seen, draft.related(setup.related.clone()));
            }
            return;
        }
    }
    let version = job
        .node
        .as_ref()
        .and_then(|n| parse_node_version(&n.version).map(|v| (n, v)));
    match version {
        Some((n, v)) if !node_at_least_22_14(v) && !publish.yarn_berry => {
            let mut s =
                Suggestion::new("Use Node 24 (npm >= 11.5.1 bundled)", Applicability::Unsafe);
            if let Some(e) = node_edit(ctx, n) {
                s.edits.push(e);
            }
            if let Some(r) = &n.from_file {
                s = s.note(format!(
                    "set Node 24 where the version is written: {}:{}",
                    r.path, r.line
                ));
            }
            let mut draft = Draft::at(MISCONFIGURED, n.span.clone())
                .message_key("old-node")
                .arg("version", n.version.clone())
                .suggestion(s);
            if let Some(r) = &n.from_file {
                draft = draft.related(r.clone());
            }
            if n.assumed {
                draft = draft.confidence(Confidence::Medium);
            }
            emit(ctx, seen, draft);
        }
        Some((n, v)) if needs_npm && !node_bundles_oidc_npm(v) && !npm_upgrade => {
            let s = upgrade_suggestion(ctx, p, job, publish_step);
            let mut draft = Draft::at(MISCONFIGURED, n.span.clone())
                .message_key("old-npm")
                .arg("version", n.version.clone())
                .suggestion(s);
            if let Some(r) = &n.from_file {
                draft = draft.related(r.clone());
            }
            if n.assumed {
                draft = draft.confidence(Confidence::Medium);
            }
            emit(ctx, seen, draft);
        }
        None if needs_npm
            && !npm_upgrade
            && system.is_github()
            && job.node.is_none()
            && !has_setup_node_expr(job) =>
        {
            let s = upgrade_suggestion(ctx, p, job, publish_step);
            let draft = Draft::at(MISCONFIGURED, publish.span.clone())
                .message_key("no-node-setup")
                .confidence(Confidence::Low)
                .suggestion(s);
            emit(ctx, seen, draft);
        }
        _ => {}
    }
}

/// The publish goes through pnpm 11 or later, which does its own OIDC exchange (pnpm's
/// `releasing/commands/src/publish/oidc`; pnpm <= 10 ran the npm CLI): `pnpm publish`, or
/// changesets in a pnpm repository (it publishes with the repository's package manager). The
/// version is `pnpm/action-setup`'s `version:` input, else `packageManager` in package.json.
fn pnpm_publishes_natively(ctx: &FileCtx<'_>, job: &Job, tool: &str) -> bool {
    let setup = job
        .steps
        .iter()
        .filter_map(|s| s.action.as_ref())
        .find(|a| a.name == "pnpm/action-setup");
    let read = |name: &str| repo_text(ctx, name);
    let pinned = crate::model::toolchain::pnpm_version(&read);
    let inner = underlying_tool(tool);
    let through_pnpm = inner == "pnpm publish"
        || inner.contains("changeset") && (setup.is_some() || pinned.is_some());
    if !through_pnpm {
        return false;
    }
    let version = setup
        .and_then(|a| a.input("version"))
        .filter(|v| v.value.source == Source::Literal)
        .map(|v| v.value.text.clone())
        .or(pinned);
    version
        .as_deref()
        .and_then(crate::model::toolchain::semver)
        .is_some_and(|(major, _, _)| major >= 11)
}

pub(super) fn has_setup_node_expr(job: &Job) -> bool {
    job.steps.iter().any(|s| {
        s.action.as_ref().is_some_and(|a| {
            a.name == "actions/setup-node"
                && (a.input("node-version").is_some() || a.input("node-version-file").is_some())
        })
    })
}

pub(super) fn upgrade_suggestion(
    ctx: &FileCtx<'_>,
    p: &Pipeline,
    job: &Job,
    publish_step: usize,
) -> Suggestion {
    let mut s = Suggestion::new(
        "Upgrade npm to >= 11.5.1 before publishing",
        Applicability::Unsafe,
    );
    if let Some(e) = npm_upgrade_edit(ctx, p.system, job, publish_step) {
        s.edits.push(e);
    } else {
        s = s.note("npm install -g npm@latest");
    }
    s
}

/// A Yarn Berry publish with OIDC available and a token set: Yarn sends the token first.
pub(super) fn yarn_token(
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
    let draft = Draft::at(MISCONFIGURED, first.token.span.clone())
        .message_key("yarn-token")
        .arg("job", job.name.clone())
        .arg("token", first.token.display.clone())
        .suggestion(tool_notes(
            remove_tokens_suggestion(ctx, job, tokens),
            &publish.tool,
        ))
        .identity(who.clone());
    seen.emit(ctx, draft, &who);
}
