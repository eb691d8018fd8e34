//! What a fixed file must still do, checked on the fixed text before anything is written (next
//! to the re-scan): a rewrite that parses and scans clean can still break the release it fixes.
//!
//! Per file ([`check_file`]): every command that ran before still runs in the same job (only
//! token writes and logins may go; a changed command keeps its name and subcommand); every
//! `--secret` flag the fix adds has its `env=` variable set where the command runs; every script
//! the fix adds or changes has balanced quotes and substitutions; a `circleci run oidc get
//! --claims` argument is JSON after shell unquoting; the YAML gains no duplicate key.
//!
//! Across files ([`check_repo`], through the [`RepoView`] interface): a reusable workflow that
//! gains `id-token: write` is called only by jobs that grant it; a `--secret src=` file exists in
//! the repository or is written earlier in the job; a build secret a CI step or a compose file
//! passes is the one the Dockerfile mounts, and a Dockerfile and the builds that feed it change
//! together (no build left passing a removed `ARG`, no Dockerfile left reading one); a compose
//! `build.secrets` entry is declared at top level with a source that is set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::discover::FileKind;
use crate::parse::yaml::{self, Node};
use crate::parse::{dockerfile, shell};

/// Keys whose value is a shell script (one string or a list of strings) in some CI system.
const SCRIPT_KEYS: &[&str] = &[
    "run",
    "command",
    "script",
    "before_script",
    "after_script",
    "before_install",
    "install",
    "before_deploy",
    "after_deploy",
    "after_success",
    "after-script",
    "bash",
    "pwsh",
    "powershell",
    "inlineScript",
    // Drone, Woodpecker, Buildkite steps and OneDev command steps.
    "commands",
];

/// Keys naming a tool a step runs instead of a script: actions, pipes, tasks, deploy providers.
const TOOL_KEYS: &[&str] = &["uses", "pipe", "task", "provider", "orb"];

/// Keys of environment blocks: GitHub `env`, GitLab/Azure `variables`, CircleCI/compose
/// `environment`.
const ENV_KEYS: &[&str] = &["env", "variables", "environment"];

/// Text that marks a command as a token write or a login: the only commands a fix may remove.
const AUTH_MARKS: &[&str] = &[
    ".npmrc",
    ".yarnrc",
    "_authtoken",
    "npmauthtoken",
    "_auth=",
    "_password",
    "npm login",
    "npm adduser",
    "npm-cli-login",
    "npm-login-noninteractive",
    "npm config set",
    "yarn config set",
    "pnpm config set",
];

static EXPRESSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{\{.*?\}\}|\$\(\([^)]*\)\)|\$\[\[.*?\]\]")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// A command as the invariants compare it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Run {
    /// The job (or stage, or deploy entry) it runs in: the mapping keys down to it.
    scope: String,
    /// Words joined by one space.
    text: String,
    /// Name and first non-option argument (`npm publish`, `docker build`).
    head: String,
    auth: bool,
}

/// A `--secret` flag of a container build.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SecretFlag {
    scope: String,
    /// The flag as written.
    text: String,
    id: String,
    /// The variable it reads (`env=`, or the id when neither `env=` nor `src=` is given).
    env: Option<String>,
    /// Whether that variable is set where the command runs.
    env_set: bool,
    /// The file it reads (`src=`/`source=`), as written.
    src: Option<String>,
    /// Whether an earlier line of the same step or job writes that file.
    src_made: bool,
    /// The folder the command runs in, relative to the repository root (`working-directory`).
    workdir: Option<String>,
    /// The Dockerfile the build reads, relative to the repository root.
    dockerfile: Option<String>,
}

/// The facts of one file the invariants compare.
#[derive(Debug, Default)]
struct Shape {
    runs: Vec<Run>,
    scripts: BTreeSet<String>,
    unbalanced: Vec<String>,
    claims: Vec<String>,
    secrets: Vec<SecretFlag>,
    duplicate_keys: Vec<String>,
    id_token_grants: usize,
    reusable: bool,
    /// Variables the file references as `$NAME` (CI project variables exist when referenced).
    referenced: BTreeSet<String>,
    /// The Dockerfiles the file's container builds read, relative to the repository root.
    builds: Vec<String>,
    /// Files the scripts write (redirections, `tee`, `cp`/`mv`/`install` targets, `touch`),
    /// with the job they run in, in the order they run.
    written: Vec<(String, String)>,
    /// The variables set where each `docker compose` (or `docker-compose`) command runs.
    compose_env: Vec<BTreeSet<String>>,
    /// What each container build passes: the Dockerfile, `--build-arg` names, secret ids.
    build_inputs: Vec<BuildInputs>,
    /// Drone, Woodpecker, Buildkite: a step's `secrets: [npm_token]` exports `NPM_TOKEN`.
    secrets_export: bool,
}

/// What one container build (a CI command or a compose service) hands the Dockerfile it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BuildInputs {
    dockerfile: String,
    args: BTreeSet<String>,
    secrets: BTreeSet<String>,
}

/// Why a fixed file breaks what the original did, if it does.
pub fn check_file(kind: FileKind, before: &str, after: &str) -> Result<(), String> {
    let (Some(old), Some(new)) = (shape(kind, before), shape(kind, after)) else {
        return Ok(());
    };
    if let Some(k) = new
        .duplicate_keys
        .iter()
        .find(|k| !old.duplicate_keys.contains(k))
    {
        return Err(format!("the fixed file repeats the key `{k}`"));
    }
    for run in old.runs.iter().filter(|r| !r.auth) {
        let kept = new
            .runs
            .iter()
            .any(|n| n.scope == run.scope && n.text == run.text);
        let changed = new.runs.iter().any(|n| {
            n.scope == run.scope && n.head == run.head && !old.runs.iter().any(|o| o.text == n.text)
        });
        if !kept && !changed {
            return Err(format!(
                "the fix would stop running `{}` in `{}`",
                crate::token::scrub(&run.text),
                display_scope(&run.scope)
            ));
        }
    }
    if let Some(s) = new.unbalanced.iter().find(|s| !old.scripts.contains(*s)) {
        return Err(format!(
            "an inserted script does not parse (unbalanced quotes or substitution): `{}`",
            crate::token::scrub(first_line(s))
        ));
    }
    if let Some(c) = new.claims.iter().find(|c| !old.claims.contains(c)) {
        if serde_json::from_str::<serde_json::Value>(c).is_err() {
            return Err(format!(
                "the `--claims` argument is not JSON once the shell unquotes it: {c}"
            ));
        }
    }
    let github = matches!(kind, FileKind::GithubWorkflow | FileKind::GithubAction);
    for s in new.secrets.iter().filter(|s| !old.secrets.contains(s)) {
        let Some(var) = &s.env else { continue };
        // A variable of the project's CI settings exists wherever the original referenced it;
        // GitHub secrets reach a step only through `env:`.
        let project_var = !github && (old.referenced.contains(var) || new.referenced.contains(var));
        if !s.env_set && !project_var {
            return Err(format!(
                "`{}` reads `{var}`, which is not set where the build runs: the build would get an empty secret",
                s.text
            ));
        }
    }
    Ok(())
}

