//! GitHub Actions: workflows (`.github/workflows/*.yml`) and composite actions (`action.yml`)
//! into the normalized model.
//!
//! What matters here and nowhere else: `env:` at workflow, job and step level (inner wins),
//! `permissions:` where a job-level block replaces the workflow-level one entirely (so
//! `id-token: write` must be in the block that applies), `runs-on` labels for self-hosted
//! runners, and `actions/setup-node`'s `node-version`.

use crate::model::{Model, RefKind};
use crate::parse::yaml::{Document, Node};
use crate::source::Span;

use super::{
    env_block, resolve_in, scripts_of, Action, Block, EnvVar, FileCtx, Job, NodeSetup, Oidc,
    Pipeline, Runner, Source, Step, System,
};

pub fn pipeline(ctx: &FileCtx<'_>, system: System, doc: &Document) -> Pipeline {
    pipeline_in(ctx.model(), system, doc)
}

/// The pipeline of `doc`, a file at `link`'s path in the model (when there is one): the model
/// tells what the callers of a reusable workflow grant.
pub fn pipeline_in(link: Option<(&Model, &str)>, system: System, doc: &Document) -> Pipeline {
    let root = &doc.root;
    let mut jobs = Vec::new();
    if system == System::GithubAction {
        if let Some(steps) = root.get_path(&["runs", "steps"]) {
            let name = root
                .get("name")
                .and_then(Node::as_str)
                .unwrap_or("composite action")
                .to_string();
            let mut job = Job {
                name,
                key_span: root.key_span("runs").unwrap_or(0..0),
                body: root.get("runs").cloned(),
                env: Vec::new(),
                steps: Vec::new(),
                oidc: Oidc {
                    inherited: true,
                    signal: true,
                    ..Oidc::default()
                },
                runner: Runner::default(),
                node: None,
            };
            read_steps(system, steps, &[], &mut job);
            jobs.push(job);
        }
        return Pipeline {
            system,
            jobs,
            root: Some(root.clone()),
        };
    }

    let workflow_env: Vec<EnvVar> = root
        .get_entry("env")
        .map(|e| env_block(system, &e.key, &e.value, &|_| None))
        .unwrap_or_default();
    let reusable = is_reusable(root);
    let workflow_perms = root.get("permissions");
    for (key, body) in root.get("jobs").into_iter().flat_map(Node::iter_map) {
        let Some(name) = key.as_str() else { continue };
        if body.get("uses").is_some() {
            // A call to a reusable workflow: its steps are in the other file.
            continue;
        }
        let job_env: Vec<EnvVar> = body
            .get_entry("env")
            .map(|e| {
                env_block(system, &e.key, &e.value, &|n| {
                    resolve_in(&[&workflow_env], n)
                })
            })
            .unwrap_or_default();
        let perms = body.get("permissions").or(workflow_perms);
        let mut configured = perms.is_some_and(grants_id_token);
        let mut inherited = perms.is_none() && reusable;
        let mut callers_judge = false;
        // A called workflow gets at most its caller's permissions: with the callers in the
        // model, the grant in effect is theirs (narrowed by this file's own block).
        if let Some(grants) = reusable.then(|| caller_grants(link)).flatten() {
            let own = perms.is_none_or(grants_id_token);
            configured = own && grants.iter().any(|g| *g);
            inherited = false;
            callers_judge = own && !configured;
        }
        let mut job = Job {
            name: name.to_string(),
            key_span: key.span(),
            body: Some(body.clone()),
            env: workflow_env.iter().chain(job_env.iter()).cloned().collect(),
            steps: Vec::new(),
            oidc: Oidc {
                configured,
                signal: true,
                wrong_audience: None,
                inherited,
                callers_judge,
            },
            runner: runner(body),
            node: container_node(body),
        };
        let scope: Vec<EnvVar> = job.env.clone();
        if let Some(steps) = body.get("steps") {
            read_steps(system, steps, &scope, &mut job);
        }
        jobs.push(job);
    }
    Pipeline {
        system,
        jobs,
        root: Some(root.clone()),
    }
}

