//! Which repository a scan root is: the JSON `repository` object (`name`, `url`, `commit`) that
//! labels each input of `npm-auth-scan report`.
//!
//! Taken from git when the root is the top folder of a work tree (its `origin` remote, else the
//! first remote, and `HEAD`), else from the CI system when the root is its checkout
//! (`GITHUB_REPOSITORY` under `GITHUB_WORKSPACE`, `CI_PROJECT_PATH` under `CI_PROJECT_DIR`),
//! else the root folder's name. A subfolder of a work tree is labelled by its own name: the
//! remote and commit of the enclosing repository would not say where in it the files are.
//! Credentials in a remote URL (`https://user:token@host/...`) are dropped, never printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// The repository a scan root belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    /// `owner/name` (GitLab: `group/subgroup/name`), else the root folder's name.
    pub name: String,
    /// The web address of the repository (`https://github.com/owner/name`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The commit scanned (`HEAD`, or the CI system's commit), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The environment variables the CI fallback reads (a function, so tests can pass their own).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

/// The repository of the scan root `root` (a folder, or a named file: the working directory's).
pub fn detect(root: &Path, env: &dyn Env) -> Repository {
    // A named file's path is shown as typed, relative to the working directory: that is the
    // folder whose repository it is reported in.
    let dir = if root.is_file() { Path::new(".") } else { root };
    let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    from_git(&canonical)
        .or_else(|| from_ci(&canonical, env))
        .unwrap_or_else(|| Repository {
            name: folder_name(&canonical),
            url: None,
            commit: None,
        })
}

fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| dir.to_string_lossy().into_owned())
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn from_git(dir: &Path) -> Option<Repository> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(top.trim_end_matches(['\n', '\r']));
    if std::fs::canonicalize(&top).unwrap_or(top) != dir {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--verify", "--quiet", "HEAD"])
        .map(|s| s.trim().to_string())
        .filter(|s| s.len() >= 7 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    let remotes = git(dir, &["config", "--get-regexp", r"^remote\..*\.url$"]).unwrap_or_default();
    let remote = pick_remote(&remotes);
    let (name, url) = match remote.as_deref().and_then(web_address) {
        Some((name, url)) => (name, Some(url)),
        None => (
            remote
                .as_deref()
                .and_then(last_path_part)
                .unwrap_or_else(|| folder_name(dir)),
            None,
        ),
    };
    Some(Repository { name, url, commit })
}

/// The `origin` remote's URL, else the first remote's, from `git config --get-regexp` lines.
fn pick_remote(lines: &str) -> Option<String> {
    let parsed: Vec<(&str, &str)> = lines
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(key, url)| {
            let name = key.strip_prefix("remote.")?.strip_suffix(".url")?;
            Some((name, url.trim()))
        })
        .collect();
    parsed
        .iter()
        .find(|(name, _)| *name == "origin")
        .or(parsed.first())
        .map(|(_, url)| (*url).to_string())
}

/// `owner/name` and the https address of a git remote URL (scp-like `git@host:owner/name.git`,
/// `ssh://`, `git://`, `http(s)://`); user info and port of ssh are dropped. None for local paths.
pub fn web_address(remote: &str) -> Option<(String, String)> {
    let remote = remote.trim();
    let (host, path) = if let Some((scheme, rest)) = remote.split_once("://") {
        if !matches!(scheme, "https" | "http" | "ssh" | "git" | "git+ssh") {
            return None;
        }
        let (authority, path) = rest.split_once('/')?;
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if scheme == "http" || scheme == "https" {
            host_port.to_string()
        } else {
            host_port
                .split_once(':')
                .map_or(host_port, |(h, _)| h)
                .to_string()
        };
        (host, path.to_string())
    } else {
        // scp-like syntax: [user@]host:path, where host has no slash before the colon.
        let (before, path) = remote.split_once(':')?;
        if before.contains('/') || path.starts_with("//") {
            return None;
        }
        let host = before.rsplit_once('@').map_or(before, |(_, h)| h);
        (host.to_string(), path.to_string())
    };
    let valid_host = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    let name = path
        .trim_matches('/')
        .trim_end_matches(".git")
        .trim_matches('/')
        .to_string();
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._/~".contains(&b));
    (valid_host && valid_name).then(|| (name.clone(), format!("https://{host}/{name}")))
}

fn last_path_part(remote: &str) -> Option<String> {
    let part = remote
        .trim()
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', '\\', ':'])
        .next()?;
    (!part.is_empty()).then(|| part.to_string())
}

fn same_dir(a: &Path, b: &str) -> bool {
    std::fs::canonicalize(b).is_ok_and(|b| b == a)
}

fn from_ci(dir: &Path, env: &dyn Env) -> Option<Repository> {
    if let Some(name) = env.var("GITHUB_REPOSITORY") {
        if env
            .var("GITHUB_WORKSPACE")
            .is_some_and(|w| same_dir(dir, &w))
        {
            let server = env
                .var("GITHUB_SERVER_URL")
                .unwrap_or_else(|| "https://github.com".to_string());
            return Some(Repository {
                url: Some(format!("{}/{name}", server.trim_end_matches('/'))),
                commit: env.var("GITHUB_SHA"),
                name,
            });
        }
    }
    if let Some(name) = env.var("CI_PROJECT_PATH") {
        if env.var("CI_PROJECT_DIR").is_some_and(|w| same_dir(dir, &w)) {
            return Some(Repository {
                url: env.var("CI_PROJECT_URL"),
                commit: env.var("CI_COMMIT_SHA"),
                name,
            });
        }
    }
    None
}

