//! The suggestions and span edits the CI rules share: trusted-publishing rewrites, permission
//! and ID-token insertions, Node/npm upgrades and token removals.

use super::*;

pub(super) fn read_only_token() -> Suggestion {
    Suggestion::new(
        "Use a read-only granular token for installs",
        Applicability::Manual,
    )
    .note("npm token create --name=ci-install --packages-all --packages-and-scopes-permission=read-only --expires=90")
}

/// A publish job where npm accepts no OIDC token: the shared stage-only advice (see
/// [`crate::advice::without_trusted_publishing`]).
pub(super) fn granular_token_suggestion(
    ctx: &FileCtx<'_>,
    system: System,
    self_hosted: bool,
) -> Suggestion {
    let (pkg, _) = package_info(ctx);
    let mut s = crate::advice::stage_suggestion(
        &crate::advice::ci_slug(system.display()),
        system.display(),
        &pkg,
        self_hosted,
    );
    if names_secret_store(system) {
        for note in &mut s.notes {
            if note.starts_with("store the token as a CI secret") {
                *note = format!(
                    "store the token as {}, read only by the publish step, and rotate it before it expires (write tokens live at most 90 days: npm changelog, 2025-09-29)",
                    system.secret_store()
                );
            }
        }
    }
    s
}

/// Systems whose own secret store the hardcoded-token advice names (the systems whose
/// secrets are not configured as masked variables in project settings).
pub(super) fn names_secret_store(system: System) -> bool {
    matches!(
        system,
        System::Jenkins | System::Drone | System::Woodpecker | System::Buildkite | System::OneDev
    )
}

/// What a publish helper needs before it can publish with OIDC.
pub(super) fn tool_notes(mut s: Suggestion, tool: &str) -> Suggestion {
    if tool.contains("semantic-release") {
        s = s.note(
            "needs @semantic-release/npm >= 13.1.0 (released 2025-10-19) for trusted publishing",
        );
    }
    if tool.contains("changeset") {
        s = s.note("needs changesets/action >= 1.7.0 (writes no token when NPM_TOKEN is unset)");
    }
    if tool.contains("JS-DevTools/npm-publish") {
        s = s.note("needs JS-DevTools/npm-publish >= 4.1.0 (token optional with OIDC since v4.1.0, 2025-09-22)");
    }
    if tool.contains("bun publish") {
        s = s.note("`bun publish` cannot use OIDC (oven-sh/bun#22423, open as of 2026-12-01): publish with `npm publish` or `bunx npm@latest publish` instead");
    }
    if tool.contains("yarn npm publish") {
        s = s.note("needs Yarn >= 4.10.0 for OIDC in `yarn npm publish` (yarnpkg/berry#6898)");
    }
    s
}

pub(super) fn remove_tokens_suggestion(
    ctx: &FileCtx<'_>,
    job: &Job,
    tokens: &[JobToken],
) -> Suggestion {
    let mut s = Suggestion::new(
        "Remove the long-lived token from the publish step",
        Applicability::Unsafe,
    );
    s.edits = token_removal_edits(ctx, job, tokens);
    s = script_write_notes(ctx, tokens, s);
    s.note("with an OIDC token available, npm publishes with it when the exchange succeeds; Yarn uses a configured token first")
        .note("once publishing works without it, revoke the token and delete the CI secret")
        .note("if `npm ci` installs private packages, give that step a read-only granular token")
}

