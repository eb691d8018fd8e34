//! Travis CI (`.travis.yml`) into the normalized model.
//!
//! The whole file is one job (plus `jobs.include` / `matrix.include` entries, each a job of its
//! own). Script phases are lists of commands; `env:` entries are `NAME=value` strings (or
//! `secure:` blobs); `deploy: provider: npm` publishes with `api_token`/`api_key` (or the
//! `NPM_API_TOKEN` setting). Travis is not an npm trusted-publishing provider.

use crate::parse::yaml::{Document, Node};

use super::{
    classify_value, scripts_of, Action, EnvVar, FileCtx, Job, Oidc, Pipeline, Runner, Source, Step,
    System, Value,
};

const PHASES: &[&str] = &[
    "before_install",
    "install",
    "before_script",
    "script",
    "after_success",
    "after_failure",
    "before_deploy",
    "after_deploy",
    "after_script",
];

pub fn pipeline(_ctx: &FileCtx<'_>, doc: &Document) -> Pipeline {
    let root = &doc.root;
    let system = System::Travis;
    let global_env = env_list(root.get("env"));
    let mut jobs = vec![job(
        "travis",
        root.span.start..root.span.start,
        root,
        &global_env,
        None,
    )];
    for key in ["jobs", "matrix"] {
        for (i, item) in root
            .get_path(&[key, "include"])
            .into_iter()
            .flat_map(Node::iter_seq)
            .enumerate()
        {
            let name = item
                .get("name")
                .or(item.get("stage"))
                .and_then(Node::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{key}.include[{i}]"));
            jobs.push(job(&name, item.span(), item, &global_env, Some(root)));
        }
    }
    Pipeline {
        system,
        jobs,
        root: Some(root.clone()),
    }
}

fn job(
    name: &str,
    key_span: crate::source::Span,
    body: &Node,
    global: &[EnvVar],
    parent: Option<&Node>,
) -> Job {
    let mut env: Vec<EnvVar> = global.to_vec();
    if parent.is_some() {
        env.extend(env_list(body.get("env")));
    }
    let mut steps = Vec::new();
    for phase in PHASES {
        if let Some(node) = body.get(phase) {
            let mut scripts = Vec::new();
            scripts_of(node, &mut scripts);
            if !scripts.is_empty() {
                steps.push(Step {
                    span: node.span(),
                    env: Vec::new(),
                    scripts,
                    action: None,
                    list_item: false,
                });
            }
        }
    }
    let deploys: Vec<&Node> = match body.get("deploy") {
        Some(d) if d.is_sequence() => d.iter_seq().collect(),
        Some(d) => vec![d],
        None => Vec::new(),
    };
    for d in deploys {
        if let Some(provider) = d.get("provider").and_then(Node::as_str) {
            if provider == "script" {
                // `provider: script` runs its `script:` command: analysed like any script.
                let mut scripts = Vec::new();
                if let Some(s) = d.get("script") {
                    scripts_of(s, &mut scripts);
                }
                steps.push(Step {
                    span: d.span(),
                    env: Vec::new(),
                    scripts,
                    action: None,
                    list_item: false,
                });
                continue;
            }
            let mut inputs = Vec::new();
            for (k, v) in d.iter_map() {
                let Some(key) = k.as_str() else { continue };
                let (text, span, source) = match v.get("secure") {
                    // An encrypted value: still a long-lived token, decrypted into the build.
                    Some(s) => (
                        String::new(),
                        s.span(),
                        Source::Stored(format!("encrypted {key}")),
                    ),
                    None => {
                        let t = v.as_str().unwrap_or("").to_string();
                        let src = classify_value(System::Travis, &t, &|_| None);
                        (t, v.span(), src)
                    }
                };
                inputs.push(EnvVar {
                    name: key.to_string(),
                    key_span: k.span(),
                    value: Value { text, span, source },
                    entry_span: k.span.start..v.span.end,
                    block: None,
                });
            }
            let step = Step {
                span: d.span(),
                env: Vec::new(),
                scripts: Vec::new(),
                action: Some(Action {
                    name: format!("travis:{}", provider.to_ascii_lowercase()),
                    version: None,
                    span: d
                        .get_entry("provider")
                        .map(|e| e.value.span())
                        .unwrap_or(d.span()),
                    inputs,
                    inputs_block: None,
                }),
                list_item: false,
            };
            steps.push(step);
        }
    }
    Job {
        name: name.to_string(),
        key_span,
        body: Some(body.clone()),
        env,
        steps,
        oidc: Oidc::default(),
        runner: Runner::default(),
        node: None,
    }
}

/// `env:` as a list of `NAME=value` strings, `{global: [...]}`, or `secure:` items.
fn env_list(node: Option<&Node>) -> Vec<EnvVar> {
    let Some(node) = node else { return Vec::new() };
    let items: Vec<&Node> = if node.is_mapping() {
        ["global", "jobs", "matrix"]
            .iter()
            .filter_map(|k| node.get(k))
            .flat_map(|n| {
                if n.is_sequence() {
                    n.iter_seq().collect::<Vec<_>>()
                } else {
                    vec![n]
                }
            })
            .collect()
    } else {
        node.iter_seq().collect()
    };
    let mut out = Vec::new();
    for item in items {
        let Some(scalar) = item.as_scalar() else {
            continue;
        };
        // One string may set several variables: `A=1 NPM_TOKEN=x`.
        let text = scalar.value();
        let mut offset = 0;
        for part in text.split(' ') {
            let start = offset;
            offset += part.len() + 1;
            let Some((name, value)) = part.split_once('=') else {
                continue;
            };
            let vstart = start + name.len() + 1;
            let value = value.trim_matches('"');
            let source = classify_value(System::Travis, value, &|_| None);
            out.push(EnvVar {
                name: name.to_string(),
                key_span: scalar.to_source(start..start + name.len()),
                value: Value {
                    text: value.to_string(),
                    span: scalar.to_source(vstart..vstart + part.len() - name.len() - 1),
                    source,
                },
                entry_span: item.span(),
                block: None,
            });
        }
    }
    out
}
