//! What the steps of a GitHub job put into the environment of later steps and into step
//! outputs: `echo "NAME=value" >> "$GITHUB_ENV"` / `$GITHUB_OUTPUT` in a `run:` script, and
//! the secret-manager actions that fetch a credential at run time (Vault, AWS Secrets Manager
//! and SSM, Akeyless, 1Password, Doppler, Bitwarden, Infisical, Google Secret Manager, Azure
//! Key Vault, Conjur).
//!
//! A credential fetched that way is stored somewhere, with a lifetime this repository does not
//! show: [`fetched`] names it as a stored credential whose display says where it comes from,
//! so the rules report it (at medium confidence) instead of treating the job as opaque. Values
//! that are short-lived by construction (`GITHUB_TOKEN`, an OIDC ID token, a cloud registry
//! token minted for the job) are [`Source::ShortLived`].

use std::sync::LazyLock;

use regex::Regex;

use crate::parse::yaml::Node;
use crate::source::Span;

use super::{Action, Source, Step};

/// Separates a fetched credential's name from what filled it, in its display.
const FILLED_BY: &str = " filled by ";

/// A credential an earlier step fetched: `name` is how the consumer reads it (`env.NPM_TOKEN`,
/// `steps.vault.outputs.token`), `by` what filled it.
pub fn fetched(name: &str, by: &str) -> Source {
    Source::Stored(format!("{name}{FILLED_BY}{by}"))
}

/// `(name, by)` of a display made by [`fetched`].
pub fn split_fetched(display: &str) -> Option<(&str, &str)> {
    display.split_once(FILLED_BY)
}

/// One value a step makes available to later steps.
#[derive(Debug, Clone)]
pub struct Fill {
    /// The environment variable set for later steps (`*`: every name, for actions that export
    /// all the secrets of a project).
    pub env: Option<String>,
    /// The output set, as `(step id, output name)` (`*` as the name: every output).
    pub output: Option<(String, String)>,
    pub source: Source,
    /// The line writing it, or the action's `uses:`.
    pub span: Span,
}

impl Fill {
    /// The source as a consumer reading it under `name` sees it.
    fn seen_as(&self, name: &str) -> Source {
        match &self.source {
            Source::Stored(s) => match split_fetched(s) {
                Some((_, by)) => fetched(name, by),
                None => self.source.clone(),
            },
            s => s.clone(),
        }
    }
}

/// Looks `key` up among the fills of earlier steps: `steps.ID.outputs.NAME` in their outputs,
/// anything else as an environment variable. The latest step wins.
pub fn resolve(fills: &[Fill], key: &str) -> Option<Source> {
    if let Some(rest) = key.strip_prefix("steps.") {
        let (id, name) = rest.split_once(".outputs.")?;
        return fills.iter().rev().find_map(|f| {
            let (fid, fname) = f.output.as_ref()?;
            (fid == id && (fname == name || fname == "*"))
                .then(|| f.seen_as(&format!("steps.{id}.outputs.{name}")))
        });
    }
    fills
        .iter()
        .rev()
        .find(|f| f.env.as_deref() == Some(key))
        .or_else(|| fills.iter().rev().find(|f| f.env.as_deref() == Some("*")))
        .map(|f| f.seen_as(&format!("env.{key}")))
}

static WRITE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)^[ \t]*echo[ \t]+(?:-[a-z]+[ \t]+)*["']?([A-Za-z_][A-Za-z0-9_]*)=(.*?)["']?[ \t]*>>[ \t]*["']?\$\{?(GITHUB_ENV|GITHUB_OUTPUT)\}?["']?[ \t]*$"#,
    )
    .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Text in a value that makes it short-lived: the job's GitHub token, an OIDC ID token or its
/// exchange, a cloud registry token minted for the job.
const SHORT_LIVED_MARKS: &[&str] = &[
    "GITHUB_TOKEN",
    "github.token",
    "ACTIONS_ID_TOKEN",
    "getIDToken",
    "oidc",
    "id-token",
    "codeartifact get-authorization-token",
    "gcloud auth print-access-token",
    "az account get-access-token",
];

/// The fills of one step. `id` and `label` are the step's `id:` and its `name:` (or id).
pub fn step_fills(
    step: &Step,
    id: Option<&str>,
    label: &str,
    earlier: &[Fill],
    resolve_env: &dyn Fn(&str) -> Option<Source>,
) -> Vec<Fill> {
    let mut out = Vec::new();
    for script in &step.scripts {
        let value = script.scalar.value();
        if !value.contains("GITHUB_ENV") && !value.contains("GITHUB_OUTPUT") {
            continue;
        }
        for c in WRITE.captures_iter(value) {
            let (Some(whole), Some(name), Some(v), Some(target)) =
                (c.get(0), c.get(1), c.get(2), c.get(3))
            else {
                continue;
            };
            let to_env = target.as_str() == "GITHUB_ENV";
            let by = format!("a `${}` write in step `{label}`", target.as_str());
            let source = written_source(v.as_str(), value, &by, earlier, resolve_env);
            let span = script.scalar.to_source(whole.range());
            out.push(Fill {
                env: to_env.then(|| name.as_str().to_string()),
                output: (!to_env)
                    .then(|| id.map(|i| (i.to_string(), name.as_str().to_string())))
                    .flatten(),
                source,
                span,
            });
        }
    }
    if let Some(a) = &step.action {
        action_fills(a, step, id, &mut out);
    }
    out
}