pub(super) fn trusted_publishing_rewrite(
    ctx: &FileCtx<'_>,
    p: &Pipeline,
    job: &Job,
    steps: &[StepFacts],
    publish_step: usize,
    publish: &Publish,
    tokens: &[JobToken],
) -> Suggestion {
    let system = p.system;
    let mut s = Suggestion::new(
        format!(
            "Publish with trusted publishing (OIDC) from {}",
            system.display()
        ),
        Applicability::Unsafe,
    );
    let (mut edits, _) = oidc_edits(ctx, p, job, &job.oidc, publish_step);
    edits.extend(token_removal_edits(ctx, job, tokens));
    edits.extend(runtime_edits(
        ctx,
        system,
        job,
        steps,
        publish_step,
        publish,
    ));
    for step in &job.steps {
        if let Some(a) = &step.action {
            let major = a.version.as_deref().and_then(|v| {
                v.trim_start_matches('v')
                    .split('.')
                    .next()?
                    .parse::<u64>()
                    .ok()
            });
            if a.name == "js-devtools/npm-publish" && major.is_some_and(|m| m < 4) {
                // v4.1.0 made `token` optional for OIDC; `@v4` resolves to the latest 4.x.
                if let Some(at) = ctx.text.get(a.span.clone()).and_then(|t| t.rfind('@')) {
                    edits.push(edit(a.span.start + at + 1..a.span.end, "v4"));
                }
            }
        }
    }
    s.edits = normalize(edits);
    s = script_write_notes(ctx, tokens, s);
    if system == System::GithubAction {
        s = s.note("composite action: the calling workflow's job must grant `permissions: id-token: write`");
    }
    s = trust_notes(ctx, system, job, s);
    if system == System::CircleCi {
        s = s.note("then remove NPM_TOKEN from the project settings / context");
    }
    s = tool_notes(s, &publish.tool);
    s.note("the package must already exist on npm (the first publish needs a token); installs of private packages still need a read-only token")
        .note("after the first OIDC publish: revoke the token, and set the package to \"Require two-factor authentication and disallow tokens\"")
}

/// The Node/npm move a job needs before npm can publish with OIDC (Node >= 22.14, npm >= 11.5.1):
/// an older Node raised to 24, an older pinned `npm install -g npm@x` raised to 11.5.1 in place
/// (a pin stays a pin), otherwise an upgrade step before the publish.
pub(super) fn runtime_edits(
    ctx: &FileCtx<'_>,
    system: System,
    job: &Job,
    steps: &[StepFacts],
    publish_step: usize,
    publish: &Publish,
) -> Vec<crate::finding::Edit> {
    let npm_upgrade = steps.iter().any(|s| s.facts.npm_upgrade);
    let version = job
        .node
        .as_ref()
        .and_then(|n| parse_node_version(&n.version).map(|v| (n, v)));
    let needs_npm = match version {
        Some((n, v)) if !node_at_least_22_14(v) => return node_edit(ctx, n).into_iter().collect(),
        Some((_, v)) => !node_bundles_oidc_npm(v) && !npm_upgrade,
        None => !npm_upgrade && !publish.yarn_berry,
    };
    if !needs_npm {
        return Vec::new();
    }
    if let Some(pin) = old_npm_pin(ctx.text, job) {
        return vec![pin];
    }
    npm_upgrade_edit(ctx, system, job, publish_step)
        .into_iter()
        .collect()
}

/// `npm install -g npm@10.8.0` in a step of the job: the version raised to the first release
/// trusted publishing works with.
fn old_npm_pin(text: &str, job: &Job) -> Option<crate::finding::Edit> {
    static PIN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"\bnpm\s+(?:install|i|add)\s+(?:-g|--global)\s+npm@(\d+(?:\.\d+){0,2})\b",
        )
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    for script in job.steps.iter().flat_map(|s| &s.scripts) {
        let Some(body) = text.get(script.span.clone()) else {
            continue;
        };
        for c in PIN.captures_iter(body) {
            let m = c.get(1)?;
            let v = parse_node_version(m.as_str())?;
            let at_least = (v.0, v.1.unwrap_or(0), v.2.unwrap_or(0)) >= (11, 5, 1);
            if !at_least {
                let start = script.span.start + m.start();
                return Some(edit(start..script.span.start + m.end(), "11.5.1"));
            }
        }
    }
    None
}

/// How to register the trusted publisher on npmjs.com for this job (`npm trust ...`).
pub(super) fn trust_notes(
    ctx: &FileCtx<'_>,
    system: System,
    job: &Job,
    mut s: Suggestion,
) -> Suggestion {
    let (pkg, repo) = package_info(ctx);
    s = match system {
        System::GithubWorkflow | System::GithubAction => {
            // A job bound to a deployment environment is matched on it too.
            let env = job
                .body
                .as_ref()
                .and_then(|b| b.get("environment"))
                .and_then(|e| e.as_str().or_else(|| e.get("name").and_then(Node::as_str)))
                .filter(|e| !e.contains("${{"))
                .map(|e| format!(" --env {e}"))
                .unwrap_or_default();
            s.note(format!(
                "register the trusted publisher on npmjs.com (the workflow file name must match exactly): npm trust github {pkg} --file {} --repo {repo}{env}",
                if system == System::GithubAction { "<calling-workflow>.yml".to_string() } else { file_name(ctx) }
            ))
        }
        System::Gitlab => s.note(format!(
            "register the trusted publisher on npmjs.com (the top-level CI file, even when this job is included from another): npm trust gitlab {pkg} --file .gitlab-ci.yml --project {repo}"
        )).note("trusted publishing works on GitLab.com shared runners; add `SIGSTORE_ID_TOKEN: {aud: sigstore}` for provenance"),
        System::CircleCi => s.note(format!(
            "register the trusted publisher on npmjs.com: npm trust circleci {pkg} --org-id <org-uuid> --project-id <project-uuid> --pipeline-definition-id <pipeline-definition-uuid> --vcs-origin <vcs-origin>"
        )),
        _ => s,
    };
    s
}

