//! Dockerfile checks: npm tokens passed as `ARG`, set with `ENV`, written to an `.npmrc` in a
//! `RUN` layer, copied into the image, or obtained with a legacy login.
//!
//! Every finding carries the same stage-wide rewrite: the token `ARG`/`ENV` lines and the
//! `.npmrc` writes and removals go, the install steps get a BuildKit secret mount whose target
//! follows the stage's `USER`, and `# syntax=docker/dockerfile:1` is added when missing. The
//! rewrite needs the build command to pass the secret, so it is never applied without
//! `--unsafe-fixes`. Findings in stages that do not end up in the final image are one severity
//! lower, and say so.

use std::path::Path;

use crate::finding::{Applicability, Confidence, Draft, Edit, Severity, Suggestion};
use crate::parse::dockerfile::{self, Args, Dockerfile, Instruction};
use crate::parse::shell::{self, Script};
use crate::source::{MappedText, Span};
use crate::token::{self, LiteralKind, SecretKind};

use super::shell_auth::{self, Fact, FactKind};
use super::FileCtx;

const ARG_RULE: &str = "dockerfile-token-arg";
const ENV_RULE: &str = "dockerfile-token-env";
const LAYER_RULE: &str = "dockerfile-npmrc-in-layer";
const COPY_RULE: &str = "dockerfile-copy-npmrc";
const LOGIN_RULE: &str = "npm-login-in-automation";
const LITERAL_RULE: &str = "hardcoded-token";

/// A `RUN` instruction with its shell analysis.
struct Run {
    /// Index in [`Dockerfile::instructions`].
    inst: usize,
    script: Script,
    mapped: MappedText,
    facts: Vec<Fact>,
    /// Top-level commands can be removed one by one without breaking the shell syntax.
    editable: bool,
}

/// A place where a variable's value reaches npm auth.
struct AuthUse {
    var: String,
    stage: Option<usize>,
    inst: usize,
    what: &'static str,
}

pub fn check(ctx: &mut FileCtx<'_>) {
    let text = ctx.text;
    let df = dockerfile::parse(text);
    let runs: Vec<Run> = df
        .instructions
        .iter()
        .enumerate()
        .filter(|(_, inst)| inst.is("RUN"))
        .filter_map(|(i, inst)| {
            let mapped = inst.script()?.clone();
            let script = shell::parse(&mapped.text);
            let facts = shell_auth::analyse(&script, &mapped);
            let editable = editable(text, inst, &script, &mapped);
            Some(Run {
                inst: i,
                script,
                mapped,
                facts,
                editable,
            })
        })
        .collect();
    let mut uses = auth_uses(&df, &runs);
    uses.extend(copied_npmrc_uses(ctx, &df));
    let is_token_var = |name: &str| {
        !name.is_empty() && (shell_auth::is_token_variable(name) || ctx.options.is_token_var(name))
    };
    let aliased = env_aliases(&df, &uses, text, &is_token_var);
    uses.extend(aliased);
    let checker = Checker {
        df: &df,
        runs: &runs,
        uses: &uses,
        text,
    };
    let first = ctx.drafts.len();
    checker.args(ctx);
    checker.envs(ctx);
    checker.layers(ctx);
    checker.copies(ctx);
    checker.logins(ctx);
    mark_onbuild(ctx, &df, first);
}

/// Said of a finding on an `ONBUILD` instruction: this image's build never runs it.
const ONBUILD_NOTE: &str = " This comes from an `ONBUILD` instruction: it runs in the build of every child image built FROM this one (right after the child's FROM), not in this image's own build.";

/// Findings (from `first` on) on an `ONBUILD` instruction say so: where the fix goes is here,
/// but what the message describes happens in the child image's build.
fn mark_onbuild(ctx: &mut FileCtx<'_>, df: &Dockerfile, first: usize) {
    let onbuild: Vec<&Span> = df
        .instructions
        .iter()
        .filter(|i| i.onbuild)
        .map(|i| &i.span)
        .collect();
    if onbuild.is_empty() {
        return;
    }
    for draft in ctx.drafts.iter_mut().skip(first) {
        let on = onbuild
            .iter()
            .any(|s| s.start <= draft.span.start && draft.span.start < s.end.max(s.start + 1));
        if !on {
            continue;
        }
        let Some(rule) = crate::rules::get(draft.rule) else {
            continue;
        };
        let message = match &draft.message {
            Some(m) => m.clone(),
            None => rule.render_message(draft.message_key, &draft.args),
        };
        draft.message = Some(format!("{message}{ONBUILD_NOTE}"));
    }
}

/// Every variable that reaches npm auth, and where; `ENV` aliases (`ENV T=$NPM_TOKEN`) followed
/// one step so the `ARG` behind them counts too.
fn auth_uses(df: &Dockerfile, runs: &[Run]) -> Vec<AuthUse> {
    let mut uses = Vec::new();
    for run in runs {
        let stage = df.instructions.get(run.inst).and_then(|i| i.stage);
        for fact in &run.facts {
            let what = match &fact.kind {
                FactKind::ConfigFileWrite { .. } => "written to an npm config file",
                FactKind::ConfigSet { .. } => "set with `npm config set`",
                FactKind::Login { .. } => "used to log in",
                FactKind::TokenVariable {
                    from_secret_file: false,
                    ..
                } => "exported as an npm token variable",
                _ => continue,
            };
            for var in &fact.vars {
                uses.push(AuthUse {
                    var: var.clone(),
                    stage,
                    inst: run.inst,
                    what,
                });
            }
        }
    }
    for (i, inst) in df.instructions.iter().enumerate() {
        if let Some(body) = npmrc_heredoc(inst) {
            for r in token::env_refs(&body.text) {
                uses.push(AuthUse {
                    var: r.name,
                    stage: inst.stage,
                    inst: i,
                    what: "copied into the image in an npm config file",
                });
            }
        }
    }
    uses
}

/// `ENV NAME=$ARG`: when NAME reaches auth later, or is itself an npm token variable
/// (`ENV NODE_AUTH_TOKEN=${token}`), so does ARG, whatever its name.
fn env_aliases(
    df: &Dockerfile,
    uses: &[AuthUse],
    text: &str,
    is_token_var: &dyn Fn(&str) -> bool,
) -> Vec<AuthUse> {
    let mut aliased = Vec::new();
    for (i, inst) in df.instructions.iter().enumerate() {
        let Args::Env(pairs) = &inst.args else {
            continue;
        };
        for kv in pairs {
            let reaches = uses
                .iter()
                .any(|u| u.var == kv.key && u.stage == inst.stage && u.inst > i);
            let what = if reaches {
                ENV_USE
            } else if is_token_var(&kv.key) {
                ENV_TOKEN_USE
            } else {
                continue;
            };
            let Some(value) = &kv.value else {
                continue;
            };
            let raw = text.get(value.span.clone()).unwrap_or("");
            for r in token::env_refs(raw) {
                // `ENV NPM_TOKEN=$NPM_TOKEN`: the name says it already.
                if what == ENV_TOKEN_USE && r.name == kv.key {
                    continue;
                }
                aliased.push(AuthUse {
                    var: r.name,
                    stage: inst.stage,
                    inst: i,
                    what,
                });
            }
        }
    }
    aliased
}

/// Variables an `.npmrc` copied into the build (`COPY .npmrc ./`, `COPY . .`) reads in an auth
/// value (`_authToken=${TOKEN}`): npm expands them from the build's environment, so an `ARG` of
/// that name reaches npm auth under any name.
fn copied_npmrc_uses(ctx: &FileCtx<'_>, df: &Dockerfile) -> Vec<AuthUse> {
    let mut out = Vec::new();
    for (i, inst) in df.instructions.iter().enumerate() {
        let Args::Copy { sources, .. } = &inst.args else {
            continue;
        };
        if inst.flag("from").is_some() {
            continue;
        }
        for src in sources {
            let Some((rel, _)) = copied_npmrc(&src.value) else {
                continue;
            };
            let Some(Some(content)) = build_context_file(ctx, rel) else {
                continue;
            };
            for line in content.lines() {
                let line = line.trim();
                let Some((key, value)) = line.split_once('=') else {
                    continue;
                };
                let key = key.trim().to_ascii_lowercase();
                if !["_authtoken", "_auth", "_password"]
                    .iter()
                    .any(|k| key.ends_with(k))
                {
                    continue;
                }
                for r in token::env_refs(value) {
                    out.push(AuthUse {
                        var: r.name,
                        stage: inst.stage,
                        inst: i,
                        what: COPIED_NPMRC_USE,
                    });
                }
            }
        }
    }
    out
}

