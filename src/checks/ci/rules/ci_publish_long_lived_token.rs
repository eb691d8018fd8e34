//! `ci-publish-long-lived-token`: a job publishing to npm with a stored token; the rewrite is
//! trusted publishing where the CI system supports it, a short-lived granular token elsewhere.

use super::*;

pub(super) const PUBLISH: &str = "ci-publish-long-lived-token";

/// The publish rules of one job; returns the token writes its rewrite deletes.
#[allow(clippy::too_many_arguments)]
pub(super) fn publish_rules(
    ctx: &mut FileCtx<'_>,
    p: &Pipeline,
    repo_registry: &Option<String>,
    job: &Job,
    steps: &[StepFacts],
    elsewhere: &local_uses::Elsewhere,
    seen: &mut Seen,
    reported: &mut HashSet<(usize, usize)>,
    inventory: &mut Vec<(EnvVar, String)>,
) -> Vec<Span> {
    let system = p.system;
    let mut superseded: Vec<Span> = Vec::new();
    // Publishes to npm.
    let mut publishes: Vec<(usize, &Publish)> = Vec::new();
    for (i, sf) in steps.iter().enumerate() {
        for p in &sf.facts.publishes {
            let registry = publish_registry(ctx, job, steps, i, p, repo_registry.as_deref());
            if p.dry_run || registry.as_deref().is_some_and(|r| !is_npm_registry(r)) {
                continue;
            }
            publishes.push((i, p));
        }
    }
    let job_npm_upgrade = steps.iter().any(|s| s.facts.npm_upgrade) || elsewhere.npm_upgrade;
    let job_oidc_get = steps.iter().find_map(|s| s.facts.oidc_get.clone());

    // Inventory of the tokens the job reads; those that reach a publish are reported by the
    // publish rules and dropped from it at the end.
    for var in job
        .env
        .iter()
        .chain(job.steps.iter().flat_map(|s| s.env.iter()))
    {
        if var.is_token(ctx) && var.value.source.is_stored() {
            inventory.push((var.clone(), job.name.clone()));
        }
    }
    if publishes.is_empty() {
        return superseded;
    }

    let mut oidc = job.oidc.clone();
    if let Some((span, npm_aud)) = &job_oidc_get {
        oidc.signal = true;
        oidc.configured |= *npm_aud;
        if !*npm_aud {
            oidc.wrong_audience = oidc.wrong_audience.or(Some(span.clone()));
        }
    }

    // One finding per job, at the first npm publish that is handed a token (the first publish
    // when none is). It covers the tokens of every publish step: a later `npm publish --tag`
    // step with its own token is the same problem, and the rewrite must remove it too.
    let per_step: Vec<Vec<JobToken>> = publishes
        .iter()
        .map(|&(i, _)| tokens_for(ctx, job, steps, i))
        .collect();
    let chosen = per_step.iter().position(|t| !t.is_empty()).unwrap_or(0);
    let Some(&(publish_step, publish)) = publishes.get(chosen) else {
        return superseded;
    };
    let mut tokens: Vec<JobToken> = Vec::new();
    for t in per_step.into_iter().skip(chosen).flatten() {
        if !tokens.iter().any(|k| k.token.span == t.token.span) {
            tokens.push(t);
        }
    }
    let short_lived = env_token_from(ctx, job, publish_step, &Source::ShortLived)
        || publish
            .inline
            .iter()
            .any(|t| t.source == Source::ShortLived);

    if let Some(first) = tokens.first() {
        for t in &tokens {
            reported.insert((t.token.span.start, t.token.span.end));
        }
        // Every suggestion below but the granular-token one removes the token writes.
        let rewrites =
            oidc.configured || system.trusted_publishing() && job.runner.self_hosted.is_none();
        if rewrites {
            for t in &tokens {
                if let Origin::Write(w, si) = &t.origin {
                    let removed = job
                        .steps
                        .get(*si)
                        .and_then(|st| write_removal(ctx.text, st, w))
                        .is_some();
                    if removed {
                        superseded.push(w.span.clone());
                    }
                }
            }
        }
        let who = format!("{} {}", job.name, publish.tool);
        if oidc.configured && publish.yarn_berry {
            trusted_publishing_misconfigured::yarn_token(ctx, job, publish, &tokens, seen);
        } else if oidc.configured {
            oidc_token_still_set::report(ctx, job, (steps, publish_step), publish, &tokens, seen);
        } else {
            let supported = system.trusted_publishing() && job.runner.self_hosted.is_none();
            if publish.tool.contains("npm stage publish") {
                // Staged publishing with a stored token is the recommended shape where OIDC is
                // not available: only ask that the token be stage-only, unless its name says so.
                // At info, with the token inventory: that also lets the `npm stage publish`
                // rewrite below re-scan clean.
                if first.token.display.to_ascii_lowercase().contains("stage") {
                    return superseded;
                }
                let draft = Draft::at(PUBLISH, first.token.span.clone())
                    .message_key("staged")
                    .severity(crate::finding::Severity::Info)
                    .arg("system", system.display())
                    .arg("job", job.name.clone())
                    .arg("token", first.token.display.clone())
                    .arg("tool", publish.tool.clone())
                    .suggestion(
                        Suggestion::new("Make the token stage-only", Applicability::Manual)
                            .note(crate::advice::stage_only_token_create(
                                &crate::advice::ci_slug(system.display()),
                                &package_info(ctx).0,
                            ))
                            .note(crate::advice::STAGE_TOKEN_CHECK),
                    )
                    .identity(who.clone());
                seen.emit(ctx, draft, &who);
                return superseded;
            }
            let suggestion = if supported {
                trusted_publishing_rewrite(ctx, p, job, steps, publish_step, publish, &tokens)
            } else {
                let mut s =
                    granular_token_suggestion(ctx, system, job.runner.self_hosted.is_some());
                // The job's own `npm publish` commands become `npm stage publish`; applying it
                // needs the stage-only token first, so it is unsafe.
                s.edits = stage_publish_edits(ctx.text, &publishes);
                if !s.edits.is_empty() {
                    s.applicability = Applicability::Unsafe;
                }
                let upgrades = steps.iter().any(|s| s.facts.npm_upgrade);
                match old_npm_note(system, job).filter(|_| !upgrades) {
                    Some(note) => s.note(note),
                    None => s,
                }
            };
            // A secret manager's (or a script's) value: a credential, lifetime unknown.
            let fetched = crate::checks::ci::fills::split_fetched(&first.token.display)
                .filter(|_| all_fetched(&tokens));
            let suggestion = if publish.unread {
                remote_uses::unread_suggestion(publish, system)
            } else {
                suggestion
            };
            let suggestion = match fetched {
                Some((_, by)) => suggestion.note(format!(
                    "then stop fetching the npm token ({by}) and revoke it in the store it comes from"
                )),
                None => suggestion,
            };
            let (key, token) = match fetched {
                Some((name, _)) if supported => ("fetched", name.to_string()),
                _ if supported => ("supported", first.token.display.clone()),
                _ => ("unsupported", first.token.display.clone()),
            };
            let mut draft = Draft::at(PUBLISH, first.token.span.clone())
                .message_key(key)
                .arg("system", system.display())
                .arg("job", job.name.clone())
                .arg("token", token)
                .arg("tool", publish.tool.clone())
                .suggestion(suggestion)
                .identity(who.clone());
            if publish.unread {
                draft = draft.confidence(Confidence::Medium);
            }
            if let Some((_, by)) = fetched {
                draft = draft
                    .confidence(Confidence::Medium)
                    .arg("source", by.to_string());
            }
            seen.emit(ctx, draft, &who);
        }
        return superseded;
    }

    if steps
        .iter()
        .any(|s| s.facts.logins.iter().any(|l| !l.local))
    {
        // The job logs in (reported as npm-login-in-automation): that session, not OIDC, is
        // what the publish uses.
        return superseded;
    }
    if short_lived {
        // `secrets.GITHUB_TOKEN`/`$CI_JOB_TOKEN` as the publish credential: the package goes to
        // the CI platform's own registry, not npmjs.org.
        return superseded;
    }
    let opaque = env_token_from(ctx, job, publish_step, &Source::Other);
    if opaque {
        // A token from somewhere this file does not show (`steps.vault.outputs.token`): the job
        // has a credential, so it is not relying on OIDC.
        return superseded;
    }
    let relies_on_oidc = match system {
        System::GithubWorkflow | System::GithubAction => true,
        _ => oidc.signal || publish.provenance,
    };
    if !relies_on_oidc {
        return superseded;
    }
    trusted_publishing_misconfigured::misconfiguration(
        ctx,
        p,
        job,
        publish_step,
        publish,
        &oidc,
        job_npm_upgrade,
        elsewhere,
        seen,
    );
    superseded
}

