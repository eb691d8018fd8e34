//! Azure Pipelines (`azure-pipelines*.yml`, `.azure-pipelines/**`, `.devops/**`) into the
//! normalized model.
//!
//! Steps live at the root, under `jobs:`, or under `stages: jobs:`; deployment jobs keep them
//! under `strategy: <name>: deploy: steps:`. Script steps are `script:`, `bash:`, `pwsh:`,
//! `powershell:`; tasks are `task: Name@N` with `inputs:`. Secrets are `$(name)` macros and
//! service connections (`npmAuthenticate` `customEndpoint`, `Npm@1` `publishEndpoint`). Azure
//! Pipelines is not an npm trusted-publishing provider.

use crate::parse::yaml::{Document, Node};

use super::{
    env_block, resolve_in, scripts_of, Action, Block, EnvVar, FileCtx, Job, NodeSetup, Oidc,
    Pipeline, Runner, Source, Step, System,
};

const SCRIPT_KEYS: &[&str] = &["script", "bash", "pwsh", "powershell"];

pub fn pipeline(ctx: &FileCtx<'_>, doc: &Document) -> Pipeline {
    let root = &doc.root;
    let mut jobs = Vec::new();
    let global = variables(root.get_entry("variables").map(|e| (&e.key, &e.value)), &[]);
    if root.get("steps").is_some() {
        jobs.push(job(
            "pipeline",
            root.span.start..root.span.start,
            root,
            &global,
        ));
    }
    job_list(root.get("jobs"), &global, &mut jobs);
    for stage in root.get("stages").into_iter().flat_map(Node::iter_seq) {
        let stage_vars = variables(
            stage.get_entry("variables").map(|e| (&e.key, &e.value)),
            &global,
        );
        let scope: Vec<EnvVar> = global.iter().chain(stage_vars.iter()).cloned().collect();
        job_list(stage.get("jobs"), &scope, &mut jobs);
    }
    // `extends: template:` with the pipeline's stages, jobs or steps handed to the template as
    // a `stageList`/`jobList`/`stepList` parameter: they run as written here.
    for (key, value) in root
        .get_path(&["extends", "parameters"])
        .into_iter()
        .flat_map(Node::iter_map)
    {
        let items: Vec<&Node> = value.iter_seq().collect();
        if items.iter().any(|i| i.get("stage").is_some()) {
            for stage in items {
                let stage_vars = variables(
                    stage.get_entry("variables").map(|e| (&e.key, &e.value)),
                    &global,
                );
                let scope: Vec<EnvVar> = global.iter().chain(stage_vars.iter()).cloned().collect();
                job_list(stage.get("jobs"), &scope, &mut jobs);
            }
        } else if items
            .iter()
            .any(|i| i.get("job").is_some() || i.get("deployment").is_some())
        {
            job_list(Some(value), &global, &mut jobs);
        } else if items.iter().any(|i| is_step(i)) {
            let name = key.as_str().unwrap_or("steps");
            let span = key.span().start..key.span().start;
            jobs.push(job_with(name, span, value, vec![value], &global));
        }
    }
    // Values a template reads from `${{ parameters.x }}` are what its callers pass.
    let params = caller_parameters(ctx);
    if !params.is_empty() {
        let resolve = |n: &str| {
            n.strip_prefix("parameters.")
                .and_then(|p| params.get(p))
                .cloned()
        };
        for job in &mut jobs {
            let vars = job.env.iter_mut().chain(job.steps.iter_mut().flat_map(|s| {
                s.env
                    .iter_mut()
                    .chain(s.action.iter_mut().flat_map(|a| a.inputs.iter_mut()))
            }));
            for v in vars {
                if v.value.text.contains("parameters.") {
                    v.value.source = super::classify_value(System::Azure, &v.value.text, &resolve);
                }
            }
        }
    }
    Pipeline {
        system: System::Azure,
        jobs,
        root: Some(root.clone()),
    }
}

/// What the callers of this template (files of the model with a `template:` reaching it) pass
/// as parameter `name`, else the template's own `default:`.
pub fn template_parameter(ctx: &FileCtx<'_>, name: &str) -> Option<Source> {
    caller_parameters(ctx).remove(name)
}