/// A file a `COPY` takes from the build context, `Some(None)` when no context holds it, `None`
/// when the context's `.dockerignore` leaves it out. The context is usually the Dockerfile's
/// folder; `docker build -f sub/Dockerfile .` makes it an ancestor, so the nearest folder up to
/// the repository root that holds the file is taken.
fn build_context_file(ctx: &FileCtx<'_>, rel: &str) -> Option<Option<std::sync::Arc<str>>> {
    let dir = ctx.fs_path.parent()?;
    let context = find_context(dir, rel).unwrap_or_else(|| dir.to_path_buf());
    let ignore = context_file_in(ctx, &context, ".dockerignore");
    if ignore.is_some_and(|text| dockerignored(&text, rel)) {
        return None;
    }
    Some(context_file_in(ctx, &context, rel))
}

/// A file of the build context `context`, the Dockerfile's folder or one of its ancestors:
/// through the model when the scan has one (a file the scan read, or one another check asked
/// for, is not read again), else from disk.
fn context_file_in(ctx: &FileCtx<'_>, context: &Path, rel: &str) -> Option<std::sync::Arc<str>> {
    if let Some((model, path)) = ctx.model() {
        let mut dir = crate::model::parent_rel(path);
        let mut here = ctx.fs_path.parent();
        while let Some(at) = here {
            if at == context {
                return model.support(&crate::model::join_rel(&dir, rel));
            }
            if dir.is_empty() {
                // The context lies above the repository the model covers.
                break;
            }
            dir = crate::model::parent_rel(&dir);
            here = at.parent();
        }
    }
    std::fs::read_to_string(context.join(rel))
        .ok()
        .map(std::sync::Arc::from)
}

/// The `.npmrc` a `COPY`/`ADD` source brings in, relative to the build context, and whether the
/// source is the whole context (`.`, `*`) rather than the file by name.
fn copied_npmrc(source: &str) -> Option<(&str, bool)> {
    let value = source.trim_start_matches("./");
    let named = Path::new(value)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == ".npmrc");
    if named {
        Some((value, false))
    } else if matches!(value, "." | "" | "*" | ".*") {
        Some((".npmrc", true))
    } else {
        None
    }
}

/// The body of a `COPY <<EOF <npm config file>` whose content holds credentials.
fn npmrc_heredoc(inst: &Instruction) -> Option<&MappedText> {
    let Args::Copy { dest, sources } = &inst.args else {
        return None;
    };
    let dest = dest.as_ref()?;
    if !shell_auth::is_npm_config_path(&dest.value)
        || !sources.iter().any(|s| s.value.starts_with("<<"))
    {
        return None;
    }
    inst.heredocs
        .iter()
        .map(|h| &h.body)
        .find(|b| shell_auth::has_auth_key(&b.text))
}

/// Whether the commands of `script` are joined only by plain separators, so that removing some
/// of them leaves valid shell.
fn editable(text: &str, inst: &Instruction, script: &Script, mapped: &MappedText) -> bool {
    if !matches!(&inst.args, Args::Command(dockerfile::CommandForm::Shell(_))) {
        return false;
    }
    if !inst.heredocs.is_empty() {
        let bodies: String = inst.heredocs.iter().map(|h| h.body.text.as_str()).collect();
        if bodies != mapped.text {
            return false;
        }
    }
    let spans: Vec<Span> = top_level(script)
        .map(|c| mapped.to_source(c.span.clone()))
        .collect();
    spans.windows(2).all(|w| match w {
        [a, b] => {
            let gap = text.get(a.end..b.start).unwrap_or("x");
            let ops: String = gap
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .flat_map(|l| l.chars())
                .filter(|c| !c.is_whitespace() && *c != '\\' && *c != '`')
                .collect();
            matches!(ops.as_str(), "" | "&&" | ";" | "||" | "|" | "&")
        }
        _ => true,
    })
}

fn top_level(script: &Script) -> impl Iterator<Item = &shell::Command> {
    script.commands.iter().filter(|c| c.depth == 0)
}

struct Checker<'a> {
    df: &'a Dockerfile,
    runs: &'a [Run],
    uses: &'a [AuthUse],
    text: &'a str,
}

