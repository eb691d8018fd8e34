//! What the checks of the npm-style config files (`.npmrc`, `.yarnrc`, `bunfig.toml`, `.env`)
//! share: deciding what a credential value is (literal, placeholder, environment reference),
//! which message fits it, the replacement text and `npm token create` lines they suggest, and
//! the little the project around a file tells (does it use pnpm, Yarn v1).

use std::path::Path;

use crate::finding::{Applicability, Confidence, Draft, Severity, Suggestion};
use crate::token::{self, LiteralKind};

/// Hosts whose tokens are registry.npmjs.org tokens (Yarn's registry is a mirror of npm's).
pub fn is_npmjs_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    matches!(
        host.as_str(),
        "registry.npmjs.org" | "registry.npmjs.com" | "registry.yarnpkg.com" | "yarn.npmjs.org"
    )
}

/// The npm CLI lines for the granular token that replaces a stored one (facts §3). Installs
/// need read-only; a publishing job without trusted publishing gets a stage-only token (§10).
pub const TOKEN_CREATE_INSTALL: &str = "npm token create --name=ci-install --packages-all --packages-and-scopes-permission=read-only --expires=90   # installs of private packages";
pub const TOKEN_CREATE_PUBLISH: &str = crate::advice::PUBLISH_TOKEN_NOTE;
pub const TRUSTED_PUBLISHING: &str = "publishing from GitHub Actions, GitLab CI or CircleCI: use trusted publishing (OIDC), no stored token: https://docs.npmjs.com/trusted-publishers";
pub const REVOKE: &str = "npm token revoke <token-id>   # first: `npm token list` shows the id; then remove the token from the git history";

/// Notes for replacing a credential of `host` (None: the default registry, registry.npmjs.org).
pub fn replacement_notes(host: Option<&str>, var: &str, live_npm_token: bool) -> Vec<String> {
    let mut notes = Vec::new();
    // An `npm_` token is npm's own whatever registry the file sends it to: npm revokes it.
    match host {
        Some(h) if !is_npmjs_host(h) && !live_npm_token => {
            notes.push(format!(
                "rotate this credential in {h}'s own administration: it is that registry's token, `npm token` does not manage it"
            ));
            notes.push(format!(
                "store the new one as a CI secret exposed as the environment variable {var}"
            ));
        }
        _ => {
            if live_npm_token {
                notes.push(REVOKE.to_owned());
            }
            notes.push(TOKEN_CREATE_INSTALL.to_owned());
            notes.push(TOKEN_CREATE_PUBLISH.to_owned());
            notes.push(format!(
                "store the new token as a CI secret exposed as the environment variable {var}"
            ));
            notes.push(TRUSTED_PUBLISHING.to_owned());
        }
    }
    notes
}

/// The environment variable a suggestion reads a registry's token from: `NPM_TOKEN` for
/// registry.npmjs.org, `<NAME>_NPM_TOKEN` for another registry, named after its domain, so
/// two registries in one file never end up sharing one variable.
pub fn token_var_for(host: Option<&str>) -> String {
    match host.and_then(registry_label) {
        Some(label) => format!("{label}_NPM_TOKEN"),
        None => "NPM_TOKEN".to_owned(),
    }
}

/// `ACME` for `npm.acme.dev`, `GITHUB` for `npm.pkg.github.com`; None for npm's own registry
/// or a host that is itself a variable.
fn registry_label(host: &str) -> Option<String> {
    if is_npmjs_host(host) || host.contains('$') || host.is_empty() {
        return None;
    }
    let host = host.split(':').next().unwrap_or(host);
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    let pick = match labels.as_slice() {
        [] => return None,
        [one] => *one,
        [.., sld, _tld] => *sld,
    };
    let label: String = pick
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    (!label.is_empty()).then_some(label)
}

/// Values people commit in place of a credential: `<token>`, `YOUR_TOKEN_HERE`, `xxxx`,
/// `changeme`. Reporting those would drown the real findings.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() {
        return true;
    }
    // An escaped or malformed reference (`\${NPM_TOKEN}`) is a broken placeholder, not a secret.
    if v.contains("${") {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    if (v.starts_with('<') && v.ends_with('>')) || (v.starts_with('[') && v.ends_with(']')) {
        return true;
    }
    const WORDS: [&str; 14] = [
        "xxxx",
        "your",
        "placeholder",
        "changeme",
        "change_me",
        "change-me",
        "example",
        "redacted",
        "insert",
        "replace",
        "todo",
        "dummy",
        "fake",
        "****",
    ];
    if WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // A bare variable name (`NPM_TOKEN`) is a forgotten `${…}`, not a secret.
    if v.len() >= 3
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return true;
    }
    v.len() < 6 || token::shannon_entropy(v) < 2.0
}

/// How a literal in a token position is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenVerdict {
    pub message_key: &'static str,
    pub severity: Option<Severity>,
    pub confidence: Option<Confidence>,
    /// An `npm_` token that may still work: suggest revoking it.
    pub live_npm_token: bool,
}

