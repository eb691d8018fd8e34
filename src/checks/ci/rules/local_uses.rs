//! What a GitHub job takes from files of its own repository, read from the model: the steps of
//! a local composite action (`uses: ./.github/actions/x`, `uses: ./`) count as the calling
//! job's (its Node set-up, npm upgrades and publishes), and a call to a local reusable workflow
//! (`jobs.<id>.uses: ./.github/workflows/x.yml`) is judged with the caller's permissions, the
//! only ones the called jobs can have.

use super::*;
use crate::checks::ci::github;
use crate::finding::Related;
use crate::parse::yaml::Node;

/// What a job's local actions do that the job's own file does not show.
#[derive(Debug, Default)]
pub(super) struct Elsewhere {
    /// Node is set up by a local action.
    pub node: Option<NodeElsewhere>,
    /// A local action upgrades npm.
    pub npm_upgrade: bool,
}

#[derive(Debug)]
pub(super) struct NodeElsewhere {
    /// The `uses:` value of the step running the action, in this file.
    pub uses: Span,
    /// The version, when the action writes it literally.
    pub version: Option<String>,
    pub related: Related,
}

/// Actions that install Node for the job from a version file or their own config.
const NODE_SETUP_ACTIONS: &[&str] = &[
    "actions/setup-node",
    "volta-cli/action",
    "jdx/mise-action",
    "asdf-vm/actions/setup",
    "asdf-vm/actions/install",
    "pnpm/action-setup",
    "oven-sh/setup-bun",
];

fn sets_up_node(job: &Job) -> Option<&Step> {
    job.steps.iter().find(|s| {
        s.action
            .as_ref()
            .is_some_and(|a| NODE_SETUP_ACTIONS.contains(&a.name.as_str()))
    })
}

/// The local action a step uses, from the model: its path in the model and its pipeline.
fn local_action(ctx: &FileCtx<'_>, a: &Action) -> Option<(String, Vec<Pipeline>)> {
    if !(a.name.starts_with("./") || a.name == ".") {
        return None;
    }
    let (model, rel) = ctx.model()?;
    let r = model.reference_at(rel, &a.span)?;
    let docs = model.file(&r.to)?.yaml()?;
    let link = Some((model, r.to.as_str()));
    let pipelines = docs
        .iter()
        .map(|d| github::pipeline_in(link, System::GithubAction, d))
        .collect();
    Some((r.to.clone(), pipelines))
}

/// Adds what the local composite actions of `job` do to the facts of the steps using them.
pub(super) fn inline_local_actions(
    ctx: &FileCtx<'_>,
    job: &Job,
    steps: &mut [StepFacts],
    package_scripts: &std::collections::BTreeMap<String, String>,
    seen: &mut Seen,
) -> Elsewhere {
    let mut out = Elsewhere::default();
    let Some((model, _)) = ctx.model() else {
        return out;
    };
    for (i, step) in job.steps.iter().enumerate() {
        let Some(a) = &step.action else { continue };
        let Some((target, pipelines)) = local_action(ctx, a) else {
            continue;
        };
        let caller_passes_token = a
            .inputs
            .iter()
            .any(|inp| tokenish_name(&inp.name) && inp.value.source.is_stored());
        for cjob in pipelines.iter().flat_map(|p| p.jobs.iter()) {
            let cfacts = step_facts(ctx, System::GithubAction, cjob, package_scripts);
            if job.node.is_none() && out.node.is_none() {
                if let Some(n) = &cjob.node {
                    out.node = Some(NodeElsewhere {
                        uses: a.span.clone(),
                        version: Some(n.version.clone()),
                        related: n.from_file.clone().unwrap_or_else(|| {
                            model.related(&target, &n.span, "Node is set up here")
                        }),
                    });
                } else if let Some(s) = sets_up_node(cjob) {
                    out.node = Some(NodeElsewhere {
                        uses: a.span.clone(),
                        version: None,
                        related: model.related(&target, &s.span, "Node is set up here"),
                    });
                }
            }
            out.npm_upgrade |= cfacts.iter().any(|s| s.facts.npm_upgrade);
            for (ci, sf) in cfacts.iter().enumerate() {
                let own_token = !tokens_for(ctx, cjob, &cfacts, ci).is_empty()
                    || cjob
                        .env
                        .iter()
                        .chain(cjob.steps.get(ci).into_iter().flat_map(|s| s.env.iter()))
                        .any(|v| v.is_token(ctx) && v.value.source == Source::Other);
                for publish in &sf.facts.publishes {
                    // A token the action reads from its own inputs reaches the publish only
                    // through this step's `with:`; without one it has a credential of its
                    // own that this file does not show.
                    if own_token && !caller_passes_token {
                        continue;
                    }
                    let merged = publish.run_from(&a.name, a.span.clone());
                    let related = model.related(
                        &target,
                        &publish.span,
                        format!("`{}` runs here", publish.tool),
                    );
                    seen.related
                        .push((a.span.clone(), merged.tool.clone(), related));
                    if let Some(s) = steps.get_mut(i) {
                        s.facts.publishes.push(merged);
                    }
                }
            }
        }
    }
    out
}