/// Where a value written to `$GITHUB_ENV`/`$GITHUB_OUTPUT` comes from. `script` is the whole
/// script, where a shell variable the value reads may be assigned.
fn written_source(
    value: &str,
    script: &str,
    by: &str,
    earlier: &[Fill],
    resolve_env: &dyn Fn(&str) -> Option<Source>,
) -> Source {
    if SHORT_LIVED_MARKS.iter().any(|m| value.contains(m)) {
        return Source::ShortLived;
    }
    let resolve = |n: &str| resolve_env(n).or_else(|| resolve(earlier, n));
    let exprs = super::expressions(super::System::GithubWorkflow, value);
    for e in &exprs {
        if e.source.is_stored() {
            return e.source.clone();
        }
        if let Some(s) = e.env_name.as_deref().and_then(resolve) {
            return s;
        }
    }
    // `$VAR` the step's `env:` sets, or the script assigns from a command's output
    // (`token=$(vault kv get ...)`).
    let mut computed = value.contains("$(") || value.contains('`');
    for r in crate::token::env_refs(value) {
        if let Some(s) = resolve_env(&r.name) {
            return s;
        }
        computed |= assigned_from_command(script, &r.name);
    }
    if computed {
        return Source::Stored(format!("{FILLED_BY}{by}"));
    }
    // A literal (reported as one when it is a real token), a flag set by the script
    // (`HAS_NPM_TOKEN=true`), a non-secret expression (`${{ github.ref_name }}`).
    Source::Other
}

/// The script assigns `name` from a command substitution: `name=$(...)`, `name="$(...)"`,
/// `export name=$(...)`.
fn assigned_from_command(script: &str, name: &str) -> bool {
    script.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        line.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
            .map(|v| v.trim_start_matches(['"', '\'']))
            .is_some_and(|v| v.starts_with("$(") || v.starts_with('`'))
    })
}

/// Secret managers fetch what they hold: stored credentials of unknown lifetime.
fn action_fills(a: &Action, step: &Step, id: Option<&str>, out: &mut Vec<Fill>) {
    let by = match id {
        Some(id) => format!("{} (step `{id}`)", a.name),
        None => a.name.clone(),
    };
    let source = Source::Stored(format!("{FILLED_BY}{by}"));
    let mut push = |env: Option<String>, output: Option<String>| {
        out.push(Fill {
            env,
            output: output.and_then(|o| id.map(|i| (i.to_string(), o))),
            source: source.clone(),
            span: a.span.clone(),
        });
    };
    let input = |n: &str| a.input(n).map(|i| i.value.text.as_str());
    let off = |n: &str| input(n).is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
    let on = |n: &str| input(n).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    match a.name.as_str() {
        "hashicorp/vault-action" => {
            // `path key | NAME ;`: NAME (or the key) is the output; the variable is NAME, or the
            // key upper-cased.
            for entry in input("secrets").unwrap_or("").split([';', '\n']) {
                let (path, name) = match entry.split_once('|') {
                    Some((p, n)) => (p, Some(n.trim().to_string())),
                    None => (entry, None),
                };
                let Some(key) = path.split_whitespace().nth(1) else {
                    continue;
                };
                let output = name.clone().unwrap_or_else(|| key.to_string());
                let env = name.unwrap_or_else(|| env_name(key));
                push((!off("exportEnv")).then_some(env), Some(output));
            }
        }
        "aws-actions/aws-secretsmanager-get-secrets" => {
            for line in input("secret-ids").unwrap_or("").lines() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let env = match line.split_once(',') {
                    Some((alias, _)) => alias.trim().to_string(),
                    None if line.contains('*') => "*".to_string(),
                    None => env_name(line.rsplit(':').next().unwrap_or(line)),
                };
                push(Some(env), None);
            }
        }
        "dkershner6/aws-ssm-getparameters-action" => {
            for pair in input("parameterPairs").unwrap_or("").split([',', '\n']) {
                if let Some((_, name)) = pair.split_once('=') {
                    push(Some(name.trim().to_string()), None);
                }
            }
        }
        "marvinpinto/action-inject-ssm-secrets" => {
            if let Some(name) = input("env_variable_name") {
                push(Some(name.trim().to_string()), None);
            }
        }
        "akeyless-community/akeyless-github-action" => {
            // `static-secrets: '{"/path/to/secret": "NPM_TOKEN"}'`; dynamic secrets are
            // short-lived by design and not counted.
            let text = input("static-secrets").unwrap_or("");
            let names: Vec<String> = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| {
                    v.as_object().map(|o| {
                        o.values()
                            .filter_map(|n| n.as_str())
                            .map(str::to_string)
                            .collect()
                    })
                })
                .unwrap_or_default();
            for name in names {
                let env = (!off("export-secrets-to-environment")).then(|| name.clone());
                let output = (!off("export-secrets-to-outputs")).then_some(name);
                push(env, output);
            }
        }
        "1password/load-secrets-action" => {
            for var in step
                .env
                .iter()
                .filter(|v| v.value.text.trim().starts_with("op://"))
            {
                push(
                    on("export-env").then(|| var.name.clone()),
                    Some(var.name.clone()),
                );
            }
        }
        "dopplerhq/secrets-fetch-action" => {
            push(
                on("inject-env-vars").then(|| "*".to_string()),
                Some("*".to_string()),
            );
        }
        "infisical/secrets-action" => {
            let output = input("export-type").is_some_and(|t| t.trim() == "output");
            push(
                (!output).then(|| "*".to_string()),
                output.then(|| "*".to_string()),
            );
        }
        "bitwarden/sm-action" => {
            for line in input("secrets").unwrap_or("").lines() {
                if let Some((_, name)) = line.split_once('>') {
                    let name = name.trim().to_string();
                    push(Some(name.clone()), Some(name));
                }
            }
        }
        "cyberark/conjur-action" => {
            for entry in input("secrets").unwrap_or("").split([';', '\n']) {
                if let Some((_, name)) = entry.split_once('|') {
                    push(Some(name.trim().to_string()), None);
                }
            }
        }
        "google-github-actions/get-secretmanager-secrets" => {
            for line in input("secrets").unwrap_or("").lines() {
                if let Some((name, _)) = line.split_once(':') {
                    push(None, Some(name.trim().to_string()));
                }
            }
        }
        "azure/get-keyvault-secrets" => {
            for name in input("secrets").unwrap_or("").split(',') {
                let name = name.trim();
                if !name.is_empty() && name != "*" {
                    push(None, Some(name.to_string()));
                } else if name == "*" {
                    push(None, Some("*".to_string()));
                }
            }
        }
        "actions/create-github-app-token" | "tibdex/github-app-token" => {
            // A GitHub App installation token: one hour.
            out.push(Fill {
                env: None,
                output: id.map(|i| (i.to_string(), "token".to_string())),
                source: Source::ShortLived,
                span: a.span.clone(),
            });
        }
        _ => {}
    }
}