impl TokenVerdict {
    /// The `hardcoded-token` finding at `span`: the verdict's message, and the severity and
    /// confidence it overrides.
    pub fn draft(&self, span: crate::source::Span) -> Draft {
        let mut draft = Draft::at("hardcoded-token", span).message_key(self.message_key);
        if let Some(severity) = self.severity {
            draft = draft.severity(severity);
        }
        if let Some(confidence) = self.confidence {
            draft = draft.confidence(confidence);
        }
        draft
    }
}

/// Decides what a literal in a token position (`_authToken`, `npmAuthToken`, bunfig `token`,
/// `NPM_TOKEN=`) is. `host` is the registry it is for (None: unknown). None: not a credential
/// worth reporting (a placeholder).
pub fn token_verdict(value: &str, host: Option<&str>) -> Option<TokenVerdict> {
    // Quotes npm keeps as part of the value (`"npm_…" ; comment`) do not change what the token is.
    let value = value.trim().trim_matches(['"', '\'']);
    let on_npmjs = host.is_none_or(is_npmjs_host);
    match token::classify_literal(value) {
        LiteralKind::NpmToken => Some(TokenVerdict {
            message_key: "npm-token",
            severity: None,
            confidence: None,
            live_npm_token: true,
        }),
        LiteralKind::NpmTokenBadChecksum => {
            let body = value.get(4..).unwrap_or("");
            (token::shannon_entropy(body) >= 3.0).then_some(TokenVerdict {
                message_key: "npm-token-bad-checksum",
                severity: None,
                confidence: Some(Confidence::Low),
                live_npm_token: false,
            })
        }
        // A UUID can only be a pre-2021 classic token on npm's registry, and npm revoked every
        // classic token on 2025-12-09: it no longer works there. The same shape elsewhere is
        // another registry's own (live) token.
        LiteralKind::Uuid if on_npmjs && !token::is_nexus_token(value) => Some(TokenVerdict {
            message_key: if host.is_some() {
                "classic-token"
            } else {
                "classic-token-unknown-registry"
            },
            severity: Some(if host.is_some() {
                Severity::Medium
            } else {
                Severity::High
            }),
            confidence: None,
            live_npm_token: false,
        }),
        LiteralKind::Uuid => Some(TokenVerdict {
            message_key: "registry-token",
            severity: None,
            confidence: None,
            live_npm_token: false,
        }),
        LiteralKind::Other => (!is_placeholder(value)).then_some(TokenVerdict {
            message_key: if on_npmjs {
                "literal"
            } else {
                "registry-literal"
            },
            severity: None,
            confidence: Some(Confidence::Medium),
            live_npm_token: false,
        }),
    }
}

/// The suggestion for a literal token: the value replaced by a reference (unsafe: the variable
/// must be set wherever the file is used), with the token lines.
pub fn replace_token_suggestion(
    span: crate::source::Span,
    reference: &str,
    host: Option<&str>,
    var: &str,
    live_npm_token: bool,
) -> Suggestion {
    let mut s = Suggestion::new(
        format!("Read the token from the environment variable {var}"),
        Applicability::Unsafe,
    )
    .edit(span, reference);
    for n in replacement_notes(host, var, live_npm_token) {
        s = s.note(n);
    }
    s
}

/// The span of a whole line including its terminator, for deleting it.
pub fn line_with_terminator(text: &str, line: &crate::source::Span) -> crate::source::Span {
    let mut end = line.end;
    let bytes = text.as_bytes();
    if bytes.get(end) == Some(&b'\r') {
        end += 1;
    }
    if bytes.get(end) == Some(&b'\n') {
        end += 1;
    }
    line.start..end
}

/// `//host/path/` for a registry URL, the way npm keys credentials (`nerf-dart`): scheme,
/// user info, query and fragment dropped, and a trailing `/` so npm's lookup (which walks up
/// from the package URL) finds it.
pub fn nerf_dart(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("//"))?;
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let rest = rest.get(..end)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if host.is_empty() {
        return None;
    }
    let mut path = path.to_owned();
    if !path.ends_with('/') {
        path.push('/');
    }
    Some(format!("//{host}{path}"))
}

/// Host (with port) of a registry URL.
pub fn url_host(url: &str) -> Option<String> {
    nerf_dart(url).and_then(|d| {
        d.strip_prefix("//")
            .and_then(|r| r.split('/').next())
            .map(str::to_owned)
    })
}

/// A version triple `11.5.3` from `pnpm@11.5.3+sha512…` or `11.5.3-rc.1`.
fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.split(['+', '-']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
        parts.next().flatten().unwrap_or(0),
    ))
}

/// What the project around a config file says about the package manager that reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectContext {
    /// pnpm is in use: a `pnpm-lock.yaml`/`pnpm-workspace.yaml`, or `packageManager: pnpm@…`.
    pub pnpm: bool,
    /// The pnpm version from `package.json`'s `packageManager`, when pinned.
    pub pnpm_version: Option<String>,
    /// A `yarn.lock` written by Yarn v1 (which still honours `always-auth` from `.npmrc`).
    pub yarn_v1: bool,
}

