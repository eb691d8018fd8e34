//! Buildkite (`.buildkite/pipeline.yml`, `.buildkite/*.yml`, `buildkite.yml`) into the
//! normalized model.
//!
//! Every command step runs on its own agent, so each is a job; `group:` steps nest more steps.
//! A step runs `command:`/`commands:` (a string or a list), sees the pipeline `env:` and its own
//! `env:`, and Buildkite secrets it names (`secrets: [NPM_TOKEN]`, or `secrets: {NAME: key}`).
//! Plugins are the step's actions: `docker-compose#v5.x` with build `args:`, `docker#v5.x`,
//! `seek-oss/private-npm` with a `token:`. Buildkite interpolates `$VAR` when the pipeline is
//! uploaded (`$$` escapes it), which for the checks is the same as the shell expanding it.
//! Buildkite is not an npm trusted-publishing provider (a proposal for it is not merged).

use crate::parse::yaml::{Document, Node};

use super::{
    classify_value, env_block, resolve_in, scripts_of, Action, EnvVar, Job, Oidc, Pipeline, Runner,
    Source, Step, System, Value,
};

const SYSTEM: System = System::Buildkite;

pub fn pipeline(text: &str, doc: &Document) -> Pipeline {
    let root = &doc.root;
    let global = root
        .get_entry("env")
        .map(|e| env_block(SYSTEM, &e.key, &e.value, &|_| None))
        .unwrap_or_default();
    let mut jobs = Vec::new();
    // A pipeline file is a mapping with `steps:`, or (older uploads) the list of steps itself.
    let steps = root.get("steps").unwrap_or(root);
    walk(text, steps, &global, &mut jobs, 0);
    Pipeline {
        system: SYSTEM,
        jobs,
        root: Some(root.clone()),
    }
}

fn walk(text: &str, list: &Node, global: &[EnvVar], jobs: &mut Vec<Job>, depth: usize) {
    if depth > 4 {
        return;
    }
    for (i, item) in list.iter_seq().enumerate() {
        if let Some(nested) = item.get("steps").filter(|_| item.get("group").is_some()) {
            walk(text, nested, global, jobs, depth + 1);
            continue;
        }
        if item.is_mapping() && (item.get("command").is_some() || item.get("commands").is_some())
            || item.get("plugins").is_some()
        {
            jobs.push(job(text, item, i, global));
        }
    }
}

