//! GitHub Actions: workflows (`.github/workflows/*.yml`) and composite actions (`action.yml`)
//! into the normalized model.
//!
//! What matters here and nowhere else: `env:` at workflow, job and step level (inner wins),
//! `permissions:` where a job-level block replaces the workflow-level one entirely (so
//! `id-token: write` must be in the block that applies), `runs-on` labels for self-hosted
//! runners, and `actions/setup-node`'s `node-version`.

use crate::finding::Related;
use crate::model::{toolchain, Model, RefKind};
use crate::parse::yaml::{Document, Node};
use crate::source::Span;

use super::{
    env_block, fills, resolve_in, scripts_of, Action, Block, EnvVar, FileCtx, Job, NodeSetup, Oidc,
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
            let inputs = input_values(root, link, RefKind::GithubAction);
            read_steps(system, steps, &[], &mut job, &Around { link, inputs });
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
    let inputs = if reusable {
        input_values(root, link, RefKind::GithubWorkflow)
    } else {
        Vec::new()
    };
    let around = Around { link, inputs };
    let workflow_perms = root.get("permissions");
    for (key, body) in root.get("jobs").into_iter().flat_map(Node::iter_map) {
        let Some(name) = key.as_str() else { continue };
        if let Some(uses) = body.get("uses") {
            // A call to a reusable workflow: its steps are in the other file. One of another
            // repository is judged by what the call passes to it, as a step using it.
            let perms = body.get("permissions").or(workflow_perms);
            jobs.extend(remote_call(system, key, body, uses, perms));
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
            read_steps(system, steps, &scope, &mut job, &around);
        }
        jobs.push(job);
    }
    Pipeline {
        system,
        jobs,
        root: Some(root.clone()),
    }
}

/// A job calling another repository's reusable workflow, as one step using it: its `with:`
/// and `secrets:` are the inputs.
fn remote_call(
    system: System,
    key: &Node,
    body: &Node,
    uses: &Node,
    perms: Option<&Node>,
) -> Option<Job> {
    let text = uses.as_str()?.trim();
    if text.starts_with('.') || text.contains("${{") {
        return None;
    }
    let (name, version) = match text.split_once('@') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (text, None),
    };
    let mut inputs = Vec::new();
    for block in ["with", "secrets"] {
        if let Some(e) = body.get_entry(block).filter(|e| e.value.is_mapping()) {
            inputs.extend(env_block(system, &e.key, &e.value, &|_| None));
        }
    }
    let action = Action {
        name: name.to_ascii_lowercase(),
        version,
        span: uses.span(),
        inputs,
        inputs_block: None,
    };
    Some(Job {
        name: key.as_str()?.to_string(),
        key_span: key.span(),
        body: Some(body.clone()),
        env: Vec::new(),
        steps: vec![Step {
            span: body.span(),
            env: Vec::new(),
            scripts: Vec::new(),
            action: Some(action),
            list_item: false,
        }],
        oidc: Oidc {
            configured: perms.is_some_and(grants_id_token),
            signal: true,
            ..Oidc::default()
        },
        runner: Runner::default(),
        node: None,
    })
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

/// What a job's steps are read with besides their own text: the model, and the values of
/// `inputs.X` in effect.
struct Around<'a> {
    link: Option<(&'a Model, &'a str)>,
    inputs: Vec<InputValue>,
}

impl Around<'_> {
    fn read(&self, name: &str) -> Option<std::sync::Arc<str>> {
        let (model, rel) = self.link?;
        model.repo_file(rel, name)
    }

    /// A related location at `offset` of the repository file `name`.
    fn file_related(&self, name: &str, offset: usize, message: String) -> Option<Related> {
        let (model, rel) = self.link?;
        model.repo_related(rel, name, offset, message)
    }
}

/// The value of a `workflow_call` (or composite action) input in effect, and where it is
/// written.
#[derive(Debug, Clone)]
struct InputValue {
    name: String,
    value: String,
    related: Option<Related>,
    /// A default with no caller in the repository to confirm it.
    assumed: bool,
}

