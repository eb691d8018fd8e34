//! GitLab CI/CD (`.gitlab-ci.yml`, included `*.gitlab-ci.yml`) into the normalized model.
//!
//! Jobs are the top-level mappings that are not global keywords; hidden jobs (`.name`) are
//! templates, applied through `extends:` (key by key, the job's own keys winning, as GitLab
//! merges them) and `!reference [.job, key]` tags. `variables:` and `default:` apply to every
//! job. `id_tokens:` with `NPM_ID_TOKEN` for `npm:registry.npmjs.org` is what npm needs.

use crate::parse::yaml::{Document, Node};

use super::{
    env_block, resolve_in, scripts_of, EnvVar, FileCtx, Job, NodeSetup, Oidc, Pipeline, Runner,
    Step, System,
};

/// Top-level keys that are not jobs.
const GLOBAL_KEYS: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
    "spec",
];

/// Keys whose value is a script.
pub const SCRIPT_KEYS: &[&str] = &["before_script", "script", "after_script"];

pub fn pipeline(_ctx: &FileCtx<'_>, doc: &Document) -> Pipeline {
    let root = &doc.root;
    let system = System::Gitlab;
    let global_env: Vec<EnvVar> = root
        .get_entry("variables")
        .map(|e| env_block(system, &e.key, &e.value, &|_| None))
        .unwrap_or_default();
    let mut jobs = Vec::new();
    let used = used_templates(root);
    for (key, body) in root.iter_map() {
        let Some(name) = key.as_str() else { continue };
        if GLOBAL_KEYS.contains(&name) || !body.is_mapping() {
            continue;
        }
        // A hidden job is a template: checked through the jobs that extend it, or on its own
        // when nothing in this file does (it is used from a file that includes this one).
        let template = name.starts_with('.');
        if template && used.iter().any(|u| u == name) {
            continue;
        }
        jobs.push(build_job(root, &global_env, name, key, body, template));
    }
    Pipeline {
        system,
        jobs,
        root: Some(root.clone()),
    }
}

/// The hidden job `name` of another file of the pipeline (a template `extends:` or
/// `!reference` names from here), with that file's global `variables:` and `default:`.
pub fn template_job(root: &Node, name: &str) -> Option<Job> {
    let entry = root.get_entry(name)?;
    if !entry.value.is_mapping() {
        return None;
    }
    let global_env: Vec<EnvVar> = root
        .get_entry("variables")
        .map(|e| env_block(System::Gitlab, &e.key, &e.value, &|_| None))
        .unwrap_or_default();
    Some(build_job(
        root,
        &global_env,
        name,
        &entry.key,
        &entry.value,
        name.starts_with('.'),
    ))
}