/// Every parameter the callers of this template pass, by name: a stored token when any caller
/// passes one (that caller publishes with it), else the first caller's value; then the
/// template's own defaults for the rest.
fn caller_parameters(ctx: &FileCtx<'_>) -> std::collections::BTreeMap<String, Source> {
    let mut out: std::collections::BTreeMap<String, Source> = std::collections::BTreeMap::new();
    let Some((model, rel)) = ctx.model() else {
        return out;
    };
    let classify = |text: &str| super::classify_value(System::Azure, text, &|_| None);
    for r in model
        .refs_to(rel)
        .filter(|r| r.kind == crate::model::RefKind::AzureTemplate)
    {
        let Some(docs) = model.file(&r.from).and_then(|f| f.yaml()) else {
            continue;
        };
        for doc in docs.iter() {
            let Some(call) = template_call(&doc.root, &r.span, 0) else {
                continue;
            };
            for (k, v) in call.get("parameters").into_iter().flat_map(Node::iter_map) {
                let (Some(k), Some(text)) = (k.as_str(), v.as_str()) else {
                    continue;
                };
                let source = classify(text);
                let keep = out.get(k).is_some_and(Source::is_stored);
                if !keep {
                    out.insert(k.to_string(), source);
                }
            }
        }
    }
    if let Ok(docs) = ctx.yaml_docs() {
        for doc in docs.iter() {
            for p in doc
                .root
                .get("parameters")
                .into_iter()
                .flat_map(Node::iter_seq)
            {
                let (Some(n), Some(d)) = (
                    p.get("name").and_then(Node::as_str),
                    p.get("default").and_then(Node::as_str),
                ) else {
                    continue;
                };
                out.entry(n.to_string()).or_insert_with(|| classify(d));
            }
        }
    }
    out
}

/// The mapping whose `template:` value is at `span` (the call of a template).
fn template_call<'a>(node: &'a Node, span: &crate::source::Span, depth: usize) -> Option<&'a Node> {
    if depth > 64 {
        return None;
    }
    if node.get("template").is_some_and(|t| t.span() == *span) {
        return Some(node);
    }
    node.iter_map()
        .map(|(_, v)| v)
        .chain(node.iter_seq())
        .find_map(|c| template_call(c, span, depth + 1))
}

/// A step, followed by the steps it hands to its template (`- template: x.yml` with a
/// `stepList` parameter): the template runs them where it inserts `${{ parameters.x }}`.
fn with_passed_steps(step: &Node) -> Vec<&Node> {
    let mut out = vec![step];
    if step.get("template").is_some() {
        for (_, v) in step.get("parameters").into_iter().flat_map(Node::iter_map) {
            if v.iter_seq().any(is_step) {
                out.extend(v.iter_seq());
            }
        }
    }
    out
}

/// Jobs, with those a `- template: x.yml` item hands to its template as a `jobList` parameter.
fn job_list(list: Option<&Node>, scope: &[EnvVar], jobs: &mut Vec<Job>) {
    let items = list.into_iter().flat_map(Node::iter_seq).flat_map(|j| {
        let mut out = vec![j];
        if j.get("template").is_some() {
            for (_, v) in j.get("parameters").into_iter().flat_map(Node::iter_map) {
                if v.iter_seq()
                    .any(|i| i.get("job").is_some() || i.get("deployment").is_some())
                {
                    out.extend(v.iter_seq());
                }
            }
        }
        out
    });
    for j in items {
        if j.get("template").is_some() && j.get("job").is_none() && j.get("deployment").is_none() {
            continue;
        }
        let name = j
            .get("job")
            .or(j.get("deployment"))
            .and_then(Node::as_str)
            .unwrap_or("job")
            .to_string();
        let key = j.span.start..j.span.start;
        jobs.push(job(&name, key, j, scope));
    }
}

/// `variables:` as a mapping or as a list of `name:`/`value:` items (groups are opaque).
fn variables(entry: Option<(&Node, &Node)>, outer: &[EnvVar]) -> Vec<EnvVar> {
    let Some((k, v)) = entry else {
        return Vec::new();
    };
    if v.is_mapping() {
        return env_block(System::Azure, k, v, &|n| resolve_in(&[outer], n));
    }
    let mut out = Vec::new();
    for item in v.iter_seq() {
        let (Some(name), Some(value)) = (item.get("name"), item.get("value")) else {
            continue;
        };
        let (Some(n), Some(text)) = (name.as_str(), value.as_str()) else {
            continue;
        };
        out.push(EnvVar {
            name: n.to_string(),
            key_span: name.span(),
            value: super::Value {
                text: text.to_string(),
                span: value.span(),
                source: super::classify_value(System::Azure, text, &|x| resolve_in(&[outer], x)),
            },
            entry_span: item.span(),
            block: None,
        });
    }
    out
}

