//! References from one file to another, as the file writes them: GitLab `include:`, Azure
//! `template:`, compose `build.dockerfile`, `docker build -f` and `docker/build-push-action`
//! `file:`, GitHub `uses: ./path`. Each reference says how its path is resolved and which kind
//! the file it reaches is read as.

use std::sync::LazyLock;

use regex::Regex;

use crate::discover::FileKind;
use crate::parse::yaml::{Document, Node};
use crate::source::Span;

/// What kind of reference it is (decides the kind of the file reached and the messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefKind {
    /// GitLab `include: local:` / `trigger: include:`.
    GitlabInclude,
    /// Azure Pipelines `template:` (steps, jobs, stages, variables, `extends:`).
    AzureTemplate,
    /// Compose `build.dockerfile` (or `build: DIR`).
    ComposeDockerfile,
    /// `docker build -f FILE` in a CI script, `docker/build-push-action` `file:`.
    DockerBuildFile,
    /// GitHub `uses: ./path` in a step: a local composite action.
    GithubAction,
    /// GitHub `uses: ./.github/workflows/x.yml` as a job: a reusable workflow.
    GithubWorkflow,
}

impl RefKind {
    /// The kind the file reached is scanned as when its name says nothing.
    pub fn implied_kind(self) -> FileKind {
        match self {
            RefKind::GitlabInclude => FileKind::GitlabCi,
            RefKind::AzureTemplate => FileKind::AzurePipelines,
            RefKind::ComposeDockerfile | RefKind::DockerBuildFile => FileKind::Dockerfile,
            RefKind::GithubAction => FileKind::GithubAction,
            RefKind::GithubWorkflow => FileKind::GithubWorkflow,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            RefKind::GitlabInclude => "GitLab include",
            RefKind::AzureTemplate => "Azure Pipelines template",
            RefKind::ComposeDockerfile => "compose build.dockerfile",
            RefKind::DockerBuildFile => "Dockerfile of a docker build",
            RefKind::GithubAction => "local action",
            RefKind::GithubWorkflow => "reusable workflow",
        }
    }
}

/// Where a reference's path is taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// The repository root (GitHub `uses: ./`, GitLab `local:`, a CI step's working folder).
    Repo,
    /// The referencing file's folder joined with this (a compose `build.context`, or "").
    FileDir(String),
}

/// A reference as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A path in this repository.
    Local { path: String, base: Base },
    /// Something outside the repository (`include: remote:`, `project:`, `component:`, an Azure
    /// template `@repo`, a reusable workflow of another repository): not read, noted.
    Remote(String),
}

#[derive(Debug, Clone)]
pub struct RawRef {
    pub kind: RefKind,
    /// The path text in the referencing file.
    pub span: Span,
    pub target: Target,
    /// Not written but implied (compose's default `Dockerfile`): no note when it is missing.
    pub implicit: bool,
}

/// Every reference of a file of `kind`.
pub fn extract(kind: FileKind, docs: &[Document], text: &str) -> Vec<RawRef> {
    let mut out = Vec::new();
    for doc in docs {
        match kind {
            FileKind::GitlabCi => gitlab(&doc.root, &mut out),
            FileKind::AzurePipelines => azure(&doc.root, &mut out, 0),
            FileKind::Compose => compose(&doc.root, &mut out),
            FileKind::GithubWorkflow | FileKind::GithubAction => github(&doc.root, &mut out),
            _ => {}
        }
        if kind.is_ci() {
            docker_build_files(&doc.root, text, &mut out, 0);
        }
    }
    out
}

fn local(kind: RefKind, node: &Node, base: Base) -> Option<RawRef> {
    let path = node.as_str()?.trim();
    if path.is_empty() || path.contains("$") {
        return None;
    }
    Some(RawRef {
        kind,
        span: node.span(),
        target: Target::Local {
            path: path.to_string(),
            base,
        },
        implicit: false,
    })
}

fn remote(kind: RefKind, node: &Node, what: String) -> RawRef {
    RawRef {
        kind,
        span: node.span(),
        target: Target::Remote(what),
        implicit: false,
    }
}

// --- GitLab ----------------------------------------------------------------------------------