impl ProjectContext {
    /// Does the project's pnpm ignore `${…}` credentials in a project `.npmrc`
    /// (pnpm 11.5.3+, advisory GHSA-3qhv-2rgh-x77r)? `Some(true)`: pinned to such a version;
    /// `Some(false)`: pinned to an older one; None: pnpm in use, version unknown.
    pub fn pnpm_ignores_env_credentials(&self) -> Option<bool> {
        let v = self.pnpm_version.as_deref().and_then(parse_version)?;
        Some(v >= (11, 5, 3))
    }

    /// Looks at the folder of `config` and its parents up to the repository root (the first
    /// folder with a `.git`), so a config is judged by the project it belongs to.
    pub fn for_config(config: &Path) -> ProjectContext {
        let mut ctx = ProjectContext::default();
        let mut dir = config.parent();
        let mut found_package_json = false;
        // Bounded: a real project tree is never this deep, and a symlink loop cannot trap us.
        for _ in 0..32 {
            let Some(d) = dir else { break };
            let d = if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            };
            if d.join("pnpm-lock.yaml").is_file() || d.join("pnpm-workspace.yaml").is_file() {
                ctx.pnpm = true;
            }
            if !found_package_json {
                if let Some(pm) = package_manager(&d.join("package.json")) {
                    found_package_json = true;
                    if let Some(v) = pm.strip_prefix("pnpm@") {
                        ctx.pnpm = true;
                        ctx.pnpm_version = Some(v.to_owned());
                    }
                }
            }
            if !ctx.yarn_v1 {
                ctx.yarn_v1 = is_yarn_v1_lock(&d.join("yarn.lock"));
            }
            if d.join(".git").exists() {
                break;
            }
            dir = d.parent();
        }
        ctx
    }
}

/// `packageManager` of a `package.json`, if the file exists and names one.
fn package_manager(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("packageManager")?.as_str().map(str::to_owned)
}

/// Yarn v1 lockfiles say so in their header comment; Berry's are YAML with `__metadata`.
fn is_yarn_v1_lock(path: &Path) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = String::new();
    let _ = file.take(512).read_to_string(&mut head);
    head.contains("yarn lockfile v1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nerf_darts() {
        assert_eq!(
            nerf_dart("https://registry.npmjs.org").as_deref(),
            Some("//registry.npmjs.org/")
        );
        assert_eq!(
            nerf_dart("https://u:p@nexus.acme.dev:8081/repository/npm-group?x=1").as_deref(),
            Some("//nexus.acme.dev:8081/repository/npm-group/")
        );
        assert_eq!(nerf_dart("not a url"), None);
        assert_eq!(
            url_host("https://npm.pkg.github.com/").as_deref(),
            Some("npm.pkg.github.com")
        );
    }

    #[test]
    fn variable_names_per_registry() {
        assert_eq!(token_var_for(None), "NPM_TOKEN");
        assert_eq!(token_var_for(Some("registry.npmjs.org")), "NPM_TOKEN");
        assert_eq!(
            token_var_for(Some("npm.pkg.github.com")),
            "GITHUB_NPM_TOKEN"
        );
        assert_eq!(token_var_for(Some("localhost:4873")), "LOCALHOST_NPM_TOKEN");
        assert_eq!(token_var_for(Some("${HOST}")), "NPM_TOKEN");
    }

    #[test]
    fn placeholders() {
        for p in [
            "<token>",
            "YOUR_TOKEN_HERE",
            "xxxxxxxx",
            "NPM_TOKEN",
            "changeme",
            "",
            "abc",
            "\\${NPM_TOKEN}",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for real in ["s3cr3t-T0ken-9f8e7d", "aGVsbG86d29ybGQ="] {
            assert!(!is_placeholder(real), "{real}");
        }
    }

    #[test]
    fn verdicts() {
        let uuid = "a73c9572-f1b9-8983-983d-ba3ac3cc913d";
        assert_eq!(
            token_verdict(uuid, Some("registry.npmjs.org")).map(|v| v.message_key),
            Some("classic-token")
        );
        assert_eq!(
            token_verdict(uuid, Some("nexus.acme.dev")).map(|v| v.message_key),
            Some("registry-token")
        );
        let v = token_verdict("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", None).unwrap();
        assert!(v.live_npm_token);
        assert_eq!(
            token_verdict("npm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", None),
            None
        );
        assert_eq!(
            token_verdict("s3cr3t-T0ken-9f8e7d6c", None).map(|v| v.message_key),
            Some("literal")
        );
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("11.5.3+sha512.abc"), Some((11, 5, 3)));
        assert_eq!(parse_version("10"), Some((10, 0, 0)));
        let ctx = ProjectContext {
            pnpm: true,
            pnpm_version: Some("11.6.0".into()),
            yarn_v1: false,
        };
        assert_eq!(ctx.pnpm_ignores_env_credentials(), Some(true));
        let ctx = ProjectContext {
            pnpm_version: Some("10.12.1".into()),
            ..ctx
        };
        assert_eq!(ctx.pnpm_ignores_env_credentials(), Some(false));
    }
}