/// Sorted edits with those inside an earlier deletion dropped.
pub(super) fn normalize(mut edits: Vec<crate::finding::Edit>) -> Vec<crate::finding::Edit> {
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out: Vec<crate::finding::Edit> = Vec::new();
    for e in edits {
        if let Some(last) = out.last() {
            if e.span.start < last.span.end {
                continue;
            }
            if e.span == last.span && e.replacement == last.replacement {
                continue;
            }
        }
        out.push(e);
    }
    out
}

pub(super) fn edit(span: Span, replacement: impl Into<String>) -> crate::finding::Edit {
    crate::finding::Edit {
        span,
        replacement: replacement.into(),
    }
}

/// The job-level change that lets the job mint an npm OIDC token; `true` when it cannot change
/// anything else (adding one line to an existing job-level permissions block).
pub(super) fn oidc_edits(
    ctx: &FileCtx<'_>,
    p: &Pipeline,
    job: &Job,
    oidc: &crate::checks::ci::Oidc,
    publish_step: usize,
) -> (Vec<crate::finding::Edit>, bool) {
    let text = ctx.text;
    let nl = newline(text);
    // Line insertions need a block-style job; a flow mapping (`job: {...}`) gets no edits.
    if job
        .body
        .as_ref()
        .is_some_and(|b| text.get(b.span.start..).is_some_and(|t| t.starts_with('{')))
    {
        return (Vec::new(), false);
    }
    match p.system {
        System::GithubWorkflow => {
            let Some(body) = &job.body else {
                return (Vec::new(), false);
            };
            if job.oidc.configured {
                return (Vec::new(), true);
            }
            github_permissions(text, nl, p.root.as_ref(), body, job)
        }
        System::Gitlab => {
            if job.oidc.configured {
                return (Vec::new(), true);
            }
            let Some(body) = &job.body else {
                return (Vec::new(), false);
            };
            let Some(first) = body.as_mapping().and_then(|m| m.first()) else {
                return (Vec::new(), false);
            };
            let indent = column(text, first.key.span.start);
            let step = indent
                .saturating_sub(column(text, job.key_span.start))
                .max(2);
            if let Some(aud) = body.get_path(&["id_tokens", "NPM_ID_TOKEN", "aud"]) {
                // The token is there with the wrong audience: fix the audience in place.
                return (vec![edit(aud.span(), "\"npm:registry.npmjs.org\"")], true);
            }
            if let Some(ids) = body.get_entry("id_tokens") {
                if let Some(e) = ids.value.as_mapping().and_then(|m| m.last()) {
                    let at = entry_lines(text, &(e.key.span.start..e.value.span.end))
                        .map(|s| s.end)
                        .unwrap_or_else(|| next_line_start(text, e.value.span.end));
                    let col = column(text, e.key.span.start);
                    let add = edits::indent_lines(
                        &[
                            "NPM_ID_TOKEN:",
                            &format!("{}aud: \"npm:registry.npmjs.org\"", " ".repeat(step)),
                        ],
                        col,
                        nl,
                    );
                    return (vec![edit(at..at, add)], false);
                }
            }
            let at = body
                .get_entry("script")
                .filter(|e| !e.merged)
                .map(|e| line_start(text, e.key.span.start))
                .unwrap_or_else(|| line_start(text, first.key.span.start));
            let pad = " ".repeat(step);
            let add = edits::indent_lines(
                &[
                    "id_tokens:",
                    &format!("{pad}NPM_ID_TOKEN:"),
                    &format!("{pad}{pad}aud: \"npm:registry.npmjs.org\""),
                ],
                indent,
                nl,
            );
            (vec![edit(at..at, add)], false)
        }
        System::CircleCi => {
            if let Some(span) = &oidc.wrong_audience {
                return (circleci_audience(text, span).into_iter().collect(), true);
            }
            let Some(step) = job.steps.get(publish_step) else {
                return (Vec::new(), false);
            };
            let Some(dash) = item_start(text, step.span.start) else {
                return (Vec::new(), false);
            };
            let col = column(text, dash);
            let at = line_start(text, dash);
            // Inside `"$(...)"` the substitution is parsed afresh: its single quotes keep the
            // JSON as written, so the double quotes in it take no backslashes.
            let add = edits::indent_lines(
                &[
                    "- run:",
                    "    name: Request an npm OIDC token for trusted publishing",
                    "    command: |",
                    "      echo \"export NPM_ID_TOKEN=$(circleci run oidc get --claims '{\"aud\": \"npm:registry.npmjs.org\"}')\" >> \"$BASH_ENV\"",
                ],
                col,
                nl,
            );
            (vec![edit(at..at, add)], false)
        }
        _ => (Vec::new(), false),
    }
}

