//! `hardcoded-token` in CI files: literal credentials in auth positions of a job.

use super::*;

pub(super) const HARDCODED: &str = "hardcoded-token";

/// Literal credentials in auth positions: env values, inputs, script assignments and writes.
pub(super) fn literals(
    ctx: &mut FileCtx<'_>,
    system: System,
    job: &Job,
    steps: &[StepFacts],
    seen: &mut Seen,
) {
    let mut spans: Vec<(Span, Option<EnvVar>)> = Vec::new();
    let vars = job
        .env
        .iter()
        .chain(job.steps.iter().flat_map(|s| s.env.iter()))
        .filter(|v| v.is_token(ctx))
        .chain(
            job.steps
                .iter()
                .filter_map(|s| s.action.as_ref())
                .flat_map(|a| {
                    a.inputs.iter().filter(|i| {
                        tokenish_name(&i.name) || crate::token::is_npm_token_var(&i.name)
                    })
                }),
        );
    for v in vars {
        if v.value.source == Source::Literal && !is_placeholder(&v.value.text) {
            spans.push((v.value.span.clone(), Some(v.clone())));
        }
    }
    for sf in steps {
        spans.extend(sf.facts.literals.iter().map(|s| (s.clone(), None)));
        for w in &sf.facts.auth_writes {
            if w.token.source == Source::Literal {
                spans.push((w.token.span.clone(), None));
            }
        }
        for p in &sf.facts.publishes {
            for t in &p.inline {
                if t.source == Source::Literal {
                    spans.push((t.span.clone(), None));
                }
            }
        }
    }
    for (span, var) in spans {
        let value = ctx.text.get(span.clone()).unwrap_or("");
        let inner = edits::unquoted(ctx.text, &span);
        let literal = ctx.text.get(inner.clone()).unwrap_or(value).trim();
        if literal.is_empty() {
            continue;
        }
        let kind = crate::token::classify_literal(literal);
        if kind == crate::token::LiteralKind::NpmTokenBadChecksum {
            // The sweep decides about these (placeholder or damaged token).
            continue;
        }
        if kind == crate::token::LiteralKind::Other
            && (literal.len() < 16 || crate::token::shannon_entropy(literal) < 3.0)
        {
            continue;
        }
        ctx.secret(inner.clone(), SecretKind::Token);
        let what = match kind {
            crate::token::LiteralKind::NpmToken => "an npm access token",
            crate::token::LiteralKind::Uuid => {
                "a UUID-format (legacy or third-party registry) token"
            }
            _ => "a literal credential",
        };
        let mut suggestion = Suggestion::new(
            "Revoke the token and read it from the CI secret store",
            Applicability::Manual,
        )
        .note("npm token revoke <token>   # run by the token's owner");
        if let (Some(var), true) = (&var, system.is_github()) {
            let secret = var.name.to_ascii_uppercase().replace('-', "_");
            suggestion = Suggestion::new(
                "Read the token from a repository secret (after revoking the committed one)",
                Applicability::Unsafe,
            )
            .edit(span.clone(), format!("${{{{ secrets.{secret} }}}}"))
            .note(format!("create the repository secret {secret}, then revoke the committed token: npm token revoke <token>"));
        } else if names_secret_store(system) {
            suggestion = suggestion.note(format!(
                "keep it in {} and reference the variable instead",
                system.secret_store()
            ));
        } else if var.is_some() {
            suggestion = suggestion.note(format!(
                "define it as a masked/secret variable in the {} settings and reference it as a variable",
                system.display()
            ));
        }
        let draft = Draft::at(HARDCODED, span.clone())
            .message(format!(
                "{what} is written in this {} file. Anyone who can read the repository can use it: revoke it and read a token from the CI secret store (or use trusted publishing).",
                system.display()
            ))
            .suggestion(suggestion);
        seen.emit(ctx, draft, "");
    }
}
