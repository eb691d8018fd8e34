//! `ci-token-in-docker-build-arg`: an npm token passed to a container build as a build arg,
//! which stays readable in the image history; the rewrite is a BuildKit secret.

use super::*;

pub(super) const BUILD_ARG: &str = "ci-token-in-docker-build-arg";

/// Container build args carrying a token into an image layer.
pub(super) fn report(
    ctx: &mut FileCtx<'_>,
    system: System,
    job: &Job,
    sf: &StepFacts,
    seen: &mut Seen,
    reported: &mut HashSet<(usize, usize)>,
) {
    for b in &sf.facts.build_args {
        reported.insert((b.token.span.start, b.token.span.end));
        let mut suggestion_edits: Vec<crate::finding::Edit> = b
            .edits
            .iter()
            .map(|(s, r)| edit(s.clone(), r.clone()))
            .collect();
        if let Some(e) = b
            .edits
            .iter()
            .find_map(|(_, r)| r.starts_with("--secret").then_some(r))
            .and_then(|r| step_env_edit(ctx.text, job, b, r))
        {
            suggestion_edits.push(e);
        }
        let mut draft = Draft::at(BUILD_ARG, b.span.clone());
        if system.tailored_npmrc_advice() {
            draft = draft
                .message_key("system")
                .arg("system", system.display())
                .arg("job", job.name.clone());
        }
        let env_note = if system.tailored_npmrc_advice() {
            format!(
                "the variable must be in the environment of the build command: {}",
                system.secret_store()
            )
        } else {
            "the variable must be in the environment of the build command (for GitHub: `env:` on the step)".to_string()
        };
        let draft = draft
            .arg("name", b.name.clone())
            .arg("token", b.token.display.clone())
            .suggestion(
                Suggestion {
                    edits: normalize(suggestion_edits),
                    ..Suggestion::new(
                        "Pass the token as a BuildKit secret",
                        // No edit to offer (a plugin's build args, a script the step runs): the
                        // change is the user's to make.
                        if b.edits.is_empty() {
                            Applicability::Manual
                        } else {
                            Applicability::Unsafe
                        },
                    )
                }
                .note(format!(
                    "In the Dockerfile: RUN --mount=type=secret,id={},env={} npm ci   (needs `# syntax=docker/dockerfile:1`; drop the `ARG {}`)",
                    if b.edits.iter().any(|(_, r)| r.starts_with("--secret")) { b.name.to_ascii_lowercase() } else { b.name.clone() },
                    b.name,
                    b.name
                ))
                .note(env_note),
            )
            .identity(format!("{} {}", job.name, b.name));
        // One report per location: a template shared by several jobs is one line to fix.
        seen.emit(ctx, draft, "");
    }
}

/// `--secret id=x,env=NAME` reads `NAME` from the build command's environment: when the build
/// arg's value was a GitHub expression (`${{ secrets.X }}`), the step's `env:` gets
/// `NAME: ${{ secrets.X }}`, so the secret reaches the build and its name stays in the file.
fn step_env_edit(
    text: &str,
    job: &Job,
    b: &crate::checks::ci::script::BuildArg,
    flag: &str,
) -> Option<crate::finding::Edit> {
    let expr = text.get(b.token.span.clone())?;
    if !expr.starts_with("${{") {
        return None;
    }
    let name = flag.rsplit_once("env=")?.1;
    let step = job
        .steps
        .iter()
        .find(|s| s.span.start <= b.span.start && b.span.end <= s.span.end)?;
    if step.env.iter().any(|v| v.name == name) {
        return None;
    }
    let nl = newline(text);
    if let Some(last) = step.env.last() {
        let at = entry_lines(text, &last.entry_span)?.end;
        let col = column(text, last.key_span.start);
        return Some(edit(
            at..at,
            edits::indent_lines(&[&format!("{name}: {expr}")], col, nl),
        ));
    }
    let at = whole_lines(text, &(step.span.start..step.span.end))
        .or_else(|| entry_lines(text, &step.span))?
        .end;
    let col = column(text, step.span.start);
    let at = if at > text.len() { text.len() } else { at };
    let mut add = String::new();
    if !text[..at].ends_with('\n') {
        add.push_str(nl);
    }
    add.push_str(&edits::indent_lines(
        &["env:", &format!("  {name}: {expr}")],
        col,
        nl,
    ));
    Some(edit(at..at, add))
}
