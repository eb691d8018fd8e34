//! OneDev build specs (`.onedev-buildspec.yml`) into the normalized model.
//!
//! Every entry of `jobs:` is a job; its `steps:` are tagged mappings (`!CommandStep`,
//! `!CheckoutStep`, ...). A command step runs `interpreter: commands:` (older specs:
//! `commands:` on the step, as a list or a block) with `envVars:` given as `- name:`/`value:`
//! pairs. Secrets are written into commands and values as `@secret:name@` (`@@` is a literal
//! `@`), which OneDev substitutes before the shell runs. OneDev is not an npm trusted-publishing
//! provider.

use crate::parse::yaml::{Document, Node};

use super::{
    classify_value, resolve_in, scripts_of, EnvVar, Job, Oidc, Pipeline, Runner, Step, System,
    Value,
};

const SYSTEM: System = System::OneDev;

pub fn pipeline(doc: &Document) -> Pipeline {
    let root = &doc.root;
    let mut jobs = Vec::new();
    for (i, item) in root
        .get("jobs")
        .into_iter()
        .flat_map(Node::iter_seq)
        .enumerate()
    {
        jobs.push(job(item, i));
    }
    Pipeline {
        system: SYSTEM,
        jobs,
        root: Some(root.clone()),
    }
}

fn job(item: &Node, index: usize) -> Job {
    let name = item
        .get("name")
        .and_then(Node::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("jobs[{index}]"));
    let mut steps = Vec::new();
    let mut node = None;
    for step in item.get("steps").into_iter().flat_map(Node::iter_seq) {
        let env = env_vars(step.get("envVars"));
        let mut scripts = Vec::new();
        let commands = step
            .get_path(&["interpreter", "commands"])
            .or(step.get("commands"));
        if let Some(c) = commands {
            scripts_of(c, &mut scripts);
        }
        if node.is_none() {
            node = step.get("image").and_then(super::gitlab::node_from_image);
        }
        if scripts.is_empty() {
            continue;
        }
        steps.push(Step {
            span: step.span(),
            env,
            scripts,
            action: None,
            list_item: true,
        });
    }
    Job {
        name,
        key_span: item.span.start..item.span.start,
        body: Some(item.clone()),
        env: Vec::new(),
        steps,
        oidc: Oidc::default(),
        runner: Runner::default(),
        node,
    }
}

/// `envVars: [{name: NPM_TOKEN, value: '@secret:npm_token@'}]`.
fn env_vars(node: Option<&Node>) -> Vec<EnvVar> {
    let mut out: Vec<EnvVar> = Vec::new();
    for item in node.into_iter().flat_map(Node::iter_seq) {
        let (Some(name), Some(value)) =
            (item.get("name").and_then(Node::as_str), item.get("value"))
        else {
            continue;
        };
        let text = value.as_str().unwrap_or("");
        let source = {
            let scope: &[EnvVar] = &out;
            classify_value(SYSTEM, text, &|n| resolve_in(&[scope], n))
        };
        out.push(EnvVar {
            name: name.to_string(),
            key_span: item.get("name").map(Node::span).unwrap_or(item.span()),
            value: Value {
                text: text.to_string(),
                span: value.span(),
                source,
            },
            entry_span: item.span(),
            block: None,
        });
    }
    out
}