impl Checker<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text
            .get(..offset)
            .map_or(1, |t| t.matches('\n').count() + 1)
    }

    /// Severity lowered, and a sentence for the message, for stages not in the final image.
    fn stage_adjust(&self, stage: Option<usize>, severity: Severity) -> (Severity, String) {
        match stage {
            Some(s) if !self.df.in_final_image(s) => {
                let name = self
                    .df
                    .stages
                    .get(s)
                    .and_then(|st| st.name.clone())
                    .unwrap_or_else(|| s.to_string());
                (
                    severity.lowered(),
                    format!(
                        " Stage `{name}` is not part of the final image, so the severity is lowered one step; its layers still sit in the build cache and in any image built with `--target {name}`."
                    ),
                )
            }
            _ => (severity, String::new()),
        }
    }

    fn is_token_var(&self, ctx: &FileCtx<'_>, name: &str) -> bool {
        shell_auth::is_token_variable(name) || ctx.options.is_token_var(name)
    }

    /// Whether an `ARG` declared at `inst` reaches auth: used later in its stage (global ARGs:
    /// anywhere, since stages redeclare them).
    fn arg_use(&self, name: &str, inst: usize, stage: Option<usize>) -> Option<&AuthUse> {
        self.uses
            .iter()
            .find(|u| u.var == name && u.inst > inst && (stage.is_none() || u.stage == stage))
    }

    fn args(&self, ctx: &mut FileCtx<'_>) {
        for (i, inst) in self.df.instructions.iter().enumerate() {
            let Args::Arg(pairs) = &inst.args else {
                continue;
            };
            for kv in pairs {
                let token_name = self.is_token_var(ctx, &kv.key);
                let used = self.arg_use(&kv.key, i, inst.stage);
                if !token_name && used.is_none() {
                    continue;
                }
                if kv.key.to_ascii_uppercase().ends_with("_FILE") && used.is_none() {
                    continue;
                }
                let how = match used {
                    Some(u) => format!(
                        "reaches npm auth: it is {} on line {}",
                        u.what,
                        self.line_of(self.df.instructions.get(u.inst).map_or(0, |x| x.span.start))
                    ),
                    None => "holds an npm token".to_string(),
                };
                self.literal(
                    ctx,
                    kv.value
                        .as_ref()
                        .map(|v| (v.value.as_str(), v.span.clone())),
                );
                let (severity, note) = self.stage_adjust(inst.stage, Severity::High);
                let span = if pairs.len() == 1 {
                    inst.span.clone()
                } else {
                    kv.span.clone()
                };
                let draft = Draft::at(ARG_RULE, span)
                    .arg("name", kv.key.clone())
                    .arg("how", how)
                    .arg("stage_note", note)
                    .severity(severity)
                    .suggestion(self.rewrite(ctx, inst.stage));
                ctx.emit(draft);
            }
        }
    }

    fn envs(&self, ctx: &mut FileCtx<'_>) {
        for (i, inst) in self.df.instructions.iter().enumerate() {
            let Args::Env(pairs) = &inst.args else {
                continue;
            };
            for kv in pairs {
                let Some(value) = &kv.value else {
                    continue;
                };
                if value.value.trim().is_empty() {
                    continue;
                }
                let token_name = self.is_token_var(ctx, &kv.key);
                let used = self
                    .uses
                    .iter()
                    .any(|u| u.var == kv.key && u.stage == inst.stage && u.inst > i);
                if !token_name && !used {
                    continue;
                }
                let raw = self.text.get(value.span.clone()).unwrap_or("");
                let refs = token::env_refs(raw);
                let how = match refs.first() {
                    Some(r) => format!("copies `{}` into the image environment", r.name),
                    None => "sets a literal token".to_string(),
                };
                if refs.is_empty() {
                    self.literal(ctx, Some((value.value.as_str(), value.span.clone())));
                }
                let (severity, note) = self.stage_adjust(inst.stage, Severity::High);
                let draft = Draft::at(ENV_RULE, kv.span.clone())
                    .arg("name", kv.key.clone())
                    .arg("how", how)
                    .arg("stage_note", note)
                    .severity(severity)
                    .suggestion(self.rewrite(ctx, inst.stage));
                ctx.emit(draft);
            }
        }
    }

    /// A literal credential value: hidden from every output and reported as `hardcoded-token`.
    fn literal(&self, ctx: &mut FileCtx<'_>, value: Option<(&str, Span)>) {
        let Some((value, span)) = value else {
            return;
        };
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed.contains('$') {
            return;
        }
        ctx.secret(span.clone(), SecretKind::Token);
        if ctx.reported(LITERAL_RULE, &span) {
            return;
        }
        let draft = Draft::at(LITERAL_RULE, span);
        let draft = match token::classify_literal(trimmed) {
            LiteralKind::NpmToken => draft.message_key("npm-token"),
            LiteralKind::NpmTokenBadChecksum => draft
                .message_key("npm-token-bad-checksum")
                .confidence(Confidence::Low),
            LiteralKind::Uuid | LiteralKind::Other => draft,
        };
        // An ARG/ENV value names no registry (see `Credential::untied`).
        let draft = draft.credential(crate::credential::Credential::untied(trimmed));
        ctx.emit(draft.suggestion(
            Suggestion::new(
                "Revoke the token and pass a new one as a BuildKit secret",
                Applicability::Manual,
            )
            .note("npm token revoke <token>   # run by the token's owner; the old value stays in the image history")
            .note(TOKEN_NOTE),
        ));
    }

    fn layers(&self, ctx: &mut FileCtx<'_>) {
        for run in self.runs {
            let Some(inst) = self.df.instructions.get(run.inst) else {
                continue;
            };
            let removals: Vec<&Fact> = run
                .facts
                .iter()
                .filter(|f| {
                    matches!(
                        f.kind,
                        FactKind::ConfigFileRemove { .. } | FactKind::ConfigDelete { .. }
                    )
                })
                .collect();
            for fact in &run.facts {
                let (path, key) = match &fact.kind {
                    FactKind::ConfigFileWrite { path, .. } => (path.clone(), None),
                    FactKind::ConfigSet { tool, key } => (
                        USER_CONFIG.to_string(),
                        Some(format!("{tool} config set {key}")),
                    ),
                    _ => continue,
                };
                self.literal_in_write(ctx, fact);
                if self.writes_placeholder_only(fact) {
                    continue;
                }
                let removed_here = removals
                    .iter()
                    .any(|r| r.span.start > fact.span.start && same_file(&r.kind, &path));
                let removed_later = self.later_removal(run.inst, inst.stage, &path);
                let source = fact
                    .vars
                    .first()
                    .map_or("a value in the Dockerfile".to_string(), |v| {
                        format!("`${v}`")
                    });
                let (base, key_name) = match (&key, removed_here, removed_later) {
                    (Some(_), true, _) => (Severity::Medium, "config-set-removed"),
                    (Some(_), false, _) => (Severity::High, "config-set"),
                    (None, true, _) => (Severity::Medium, "removed-same-run"),
                    (None, false, Some(_)) => (Severity::High, "removed-later"),
                    (None, false, None) => (Severity::High, "stays"),
                };
                let (severity, note) = self.stage_adjust(inst.stage, base);
                let mut draft = Draft::at(LAYER_RULE, fact.span.clone())
                    .message_key(key_name)
                    .arg("path", path.clone())
                    .arg("source", source)
                    .arg("stage_note", note)
                    .severity(severity)
                    .suggestion(self.rewrite(ctx, inst.stage));
                if let Some(key) = key {
                    draft = draft.arg("command", key);
                }
                if let Some(line) = removed_later {
                    draft = draft.arg("line", line.to_string());
                }
                ctx.emit(draft);
            }
        }
    }

    /// Line of a later `RUN` in the same stage that removes `path`.
    fn later_removal(&self, after: usize, stage: Option<usize>, path: &str) -> Option<usize> {
        self.runs
            .iter()
            .filter(|r| r.inst > after)
            .filter(|r| {
                self.df
                    .instructions
                    .get(r.inst)
                    .is_some_and(|i| i.stage == stage)
            })
            .find_map(|r| {
                r.facts
                    .iter()
                    .find(|f| same_file(&f.kind, path))
                    .map(|f| self.line_of(f.span.start))
            })
    }

    /// `echo '//r/:_authToken=${NPM_TOKEN}' >> ~/.npmrc`: the shell expands nothing (single
    /// quotes, a quoted here-document), so the file holds the placeholder npm fills from the
    /// environment at run time, not a credential.
    fn writes_placeholder_only(&self, fact: &Fact) -> bool {
        let FactKind::ConfigFileWrite {
            from_file: None, ..
        } = &fact.kind
        else {
            return false;
        };
        if !fact.vars.is_empty() {
            return false;
        }
        let focus = self.text.get(fact.focus.clone()).unwrap_or("");
        let Some(eq) = focus.find('=') else {
            return false;
        };
        let value = focus[eq + 1..].trim_start_matches(['"', '\'']);
        value.starts_with("${")
            && value.find('}').is_some_and(|end| {
                value[2..end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && end > 2
            })
    }

    /// `echo "//r/:_authToken=literal" > .npmrc`: the literal is a committed credential.
    fn literal_in_write(&self, ctx: &mut FileCtx<'_>, fact: &Fact) {
        let focus = self.text.get(fact.focus.clone()).unwrap_or("");
        // `key=value` as written in the file, or (npm config set KEY VALUE) the value word.
        let value_at = match (focus.find('='), &fact.kind) {
            (Some(eq), _) => eq + 1,
            (None, FactKind::ConfigSet { .. }) => usize::from(focus.starts_with(['"', '\''])),
            (None, _) => return,
        };
        let rest = focus.get(value_at..).unwrap_or("");
        let len = rest
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
            .unwrap_or(rest.len());
        let value = rest.get(..len).unwrap_or("");
        if value.len() < 8 {
            return;
        }
        let start = fact.focus.start + value_at;
        self.literal(ctx, Some((value, start..start + len)));
    }

    fn copies(&self, ctx: &mut FileCtx<'_>) {
        for inst in &self.df.instructions {
            let Args::Copy { sources, dest } = &inst.args else {
                continue;
            };
            if let Some(from) = inst.flag("from") {
                self.copy_from_stage(ctx, inst, from.value.as_deref().unwrap_or(""), sources);
                continue;
            }
            let (severity, note) = self.stage_adjust(inst.stage, Severity::High);
            if let (Some(dest), Some(_)) = (dest, npmrc_heredoc(inst)) {
                ctx.emit(
                    Draft::at(COPY_RULE, inst.span.clone())
                        .message_key("heredoc")
                        .arg("keyword", inst.keyword.clone())
                        .arg("path", dest.value.clone())
                        .arg("stage_note", note.clone())
                        .severity(severity)
                        .suggestion(self.rewrite(ctx, inst.stage)),
                );
                continue;
            }
            for src in sources {
                let Some((rel, whole_context)) = copied_npmrc(&src.value) else {
                    continue;
                };
                let rel = rel.to_string();
                let Some(content) = build_context_file(ctx, &rel) else {
                    continue;
                };
                let (key, confidence) = match (&content, whole_context) {
                    (Some(c), false) if npmrc_has_credential(c) => ("named", Confidence::High),
                    (Some(c), true) if npmrc_has_credential(c) => ("copy-all", Confidence::High),
                    (None, false) => ("missing", Confidence::Medium),
                    _ => continue,
                };
                ctx.emit(
                    Draft::at(COPY_RULE, src.span.clone())
                        .message_key(key)
                        .arg("keyword", inst.keyword.clone())
                        .arg("path", rel.clone())
                        .arg("src", src.value.clone())
                        .arg("stage_note", note.clone())
                        .severity(severity)
                        .confidence(confidence)
                        .suggestion(self.copy_rewrite(ctx, inst, src, whole_context)),
                );
            }
        }
    }

    /// `COPY --from=<stage> <dir>/.npmrc ...` of an `.npmrc` that stage wrote credentials into
    /// (and did not remove): the stage was meant to keep the token out of the image, the copy
    /// brings it into this one.
    fn copy_from_stage(
        &self,
        ctx: &mut FileCtx<'_>,
        inst: &Instruction,
        from: &str,
        sources: &[dockerfile::Word],
    ) {
        let Some(stage) = self.df.stage_named(from) else {
            // Another image (`--from=node:22`): its files are not in this Dockerfile.
            return;
        };
        let (severity, note) = self.stage_adjust(inst.stage, Severity::High);
        for src in sources {
            let Some((line, exact)) = self.stage_writes_npmrc(stage, &src.value) else {
                continue;
            };
            ctx.emit(
                Draft::at(COPY_RULE, src.span.clone())
                    .message_key("from-stage")
                    .arg("keyword", inst.keyword.clone())
                    .arg("src", src.value.clone())
                    .arg("from", from.to_string())
                    .arg("line", line.to_string())
                    .arg("stage_note", note.clone())
                    .severity(severity)
                    .confidence(if exact {
                        Confidence::High
                    } else {
                        Confidence::Medium
                    })
                    .suggestion(if npmrc_named(&src.value) {
                        self.copy_rewrite(ctx, inst, src, false)
                    } else {
                        // The folder is needed; the credential must not be written into it.
                        self.rewrite(ctx, Some(stage))
                    }),
            );
        }
    }

    /// The line where `stage` writes registry credentials to an `.npmrc` it keeps to its end,
    /// when `path` (a copy source) is that file or a folder holding it; and whether the match
    /// is exact (else only the file name of an `.npmrc` source matches).
    fn stage_writes_npmrc(&self, stage: usize, path: &str) -> Option<(usize, bool)> {
        let wanted = path.trim_end_matches('/');
        let wanted_is_npmrc = npmrc_named(wanted);
        for run in self.runs {
            let Some(inst) = self.df.instructions.get(run.inst) else {
                continue;
            };
            if inst.stage != Some(stage) {
                continue;
            }
            for fact in &run.facts {
                let written = match &fact.kind {
                    FactKind::ConfigFileWrite { path, .. } => path.clone(),
                    FactKind::ConfigSet { .. } => "/root/.npmrc".to_string(),
                    _ => continue,
                };
                if Path::new(&written).file_name().and_then(|n| n.to_str()) != Some(".npmrc")
                    || self.writes_placeholder_only(fact)
                {
                    continue;
                }
                let removed_here = run
                    .facts
                    .iter()
                    .any(|r| r.span.start > fact.span.start && same_file(&r.kind, &written));
                if removed_here
                    || self
                        .later_removal(run.inst, Some(stage), &written)
                        .is_some()
                {
                    continue;
                }
                let absolute = self.absolute_in_stage(run.inst, &written);
                let exact = absolute.as_deref() == Some(wanted)
                    || absolute
                        .as_deref()
                        .and_then(|a| a.strip_prefix(wanted))
                        .is_some_and(|rest| rest.starts_with('/'));
                if exact || wanted_is_npmrc {
                    return Some((self.line_of(fact.span.start), exact));
                }
            }
        }
        None
    }

    /// `path` as written in the `RUN` at `inst`, made absolute: `~` and `$HOME` are root's
    /// home, a relative path starts at the stage's last `WORKDIR` before it (`None` when that
    /// is not known).
    fn absolute_in_stage(&self, inst: usize, path: &str) -> Option<String> {
        let path = path.trim_start_matches("./");
        for home in ["~/", "$HOME/", "${HOME}/"] {
            if let Some(rest) = path.strip_prefix(home) {
                return Some(format!("/root/{rest}"));
            }
        }
        if path.starts_with('/') {
            return Some(path.to_string());
        }
        let stage = self.df.instructions.get(inst)?.stage;
        let workdir = self.df.instructions[..inst]
            .iter()
            .rev()
            .take_while(|i| i.stage == stage)
            .find(|i| i.is("WORKDIR"))
            .and_then(|i| match &i.args {
                Args::Other(words) => words.first().map(|w| w.value.clone()),
                _ => None,
            })?;
        if !workdir.starts_with('/') || workdir.contains('$') {
            return None;
        }
        Some(format!("{}/{path}", workdir.trim_end_matches('/')))
    }

    fn logins(&self, ctx: &mut FileCtx<'_>) {
        for run in self.runs {
            let Some(inst) = self.df.instructions.get(run.inst) else {
                continue;
            };
            for fact in &run.facts {
                let FactKind::Login { tool, registry } = &fact.kind else {
                    continue;
                };
                let local = registry.as_deref().is_some_and(|r| {
                    r.contains("localhost") || r.contains("127.0.0.1") || r.contains("verdaccio")
                });
                let (severity, note) = self.stage_adjust(inst.stage, Severity::High);
                let draft = Draft::at(LOGIN_RULE, fact.focus.clone())
                    .arg("tool", tool.clone())
                    .arg("npm12", crate::advice::login_npm12_note(tool))
                    .arg("stage_note", note)
                    .severity(severity)
                    .confidence(if local {
                        Confidence::Low
                    } else {
                        Confidence::High
                    })
                    .suggestion(self.rewrite(ctx, inst.stage));
                ctx.emit(draft);
            }
        }
    }

    /// The stage-wide rewrite shared by every finding of `stage`.
    fn rewrite(&self, ctx: &FileCtx<'_>, stage: Option<usize>) -> Suggestion {
        let mut edits: Vec<Edit> = Vec::new();
        // Yarn Berry reads no `.npmrc`: its token goes in through YARN_NPM_AUTH_TOKEN.
        let yarn_berry = self.runs.iter().any(|r| {
            self.df
                .instructions
                .get(r.inst)
                .is_some_and(|i| i.stage == stage)
                && r.facts.iter().any(|f| {
                    matches!(&f.kind, FactKind::ConfigSet { tool, key }
                        if tool == "yarn" && key.to_ascii_lowercase().starts_with("npmauth"))
                })
        });
        let mount = if yarn_berry {
            env_mount("YARN_NPM_AUTH_TOKEN")
        } else {
            self.mount_flag(stage)
        };
        let mut manual = false;

        // Token ARG and ENV pairs of this stage (and the global ARGs). Variables that no RUN
        // writes to a file were read by npm from the environment (a committed `.npmrc` with
        // `${NPM_TOKEN}`): those become `env=` secret mounts.
        let mut env_secrets: Vec<(usize, String)> = Vec::new();
        for (i, inst) in self.df.instructions.iter().enumerate() {
            if inst.stage != stage && inst.stage.is_some() {
                continue;
            }
            let (pairs, is_env) = match &inst.args {
                Args::Arg(pairs) => (pairs, false),
                Args::Env(pairs) if inst.stage == stage => (pairs, true),
                _ => continue,
            };
            let token: Vec<bool> = pairs
                .iter()
                .map(|kv| {
                    if is_env {
                        self.is_token_var(ctx, &kv.key)
                            && kv
                                .value
                                .as_ref()
                                .is_some_and(|v| !v.value.trim().is_empty())
                    } else {
                        self.is_token_var(ctx, &kv.key)
                            || self.arg_use(&kv.key, i, inst.stage).is_some()
                    }
                })
                .collect();
            if !token.contains(&true) {
                continue;
            }
            for (kv, _) in pairs.iter().zip(&token).filter(|(_, t)| **t) {
                let via_file = self.uses.iter().any(|u| {
                    u.var == kv.key && ![ENV_USE, ENV_TOKEN_USE, COPIED_NPMRC_USE].contains(&u.what)
                });
                let aliased = self.df.instructions.iter().any(|other| match &other.args {
                    Args::Env(env) => env.iter().any(|e| {
                        e.key != kv.key
                            && e.value.as_ref().is_some_and(|v| {
                                token::env_refs(self.text.get(v.span.clone()).unwrap_or(""))
                                    .iter()
                                    .any(|r| r.name == kv.key)
                            })
                    }),
                    _ => false,
                });
                if inst.stage.is_some() && !via_file && !aliased {
                    env_secrets.push((i, kv.key.clone()));
                }
            }
            if token.iter().all(|t| *t) {
                edits.push(Edit {
                    span: whole_lines(self.text, inst.span.clone()),
                    replacement: String::new(),
                });
                continue;
            }
            // Remove only the token pairs, with the blank that separates them from the next.
            for (k, kv) in pairs.iter().enumerate() {
                if token.get(k) != Some(&true) {
                    continue;
                }
                let span = match (
                    pairs.get(k + 1),
                    k.checked_sub(1).and_then(|p| pairs.get(p)),
                ) {
                    (Some(next), _) => kv.span.start..next.span.start,
                    (None, Some(prev)) => prev.span.end..kv.span.end,
                    (None, None) => kv.span.clone(),
                };
                edits.push(Edit {
                    span,
                    replacement: String::new(),
                });
            }
        }

        // RUN lines: drop the writes, removals and logins; mount the secret where npm runs.
        let stage_runs: Vec<&Run> = self
            .runs
            .iter()
            .filter(|r| {
                self.df
                    .instructions
                    .get(r.inst)
                    .is_some_and(|i| i.stage == stage)
            })
            .collect();
        // `COPY <<EOF /root/.npmrc` with credentials goes like an `echo > .npmrc`.
        let heredoc_copies: Vec<usize> = self
            .df
            .instructions
            .iter()
            .enumerate()
            .filter(|(_, i)| i.stage == stage && npmrc_heredoc(i).is_some())
            .map(|(n, _)| n)
            .collect();
        for &n in &heredoc_copies {
            if let Some(inst) = self.df.instructions.get(n) {
                edits.push(Edit {
                    span: whole_lines(self.text, inst.span.clone()),
                    replacement: String::new(),
                });
            }
        }
        let first_write = stage_runs
            .iter()
            .find(|r| r.facts.iter().any(is_auth_setup))
            .map(|r| r.inst)
            .into_iter()
            .chain(heredoc_copies.first().copied())
            .min();
        let mut mounted = false;
        let mut deleted_write: Option<Span> = None;
        for run in &stage_runs {
            let Some(inst) = self.df.instructions.get(run.inst) else {
                continue;
            };
            let drop: Vec<usize> = self.commands_to_drop(run);
            let commands: Vec<&shell::Command> = top_level(&run.script).collect();
            let kept: Vec<usize> = (0..commands.len()).filter(|i| !drop.contains(i)).collect();
            if !drop.is_empty() && !kept.is_empty() && !run.editable {
                manual = true;
                continue;
            }
            if !drop.is_empty() && kept.is_empty() {
                let span = whole_lines(self.text, inst.span.clone());
                if run.facts.iter().any(is_auth_setup) && deleted_write.is_none() {
                    deleted_write = Some(span);
                } else {
                    edits.push(Edit {
                        span,
                        replacement: String::new(),
                    });
                }
                continue;
            }
            for range in drop_ranges(&commands, &drop, &run.mapped) {
                edits.push(Edit {
                    span: range,
                    replacement: String::new(),
                });
            }
            let after_write = first_write.is_some_and(|w| run.inst >= w);
            let runs_npm = kept
                .iter()
                .filter_map(|&k| commands.get(k))
                .any(|c| is_package_manager(c));
            let has_mount = inst.mounts("secret").next().is_some();
            if after_write && runs_npm && !has_mount {
                edits.push(Edit {
                    span: inst.keyword_span.end..inst.keyword_span.end,
                    replacement: format!(" {mount}"),
                });
                mounted = true;
            } else if first_write.is_none() && runs_npm && !has_mount {
                let flags: Vec<String> = env_secrets
                    .iter()
                    .filter(|(declared, _)| *declared < run.inst)
                    .map(|(_, name)| env_mount(name))
                    .collect();
                if !flags.is_empty() {
                    edits.push(Edit {
                        span: inst.keyword_span.end..inst.keyword_span.end,
                        replacement: format!(" {}", flags.join(" ")),
                    });
                }
            }
        }
        if let Some(span) = deleted_write {
            let replacement = if mounted {
                String::new()
            } else {
                manual = true;
                format!("RUN {mount} npm ci\n")
            };
            edits.push(Edit { span, replacement });
        }
        if self.df.directive("syntax").is_none() && !edits.is_empty() {
            edits.push(Edit {
                span: 0..0,
                replacement: "# syntax=docker/dockerfile:1\n".to_string(),
            });
        }
        // `env=` on secret mounts needs Dockerfile frontend 1.10: lift an older pinned syntax.
        let uses_env = edits.iter().any(|e| e.replacement.contains(",env="));
        if let Some(directive) = self.df.directive("syntax").filter(|_| uses_env) {
            if frontend_before_1_10(&directive.value) {
                edits.push(Edit {
                    span: directive.span.clone(),
                    replacement: "# syntax=docker/dockerfile:1".to_string(),
                });
            }
        }
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        edits.dedup();

        let applicability = if manual || edits.is_empty() {
            Applicability::Manual
        } else {
            Applicability::Unsafe
        };
        let mut suggestion = Suggestion::new(
            "Mount the npm credentials as a BuildKit secret instead of passing a token",
            applicability,
        );
        suggestion.edits = edits;
        let env_used = suggestion
            .edits
            .iter()
            .any(|e| e.replacement.contains(",env="));
        if env_used {
            let mut names: Vec<String> = env_secrets.iter().map(|(_, n)| n.clone()).collect();
            if yarn_berry {
                names.push("YARN_NPM_AUTH_TOKEN".to_string());
            }
            let secrets: Vec<String> = names
                .iter()
                .map(|n| format!("--secret id={},env={n}", n.to_ascii_lowercase()))
                .collect();
            suggestion = suggestion.note(format!("docker build {} .", secrets.join(" ")));
        }
        for note in self.notes(stage).into_iter().skip(usize::from(env_used)) {
            suggestion = suggestion.note(note);
        }
        if mount.contains("target=/run/secrets/npmrc") {
            suggestion = suggestion.note(
                "USER is a numeric id: run npm with NPM_CONFIG_USERCONFIG=/run/secrets/npmrc (or set target= to that user's home/.npmrc)",
            );
        }
        if manual {
            suggestion = suggestion.note(format!(
                "rewrite the install step by hand: RUN {mount} npm ci"
            ));
        }
        suggestion
    }

    /// Rewrite for a `COPY` of an `.npmrc`: drop it from the list (or ignore it for `COPY . .`)
    /// and mount it as a secret where npm runs.
    fn copy_rewrite(
        &self,
        ctx: &FileCtx<'_>,
        inst: &Instruction,
        src: &dockerfile::Word,
        whole_context: bool,
    ) -> Suggestion {
        let mut suggestion = self.rewrite(ctx, inst.stage);
        let Args::Copy { sources, .. } = &inst.args else {
            return suggestion;
        };
        if whole_context {
            suggestion =
                suggestion.note("add `.npmrc` to .dockerignore so `COPY . .` leaves it out");
        } else if sources.len() > 1 {
            let end = sources
                .iter()
                .chain(dest_of(inst))
                .skip_while(|s| s.span != src.span)
                .nth(1)
                .map_or(src.span.end, |n| n.span.start);
            suggestion.edits.push(Edit {
                span: src.span.start..end,
                replacement: String::new(),
            });
        } else {
            suggestion.edits.push(Edit {
                span: whole_lines(self.text, inst.span.clone()),
                replacement: String::new(),
            });
        }
        let mount = self.mount_flag(inst.stage);
        let npm_run =
            self.runs.iter().find(|r| {
                r.inst
                    > self
                        .df
                        .instructions
                        .iter()
                        .position(|i| std::ptr::eq(i, inst))
                        .unwrap_or(0)
                    && self.df.instructions.get(r.inst).is_some_and(|i| {
                        i.stage == inst.stage && i.mounts("secret").next().is_none()
                    })
                    && top_level(&r.script).any(is_package_manager)
            });
        if let Some(run) = npm_run.and_then(|r| self.df.instructions.get(r.inst)) {
            let at = run.keyword_span.end;
            if !suggestion.edits.iter().any(|e| e.span == (at..at)) {
                suggestion.edits.push(Edit {
                    span: at..at,
                    replacement: format!(" {mount}"),
                });
            }
        }
        if self.df.directive("syntax").is_none()
            && !suggestion.edits.iter().any(|e| e.span == (0..0))
        {
            suggestion.edits.push(Edit {
                span: 0..0,
                replacement: "# syntax=docker/dockerfile:1\n".to_string(),
            });
        }
        suggestion.edits.sort_by_key(|e| (e.span.start, e.span.end));
        suggestion.edits.dedup();
        if !suggestion.edits.is_empty() && suggestion.applicability == Applicability::Manual {
            suggestion.applicability = Applicability::Unsafe;
        }
        suggestion
    }

    /// Indexes (among top-level commands) of the commands that set up or tear down npm auth.
    fn commands_to_drop(&self, run: &Run) -> Vec<usize> {
        let commands: Vec<&shell::Command> = top_level(&run.script).collect();
        let mut drop = Vec::new();
        for fact in &run.facts {
            let droppable = matches!(
                fact.kind,
                FactKind::ConfigFileWrite { .. }
                    | FactKind::ConfigSet { .. }
                    | FactKind::ConfigFileRemove { .. }
                    | FactKind::ConfigDelete { .. }
                    | FactKind::Login { .. }
            );
            if !droppable {
                continue;
            }
            let Some(command) = run.script.commands.get(fact.command) else {
                continue;
            };
            if command.depth > 0 {
                continue;
            }
            // A write through a pipeline (`echo | tee`) goes with the whole pipeline.
            for (i, c) in commands.iter().enumerate() {
                let same = if matches!(fact.kind, FactKind::ConfigFileWrite { .. }) {
                    c.pipeline == command.pipeline
                } else {
                    std::ptr::eq(*c, command)
                };
                if same && !drop.contains(&i) {
                    drop.push(i);
                }
            }
        }
        drop.sort_unstable();
        drop
    }

    /// `--mount=type=secret,...` with the target in the home of the stage's `USER`.
    fn mount_flag(&self, stage: Option<usize>) -> String {
        let user = self.user_of(stage);
        let user = user.split(':').next().unwrap_or("").trim().to_string();
        match user.as_str() {
            "" | "root" | "0" => "--mount=type=secret,id=npmrc,target=/root/.npmrc".to_string(),
            "node" => "--mount=type=secret,id=npmrc,target=/home/node/.npmrc,uid=1000".to_string(),
            numeric if numeric.chars().all(|c| c.is_ascii_digit()) => {
                format!("--mount=type=secret,id=npmrc,target=/run/secrets/npmrc,uid={numeric}")
            }
            name => format!("--mount=type=secret,id=npmrc,target=/home/{name}/.npmrc,mode=0444"),
        }
    }

    /// The `USER` in effect at the end of `stage` (following `FROM <stage>` chains).
    fn user_of(&self, stage: Option<usize>) -> String {
        let mut current = stage;
        for _ in 0..=self.df.stages.len() {
            let Some(s) = current else {
                return String::new();
            };
            let user = self
                .df
                .instructions
                .iter()
                .filter(|i| i.stage == Some(s))
                .filter_map(|i| match &i.args {
                    Args::User(Some(u)) => Some(u.value.clone()),
                    _ => None,
                })
                .next_back();
            if let Some(u) = user {
                return u;
            }
            current = self
                .df
                .stages
                .get(s)
                .and_then(|st| self.df.stage_named(&st.base))
                .filter(|&b| b < s);
        }
        String::new()
    }

    fn notes(&self, stage: Option<usize>) -> Vec<String> {
        let arg = self
            .df
            .instructions
            .iter()
            .filter(|i| i.stage == stage || i.stage.is_none())
            .filter_map(|i| match &i.args {
                Args::Arg(p) => p.first().map(|kv| kv.key.clone()),
                _ => None,
            })
            .find(|k| shell_auth::is_token_variable(k) || self.uses.iter().any(|u| &u.var == k));
        let instead = arg.map_or(String::new(), |a| {
            format!("; instead of --build-arg {a}=...")
        });
        let host = self.registry_host();
        let mut notes = vec![
            format!("docker build --secret id=npmrc,src=$HOME/.npmrc .   # or docker buildx build{instead}"),
            "with Compose: add `secrets: [npmrc]` under the service's `build:`, and a top-level `secrets: {npmrc: {file: ~/.npmrc}}`".to_string(),
            format!("token in an environment variable instead (Dockerfile 1.10+): RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci, with the committed .npmrc line //{host}/:_authToken=${{NPM_TOKEN}}, built with docker build --secret id=npm_token,env=NPM_TOKEN ."),
        ];
        // The token line fits the job: none for another registry, publish advice for a build
        // that publishes (a read-only token cannot).
        if host == "registry.npmjs.org" {
            notes.push(if self.publishes(stage) {
                PUBLISH_NOTE.to_string()
            } else {
                TOKEN_NOTE.to_string()
            });
        }
        notes
    }

    /// Whether a `RUN` of the stage publishes a package.
    fn publishes(&self, stage: Option<usize>) -> bool {
        self.runs.iter().any(|r| {
            self.df
                .instructions
                .get(r.inst)
                .is_some_and(|i| i.stage == stage)
                && r.script.commands.iter().any(|c| {
                    let words: Vec<&str> = c.words.iter().map(|w| w.value.as_str()).collect();
                    matches!(
                        words.as_slice(),
                        [_, "publish", ..] | ["yarn", "npm", "publish", ..]
                    ) && matches!(c.base_name(), Some("npm" | "pnpm" | "yarn" | "bun"))
                })
        })
    }

    /// The registry host the file writes credentials for (`//host/:_authToken`), npmjs by default.
    fn registry_host(&self) -> String {
        static HOST: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"//([A-Za-z0-9.-]+)[^\s:]*:_(?:authToken|auth|password)")
                .unwrap_or_else(|e| unreachable!("static regex: {e}"))
        });
        let hosts: Vec<&str> = HOST
            .captures_iter(self.text)
            .filter_map(|c| c.get(1).map(|m| m.as_str()))
            .collect();
        match hosts
            .iter()
            .find(|h| **h == "registry.npmjs.org")
            .or(hosts.first())
        {
            Some(h) => h.to_string(),
            None => "registry.npmjs.org".to_string(),
        }
    }
}

