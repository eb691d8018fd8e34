//! `--verify` end to end against a real registry: a Verdaccio started on 127.0.0.1 for the test
//! (the `VERDACCIO` variable names its binary; `.ci/run` installs it). A user created through
//! its API gives a live token; a made-up token must come back invalid and a closed loopback port
//! unknown. Nothing here talks to a non-loopback address.
#![cfg(feature = "verify")]

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{json, run_in, Run};

/// A Verdaccio process, killed when dropped (also when an assertion fails).
struct Verdaccio {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Verdaccio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    l.local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"))
        .port()
}

fn verdaccio_bin() -> Option<PathBuf> {
    match std::env::var_os("VERDACCIO").filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("skipped: VERDACCIO is not set (.ci/run installs Verdaccio and sets it)");
            None
        }
    }
}

/// An HTTP client that never goes through a proxy of the environment: the test talks to
/// 127.0.0.1 only.
fn direct() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

impl Verdaccio {
    fn start(bin: &Path) -> Verdaccio {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let port = free_port();
        let config = format!(
            "storage: {storage}\n\
             auth:\n  htpasswd:\n    file: {htpasswd}\n    max_users: 100\n\
             uplinks: {{}}\n\
             packages:\n  '**':\n    access: $all\n    publish: $authenticated\n\
             log: {{ type: stdout, format: pretty, level: warn }}\n",
            storage = dir.path().join("storage").display(),
            htpasswd = dir.path().join("htpasswd").display(),
        );
        let config_path = dir.path().join("config.yaml");
        std::fs::write(&config_path, config).unwrap_or_else(|e| panic!("config: {e}"));
        let child = Command::new(bin)
            .arg("--config")
            .arg(&config_path)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let v = Verdaccio {
            child,
            port,
            _dir: dir,
        };
        v.wait_ready();
        v
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && direct()
                    .get(&format!("{}-/ping", self.base()))
                    .call()
                    .is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("Verdaccio did not answer on port {} within 60 s", self.port);
    }

    /// Creates a user through the registry API (what `npm adduser` does); returns its token.
    fn add_user(&self, name: &str) -> String {
        let body = serde_json::json!({"name": name, "password": "verify-test-pass-1"});
        let mut resp = direct()
            .put(&format!("{}-/user/org.couchdb.user:{name}", self.base()))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("adduser: {e}"));
        let text = resp
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("adduser body: {e}"));
        let answer: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("adduser JSON ({e}): {text}"));
        answer["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {text}"))
            .to_owned()
    }
}

fn project(npmrc: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::write(dir.path().join(".npmrc"), npmrc).unwrap_or_else(|e| panic!("write: {e}"));
    dir
}