/// A step of a step list: a script, a task, or a step template.
fn is_step(item: &Node) -> bool {
    SCRIPT_KEYS
        .iter()
        .chain(["task", "template", "checkout", "download", "publish"].iter())
        .any(|k| item.get(k).is_some())
}

fn job(name: &str, key_span: crate::source::Span, body: &Node, scope: &[EnvVar]) -> Job {
    let mut steps_nodes: Vec<&Node> = body.get("steps").into_iter().collect();
    if let Some(strategy) = body.get("strategy") {
        for (_, phase) in strategy.iter_map() {
            for (_, hook) in phase.iter_map() {
                if let Some(s) = hook.get("steps") {
                    steps_nodes.push(s);
                }
            }
        }
    }
    job_with(name, key_span, body, steps_nodes, scope)
}

/// A job of `body` (its variables and pool) running the steps of `steps_nodes`.
fn job_with(
    name: &str,
    key_span: crate::source::Span,
    body: &Node,
    steps_nodes: Vec<&Node>,
    scope: &[EnvVar],
) -> Job {
    let own = variables(
        body.get_entry("variables").map(|e| (&e.key, &e.value)),
        scope,
    );
    let env: Vec<EnvVar> = scope.iter().chain(own.iter()).cloned().collect();
    let mut steps = Vec::new();
    let mut node = None;
    for list in steps_nodes {
        for s in list.iter_seq().flat_map(with_passed_steps) {
            let step_env: Vec<EnvVar> = s
                .get_entry("env")
                .map(|e| env_block(System::Azure, &e.key, &e.value, &|n| resolve_in(&[&env], n)))
                .unwrap_or_default();
            let mut scripts = Vec::new();
            for k in SCRIPT_KEYS {
                if let Some(n) = s.get(k) {
                    scripts_of(n, &mut scripts);
                }
            }
            // The script tasks run `inputs.script`: `CmdLine@2` always, `Bash@3` and
            // `PowerShell@2` with `targetType: inline` (their default runs `filePath`).
            let task = s.get("task").and_then(Node::as_str).unwrap_or("");
            let task = task.split('@').next().unwrap_or("").to_ascii_lowercase();
            if matches!(task.as_str(), "cmdline" | "bash" | "powershell") {
                let inputs = s.get("inputs");
                let inline = inputs
                    .and_then(|i| i.get("targetType"))
                    .and_then(Node::as_str)
                    .map_or(task == "cmdline", |t| t.eq_ignore_ascii_case("inline"));
                if let (Some(n), true) = (inputs.and_then(|i| i.get("script")), inline) {
                    scripts_of(n, &mut scripts);
                }
            }
            let action = s.get_entry("task").and_then(|t| {
                let full = t.value.as_str()?;
                let (n, v) = match full.split_once('@') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (full, None),
                };
                let (inputs, block) = match s.get_entry("inputs") {
                    Some(i) => (
                        env_block(System::Azure, &i.key, &i.value, &|x| {
                            resolve_in(&[&env, &step_env], x)
                        }),
                        Some(Block {
                            key_span: i.key.span(),
                            value_span: i.value.span(),
                            entries: i.value.as_mapping().map(|m| m.len()).unwrap_or(0),
                        }),
                    ),
                    None => (Vec::new(), None),
                };
                Some(Action {
                    name: n.to_ascii_lowercase(),
                    version: v,
                    span: t.value.span(),
                    inputs,
                    inputs_block: block,
                })
            });
            if let Some(a) = &action {
                if matches!(a.name.as_str(), "nodetool" | "usenode") {
                    if let Some(v) = a.input("versionSpec").or(a.input("version")) {
                        node = Some(NodeSetup {
                            version: v.value.text.clone(),
                            span: v.value.span.clone(),
                            from_file: None,
                            assumed: false,
                        });
                    }
                }
            }
            steps.push(Step {
                span: s.span(),
                env: step_env,
                scripts,
                action,
                list_item: true,
            });
        }
    }
    let mut runner = Runner::default();
    if let Some(pool) = body.get("pool") {
        // A named pool without `vmImage` is a self-hosted agent pool.
        let named = if pool.is_mapping() {
            pool.get("vmImage")
                .is_none()
                .then(|| pool.get("name"))
                .flatten()
        } else {
            Some(pool)
        };
        if let Some(n) = named {
            runner.self_hosted = Some(n.span());
            runner.self_hosted_guess = true;
        }
    }
    Job {
        name: name.to_string(),
        key_span,
        body: Some(body.clone()),
        env,
        steps,
        oidc: Oidc::default(),
        runner,
        node,
    }
}
