//! `--verify`: asks each literal token's own registry whether the token still works.
//!
//! A check that finds a literal token attaches a [`Credential`] to its finding: the raw token
//! and the registry it is configured for. The credential is never serialized, its `Debug` is
//! redacted, and its bytes are wiped when it is dropped. [`verify_report`] takes every
//! credential out of the report, sends one `GET <registry>/-/whoami` with
//! `Authorization: Bearer <token>` per distinct token and registry (a few at a time, with short
//! timeouts, no retries, no redirects) and records a [`Verification`] on the findings.
//!
//! The one safety property: a token goes only to the host it is configured for (or to the
//! registry the user names with `--verify-registry`). Registry URLs are built from the
//! configuration by [`registry_url`] and [`registry_for_nerf`], which refuse anything whose host
//! is not plainly a host (user info, variables, odd characters), and [`whoami_url`] checks the
//! host once more before a request is made.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
#[cfg(feature = "verify")]
use std::time::Duration;

use serde::Serialize;
use zeroize::Zeroize;

use crate::scan::Report;

pub use crate::credential::{Credential, DEFAULT_REGISTRY};

/// Requests in flight at once: enough to be quick on a large report, few enough not to look
/// like an attack on a small private registry.
const CONCURRENCY: usize = 4;
/// Time to open a connection (TLS included).
#[cfg(feature = "verify")]
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time for a whole request, answer included.
#[cfg(feature = "verify")]
const OVERALL_TIMEOUT: Duration = Duration::from_secs(8);
/// A whoami answer is a tiny JSON object; more than this is not one.
#[cfg(feature = "verify")]
const MAX_BODY: u64 = 64 * 1024;
/// Longest user name shown (the registry's answer is untrusted input).
#[cfg(feature = "verify")]
const MAX_USER: usize = 100;

/// What the registry said about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The registry accepted the token.
    Live,
    /// The registry refused it (401/403): revoked, expired or never valid.
    Invalid,
    /// No answer that says either (network error, timeout, another status).
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::Invalid => "invalid",
            Status::Unknown => "unknown",
        }
    }
}

/// The `verification` of a finding in JSON (present only with `--verify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Verification {
    fn unknown(detail: impl Into<String>) -> Verification {
        Verification {
            status: Status::Unknown,
            user: None,
            detail: Some(detail.into()),
        }
    }

    /// `live (user alice)`, `revoked/invalid (HTTP 401 from ...)`, `unknown (timed out)`.
    pub fn summary(&self) -> String {
        let word = match self.status {
            Status::Live => "live",
            Status::Invalid => "revoked/invalid",
            Status::Unknown => "unknown",
        };
        match (&self.user, &self.detail) {
            (Some(u), _) => format!("{word} (user {u})"),
            (None, Some(d)) => format!("{word} ({d})"),
            (None, None) => word.to_owned(),
        }
    }
}

/// Settings of `--verify`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// `--verify-registry`: the base URL every token is sent to instead of its own registry.
    pub registry_override: Option<String>,
}

/// Is `host` (with an optional port) plainly a host name or IP address? Anything else (user
/// info, `${VAR}`, spaces, a backslash) could make an HTTP client connect somewhere else than
/// the text suggests, so such a registry is never contacted.
fn is_plain_host(host: &str) -> bool {
    let (name_ok, port) = match host.strip_prefix('[') {
        // `[::1]:4873`
        Some(rest) => {
            let Some((ip, after)) = rest.split_once(']') else {
                return false;
            };
            let ip_ok = !ip.is_empty()
                && ip
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
            match after {
                "" => (ip_ok, None),
                _ => (ip_ok, Some(after.strip_prefix(':').unwrap_or(""))),
            }
        }
        None => {
            let (name, port) = match host.rsplit_once(':') {
                Some((n, p)) => (n, Some(p)),
                None => (host, None),
            };
            let ok = !name.is_empty()
                && name.len() <= 253
                && !name.starts_with(['.', '-'])
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            (ok, port)
        }
    };
    name_ok && port.is_none_or(|p| p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0))
}