fn job(text: &str, item: &Node, index: usize, global: &[EnvVar]) -> Job {
    let name = ["label", "name", "key"]
        .iter()
        .find_map(|k| item.get(k).and_then(Node::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| format!("steps[{index}]"));
    let mut env: Vec<EnvVar> = global.to_vec();
    if let Some(e) = item.get_entry("env") {
        let outer = env.clone();
        env.extend(env_block(SYSTEM, &e.key, &e.value, &|n| {
            resolve_in(&[&outer], n)
        }));
    }
    env.extend(secrets(item.get("secrets")));
    let mut steps = Vec::new();
    let mut scripts = Vec::new();
    for key in ["command", "commands"] {
        if let Some(node) = item.get(key) {
            scripts_of(node, &mut scripts);
        }
    }
    super::unescape_double_dollars(text, &mut scripts);
    for plugin in plugins(item.get("plugins"), &env) {
        steps.push(Step {
            span: plugin.span.clone(),
            env: Vec::new(),
            scripts: Vec::new(),
            action: Some(plugin),
            list_item: false,
        });
    }
    if !scripts.is_empty() {
        steps.push(Step {
            span: item.span(),
            env: Vec::new(),
            scripts,
            action: None,
            list_item: true,
        });
    }
    let node = item
        .get_path(&["plugins"])
        .into_iter()
        .flat_map(plugin_entries)
        .find_map(|(_, config)| config.get("image"))
        .and_then(super::gitlab::node_from_image);
    Job {
        name,
        key_span: item.span.start..item.span.start,
        body: Some(item.clone()),
        env,
        steps,
        oidc: Oidc::default(),
        runner: Runner::default(),
        node,
    }
}

/// `secrets: [NPM_TOKEN]` or `secrets: {NPM_TOKEN: npm_publish_token}`: Buildkite secrets
/// exported into the job's environment.
fn secrets(node: Option<&Node>) -> Vec<EnvVar> {
    let Some(node) = node else { return Vec::new() };
    let mut out = Vec::new();
    let mut push = |name: &str, key: &str, span: crate::source::Span| {
        out.push(EnvVar {
            name: name.to_string(),
            key_span: span.clone(),
            value: Value {
                text: key.to_string(),
                span: span.clone(),
                source: Source::Stored(format!("Buildkite secret {key}")),
            },
            entry_span: span,
            block: None,
        });
    };
    if node.is_sequence() {
        for item in node.iter_seq() {
            if let Some(name) = item.as_str() {
                push(name, name, item.span());
            }
        }
    } else {
        for (k, v) in node.iter_map() {
            if let (Some(name), Some(key)) = (k.as_str(), v.as_str()) {
                push(name, key, k.span.start..v.span.end);
            }
        }
    }
    out
}

/// The `(name, configuration)` pairs of a `plugins:` list (or mapping).
fn plugin_entries(node: &Node) -> Vec<(&Node, &Node)> {
    if node.is_mapping() {
        return node.iter_map().collect();
    }
    node.iter_seq()
        .flat_map(|item| {
            if item.is_mapping() {
                item.iter_map().collect::<Vec<_>>()
            } else {
                vec![(item, item)]
            }
        })
        .collect()
}

fn plugins(node: Option<&Node>, env: &[EnvVar]) -> Vec<Action> {
    let Some(node) = node else { return Vec::new() };
    let resolve = |n: &str| resolve_in(&[env], n);
    let mut out = Vec::new();
    for (key, config) in plugin_entries(node) {
        let Some(full) = key.as_str() else { continue };
        let (path, version) = match full.split_once('#') {
            Some((p, v)) => (p, Some(v.to_string())),
            None => (full, None),
        };
        // `docker-compose#v5`, `buildkite-plugins/docker-compose-buildkite-plugin#v5`,
        // `seek-oss/private-npm#v1`: the plugin's short name, with its owner when not Buildkite's.
        let path = path
            .trim_end_matches(".git")
            .trim_start_matches("https://github.com/")
            .trim_start_matches("github.com/");
        let path = path.trim_end_matches("-buildkite-plugin");
        let name = path
            .strip_prefix("buildkite-plugins/")
            .unwrap_or(path)
            .to_ascii_lowercase();
        let mut inputs = Vec::new();
        for (k, v) in config.iter_map() {
            let Some(input) = k.as_str() else { continue };
            let items: Vec<&Node> = if v.is_sequence() {
                v.iter_seq().collect()
            } else {
                vec![v]
            };
            for item in items {
                let Some(text) = item.as_str() else { continue };
                // A build arg without a value (`args: [NPM_TOKEN]`) passes the variable of
                // the same name from the job's environment.
                let source = match text.split_once('=') {
                    Some((_, value)) => classify_value(SYSTEM, value, &resolve),
                    None if input == "args" || input == "build-args" => {
                        resolve(text.trim()).unwrap_or(Source::Other)
                    }
                    None => classify_value(SYSTEM, text, &resolve),
                };
                inputs.push(EnvVar {
                    name: input.to_string(),
                    key_span: k.span(),
                    value: Value {
                        text: text.to_string(),
                        span: item.span(),
                        source,
                    },
                    entry_span: k.span.start..v.span.end,
                    block: None,
                });
            }
        }
        out.push(Action {
            name,
            version,
            span: key.span(),
            inputs,
            inputs_block: None,
        });
    }
    out
}
