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
                npmrc_suggestion(system, w)
            };
            let draft = Draft::at(NPMRC, w.span.clone())
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

pub(super) fn npmrc_suggestion(system: System, w: &AuthWrite) -> Suggestion {
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
        None => {
            let (host, var) = match w.host.as_deref().filter(|h| !is_npm_registry(h)) {
                Some(h) => (h, "REGISTRY_TOKEN"),
                None => ("registry.npmjs.org", "NPM_TOKEN"),
            };
            Suggestion::new(
                format!("Keep the token out of files: write `//{host}/:_authToken=${{{var}}}` literally (single quotes)"),
                Applicability::Manual,
            )
            .note(escape(&format!("echo '//{host}/:_authToken=${{{var}}}' > ~/.npmrc")))
        }
    }
}