fn gitlab(root: &Node, out: &mut Vec<RawRef>) {
    if let Some(include) = root.get("include") {
        gitlab_include(include, out);
    }
    for (_, job) in root.iter_map() {
        if let Some(include) = job.get("trigger").and_then(|t| t.get("include")) {
            gitlab_include(include, out);
        }
    }
}

fn gitlab_include(node: &Node, out: &mut Vec<RawRef>) {
    if node.is_sequence() {
        for item in node.iter_seq() {
            gitlab_include_one(item, out);
        }
    } else {
        gitlab_include_one(node, out);
    }
}

fn gitlab_include_one(node: &Node, out: &mut Vec<RawRef>) {
    let kind = RefKind::GitlabInclude;
    if let Some(s) = node.as_str() {
        if s.starts_with("http://") || s.starts_with("https://") {
            out.push(remote(kind, node, format!("remote include {s}")));
        } else if let Some(r) = local(kind, node, Base::Repo) {
            out.push(r);
        }
        return;
    }
    if let Some(l) = node.get("local") {
        if let Some(r) = local(kind, l, Base::Repo) {
            out.push(r);
        }
    } else if let Some(r) = node.get("remote") {
        out.push(remote(
            kind,
            r,
            format!("remote include {}", r.as_str().unwrap_or("")),
        ));
    } else if let Some(p) = node.get("project") {
        out.push(remote(
            kind,
            p,
            format!("include of project {}", p.as_str().unwrap_or("")),
        ));
    } else if let Some(c) = node.get("component") {
        out.push(remote(
            kind,
            c,
            format!("component {}", c.as_str().unwrap_or("")),
        ));
    } else if let Some(t) = node.get("template") {
        out.push(remote(
            kind,
            t,
            format!("GitLab template {}", t.as_str().unwrap_or("")),
        ));
    }
}

// --- Azure Pipelines -------------------------------------------------------------------------

fn azure(node: &Node, out: &mut Vec<RawRef>, depth: usize) {
    if depth > 64 {
        return;
    }
    if node.is_mapping() {
        for (k, v) in node.iter_map() {
            if k.as_str() == Some("template") {
                if let Some(path) = v.as_str() {
                    let path = path.trim();
                    if let Some((_, repo)) = path.split_once('@') {
                        if repo != "self" {
                            out.push(remote(
                                RefKind::AzureTemplate,
                                v,
                                format!("template {path} of repository resource {repo}"),
                            ));
                            continue;
                        }
                    }
                    if let Some(r) = local(RefKind::AzureTemplate, v, Base::FileDir(String::new()))
                    {
                        let r = match r.target {
                            Target::Local { path, .. } => RawRef {
                                target: Target::Local {
                                    path: path
                                        .trim_end_matches("@self")
                                        .trim_start_matches('/')
                                        .to_string(),
                                    base: if path.starts_with('/') {
                                        Base::Repo
                                    } else {
                                        Base::FileDir(String::new())
                                    },
                                },
                                ..r
                            },
                            Target::Remote(_) => r,
                        };
                        out.push(r);
                    }
                    continue;
                }
            }
            azure(v, out, depth + 1);
        }
    } else {
        for item in node.iter_seq() {
            azure(item, out, depth + 1);
        }
    }
}

// --- Compose ---------------------------------------------------------------------------------

fn compose(root: &Node, out: &mut Vec<RawRef>) {
    for (_, service) in root.get("services").into_iter().flat_map(Node::iter_map) {
        let Some(build) = service.get("build") else {
            continue;
        };
        if let Some(dir) = build.as_str() {
            if is_url(dir) {
                continue;
            }
            // `build: ./api` builds ./api/Dockerfile.
            out.push(RawRef {
                kind: RefKind::ComposeDockerfile,
                span: build.span(),
                target: Target::Local {
                    path: "Dockerfile".into(),
                    base: Base::FileDir(dir.trim().to_string()),
                },
                implicit: true,
            });
            continue;
        }
        let context = build.get("context").and_then(Node::as_str).unwrap_or(".");
        if is_url(context) || build.get("dockerfile_inline").is_some() {
            continue;
        }
        let base = Base::FileDir(context.trim().to_string());
        match build.get("dockerfile") {
            Some(d) => {
                if let Some(r) = local(RefKind::ComposeDockerfile, d, base) {
                    out.push(r);
                }
            }
            None => out.push(RawRef {
                kind: RefKind::ComposeDockerfile,
                span: build.span(),
                target: Target::Local {
                    path: "Dockerfile".into(),
                    base,
                },
                implicit: true,
            }),
        }
    }
}