/// A secret key as an environment variable name: upper case, non-alphanumerics as `_`.
fn env_name(key: &str) -> String {
    let key = key.rsplit('/').next().unwrap_or(key);
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The `id:` and a label (`name:`, else the id, else `run`) of a step node.
pub fn step_label(node: &Node) -> (Option<String>, String) {
    let id = node.get("id").and_then(Node::as_str).map(str::to_string);
    let label = node
        .get("name")
        .and_then(Node::as_str)
        .map(str::to_string)
        .or(id.clone())
        .unwrap_or_else(|| "run".to_string());
    (id, label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetched_displays_round_trip() {
        let Source::Stored(d) = fetched("env.NPM_TOKEN", "hashicorp/vault-action (step `vault`)")
        else {
            unreachable!()
        };
        assert_eq!(
            split_fetched(&d),
            Some(("env.NPM_TOKEN", "hashicorp/vault-action (step `vault`)"))
        );
        assert_eq!(split_fetched("secrets.NPM_TOKEN"), None);
    }

    #[test]
    fn only_computed_values_are_fetched() {
        let none = |_: &str| None;
        let src = |v: &str, script: &str| written_source(v, script, "by", &[], &none);
        assert_eq!(
            src(
                "${HAS_NPM_TOKEN}",
                "if [ -n x ]; then HAS_NPM_TOKEN='true'; fi"
            ),
            Source::Other
        );
        assert_eq!(src("abcdefgh12345", ""), Source::Other);
        assert_eq!(src("${{ github.ref_name }}", ""), Source::Other);
        assert!(matches!(
            src("$t", "t=$(vault kv get -field=t ci/npm)"),
            Source::Stored(_)
        ));
        assert!(matches!(
            src("$(op read op://ci/npm/token)", ""),
            Source::Stored(_)
        ));
        assert_eq!(
            src("${{ secrets.NPM_TOKEN }}", ""),
            Source::Stored("secrets.NPM_TOKEN".into())
        );
        assert_eq!(src("${{ secrets.GITHUB_TOKEN }}", ""), Source::ShortLived);
        assert_eq!(
            src("$(aws codeartifact get-authorization-token --domain d --query authorizationToken --output text)", ""),
            Source::ShortLived
        );
    }

    #[test]
    fn env_names_of_secret_keys() {
        assert_eq!(env_name("npm-token"), "NPM_TOKEN");
        assert_eq!(env_name("ci/npm.token"), "NPM_TOKEN");
    }
}