/// The shell scripts a CI file or Dockerfile runs, as written (for validators of inserted shell).
pub fn scripts(kind: FileKind, text: &str) -> Vec<String> {
    shape(kind, text)
        .map(|s| s.scripts.into_iter().collect())
        .unwrap_or_default()
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

fn display_scope(scope: &str) -> &str {
    if scope.is_empty() {
        "the pipeline"
    } else {
        scope
    }
}

fn shape(kind: FileKind, text: &str) -> Option<Shape> {
    let mut out = Shape::default();
    match kind {
        FileKind::Dockerfile => {
            let df = dockerfile::parse(text);
            for ins in df.instructions.iter().filter(|i| i.is("RUN")) {
                let Some(script) = ins.script() else { continue };
                let scope = format!("stage {}", ins.stage.unwrap_or(0));
                add_script(&mut out, &scope, &script.text, &[], None);
            }
            Some(out)
        }
        FileKind::GithubWorkflow
        | FileKind::GithubAction
        | FileKind::GitlabCi
        | FileKind::CircleCi
        | FileKind::Travis
        | FileKind::AzurePipelines
        | FileKind::BitbucketPipelines
        | FileKind::DroneCi
        | FileKind::Woodpecker
        | FileKind::Buildkite
        | FileKind::OneDev
        | FileKind::Compose => {
            out.secrets_export = matches!(
                kind,
                FileKind::DroneCi | FileKind::Woodpecker | FileKind::Buildkite
            );
            let docs = yaml::parse(text).ok()?;
            for doc in &docs {
                walk(
                    &mut out,
                    &doc.root,
                    &mut Vec::new(),
                    &mut Vec::new(),
                    None,
                    0,
                );
                if kind == FileKind::GithubWorkflow {
                    out.reusable |= doc.root.get("on").is_some_and(|on| {
                        on.as_str() == Some("workflow_call")
                            || on.get("workflow_call").is_some()
                            || on.iter_seq().any(|n| n.as_str() == Some("workflow_call"))
                    });
                }
            }
            Some(out)
        }
        _ => None,
    }
}

fn walk(
    out: &mut Shape,
    node: &Node,
    path: &mut Vec<String>,
    env: &mut Vec<String>,
    workdir: Option<&str>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    if let Some(map) = node.as_mapping() {
        // GitHub `working-directory` (step, or job `defaults.run`), CircleCI `working_directory`.
        let workdir = ["working-directory", "working_directory"]
            .iter()
            .find_map(|k| node.get(k).and_then(Node::as_str))
            .or_else(|| {
                node.get("defaults")
                    .and_then(|d| d.get("run"))
                    .and_then(|r| r.get("working-directory"))
                    .and_then(Node::as_str)
            })
            .or(workdir);
        let mut seen = BTreeSet::new();
        for e in map.iter().filter(|e| !e.merged) {
            if let Some(k) = e.key.as_str() {
                if !seen.insert(k) {
                    let mut p = path.clone();
                    p.push(k.to_string());
                    out.duplicate_keys.push(p.join("."));
                }
            }
        }
        let pushed = env.len();
        for (k, v) in node.iter_map() {
            if k.as_str().is_some_and(|k| ENV_KEYS.contains(&k)) {
                env.extend(
                    v.iter_map()
                        .filter_map(|(n, _)| n.as_str().map(str::to_string)),
                );
                // Compose and CircleCI lists: `- NAME=value`.
                env.extend(v.iter_seq().filter_map(|n| {
                    n.as_str()
                        .map(|s| s.split('=').next().unwrap_or(s).trim().to_string())
                }));
            }
            if out.secrets_export && k.as_str() == Some("secrets") {
                env.extend(
                    v.iter_seq()
                        .filter_map(Node::as_str)
                        .map(|n| n.to_ascii_uppercase()),
                );
            }
        }
        for (k, v) in node.iter_map() {
            let Some(key) = k.as_str() else { continue };
            if key == "permissions" {
                let grants = v.as_str() == Some("write-all")
                    || v.get("id-token").and_then(Node::as_str) == Some("write");
                out.id_token_grants += usize::from(grants);
            }
            let scope = scope_of(path);
            if SCRIPT_KEYS.contains(&key) {
                let mut scripts = Vec::new();
                crate::checks::ci::scripts_of(v, &mut scripts);
                for s in scripts {
                    add_script(out, &scope, s.scalar.value(), env, workdir);
                }
            }
            if TOOL_KEYS.contains(&key) {
                if let Some(tool) = v.as_str() {
                    let name = tool.split('@').next().unwrap_or(tool).trim().to_string();
                    out.runs.push(Run {
                        scope: scope.clone(),
                        text: name.clone(),
                        head: name,
                        auth: false,
                    });
                }
            }
            path.push(key.to_string());
            walk(out, v, path, env, workdir, depth + 1);
            path.pop();
        }
        env.truncate(pushed);
    } else {
        for child in node.iter_seq() {
            walk(out, child, path, env, workdir, depth + 1);
        }
    }
}

/// The job a script belongs to: the keys above it, up to its steps or script list.
fn scope_of(path: &[String]) -> String {
    let end = path
        .iter()
        .position(|k| k == "steps" || SCRIPT_KEYS.contains(&k.as_str()))
        .unwrap_or(path.len());
    path[..end].join(".")
}

fn add_script(out: &mut Shape, scope: &str, value: &str, env: &[String], workdir: Option<&str>) {
    out.scripts.insert(value.to_string());
    let blanked = EXPRESSION.replace_all(value, |c: &regex::Captures<'_>| {
        "_".repeat(c.get(0).map_or(0, |m| m.len()))
    });
    if !balanced(&blanked) {
        out.unbalanced.push(value.to_string());
    }
    let parsed = shell::parse(&blanked);
    let assigned: BTreeSet<&str> = parsed
        .commands
        .iter()
        .flat_map(|c| c.assignments.iter().map(|a| a.name.as_str()))
        .collect();
    for c in &parsed.commands {
        for w in &c.words {
            out.referenced.extend(w.vars.iter().map(|v| v.name.clone()));
        }
        let Some(name) = c.base_name() else { continue };
        let text = c
            .words
            .iter()
            .map(|w| w.value.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        // The subcommand: the first argument when it is a plain word (`publish`, `build`), not
        // a value that a fix may rewrite (`echo "export A=..."`).
        let sub = c
            .args()
            .iter()
            .find(|w| !w.value.starts_with('-'))
            .map(|w| w.value.as_str())
            .filter(|v| {
                v.chars().next().is_some_and(|ch| ch.is_ascii_alphabetic())
                    && v.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | ':'))
            })
            .unwrap_or("");
        // `npm stage publish` is the staged form of `npm publish` (the rewrite for CI systems
        // without trusted publishing switches one to the other): the same run, changed.
        let sub = if name == "npm" && sub == "stage" {
            "publish"
        } else {
            sub
        };
        let raw = blanked
            .get(c.span.clone())
            .unwrap_or(&text)
            .to_ascii_lowercase();
        out.runs.push(Run {
            scope: scope.to_string(),
            head: format!("{name} {sub}"),
            auth: AUTH_MARKS.iter().any(|m| raw.contains(m)),
            text,
        });
        let args = c.args();
        if name == "circleci" {
            if let Some(i) = args.iter().position(|w| w.value == "--claims") {
                if let Some(v) = args.get(i + 1).filter(|v| !v.value.contains('$')) {
                    out.claims.push(v.value.clone());
                }
            }
        }
        let compose = name == "docker-compose"
            || (name == "docker" && args.first().is_some_and(|w| w.value == "compose"));
        if compose {
            out.compose_env.push(
                env.iter()
                    .cloned()
                    .chain(assigned.iter().map(|a| a.to_string()))
                    .collect(),
            );
        }
        let builds = !compose
            && matches!(name, "docker" | "podman" | "buildah" | "nerdctl")
            && args
                .iter()
                .any(|w| w.value == "build" || w.value == "buildx");
        if builds {
            out.builds.extend(dockerfile_of(args));
            if let Some(dockerfile) = dockerfile_of(args) {
                out.build_inputs.push(BuildInputs {
                    dockerfile,
                    args: build_arg_names(args),
                    secrets: secret_flags(scope, args, env, &assigned)
                        .into_iter()
                        .map(|f| f.id)
                        .collect(),
                });
            }
            let mut flags = secret_flags(scope, args, env, &assigned);
            for f in &mut flags {
                f.workdir = workdir.map(str::to_string);
                f.src_made = f.src.as_deref().is_some_and(|src| {
                    out.written
                        .iter()
                        .any(|(s, w)| s == scope && same_file(w, src))
                });
            }
            out.secrets.extend(flags);
        }
        for target in written_files(c) {
            out.written.push((scope.to_string(), target));
        }
    }
}

