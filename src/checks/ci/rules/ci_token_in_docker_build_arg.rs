//! `ci-token-in-docker-build-arg`: an npm token passed to a container build as a build arg,
//! which stays readable in the image history; the rewrite is a BuildKit secret.

use super::*;

pub(super) const BUILD_ARG: &str = "ci-token-in-docker-build-arg";

/// Container build args carrying a token into an image layer.
pub(super) fn report(
    ctx: &mut FileCtx<'_>,
    job: &Job,
    sf: &StepFacts,
    seen: &mut Seen,
    reported: &mut HashSet<(usize, usize)>,
) {
    for b in &sf.facts.build_args {
        reported.insert((b.token.span.start, b.token.span.end));
        let suggestion_edits: Vec<crate::finding::Edit> = b
            .edits
            .iter()
            .map(|(s, r)| edit(s.clone(), r.clone()))
            .collect();
        let draft = Draft::at(BUILD_ARG, b.span.clone())
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
                .note("the variable must be in the environment of the build command (for GitHub: `env:` on the step)"),
            )
            .identity(format!("{} {}", job.name, b.name));
        // One report per location: a template shared by several jobs is one line to fix.
        seen.emit(ctx, draft, "");
    }
}
