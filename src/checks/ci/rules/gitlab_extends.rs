//! What a GitLab job takes from the other files of its pipeline, read from the model: a hidden
//! job (`.publish`) that `extends:` or `!reference [.publish, script]` names and that is defined
//! in an included file (or in a file that includes this one, or a sibling include: GitLab
//! merges them all into one configuration). Its scripts count as the job's, unless the job
//! sets the same key itself; its `id_tokens:` too. A template that brings its own token is
//! reported in its own file, where the fix goes, and adds nothing here.
//!
//! Names that no file of the pipeline defines, and `extends:` chains that loop, are notes.

use std::collections::BTreeSet;

use super::*;
use crate::checks::ci::gitlab;
use crate::model::{Model, RefKind};
use crate::parse::yaml::Node;
use crate::parse::ParseError;

/// Every file of the pipeline `rel` belongs to, but `rel`: the files that include it (up to the
/// top-level `.gitlab-ci.yml`) and everything those include, sorted.
fn pipeline_files(model: &Model, rel: &str) -> Vec<String> {
    let mut up: BTreeSet<String> = BTreeSet::new();
    let mut stack = vec![rel.to_string()];
    while let Some(f) = stack.pop() {
        if !up.insert(f.clone()) {
            continue;
        }
        stack.extend(
            model
                .refs_to(&f)
                .filter(|r| r.kind == RefKind::GitlabInclude)
                .map(|r| r.from.clone()),
        );
    }
    let mut all: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<String> = up.into_iter().collect();
    while let Some(f) = stack.pop() {
        if !all.insert(f.clone()) {
            continue;
        }
        stack.extend(
            model
                .refs_from(&f)
                .filter(|r| r.kind == RefKind::GitlabInclude)
                .map(|r| r.to.clone()),
        );
    }
    all.remove(rel);
    all.into_iter().collect()
}

/// The file of the pipeline that defines job `name`, with its root.
fn find_in(model: &Model, files: &[String], name: &str) -> Option<(String, Node)> {
    files.iter().find_map(|f| {
        let docs = model.file(f)?.yaml()?;
        docs.iter()
            .find(|d| d.root.get(name).is_some_and(Node::is_mapping))
            .map(|d| (f.clone(), d.root.clone()))
    })
}

/// A name this file's job uses, defined in another file of the pipeline.
struct Foreign<'a> {
    /// Where this file names it (the `extends:` value, the `!reference` tag).
    at: &'a Node,
    name: String,
    /// Only this key (`!reference [.x, script]`), or every script key (`extends:`).
    key: Option<String>,
}

/// The names `body` (and the templates of this file it extends) take from elsewhere.
fn foreign_names<'a>(root: &'a Node, body: &'a Node) -> Vec<Foreign<'a>> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&Node> = vec![body];
    while let Some(b) = stack.pop() {
        for p in gitlab::extends_of(b) {
            let Some(name) = p.as_str() else { continue };
            if !seen.insert(name) {
                continue;
            }
            match root.get(name) {
                Some(own) => stack.push(own),
                None => out.push(Foreign {
                    at: p,
                    name: name.to_string(),
                    key: None,
                }),
            }
        }
        for key in gitlab::SCRIPT_KEYS {
            let Some(v) = b.get(key) else { continue };
            let items: Vec<&Node> = if v.is_sequence() && v.tag() != Some("!reference") {
                v.iter_seq().collect()
            } else {
                vec![v]
            };
            for item in items {
                if item.tag() != Some("!reference") {
                    continue;
                }
                let path: Vec<&str> = item.iter_seq().filter_map(Node::as_str).collect();
                if let [job, k] = path.as_slice() {
                    if root.get(job).is_none() {
                        out.push(Foreign {
                            at: item,
                            name: job.to_string(),
                            key: Some(k.to_string()),
                        });
                    }
                }
            }
        }
    }
    out
}