fn listed(ids: &BTreeSet<String>) -> String {
    ids.iter()
        .map(|m| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to do by hand when a build passes secret `passed` and the Dockerfile mounts others.
fn mismatch_advice(passed: &str, mounted: &BTreeSet<String>) -> String {
    if mounted.contains("npmrc") {
        format!(
            " (a whole .npmrc file): nothing would reach that mount, so neither file is rewritten; by hand, either pass the file (`docker build --secret id=npmrc,src=<an .npmrc that is there when the build runs>`; compose: `secrets: {{npmrc: {{file: ...}}}}`), or keep `{passed}` and mount it in the Dockerfile as a variable (`RUN --mount=type=secret,id={passed},env=NPM_TOKEN npm ci`, with a committed `.npmrc` line `//registry.npmjs.org/:_authToken=${{NPM_TOKEN}}`)"
        )
    } else {
        format!(": nothing would reach that mount, so neither file is rewritten; make the ids agree by hand (pass {} or mount `{passed}`)", listed(mounted))
    }
}

/// The names a build command passes with `--build-arg NAME[=value]`.
fn build_arg_names(args: &[shell::Word]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, w) in args.iter().enumerate() {
        let value = if w.value == "--build-arg" {
            args.get(i + 1).map(|n| n.value.as_str())
        } else {
            w.value.strip_prefix("--build-arg=")
        };
        if let Some(v) = value {
            out.insert(v.split('=').next().unwrap_or(v).to_string());
        }
    }
    out
}

/// The Dockerfile a compose service's `build:` reads (its `dockerfile:` in its `context:`),
/// relative to the repository root; `dir` is the compose file's folder there.
fn build_dockerfile(dir: &Path, build: &Node) -> String {
    let context = build
        .as_str()
        .or_else(|| build.get("context").and_then(Node::as_str))
        .unwrap_or(".");
    let file = build
        .get("dockerfile")
        .and_then(Node::as_str)
        .unwrap_or("Dockerfile");
    normalize_rel(&dir.join(context).join(file))
}

/// The builds of every compose service of `text` (at `rel`): the Dockerfile, build args and build
/// secret ids.
fn compose_builds(rel: &str, text: &str) -> Vec<BuildInputs> {
    let dir = Path::new(rel).parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for doc in yaml::parse(text).unwrap_or_default() {
        for (_, svc) in doc
            .root
            .get("services")
            .into_iter()
            .flat_map(Node::iter_map)
        {
            let Some(build) = svc.get("build") else {
                continue;
            };
            let mut args = BTreeSet::new();
            if let Some(a) = build.get("args") {
                args.extend(
                    a.iter_seq()
                        .filter_map(Node::as_str)
                        .map(|s| s.split('=').next().unwrap_or(s).trim().to_string()),
                );
                args.extend(
                    a.iter_map()
                        .filter_map(|(k, _)| k.as_str().map(str::to_string)),
                );
            }
            let secrets = build
                .get("secrets")
                .into_iter()
                .flat_map(Node::iter_seq)
                .filter_map(|s| {
                    s.as_str()
                        .or_else(|| s.get("target").and_then(Node::as_str))
                        .or_else(|| s.get("source").and_then(Node::as_str))
                        .map(str::to_string)
                })
                .collect();
            out.push(BuildInputs {
                dockerfile: build_dockerfile(dir, build),
                args,
                secrets,
            });
        }
    }
    out
}

/// The `ARG` names a Dockerfile declares.
fn declared_args(text: &str) -> BTreeSet<String> {
    dockerfile::parse(text)
        .instructions
        .iter()
        .filter_map(|i| match &i.args {
            dockerfile::Args::Arg(pairs) => Some(pairs.iter().map(|kv| kv.key.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Compose files where a repository usually keeps them: at the root and in `dir` and its parents.
fn compose_files_near(dir: &Path, repo: &dyn RepoView) -> Vec<String> {
    const NAMES: &[&str] = &[
        "compose.yaml",
        "compose.yml",
        "docker-compose.yml",
        "docker-compose.yaml",
    ];
    let mut out: Vec<String> = Vec::new();
    for d in dir.ancestors() {
        for n in NAMES {
            let rel = normalize_rel(&d.join(n));
            if !out.contains(&rel) && repo.exists(&rel) {
                out.push(rel);
            }
        }
    }
    out
}

/// Why a rewritten Dockerfile would break a build in the repository that the run does not change
/// with it, if one would: the build still passes, as `--build-arg`, an `ARG` the fix removed,
/// and no secret the Dockerfile now mounts (a named-file run, or the builder's fix rolled back).
fn dockerfile_builders(rel: &str, before: &str, after: &str, repo: &dyn RepoView) -> Vec<String> {
    let removed: BTreeSet<String> = declared_args(before)
        .difference(&declared_args(after))
        .cloned()
        .collect();
    if removed.is_empty() {
        return Vec::new();
    }
    let mounted = mounted_ids(after);
    let workflows = repo
        .list(".github/workflows")
        .into_iter()
        .filter(|f| f.ends_with(".yml") || f.ends_with(".yaml"))
        .map(|f| (f, FileKind::GithubWorkflow));
    let ci = CI_FILES.iter().map(|(f, k)| (f.to_string(), *k));
    let compose = compose_files_near(Path::new(rel).parent().unwrap_or(Path::new("")), repo)
        .into_iter()
        .map(|f| (f, FileKind::Compose));
    let mut out = Vec::new();
    for (file, kind) in workflows.chain(ci).chain(compose) {
        let Some(text) = repo.text(&file) else {
            continue;
        };
        let builds = if kind == FileKind::Compose {
            compose_builds(&file, &text)
        } else {
            shape(kind, &text)
                .map(|s| s.build_inputs)
                .unwrap_or_default()
        };
        for b in builds.iter().filter(|b| b.dockerfile == rel) {
            let Some(arg) = b.args.intersection(&removed).next() else {
                continue;
            };
            if b.secrets.iter().any(|id| mounted.contains(id)) {
                continue;
            }
            out.push(format!(
                "{file} builds it with build arg `{arg}` and passes no secret it would mount ({}): that file must change in the same run (fix the whole repository, or by hand)",
                mounted
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    out
}

/// The files a command writes: redirection targets, and the destinations of `tee`, `touch`,
/// `cp`, `mv`, `install`, `ln`.
fn written_files(c: &shell::Command) -> Vec<String> {
    let mut out: Vec<String> = c.file_writes().map(|(_, t)| t.value.clone()).collect();
    let operands: Vec<&str> = c
        .args()
        .iter()
        .map(|w| w.value.as_str())
        .filter(|v| !v.starts_with('-'))
        .collect();
    match c.base_name() {
        Some("tee" | "touch") => out.extend(operands.iter().map(|s| s.to_string())),
        Some("cp" | "mv" | "install" | "ln") => out.extend(
            operands
                .last()
                .filter(|_| operands.len() > 1)
                .map(|s| s.to_string()),
        ),
        _ => {}
    }
    out
}

/// Whether two spellings of a path in one job name the same file (`./a` and `a`,
/// `$RUNNER_TEMP/x` and `${RUNNER_TEMP}/x`).
fn same_file(a: &str, b: &str) -> bool {
    let canon = |p: &str| {
        let p = p.replace("${", "$").replace('}', "");
        normalize_rel(Path::new(&p))
    };
    canon(a) == canon(b)
}

/// The `--secret` flags of a build command, with the variable each reads and the Dockerfile.
fn secret_flags(
    scope: &str,
    args: &[shell::Word],
    env: &[String],
    assigned: &BTreeSet<&str>,
) -> Vec<SecretFlag> {
    let mut values = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let w = args[i].value.as_str();
        if w == "--secret" {
            values.extend(args.get(i + 1).map(|n| n.value.clone()));
            i += 1;
        } else if let Some(v) = w.strip_prefix("--secret=") {
            values.push(v.to_string());
        }
        i += 1;
    }
    let dockerfile = dockerfile_of(args);
    values
        .into_iter()
        .map(|v| {
            let opts: BTreeMap<&str, &str> =
                v.split(',').filter_map(|o| o.split_once('=')).collect();
            let id = opts.get("id").copied().unwrap_or("").to_string();
            let src = opts
                .get("src")
                .or(opts.get("source"))
                .map(|s| s.to_string());
            let env_var = match (opts.get("env"), &src) {
                (Some(e), _) => Some(e.to_string()),
                (None, None) if !id.is_empty() => Some(id.clone()),
                _ => None,
            };
            let env_set = env_var
                .as_deref()
                .is_some_and(|e| env.iter().any(|n| n == e) || assigned.contains(e));
            SecretFlag {
                scope: scope.to_string(),
                text: format!("--secret {v}"),
                id,
                env: env_var,
                env_set,
                src,
                src_made: false,
                workdir: None,
                dockerfile: dockerfile
                    .clone()
                    .map(|d| d.trim_start_matches("./").to_string()),
            }
        })
        .collect()
}

/// The Dockerfile a build command reads: `-f`/`--file`, else `Dockerfile` in its context folder.
fn dockerfile_of(args: &[shell::Word]) -> Option<String> {
    /// Options of `docker build` that take a separate value.
    const VALUED: &[&str] = &[
        "-t",
        "--tag",
        "--build-arg",
        "--secret",
        "--target",
        "--platform",
        "--label",
        "-o",
        "--output",
        "--cache-from",
        "--cache-to",
        "--network",
        "--progress",
        "--ssh",
        "--iidfile",
        "--build-context",
        "--add-host",
        "--metadata-file",
        "--builder",
    ];
    let mut file: Option<String> = None;
    let mut context: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        let w = args[i].value.as_str();
        if w == "-f" || w == "--file" {
            file = args.get(i + 1).map(|n| n.value.clone());
            i += 1;
        } else if let Some(v) = w.strip_prefix("--file=") {
            file = Some(v.to_string());
        } else if VALUED.contains(&w) {
            i += 1;
        } else if !w.starts_with('-') && !matches!(w, "build" | "buildx" | "image") {
            context = Some(w.to_string());
        }
        i += 1;
    }
    let path = file.or_else(|| {
        context.map(|c| {
            let c = c.trim_end_matches('/');
            if c == "." || c.is_empty() {
                "Dockerfile".to_string()
            } else {
                format!("{c}/Dockerfile")
            }
        })
    })?;
    Some(normalize_rel(Path::new(&path)))
}

/// The Dockerfiles a CI file's container builds (or a compose file's services) read, relative to
/// the repository root (`rel` is the file's own path there).
pub fn built_dockerfiles(kind: FileKind, rel: &str, text: &str) -> Vec<String> {
    let mut out = shape(kind, text).map(|s| s.builds).unwrap_or_default();
    if kind == FileKind::Compose {
        out.extend(compose_builds(rel, text).into_iter().map(|b| b.dockerfile));
    }
    out
}

/// Whether quotes, `$(...)`, `${...}` and backticks all close (POSIX shell lexing, enough to tell
/// a broken inserted line from a good one).
pub fn balanced(script: &str) -> bool {
    #[derive(PartialEq)]
    enum Ctx {
        Top,
        Double,
        Subst,
        Brace,
        Tick,
    }
    let mut stack = vec![Ctx::Top];
    let b = script.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let top = stack.last().unwrap_or(&Ctx::Top);
        let in_double = *top == Ctx::Double;
        match c {
            b'\\' => i += 1,
            b'\'' if !in_double => match script[i + 1..].find('\'') {
                Some(end) => i += end + 1,
                None => return false,
            },
            b'#' if *top != Ctx::Double
                && *top != Ctx::Brace
                && (i == 0 || b[i - 1].is_ascii_whitespace()) =>
            {
                match script[i..].find('\n') {
                    Some(end) => i += end,
                    None => break,
                }
            }
            b'"' if in_double => {
                stack.pop();
            }
            b'"' => stack.push(Ctx::Double),
            b'`' if *top == Ctx::Tick => {
                stack.pop();
            }
            b'`' => stack.push(Ctx::Tick),
            b'$' if b.get(i + 1) == Some(&b'(') => {
                stack.push(Ctx::Subst);
                i += 1;
            }
            b'$' if b.get(i + 1) == Some(&b'{') => {
                stack.push(Ctx::Brace);
                i += 1;
            }
            b'(' if *top == Ctx::Subst => stack.push(Ctx::Subst),
            b')' if *top == Ctx::Subst => {
                stack.pop();
            }
            b'}' if *top == Ctx::Brace => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    stack.len() == 1
}

/// The repository as the fix would leave it: planned texts over the files on disk. The repository
/// model can implement it too.
pub trait RepoView {
    /// The text of `rel` (relative to the repository root), as fixed when the plan changes it.
    fn text(&self, rel: &str) -> Option<String>;
    /// Files directly in folder `rel`, relative to the repository root.
    fn list(&self, rel: &str) -> Vec<String>;
    /// Whether `rel` exists (a file or a folder).
    fn exists(&self, rel: &str) -> bool {
        self.text(rel).is_some()
    }
}

/// A [`RepoView`] over a folder on disk with some files replaced by their fixed text.
pub struct Overlay<'a> {
    pub root: PathBuf,
    pub fixed: BTreeMap<String, &'a str>,
}

impl RepoView for Overlay<'_> {
    fn text(&self, rel: &str) -> Option<String> {
        if let Some(t) = self.fixed.get(rel) {
            return Some(t.to_string());
        }
        let path = self.root.join(rel);
        let meta = std::fs::metadata(&path).ok()?;
        if !meta.is_file() || meta.len() > 1 << 20 {
            return None;
        }
        std::fs::read_to_string(path).ok()
    }

    fn list(&self, rel: &str) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.root.join(rel))
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .map(|e| format!("{rel}/{}", e.file_name().to_string_lossy()))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    fn exists(&self, rel: &str) -> bool {
        self.fixed.contains_key(rel) || self.root.join(rel).exists()
    }
}

/// A cross-file problem: why, and which files must be rolled back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoViolation {
    pub reason: String,
    pub files: Vec<String>,
    /// Caller jobs (file, job) whose missing `id-token: write` grant an edit can add instead.
    pub grant: Vec<(String, String)>,
}

/// Cross-file invariants of the changed files (`changed`: path relative to the repository root,
/// kind, original text; their fixed text is in `repo`).
pub fn check_repo(changed: &[(String, FileKind, &str)], repo: &dyn RepoView) -> Vec<RepoViolation> {
    let mut out = Vec::new();
    for (rel, kind, before) in changed {
        let Some(after) = repo.text(rel) else {
            continue;
        };
        let (Some(old), Some(new)) = (shape(*kind, before), shape(*kind, &after)) else {
            continue;
        };
        if *kind == FileKind::GithubWorkflow
            && new.reusable
            && new.id_token_grants > old.id_token_grants
        {
            let missing = callers_without_id_token(rel, repo);
            if !missing.is_empty() {
                let mut files = vec![rel.clone()];
                files.extend(missing.iter().map(|(f, _)| f.clone()));
                out.push(RepoViolation {
                    reason: format!(
                        "this reusable workflow now needs `id-token: write`, which its caller does not grant ({}): GitHub would refuse to start the run",
                        missing
                            .iter()
                            .map(|(f, j)| format!("{f} job `{j}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    files,
                    grant: missing,
                });
            }
        }
        for s in new.secrets.iter().filter(|s| !old.secrets.contains(s)) {
            if let Some(why) = missing_secret_file(s, repo) {
                out.push(RepoViolation {
                    reason: why,
                    files: vec![rel.clone()],
                    grant: Vec::new(),
                });
            }
        }
        for s in new.secrets.iter().filter(|s| !old.secrets.contains(s)) {
            let Some(df) = &s.dockerfile else { continue };
            let Some(text) = repo.text(df) else { continue };
            let mounted = mounted_ids(&text);
            if !mounted.is_empty() && !mounted.contains(&s.id) {
                out.push(RepoViolation {
                    reason: format!(
                        "the build passes secret `{}` but {df} mounts {}{}",
                        s.id,
                        listed(&mounted),
                        mismatch_advice(&s.id, &mounted)
                    ),
                    files: vec![rel.clone(), df.clone()],
                    grant: Vec::new(),
                });
                continue;
            }
            // The Dockerfile kept its `ARG` (a named-file run, or its own fix rolled back): the
            // build arg the fix removed is what it still reads.
            let passed_before: BTreeSet<&String> = old
                .build_inputs
                .iter()
                .filter(|b| &b.dockerfile == df)
                .flat_map(|b| b.args.iter())
                .collect();
            let passed_after: BTreeSet<&String> = new
                .build_inputs
                .iter()
                .filter(|b| &b.dockerfile == df)
                .flat_map(|b| b.args.iter())
                .collect();
            let declared = declared_args(&text);
            if let Some(arg) = passed_before
                .difference(&passed_after)
                .find(|a| declared.contains(a.as_str()))
            {
                if !mounted.contains(&s.id) {
                    out.push(RepoViolation {
                        reason: format!(
                            "the build no longer passes `--build-arg {arg}`, which {df} still reads (`ARG {arg}`), and {df} mounts no secret `{}`: its own fix must be in the same run (fix the whole repository)",
                            s.id
                        ),
                        files: vec![rel.clone()],
                        grant: Vec::new(),
                    });
                }
            }
        }
        if *kind == FileKind::Dockerfile {
            for why in dockerfile_builders(rel, before, &after, repo) {
                out.push(RepoViolation {
                    reason: why,
                    files: vec![rel.clone()],
                    grant: Vec::new(),
                });
            }
        }
        if *kind == FileKind::Compose {
            let known = compose_secrets(rel, before, before, repo);
            out.extend(
                compose_secrets(rel, &after, before, repo)
                    .into_iter()
                    .filter(|v| !known.iter().any(|k| k.reason == v.reason)),
            );
        }
    }
    out
}

/// Why the file a `--secret id=X,src=Z` flag reads would be missing when the build runs, if it
/// would: `Z` must be written by an earlier line of the same job, or, as a path inside the
/// repository (relative to the step's working directory), exist there. A path through a variable
/// (`$HOME/.npmrc`) or outside the repository is on the runner: only an earlier line can make it.
fn missing_secret_file(s: &SecretFlag, repo: &dyn RepoView) -> Option<String> {
    let src = s.src.as_deref()?;
    if s.src_made {
        return None;
    }
    let on_runner = src.contains('$') || src.starts_with('~') || src.starts_with('/');
    let rel = normalize_rel(&Path::new(s.workdir.as_deref().unwrap_or("")).join(src));
    if !on_runner && !rel.is_empty() && !rel.starts_with("..") && repo.exists(&rel) {
        return None;
    }
    let place = if on_runner {
        "no earlier line of the job creates it"
    } else {
        "it is not in the repository and no earlier line of the job creates it"
    };
    Some(format!(
        "`{}` reads the file `{src}`, but {place}: the build would fail or get no secret",
        s.text
    ))
}

/// The secret ids a Dockerfile's `RUN --mount=type=secret` instructions read.
fn mounted_ids(text: &str) -> BTreeSet<String> {
    let df = dockerfile::parse(text);
    df.instructions
        .iter()
        .flat_map(|i| i.mounts("secret"))
        .filter_map(|m| {
            m.option("id").or_else(|| {
                m.option("target")
                    .or_else(|| m.option("dst"))
                    .map(|t| t.rsplit('/').next().unwrap_or(&t).to_string())
            })
        })
        .collect()
}

/// The edit that lets caller job `job` of `text` grant `id-token: write` to the reusable workflow
/// it calls, whose permission entries (`called`, as `key: value` lines) it must grant too: one
/// line added to a block-style job `permissions:`, or a job-level block (the workflow-level
/// entries, the called workflow's, and `id-token: write`) before the job's `uses:`.
pub fn grant_id_token(text: &str, job: &str, called: &[String]) -> Option<(usize, String)> {
    let docs = yaml::parse(text).ok()?;
    let doc = docs.first()?;
    let body = doc.root.get("jobs")?.get(job)?;
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
    let column = |at: usize| at - line_start(at);
    if let Some(entry) = body.get_entry("permissions") {
        let last = entry.value.as_mapping()?.last()?;
        // A flow mapping (`{ contents: read }`) takes no line.
        if text
            .get(entry.key.span.end..last.key.span.start)?
            .contains('{')
        {
            return None;
        }
        let col = column(last.key.span.start);
        let end = last.value.span.end.max(last.key.span.end);
        let at = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        let pad = " ".repeat(col);
        let lead = if at == text.len() && !text.ends_with('\n') {
            nl
        } else {
            ""
        };
        return Some((at, format!("{lead}{pad}id-token: write{nl}")));
    }
    let uses = body.get_entry("uses")?;
    let col = column(uses.key.span.start);
    let mut lines: Vec<String> = Vec::new();
    let mut push = |l: String| {
        let key = l.split(':').next().unwrap_or("").trim().to_string();
        if key != "id-token"
            && !lines
                .iter()
                .any(|x| x.split(':').next().unwrap_or("").trim() == key)
        {
            lines.push(l);
        }
    };
    if let Some(wf) = doc.root.get("permissions") {
        for (k, v) in wf.iter_map() {
            push(format!(
                "{}: {}",
                k.as_str().unwrap_or(""),
                v.as_str().unwrap_or("")
            ));
        }
    }
    for l in called {
        push(l.clone());
    }
    if lines.is_empty() {
        lines.push("contents: read".to_string());
    }
    let pad = " ".repeat(col);
    let mut block = format!("{pad}permissions:{nl}");
    for l in lines {
        block.push_str(&format!("{pad}  {l}{nl}"));
    }
    block.push_str(&format!(
        "{pad}  id-token: write  # the called workflow publishes to npm with OIDC{nl}"
    ));
    Some((line_start(uses.key.span.start), block))
}

/// The permission entries a workflow's jobs ask for (`key: value`), for its callers to grant.
pub fn requested_permissions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for doc in yaml::parse(text).unwrap_or_default() {
        let jobs = doc.root.get("jobs");
        let blocks = doc.root.get("permissions").into_iter().chain(
            jobs.into_iter()
                .flat_map(|j| j.iter_map().filter_map(|(_, b)| b.get("permissions"))),
        );
        for p in blocks {
            for (k, v) in p.iter_map() {
                let (k, v) = (k.as_str().unwrap_or(""), v.as_str().unwrap_or(""));
                let line = format!("{k}: {v}");
                match out.iter().position(|l| l.starts_with(&format!("{k}:"))) {
                    // `write` wins over `read` when two jobs ask differently.
                    Some(i) if v == "write" => out[i] = line,
                    Some(_) => {}
                    None => out.push(line),
                }
            }
        }
    }
    out
}

/// Local callers (`uses: ./.github/workflows/<file>`) whose job grants no `id-token: write`.
fn callers_without_id_token(rel: &str, repo: &dyn RepoView) -> Vec<(String, String)> {
    let target = format!("./{rel}");
    let mut out = Vec::new();
    for file in repo.list(".github/workflows") {
        if !(file.ends_with(".yml") || file.ends_with(".yaml")) {
            continue;
        }
        let Some(text) = repo.text(&file) else {
            continue;
        };
        let Ok(docs) = yaml::parse(&text) else {
            continue;
        };
        for doc in &docs {
            let Some(jobs) = doc.root.get("jobs") else {
                continue;
            };
            for (name, job) in jobs.iter_map() {
                let calls = job
                    .get("uses")
                    .and_then(Node::as_str)
                    .is_some_and(|u| u.split('@').next() == Some(target.as_str()));
                if !calls {
                    continue;
                }
                let perms = job
                    .get("permissions")
                    .or_else(|| doc.root.get("permissions"));
                let grants = perms.is_some_and(|p| {
                    p.as_str() == Some("write-all")
                        || p.get("id-token").and_then(Node::as_str) == Some("write")
                });
                if !grants {
                    out.push((file.clone(), name.as_str().unwrap_or("").to_string()));
                }
            }
        }
    }
    out
}

/// Compose `build.secrets`: declared at top level, and mounted under that id by the Dockerfile.
/// `original` is the file before the fix: the variables it read are the ones whoever runs compose
/// already provides.
fn compose_secrets(
    rel: &str,
    text: &str,
    original: &str,
    repo: &dyn RepoView,
) -> Vec<RepoViolation> {
    let mut out = Vec::new();
    let Ok(docs) = yaml::parse(text) else {
        return out;
    };
    let dir = Path::new(rel).parent().unwrap_or(Path::new(""));
    let provided = ComposeEnv::of(rel, original, repo);
    let args_of = |builds: Vec<BuildInputs>, df: &str| -> BTreeSet<String> {
        builds
            .into_iter()
            .filter(|b| b.dockerfile == df)
            .flat_map(|b| b.args)
            .collect()
    };
    for doc in &docs {
        let declarations: BTreeMap<&str, &Node> = doc
            .root
            .get("secrets")
            .map(|s| {
                s.iter_map()
                    .filter_map(|(k, v)| Some((k.as_str()?, v)))
                    .collect()
            })
            .unwrap_or_default();
        let declared: BTreeSet<&str> = declarations.keys().copied().collect();
        let Some(services) = doc.root.get("services") else {
            continue;
        };
        for (name, svc) in services.iter_map() {
            let Some(build) = svc.get("build") else {
                continue;
            };
            let Some(secrets) = build.get("secrets") else {
                continue;
            };
            let df = build_dockerfile(dir, build);
            let df_text = repo.text(&df);
            let mounted = df_text.as_deref().map(mounted_ids).unwrap_or_default();
            let df_args = df_text.as_deref().map(declared_args).unwrap_or_default();
            let before = args_of(compose_builds(rel, original), &df);
            let now = args_of(compose_builds(rel, text), &df);
            let still_read = before
                .difference(&now)
                .find(|a| df_args.contains(a.as_str()));
            for s in secrets.iter_seq() {
                let source = s
                    .as_str()
                    .or_else(|| s.get("source").and_then(Node::as_str));
                let Some(source) = source else { continue };
                let id = s.get("target").and_then(Node::as_str).unwrap_or(source);
                let svc_name = name.as_str().unwrap_or("");
                if !declared.contains(source) {
                    out.push(RepoViolation {
                        reason: format!(
                            "service `{svc_name}` builds with secret `{source}`, which the top-level `secrets:` does not declare"
                        ),
                        files: vec![rel.to_string()],
                        grant: Vec::new(),
                    });
                } else if let Some(why) = declarations
                    .get(source)
                    .and_then(|d| provided.unset(source, d, svc_name))
                {
                    out.push(RepoViolation {
                        reason: why,
                        files: vec![rel.to_string()],
                        grant: Vec::new(),
                    });
                } else if !mounted.is_empty() && !mounted.contains(id) {
                    out.push(RepoViolation {
                        reason: format!(
                            "service `{svc_name}` passes build secret `{id}` but {df} mounts {}{}",
                            listed(&mounted),
                            mismatch_advice(id, &mounted)
                        ),
                        files: vec![rel.to_string(), df.clone()],
                        grant: Vec::new(),
                    });
                } else if let Some(arg) = still_read.filter(|_| !mounted.contains(id)) {
                    out.push(RepoViolation {
                        reason: format!(
                            "service `{svc_name}` no longer passes build arg `{arg}`, which {df} still reads (`ARG {arg}`), and {df} mounts no secret `{id}`: its own fix must be in the same run (fix the whole repository)"
                        ),
                        files: vec![rel.to_string()],
                        grant: Vec::new(),
                    });
                }
            }
        }
    }
    out
}

/// What provides the values of a compose file's secrets where compose runs.
struct ComposeEnv<'a> {
    /// The compose file's folder, relative to the repository root.
    dir: PathBuf,
    /// Variables the original file interpolated or passed through by name (`- NPM_TOKEN`).
    read: BTreeSet<String>,
    /// Services whose original build args passed a literal (no variable): a token written into the
    /// file, which the fix takes out; the variable that replaces it is the user's to export.
    literal: BTreeSet<String>,
    /// Variables the `.env` beside the file defines (compose resolves `environment:` secrets from
    /// it too, docker/compose 2ca7b96e).
    dotenv: BTreeSet<String>,
    /// Variables set where a CI job runs `docker compose` (or `docker-compose`).
    ci: BTreeSet<String>,
    repo: &'a dyn RepoView,
}

/// CI files at fixed places (GitHub workflows are listed from their folder).
const CI_FILES: &[(&str, FileKind)] = &[
    (".gitlab-ci.yml", FileKind::GitlabCi),
    (".circleci/config.yml", FileKind::CircleCi),
    (".travis.yml", FileKind::Travis),
    ("azure-pipelines.yml", FileKind::AzurePipelines),
    ("bitbucket-pipelines.yml", FileKind::BitbucketPipelines),
];

impl<'a> ComposeEnv<'a> {
    fn of(rel: &str, original: &str, repo: &'a dyn RepoView) -> Self {
        let dir = Path::new(rel)
            .parent()
            .unwrap_or(Path::new(""))
            .to_path_buf();
        let mut read: BTreeSet<String> = crate::token::env_refs(original)
            .into_iter()
            .map(|r| r.name.to_string())
            .collect();
        let mut literal = BTreeSet::new();
        for doc in yaml::parse(original).unwrap_or_default() {
            for (name, svc) in doc
                .root
                .get("services")
                .into_iter()
                .flat_map(Node::iter_map)
            {
                let build_args = svc.get("build").and_then(|b| b.get("args"));
                let env = svc.get("environment");
                for block in build_args.into_iter().chain(env) {
                    // `- NAME` and `NAME:` with no value pass the variable of that name through.
                    read.extend(
                        block
                            .iter_seq()
                            .filter_map(Node::as_str)
                            .filter(|s| !s.contains('='))
                            .map(|s| s.trim().to_string()),
                    );
                    read.extend(
                        block
                            .iter_map()
                            .filter(|(_, v)| v.is_null())
                            .filter_map(|(k, _)| k.as_str().map(str::to_string)),
                    );
                }
                let values: Vec<&str> = build_args
                    .into_iter()
                    .flat_map(|a| {
                        a.iter_seq()
                            .filter_map(Node::as_str)
                            .filter_map(|s| s.split_once('=').map(|(_, v)| v))
                            .chain(a.iter_map().filter_map(|(_, v)| v.as_str()))
                    })
                    .collect();
                if !values.is_empty() && values.iter().all(|v| !v.contains('$')) {
                    literal.extend(name.as_str().map(str::to_string));
                }
            }
        }
        let dotenv = repo
            .text(&normalize_rel(&dir.join(".env")))
            .map(|t| {
                t.lines()
                    .filter_map(|l| {
                        let l = l.trim();
                        let l = l.strip_prefix("export ").unwrap_or(l);
                        let (k, _) = l.split_once('=')?;
                        (!k.starts_with('#')).then(|| k.trim().to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut ci = BTreeSet::new();
        let workflows = repo.list(".github/workflows").into_iter().filter_map(|f| {
            (f.ends_with(".yml") || f.ends_with(".yaml")).then_some((f, FileKind::GithubWorkflow))
        });
        let fixed = CI_FILES.iter().map(|(f, k)| (f.to_string(), *k));
        for (file, kind) in workflows.chain(fixed) {
            let Some(shape) = repo.text(&file).and_then(|t| shape(kind, &t)) else {
                continue;
            };
            if shape.compose_env.is_empty() {
                continue;
            }
            for env in &shape.compose_env {
                ci.extend(env.iter().cloned());
            }
            // Outside GitHub, a project variable the file reads is in every job's environment.
            if kind != FileKind::GithubWorkflow {
                ci.extend(shape.referenced.iter().cloned());
            }
        }
        ComposeEnv {
            dir,
            read,
            literal,
            dotenv,
            ci,
            repo,
        }
    }

    /// Why the value of top-level secret `name` (declared as `decl`) would be missing when
    /// service `service` builds, if it would.
    fn unset(&self, name: &str, decl: &Node, service: &str) -> Option<String> {
        if let Some(var) = decl.get("environment").and_then(Node::as_str) {
            let set = self.read.contains(var)
                || self.dotenv.contains(var)
                || self.ci.contains(var)
                || self.literal.contains(service);
            return (!set).then(|| format!(
                "secret `{name}` reads the variable `{var}`, which nothing provides where compose runs (the file did not read it before, `.env` does not set it, no CI job running compose sets it): the build would get an empty secret"
            ));
        }
        let file = decl.get("file").and_then(Node::as_str)?;
        // `~/.npmrc` and absolute paths are on the machine that runs compose.
        if file.starts_with('~') || file.starts_with('/') || file.contains('$') {
            return None;
        }
        let rel = normalize_rel(&self.dir.join(file));
        (rel.starts_with("..") || !self.repo.exists(&rel)).then(|| {
            format!("secret `{name}` reads the file `{file}`, which is not in the repository: the build would fail")
        })
    }
}

/// `a/./b/../c` as `a/c`, `/`-separated.
fn normalize_rel(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                parts.pop();
            }
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const WF: FileKind = FileKind::GithubWorkflow;

    fn job(steps: &str) -> String {
        format!("on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n{steps}")
    }

    #[test]
    fn drone_rewrites_are_checked_like_the_other_ci_files() {
        let before = "steps:\n  - name: publish\n    image: node:22\n    commands:\n      - npm ci\n      - npm publish\n";
        let staged = before.replace("- npm publish", "- npm stage publish");
        assert_eq!(check_file(FileKind::DroneCi, before, &staged), Ok(()));
        let dropped = before.replace("      - npm ci\n", "");
        assert!(check_file(FileKind::DroneCi, before, &dropped).is_err());
        // Drone 0.8 `secrets: [npm_token]` exports NPM_TOKEN to the step.
        let build = "pipeline:\n  build:\n    image: docker\n    secrets:\n      - npm_token\n    commands:\n      - docker build --build-arg NPM_TOKEN=$${NPM_TOKEN} .\n";
        let secret = build.replace(
            "--build-arg NPM_TOKEN=$${NPM_TOKEN}",
            "--secret id=npm_token,env=NPM_TOKEN",
        );
        assert_eq!(check_file(FileKind::DroneCi, build, &secret), Ok(()));
        let unset = secret.replace("      - npm_token\n", "      - other\n");
        assert!(check_file(
            FileKind::DroneCi,
            &build.replace("npm_token\n", "other\n"),
            &unset
        )
        .is_err());
    }

    #[test]
    fn a_deleted_publish_step_breaks_the_job_but_a_deleted_token_write_does_not() {
        let before = job("      - run: echo \"//registry.npmjs.org/:_authToken=$T\" > ~/.npmrc\n      - run: ./scripts/publish.sh\n");
        let no_write = job("      - run: ./scripts/publish.sh\n");
        assert_eq!(check_file(WF, &before, &no_write), Ok(()));
        let no_publish =
            job("      - run: echo \"//registry.npmjs.org/:_authToken=$T\" > ~/.npmrc\n");
        let err = check_file(WF, &before, &no_publish).unwrap_err();
        assert!(
            err.contains("stop running `./scripts/publish.sh` in `jobs.publish`"),
            "{err}"
        );
    }

    #[test]
    fn a_command_may_change_its_options_but_not_move_to_another_job() {
        let before = job("      - run: npm install -g npm@10.8.0\n      - run: npm publish\n");
        let raised =
            job("      - run: npm install -g npm@11.5.1\n      - run: npm publish --provenance\n");
        assert_eq!(check_file(WF, &before, &raised), Ok(()));
        let moved = "on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm install -g npm@10.8.0\n  other:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish\n";
        assert!(check_file(WF, &before, moved).is_err());
    }

    #[test]
    fn a_release_action_must_stay() {
        let before = job(
            "      - uses: changesets/action@v1\n        with:\n          publish: pnpm release\n",
        );
        let bumped = job(
            "      - uses: changesets/action@v2\n        with:\n          publish: pnpm release\n",
        );
        assert_eq!(check_file(WF, &before, &bumped), Ok(()));
        assert!(check_file(WF, &before, &job("      - run: true\n")).is_err());
    }

    #[test]
    fn a_new_build_secret_needs_its_variable_where_the_build_runs() {
        let before = job("      - run: docker build --build-arg NPM_TOKEN=${{ secrets.T }} .\n");
        let unset = job("      - run: docker build --secret id=npm_token,env=NPM_TOKEN .\n");
        let err = check_file(WF, &before, &unset).unwrap_err();
        assert!(err.contains("reads `NPM_TOKEN`, which is not set"), "{err}");
        let set = job("      - run: docker build --secret id=npm_token,env=NPM_TOKEN .\n        env:\n          NPM_TOKEN: ${{ secrets.T }}\n");
        assert_eq!(check_file(WF, &before, &set), Ok(()));
        let job_env = "on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    env:\n      NPM_TOKEN: ${{ secrets.T }}\n    steps:\n      - run: docker build --secret id=npm_token,env=NPM_TOKEN .\n";
        assert_eq!(check_file(WF, &before, job_env), Ok(()));
        // `id=X` alone reads the variable X.
        let bare = job("      - run: docker build --secret id=NPM_TOKEN .\n");
        assert!(check_file(WF, &before, &bare).is_err());
        // GitLab: a project variable the original already used exists in every job.
        let gl_before =
            "build:\n  script:\n    - docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n";
        let gl_after =
            "build:\n  script:\n    - docker build --secret id=npm_token,env=NPM_TOKEN .\n";
        assert_eq!(check_file(FileKind::GitlabCi, gl_before, gl_after), Ok(()));
        let gl_other = "build:\n  script:\n    - docker build --secret id=npm_token,env=OTHER .\n";
        assert!(check_file(FileKind::GitlabCi, gl_before, gl_other).is_err());
    }

    #[test]
    fn circleci_claims_must_be_json_after_unquoting() {
        let cfg = |claims: &str| {
            format!("version: 2.1\njobs:\n  publish:\n    docker:\n      - image: cimg/node:lts\n    steps:\n      - run: |\n          echo \"export NPM_ID_TOKEN=$(circleci run oidc get --claims '{claims}')\" >> \"$BASH_ENV\"\n      - run: npm publish\n")
        };
        let before = "version: 2.1\njobs:\n  publish:\n    docker:\n      - image: cimg/node:lts\n    steps:\n      - run: npm publish\n";
        let good = cfg(r#"{"aud": "npm:registry.npmjs.org"}"#);
        assert_eq!(check_file(FileKind::CircleCi, before, &good), Ok(()));
        let escaped = cfg(r#"{\"aud\": \"npm:registry.npmjs.org\"}"#);
        let err = check_file(FileKind::CircleCi, before, &escaped).unwrap_err();
        assert!(err.contains("not JSON"), "{err}");
    }

    #[test]
    fn inserted_scripts_must_balance() {
        assert!(balanced(
            r#"echo "export A=$(circleci run oidc get --claims '{"aud": "x"}')" >> "$BASH_ENV""#
        ));
        assert!(balanced("echo ${A:-b} `date` # it's a comment\nnpm ci"));
        assert!(balanced("echo \"a \\\" b\" 'c'"));
        assert!(!balanced("echo \"unclosed"));
        assert!(!balanced("echo $(date"));
        assert!(!balanced("echo 'x"));
        let before = job("      - run: npm publish\n");
        let broken = job("      - run: echo \"x\n      - run: npm publish\n");
        // (YAML keeps the quote in a plain scalar; the shell would not.)
        assert!(check_file(WF, &before, &broken).is_err());
    }

    #[test]
    fn a_new_duplicate_key_is_refused() {
        let before = "on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n      - run: npm publish\n";
        let dup = "on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    permissions:\n      id-token: write\n    steps:\n      - run: npm publish\n";
        let err = check_file(WF, before, dup).unwrap_err();
        assert!(err.contains("jobs.publish.permissions"), "{err}");
    }

    #[test]
    fn dockerfile_commands_are_kept_per_stage() {
        let before = "FROM node\nARG NPM_TOKEN\nRUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc && npm ci && npm run build\n";
        let after = "FROM node\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci && npm run build\n";
        assert_eq!(check_file(FileKind::Dockerfile, before, after), Ok(()));
        let lost = "FROM node\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci\n";
        assert!(check_file(FileKind::Dockerfile, before, lost).is_err());
    }

    /// A repository in memory.
    struct Mem(BTreeMap<&'static str, String>);

    impl RepoView for Mem {
        fn text(&self, rel: &str) -> Option<String> {
            self.0.get(rel).cloned()
        }
        fn list(&self, rel: &str) -> Vec<String> {
            self.0
                .keys()
                .filter(|k| Path::new(k).parent() == Some(Path::new(rel)))
                .map(|k| k.to_string())
                .collect()
        }
    }

    const CALLED: &str = ".github/workflows/publish.yml";

    fn reusable(perms: &str) -> String {
        format!("on:\n  workflow_call:\njobs:\n  publish:\n    runs-on: ubuntu-latest\n{perms}    steps:\n      - run: npm publish\n")
    }

    #[test]
    fn a_reusable_workflow_gaining_id_token_needs_every_local_caller_to_grant_it() {
        let before = reusable("");
        let after = reusable("    permissions:\n      id-token: write\n");
        let caller = |perms: &str| {
            format!(
                "on: push\n{perms}jobs:\n  release:\n    uses: ./.github/workflows/publish.yml\n"
            )
        };
        let changed = [(CALLED.to_string(), WF, before.as_str())];
        let repo = |c: String| {
            Mem(BTreeMap::from([
                (CALLED, after.clone()),
                (".github/workflows/release.yml", c),
            ]))
        };
        let v = check_repo(&changed, &repo(caller("permissions:\n  contents: read\n")));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            v[0].files,
            vec![
                CALLED.to_string(),
                ".github/workflows/release.yml".to_string()
            ]
        );
        assert!(v[0].reason.contains("job `release`"), "{v:?}");
        assert!(
            check_repo(&changed, &repo(caller("permissions:\n  id-token: write\n"))).is_empty()
        );
        assert!(check_repo(&changed, &repo(caller("permissions: write-all\n"))).is_empty());
        // A workflow that is not reusable has no callers to check.
        let plain_before = before.replace("workflow_call:", "push:");
        let plain = [(CALLED.to_string(), WF, plain_before.as_str())];
        let plain_repo = Mem(BTreeMap::from([
            (CALLED, after.replace("workflow_call:", "push:")),
            (".github/workflows/release.yml", caller("")),
        ]));
        assert!(check_repo(&plain, &plain_repo).is_empty());
    }

    #[test]
    fn a_caller_job_grants_id_token_and_what_the_called_workflow_asks_for() {
        let add = |text: &str, called: &[String]| {
            let (at, line) = grant_id_token(text, "release", called).unwrap_or_default();
            format!("{}{line}{}", &text[..at], &text[at..])
        };
        let with_block = "on: push\njobs:\n  release:\n    permissions:\n      contents: write\n    uses: ./.github/workflows/publish.yml\n";
        assert_eq!(
            add(with_block, &[]),
            "on: push\njobs:\n  release:\n    permissions:\n      contents: write\n      id-token: write\n    uses: ./.github/workflows/publish.yml\n"
        );
        let bare = "on: push\npermissions:\n  contents: read\njobs:\n  release:\n    uses: ./.github/workflows/publish.yml\n";
        let called = requested_permissions("on: workflow_call\njobs:\n  a:\n    permissions:\n      contents: read\n      id-token: write\n  b:\n    permissions:\n      contents: write\n      issues: write\n");
        assert_eq!(
            called,
            vec!["contents: write", "id-token: write", "issues: write"]
        );
        assert_eq!(
            add(bare, &called),
            "on: push\npermissions:\n  contents: read\njobs:\n  release:\n    permissions:\n      contents: read\n      issues: write\n      id-token: write  # the called workflow publishes to npm with OIDC\n    uses: ./.github/workflows/publish.yml\n"
        );
        let flow =
            "on: push\njobs:\n  release:\n    permissions: { contents: read }\n    uses: ./x.yml\n";
        assert_eq!(grant_id_token(flow, "release", &[]), None);
    }

    #[test]
    fn a_build_secret_must_be_the_one_the_dockerfile_mounts() {
        let ci_before = job("      - run: docker build --build-arg NPM_TOKEN=${{ secrets.T }} -f docker/app.Dockerfile .\n");
        let ci_after = job("      - run: docker build --secret id=npm_token,env=NPM_TOKEN -f docker/app.Dockerfile .\n        env:\n          NPM_TOKEN: ${{ secrets.T }}\n");
        let changed = [(
            ".github/workflows/ci.yml".to_string(),
            WF,
            ci_before.as_str(),
        )];
        let with = |df: &str| {
            Mem(BTreeMap::from([
                (".github/workflows/ci.yml", ci_after.clone()),
                ("docker/app.Dockerfile", df.to_string()),
            ]))
        };
        let v = check_repo(
            &changed,
            &with("FROM node\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci\n"),
        );
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            v[0].reason.contains("docker/app.Dockerfile mounts `npmrc`"),
            "{v:?}"
        );
        assert!(check_repo(
            &changed,
            &with("FROM node\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n")
        )
        .is_empty());
        assert_eq!(
            built_dockerfiles(WF, ".github/workflows/ci.yml", &ci_before),
            vec!["docker/app.Dockerfile".to_string()]
        );
    }

    #[test]
    fn a_build_secret_file_must_exist_or_be_made_earlier_in_the_job() {
        let rel = ".github/workflows/ci.yml";
        let before = job("      - run: docker build --build-arg NPM_TOKEN=${{ secrets.T }} .\n");
        let changed = [(rel.to_string(), WF, before.as_str())];
        let check = |after: String, extra: &[(&'static str, &str)]| {
            let mut files = BTreeMap::from([(rel, after)]);
            files.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            check_repo(&changed, &Mem(files))
        };
        let flag = |src: &str| format!("      - run: docker build --secret id=npmrc,src={src} .\n");
        // In the repository, relative to where the step runs.
        assert!(check(job(&flag("ci/npmrc")), &[("ci/npmrc", "x")]).is_empty());
        let v = check(job(&flag("ci/npmrc")), &[]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            v[0].reason
                .contains("reads the file `ci/npmrc`, but it is not in the repository"),
            "{v:?}"
        );
        let in_sub = job("      - run: docker build --secret id=npmrc,src=npmrc .\n        working-directory: ci\n");
        assert!(check(in_sub.clone(), &[("ci/npmrc", "x")]).is_empty());
        assert!(!check(in_sub, &[("npmrc", "x")]).is_empty());
        // On the runner: only an earlier line of the same job makes it.
        let v = check(job(&flag("$RUNNER_TEMP/npmrc")), &[]);
        assert!(
            v[0].reason
                .contains("no earlier line of the job creates it"),
            "{v:?}"
        );
        let made = job("      - run: printf '%s\\n' \"$NPMRC\" > \"$RUNNER_TEMP/npmrc\"\n      - run: docker build --secret id=npmrc,src=${RUNNER_TEMP}/npmrc .\n");
        assert!(check(made, &[]).is_empty());
        let copied = job("      - run: |\n          cp ci/npmrc.template ./build.npmrc\n          docker build --secret id=npmrc,src=build.npmrc .\n");
        assert!(check(copied, &[]).is_empty());
        // A file made in another job is not there.
        let elsewhere = "on: push\njobs:\n  prep:\n    runs-on: ubuntu-latest\n    steps:\n      - run: touch /tmp/npmrc\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - run: docker build --secret id=npmrc,src=/tmp/npmrc .\n";
        assert!(!check(elsewhere.to_string(), &[]).is_empty());
    }

    #[test]
    fn a_compose_build_secret_reads_a_source_that_is_set() {
        let df = "FROM node\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n";
        let after = |decl: &str| {
            format!("services:\n  api:\n    build:\n      context: .\n      secrets:\n        - npm_token\nsecrets:\n  npm_token:\n{decl}")
        };
        let run = |before: &str, decl: &str, extra: &[(&'static str, &str)]| {
            let changed = [("compose.yaml".to_string(), FileKind::Compose, before)];
            let mut files = BTreeMap::from([
                ("compose.yaml", after(decl)),
                ("Dockerfile", df.to_string()),
            ]);
            files.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            check_repo(&changed, &Mem(files))
        };
        let env = "    environment: NPM_TOKEN\n";
        // The original interpolated the variable, or passed it through by name.
        let interpolated = "services:\n  api:\n    build:\n      context: .\n      args:\n        NPM_TOKEN: ${NPM_TOKEN}\n";
        assert!(run(interpolated, env, &[]).is_empty());
        let by_name =
            "services:\n  api:\n    build:\n      context: .\n      args:\n        - NPM_TOKEN\n";
        assert!(run(by_name, env, &[]).is_empty());
        // Read under another name before: nothing sets NPM_TOKEN ...
        let other = "services:\n  api:\n    build:\n      context: .\n      args:\n        NPM_TOKEN: ${GH_PACKAGES}\n";
        let v = run(other, env, &[]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            v[0].reason
                .contains("reads the variable `NPM_TOKEN`, which nothing provides"),
            "{v:?}"
        );
        // ... unless `.env` beside the file or a CI job running compose sets it.
        assert!(run(other, env, &[(".env", "# local\nNPM_TOKEN=x\n")]).is_empty());
        let ci = "on: push\njobs:\n  up:\n    runs-on: ubuntu-latest\n    steps:\n      - run: docker compose build\n        env:\n          NPM_TOKEN: ${{ secrets.T }}\n";
        assert!(run(other, env, &[(".github/workflows/ci.yml", ci)]).is_empty());
        let gitlab = "build:\n  script:\n    - docker compose build --build-arg X=$NPM_TOKEN\n";
        assert!(run(other, env, &[(".gitlab-ci.yml", gitlab)]).is_empty());
        let unrelated = ci.replace("docker compose build", "npm test");
        assert!(!run(other, env, &[(".github/workflows/ci.yml", &unrelated)]).is_empty());
        // A literal token taken out of the file: the variable is the user's to export.
        let literal = "services:\n  api:\n    build:\n      context: .\n      args:\n        - NPM_TOKEN=npm_literal\n";
        assert!(run(literal, env, &[]).is_empty());
        // `file:` inside the repository must exist; on the compose machine it is not checked.
        let file = "    file: ./ci/npmrc\n";
        assert!(!run(interpolated, file, &[]).is_empty());
        assert!(run(interpolated, file, &[("ci/npmrc", "x")]).is_empty());
        assert!(run(interpolated, "    file: ~/.npmrc\n", &[]).is_empty());
    }

    #[test]
    fn compose_build_secrets_are_declared_and_mounted() {
        let before = "services:\n  api:\n    build:\n      context: ./api\n      args:\n        NPM_TOKEN: ${NPM_TOKEN}\n";
        let declared = "services:\n  api:\n    build:\n      context: ./api\n      secrets:\n        - npmrc\nsecrets:\n  npmrc:\n    file: ~/.npmrc\n";
        let undeclared = "services:\n  api:\n    build:\n      context: ./api\n      secrets:\n        - npmrc\n";
        let changed = [("compose.yaml".to_string(), FileKind::Compose, before)];
        let repo = |c: &str, df: &str| {
            Mem(BTreeMap::from([
                ("compose.yaml", c.to_string()),
                ("api/Dockerfile", df.to_string()),
            ]))
        };
        let mounts_npmrc =
            "FROM node\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci\n";
        assert!(check_repo(&changed, &repo(declared, mounts_npmrc)).is_empty());
        let v = check_repo(&changed, &repo(undeclared, mounts_npmrc));
        assert!(
            v.iter().any(|v| v.reason.contains("does not declare")),
            "{v:?}"
        );
        let other = "FROM node\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n";
        let v = check_repo(&changed, &repo(declared, other));
        assert!(
            v.iter()
                .any(|v| v.reason.contains("api/Dockerfile mounts `npm_token`")),
            "{v:?}"
        );
        assert_eq!(
            built_dockerfiles(FileKind::Compose, "compose.yaml", before),
            vec!["api/Dockerfile".to_string()]
        );
    }
}