/// Whether a `syntax` directive pins a Dockerfile frontend older than 1.10 (`docker/dockerfile:1.4`).
fn npmrc_named(path: &str) -> bool {
    Path::new(path).file_name().and_then(|n| n.to_str()) == Some(".npmrc")
}

fn frontend_before_1_10(value: &str) -> bool {
    let Some(version) = value
        .split('@')
        .next()
        .and_then(|v| v.strip_prefix("docker/dockerfile:"))
    else {
        return false;
    };
    let mut parts = version.split(['.', '-']);
    let major = parts.next().and_then(|p| p.parse::<u32>().ok());
    let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
    matches!((major, minor), (Some(0), _) | (Some(1), Some(0..=9)))
}

/// `--mount` giving a secret to npm through the environment variable it already reads.
fn env_mount(name: &str) -> String {
    format!(
        "--mount=type=secret,id={},env={name}",
        name.to_ascii_lowercase()
    )
}

/// How a variable reaches auth through a copied `.npmrc` (npm reads it from the environment,
/// so the rewrite mounts it as an `env=` secret).
const COPIED_NPMRC_USE: &str = "read by npm from the copied .npmrc";

/// How an `ENV` alias reaches auth (such uses are not file writes).
const ENV_USE: &str = "copied into an `ENV` that reaches npm auth";
const ENV_TOKEN_USE: &str = "copied into an npm token variable with `ENV`";

