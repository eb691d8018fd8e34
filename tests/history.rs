//! `--history` through the binary, on git repositories each test builds with the `git` CLI:
//! a token added then removed, renamed, on an unmerged branch, in a tag only, in a merge commit,
//! packed and loose objects, a shallow clone, a bare repository, a linked worktree, a corrupt
//! pack. Commit dates and authors are fixed, so commit ids (and the snapshots) are the same on
//! every machine.
//! The tokens are made up here with a valid checksum: obviously fake, never a real credential.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{json, run_in, Run};
use npm_auth_scan::token::npm_checksum;

/// A checksum-valid `npm_` token whose body says it is fake.
fn fake_token(tag: &str) -> String {
    let body = format!("{tag:F<30}").replace(|c: char| !c.is_ascii_alphanumeric(), "F");
    let body = &body[..30];
    format!("npm_{body}{}", npm_checksum(body))
}

struct Repo {
    dir: tempfile::TempDir,
    /// Commits made so far: each gets the next fixed date.
    commits: u32,
}

fn git_in(dir: &Path, args: &[&str], date: Option<&str>) -> String {
    let mut cmd = Command::new("git");
    cmd.args([
        "-c",
        "init.defaultBranch=main",
        "-c",
        "commit.gpgsign=false",
    ])
    .args(args)
    .current_dir(dir)
    .env("GIT_AUTHOR_NAME", "Jane Doe")
    .env("GIT_AUTHOR_EMAIL", "jane@example.com")
    .env("GIT_COMMITTER_NAME", "Jane Doe")
    .env("GIT_COMMITTER_EMAIL", "jane@example.com")
    .env("GIT_CONFIG_NOSYSTEM", "1")
    .env("GIT_CONFIG_GLOBAL", "/dev/null");
    if let Some(d) = date {
        cmd.env("GIT_AUTHOR_DATE", d).env("GIT_COMMITTER_DATE", d);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        git_in(dir.path(), &["init", "-q"], None);
        Repo { dir, commits: 0 }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&mut self, args: &[&str]) -> String {
        let date = format!("2021-01-{:02}T12:00:00+00:00", self.commits % 28 + 1);
        self.commits += 1;
        git_in(self.path(), args, Some(&date))
    }

    fn write(&self, rel: &str, content: &str) {
        let p = self.path().join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        fs::write(p, content).unwrap_or_else(|e| panic!("{e}"));
    }

    /// `git add -A && git commit -m MSG`; the new commit's id.
    fn commit(&mut self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn scan(&self, args: &[&str]) -> Run {
        let mut all = vec!["--history"];
        all.extend_from_slice(args);
        let run = run_in(self.path(), &all);
        assert_ne!(run.code, 101, "panicked: {}", run.stderr);
        run
    }
}

fn findings(run: &Run) -> Vec<serde_json::Value> {
    json(run)["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// No output of any format holds a token in full.
fn assert_redacted(repo: &Repo, tokens: &[&str]) {
    assert_redacted_in(repo.path(), &[], tokens);
}

/// The same for `--history -f FORMAT PATHS...` run in `dir`.
fn assert_redacted_in(dir: &Path, paths: &[&str], tokens: &[&str]) {
    for format in ["human", "json", "sarif", "github"] {
        let mut args = vec!["--history", "-f", format];
        args.extend_from_slice(paths);
        let run = run_in(dir, &args);
        assert_ne!(run.code, 101, "panicked: {}", run.stderr);
        for t in tokens {
            assert!(
                !run.stdout.contains(t) && !run.stderr.contains(t),
                "{format} output shows a token in full"
            );
        }
    }
}

/// The token added in one commit and removed in the next: one finding, at the first commit,
/// removed since; in every output format.
#[test]
fn token_added_then_removed() {
    let token = fake_token("AddedThenRemoved");
    let mut repo = Repo::new();
    repo.write("README.md", "# demo\n");
    repo.write(
        ".npmrc",
        &format!("//registry.npmjs.org/:_authToken={token}\n"),
    );
    let added = repo.commit("add npmrc");
    repo.write(".npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n");
    repo.commit("read the token from the environment");

    // The working tree is clean: only the history has it.
    let plain = run_in(repo.path(), &["-f", "json"]);
    assert_eq!(plain.code, 0, "{}", plain.stdout);

    let run = repo.scan(&["-f", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = findings(&run);
    assert_eq!(f.len(), 1, "{}", run.stdout);
    assert_eq!(f[0]["rule"], "hardcoded-token");
    assert_eq!(f[0]["path"], ".npmrc");
    assert_eq!(f[0]["commit"]["id"], added.as_str());
    assert_eq!(f[0]["commit"]["author"], "Jane Doe");
    assert_eq!(f[0]["commit"]["in_head"], false);
    assert_eq!(f[0]["suggestion"]["applicability"], "manual");
    assert_eq!(
        json(&run)["summary"]["files_scanned"],
        3,
        "3 distinct blobs"
    );

    let human = repo.scan(&[]);
    assert!(
        human.stdout.contains(&format!(
            "committed in {} by Jane Doe on 2021-01-",
            &added[..7]
        )),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("removed since"), "{}", human.stdout);
    insta::assert_snapshot!("added_then_removed_human", human.stdout);
    // The top-level `repository` names the temporary folder: not part of the snapshot.
    let mut doc = json(&run);
    if let Some(o) = doc.as_object_mut() {
        o.remove("repository");
    }
    insta::assert_snapshot!(
        "added_then_removed_json",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    );

    let sarif = repo.scan(&["-f", "sarif"]);
    let doc: serde_json::Value =
        serde_json::from_str(&sarif.stdout).unwrap_or_else(|e| panic!("{e}"));
    let run0 = &doc["runs"][0];
    let vcp = &run0["versionControlProvenance"][0];
    assert!(vcp["repositoryUri"]
        .as_str()
        .is_some_and(|u| u.starts_with("file://")));
    assert_eq!(vcp["branch"], "main");
    assert_eq!(vcp["revisionId"].as_str().map(str::len), Some(40));
    assert_eq!(
        run0["results"][0]["properties"]["commit"]["id"],
        added.as_str()
    );
    insta::assert_snapshot!(
        "added_then_removed_sarif_result",
        run0["results"][0].to_string()
    );

    let github = repo.scan(&["-f", "github"]);
    assert!(
        github
            .stdout
            .starts_with("::error file=.npmrc,line=1,col=34"),
        "{}",
        github.stdout
    );
    assert!(github.stdout.contains("removed since"), "{}", github.stdout);
    assert_redacted(&repo, &[&token]);
}

/// A token still in the tree is "still present"; its other blobs are `related`, one finding.
#[test]
fn same_token_in_several_blobs_is_one_finding() {
    let token = fake_token("StillPresent");
    let mut repo = Repo::new();
    repo.write(".env", &format!("NPM_TOKEN={token}\n"));
    let first = repo.commit("env");
    repo.write(".env", &format!("NPM_TOKEN={token}\nOTHER=1\n"));
    repo.write("docs/setup.md", &format!("Use `{token}` for now.\n"));
    repo.commit("docs");
    let run = repo.scan(&["-f", "json"]);
    let f = findings(&run);
    assert_eq!(f.len(), 1, "{}", run.stdout);
    assert_eq!(f[0]["path"], ".env");
    assert_eq!(f[0]["commit"]["id"], first.as_str());
    assert_eq!(f[0]["commit"]["in_head"], true);
    let related: Vec<&str> = f[0]["related"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["path"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(related, vec![".env", "docs/setup.md"], "{}", run.stdout);
    assert!(repo.scan(&[]).stdout.contains("still present"));
}

/// A renamed file is one blob: scanned once, reported where it first appeared. A file first
/// committed under a name of no known kind and later renamed to `.npmrc` gets the config checks
/// (a password in `_auth` is no `npm_` literal the sweep would find).
#[test]
fn renamed_files() {
    let token = fake_token("Renamed");
    let mut repo = Repo::new();
    repo.write(
        ".npmrc",
        &format!("//registry.npmjs.org/:_authToken={token}\n"),
    );
    let first = repo.commit("npmrc");
    fs::create_dir_all(repo.path().join("packages/app")).unwrap_or_else(|e| panic!("{e}"));
    fs::create_dir_all(repo.path().join("tools")).unwrap_or_else(|e| panic!("{e}"));
    repo.git(&["mv", ".npmrc", "packages/app/.npmrc"]);
    repo.commit("move");
    repo.write(
        "auth-backup.txt",
        "//npm.example.com/:_auth=dXNlcjpodW50ZXIy\n",
    );
    repo.commit("example");
    repo.git(&["mv", "auth-backup.txt", "tools/.npmrc"]);
    let renamed = repo.commit("use it");
    let run = repo.scan(&["-f", "json"]);
    let f = findings(&run);
    let summary: Vec<(String, String, String)> = f
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["path"].as_str().unwrap_or("").to_string(),
                f["commit"]["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("hardcoded-token".to_string(), ".npmrc".to_string(), first),
            (
                "basic-auth-credential".to_string(),
                "tools/.npmrc".to_string(),
                renamed
            ),
        ],
        "{}",
        run.stdout
    );
    assert!(f[0]["related"].is_null(), "one blob, no related");
    assert!(!run.stdout.contains("dXNlcjpodW50ZXIy"));
}

/// Every ref is walked: an unmerged branch, a tag whose commit no branch holds, the stash.
/// `--branch` narrows the walk.
#[test]
fn unmerged_branch_tag_only_and_stash() {
    let on_branch = fake_token("UnmergedBranch");
    let in_tag = fake_token("TagOnly");
    let stashed = fake_token("Stashed");
    let mut repo = Repo::new();
    repo.write("README.md", "x\n");
    repo.commit("init");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(".yarnrc.yml", &format!("npmAuthToken: \"{on_branch}\"\n"));
    repo.commit("feature");
    repo.git(&["checkout", "-q", "-b", "release", "main"]);
    repo.write(
        "bunfig.toml",
        &format!(
            "[install.registry]\nurl = \"https://registry.npmjs.org/\"\ntoken = \"{in_tag}\"\n"
        ),
    );
    repo.commit("release");
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "release"]);
    repo.write(".env", &format!("NPM_TOKEN={stashed}\n"));
    repo.git(&["add", ".env"]);
    repo.git(&["stash", "-q"]);

    let paths = |run: &Run| -> Vec<String> {
        findings(run)
            .iter()
            .filter_map(|f| f["path"].as_str().map(str::to_string))
            .collect()
    };
    let run = repo.scan(&["-f", "json"]);
    assert_eq!(
        paths(&run),
        vec![".env", ".yarnrc.yml", "bunfig.toml"],
        "{}",
        run.stderr
    );
    let run = repo.scan(&["-f", "json", "--branch", "main"]);
    assert!(paths(&run).is_empty(), "{}", run.stdout);
    let run = repo.scan(&["-f", "json", "--branch", "feature", "--branch", "v1.0.0"]);
    assert_eq!(paths(&run), vec![".yarnrc.yml", "bunfig.toml"]);
    let run = repo.scan(&["--branch", "nope"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--branch: `nope`"), "{}", run.stderr);
    assert_redacted(&repo, &[&on_branch, &in_tag, &stashed]);
}

/// A token that only a merge commit's tree introduces is attributed to the merge commit.
#[test]
fn merge_commit() {
    let token = fake_token("MergeCommit");
    let mut repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit("init");
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("b.txt", "b\n");
    repo.commit("side");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("c.txt", "c\n");
    repo.commit("main");
    repo.git(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
    repo.write(
        ".github/workflows/release.yml",
        &format!("on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: {token}\n"),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "merge side"]);
    let merge = repo.git(&["rev-parse", "HEAD"]);
    let run = repo.scan(&["-f", "json"]);
    let f = findings(&run);
    assert_eq!(
        f.len(),
        1,
        "only the credential, no CI-shape rule: {}",
        run.stdout
    );
    assert_eq!(f[0]["rule"], "hardcoded-token");
    assert_eq!(f[0]["path"], ".github/workflows/release.yml");
    assert_eq!(f[0]["commit"]["id"], merge.as_str());
}

/// Packed objects and refs (after `git gc`) and loose ones made after it are both read.
#[test]
fn packed_and_loose_objects() {
    let packed = fake_token("PackedObject");
    let loose = fake_token("LooseObject");
    let mut repo = Repo::new();
    repo.write(
        ".npmrc",
        &format!("//registry.npmjs.org/:_authToken={packed}\n"),
    );
    repo.commit("one");
    repo.write(".npmrc", "\n");
    repo.commit("two");
    repo.git(&["tag", "old"]);
    repo.git(&["gc", "-q", "--prune=now"]);
    assert!(repo.path().join(".git/packed-refs").is_file());
    repo.write(
        "compose.yaml",
        &format!("services:\n  app:\n    environment:\n      NPM_TOKEN: {loose}\n"),
    );
    repo.commit("three");
    let run = repo.scan(&["-f", "json"]);
    let found = findings(&run);
    let paths: Vec<&str> = found.iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(paths, vec![".npmrc", "compose.yaml"], "{}", run.stdout);
}

/// A repository whose `.npmrc` held one token (`{tag}Old`), then another (`{tag}Current`),
/// cloned over `file://` with `flags` into `name` in a new folder: the source, the folder and
/// the two tokens.
fn two_tokens_cloned(
    tag: &str,
    flags: &[&str],
    name: &str,
) -> (Repo, tempfile::TempDir, String, String) {
    let old = fake_token(&format!("{tag}Old"));
    let current = fake_token(&format!("{tag}Current"));
    let mut repo = Repo::new();
    for (token, msg) in [(&old, "old"), (&current, "current")] {
        repo.write(
            ".npmrc",
            &format!("//registry.npmjs.org/:_authToken={token}\n"),
        );
        repo.commit(msg);
    }
    // A filtered clone needs the source to serve filters.
    repo.git(&["config", "uploadpack.allowFilter", "true"]);
    let clones = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("file://{}", repo.path().display());
    let mut args = vec!["clone", "-q"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[&url, name]);
    git_in(clones.path(), &args, None);
    (repo, clones, old, current)
}

/// A shallow clone: a note, and what the clone holds is scanned.
#[test]
fn shallow_clone() {
    let (_repo, clones, _old, current) = two_tokens_cloned("Shallow", &["--depth", "1"], "shallow");
    let run = run_in(&clones.path().join("shallow"), &["--history", "-f", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = json(&run);
    let f = findings(&run);
    assert_eq!(f.len(), 1, "{}", run.stdout);
    assert!(f[0]["snippet"]
        .as_str()
        .is_some_and(|s| s.ends_with(&current[36..])));
    assert!(
        report["notes"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("shallow clone")),
        "{}",
        run.stdout
    );
    // Without --history: the human output's notes go to stderr.
    let human = run_in(&clones.path().join("shallow"), &["--history"]);
    assert!(human.stderr.contains("shallow clone"), "{}", human.stderr);
}

/// A bare repository is scanned from its git dir; "in HEAD" is HEAD's tree.
#[test]
fn bare_repository() {
    let token = fake_token("BareRepo");
    let mut repo = Repo::new();
    repo.write(
        ".npmrc",
        &format!("//registry.npmjs.org/:_authToken={token}\n"),
    );
    repo.commit("one");
    let clones = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = repo.path().display().to_string();
    git_in(
        clones.path(),
        &["clone", "-q", "--bare", &src, "bare.git"],
        None,
    );
    let run = run_in(clones.path(), &["--history", "-f", "json", "bare.git"]);
    let f = findings(&run);
    assert_eq!(f.len(), 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(f[0]["path"], "bare.git/.npmrc");
    assert_eq!(f[0]["commit"]["in_head"], true);
}

/// A linked worktree (`git worktree add`) is scanned from its directory: the history is the
/// main repository's (every ref, the worktree's branch included), "in HEAD" is the worktree's
/// HEAD and the paths keep the worktree directory as typed.
#[test]
fn linked_worktree() {
    let on_main = fake_token("WorktreeMain");
    let on_feature = fake_token("WorktreeFeature");
    let mut repo = Repo::new();
    repo.write(
        ".npmrc",
        &format!("//registry.npmjs.org/:_authToken={on_main}\n"),
    );
    repo.commit("main token");
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wt = outside.path().join("wt");
    let wt_arg = wt.display().to_string();
    repo.git(&["worktree", "add", "-q", "-b", "feature", &wt_arg]);
    fs::write(
        wt.join(".yarnrc.yml"),
        format!("npmAuthToken: {on_feature}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    git_in(&wt, &["add", "-A"], Some("2021-02-01T12:00:00+00:00"));
    git_in(
        &wt,
        &["commit", "-q", "-m", "feature token"],
        Some("2021-02-01T12:00:00+00:00"),
    );
    let run = run_in(outside.path(), &["--history", "-f", "json", "wt"]);
    let f = findings(&run);
    let mut paths: Vec<&str> = f.iter().filter_map(|x| x["path"].as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["wt/.npmrc", "wt/.yarnrc.yml"],
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(
        f.iter().all(|x| x["commit"]["in_head"] == true),
        "{}",
        run.stdout
    );
    assert_redacted_in(outside.path(), &["wt"], &[&on_main, &on_feature]);
}

/// A corrupt pack: no crash, the problem named, what can be read is scanned.
#[test]
fn corrupt_pack() {
    let token = fake_token("CorruptPack");
    let mut repo = Repo::new();
    for i in 0..20 {
        repo.write(
            &format!("f{i}.txt"),
            &format!("file {i}\n{}\n", "x".repeat(200 * i)),
        );
    }
    repo.write(
        ".npmrc",
        &format!("//registry.npmjs.org/:_authToken={token}\n"),
    );
    repo.commit("many");
    repo.git(&["gc", "-q", "--prune=now"]);
    let pack_dir = repo.path().join(".git/objects/pack");
    let pack = fs::read_dir(&pack_dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "pack"))
        .unwrap_or_else(|| panic!("no pack"));
    let mut bytes = fs::read(&pack).unwrap_or_else(|e| panic!("{e}"));
    // Flip bytes across the middle of the pack: some objects no longer inflate.
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let mut perms = fs::metadata(&pack)
        .unwrap_or_else(|e| panic!("{e}"))
        .permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&pack, perms).unwrap_or_else(|e| panic!("{e}"));
    fs::write(&pack, bytes).unwrap_or_else(|e| panic!("{e}"));
    let run = repo.scan(&["-f", "json"]);
    assert!(run.code == 1 || run.code == 2, "{}", run.stderr);
    let report = json(&run);
    let problems = report["errors"].as_array().map_or(0, Vec::len)
        + report["notes"].as_array().map_or(0, Vec::len);
    assert!(problems > 0, "the corruption is reported: {}", run.stdout);
    assert!(!run.stdout.contains(&token) && !run.stderr.contains(&token));
}

/// `--since` and `--range` narrow the commits; a bad date is a usage error.
#[test]
fn since_and_range() {
    let early = fake_token("EarlyCommit");
    let late = fake_token("LateCommit");
    let mut repo = Repo::new();
    repo.write(".env", &format!("NPM_TOKEN={early}\n"));
    let first = repo.commit("early");
    repo.write(".env", "NPM_TOKEN=\n");
    repo.commit("clean");
    repo.write(".env.production", &format!("NPM_TOKEN={late}\n"));
    repo.commit("late");
    let count = |args: &[&str]| {
        let mut all = vec!["-f", "json"];
        all.extend_from_slice(args);
        findings(&repo.scan(&all)).len()
    };
    assert_eq!(count(&[]), 2);
    assert_eq!(count(&["--since", "2021-01-03"]), 1);
    assert_eq!(count(&["--since", "2030-01-01"]), 0);
    assert_eq!(count(&["--range", &format!("{first}..HEAD")]), 1);
    assert_eq!(count(&["--range", &first[..8]]), 1);
    let run = repo.scan(&["--since", "someday"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--since"), "{}", run.stderr);
    let run = run_in(repo.path(), &["--since", "2021-01-01"]);
    assert_eq!(run.code, 2, "--since needs --history");
}

/// Baselines and inline suppressions work on history findings; `--verify` asks about them.
#[test]
fn baseline_suppression_and_verify() {
    let token = fake_token("BaselineMe");
    let mut repo = Repo::new();
    repo.write(
        ".npmrc",
        &format!("//registry.npmjs.org/:_authToken={token}\n"),
    );
    repo.write(
        "test/fixture.npmrc.txt",
        &format!(
            "# npm-auth-scan: ignore[hardcoded-token] test data\n{}\n",
            fake_token("Suppressed")
        ),
    );
    repo.commit("one");
    repo.write(".npmrc", "\n");
    repo.commit("two");
    let baseline = repo.path().join("baseline.json");
    let b = baseline.display().to_string();
    let run = repo.scan(&["--write-baseline", &b]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = repo.scan(&["-f", "json", "--baseline", &b]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report = json(&run);
    assert_eq!(report["summary"]["findings"], 0);
    assert_eq!(report["summary"]["suppressed"], 2, "baseline + inline");

    // A closed loopback port: the answer is "unknown", and nothing leaves this machine.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let registry = format!("http://127.0.0.1:{port}/");
    let run = repo.scan(&["-f", "json", "--verify", "--verify-registry", &registry]);
    let f = findings(&run);
    assert_eq!(f.len(), 1, "{}", run.stdout);
    assert!(f[0]["verification"].is_object(), "{}", run.stdout);
    assert!(!run.stdout.contains(&token) && !run.stderr.contains(&token));
}

/// Short-lived credentials in history are no findings; a PATH inside the work tree limits the
/// scan to it and keeps it in the paths.
#[test]
fn precision_and_subfolders() {
    let token = fake_token("Subfolder");
    let mut repo = Repo::new();
    repo.write(
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm ci\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n      - run: echo \"//npm.pkg.github.com/:_authToken=${CI_JOB_TOKEN}\" > .npmrc\n",
    );
    repo.write(
        "services/api/.npmrc",
        &format!("//registry.npmjs.org/:_authToken={token}\n"),
    );
    repo.write("services/api/package.json", "{\"name\":\"api\"}\n");
    repo.commit("one");
    let run = repo.scan(&["-f", "json"]);
    let f = findings(&run);
    assert_eq!(f.len(), 1, "{}", run.stdout);
    assert_eq!(f[0]["path"], "services/api/.npmrc");
    let run = repo.scan(&["-f", "json", "services"]);
    assert_eq!(findings(&run).len(), 1);
    assert_eq!(findings(&run)[0]["path"], "services/api/.npmrc");
    assert_eq!(json(&run)["summary"]["files_scanned"], 2);
    let run = repo.scan(&["-f", "json", ".github"]);
    assert!(findings(&run).is_empty(), "{}", run.stdout);
}

/// Not a repository: exit 2 with the reason; `--history` refuses `--fix`.
#[test]
fn usage_and_non_repositories() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run = run_in(dir.path(), &["--history", "-f", "json"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        json(&run)["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("git repository")),
        "{}",
        run.stdout
    );
    let run = run_in(dir.path(), &["--history", "--fix"]);
    assert_eq!(run.code, 2);
}

/// A submodule is a gitlink in the tree: a commit of another repository, not in this one's
/// object database. It is not read as a blob, so it is neither "missing" nor an error.
#[test]
fn submodule_gitlink_is_no_blob() {
    let token = fake_token("BesideSubmodule");
    let mut repo = Repo::new();
    repo.write(
        ".gitmodules",
        "[submodule \"vendor/lib\"]\n\tpath = vendor/lib\n\turl = https://example.com/lib.git\n",
    );
    repo.write(
        ".npmrc",
        &format!("//registry.npmjs.org/:_authToken={token}\n"),
    );
    repo.git(&["add", "-A"]);
    // The submodule's commit exists only in the other repository.
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        "160000,4b825dc642cb6eb9a060e54bf8d69288fbee4904,vendor/lib",
    ]);
    repo.git(&["commit", "-q", "-m", "with a submodule"]);
    let run = repo.scan(&["-f", "json"]);
    let report = json(&run);
    assert_eq!(findings(&run).len(), 1, "{}", run.stdout);
    let problems = report["errors"].as_array().map_or(0, Vec::len)
        + report["notes"].as_array().map_or(0, Vec::len);
    assert_eq!(problems, 0, "{}", run.stdout);
    assert_eq!(report["summary"]["files_scanned"], 2, "{}", run.stdout);
}

/// A partial clone (`--filter=blob:none`) lacks the blobs of old commits: one note says so
/// and names the first path; the blobs it has (those of the checkout) are scanned.
#[test]
fn partial_clone_note() {
    let (_repo, clones, old, current) =
        two_tokens_cloned("Partial", &["--filter=blob:none"], "partial");
    let run = run_in(&clones.path().join("partial"), &["--history", "-f", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = findings(&run);
    assert_eq!(f.len(), 1, "{}", run.stdout);
    assert!(f[0]["snippet"]
        .as_str()
        .is_some_and(|s| s.ends_with(&current[36..])));
    let notes = json(&run)["notes"].to_string();
    assert!(
        notes.contains("1 blob left out of this partial clone (first: .npmrc)"),
        "{notes}"
    );
    assert!(!run.stdout.contains(&old) && !run.stdout.contains(&current));
}