/// `--verify -f json .` in `cwd` with only PATH, HOME and `env` set.
fn run_with_env(cwd: &Path, env: &[(&str, &str)]) -> Run {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_npm-auth-scan"))
        .args(["--verify", "-f", "json", "."])
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run the binary: {e}"));
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn verification(run: &Run) -> serde_json::Value {
    let report = json(run);
    let findings = report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings: {}", run.stdout));
    assert_eq!(findings.len(), 1, "{}", run.stdout);
    findings[0]["verification"].clone()
}

fn assert_no_secret(run: &Run, secret: &str) {
    assert!(!run.stdout.contains(secret), "token in stdout");
    assert!(!run.stderr.contains(secret), "token in stderr");
}

#[test]
fn live_invalid_and_unknown_tokens() {
    let Some(bin) = verdaccio_bin() else { return };
    let registry = Verdaccio::start(&bin);
    let token = registry.add_user("alice");
    let port = registry.port;

    // Live: the key's own registry, plain HTTP on loopback.
    let dir = project(&format!("//127.0.0.1:{port}/:_authToken={token}\n"));
    let run = run_in(dir.path(), &["--verify", "-f", "json", "."]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v = verification(&run);
    assert_eq!(v["status"], "live", "{v}");
    assert_eq!(v["user"], "alice", "{v}");
    assert!(
        run.stderr
            .contains("sends each literal token found to the registry it is configured for"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run, &token);

    // Human and SARIF carry it too.
    let human = run_in(dir.path(), &["--verify", "."]);
    assert!(
        human
            .stdout
            .contains("token check (--verify): live (user alice)"),
        "{}",
        human.stdout
    );
    assert_no_secret(&human, &token);
    let sarif = run_in(dir.path(), &["--verify", "-f", "sarif", "."]);
    let doc = json(&sarif);
    assert_eq!(
        doc["runs"][0]["results"][0]["properties"]["verification"]["status"], "live",
        "{}",
        sarif.stdout
    );

    // Without --verify nothing is sent and the JSON has no verification field.
    let plain = run_in(dir.path(), &["-f", "json", "."]);
    assert!(verification(&plain).is_null(), "{}", plain.stdout);

    // A made-up token (same registry): invalid.
    let garbage = "s3cr3t-T0ken-9f8e7d6c5b4a";
    let dir = project(&format!("//127.0.0.1:{port}/:_authToken={garbage}\n"));
    let run = run_in(dir.path(), &["--verify", "-f", "json", "."]);
    let v = verification(&run);
    assert_eq!(v["status"], "invalid", "{v}");
    assert_no_secret(&run, garbage);

    // A registry on a closed loopback port: unknown, quickly.
    let closed = free_port();
    let dir = project(&format!("//127.0.0.1:{closed}/:_authToken={token}\n"));
    let started = Instant::now();
    let run = run_in(dir.path(), &["--verify", "-f", "json", "."]);
    let v = verification(&run);
    assert_eq!(v["status"], "unknown", "{v}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_no_secret(&run, &token);

    // The proxy of the environment is used (a closed one: unknown), and NO_PROXY bypasses it.
    let dir = project(&format!("//127.0.0.1:{port}/:_authToken={token}\n"));
    let proxy = format!("http://127.0.0.1:{}", free_port());
    let via_proxy = run_with_env(dir.path(), &[("HTTP_PROXY", &proxy)]);
    assert_eq!(
        verification(&via_proxy)["status"],
        "unknown",
        "{}",
        via_proxy.stdout
    );
    let bypass = run_with_env(
        dir.path(),
        &[("HTTP_PROXY", &proxy), ("NO_PROXY", "127.0.0.1")],
    );
    assert_eq!(verification(&bypass)["status"], "live", "{}", bypass.stdout);
    assert_no_secret(&bypass, &token);

    // --verify-registry sends the token to the named registry instead (here: the live one).
    let run = run_in(
        dir.path(),
        &[
            "--verify",
            "--verify-registry",
            &registry.base(),
            "-f",
            "json",
            ".",
        ],
    );
    let v = verification(&run);
    assert_eq!(v["status"], "live", "{v}");
    assert!(run.stderr.contains("--verify-registry"), "{}", run.stderr);
}

#[test]
fn verify_registry_must_be_a_plain_url() {
    let dir = project("registry=https://registry.npmjs.org/\n");
    let run = run_in(
        dir.path(),
        &["--verify", "--verify-registry", "https://a@b.example/", "."],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--verify-registry"), "{}", run.stderr);
    let run = run_in(
        dir.path(),
        &["--verify-registry", "http://127.0.0.1:9/", "."],
    );
    assert_eq!(run.code, 2, "needs --verify: {}", run.stderr);
}

#[test]
fn token_in_unsafe_registry_key_is_not_sent() {
    // The host holds a variable: which host it is cannot be told, so nothing is sent (and the
    // run does not touch the network at all).
    let dir = project("//${REGISTRY_HOST}/:_authToken=s3cr3t-T0ken-9f8e7d6c5b4a\n");
    let run = run_in(dir.path(), &["--verify", "-f", "json", "."]);
    let report = json(&run);
    let literal: Vec<_> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "hardcoded-token")
        .collect();
    assert_eq!(literal.len(), 1, "{}", run.stdout);
    assert_eq!(
        literal[0]["verification"]["status"], "unknown",
        "{}",
        run.stdout
    );
    assert!(
        literal[0]["verification"]["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("not sent")),
        "{}",
        run.stdout
    );
}