/// Whether the job's or the publish step's environment hands an npm token from `source`.
fn env_token_from(ctx: &FileCtx<'_>, job: &Job, publish_step: usize, source: &Source) -> bool {
    let step_env = job.steps.get(publish_step).map(|s| s.env.iter());
    job.env
        .iter()
        .chain(step_env.into_iter().flatten())
        .any(|v| v.is_token(ctx) && v.value.source == *source)
}

/// `npm publish` → `npm stage publish` in the commands written in this file (not those run
/// through a package script or a repository script, whose text is elsewhere).
fn stage_publish_edits(text: &str, publishes: &[(usize, &Publish)]) -> Vec<crate::finding::Edit> {
    let mut edits: Vec<crate::finding::Edit> = publishes
        .iter()
        .filter(|(_, p)| p.tool == "npm publish")
        .filter_map(|(_, p)| {
            let command = text.get(p.span.clone())?;
            let at = command.find("npm publish")?;
            (command.matches("npm publish").count() == 1).then(|| {
                edit(
                    p.span.start + at..p.span.start + at + 11,
                    "npm stage publish",
                )
            })
        })
        .collect();
    edits.sort_by_key(|e| e.span.start);
    edits.dedup_by_key(|e| e.span.start);
    edits
}

/// A job whose Node (a `node:22` image, Jenkins `tools { nodejs 'node22' }`) comes with an npm
/// older than 11.20.0, which refuses stage-only tokens: the upgrade `npm stage publish` needs.
fn old_npm_note(system: System, job: &Job) -> Option<String> {
    if !system.tailored_npmrc_advice() {
        return None;
    }
    let node = job.node.as_ref()?;
    let version = crate::checks::ci::parse_node_version(&node.version)?;
    if crate::checks::ci::node_bundles_oidc_npm(version) {
        return None;
    }
    let how = if system == System::Jenkins {
        ", or give the NodeJS tool installation (`tools { nodejs ... }`, `nodejs(...)`) a current npm"
    } else {
        ""
    };
    Some(format!(
        "this job runs Node {}, whose bundled npm is older than 11.20.0 and refuses stage-only tokens: run `npm install -g npm@latest` before `npm stage publish`{how}",
        node.version
    ))
}

/// Every token reaching the publish was fetched at run time by an earlier step (a secret
/// manager, a `$GITHUB_ENV` write of a computed value): none is known to be a stored secret.
pub(super) fn all_fetched(tokens: &[JobToken]) -> bool {
    tokens
        .iter()
        .all(|t| crate::checks::ci::fills::split_fetched(&t.token.display).is_some())
}