/// The value of each input every caller in the repository agrees on: what its `with:` passes,
/// else the input's `default:`. With no caller in the model, the defaults. An input a caller
/// passes as an expression, or that callers set differently, has no value here.
fn input_values(root: &Node, link: Option<(&Model, &str)>, kind: RefKind) -> Vec<InputValue> {
    let declared = match kind {
        RefKind::GithubWorkflow => root
            .get("on")
            .or(root.get("true"))
            .and_then(|on| on.get("workflow_call"))
            .and_then(|c| c.get("inputs")),
        _ => root.get("inputs"),
    };
    let Some(declared) = declared else {
        return Vec::new();
    };
    // The `with:` mapping of each caller in the model.
    let mut callers: Vec<(String, Option<Node>)> = Vec::new();
    if let Some((model, rel)) = link {
        for r in model.refs_to(rel).filter(|r| r.kind == kind) {
            let Some(docs) = model.file(&r.from).and_then(|f| f.yaml()) else {
                continue;
            };
            for doc in docs.iter() {
                if let Some(with) = caller_with(&doc.root, &r.span, kind) {
                    callers.push((r.from.clone(), with));
                }
            }
        }
    }
    let mut out = Vec::new();
    for (key, spec) in declared.iter_map() {
        let Some(name) = key.as_str() else { continue };
        let default = spec.get("default").filter(|d| !d.is_null());
        let default_value = default
            .and_then(Node::as_str)
            .filter(|v| !v.contains("${{"))
            .map(|v| (v.to_string(), default.map(Node::span)));
        let mut seen: Option<(String, Option<Related>)> = None;
        let mut agreed = true;
        let here = |span: Option<crate::source::Span>, from: &str, message: &str| {
            let (model, _) = link?;
            Some(model.related(from, &span?, message.to_string()))
        };
        let own = link.map(|(_, rel)| rel.to_string()).unwrap_or_default();
        let candidates: Vec<Option<(String, Option<Related>)>> = if callers.is_empty() {
            vec![default_value.clone().map(|(v, span)| {
                let rel = here(span, &own, &format!("input `{name}` defaults to this"));
                (v, rel)
            })]
        } else {
            callers
                .iter()
                .map(
                    |(from, with)| match with.as_ref().and_then(|w| w.get(name)) {
                        Some(v) => v.as_str().filter(|t| !t.contains("${{")).map(|t| {
                            let rel = here(
                                Some(v.span()),
                                from,
                                &format!("input `{name}` is passed here"),
                            );
                            (t.to_string(), rel)
                        }),
                        None => default_value.clone().map(|(v, span)| {
                            let rel = here(span, &own, &format!("input `{name}` defaults to this"));
                            (v, rel)
                        }),
                    },
                )
                .collect()
        };
        for c in candidates {
            match (c, &seen) {
                (None, _) => agreed = false,
                (Some(c), None) => seen = Some(c),
                (Some(c), Some(s)) => agreed &= c.0 == s.0,
            }
        }
        if let (true, Some((value, related))) = (agreed, seen) {
            out.push(InputValue {
                name: name.to_string(),
                value,
                related,
                assumed: callers.is_empty(),
            });
        }
    }
    out
}

/// The `with:` of the caller at `span` (a job's `uses:` for a reusable workflow, a step's for a
/// composite action): `Some(None)` when it passes no inputs, `None` when `span` is no call.
fn caller_with(root: &Node, span: &crate::source::Span, kind: RefKind) -> Option<Option<Node>> {
    for (_, job) in root.get("jobs").into_iter().flat_map(Node::iter_map) {
        if kind == RefKind::GithubWorkflow {
            if job.get("uses").is_some_and(|u| u.span() == *span) {
                return Some(job.get("with").cloned());
            }
            continue;
        }
        for step in job.get("steps").into_iter().flat_map(Node::iter_seq) {
            if step.get("uses").is_some_and(|u| u.span() == *span) {
                return Some(step.get("with").cloned());
            }
        }
    }
    for step in root
        .get_path(&["runs", "steps"])
        .into_iter()
        .flat_map(Node::iter_seq)
    {
        if step.get("uses").is_some_and(|u| u.span() == *span) {
            return Some(step.get("with").cloned());
        }
    }
    None
}

static INPUT_EXPR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"\$\{\{\s*inputs\s*\.\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// `${{ inputs.X }}` in a value replaced by the input's value in effect; the related location
/// of the (last) input used, when one was, and whether that value is an unconfirmed default.
fn substitute_inputs(var: &mut EnvVar, inputs: &[InputValue]) -> Option<(Option<Related>, bool)> {
    if inputs.is_empty() || !var.value.text.contains("inputs") {
        return None;
    }
    let mut related = None;
    let mut all = true;
    let text = INPUT_EXPR
        .replace_all(&var.value.text, |c: &regex::Captures<'_>| {
            let name = c.get(1).map(|m| m.as_str()).unwrap_or("");
            match inputs.iter().find(|i| i.name == name) {
                Some(i) => {
                    related = Some((i.related.clone(), i.assumed));
                    i.value.clone()
                }
                None => {
                    all = false;
                    c.get(0).map(|m| m.as_str().to_string()).unwrap_or_default()
                }
            }
        })
        .into_owned();
    let related = related?;
    if var.value.source == Source::Other && all && !text.contains("${{") {
        var.value.source = if text.trim().is_empty() {
            Source::Empty
        } else {
            Source::Literal
        };
    }
    var.value.text = text;
    Some(related)
}