/// `circleci run oidc get` with another audience (or none): the npm audience in its claims.
pub(super) fn circleci_audience(text: &str, span: &Span) -> Option<crate::finding::Edit> {
    static AUD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(\\?"aud\\?"\s*:\s*\\?")([^"\\]*)"#)
            .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    let command = text.get(span.clone())?;
    // Single-quoted claims are passed as written: `\"` there stays a backslash and a quote, which
    // is not JSON. Rewrite the whole argument with plain quotes and the npm audience.
    if let Some(at) = command.find("--claims '") {
        let open = at + "--claims '".len();
        if let Some(len) = command[open..].find('\'') {
            let claims = command[open..open + len].replace("\\\"", "\"");
            let fixed = match AUD.captures(&claims).and_then(|c| c.get(2)) {
                Some(m) => format!(
                    "{}npm:registry.npmjs.org{}",
                    &claims[..m.start()],
                    &claims[m.end()..]
                ),
                None => r#"{"aud": "npm:registry.npmjs.org"}"#.to_string(),
            };
            if serde_json::from_str::<serde_json::Value>(&fixed).is_ok() {
                return Some(edit(span.start + open..span.start + open + len, fixed));
            }
        }
    }
    if let Some(c) = AUD.captures(command) {
        let m = c.get(2)?;
        return Some(edit(
            span.start + m.start()..span.start + m.end(),
            "npm:registry.npmjs.org",
        ));
    }
    let at = command.find("oidc get")? + "oidc get".len();
    Some(edit(
        span.start + at..span.start + at,
        " --claims '{\"aud\": \"npm:registry.npmjs.org\"}'",
    ))
}

pub(super) fn github_permissions(
    text: &str,
    nl: &str,
    root: Option<&Node>,
    body: &Node,
    job: &Job,
) -> (Vec<crate::finding::Edit>, bool) {
    let Some(first) = body.as_mapping().and_then(|m| m.first()) else {
        return (Vec::new(), false);
    };
    let indent = column(text, first.key.span.start);
    let step = indent
        .saturating_sub(column(text, job.key_span.start))
        .max(2);
    if let Some(perms) = body.get("permissions") {
        return (add_to_permissions(text, nl, perms), perms.is_mapping());
    }
    let mut lines: Vec<String> = vec!["permissions:".into()];
    match root.and_then(|r| r.get("permissions")) {
        Some(rp) if rp.is_mapping() => {
            // The job-level block replaces the workflow-level one: keep what it granted.
            for (k, v) in rp.iter_map() {
                let key = text.get(k.span()).unwrap_or("");
                let value = text.get(v.span()).unwrap_or("");
                if key == "id-token" {
                    continue;
                }
                lines.push(format!("{}{key}: {value}", " ".repeat(step)));
            }
        }
        _ => {
            for grant in default_grants(job) {
                lines.push(format!("{}{grant}", " ".repeat(step)));
            }
        }
    }
    lines.push(format!(
        "{}id-token: write  # trusted publishing to npm",
        " ".repeat(step)
    ));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let block = edits::indent_lines(&refs, indent, nl);
    let at = body
        .get_entry("runs-on")
        .and_then(|e| entry_lines(text, &(e.key.span.start..e.value.span.end)))
        .map(|s| s.end)
        .unwrap_or_else(|| line_start(text, first.key.span.start));
    (vec![edit(at..at, block)], false)
}

