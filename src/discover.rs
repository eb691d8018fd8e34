//! Finding the files to scan: the parallel walk, and the one function that decides from a path
//! alone (before any read) what kind of file it is.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};
use serde::Serialize;

/// Every kind of file a check exists for, plus `Other` (token sweep only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Npmrc,
    Yarnrc,
    YarnrcYml,
    Bunfig,
    DotEnv,
    Dockerfile,
    Compose,
    GithubWorkflow,
    GithubAction,
    GitlabCi,
    CircleCi,
    Travis,
    AzurePipelines,
    BitbucketPipelines,
    /// A Jenkins pipeline (`Jenkinsfile`, `Jenkinsfile.release`, `jenkinsfile.gvy`, `*.jenkinsfile`).
    Jenkinsfile,
    DroneCi,
    Woodpecker,
    Buildkite,
    OneDev,
    /// A file of no known kind: only the literal-token sweep applies.
    Other,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Npmrc => "npmrc",
            FileKind::Yarnrc => "yarnrc",
            FileKind::YarnrcYml => "yarnrc-yml",
            FileKind::Bunfig => "bunfig",
            FileKind::DotEnv => "dotenv",
            FileKind::Dockerfile => "dockerfile",
            FileKind::Compose => "compose",
            FileKind::GithubWorkflow => "github-workflow",
            FileKind::GithubAction => "github-action",
            FileKind::GitlabCi => "gitlab-ci",
            FileKind::CircleCi => "circleci",
            FileKind::Travis => "travis",
            FileKind::AzurePipelines => "azure-pipelines",
            FileKind::BitbucketPipelines => "bitbucket-pipelines",
            FileKind::Jenkinsfile => "jenkinsfile",
            FileKind::DroneCi => "drone",
            FileKind::Woodpecker => "woodpecker",
            FileKind::Buildkite => "buildkite",
            FileKind::OneDev => "onedev",
            FileKind::Other => "other",
        }
    }

    /// CI configuration files of any system.
    pub fn is_ci(self) -> bool {
        matches!(
            self,
            FileKind::GithubWorkflow
                | FileKind::GithubAction
                | FileKind::GitlabCi
                | FileKind::CircleCi
                | FileKind::Travis
                | FileKind::AzurePipelines
                | FileKind::BitbucketPipelines
                | FileKind::Jenkinsfile
                | FileKind::DroneCi
                | FileKind::Woodpecker
                | FileKind::Buildkite
                | FileKind::OneDev
        )
    }
}

fn is_yaml_ext(name: &str) -> bool {
    name.ends_with(".yml") || name.ends_with(".yaml")
}

/// `Dockerfile.dev`, `Dockerfile-publish` and `Dockerfile.j2` are Dockerfiles;
/// `dockerfile-lint.json` or `Dockerfile-guide.md` are files of another format named after one.
fn has_other_format_extension(lower_name: &str) -> bool {
    const OTHER: &[&str] = &[
        "md", "markdown", "txt", "rst", "adoc", "json", "json5", "toml", "yml", "yaml", "lock",
        "sh", "bash", "zsh", "ps1", "bat", "cmd", "js", "mjs", "cjs", "ts", "tsx", "jsx", "py",
        "rb", "go", "rs", "java", "kt", "html", "htm", "xml", "csv", "svg", "png", "jpg", "gif",
        "ico", "pdf", "snap",
    ];
    lower_name
        .rsplit_once('.')
        .is_some_and(|(_, ext)| OTHER.contains(&ext))
}

/// Backups and variants of an `.npmrc` (`.npmrc.bak`, `.npmrcOLD2`, `npmrc.backup`,
/// `.npmrc_ci`, `.npmrc~`): npm reads none of them, but they hold the same credentials, and
/// are read as `.npmrc`. `npmrc.js` and other source files are not.
fn is_npmrc_backup(lower_name: &str) -> bool {
    let Some(rest) = lower_name
        .strip_prefix(".npmrc")
        .or_else(|| lower_name.strip_prefix("npmrc"))
    else {
        return false;
    };
    if has_other_format_extension(lower_name) {
        return false;
    }
    match rest.chars().next() {
        Some('.' | '-' | '_' | '~') => true,
        Some(c) if c.is_ascii_digit() => true,
        Some(_) => [
            "old", "bak", "backup", "orig", "save", "copy", "prev", "tmp",
        ]
        .iter()
        .any(|w| rest.starts_with(w)),
        None => false,
    }
}

