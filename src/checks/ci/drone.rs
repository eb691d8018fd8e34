//! Drone (`.drone.yml`) and Woodpecker (`.woodpecker.yml`, `.woodpecker/*.yml`) into the
//! normalized model.
//!
//! One YAML document is one pipeline, which is one job: its steps run in containers that share
//! the workspace, so a `.npmrc` written by one step is read by the next. Steps are a list
//! (`steps:`) or, in Woodpecker and in Drone 0.8, a mapping of name to step (`steps:` or
//! `pipeline:`). A step runs `commands:` or is a plugin (`image: plugins/npm`) configured by
//! `settings:` (older files put the settings on the step itself). Secrets reach a step as
//! `environment: NAME: { from_secret: name }`, as setting values of the same form, or (older
//! Woodpecker and Drone 0.8) as `secrets: [name]`, which exports `NAME`. Neither system is an npm
//! trusted-publishing provider.

use crate::parse::yaml::{Document, Node};

use super::{
    classify_value, resolve_in, scripts_of, Action, Block, EnvVar, Job, Oidc, Pipeline, Runner,
    Source, Step, System, Value,
};

/// Keys of a step that are not plugin settings (for plugins configured on the step itself).
const STEP_KEYS: &[&str] = &[
    "name",
    "image",
    "pull",
    "commands",
    "command",
    "entrypoint",
    "environment",
    "secrets",
    "settings",
    "when",
    "depends_on",
    "volumes",
    "privileged",
    "detach",
    "failure",
    "group",
    "directory",
    "network_mode",
    "shell",
    "user",
    "resources",
    "backend_options",
];

/// `path`: a Woodpecker workflow under `.woodpecker/` is named after its file.
pub fn pipeline(text: &str, system: System, doc: &Document, path: &str) -> Pipeline {
    let root = &doc.root;
    let mut jobs = Vec::new();
    // Drone documents also declare secrets and signatures (`kind: secret`, `kind: signature`).
    let kind = root
        .get("kind")
        .and_then(Node::as_str)
        .unwrap_or("pipeline");
    if kind == "pipeline" {
        let file_stem = path
            .rsplit_once(".woodpecker/")
            .map(|(_, file)| file.rsplit_once('.').map_or(file, |(stem, _)| stem));
        let name = root
            .get("name")
            .and_then(Node::as_str)
            .unwrap_or(match system {
                System::Woodpecker => file_stem.unwrap_or("woodpecker"),
                _ => "default",
            })
            .to_string();
        let global = root
            .get_entry("environment")
            .map(|e| environment(system, &e.key, &e.value, &[]))
            .unwrap_or_default();
        let mut steps = Vec::new();
        for key in ["steps", "pipeline"] {
            let Some(list) = root.get(key) else { continue };
            if list.is_sequence() {
                for item in list.iter_seq() {
                    steps.push(step(text, system, item, &global, true));
                }
            } else {
                for (_, item) in list.iter_map() {
                    steps.push(step(text, system, item, &global, false));
                }
            }
        }
        let node = steps_images(root).find_map(super::gitlab::node_from_image);
        jobs.push(Job {
            name,
            key_span: root.span.start..root.span.start,
            body: Some(root.clone()),
            env: global,
            steps,
            oidc: Oidc::default(),
            runner: Runner::default(),
            node,
        });
    }
    Pipeline {
        system,
        jobs,
        root: Some(root.clone()),
    }
}

fn steps_images(root: &Node) -> impl Iterator<Item = &Node> {
    ["steps", "pipeline"]
        .into_iter()
        .filter_map(|k| root.get(k))
        .flat_map(|list| {
            let items: Vec<&Node> = if list.is_sequence() {
                list.iter_seq().collect()
            } else {
                list.iter_map().map(|(_, v)| v).collect()
            };
            items
        })
        .filter_map(|s| s.get("image"))
}

fn step(text: &str, system: System, item: &Node, global: &[EnvVar], list_item: bool) -> Step {
    let mut env = item
        .get_entry("environment")
        .map(|e| environment(system, &e.key, &e.value, global))
        .unwrap_or_default();
    env.extend(secrets_list(item.get("secrets")));
    let mut scripts = Vec::new();
    for key in ["commands", "command"] {
        if let Some(node) = item.get(key) {
            scripts_of(node, &mut scripts);
        }
    }
    super::unescape_double_dollars(text, &mut scripts);
    let action = item
        .get("image")
        .and_then(Node::as_str)
        .filter(|_| scripts.is_empty())
        .map(|image| plugin(system, item, image, global, &env));
    Step {
        span: item.span(),
        env,
        scripts,
        action,
        list_item,
    }
}

