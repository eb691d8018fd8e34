//! CircleCI (`.circleci/config.yml`) into the normalized model.
//!
//! Jobs are under `jobs:`; their steps are `run:` (a command string or a mapping with
//! `command:` and `environment:`) or orb/built-in steps. Secrets come from project settings and
//! contexts, so they only appear as `$VAR` references in scripts. A `resource_class` written as
//! `namespace/name` selects a self-hosted runner. Executors named by a job are looked up for
//! their image and resource class.

use crate::parse::yaml::{Document, Node};

use super::{
    env_block, resolve_in, scripts_of, Action, EnvVar, FileCtx, Job, Oidc, Pipeline, Runner, Step,
    System,
};

pub fn pipeline(_ctx: &FileCtx<'_>, doc: &Document) -> Pipeline {
    let root = &doc.root;
    let system = System::CircleCi;
    let mut jobs = Vec::new();
    for (key, body) in root.get("jobs").into_iter().flat_map(Node::iter_map) {
        let Some(name) = key.as_str() else { continue };
        let executor = body.get("executor").and_then(|e| {
            let n = e
                .as_str()
                .or_else(|| e.get("name").and_then(Node::as_str))?;
            root.get_path(&["executors", n])
        });
        let lookup = |k: &str| body.get(k).or_else(|| executor.and_then(|e| e.get(k)));
        let env: Vec<EnvVar> = body
            .get_entry("environment")
            .map(|e| env_block(system, &e.key, &e.value, &|_| None))
            .unwrap_or_default();
        let mut runner = Runner::default();
        if let Some(rc) = lookup("resource_class") {
            if rc.as_str().is_some_and(|s| s.contains('/')) {
                runner.self_hosted = Some(rc.span());
            }
        }
        let node = lookup("docker")
            .and_then(|d| d.iter_seq().next())
            .and_then(|first| first.get("image"))
            .and_then(super::gitlab::node_from_image)
            .or_else(|| orb_node(body.get("executor")?));
        let mut job = Job {
            name: name.to_string(),
            key_span: key.span(),
            body: Some(body.clone()),
            env,
            steps: Vec::new(),
            oidc: Oidc::default(),
            runner,
            node,
        };
        let env = job.env.clone();
        for step in body.get("steps").into_iter().flat_map(Node::iter_seq) {
            push_step(root, system, step, &env, &mut job.steps, 0);
        }
        if job.env.iter().any(|v| v.name == "NPM_ID_TOKEN") {
            job.oidc.signal = true;
        }
        jobs.push(job);
    }
    Pipeline {
        system,
        jobs,
        root: Some(root.clone()),
    }
}

/// A step, with reusable `commands:` of the config expanded in place (depth-limited: commands
/// may call commands).
fn push_step(
    root: &Node,
    system: System,
    step: &Node,
    env: &[EnvVar],
    out: &mut Vec<Step>,
    depth: usize,
) {
    let name = step
        .as_str()
        .or_else(|| step.iter_map().next().and_then(|(k, _)| k.as_str()));
    if let Some(command) = name.and_then(|n| root.get_path(&["commands", n])) {
        if depth < 8 {
            for inner in command.get("steps").into_iter().flat_map(Node::iter_seq) {
                push_step(root, system, inner, env, out, depth + 1);
            }
            return;
        }
    }
    out.push(read_step(system, step, env));
}

fn read_step(system: System, step: &Node, job_env: &[EnvVar]) -> Step {
    let mut scripts = Vec::new();
    let mut env = Vec::new();
    let mut action = None;
    if let Some(run) = step.get("run") {
        if run.is_mapping() {
            if let Some(c) = run.get("command") {
                scripts_of(c, &mut scripts);
            }
            if let Some(e) = run.get_entry("environment") {
                env = env_block(system, &e.key, &e.value, &|n| resolve_in(&[job_env], n));
            }
        } else {
            scripts_of(run, &mut scripts);
        }
    } else if let Some((k, v)) = step.iter_map().next() {
        // An orb command (`node/install-packages`, `docker/build`) with its parameters.
        if let Some(name) = k.as_str() {
            action = Some(Action {
                name: name.to_ascii_lowercase(),
                version: None,
                span: k.span(),
                inputs: env_block(system, k, v, &|n| resolve_in(&[job_env], n)),
                inputs_block: None,
            });
        }
    }
    Step {
        span: step.span(),
        env,
        scripts,
        action,
        list_item: true,
    }
}

/// The Node version of the node orb's executor (`executor: {name: node/default, tag: '16.13'}`,
/// which runs `cimg/node:<tag>`).
fn orb_node(executor: &Node) -> Option<super::NodeSetup> {
    let name = executor.get("name").and_then(Node::as_str)?;
    if !name.ends_with("node/default") {
        return None;
    }
    let tag = executor.get("tag")?;
    let value = tag.as_str()?;
    let len = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    if len == 0 {
        return None;
    }
    Some(super::NodeSetup {
        span: tag.as_scalar()?.to_source(0..len),
        version: value[..len].to_string(),
        from_file: None,
        assumed: false,
    })
}