/// The kind of the file at `path` (a relative or absolute path with any separators), decided
/// from its name and parent folders only.
pub fn classify(path: &Path) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    let parents: Vec<&str> = path
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| c.as_os_str().to_str())
                .collect()
        })
        .unwrap_or_default();
    let parent = parents.last().copied().unwrap_or("");
    let grandparent = parents
        .len()
        .checked_sub(2)
        .and_then(|i| parents.get(i))
        .copied()
        .unwrap_or("");

    let kind = match lower.as_str() {
        ".npmrc" | "npmrc" => FileKind::Npmrc,
        n if n.starts_with(".npmrc-") || n.starts_with(".npmrc.") || is_npmrc_backup(n) => {
            FileKind::Npmrc
        }
        ".yarnrc" => FileKind::Yarnrc,
        ".yarnrc.yml" | ".yarnrc.yaml" => FileKind::YarnrcYml,
        "bunfig.toml" | ".bunfig.toml" => FileKind::Bunfig,
        ".env" => FileKind::DotEnv,
        n if n.starts_with(".env.") || (n.ends_with(".env") && n.len() > 4) => FileKind::DotEnv,
        "dockerfile" | "containerfile" => FileKind::Dockerfile,
        n if (n.starts_with("dockerfile.")
            || n.starts_with("dockerfile-")
            || n.starts_with("containerfile."))
            && !has_other_format_extension(n)
            || n.ends_with(".dockerfile") =>
        {
            FileKind::Dockerfile
        }
        ".travis.yml" | ".travis.yaml" => FileKind::Travis,
        "bitbucket-pipelines.yml" | "bitbucket-pipelines.yaml" => FileKind::BitbucketPipelines,
        ".gitlab-ci.yml" | ".gitlab-ci.yaml" => FileKind::GitlabCi,
        n if n.ends_with(".gitlab-ci.yml") || n.ends_with(".gitlab-ci.yaml") => FileKind::GitlabCi,
        n if is_yaml_ext(n) && parent == "workflows" && grandparent == ".github" => {
            FileKind::GithubWorkflow
        }
        "config.yml" | "config.yaml" if parent == ".circleci" => FileKind::CircleCi,
        "action.yml" | "action.yaml" => FileKind::GithubAction,
        n if is_yaml_ext(n) && n.starts_with("azure-pipelines") => FileKind::AzurePipelines,
        n if is_yaml_ext(n)
            && parents.iter().any(|p| {
                matches!(
                    *p,
                    ".azure-pipelines" | "azure-pipelines" | ".devops" | ".ado"
                )
            }) =>
        {
            FileKind::AzurePipelines
        }
        "jenkinsfile" | "jenkinsfile.gvy" | "jenkinsfile.groovy" => FileKind::Jenkinsfile,
        n if n.ends_with(".jenkinsfile")
            || n.starts_with("jenkinsfile.") && !has_other_format_extension(n) =>
        {
            FileKind::Jenkinsfile
        }
        ".drone.yml" | ".drone.yaml" => FileKind::DroneCi,
        ".woodpecker.yml" | ".woodpecker.yaml" => FileKind::Woodpecker,
        n if is_yaml_ext(n) && parent == ".woodpecker" => FileKind::Woodpecker,
        ".onedev-buildspec.yml" | ".onedev-buildspec.yaml" => FileKind::OneDev,
        "buildkite.yml" | "buildkite.yaml" | ".buildkite.yml" | ".buildkite.yaml" => {
            FileKind::Buildkite
        }
        // `.buildkite/` also holds the compose files its docker-compose plugin runs.
        n if is_yaml_ext(n) && parent == ".buildkite" && !n.contains("compose") => {
            FileKind::Buildkite
        }
        n if is_yaml_ext(n) && (n.contains("compose") || n.contains("kompose")) => {
            FileKind::Compose
        }
        _ => return None,
    };
    Some(kind)
}

/// A file to scan.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Where to read it.
    pub fs_path: PathBuf,
    /// How outputs name it: the scan root as typed joined with the relative path, `/`-separated.
    pub display: String,
    pub kind: FileKind,
    /// Named on the command line (scanned even when ignored).
    pub named: bool,
    /// Index of the PATH argument this file came from (for per-root summaries).
    pub root: usize,
}

/// A path that could not be walked or read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileError {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

/// How to walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    pub no_ignore: bool,
    pub all_files: bool,
    pub excludes: Vec<String>,
    pub threads: usize,
}

/// `/`-separated display form of `path`, without a leading `./`.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let mut s = s.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_string()
}

/// Walks every root (directories in parallel, files as named) and returns the files to scan,
/// sorted by display path, plus the paths that could not be walked.
pub fn discover(roots: &[PathBuf], opts: &WalkOptions) -> (Vec<Candidate>, Vec<FileError>) {
    let mut candidates = Vec::new();
    let mut errors = Vec::new();
    for (root_index, root) in roots.iter().enumerate() {
        if root.is_dir() {
            walk_dir(root, root_index, opts, &mut candidates, &mut errors);
        } else if root.exists() {
            candidates.push(Candidate {
                fs_path: root.clone(),
                display: display_path(root),
                kind: classify(root).unwrap_or(FileKind::Other),
                named: true,
                root: root_index,
            });
        } else {
            errors.push(FileError {
                path: display_path(root),
                line: None,
                message: missing_reason(root),
            });
        }
    }
    candidates.sort_by(|a, b| a.display.cmp(&b.display));
    candidates.dedup_by(|a, b| a.display == b.display);
    (candidates, errors)
}

