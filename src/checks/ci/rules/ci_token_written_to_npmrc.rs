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
                npmrc_suggestion(system, w, ctx.text.get(w.token.span.clone()))
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

/// `written`: the text of the token use in the file (`$NODE_AUTH_TOKEN`, `${env.NPM_TOKEN}`), to
/// name the same variable in the rewrite.
pub(super) fn npmrc_suggestion(system: System, w: &AuthWrite, written: Option<&str>) -> Suggestion {
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
        None if system.is_github() => Suggestion::new(
            "Let actions/setup-node write the .npmrc and pass the token only to the step that needs it",
            Applicability::Manual,
        )
        .note("- uses: actions/setup-node@v6\n  with:\n    registry-url: 'https://registry.npmjs.org'\n- run: npm ci\n  env:\n    NODE_AUTH_TOKEN: ${{ secrets.NPM_READ_TOKEN }}")
        .note("for publishing, use trusted publishing (no token at all): https://docs.npmjs.com/trusted-publishers"),
        None if system.tailored_npmrc_advice() => {
            // Jenkins, Drone, Woodpecker, Buildkite, OneDev: the same variable, host and file.
            let var = written
                .and_then(variable_of)
                .or_else(|| variable_of(&w.token.display))
                .unwrap_or("NPM_TOKEN");
            // A host read out of a printf format (`...npmjs.org\n//...`) ends at its escape.
            let host = w
                .host
                .as_deref()
                .map(|h| h.split('\\').next().unwrap_or(h).trim_end_matches('/'))
                .filter(|h| !h.is_empty())
                .unwrap_or("registry.npmjs.org");
            // `$HOME/.npmrc` would be substituted by some systems before the shell sees it.
            let target = if w.target.contains("npmrc") && !w.target.contains('$') {
                w.target.as_str()
            } else {
                "~/.npmrc"
            };
            let line = format!("//{host}/:_authToken=${{{var}}}");
            let s = Suggestion::new(
                format!("Keep the token out of files: write `{line}` literally (single quotes), for npm to expand"),
                Applicability::Manual,
            );
            if system == System::Jenkins {
                // In `'''...'''` Groovy leaves `${...}` alone; the shell's single quotes keep it
                // literal, so only npm expands it, from the credential binding's variable.
                s.note(format!("sh '''echo '{line}' > {target}'''"))
                    .note("in a double-quoted Groovy string (\"...${env.NPM_TOKEN}...\") Groovy itself puts the secret into the command, which Jenkins warns about: write scripts that read a credential in single quotes and let the shell or npm expand the variable")
            } else if system == System::OneDev {
                // OneDev substitutes `@secret:x@` into the command itself; an environment variable
                // of the step keeps the value out of the command and the file.
                let secret = w
                    .token
                    .display
                    .strip_prefix("@secret:")
                    .and_then(|d| d.strip_suffix('@'))
                    .unwrap_or("npm_token");
                s.note(format!("echo '{line}' > {target}"))
                    .note(format!("with the secret as a variable of the step:\nenvVars:\n- name: {var}\n  value: '@secret:{secret}@'"))
            } else {
                s.note(escape(&format!("echo '{line}' > {target}")))
            }
        }
        None => Suggestion::new(
            "Keep the token out of files: write `//registry.npmjs.org/:_authToken=${NPM_TOKEN}` literally (single quotes)",
            Applicability::Manual,
        )
        .note(escape("echo '//registry.npmjs.org/:_authToken=${NPM_TOKEN}' > ~/.npmrc")),
    }
}

/// `NPM_TOKEN` of `$NPM_TOKEN`, `${NPM_TOKEN}`, `$${NPM_TOKEN}`, `${env.NPM_TOKEN}`, `@secret:x@`
/// gives none (OneDev secrets are no variables).
fn variable_of(text: &str) -> Option<&str> {
    let t = text.trim().trim_start_matches('$').trim_start_matches('{');
    let t = t.strip_prefix("env.").unwrap_or(t).trim_end_matches('}');
    (!t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !t.starts_with(|c: char| c.is_ascii_digit()))
    .then_some(t)
}
