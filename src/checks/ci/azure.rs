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
    Pipeline, Runner, Step, System,
};

const SCRIPT_KEYS: &[&str] = &["script", "bash", "pwsh", "powershell"];

pub fn pipeline(_ctx: &FileCtx<'_>, doc: &Document) -> Pipeline {
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
    Pipeline {
        system: System::Azure,
        jobs,
        root: Some(root.clone()),
    }
}

fn job_list(list: Option<&Node>, scope: &[EnvVar], jobs: &mut Vec<Job>) {
    for j in list.into_iter().flat_map(Node::iter_seq) {
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

fn job(name: &str, key_span: crate::source::Span, body: &Node, scope: &[EnvVar]) -> Job {
    let own = variables(
        body.get_entry("variables").map(|e| (&e.key, &e.value)),
        scope,
    );
    let env: Vec<EnvVar> = scope.iter().chain(own.iter()).cloned().collect();
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
    let mut steps = Vec::new();
    let mut node = None;
    for list in steps_nodes {
        for s in list.iter_seq() {
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
