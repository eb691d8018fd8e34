//! `ci-token-written-to-npmrc`: a CI script writing the token's value into a config file,
//! where later steps, caches and artifacts can read it.

use super::*;

pub(super) const NPMRC: &str = "ci-token-written-to-npmrc";

/// Token writes into config files; a write the job's publish rewrite already removes gets that
/// rewrite's note instead of an edit of its own, so one `--fix` settles both.
pub(super) fn emit_writes(
    ctx: &mut FileCtx<'_>,
    system: System,
    job: &Job,
    steps: &[StepFacts],
    superseded: &[Span],
    seen: &mut Seen,
    reported: &mut HashSet<(usize, usize)>,
) {
    for sf in steps {
        for w in &sf.facts.auth_writes {
            if !matches!(w.token.source, Source::Stored(_) | Source::Literal) || w.token.placeholder
            {
                continue;
            }
            reported.insert((w.token.span.start, w.token.span.end));
            let suggestion = if superseded.contains(&w.span) {
                Suggestion::new(
                    "Removed by the publish job's rewrite (trusted publishing needs no token file)",
                    Applicability::Manual,
                )
                .note("apply the suggestion of the job's publish finding: it deletes this write")
            } else {
                npmrc_suggestion(system, w, ctx.text)
            };
            let mut draft = Draft::at(NPMRC, w.span.clone());
            if system.tailored_npmrc_advice() {
                draft = draft.message_key("system").arg("system", system.display());
            }
            let draft = draft
                .arg("target", w.target.clone())
                .arg("token", w.token.display.clone())
                .arg("job", job.name.clone())
                .suggestion(suggestion)
                .identity(format!("{} {}", job.name, w.token.display));
            // One report per location: a template shared by several jobs is one line to fix.
            seen.emit(ctx, draft, "");
        }
    }
}