fn is_url(s: &str) -> bool {
    let s = s.trim();
    s.contains("://") || s.starts_with("git@") || s.ends_with(".git")
}

// --- GitHub Actions --------------------------------------------------------------------------

fn github(root: &Node, out: &mut Vec<RawRef>) {
    for (_, job) in root.get("jobs").into_iter().flat_map(Node::iter_map) {
        if let Some(uses) = job.get("uses") {
            github_uses(uses, RefKind::GithubWorkflow, out);
        }
        for step in job.get("steps").into_iter().flat_map(Node::iter_seq) {
            if let Some(uses) = step.get("uses") {
                github_uses(uses, RefKind::GithubAction, out);
            }
        }
    }
    for step in root
        .get_path(&["runs", "steps"])
        .into_iter()
        .flat_map(Node::iter_seq)
    {
        if let Some(uses) = step.get("uses") {
            github_uses(uses, RefKind::GithubAction, out);
        }
    }
}

fn github_uses(node: &Node, kind: RefKind, out: &mut Vec<RawRef>) {
    let Some(text) = node.as_str() else { return };
    let text = text.trim();
    if text.starts_with("docker://") || text.contains("${{") {
        return;
    }
    if let Some(rest) = text.strip_prefix("./").or((text == ".").then_some("")) {
        out.push(RawRef {
            kind,
            span: node.span(),
            target: Target::Local {
                path: rest.trim_end_matches('/').to_string(),
                base: Base::Repo,
            },
            implicit: false,
        });
    } else if kind == RefKind::GithubWorkflow {
        // Another repository's reusable workflow: its jobs are not in this repository.
        out.push(remote(kind, node, format!("reusable workflow {text}")));
    }
}

// --- docker build -f -------------------------------------------------------------------------

static DOCKER_BUILD_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\b(?:docker|podman|buildah)\s+(?:buildx\s+)?(?:build|bud)\b[^\n;&|]*?\s(?:-f|--file)(?:\s+|=)["']?([A-Za-z0-9_./@+-]+)"#,
    )
    .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// `docker build -f FILE` in any script scalar, `docker/build-push-action` `with: file:`.
fn docker_build_files(node: &Node, text: &str, out: &mut Vec<RawRef>, depth: usize) {
    if depth > 64 {
        return;
    }
    if let Some(s) = node.as_scalar() {
        let value = s.value();
        if !value.contains("docker") && !value.contains("podman") && !value.contains("buildah") {
            return;
        }
        for c in DOCKER_BUILD_FILE.captures_iter(value) {
            let Some(m) = c.get(1) else { continue };
            let path = m.as_str();
            if path == "-" || path.contains('$') {
                continue;
            }
            let span = s.to_source(m.range());
            let span = if text.get(span.clone()) == Some(path) {
                span
            } else {
                node.span()
            };
            out.push(RawRef {
                kind: RefKind::DockerBuildFile,
                span,
                target: Target::Local {
                    path: path.to_string(),
                    base: Base::Repo,
                },
                implicit: false,
            });
        }
        return;
    }
    if node.is_mapping() {
        let uses_build_push = node.get("uses").and_then(Node::as_str).is_some_and(|u| {
            u.to_ascii_lowercase()
                .starts_with("docker/build-push-action")
        });
        if uses_build_push {
            if let Some(file) = node.get("with").and_then(|w| w.get("file")) {
                if let Some(r) = local(RefKind::DockerBuildFile, file, Base::Repo) {
                    out.push(r);
                }
            }
        }
        for (_, v) in node.iter_map() {
            docker_build_files(v, text, out, depth + 1);
        }
    } else {
        for item in node.iter_seq() {
            docker_build_files(item, text, out, depth + 1);
        }
    }
}