fn read_steps(system: System, steps: &Node, scope: &[EnvVar], job: &mut Job, around: &Around<'_>) {
    // What earlier steps put into the environment and their outputs.
    let mut fills: Vec<fills::Fill> = Vec::new();
    for step in steps.iter_seq() {
        let filled = |n: &str| fills::resolve(&fills, n);
        let mut env: Vec<EnvVar> = step
            .get_entry("env")
            .map(|e| {
                env_block(system, &e.key, &e.value, &|n| {
                    resolve_in(&[scope], n).or_else(|| filled(n))
                })
            })
            .unwrap_or_default();
        for v in &mut env {
            substitute_inputs(v, &around.inputs);
        }
        let mut scripts = Vec::new();
        if let Some(run) = step.get("run") {
            scripts_of(run, &mut scripts);
        }
        let mut input_related: Vec<(String, (Option<Related>, bool))> = Vec::new();
        let action = step.get_entry("uses").and_then(|u| {
            let text = u.value.as_str()?;
            let (name, version) = match text.split_once('@') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (text, None),
            };
            let (inputs, inputs_block) = match step.get_entry("with") {
                Some(w) => {
                    let inner: Vec<&[EnvVar]> = vec![scope, &env];
                    let mut inputs = env_block(system, &w.key, &w.value, &|n| {
                        resolve_in(&inner, n).or_else(|| filled(n))
                    });
                    for v in &mut inputs {
                        if let Some(r) = substitute_inputs(v, &around.inputs) {
                            input_related.push((v.name.clone(), r));
                        }
                    }
                    (
                        inputs,
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
            if let Some(setup) = node_setup(a, &input_related, around) {
                job.node = Some(setup);
            }
        }
        let step_model = Step {
            span: step.span(),
            env,
            scripts,
            action,
            list_item: true,
        };
        let (id, label) = fills::step_label(step);
        let resolve_env = |n: &str| resolve_in(&[scope, &step_model.env], n);
        let new = fills::step_fills(&step_model, id.as_deref(), &label, &fills, &resolve_env);
        fills.extend(new);
        job.steps.push(step_model);
    }
}

/// The Node a set-up action installs, when its version is known: written in its inputs
/// (directly, or through an input of the workflow whose value is known), or in the repository
/// file it reads (`node-version-file`, `package.json#volta`, `mise.toml`, `.tool-versions`).
fn node_setup(
    a: &Action,
    input_related: &[(String, (Option<Related>, bool))],
    around: &Around<'_>,
) -> Option<NodeSetup> {
    let literal = |name: &str| {
        let v = a.input(name)?;
        if v.value.source != Source::Literal {
            return None;
        }
        // Through `${{ inputs.x }}`: the version is written where the input gets its value.
        let elsewhere = input_related
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, r)| r.clone());
        match elsewhere {
            Some((None, _)) => None,
            Some((Some(r), assumed)) => Some(NodeSetup {
                version: v.value.text.clone(),
                span: v.value.span.clone(),
                from_file: Some(r),
                assumed,
            }),
            None => Some(NodeSetup {
                version: v.value.text.clone(),
                span: v.value.span.clone(),
                from_file: None,
                assumed: false,
            }),
        }
    };
    let from_file = |pinned: toolchain::Pinned, span: crate::source::Span| {
        let related = around.file_related(
            &pinned.file,
            pinned.offset,
            format!("Node {} is pinned here", pinned.version),
        )?;
        Some(NodeSetup {
            version: pinned.version,
            span,
            from_file: Some(related),
            assumed: false,
        })
    };
    let read = |name: &str| around.read(name);
    match a.name.as_str() {
        "actions/setup-node" => literal("node-version").or_else(|| {
            let file = a.input("node-version-file")?;
            if a.input("node-version").is_some() || file.value.source != Source::Literal {
                return None;
            }
            from_file(
                toolchain::node_version_file(&read, &file.value.text)?,
                file.value.span.clone(),
            )
        }),
        "volta-cli/action" => literal("node-version")
            .or_else(|| from_file(toolchain::volta(&read).0?, a.span.clone())),
        "jdx/mise-action" => from_file(toolchain::mise_node(&read)?, a.span.clone()),
        "asdf-vm/actions/install" => from_file(toolchain::asdf_node(&read)?, a.span.clone()),
        _ => None,
    }
}