/// The web address of `path` (relative to the repository's top) at line `line`, when the
/// repository's address and commit are known and its host is one whose URL scheme is known.
pub fn file_link(repo: &Repository, path: &str, line: usize) -> Option<String> {
    let url = repo.url.as_deref()?;
    let commit = repo.commit.as_deref()?;
    let host = url
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    let path: String = path
        .split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/");
    if host.contains("gitlab") {
        Some(format!("{url}/-/blob/{commit}/{path}#L{line}"))
    } else if host == "bitbucket.org" {
        Some(format!("{url}/src/{commit}/{path}#lines-{line}"))
    } else if host.contains("github") {
        Some(format!("{url}/blob/{commit}/{path}#L{line}"))
    } else {
        None
    }
}

fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct MapEnv(BTreeMap<&'static str, String>);

    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    #[test]
    fn remote_urls_become_web_addresses_without_credentials() {
        for (remote, name, url) in [
            (
                "git@github.com:acme/api.git",
                "acme/api",
                "https://github.com/acme/api",
            ),
            (
                "https://x-access-token:ghs_secret@github.com/acme/api",
                "acme/api",
                "https://github.com/acme/api",
            ),
            (
                "https://gitlab-ci-token:glcbt-secret@gitlab.com/group/sub/web.git",
                "group/sub/web",
                "https://gitlab.com/group/sub/web",
            ),
            (
                "ssh://git@gitlab.acme.dev:2222/platform/ui.git",
                "platform/ui",
                "https://gitlab.acme.dev/platform/ui",
            ),
        ] {
            let (n, u) = web_address(remote).unwrap_or_default();
            assert_eq!((n.as_str(), u.as_str()), (name, url), "{remote}");
            assert!(!u.contains("secret"));
        }
        assert_eq!(web_address("/srv/git/api.git"), None);
        assert_eq!(web_address("file:///srv/git/api.git"), None);
        assert_eq!(last_path_part("/srv/git/api.git").as_deref(), Some("api"));
    }

    #[test]
    fn origin_wins_over_other_remotes() {
        let lines = "remote.upstream.url https://github.com/up/x\nremote.origin.url git@github.com:me/x.git\n";
        assert_eq!(
            pick_remote(lines).as_deref(),
            Some("git@github.com:me/x.git")
        );
        assert_eq!(
            pick_remote("remote.fork.url https://github.com/f/x\n").as_deref(),
            Some("https://github.com/f/x")
        );
        assert_eq!(pick_remote(""), None);
    }

    #[test]
    fn ci_variables_label_only_their_checkout() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let work = std::fs::canonicalize(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let other = work.join("sub");
        std::fs::create_dir(&other).unwrap_or_else(|e| panic!("{e}"));
        let env = MapEnv(BTreeMap::from([
            ("GITHUB_REPOSITORY", "acme/api".to_string()),
            ("GITHUB_WORKSPACE", work.to_string_lossy().into_owned()),
            (
                "GITHUB_SHA",
                "0123456789abcdef0123456789abcdef01234567".to_string(),
            ),
        ]));
        let repo = from_ci(&work, &env).unwrap_or_default();
        assert_eq!(repo.name, "acme/api");
        assert_eq!(repo.url.as_deref(), Some("https://github.com/acme/api"));
        assert_eq!(from_ci(&other, &env), None);
        let gitlab = MapEnv(BTreeMap::from([
            ("CI_PROJECT_PATH", "group/web".to_string()),
            ("CI_PROJECT_DIR", work.to_string_lossy().into_owned()),
            ("CI_PROJECT_URL", "https://gitlab.com/group/web".to_string()),
        ]));
        assert_eq!(
            from_ci(&work, &gitlab).map(|r| r.name),
            Some("group/web".to_string())
        );
    }

    #[test]
    fn links_per_host() {
        let mut repo = Repository {
            name: "acme/api".into(),
            url: Some("https://github.com/acme/api".into()),
            commit: Some("abc1234".into()),
        };
        assert_eq!(
            file_link(&repo, "services/api/Dockerfile", 3).as_deref(),
            Some("https://github.com/acme/api/blob/abc1234/services/api/Dockerfile#L3")
        );
        assert_eq!(
            file_link(&repo, ".github/workflows/a b.yml", 1).as_deref(),
            Some("https://github.com/acme/api/blob/abc1234/.github/workflows/a%20b.yml#L1")
        );
        repo.url = Some("https://gitlab.com/acme/api".into());
        assert_eq!(
            file_link(&repo, ".npmrc", 2).as_deref(),
            Some("https://gitlab.com/acme/api/-/blob/abc1234/.npmrc#L2")
        );
        repo.url = Some("https://git.example.org/acme/api".into());
        assert_eq!(file_link(&repo, ".npmrc", 2), None);
        repo.commit = None;
        repo.url = Some("https://github.com/acme/api".into());
        assert_eq!(file_link(&repo, ".npmrc", 2), None);
    }
}