/// Is the path of a registry URL free of what could change its meaning (query, fragment,
/// backslashes, spaces, `..`)?
fn is_plain_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.split('/').any(|seg| seg == "..")
        && path
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '?' | '#' | '\\' | '@' | '$' | '"'))
}

/// Hosts where a registry without a stated scheme is taken to speak plain HTTP: a token sent
/// there never leaves the machine, and local registries (Verdaccio's default
/// `http://localhost:4873`) rarely have TLS.
fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    name.eq_ignore_ascii_case("localhost") || name == "::1" || name.starts_with("127.")
}

/// Splits `scheme://host/path` into its parts, lower-casing scheme and host.
fn split_url(url: &str) -> Option<(String, String, String)> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let (host, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    Some((scheme, host.to_ascii_lowercase(), path.to_owned()))
}

/// The base URL (`scheme://host/path/`) of a registry URL as written in a config file or on the
/// command line; None when it is not a plain `http(s)` URL with a plain host.
pub fn registry_url(url: &str) -> Option<String> {
    let (scheme, host, path) = split_url(url)?;
    if !is_plain_host(&host) || !is_plain_path(&path) {
        return None;
    }
    let mut path = path;
    if !path.ends_with('/') {
        path.push('/');
    }
    Some(format!("{scheme}://{host}{path}"))
}

/// The registry a nerf-darted key (`//host/path/:_authToken`) is for. The scheme is the one of
/// a registry URL of the same file with that nerf dart (`registry=`, `@scope:registry=`), else
/// `https` (`http` on loopback). `scheme` is the one written in the key itself, if any.
pub fn registry_for_nerf(
    nerf: &str,
    scheme: Option<&str>,
    known_urls: &[String],
) -> Option<String> {
    let rest = nerf.strip_prefix("//")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    let host = host.to_ascii_lowercase();
    if !is_plain_host(&host) || !is_plain_path(path) {
        return None;
    }
    let from_key = scheme.map(|s| s.trim_end_matches(':').trim_end_matches('/').to_owned());
    let from_file = known_urls.iter().find_map(|u| {
        let (s, h, p) = split_url(u)?;
        let p = if p.ends_with('/') { p } else { format!("{p}/") };
        (h == host && p == path.trim_end_matches('/').to_owned() + "/").then_some(s)
    });
    let scheme = from_key
        .filter(|s| s == "http" || s == "https")
        .or(from_file)
        .unwrap_or_else(|| {
            if is_loopback(&host) {
                "http".to_owned()
            } else {
                "https".to_owned()
            }
        });
    registry_url(&format!("{scheme}://{host}{path}"))
}

/// The host (with port) of a base URL.
fn host_of(url: &str) -> Option<String> {
    split_url(url).map(|(_, h, _)| h)
}

/// The whoami URL for a token configured for `registry`, or sent to `override_registry`. The
/// host of the result is checked to be the host of the registry it came from.
pub fn whoami_url(registry: &str, override_registry: Option<&str>) -> Option<String> {
    let base = registry_url(override_registry.unwrap_or(registry))?;
    let url = format!("{base}-/whoami");
    (host_of(&url)? == host_of(&base)?).then_some(url)
}

/// One request to make: a token and where it goes.
struct Job {
    secret: String,
    #[cfg_attr(not(feature = "verify"), allow(dead_code))]
    url: String,
}

