//! `--format markdown`: the audit's summary and checklist for a pull-request comment, an issue
//! or `$GITHUB_STEP_SUMMARY`. GitHub renders a job summary of at most 1 MiB (and a comment of
//! at most 65,536 characters): the text is cut at a repository boundary to fit `max_bytes`, with
//! a note that says what was left out.

use std::fmt::Write as _;

use super::{plural, short_commit, Action, Audit, Checklist, Repo, Task};
use crate::finding::Severity;

/// GitHub's limit for one step's job summary.
pub const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;

/// Escapes text for Markdown inline context (table cells included): no markup, no HTML, no
/// line breaks.
fn esc(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            _ => out.push(c),
        }
    }
}

/// Appends our message text escaped, its backtick spans kept as code spans (GitHub renders
/// nothing inside them).
fn rich(out: &mut String, text: &str) {
    for (code, part) in super::code_spans(text) {
        if code {
            let part = part.replace(['\n', '\r'], " ");
            out.push('`');
            out.push_str(&part);
            out.push('`');
        } else {
            esc(out, part);
        }
    }
}

/// A rule id as code; anything else a report file may hold there, escaped.
fn rule_id(out: &mut String, rule: &str) {
    if !rule.is_empty() && rule.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        out.push('`');
        out.push_str(rule);
        out.push('`');
    } else {
        esc(out, rule);
    }
}

/// Escapes text inside raw HTML (`<summary>`).
fn esc_html(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
}

/// A fenced block that no run of backticks in `text` can close.
fn fenced(out: &mut String, indent: &str, lang: &str, text: &str) {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let _ = writeln!(out, "{indent}{fence}{lang}");
    for line in text.lines() {
        let _ = writeln!(out, "{indent}{line}");
    }
    let _ = writeln!(out, "{indent}{fence}");
}

fn task(out: &mut String, t: &Task<'_>) {
    out.push_str("- [ ] **");
    rich(out, &t.title);
    let _ = writeln!(out, "** ({})", t.severity.as_str());
    for p in &t.places {
        out.push_str("  - ");
        let at = format!("{}:{}", p.path, p.item.line);
        match &p.link {
            Some(link) => {
                out.push('[');
                esc(out, &at);
                out.push_str("](");
                out.push_str(&link.replace(' ', "%20").replace(')', "%29"));
                out.push(')');
            }
            None => esc(out, &at),
        }
        if let Some(c) = p.item.commit.as_ref().filter(|c| !c.in_head) {
            out.push_str(" (in the history only, commit `");
            out.push_str(short_commit(&c.id));
            out.push_str("`)");
        }
        out.push(' ');
        rule_id(out, &p.item.rule);
        out.push(' ');
        rich(out, &p.item.message);
        out.push('\n');
    }
    for n in &t.notes {
        out.push_str("  - ");
        rich(out, n);
        out.push('\n');
    }
    for (diff, applicability) in &t.diffs {
        let _ = writeln!(
            out,
            "\n  <details><summary>suggested rewrite ({})</summary>\n",
            applicability.as_str()
        );
        fenced(out, "  ", "diff", diff);
        out.push_str("\n  </details>\n\n");
    }
}

/// The checklist of one repository, folded under its name.
fn repo_block(r: &Repo, list: &Checklist<'_>) -> String {
    let mut block = String::new();
    for (action, tasks) in list {
        let _ = writeln!(block, "**{}** ({})\n", action.heading(), tasks.len());
        for t in tasks {
            task(&mut block, t);
        }
        block.push('\n');
    }
    if !r.errors.is_empty() {
        block.push_str("**Files that could not be scanned**\n\n");
        for e in &r.errors {
            block.push_str("- ");
            esc(&mut block, r.relative(&e.path));
            block.push_str(": ");
            esc(&mut block, &e.message);
            block.push('\n');
        }
        block.push('\n');
    }
    let mut wrapped = String::from("<details open><summary><b>");
    esc_html(&mut wrapped, &r.repository.name);
    let _ = write!(
        wrapped,
        "</b>: {}",
        plural(r.findings.len(), "finding", "findings")
    );
    if let Some(c) = &r.repository.commit {
        let _ = write!(wrapped, " at {}", short_commit(c));
    }
    wrapped.push_str("</summary>\n\n");
    wrapped.push_str(&block);
    wrapped.push_str("</details>\n\n");
    wrapped
}

