//! `--format github`: one GitHub Actions workflow command per finding, so findings show as
//! annotations on the pull request; plus a job-summary table when `GITHUB_STEP_SUMMARY` is set.

use crate::finding::Severity;
use crate::scan::Report;

/// Escapes a workflow-command message (the part after `::`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value (`file=`, `title=`): also `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "notice",
    }
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let mut message = f.message.clone();
        if let Some(c) = &f.commit {
            message.push_str(&format!(" ({})", c.describe()));
        }
        if let Some(s) = &f.suggestion {
            message.push_str(&format!("\nFix: {}", s.title));
            for n in &s.notes {
                message.push_str(&format!("\n{n}"));
            }
        }
        // The annotation goes on the primary location only; the other files are named in it.
        for r in &f.related {
            message.push_str(&format!("\nSee also {}:{}: {}", r.path, r.line, r.message));
        }
        out.push_str(&format!(
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            command(f.severity),
            escape_property(&f.path),
            f.line,
            f.column,
            f.end_line,
            f.end_column,
            escape_property(&format!("{} ({})", f.rule, f.severity)),
            escape_data(&message)
        ));
    }
    for e in &report.errors {
        out.push_str(&format!(
            "::error file={}{},title=npm-auth-scan::{}\n",
            escape_property(&e.path),
            e.line.map(|l| format!(",line={l}")).unwrap_or_default(),
            escape_data(&e.message)
        ));
    }
    crate::token::scrub(&out).into_owned()
}

/// Markdown table of the findings for `$GITHUB_STEP_SUMMARY`.
pub fn step_summary(report: &Report) -> String {
    let mut out = String::from("## npm-auth-scan\n\n");
    if report.findings.is_empty() {
        out.push_str(&format!(
            "No findings in {} files scanned.\n",
            report.files_scanned
        ));
        return out;
    }
    out.push_str("| severity | rule | location | message |\n|---|---|---|---|\n");
    for f in &report.findings {
        out.push_str(&format!(
            "| {} | `{}` | `{}:{}` | {} |\n",
            f.severity,
            f.rule,
            f.path,
            f.line,
            f.message.replace('|', "\\|").replace('\n', " ")
        ));
    }
    out.push_str(&format!(
        "\n{} findings in {} files scanned.\n",
        report.findings.len(),
        report.files_scanned
    ));
    crate::token::scrub(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