/// What a job with no `permissions:` anywhere still needs once a block is added (a block sets
/// every permission it does not name to none): release tools push tags and open pull requests.
pub(super) fn default_grants(job: &Job) -> &'static [&'static str] {
    let uses = |needle: &str| {
        job.steps.iter().any(|s| {
            s.action.as_ref().is_some_and(|a| a.name.contains(needle))
                || s.scripts.iter().any(|t| t.scalar.value().contains(needle))
        })
    };
    if uses("semantic-release") {
        &["contents: write", "issues: write", "pull-requests: write"]
    } else if uses("changesets/action") || uses("changeset version") {
        &["contents: write", "pull-requests: write"]
    } else {
        &["contents: read"]
    }
}

/// Adds `id-token: write` to an existing `permissions:` value.
pub(super) fn add_to_permissions(text: &str, nl: &str, perms: &Node) -> Vec<crate::finding::Edit> {
    let raw = text.get(perms.span()).unwrap_or("");
    if perms.is_mapping() && raw.starts_with('{') {
        let close = perms.span.end.saturating_sub(1);
        let inner = text.get(perms.span.start + 1..close).unwrap_or("").trim();
        return if inner.is_empty() {
            vec![edit(perms.span(), "{ id-token: write }")]
        } else {
            vec![edit(close..close, ", id-token: write ")]
        };
    }
    if let Some(last) = perms.as_mapping().and_then(|m| m.last()) {
        let col = column(text, last.key.span.start);
        let at = entry_lines(text, &(last.key.span.start..last.value.span.end))
            .map(|s| s.end)
            .unwrap_or_else(|| next_line_start(text, last.value.span.end));
        return vec![edit(
            at..at,
            format!("{}id-token: write{nl}", " ".repeat(col)),
        )];
    }
    // `read-all`, `write-all`, `{}` written as a scalar, or nothing at all (`permissions:`
    // with an empty value, which needs a space after the colon).
    let value = "{ contents: read, id-token: write }";
    if perms.span.is_empty()
        || text
            .get(..perms.span.start)
            .is_some_and(|b| b.ends_with(':'))
    {
        return vec![edit(perms.span(), format!(" {value}"))];
    }
    vec![edit(perms.span(), value)]
}

pub(super) fn node_edit(
    ctx: &FileCtx<'_>,
    n: &crate::checks::ci::NodeSetup,
) -> Option<crate::finding::Edit> {
    // CircleCI's convenience images are tagged with full versions (`cimg/node:24.11`), so they
    // get their `lts` tag; `node:18-alpine` becomes `node:24-alpine` (the span is the version
    // part); a setup-node/NodeTool version becomes `24` inside its quotes.
    if n.from_file.is_some() {
        // The version is written in another file (`.nvmrc`, a workflow input's default).
        return None;
    }
    let before = ctx.text.get(..n.span.start).unwrap_or("");
    let line = before.rsplit('\n').next().unwrap_or("");
    if before.ends_with("cimg/node:") || line.trim_start().starts_with("tag:") {
        return Some(edit(n.span.clone(), "lts"));
    }
    Some(edit(edits::unquoted(ctx.text, &n.span), "24"))
}

pub(super) fn npm_upgrade_edit(
    ctx: &FileCtx<'_>,
    system: System,
    job: &Job,
    publish_step: usize,
) -> Option<crate::finding::Edit> {
    let text = ctx.text;
    let step = job.steps.get(publish_step)?;
    let nl = newline(text);
    match system {
        System::GithubWorkflow | System::GithubAction => {
            let dash = item_start(text, step.span.start)?;
            let at = line_start(text, dash);
            let mut line =
                "- run: npm install -g npm@latest  # trusted publishing needs npm >= 11.5.1"
                    .to_string();
            if system == System::GithubAction {
                line.push_str(&format!(
                    "{nl}{}  shell: bash",
                    " ".repeat(column(text, dash))
                ));
            }
            Some(edit(
                at..at,
                edits::indent_lines(&[&line], column(text, dash), nl),
            ))
        }
        System::Gitlab | System::CircleCi => {
            let script = step.scripts.iter().find(|s| s.list_item)?;
            let dash = item_start(text, script.span.start)?;
            let at = line_start(text, dash);
            let line = if system == System::Gitlab {
                "- npm install -g npm@latest"
            } else {
                "- run: sudo npm install -g npm@latest"
            };
            Some(edit(
                at..at,
                edits::indent_lines(&[line], column(text, dash), nl),
            ))
        }
        _ => None,
    }
}