/// The summary, the table of repositories and the checklist, in at most `max_bytes` bytes
/// (never less than the summary itself).
pub fn render(audit: &Audit, max_bytes: usize) -> String {
    let lists = audit.checklists();
    let per_repo = audit.repo_totals(&lists);
    let t = audit.totals(&per_repo);
    let mut out = String::from("## npm credential audit\n\n");
    let _ = writeln!(
        out,
        "| repositories scanned | with findings | credentials to revoke | publish jobs to move to trusted publishing |\n|---:|---:|---:|---:|\n| {} | {} | {} | {} |\n",
        t.repositories, t.with_findings, t.credentials, t.publish_jobs
    );
    let _ = writeln!(
        out,
        "{} in {} ({} scanned{}): {}.\n",
        plural(t.findings, "finding", "findings"),
        plural(t.repositories, "repository", "repositories"),
        plural(t.files_scanned, "file", "files"),
        if t.unscanned_files > 0 {
            format!(", {} could not be", t.unscanned_files)
        } else {
            String::new()
        },
        Severity::ALL
            .iter()
            .rev()
            .map(|s| format!("{} {}", t.by_severity[*s as usize], s.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !t.by_rule.is_empty() {
        out.push_str(
            "<details><summary>Findings by rule</summary>\n\n| rule | findings |\n|---|---:|\n",
        );
        for (rule, n) in &t.by_rule {
            out.push_str("| ");
            rule_id(&mut out, rule);
            let _ = writeln!(out, " | {n} |");
        }
        out.push_str("\n</details>\n\n");
    }
    if !audit.problems.is_empty() {
        out.push_str("**Inputs not read:**\n\n");
        for p in &audit.problems {
            out.push_str("- ");
            esc(&mut out, p);
            out.push('\n');
        }
        out.push('\n');
    }

    let mut blocks: Vec<String> = Vec::new();
    let mut table = String::from("### Repositories\n\n| repository | findings | critical | high | medium | low | credentials | publish jobs | commit |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    let mut order: Vec<usize> = (0..audit.repos.len()).collect();
    order.sort_by(|&a, &b| {
        audit.repos[a]
            .repository
            .name
            .cmp(&audit.repos[b].repository.name)
    });
    for &i in &order {
        let r = &audit.repos[i];
        let rt = &per_repo[i];
        let sev = |s: Severity| rt.by_severity[s as usize];
        let mut row = String::from("| ");
        esc(&mut row, &r.repository.name);
        let _ = write!(
            row,
            " | {} | {} | {} | {} | {} | {} | {} | ",
            r.findings.len(),
            sev(Severity::Critical),
            sev(Severity::High),
            sev(Severity::Medium),
            sev(Severity::Low),
            rt.credentials,
            rt.publish_jobs
        );
        match (&r.repository.url, &r.repository.commit) {
            (Some(url), Some(c)) => {
                let _ = write!(row, "[`{}`]({url}/commit/{c})", short_commit(c));
            }
            (None, Some(c)) => {
                let _ = write!(row, "`{}`", short_commit(c));
            }
            _ => {}
        }
        row.push_str(" |\n");
        if table.len() + row.len() > max_bytes / 4 {
            blocks.push(std::mem::take(&mut table));
            table = String::from("| repository | findings | critical | high | medium | low | credentials | publish jobs | commit |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
        }
        table.push_str(&row);
    }
    table.push('\n');
    blocks.push(table);

    let checklist = audit.checklist_order();
    if !checklist.is_empty() {
        let mut heading = String::from(
            "### Migration checklist\n\n<details><summary>What each group asks for</summary>\n\n",
        );
        let mut present: Vec<Action> = checklist
            .iter()
            .flat_map(|&i| {
                audit.repos[i]
                    .findings
                    .iter()
                    .map(|f| Action::of_rule(&f.rule))
            })
            .collect();
        present.sort();
        present.dedup();
        for action in present {
            let _ = write!(heading, "- **{}**: ", action.heading());
            rich(&mut heading, action.advice());
            heading.push('\n');
        }
        heading.push_str("\n</details>\n\n");
        blocks.push(heading);
    }
    // Room for the note on what was cut.
    let reserve = 400;
    let total_repos = checklist.len();
    let mut shown_repos = 0;
    let mut cut = false;
    for block in &blocks {
        if out.len() + block.len() + reserve > max_bytes {
            cut = true;
            break;
        }
        out.push_str(block);
    }
    // Repository blocks are built one at a time, only while they fit.
    for &i in checklist.iter().take_while(|_| !cut) {
        let block = repo_block(&audit.repos[i], &lists[i]);
        if out.len() + block.len() + reserve > max_bytes {
            cut = true;
            break;
        }
        out.push_str(&block);
        shown_repos += 1;
    }
    if cut {
        let _ = writeln!(
            out,
            "> **Truncated** to fit {} KiB: the checklist shows {shown_repos} of {}; the HTML report (`npm-auth-scan report --format html`) has all of them.",
            max_bytes / 1024,
            plural(total_repos, "repository", "repositories")
        );
    }
    super::scrubbed(out)
}