/// One job of `root`: its keys through `extends:` and `default:`, its scripts, `id_tokens:`,
/// runner tags and image.
fn build_job(
    root: &Node,
    global_env: &[EnvVar],
    name: &str,
    key: &Node,
    body: &Node,
    template: bool,
) -> Job {
    let system = System::Gitlab;
    let default = root.get("default");
    let lookup = |k: &str| -> Option<&Node> {
        job_key(root, body, k, 0).or_else(|| default.and_then(|d| d.get(k)))
    };
    let job_env: Vec<EnvVar> = job_entry(root, body, "variables", 0)
        .map(|(k, v)| env_block(system, k, v, &|n| resolve_in(&[global_env], n)))
        .unwrap_or_default();
    let env: Vec<EnvVar> = global_env.iter().chain(job_env.iter()).cloned().collect();
    let mut steps = Vec::new();
    for sk in SCRIPT_KEYS {
        let node = lookup(sk).or_else(|| root.get(sk));
        if let Some(node) = node {
            let mut scripts = Vec::new();
            collect_scripts(root, node, &mut scripts, 0);
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
    let mut oidc = Oidc {
        // The including job may add `id_tokens:`, tags or an image.
        inherited: template,
        ..Oidc::default()
    };
    if let Some(ids) = lookup("id_tokens") {
        oidc.signal = true;
        let npm = ids.iter_map().any(|(k, v)| {
            k.as_str() == Some("NPM_ID_TOKEN")
                && v.get("aud")
                    .map(|a| {
                        a.as_str()
                            .map(|s| s == "npm:registry.npmjs.org")
                            .unwrap_or(false)
                            || a.iter_seq()
                                .any(|x| x.as_str() == Some("npm:registry.npmjs.org"))
                    })
                    .unwrap_or(false)
        });
        oidc.configured = npm;
        if !npm {
            oidc.wrong_audience = Some(ids.span());
        }
    }
    let mut runner = Runner::default();
    if let Some(tags) = lookup("tags") {
        // GitLab.com's shared runners are tagged `saas-...`; any other tag selects a
        // project or group runner, which trusted publishing does not support.
        if let Some(t) = tags
            .iter_seq()
            .find(|t| t.as_str().is_some_and(|s| !s.starts_with("saas-")))
        {
            runner.self_hosted = Some(t.span());
            runner.self_hosted_guess = true;
        }
    }
    let node = lookup("image")
        .or_else(|| root.get("image"))
        .and_then(|i| {
            if i.is_mapping() {
                i.get("name")
            } else {
                Some(i)
            }
        })
        .and_then(node_from_image);
    Job {
        name: name.to_string(),
        key_span: key.span(),
        body: Some(body.clone()),
        env,
        steps,
        oidc,
        runner,
        node,
    }
}

/// The script key `key` of `body` (through its `extends:` in `root`) as one step.
pub fn key_step(root: &Node, body: &Node, key: &str) -> Option<Step> {
    let node = job_key(root, body, key, 0)?;
    let mut scripts = Vec::new();
    collect_scripts(root, node, &mut scripts, 0);
    (!scripts.is_empty()).then(|| Step {
        span: node.span(),
        env: Vec::new(),
        scripts,
        action: None,
        list_item: false,
    })
}

/// Whether `body` (through its `extends:` in `root`) sets `key`.
pub fn has_key(root: &Node, body: &Node, key: &str) -> bool {
    job_key(root, body, key, 0).is_some()
}

/// The parents `body` names in `extends:`, as written.
pub fn extends_of(body: &Node) -> Vec<&Node> {
    match body.get("extends") {
        Some(n) if n.is_sequence() => n.iter_seq().filter(|x| x.as_str().is_some()).collect(),
        Some(n) if n.as_str().is_some() => vec![n],
        _ => Vec::new(),
    }
}

/// Names of hidden jobs used in this file by `extends:` or `!reference`.
fn used_templates(root: &Node) -> Vec<String> {
    let mut out = Vec::new();
    collect_used(root, &mut out, 0);
    out
}

fn collect_used(node: &Node, out: &mut Vec<String>, depth: usize) {
    if depth > 32 {
        return;
    }
    if node.tag() == Some("!reference") {
        if let Some(first) = node.iter_seq().next().and_then(Node::as_str) {
            out.push(first.to_string());
        }
        return;
    }
    for (k, v) in node.iter_map() {
        if k.as_str() == Some("extends") {
            if let Some(s) = v.as_str() {
                out.push(s.to_string());
            }
            out.extend(v.iter_seq().filter_map(Node::as_str).map(str::to_string));
        }
        collect_used(v, out, depth + 1);
    }
    for item in node.iter_seq() {
        collect_used(item, out, depth + 1);
    }
}

/// A key of a job, following `extends:` (depth-limited: GitLab allows 11 levels).
fn job_key<'a>(root: &'a Node, body: &'a Node, key: &str, depth: usize) -> Option<&'a Node> {
    job_entry(root, body, key, depth).map(|(_, v)| v)
}

fn job_entry<'a>(
    root: &'a Node,
    body: &'a Node,
    key: &str,
    depth: usize,
) -> Option<(&'a Node, &'a Node)> {
    if let Some(e) = body.get_entry(key) {
        return Some((&e.key, &e.value));
    }
    if depth > 11 {
        return None;
    }
    let parents: Vec<&str> = match body.get("extends") {
        Some(n) if n.is_sequence() => n.iter_seq().filter_map(Node::as_str).collect(),
        Some(n) => n.as_str().into_iter().collect(),
        None => Vec::new(),
    };
    // The last template listed wins.
    parents
        .iter()
        .rev()
        .filter_map(|p| root.get(p))
        .find_map(|parent| job_entry(root, parent, key, depth + 1))
}

/// Script scalars, with `!reference [.job, key]` resolved.
fn collect_scripts(root: &Node, node: &Node, out: &mut Vec<super::ScriptText>, depth: usize) {
    if depth > 8 {
        return;
    }
    if node.tag() == Some("!reference") {
        let path: Vec<&str> = node.iter_seq().filter_map(Node::as_str).collect();
        if let Some(target) = root.get_path(&path) {
            collect_scripts(root, target, out, depth + 1);
        }
        return;
    }
    if node.is_sequence() {
        for item in node.iter_seq() {
            if item.tag() == Some("!reference") || item.is_sequence() {
                collect_scripts(root, item, out, depth + 1);
            } else {
                let mut one = Vec::new();
                scripts_of(item, &mut one);
                for mut s in one {
                    s.list_item = true;
                    out.push(s);
                }
            }
        }
        return;
    }
    scripts_of(node, out);
}

/// The Node version of a container image: `node:18-alpine` → `18`, `cimg/node:20.11`
/// → `20.11`. The span covers the version only, so a rewrite keeps any suffix.
pub fn node_from_image(image: &Node) -> Option<NodeSetup> {
    let scalar = image.as_scalar()?;
    let value = scalar.value();
    let (repo, tag) = value.rsplit_once(':')?;
    let repo_base = repo.rsplit('/').next().unwrap_or(repo);
    if repo_base != "node" {
        return None;
    }
    let tag_start = repo.len() + 1;
    let version_len = tag
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(tag.len());
    if version_len == 0 {
        // `node:lts`, `node:current-alpine`: a current release.
        return None;
    }
    let version = tag.get(..version_len)?.to_string();
    Some(NodeSetup {
        span: scalar.to_source(tag_start..tag_start + version_len),
        version,
        from_file: None,
        assumed: false,
    })
}