/// Why a named path that does not resolve is missing: a symbolic link that loops or points
/// nowhere exists itself, and saying "no such file" about it would send the user looking for
/// the wrong thing.
fn missing_reason(path: &Path) -> String {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return "no such file or directory".to_string();
    }
    match std::fs::metadata(path) {
        // "Too many levels of symbolic links" for a loop, "No such file" for a dangling link.
        Err(e) => format!("symbolic link whose target cannot be reached: {e}"),
        Ok(_) => "no such file or directory".to_string(),
    }
}

fn walk_dir(
    root: &Path,
    root_index: usize,
    opts: &WalkOptions,
    candidates: &mut Vec<Candidate>,
    errors: &mut Vec<FileError>,
) {
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .git_ignore(!opts.no_ignore)
        .git_global(!opts.no_ignore)
        .git_exclude(!opts.no_ignore)
        .ignore(!opts.no_ignore)
        .parents(!opts.no_ignore)
        .threads(opts.threads);
    if !opts.excludes.is_empty() {
        let mut overrides = OverrideBuilder::new(root);
        for glob in &opts.excludes {
            if let Err(e) = overrides.add(&format!("!{glob}")) {
                errors.push(FileError {
                    path: glob.clone(),
                    line: None,
                    message: format!("invalid --exclude glob: {e}"),
                });
            }
        }
        match overrides.build() {
            Ok(o) => {
                builder.overrides(o);
            }
            Err(e) => errors.push(FileError {
                path: root.display().to_string(),
                line: None,
                message: format!("invalid --exclude globs: {e}"),
            }),
        }
    }
    let skip_node_modules = !opts.no_ignore;
    builder.filter_entry(move |entry| {
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        if !is_dir || entry.depth() == 0 {
            return true;
        }
        let name = entry.file_name();
        name != ".git" && !(skip_node_modules && name == "node_modules")
    });

    let (tx, rx) = mpsc::channel::<Result<Candidate, FileError>>();
    let all_files = opts.all_files;
    builder.build_parallel().run(|| {
        let tx = tx.clone();
        Box::new(move |entry| {
            match entry {
                Ok(entry) => {
                    if !entry.file_type().is_some_and(|t| t.is_file()) {
                        return WalkState::Continue;
                    }
                    let path = entry.path();
                    let kind = match classify(path) {
                        Some(kind) => kind,
                        None if all_files => FileKind::Other,
                        None => return WalkState::Continue,
                    };
                    let _ = tx.send(Ok(Candidate {
                        fs_path: path.to_path_buf(),
                        display: display_path(path),
                        kind,
                        named: false,
                        root: root_index,
                    }));
                }
                Err(err) => {
                    let path = match &err {
                        ignore::Error::WithPath { path, .. } => display_path(path),
                        _ => display_path(root),
                    };
                    let _ = tx.send(Err(FileError {
                        path,
                        line: None,
                        message: walk_error_message(&err),
                    }));
                }
            }
            WalkState::Continue
        })
    });
    drop(tx);
    for item in rx {
        match item {
            Ok(c) => candidates.push(c),
            Err(e) => errors.push(e),
        }
    }
}