/// What `npm config set` writes to, for messages and matching removals.
const USER_CONFIG: &str = "the user npm config";

const PUBLISH_NOTE: &str = "this build publishes, which a read-only token cannot: publish from a CI job with trusted publishing (OIDC, no token) instead of inside the image build; failing that, a stage-only granular token (npm token create --name=docker-publish --packages-and-scopes-permission=read-write-stage-only --expires=90) and `npm stage publish` (npm >= 11.20.0, 2026-09-21; stage-only tokens since 2026-09-18, npm changelog), approved by a maintainer with 2FA";

const TOKEN_NOTE: &str = "npm token create --name=docker-build --packages-and-scopes-permission=read-only --packages-all --expires=90   # a read-only granular token for installs";

fn dest_of(inst: &Instruction) -> Option<&dockerfile::Word> {
    match &inst.args {
        Args::Copy { dest, .. } => dest.as_ref(),
        _ => None,
    }
}

fn is_auth_setup(fact: &Fact) -> bool {
    matches!(
        fact.kind,
        FactKind::ConfigFileWrite { .. } | FactKind::ConfigSet { .. } | FactKind::Login { .. }
    )
}

fn same_file(kind: &FactKind, path: &str) -> bool {
    let removed = match kind {
        FactKind::ConfigFileRemove { path } => path,
        FactKind::ConfigDelete { .. } => return path == USER_CONFIG,
        _ => return false,
    };
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    removed == path || base(removed) == base(path) || path == USER_CONFIG
}