/// `text`: the CI file, for the variable, registry key and quoting the write uses.
pub(super) fn npmrc_suggestion(system: System, w: &AuthWrite, text: &str) -> Suggestion {
    let written = text.get(w.token.span.clone());
    // Drone, Woodpecker and Buildkite would substitute `${NPM_TOKEN}` themselves (with nothing):
    // `$${NPM_TOKEN}` reaches the shell as `${NPM_TOKEN}`.
    let escape = |text: &str| {
        if system.substitutes_dollar() {
            text.replace("${", "$${")
        } else {
            text.to_string()
        }
    };
    match &w.placeholder {
        Some((span, replacement)) => Suggestion::new(
            "Write a ${VAR} placeholder that npm expands when it reads the file",
            Applicability::Unsafe,
        )
        .edit(span.clone(), escape(replacement))
        .note("the variable must be set in the environment of every later npm command (npm expands `${VAR}` in .npmrc; pnpm >= 11.5.3 does not in a project .npmrc, use ~/.npmrc there)"),
        None if system.is_github() => {
            // Another registry's token (GitHub Packages, a private mirror) stays that
            // registry's: setup-node writes the .npmrc for its host, and OIDC is npm's only.
            let host = w.host.as_deref().filter(|h| !is_npm_registry(h));
            let url = host.map_or("https://registry.npmjs.org".to_string(), |h| {
                format!("https://{h}")
            });
            let named = w
                .token
                .display
                .trim_start_matches("secrets.")
                .trim_start_matches('$');
            let secret = match host {
                Some(_) if named.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => named,
                Some(_) => "REGISTRY_TOKEN",
                None => "NPM_READ_TOKEN",
            };
            let s = Suggestion::new(
                "Let actions/setup-node write the .npmrc and pass the token only to the step that needs it",
                Applicability::Manual,
            )
            .note(format!("- uses: actions/setup-node@v6\n  with:\n    registry-url: '{url}'\n- run: npm ci\n  env:\n    NODE_AUTH_TOKEN: ${{{{ secrets.{secret} }}}}"));
            if host.is_some() {
                s
            } else {
                s.note("for publishing, use trusted publishing (no token at all): https://docs.npmjs.com/trusted-publishers")
            }
        }
        None if system.tailored_npmrc_advice() => {
            // Jenkins, Drone, Woodpecker, Buildkite, OneDev: the same variable, host and file.
            let var = written
                .and_then(variable_of)
                .or_else(|| variable_of(&w.token.display))
                .unwrap_or("NPM_TOKEN");
            // The registry key as the command writes it (`//nexus.example/repository/npm/`),
            // else from its host; a host read out of a printf format (`...npmjs.org\n//...`)
            // ends at its escape.
            let key = text
                .get(w.span.clone())
                .and_then(|command| AUTH_KEY.captures(command))
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
                .or_else(|| {
                    w.host
                        .as_deref()
                        .map(|h| h.split('\\').next().unwrap_or(h).trim_end_matches('/'))
                        .filter(|h| !h.is_empty())
                        .map(|h| format!("//{h}/"))
                })
                .unwrap_or_else(|| "//registry.npmjs.org/".into());
            // `$HOME/.npmrc` would be substituted by some systems before the shell sees it.
            let target = if w.target.contains("npmrc") && !w.target.contains('$') {
                w.target.as_str()
            } else {
                "~/.npmrc"
            };
            let line = format!("{key}:_authToken=${{{var}}}");
            let s = Suggestion::new(
                format!("Keep the token out of files: write `{line}` literally (single quotes), for npm to expand"),
                Applicability::Manual,
            );
            if system == System::Jenkins {
                // In `'''...'''` Groovy leaves `${...}` alone; the shell's single quotes keep it
                // literal, so only npm expands it, from the credential binding's variable.
                let s = s.note(format!("sh '''echo '{line}' > {target}'''"));
                if groovy_interpolates(text, &w.token.span) {
                    s.note("here Groovy itself interpolates the secret into the command (a double-quoted string), which Jenkins warns about: write scripts that read a credential in single quotes and let the shell or npm expand the variable")
                } else {
                    s
                }
            } else if system == System::OneDev {
                // OneDev substitutes `@secret:x@` into the command itself; an environment variable
                // of the step keeps the value out of the command and the file.
                let secret = w
                    .token
                    .display
                    .strip_prefix("@secret:")
                    .and_then(|d| d.strip_suffix('@'))
                    .unwrap_or("npm_token");
                // OneDev's own package registry takes the job token in front of the secret.
                let job_token = if text[..w.token.span.start.min(text.len())].ends_with("@job_token@:") {
                    "@job_token@:"
                } else {
                    ""
                };
                s.note(format!("echo '{line}' > {target}"))
                    .note(format!("with the secret as a variable of the step:\nenvVars:\n- name: {var}\n  value: '{job_token}@secret:{secret}@'"))
            } else {
                s.note(escape(&format!("echo '{line}' > {target}")))
            }
        }
        None => {
            // Another registry's token keeps its host; the variable is the one written.
            let host = w
                .host
                .as_deref()
                .filter(|h| !is_npm_registry(h))
                .unwrap_or("registry.npmjs.org");
            let var = written
                .and_then(variable_of)
                .or_else(|| variable_of(&w.token.display))
                .unwrap_or("NPM_TOKEN");
            Suggestion::new(
                format!("Keep the token out of files: write `//{host}/:_authToken=${{{var}}}` literally (single quotes)"),
                Applicability::Manual,
            )
            .note(escape(&format!("echo '//{host}/:_authToken=${{{var}}}' > ~/.npmrc")))
        }
    }
}

/// `NPM_TOKEN` of `$NPM_TOKEN`, `${NPM_TOKEN}`, `$${NPM_TOKEN}`, `${env.NPM_TOKEN}`, `@secret:x@`
/// gives none (OneDev secrets are no variables).
fn variable_of(text: &str) -> Option<&str> {
    let t = text.trim().trim_start_matches('$').trim_start_matches('{');
    let t = t.strip_prefix("env.").unwrap_or(t).trim_end_matches('}');
    (!t.is_empty()
        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !t.starts_with(|c: char| c.is_ascii_digit()))
    .then_some(t)
}

/// `//host/path/` of a `//host/path/:_authToken` setting in a command.
static AUTH_KEY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(//[A-Za-z0-9.\-]+(?::[0-9]+)?/(?:[A-Za-z0-9._~\-]+/)*):_auth[Tt]oken")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Whether `span` of a Jenkinsfile is a `$name`/`${...}` that Groovy interpolates: inside a
/// double-quoted (or slashy) string and not escaped as `\$`.
fn groovy_interpolates(text: &str, span: &Span) -> bool {
    let Ok(tokens) = crate::parse::groovy::tokenize(text) else {
        return false;
    };
    let escaped = span.start > 0 && text.as_bytes().get(span.start - 1) == Some(&b'\\');
    text.get(span.clone()).is_some_and(|t| t.starts_with('$'))
        && !escaped
        && tokens.iter().filter_map(|t| t.string()).any(|s| {
            s.delim.interpolates() && s.content.start <= span.start && span.end <= s.content.end
        })
}