/// Deletes the token settings the publish step sees: env entries (the whole block when every
/// entry goes), token inputs, and the lines or steps that write the token into `.npmrc`.
pub(super) fn token_removal_edits(
    ctx: &FileCtx<'_>,
    job: &Job,
    tokens: &[JobToken],
) -> Vec<crate::finding::Edit> {
    let text = ctx.text;
    let mut out = Vec::new();
    let mut deleted_per_block: Vec<(Span, usize, usize, Span)> = Vec::new();
    for t in tokens {
        match &t.origin {
            Origin::Env(var) | Origin::Input(var) => {
                if let Some(block) = &var.block {
                    let key = block.key_span.clone();
                    match deleted_per_block.iter_mut().find(|(k, ..)| *k == key) {
                        Some(entry) => entry.1 += 1,
                        None => deleted_per_block.push((
                            key,
                            1,
                            block.entries,
                            block.value_span.clone(),
                        )),
                    }
                }
                if let Some(lines) = entry_lines(text, &var.entry_span) {
                    out.push(edit(lines, ""));
                }
            }
            Origin::Write(w, si) => {
                let Some(step) = job.steps.get(*si) else {
                    continue;
                };
                if let Some(e) = write_removal(text, step, w) {
                    out.push(e);
                }
            }
            Origin::Other => {}
        }
    }
    for (key, deleted, entries, value_span) in deleted_per_block {
        if deleted >= entries {
            if let Some(lines) = entry_lines(text, &(key.start..value_span.end)) {
                out.push(edit(lines, ""));
            }
        }
    }
    normalize(out)
}

/// Removing a write of the token: the script line when it stands alone, or the whole step when
/// the step does nothing else.
pub(super) fn write_removal(
    text: &str,
    step: &Step,
    w: &AuthWrite,
) -> Option<crate::finding::Edit> {
    let script = step
        .scripts
        .iter()
        .find(|s| s.span.start <= w.span.start && w.span.end <= s.span.end)?;
    let value = script.scalar.value().trim();
    let command = text.get(w.span.clone())?.trim();
    // A script the step runs (`./scripts/publish.sh`) that writes the token itself does more
    // than that: it stays, and the suggestion's note says what to change in it.
    if !writes_config_itself(command) {
        return None;
    }
    let only_command = value == command;
    if only_command && !script.list_item && step.list_item && step.action.is_none() {
        // `- run: echo ... > .npmrc`: the step goes.
        let dash = item_start(text, step.span.start)?;
        let lines = entry_lines(text, &(dash..step.span.end))?;
        return Some(edit(lines, ""));
    }
    if only_command && script.list_item {
        return whole_lines(text, &script.span).map(|l| edit(l, ""));
    }
    // One line out of a script: only in a literal block, where each line stands alone (in plain,
    // quoted and folded scalars the next line may continue this one).
    if script.scalar.style() != crate::parse::yaml::ScalarStyle::Literal {
        return None;
    }
    whole_lines(text, &w.span).map(|l| edit(l, ""))
}

/// Whether a command writes the npm config itself, rather than through a script it runs.
pub(super) fn writes_config_itself(command: &str) -> bool {
    let lower = command.to_ascii_lowercase();
    [
        ".npmrc",
        ".yarnrc",
        "_authtoken",
        "npmauthtoken",
        "_auth",
        "_password",
        "config set",
    ]
    .iter()
    .any(|m| lower.contains(m))
}

/// A note for each script the job runs that writes the token into a config file itself: the fix
/// keeps the call (the script also publishes), so the write must go from the script.
pub(super) fn script_write_notes(
    ctx: &FileCtx<'_>,
    tokens: &[JobToken],
    mut s: Suggestion,
) -> Suggestion {
    let mut seen = Vec::new();
    for t in tokens {
        let Origin::Write(w, _) = &t.origin else {
            continue;
        };
        let Some(command) = ctx.text.get(w.span.clone()).map(str::trim) else {
            continue;
        };
        if writes_config_itself(command) || seen.contains(&command) {
            continue;
        }
        seen.push(command);
        s = s.note(format!(
            "`{command}` writes the token into {} itself: delete that line from the script too (it keeps running here)",
            w.target
        ));
    }
    s
}