/// Whether each job of this repository calling the reusable workflow at `link` grants
/// `id-token: write` (its own `permissions:`, else its workflow's); `None` when no caller is
/// known (the workflow is called from elsewhere).
fn caller_grants(link: Option<(&Model, &str)>) -> Option<Vec<bool>> {
    let (model, rel) = link?;
    let mut out = Vec::new();
    for r in model
        .refs_to(rel)
        .filter(|r| r.kind == RefKind::GithubWorkflow)
    {
        let Some(docs) = model.file(&r.from).and_then(|f| f.yaml()) else {
            continue;
        };
        for doc in docs.iter() {
            if let Some(grant) = caller_job_grant(&doc.root, &r.span) {
                out.push(grant);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Whether the job whose `uses:` value is at `span` grants `id-token: write`.
pub fn caller_job_grant(root: &Node, span: &Span) -> Option<bool> {
    let (_, body) = root
        .get("jobs")
        .into_iter()
        .flat_map(Node::iter_map)
        .find(|(_, body)| body.get("uses").is_some_and(|u| u.span() == *span))?;
    let perms = body.get("permissions").or(root.get("permissions"));
    Some(perms.is_some_and(grants_id_token))
}

/// `on: workflow_call`: the caller's permissions apply when this file sets none.
pub fn is_reusable(root: &Node) -> bool {
    match root.get("on").or(root.get("true")) {
        Some(on) if on.is_mapping() => on.get("workflow_call").is_some(),
        Some(on) if on.is_sequence() => on.iter_seq().any(|n| n.as_str() == Some("workflow_call")),
        Some(on) => on.as_str() == Some("workflow_call"),
        None => false,
    }
}

/// Whether a `permissions:` value grants `id-token: write`.
pub fn grants_id_token(perms: &Node) -> bool {
    if perms.is_mapping() {
        return perms.get("id-token").and_then(Node::as_str) == Some("write");
    }
    perms.as_str() == Some("write-all")
}

fn runner(body: &Node) -> Runner {
    let mut out = Runner::default();
    let Some(runs_on) = body.get("runs-on") else {
        return out;
    };
    let labels: Vec<&Node> = if runs_on.is_sequence() {
        runs_on.iter_seq().collect()
    } else if runs_on.is_mapping() {
        runs_on
            .get("labels")
            .map(|l| {
                if l.is_sequence() {
                    l.iter_seq().collect()
                } else {
                    vec![l]
                }
            })
            .unwrap_or_default()
    } else {
        vec![runs_on]
    };
    if let Some(l) = labels.into_iter().find(|l| {
        l.as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("self-hosted"))
    }) {
        out.self_hosted = Some(l.span());
    }
    out
}

/// `container: node:18` / `container: {image: node:18}`.
fn container_node(body: &Node) -> Option<NodeSetup> {
    let c = body.get("container")?;
    let image = if c.is_mapping() { c.get("image")? } else { c };
    super::gitlab::node_from_image(image)
}

fn read_steps(system: System, steps: &Node, scope: &[EnvVar], job: &mut Job) {
    for step in steps.iter_seq() {
        let env: Vec<EnvVar> = step
            .get_entry("env")
            .map(|e| env_block(system, &e.key, &e.value, &|n| resolve_in(&[scope], n)))
            .unwrap_or_default();
        let mut scripts = Vec::new();
        if let Some(run) = step.get("run") {
            scripts_of(run, &mut scripts);
        }
        let action = step.get_entry("uses").and_then(|u| {
            let text = u.value.as_str()?;
            let (name, version) = match text.split_once('@') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (text, None),
            };
            let (inputs, inputs_block) = match step.get_entry("with") {
                Some(w) => {
                    let inner: Vec<&[EnvVar]> = vec![scope, &env];
                    (
                        env_block(system, &w.key, &w.value, &|n| resolve_in(&inner, n)),
                        Some(Block {
                            key_span: w.key.span(),
                            value_span: w.value.span(),
                            entries: w.value.as_mapping().map(|m| m.len()).unwrap_or(0),
                        }),
                    )
                }
                None => (Vec::new(), None),
            };
            Some(Action {
                name: name.to_ascii_lowercase(),
                version,
                span: u.value.span(),
                inputs,
                inputs_block,
            })
        });
        if let Some(a) = &action {
            if a.name == "actions/setup-node" {
                if let Some(v) = a.input("node-version") {
                    if v.value.source == Source::Literal {
                        job.node = Some(NodeSetup {
                            version: v.value.text.clone(),
                            span: v.value.span.clone(),
                        });
                    }
                }
            }
        }
        job.steps.push(Step {
            span: step.span(),
            env,
            scripts,
            action,
            list_item: true,
        });
    }
}