impl Drop for Job {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

/// The stderr line printed before any request.
pub fn warning(options: &VerifyOptions) -> String {
    match &options.registry_override {
        Some(r) => format!(
            "warning: --verify sends every literal token found to {r} (--verify-registry) as `Authorization: Bearer` on GET /-/whoami"
        ),
        None => "warning: --verify sends each literal token found to the registry it is configured for (registry.npmjs.org for an npm_ token tied to none), and nowhere else, as `Authorization: Bearer` on GET /-/whoami".to_owned(),
    }
}

/// Takes every credential out of the report's findings, verifies each distinct token once per
/// registry, and records the outcome on the findings. A `hardcoded-token` finding whose token
/// cannot be sent safely (or whose check could not tie it to a registry) is marked unknown;
/// findings of other rules get no verification.
#[cfg(feature = "verify")]
pub fn verify_report(report: &mut Report, options: &VerifyOptions) {
    let agent = agent();
    verify_with(report, options, |job| check(&agent, job));
}

/// Built without the `verify` feature there is no HTTP client: nothing is sent, and every token
/// is marked unknown. (The command line refuses `--verify` in such a build; this is for library
/// users.)
#[cfg(not(feature = "verify"))]
pub fn verify_report(report: &mut Report, options: &VerifyOptions) {
    verify_with(report, options, |_| {
        Verification::unknown(format!("not sent: {NOT_BUILT}"))
    });
}

/// Why `--verify` is not available in a build without the `verify` feature.
pub const NOT_BUILT: &str =
    "this npm-auth-scan was built without the `verify` feature (no network code)";

fn verify_with(
    report: &mut Report,
    options: &VerifyOptions,
    run: impl Fn(&Job) -> Verification + Sync,
) {
    let mut jobs: Vec<Job> = Vec::new();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    // Per finding: the job it waits for, or the reason it is not sent.
    let mut plan: Vec<Option<Result<usize, &'static str>>> = Vec::new();
    for finding in &mut report.findings {
        let Some(cred) = finding.credential.take() else {
            // A literal token whose check could not tie it to a registry (a Dockerfile, a CI
            // script): guessing one could send it to the wrong host.
            plan.push((finding.rule == "hardcoded-token").then_some(Err(
                "not sent: the registry this token is for is not known from this file",
            )));
            continue;
        };
        let url = cred
            .registry()
            .and_then(|r| whoami_url(r, options.registry_override.as_deref()));
        let Some(url) = url else {
            plan.push(Some(Err(
                "not sent: the registry this token is for could not be told safely",
            )));
            continue;
        };
        let mut key = (cred.secret().to_owned(), url.clone());
        let n = match index.get(&key) {
            Some(n) => {
                let n = *n;
                key.0.zeroize();
                n
            }
            None => {
                jobs.push(Job {
                    secret: cred.secret().to_owned(),
                    url,
                });
                index.insert(key, jobs.len() - 1);
                jobs.len() - 1
            }
        };
        plan.push(Some(Ok(n)));
    }
    // The keys hold the tokens too; wipe them now that the jobs are built.
    for ((mut secret, _), _) in std::mem::take(&mut index) {
        secret.zeroize();
    }
    let results = run_all(&jobs, &run);
    drop(jobs);
    for (finding, step) in report.findings.iter_mut().zip(plan) {
        finding.verification = match step {
            None => None,
            Some(Err(why)) => Some(Verification::unknown(why)),
            Some(Ok(n)) => results
                .get(n)
                .cloned()
                .flatten()
                .or_else(|| Some(Verification::unknown("not checked"))),
        };
    }
}

/// Runs the jobs on at most [`CONCURRENCY`] threads.
fn run_all(
    jobs: &[Job],
    run: &(impl Fn(&Job) -> Verification + Sync),
) -> Vec<Option<Verification>> {
    let results: Mutex<Vec<Option<Verification>>> = Mutex::new(vec![None; jobs.len()]);
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..CONCURRENCY.min(jobs.len()) {
            s.spawn(|| loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(n) else { break };
                let v = run(job);
                if let Ok(mut r) = results.lock() {
                    if let Some(slot) = r.get_mut(n) {
                        *slot = Some(v);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default()
}

#[cfg(feature = "verify")]
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(OVERALL_TIMEOUT))
        // A redirect could carry the token to another host: never follow one.
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(ureq::Proxy::try_from_env())
        .user_agent(concat!(
            env!("CARGO_PKG_NAME"),
            "/",
            env!("CARGO_PKG_VERSION"),
            " (--verify)"
        ))
        .build()
        .into()
}

/// One whoami request, no retry.
#[cfg(feature = "verify")]
fn check(agent: &ureq::Agent, job: &Job) -> Verification {
    let mut auth = format!("Bearer {}", job.secret);
    let answer = agent
        .get(&job.url)
        .header("Authorization", &auth)
        .header("Accept", "application/json")
        .call();
    auth.zeroize();
    let registry = job.url.trim_end_matches("-/whoami");
    match answer {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let body = resp
                .body_mut()
                .with_config()
                .limit(MAX_BODY)
                .read_to_string()
                .unwrap_or_default();
            interpret(status, &body, registry)
        }
        Err(e) => Verification::unknown(network_reason(&e)),
    }
}

/// What a whoami answer means.
#[cfg(feature = "verify")]
fn interpret(status: u16, body: &str, registry: &str) -> Verification {
    match status {
        200..=299 => match serde_json::from_str::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(answer)) => {
                let user = answer
                    .get("username")
                    .and_then(|u| u.as_str())
                    .map(clean_user)
                    .filter(|u| !u.is_empty());
                match user {
                    Some(u) => Verification {
                        status: Status::Live,
                        user: Some(u),
                        detail: Some(format!("accepted by {registry}")),
                    },
                    // Some registries (Verdaccio) answer an unknown token as an anonymous
                    // request: a whoami object with no user. The token was not accepted.
                    None => Verification {
                        status: Status::Invalid,
                        user: None,
                        detail: Some(format!(
                            "HTTP {status} from {registry} with no user: the token was not accepted"
                        )),
                    },
                }
            }
            // Not a whoami answer at all (a captive portal, a catch-all proxy page).
            _ => Verification::unknown(format!(
                "HTTP {status} from {registry} that is not a whoami answer"
            )),
        },
        401 | 403 => Verification {
            status: Status::Invalid,
            user: None,
            detail: Some(format!("HTTP {status} from {registry}")),
        },
        _ => Verification::unknown(format!("HTTP {status} from {registry}")),
    }
}