/// A command that talks to the registry (installs, publishes, runs packages): the step that
/// needs the credentials. Build scripts (`npm run build`) do not.
fn is_package_manager(command: &shell::Command) -> bool {
    let words = shell_auth::effective_words(command);
    let name = words
        .first()
        .map(|w| w.value.rsplit('/').next().unwrap_or(""))
        .unwrap_or("");
    let sub = words
        .iter()
        .skip(1)
        .map(|w| w.value.as_str())
        .find(|v| !v.starts_with('-'));
    match name {
        "npx" | "bunx" | "pnpx" => true,
        "npm" => matches!(
            sub,
            Some(
                "ci" | "install"
                    | "i"
                    | "add"
                    | "update"
                    | "up"
                    | "upgrade"
                    | "publish"
                    | "exec"
                    | "x"
                    | "dedupe"
                    | "outdated"
                    | "audit"
                    | "view"
                    | "info"
                    | "install-ci-test"
                    | "install-test"
                    | "it"
                    | "cit"
            )
        ),
        "yarn" => matches!(
            sub,
            None | Some("install" | "add" | "upgrade" | "up" | "dlx" | "npm" | "publish")
        ),
        "pnpm" => matches!(
            sub,
            Some("install" | "i" | "add" | "update" | "up" | "fetch" | "publish" | "dlx")
        ),
        "bun" => matches!(
            sub,
            Some("install" | "i" | "add" | "update" | "publish" | "x")
        ),
        _ => false,
    }
}