/// A plugin step: its image (without registry tag) and its settings as inputs.
fn plugin(system: System, item: &Node, image: &str, global: &[EnvVar], env: &[EnvVar]) -> Action {
    let (name, version) = match image.rsplit_once(':') {
        Some((n, v)) if !v.contains('/') => (n, Some(v.to_string())),
        _ => (image, None),
    };
    let name = name
        .trim_start_matches("docker.io/")
        .trim_start_matches("index.docker.io/")
        .to_ascii_lowercase();
    let scopes: [&[EnvVar]; 2] = [global, env];
    let resolve = |n: &str| resolve_in(&scopes, n);
    let mut inputs = Vec::new();
    let mut inputs_block = None;
    let settings: Vec<(&Node, &Node)> = match item.get_entry("settings") {
        Some(e) => {
            inputs_block = Some(Block {
                key_span: e.key.span(),
                value_span: e.value.span(),
                entries: e.value.as_mapping().map(|m| m.len()).unwrap_or(0),
            });
            e.value.iter_map().collect()
        }
        None => item
            .iter_map()
            .filter(|(k, _)| k.as_str().is_some_and(|k| !STEP_KEYS.contains(&k)))
            .collect(),
    };
    for (k, v) in settings {
        let Some(key) = k.as_str() else { continue };
        if v.is_sequence() {
            // `build_args: [NPM_TOKEN=...]`, `build_args_from_env: [NPM_TOKEN]`: one input per item.
            for entry in v.iter_seq() {
                let Some(text) = entry.as_str() else { continue };
                let source = if key.ends_with("from_env") {
                    resolve(text.trim()).unwrap_or(Source::Other)
                } else {
                    let value = text.split_once('=').map(|(_, v)| v).unwrap_or("");
                    classify_value(system, value, &resolve)
                };
                inputs.push(EnvVar {
                    name: key.to_string(),
                    key_span: k.span(),
                    value: Value {
                        text: text.to_string(),
                        span: entry.span(),
                        source,
                    },
                    entry_span: entry.span(),
                    block: None,
                });
            }
            continue;
        }
        if let Some(var) = secret_value(system, k, v, &resolve) {
            inputs.push(var);
        }
    }
    Action {
        name,
        version,
        span: item.get("image").map(Node::span).unwrap_or(item.span()),
        inputs,
        inputs_block,
    }
}

/// `NAME: value` or `NAME: { from_secret: name }`.
fn secret_value(
    system: System,
    key: &Node,
    value: &Node,
    resolve: &dyn Fn(&str) -> Option<Source>,
) -> Option<EnvVar> {
    let name = key.as_str()?;
    let (text, span, source) = match value.get("from_secret") {
        Some(secret) => {
            let secret_name = secret.as_str().unwrap_or("");
            (
                secret_name.to_string(),
                secret.span(),
                Source::Stored(format!("from_secret: {secret_name}")),
            )
        }
        None => {
            let text = value.as_str()?;
            let source = if value.is_null() {
                Source::Empty
            } else {
                classify_value(system, text, resolve)
            };
            (text.to_string(), value.span(), source)
        }
    };
    Some(EnvVar {
        name: name.to_string(),
        key_span: key.span(),
        value: Value { text, span, source },
        entry_span: key.span.start..value.span.end.max(key.span.end),
        block: None,
    })
}

fn environment(system: System, key: &Node, value: &Node, outer: &[EnvVar]) -> Vec<EnvVar> {
    let block = Block {
        key_span: key.span(),
        value_span: value.span(),
        entries: value.as_mapping().map(|m| m.len()).unwrap_or(0),
    };
    let resolve = |n: &str| resolve_in(&[outer], n);
    value
        .iter_map()
        .filter_map(|(k, v)| secret_value(system, k, v, &resolve))
        .map(|mut var| {
            var.block = Some(block.clone());
            var
        })
        .collect()
}

/// `secrets: [npm_token]` (exported as `NPM_TOKEN`) or `secrets: [{source: a, target: B}]`.
fn secrets_list(node: Option<&Node>) -> Vec<EnvVar> {
    let mut out = Vec::new();
    for item in node.into_iter().flat_map(Node::iter_seq) {
        let (source_name, target, span) = match item.as_str() {
            Some(s) => (s.to_string(), s.to_ascii_uppercase(), item.span()),
            None => {
                let Some(src) = item.get("source").and_then(Node::as_str) else {
                    continue;
                };
                let target = item
                    .get("target")
                    .and_then(Node::as_str)
                    .unwrap_or(src)
                    .to_ascii_uppercase();
                (src.to_string(), target, item.span())
            }
        };
        out.push(EnvVar {
            name: target,
            key_span: span.clone(),
            value: Value {
                text: source_name.clone(),
                span: span.clone(),
                source: Source::Stored(format!("secret {source_name}")),
            },
            entry_span: span,
            block: None,
        });
    }
    out
}