/// What the other files of the pipeline add to `job`: a copy of the job with one more step
/// (at the `extends:` value or the `!reference` tag) per template whose publishes it runs,
/// and those steps' facts. `None` when they add nothing.
pub(super) fn extend(
    ctx: &FileCtx<'_>,
    p: &Pipeline,
    job: &Job,
    package_scripts: &std::collections::BTreeMap<String, String>,
    seen: &mut Seen,
) -> Option<(Job, Vec<StepFacts>)> {
    if p.system != System::Gitlab {
        return None;
    }
    let (model, rel) = ctx.model()?;
    let (root, body) = (p.root.as_ref()?, job.body.as_ref()?);
    let wanted = foreign_names(root, body);
    if wanted.is_empty() {
        return None;
    }
    let files = pipeline_files(model, rel);
    let mut extended = job.clone();
    let mut added: Vec<StepFacts> = Vec::new();
    for f in wanted {
        let Some((file, froot)) = find_in(model, &files, &f.name) else {
            continue;
        };
        let Some(tjob) = gitlab::template_job(&froot, &f.name) else {
            continue;
        };
        let Some(tbody) = tjob.body.clone() else {
            continue;
        };
        if f.key.is_none() && tjob.oidc.configured && !extended.oidc.signal {
            extended.oidc.signal = true;
            extended.oidc.configured = true;
        }
        let keys: Vec<&str> = match &f.key {
            Some(k) => vec![k.as_str()],
            None => gitlab::SCRIPT_KEYS
                .iter()
                .copied()
                .filter(|k| !gitlab::has_key(root, body, k))
                .collect(),
        };
        let steps: Vec<Step> = keys
            .iter()
            .filter_map(|k| gitlab::key_step(&froot, &tbody, k))
            .collect();
        if steps.is_empty() {
            continue;
        }
        let probe = Job {
            steps,
            ..tjob.clone()
        };
        let facts = step_facts(ctx, System::Gitlab, &probe, package_scripts);
        let mut publishes: Vec<Publish> = Vec::new();
        for (i, sf) in facts.iter().enumerate() {
            if !tokens_for(ctx, &probe, &facts, i).is_empty() {
                // Reported in its own file, with the token it brings.
                continue;
            }
            for publish in &sf.facts.publishes {
                let merged = publish.run_from(&f.name, f.at.span());
                let related = model.related(
                    &file,
                    &publish.span,
                    format!("`{}` runs here, in `{}`", publish.tool, f.name),
                );
                seen.related
                    .push((f.at.span(), merged.tool.clone(), related));
                publishes.push(merged);
            }
        }
        if publishes.is_empty() {
            continue;
        }
        extended.steps.push(Step {
            span: f.at.span(),
            env: Vec::new(),
            scripts: Vec::new(),
            action: None,
            list_item: false,
        });
        added.push(StepFacts {
            facts: Facts {
                publishes,
                ..Facts::default()
            },
        });
    }
    (!added.is_empty()).then_some((extended, added))
}

/// Notes for the `extends:` and `!reference` names of this file that no file of its pipeline
/// defines, and for `extends:` chains that come back to a job already on them.
pub(super) fn notes(ctx: &mut FileCtx<'_>, p: &Pipeline) {
    if p.system != System::Gitlab {
        return;
    }
    let Some(root) = p.root.as_ref() else { return };
    let files = ctx
        .model()
        .map(|(model, rel)| (model, pipeline_files(model, rel)));
    // With a remote include, an unknown name most likely comes from it.
    let remote = has_remote_include(root)
        || files.as_ref().is_some_and(|(m, fs)| {
            fs.iter().any(|f| {
                m.file(f)
                    .and_then(|f| f.yaml())
                    .is_some_and(|docs| docs.iter().any(|d| has_remote_include(&d.root)))
            })
        });
    let nowhere = if remote {
        "which no file of this repository defines (it may come from a remote include, which is not read)"
    } else {
        "which no file of this pipeline defines"
    };
    let defined = |name: &str| {
        root.get(name).is_some()
            || files
                .as_ref()
                .is_some_and(|(m, f)| find_in(m, f, name).is_some())
    };
    let mut out: Vec<ParseError> = Vec::new();
    for (key, body) in root.iter_map() {
        let Some(job) = key.as_str() else { continue };
        if !body.is_mapping() {
            continue;
        }
        for parent in gitlab::extends_of(body) {
            let Some(name) = parent.as_str() else {
                continue;
            };
            if !defined(name) {
                out.push(ParseError::new(
                    format!("`{job}` extends `{name}`, {nowhere}; its keys are not known"),
                    Some(parent.span()),
                ));
            } else if loops_back(root, job, name) {
                out.push(ParseError::new(
                    format!("`{job}` extends `{name}`, which extends `{job}` again: GitLab rejects the loop; each template is read once here"),
                    Some(parent.span()),
                ));
            }
        }
        let mut refs = Vec::new();
        references(body, &mut refs, 0);
        for r in refs {
            let path: Vec<&str> = r.iter_seq().filter_map(Node::as_str).collect();
            let Some(name) = path.first() else { continue };
            if !defined(name) {
                out.push(ParseError::new(
                    format!(
                        "`!reference [{}]` names `{name}`, {nowhere}; not followed",
                        path.join(", ")
                    ),
                    Some(r.span()),
                ));
            }
        }
    }
    for n in out {
        ctx.note(n);
    }
}

/// Whether `root` includes a file of another repository or of GitLab's own templates.
fn has_remote_include(root: &Node) -> bool {
    let Some(include) = root.get("include") else {
        return false;
    };
    let remote = |item: &Node| {
        item.as_str()
            .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"))
            || ["remote", "project", "template", "component"]
                .iter()
                .any(|k| item.get(k).is_some())
    };
    if include.is_sequence() {
        include.iter_seq().any(remote)
    } else {
        remote(include)
    }
}

/// Whether following `extends:` from `name` in `root` reaches `job` again.
fn loops_back(root: &Node, job: &str, name: &str) -> bool {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack = vec![name];
    while let Some(n) = stack.pop() {
        if n == job {
            return true;
        }
        if !seen.insert(n) {
            continue;
        }
        if let Some(b) = root.get(n) {
            stack.extend(gitlab::extends_of(b).into_iter().filter_map(Node::as_str));
        }
    }
    false
}

fn references<'a>(node: &'a Node, out: &mut Vec<&'a Node>, depth: usize) {
    if depth > 16 {
        return;
    }
    if node.tag() == Some("!reference") {
        out.push(node);
        return;
    }
    for (_, v) in node.iter_map() {
        references(v, out, depth + 1);
    }
    for item in node.iter_seq() {
        references(item, out, depth + 1);
    }
}
