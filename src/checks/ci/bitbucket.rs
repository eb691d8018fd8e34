//! Bitbucket Pipelines (`bitbucket-pipelines.yml`) into the normalized model.
//!
//! Every `step:` (under `pipelines.default`, `branches`, `tags`, `bookmarks`, `custom`,
//! `pull-requests`, inside `parallel:` and `stage:`) runs in its own container, so each is a
//! job. Script items are commands or `pipe:` mappings whose `variables:` are the pipe's inputs.
//! Steps shared through anchors are reached more than once; the rules de-duplicate by location.

use crate::parse::yaml::{Document, Node};

use super::{env_block, scripts_of, Action, FileCtx, Job, Oidc, Pipeline, Runner, Step, System};

pub fn pipeline(_ctx: &FileCtx<'_>, doc: &Document) -> Pipeline {
    let root = &doc.root;
    let mut jobs = Vec::new();
    let mut seen = Vec::new();
    if let Some(pipelines) = root.get("pipelines") {
        for (section, value) in pipelines.iter_map() {
            let section = section.as_str().unwrap_or("pipelines");
            if value.is_sequence() {
                walk(value, section, &mut jobs, &mut seen, 0);
            } else {
                for (name, list) in value.iter_map() {
                    let label = format!("{section}/{}", name.as_str().unwrap_or("?"));
                    walk(list, &label, &mut jobs, &mut seen, 0);
                }
            }
        }
    }
    Pipeline {
        system: System::Bitbucket,
        jobs,
        root: Some(root.clone()),
    }
}

/// Collects the steps of a list; `seen` holds the anchored spans of steps already taken, so a
/// step shared through `*alias` by several branches is one job, reported once.
fn walk(
    list: &Node,
    label: &str,
    jobs: &mut Vec<Job>,
    seen: &mut Vec<crate::source::Span>,
    depth: usize,
) {
    if depth > 6 {
        return;
    }
    for item in list.iter_seq() {
        if let Some(step) = item.get("step") {
            let origin = step.alias_of.clone().unwrap_or(step.span());
            if !seen.contains(&origin) {
                seen.push(origin);
                jobs.push(job(step, label, item));
            }
        }
        if let Some(parallel) = item.get("parallel") {
            let steps = parallel.get("steps").unwrap_or(parallel);
            walk(steps, label, jobs, seen, depth + 1);
        }
        if let Some(stage) = item.get("stage") {
            if let Some(steps) = stage.get("steps") {
                walk(steps, label, jobs, seen, depth + 1);
            }
        }
    }
}

fn job(step: &Node, label: &str, item: &Node) -> Job {
    let system = System::Bitbucket;
    let name = step
        .get("name")
        .and_then(Node::as_str)
        .map(|n| format!("{label}: {n}"))
        .unwrap_or_else(|| label.to_string());
    let mut steps = Vec::new();
    for key in ["script", "after-script"] {
        for entry in step.get(key).into_iter().flat_map(Node::iter_seq) {
            if let Some(pipe) = entry.get("pipe") {
                let full = pipe.as_str().unwrap_or("");
                let (pname, version) = match full.split_once(':') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (full, None),
                };
                let inputs = entry
                    .get_entry("variables")
                    .map(|e| env_block(system, &e.key, &e.value, &|_| None))
                    .unwrap_or_default();
                steps.push(Step {
                    span: entry.span(),
                    env: Vec::new(),
                    scripts: Vec::new(),
                    action: Some(Action {
                        name: pname.to_ascii_lowercase(),
                        version,
                        span: pipe.span(),
                        inputs,
                        inputs_block: None,
                    }),
                    list_item: true,
                });
            } else {
                let mut scripts = Vec::new();
                scripts_of(entry, &mut scripts);
                for s in &mut scripts {
                    s.list_item = true;
                }
                steps.push(Step {
                    span: entry.span(),
                    env: Vec::new(),
                    scripts,
                    action: None,
                    list_item: true,
                });
            }
        }
    }
    let node = step
        .get("image")
        .and_then(|i| {
            if i.is_mapping() {
                i.get("name")
            } else {
                Some(i)
            }
        })
        .and_then(super::gitlab::node_from_image);
    let mut runner = Runner::default();
    if let Some(runs_on) = step.get("runs-on") {
        let labels: Vec<&Node> = if runs_on.is_sequence() {
            runs_on.iter_seq().collect()
        } else {
            vec![runs_on]
        };
        if let Some(l) = labels
            .into_iter()
            .find(|l| l.as_str() == Some("self.hosted"))
        {
            runner.self_hosted = Some(l.span());
        }
    }
    Job {
        name,
        key_span: item.span.start..item.span.start,
        body: Some(step.clone()),
        env: Vec::new(),
        steps,
        oidc: Oidc::default(),
        runner,
        node,
    }
}