/// A user name from the registry, made safe to print.
#[cfg(feature = "verify")]
fn clean_user(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER)
        .collect()
}

#[cfg(feature = "verify")]
fn network_reason(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::TimedOut => "timed out".to_owned(),
            _ => format!("network error: {io}"),
        },
        ureq::Error::HostNotFound => "host not found".to_owned(),
        other => format!("network error: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nerf_darts_give_their_own_host() {
        assert_eq!(
            registry_for_nerf("//registry.npmjs.org/", None, &[]).as_deref(),
            Some("https://registry.npmjs.org/")
        );
        // A path registry keeps its path: whoami is relative to it.
        assert_eq!(
            registry_for_nerf("//nexus.acme.dev:8081/repository/npm-group/", None, &[]).as_deref(),
            Some("https://nexus.acme.dev:8081/repository/npm-group/")
        );
        assert_eq!(
            whoami_url("https://nexus.acme.dev:8081/repository/npm-group/", None).as_deref(),
            Some("https://nexus.acme.dev:8081/repository/npm-group/-/whoami")
        );
        // The scheme comes from the file's registry URL for the same nerf dart, and only then.
        let known = urls(&["http://npm.internal/", "https://other.example/x/"]);
        assert_eq!(
            registry_for_nerf("//npm.internal/", None, &known).as_deref(),
            Some("http://npm.internal/")
        );
        assert_eq!(
            registry_for_nerf("//other.example/", None, &known).as_deref(),
            Some("https://other.example/")
        );
        // Loopback defaults to plain HTTP; the key's own scheme wins.
        assert_eq!(
            registry_for_nerf("//127.0.0.1:4873/", None, &[]).as_deref(),
            Some("http://127.0.0.1:4873/")
        );
        assert_eq!(
            registry_for_nerf("//localhost:4873/", Some("https:"), &[]).as_deref(),
            Some("https://localhost:4873/")
        );
        // pnpm's package-scoped form keeps the registry host.
        assert_eq!(
            registry_for_nerf("//npm.pkg.github.com/", None, &[]).as_deref(),
            Some("https://npm.pkg.github.com/")
        );
    }

    #[test]
    fn tricky_hosts_are_never_contacted() {
        for nerf in [
            "//evil.example@registry.npmjs.org/",
            "//registry.npmjs.org@evil.example/",
            "//${REGISTRY_HOST}/",
            "//host with space/",
            "//registry.npmjs.org\\@evil.example/",
            "//registry.npmjs.org:99999/",
            "//registry.npmjs.org:/",
            "//:4873/",
            "//",
            "//registry.npmjs.org/a/../../x/",
            "//registry.npmjs.org/?x=@evil.example/",
            "//registry.npmjs.org/#@evil.example/",
        ] {
            assert_eq!(registry_for_nerf(nerf, None, &[]), None, "{nerf}");
        }
        assert_eq!(registry_url("ftp://registry.npmjs.org/"), None);
        assert_eq!(registry_url("https://u:p@registry.npmjs.org/"), None);
        assert_eq!(
            registry_for_nerf("//[::1]:4873/", None, &[]).as_deref(),
            Some("http://[::1]:4873/")
        );
    }

    /// The registry each `hardcoded-token` finding of a file would be verified against
    /// (outer None: no credential attached; inner None: not sent).
    fn registries(path: &str, text: &str) -> Vec<Option<Option<String>>> {
        let outcome = crate::scan::scan_text(path, text, &crate::scan::ScanSettings::default());
        outcome
            .findings
            .iter()
            .filter(|f| f.rule == "hardcoded-token")
            .map(|f| {
                f.credential
                    .as_ref()
                    .map(|c| c.registry().map(str::to_owned))
            })
            .collect()
    }

    fn sent_to(url: &str) -> Vec<Option<Option<String>>> {
        vec![Some(Some(url.to_owned()))]
    }

    #[test]
    fn checks_attach_the_registry_the_token_is_configured_for() {
        let t = "s3cr3t-T0ken-9f8e7d6c";
        let npm = "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";
        // The file's registry URL for the same nerf dart gives the scheme.
        assert_eq!(
            registries(
                ".npmrc",
                &format!("registry=http://npm.internal/\n//npm.internal/:_authToken={t}\n")
            ),
            sent_to("http://npm.internal/")
        );
        // A path registry keeps its path.
        assert_eq!(
            registries(
                ".npmrc",
                &format!("//nexus.acme.dev/repository/npm/:_authToken={t}\n")
            ),
            sent_to("https://nexus.acme.dev/repository/npm/")
        );
        // A scoped registry: the token's own key decides, not the default registry.
        assert_eq!(
            registries(
                ".npmrc",
                &format!(
                    "registry=https://registry.npmjs.org/\n@acme:registry=https://npm.pkg.github.com/\n//npm.pkg.github.com/:_authToken={t}\n"
                )
            ),
            sent_to("https://npm.pkg.github.com/")
        );
        // Unscoped: the file's default registry.
        assert_eq!(
            registries(
                ".npmrc",
                &format!("registry=https://npm.acme.dev/x\n_authToken={t}\n")
            ),
            sent_to("https://npm.acme.dev/x/")
        );
        // A host that is a variable: attached, never sent.
        assert_eq!(
            registries(".npmrc", &format!("//${{HOST}}/:_authToken={t}\n")),
            vec![Some(None)]
        );
        // Tied to no registry: npm's.
        assert_eq!(
            registries("deploy.sh", &format!("curl -H 'x: {npm}'\n")),
            sent_to(DEFAULT_REGISTRY)
        );
        assert_eq!(
            registries(".env", &format!("NPM_TOKEN={npm}\n")),
            sent_to(DEFAULT_REGISTRY)
        );
        assert_eq!(
            registries(
                "Dockerfile",
                &format!("FROM node:22\nARG NPM_TOKEN={npm}\nRUN npm ci\n")
            ),
            sent_to(DEFAULT_REGISTRY)
        );
        // Not an `npm_` token and nothing names its registry: held, never sent.
        assert_eq!(
            registries(".env", &format!("NPM_TOKEN={t}\n")),
            vec![Some(None)]
        );
        // Yarn Berry: the registry's host; Bun: the scope's URL; Yarn v1: the key's registry.
        assert_eq!(
            registries(
                ".yarnrc.yml",
                &format!("npmRegistryServer: \"https://npm.acme.dev\"\nnpmAuthToken: \"{t}\"\n")
            ),
            sent_to("https://npm.acme.dev/")
        );
        assert_eq!(
            registries(
                "bunfig.toml",
                &format!("[install.scopes]\nacme = {{ url = \"https://npm.acme.dev/r/\", token = \"{t}\" }}\n")
            ),
            sent_to("https://npm.acme.dev/r/")
        );
        assert_eq!(
            registries(
                ".yarnrc",
                &format!("\"//npm.acme.dev/:_authToken\" \"{t}\"\n")
            ),
            sent_to("https://npm.acme.dev/")
        );
    }

    #[test]
    fn override_replaces_the_registry() {
        assert_eq!(
            whoami_url(
                "https://registry.npmjs.org/",
                Some("http://127.0.0.1:9/mirror")
            )
            .as_deref(),
            Some("http://127.0.0.1:9/mirror/-/whoami")
        );
        // An override that is not a plain URL sends nothing.
        assert_eq!(
            whoami_url("https://registry.npmjs.org/", Some("https://a@b/")),
            None
        );
    }

    #[test]
    #[cfg(feature = "verify")]
    fn answers() {
        let r = "http://127.0.0.1:1/";
        let live = interpret(200, r#"{"username":"alice"}"#, r);
        assert_eq!(live.status, Status::Live);
        assert_eq!(live.summary(), "live (user alice)");
        assert_eq!(interpret(401, "", r).status, Status::Invalid);
        assert_eq!(interpret(403, "{}", r).status, Status::Invalid);
        assert_eq!(interpret(500, "", r).status, Status::Unknown);
        assert_eq!(interpret(200, "<html>", r).status, Status::Unknown);
        assert_eq!(interpret(200, "{}", r).status, Status::Invalid);
        assert_eq!(interpret(302, "", r).status, Status::Unknown);
        assert_eq!(
            interpret(200, "{\"username\":\"a\\u001b[31mb\"}", r).user,
            Some("a[31mb".to_owned())
        );
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let c = Credential::for_default_registry("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");
        assert!(!format!("{c:?}").contains("npm_"));
        assert_eq!(c.registry(), Some(DEFAULT_REGISTRY));
    }

    #[test]
    #[cfg(feature = "verify")]
    fn one_request_per_token_and_registry() {
        use crate::finding::{Confidence, Finding, Severity};
        let finding = |secret: &str, registry: Option<&str>| Finding {
            rule: "hardcoded-token",
            severity: Severity::Critical,
            confidence: Confidence::High,
            path: "x".into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            message: String::new(),
            snippet: String::new(),
            suggestion: None,
            fingerprint: String::new(),
            span: 0..0,
            credential: Some(Credential::new(secret, registry.map(str::to_owned))),
            related: Vec::new(),
            verification: None,
            commit: None,
        };
        let mut report = Report {
            findings: vec![
                finding("tok-a", Some("https://registry.npmjs.org/")),
                finding("tok-a", Some("https://registry.npmjs.org/")),
                finding("tok-a", Some("https://npm.pkg.github.com/")),
                finding("tok-b", None),
            ],
            ..Report::default()
        };
        let calls = Mutex::new(Vec::new());
        verify_with(&mut report, &VerifyOptions::default(), |job| {
            if let Ok(mut c) = calls.lock() {
                c.push(job.url.clone());
            }
            interpret(401, "", &job.url)
        });
        let mut calls = calls.into_inner().unwrap_or_default();
        calls.sort();
        assert_eq!(
            calls,
            vec![
                "https://npm.pkg.github.com/-/whoami",
                "https://registry.npmjs.org/-/whoami"
            ]
        );
        let statuses: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.verification.as_ref().map(|v| v.status))
            .collect();
        assert_eq!(
            statuses,
            vec![
                Some(Status::Invalid),
                Some(Status::Invalid),
                Some(Status::Invalid),
                Some(Status::Unknown)
            ]
        );
        assert!(report.findings.iter().all(|f| f.credential.is_none()));
    }
}