/// Calls of local reusable workflows whose publishing jobs rely on trusted publishing while the
/// calling job does not grant `id-token: write`: reported on the caller's `uses:` line.
pub(super) fn reusable_calls(
    ctx: &mut FileCtx<'_>,
    pipeline: &Pipeline,
    package_scripts: &std::collections::BTreeMap<String, String>,
    seen: &mut Seen,
) {
    if pipeline.system != System::GithubWorkflow {
        return;
    }
    let (Some(root), Some((model, rel))) = (&pipeline.root, ctx.model()) else {
        return;
    };
    for (key, body) in root.get("jobs").into_iter().flat_map(Node::iter_map) {
        let (Some(caller), Some(uses)) = (key.as_str(), body.get("uses")) else {
            continue;
        };
        let Some(r) = model
            .reference_at(rel, &uses.span())
            .filter(|r| r.kind == crate::model::RefKind::GithubWorkflow)
        else {
            continue;
        };
        if github::caller_job_grant(root, &uses.span()) != Some(false) {
            continue;
        }
        let Some(docs) = model.file(&r.to).and_then(|f| f.yaml()) else {
            continue;
        };
        for doc in docs.iter() {
            let callee = github::pipeline_in(Some((model, &r.to)), System::GithubWorkflow, doc);
            for cjob in &callee.jobs {
                // A callee job whose own block lacks the grant is reported in its own file.
                let own = cjob
                    .body
                    .as_ref()
                    .and_then(|b| b.get("permissions"))
                    .or(doc.root.get("permissions"));
                if !own.is_none_or(github::grants_id_token) {
                    continue;
                }
                let Some(publish) = oidc_publish(ctx, cjob, package_scripts) else {
                    continue;
                };
                let pseudo = Job {
                    name: caller.to_string(),
                    key_span: key.span(),
                    body: Some(body.clone()),
                    env: Vec::new(),
                    steps: cjob.steps.clone(),
                    oidc: Default::default(),
                    runner: Default::default(),
                    node: None,
                };
                let nl = edits::newline(ctx.text);
                let (edits, safe) = github_permissions(ctx.text, nl, Some(root), body, &pseudo);
                let mut suggestion = Suggestion::new(
                    format!("Grant `id-token: write` to job `{caller}`"),
                    if safe {
                        Applicability::Safe
                    } else {
                        Applicability::Unsafe
                    },
                );
                suggestion.edits = edits;
                let suggestion = trust_notes(ctx, System::GithubWorkflow, cjob, suggestion);
                let workflow = model.display(&r.to);
                let who = format!("{caller} {} {}", cjob.name, publish.tool);
                let draft = Draft::at(trusted_publishing_misconfigured::MISCONFIGURED, uses.span())
                    .message_key("no-id-token-caller")
                    .arg("caller", caller)
                    .arg("workflow", workflow)
                    .arg("job", cjob.name.clone())
                    .arg("tool", publish.tool.clone())
                    .related(model.related(
                        &r.to,
                        &publish.span,
                        format!(
                            "job `{}` publishes here relying on trusted publishing",
                            cjob.name
                        ),
                    ))
                    .suggestion(suggestion)
                    .identity(who.clone());
                seen.emit(ctx, draft, &who);
            }
        }
    }
}

/// The first publish of `job` to npmjs that relies on trusted publishing: no token reaches it,
/// no login precedes it, nothing opaque is in its environment.
fn oidc_publish(
    ctx: &FileCtx<'_>,
    job: &Job,
    package_scripts: &std::collections::BTreeMap<String, String>,
) -> Option<Publish> {
    let steps = step_facts(ctx, System::GithubWorkflow, job, package_scripts);
    if steps
        .iter()
        .any(|s| s.facts.logins.iter().any(|l| !l.local))
    {
        return None;
    }
    let repo_registry = repo_registry(ctx);
    for (i, sf) in steps.iter().enumerate() {
        for p in &sf.facts.publishes {
            let registry = publish_registry(ctx, job, &steps, i, p, repo_registry.as_deref());
            if p.dry_run || registry.as_deref().is_some_and(|r| !is_npm_registry(r)) {
                continue;
            }
            let credential = !tokens_for(ctx, job, &steps, i).is_empty()
                || job
                    .env
                    .iter()
                    .chain(job.steps.get(i).into_iter().flat_map(|s| s.env.iter()))
                    .any(|v| v.is_token(ctx) && v.value.source != Source::Empty);
            if credential {
                return None;
            }
            return Some(p.clone());
        }
    }
    None
}