/// File ranges removing the commands `drop` (indexes into `commands`) with their separators.
fn drop_ranges(commands: &[&shell::Command], drop: &[usize], mapped: &MappedText) -> Vec<Span> {
    let span = |i: usize| commands.get(i).map(|c| mapped.to_source(c.span.clone()));
    let mut out = Vec::new();
    let mut i = 0;
    while i < commands.len() {
        if !drop.contains(&i) {
            i += 1;
            continue;
        }
        let first = i;
        while drop.contains(&(i + 1)) {
            i += 1;
        }
        let last = i;
        let range = match (
            span(last + 1),
            first.checked_sub(1).and_then(span),
            span(first),
            span(last),
        ) {
            (Some(next), _, Some(a), _) => Some(a.start..next.start),
            (None, Some(prev), _, Some(b)) => Some(prev.end..b.end),
            _ => None,
        };
        out.extend(range);
        i += 1;
    }
    out
}

/// `span` widened to whole lines, with the line break after it.
fn whole_lines(text: &str, span: Span) -> Span {
    let start = text
        .get(..span.start)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |n| n + 1);
    let end = text
        .get(span.end..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |n| span.end + n + 1);
    start..end
}

/// Whether an `.npmrc` text holds a credential: an auth key with a value that is not just an
/// environment reference.
pub fn npmrc_has_credential(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            return false;
        }
        let Some((key, value)) = line.split_once('=') else {
            return false;
        };
        let key = key.trim().to_ascii_lowercase();
        let auth = ["_authtoken", "_auth", "_password"]
            .iter()
            .any(|k| key.ends_with(k));
        let value = value.trim().trim_matches('"');
        auth && !value.is_empty() && token::whole_env_ref(value).is_none()
    })
}

/// The nearest folder from `dir` up to the repository root (the folder holding `.git`, at most
/// a few levels up) where `rel` exists.
fn find_context(dir: &Path, rel: &str) -> Option<std::path::PathBuf> {
    let mut current = Some(dir);
    for _ in 0..6 {
        let here = current?;
        if here.join(rel).is_file() {
            return Some(here.to_path_buf());
        }
        if here.join(".git").exists() {
            return None;
        }
        current = here.parent();
    }
    None
}