/// The innermost message of a walk error (ignore wraps them in path and depth layers).
fn walk_error_message(err: &ignore::Error) -> String {
    // A folder removed between being listed and being read comes back as a bare `NotFound`,
    // often without the path: say what happened rather than "No such file or directory".
    if err
        .io_error()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    {
        return "a file or folder vanished during the walk".to_string();
    }
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => walk_error_message(err),
        ignore::Error::Loop { child, .. } => {
            format!("symbolic link loop at {}", display_path(child))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let table: &[(&str, Option<FileKind>)] = &[
            (".npmrc", Some(FileKind::Npmrc)),
            ("packages/a/.npmrc", Some(FileKind::Npmrc)),
            ("npmrc", Some(FileKind::Npmrc)),
            (".npmrc-publish", Some(FileKind::Npmrc)),
            (".npmrc.example", Some(FileKind::Npmrc)),
            (".npmrc.bak", Some(FileKind::Npmrc)),
            (".npmrcOLD2", Some(FileKind::Npmrc)),
            ("npmrc.backup", Some(FileKind::Npmrc)),
            (".npmrc_ci", Some(FileKind::Npmrc)),
            (".npmrc~", Some(FileKind::Npmrc)),
            ("npmrc2", Some(FileKind::Npmrc)),
            ("npmrc.js", None),
            ("src/npmrc.ts", None),
            ("npmrcfile", None),
            (".yarnrc", Some(FileKind::Yarnrc)),
            (".yarnrc.yml", Some(FileKind::YarnrcYml)),
            (".yarnrc.yaml", Some(FileKind::YarnrcYml)),
            ("bunfig.toml", Some(FileKind::Bunfig)),
            (".bunfig.toml", Some(FileKind::Bunfig)),
            (".env", Some(FileKind::DotEnv)),
            (".env.production", Some(FileKind::DotEnv)),
            ("config/app.env", Some(FileKind::DotEnv)),
            ("Dockerfile", Some(FileKind::Dockerfile)),
            ("Dockerfile.prod", Some(FileKind::Dockerfile)),
            ("Dockerfile-publish", Some(FileKind::Dockerfile)),
            ("api.Dockerfile", Some(FileKind::Dockerfile)),
            ("build/web.dockerfile", Some(FileKind::Dockerfile)),
            ("Containerfile", Some(FileKind::Dockerfile)),
            ("Containerfile.dev", Some(FileKind::Dockerfile)),
            ("Dockerfile.j2", Some(FileKind::Dockerfile)),
            ("rules/dockerfile-token-arg.toml", None),
            ("docs/Dockerfile-guide.md", None),
            ("dockerfile.json", None),
            ("docker-compose.yml", Some(FileKind::Compose)),
            ("docker-compose.prod.yaml", Some(FileKind::Compose)),
            ("compose.yaml", Some(FileKind::Compose)),
            ("compose.override.yml", Some(FileKind::Compose)),
            ("kompose.yml", Some(FileKind::Compose)),
            (
                ".github/workflows/release.yml",
                Some(FileKind::GithubWorkflow),
            ),
            (
                ".github/workflows/compose.yaml",
                Some(FileKind::GithubWorkflow),
            ),
            ("action.yml", Some(FileKind::GithubAction)),
            (
                ".github/actions/publish/action.yaml",
                Some(FileKind::GithubAction),
            ),
            (".gitlab-ci.yml", Some(FileKind::GitlabCi)),
            ("ci/publish.gitlab-ci.yml", Some(FileKind::GitlabCi)),
            (".circleci/config.yml", Some(FileKind::CircleCi)),
            (".travis.yml", Some(FileKind::Travis)),
            ("azure-pipelines.yml", Some(FileKind::AzurePipelines)),
            (
                "azure-pipelines-release.yaml",
                Some(FileKind::AzurePipelines),
            ),
            (
                ".azure-pipelines/templates/publish.yml",
                Some(FileKind::AzurePipelines),
            ),
            (".devops/release.yml", Some(FileKind::AzurePipelines)),
            // Microsoft's repositories keep their pipelines under `.ado/`.
            (".ado/publish.yml", Some(FileKind::AzurePipelines)),
            (
                "azure-pipelines/templates/build.yml",
                Some(FileKind::AzurePipelines),
            ),
            (
                "bitbucket-pipelines.yml",
                Some(FileKind::BitbucketPipelines),
            ),
            ("Jenkinsfile", Some(FileKind::Jenkinsfile)),
            ("ci/Jenkinsfile.release", Some(FileKind::Jenkinsfile)),
            ("jenkinsfile.gvy", Some(FileKind::Jenkinsfile)),
            ("jenkins/publish.jenkinsfile", Some(FileKind::Jenkinsfile)),
            ("docs/Jenkinsfile.md", None),
            (".drone.yml", Some(FileKind::DroneCi)),
            (".woodpecker.yml", Some(FileKind::Woodpecker)),
            (".woodpecker/release.yaml", Some(FileKind::Woodpecker)),
            (".buildkite/pipeline.yml", Some(FileKind::Buildkite)),
            (".buildkite/release.yml", Some(FileKind::Buildkite)),
            (".buildkite/docker-compose.yml", Some(FileKind::Compose)),
            (".onedev-buildspec.yml", Some(FileKind::OneDev)),
            ("package.json", None),
            ("src/index.ts", None),
            ("config.yml", None),
            ("workflows/release.yml", None),
            (".environment", None),
            ("README.md", None),
        ];
        for (path, want) in table {
            assert_eq!(classify(Path::new(path)), *want, "{path}");
        }
    }

    #[test]
    fn display_paths_use_slashes_and_drop_dot_prefix() {
        assert_eq!(display_path(Path::new("./a/b")), "a/b");
        assert_eq!(display_path(Path::new("a/./b")), "a/./b");
        assert_eq!(display_path(Path::new("/abs/x")), "/abs/x");
    }
}