/// Whether `.dockerignore` in the build context excludes `rel` (last matching pattern wins,
/// `!` re-includes).
fn dockerignored(ignore: &str, rel: &str) -> bool {
    let mut excluded = false;
    for line in ignore.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (negate, pattern) = match line.strip_prefix('!') {
            Some(p) => (true, p.trim()),
            None => (false, line),
        };
        let pattern = pattern.trim_start_matches("./").trim_start_matches('/');
        let Ok(glob) = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
        else {
            continue;
        };
        let matcher = glob.compile_matcher();
        // A pattern naming a folder excludes what is below it too.
        let mut hit = matcher.is_match(rel);
        let mut prefix = String::new();
        for part in rel.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            hit |= matcher.is_match(&prefix);
        }
        if hit {
            excluded = !negate;
        }
    }
    excluded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use crate::scan::{scan_text, ScanSettings};
    use proptest::prelude::*;

    fn scan(text: &str) -> Vec<(String, Severity)> {
        let settings = ScanSettings {
            min_severity: Severity::Info,
            ..ScanSettings::default()
        };
        scan_text("Dockerfile", text, &settings)
            .findings
            .into_iter()
            .map(|f| (f.rule.to_string(), f.severity))
            .collect()
    }

    #[test]
    fn secret_mount_reads_and_file_names_are_not_flagged() {
        let text = "FROM node\nARG NPM_TOKEN_FILE\nRUN --mount=type=secret,id=t NPM_TOKEN=$(cat /run/secrets/t) npm ci\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci\n";
        assert!(scan(text).is_empty(), "{:?}", scan(text));
    }

    #[test]
    fn placeholders_the_shell_leaves_alone_put_no_credential_in_the_layer() {
        let layer = |text: &str| scan(text).iter().any(|(r, _)| r == LAYER_RULE);
        let single =
            "FROM node\nRUN echo '//registry.npmjs.org/:_authToken=${NPM_TOKEN}' >> ~/.npmrc\n";
        assert!(!layer(single));
        let heredoc = "FROM node\nRUN cat <<'EOF' > ~/.npmrc\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\nEOF\n";
        assert!(!layer(heredoc));
        let expanded = "FROM node\nARG NPM_TOKEN\nRUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" >> ~/.npmrc\n";
        assert!(layer(expanded));
        let literal =
            "FROM node\nRUN echo '//registry.npmjs.org/:_authToken=abcdef0123456789' >> ~/.npmrc\n";
        assert!(layer(literal));
    }

    #[test]
    fn a_stage_placeholder_copied_into_the_image_is_no_credential() {
        let copied = |write: &str| {
            let text = format!(
                "FROM node AS build\nARG NPM_TOKEN\nWORKDIR /app\n{write}\nRUN npm ci\n\
                 FROM node\nCOPY --from=build /app/.npmrc ./\n"
            );
            scan(&text).iter().any(|(r, _)| r == COPY_RULE)
        };
        assert!(!copied(
            "RUN echo '//registry.npmjs.org/:_authToken=${NPM_TOKEN}' > .npmrc"
        ));
        assert!(copied(
            "RUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc"
        ));
    }

    #[test]
    fn removal_in_the_same_run_is_medium_and_builder_stages_are_lower() {
        let same_run =
            "FROM node\nRUN echo \"//r/:_authToken=$T\" > .npmrc && npm ci && rm .npmrc\n";
        assert!(scan(same_run).contains(&(LAYER_RULE.to_string(), Severity::Medium)));
        let builder =
            "FROM node AS build\nRUN echo \"//r/:_authToken=$T\" > .npmrc && npm ci\nFROM nginx\n";
        assert!(scan(builder).contains(&(LAYER_RULE.to_string(), Severity::Medium)));
        let final_stage =
            "FROM node AS build\nFROM build\nRUN echo \"//r/:_authToken=$T\" > .npmrc\n";
        assert!(scan(final_stage).contains(&(LAYER_RULE.to_string(), Severity::High)));
    }

    #[test]
    fn literal_values_are_hardcoded_tokens_and_never_shown() {
        let text =
            "FROM node\nARG NPM_TOKEN=s3cr3t-value-123\nENV NODE_AUTH_TOKEN=another-literal-456\n";
        let settings = ScanSettings {
            min_severity: Severity::Info,
            ..ScanSettings::default()
        };
        let outcome = scan_text("Dockerfile", text, &settings);
        let rules: Vec<&str> = outcome.findings.iter().map(|f| f.rule).collect();
        assert!(
            rules.contains(&LITERAL_RULE) && rules.contains(&ARG_RULE) && rules.contains(&ENV_RULE)
        );
        for f in &outcome.findings {
            let shown = format!("{} {} {:?}", f.message, f.snippet, f.suggestion);
            assert!(
                !shown.contains("s3cr3t-value-123") && !shown.contains("another-literal-456"),
                "{shown}"
            );
        }
    }

    #[test]
    fn literals_written_to_npmrc_are_reported_and_hidden() {
        for text in [
            "FROM node\nRUN echo \"//r/:_authToken=literal-token-0001\" > .npmrc && npm ci\n",
            "FROM node\nRUN npm config set //r/:_authToken \"literal-token-0001\" && npm ci\n",
            "FROM node\nRUN npm config set //r/:_authToken=literal-token-0001 && npm ci\n",
        ] {
            let outcome = scan_text("Dockerfile", text, &ScanSettings::default());
            assert!(
                outcome.findings.iter().any(|f| f.rule == LITERAL_RULE),
                "{text}"
            );
            for f in &outcome.findings {
                let shown = format!("{} {} {:?}", f.message, f.snippet, f.suggestion);
                assert!(!shown.contains("literal-token-0001"), "{shown}");
            }
        }
    }

    #[test]
    fn target_follows_the_user() {
        let text = "FROM node\nUSER node\nARG NPM_TOKEN\nRUN echo \"//r/:_authToken=$NPM_TOKEN\" > ~/.npmrc && npm ci\n";
        let settings = ScanSettings::default();
        let outcome = scan_text("Dockerfile", text, &settings);
        let diff = outcome
            .findings
            .first()
            .and_then(|f| f.suggestion.as_ref())
            .map(|s| s.diff.clone())
            .unwrap_or_default();
        assert!(
            diff.contains(
                "+RUN --mount=type=secret,id=npmrc,target=/home/node/.npmrc,uid=1000 npm ci"
            ),
            "{diff}"
        );
        assert!(
            diff.contains("-ARG NPM_TOKEN") && diff.contains("+# syntax=docker/dockerfile:1"),
            "{diff}"
        );
    }

    /// Applies every Dockerfile rewrite of `text` and returns the rewritten text.
    fn fixed(text: &str) -> String {
        let outcome = scan_text("Dockerfile", text, &ScanSettings::default());
        let mut edits: Vec<(Span, String)> = outcome
            .findings
            .iter()
            .filter(|f| f.rule != LITERAL_RULE)
            .filter_map(|f| f.suggestion.as_ref())
            .flat_map(|s| {
                s.edits
                    .iter()
                    .map(|e| (e.span.clone(), e.replacement.clone()))
            })
            .collect();
        edits.sort_by_key(|(s, _)| (s.start, s.end));
        edits.dedup();
        crate::edit::apply_replacements(text, &edits)
    }

    #[test]
    fn rewrites_re_lint_clean() {
        let cases = [
            include_str!("../../fixtures/dockerfile-token-arg/bad/services/api/Dockerfile"),
            include_str!("../../fixtures/dockerfile-npmrc-in-layer/bad/Dockerfile"),
            include_str!("../../fixtures/dockerfile-npmrc-in-layer/bad/docker/Dockerfile.ci"),
            include_str!("../../fixtures/dockerfile-token-env/bad/Dockerfile"),
            include_str!("../../fixtures/npm-login-in-automation/bad/Dockerfile"),
            "FROM node\nUSER app\nARG NPM_TOKEN\nRUN npm config set //r/:_authToken=$NPM_TOKEN && npm ci && npm config rm //r/:_authToken\n",
        ];
        for case in cases {
            let after = fixed(case);
            let left: Vec<String> = scan(&after)
                .into_iter()
                .map(|(r, _)| r)
                .filter(|r| r != LITERAL_RULE)
                .collect();
            assert!(left.is_empty(), "{case}\n=> {after}\nstill: {left:?}");
            assert!(
                after.starts_with("# syntax=docker/dockerfile:1\n"),
                "{after}"
            );
            assert!(after.contains("--mount=type=secret,id="), "{after}");
            assert_eq!(fixed(&after), after, "a second pass changes nothing");
        }
    }

    const FRAGMENTS: &[&str] = &[
        "FROM a AS b\n",
        "FROM b\n",
        "ARG NPM_TOKEN\n",
        "ENV NPM_TOKEN=$NPM_TOKEN\n",
        "USER 1000\n",
        "USER node\n",
        "RUN ",
        "echo \"//r/:_authToken=${NPM_TOKEN}\" ",
        "> .npmrc ",
        "| tee .npmrc ",
        "&& ",
        "; ",
        "npm ci ",
        "rm -f .npmrc ",
        "\\\n",
        "<<EOF\n",
        "EOF\n",
        "COPY .npmrc . ",
        "COPY . .\n",
        "npm login ",
        "\n",
        "é",
        "\"",
        "npm config set //r/:_authToken $T ",
        "--mount=type=secret,id=x ",
        "[\"sh\", \"-c\", \"",
        "\"]",
        "# syntax=docker/dockerfile:1\n",
        "$(",
        ")",
        "`",
    ];

    proptest! {
        #[test]
        fn checks_never_panic(parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40)) {
            let text: String = parts.concat();
            let _ = scan(&text);
        }
    }

    #[test]
    fn credential_detection_in_npmrc_text() {
        assert!(npmrc_has_credential(
            "//registry.npmjs.org/:_authToken=abc123"
        ));
        assert!(npmrc_has_credential("_auth = \"dXNlcjpwYXNz\""));
        assert!(!npmrc_has_credential(
            "//registry.npmjs.org/:_authToken=${NPM_TOKEN}"
        ));
        assert!(!npmrc_has_credential("registry=https://r\n# _authToken=x"));
    }

    #[test]
    fn dockerignore_patterns() {
        assert!(!dockerignored("node_modules\n", ".npmrc"));
        assert!(dockerignored("# secrets\n.npmrc\n", ".npmrc"));
        assert!(dockerignored("**/.npmrc\n", "sub/.npmrc"));
        assert!(dockerignored("*\n!package.json\n", ".npmrc"));
        assert!(!dockerignored(".*\n!.npmrc\n", ".npmrc"));
        assert!(dockerignored("config\n", "config/.npmrc"));
    }

    #[test]
    fn old_frontends_are_recognised() {
        assert!(frontend_before_1_10("docker/dockerfile:1.4"));
        assert!(frontend_before_1_10("docker/dockerfile:1.9-labs"));
        assert!(!frontend_before_1_10("docker/dockerfile:1"));
        assert!(!frontend_before_1_10("docker/dockerfile:1.10"));
        assert!(!frontend_before_1_10("docker.io/docker/dockerfile:1.4"));
    }

    #[test]
    fn whole_lines_includes_the_line_break() {
        let text = "A\n  ARG X\nB";
        assert_eq!(&text[whole_lines(text, 4..9)], "  ARG X\n");
        assert_eq!(&text[whole_lines(text, 10..11)], "B");
    }
}
