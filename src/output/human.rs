//! `--format human`: each finding as a miette diagnostic over the redacted source, its
//! suggestion as a small diff with the commands to run, then a summary.

use std::fmt;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan,
};
use owo_colors::OwoColorize;

use crate::finding::{Finding, Severity};
use crate::rules;
use crate::scan::Report;

use super::Style;

/// Width the diagnostics are laid out for, fixed so output does not depend on the terminal.
const WIDTH: usize = 100;

struct FindingDiagnostic<'a> {
    finding: &'a Finding,
    source: Option<NamedSource<Arc<str>>>,
    label: String,
    help: Option<String>,
}

impl fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FindingDiagnostic")
            .field("rule", &self.finding.rule)
            .finish()
    }
}

impl fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!(
            "{}: {} severity, {} confidence",
            self.finding.rule,
            self.finding.severity,
            self.finding.confidence.as_str()
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Critical | Severity::High => miette::Severity::Error,
            Severity::Medium | Severity::Low => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'b>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let span = &self.finding.span;
        let label = LabeledSpan::new_primary_with_span(
            Some(self.label.clone()),
            SourceSpan::new(span.start.into(), span.len()),
        );
        Some(Box::new(std::iter::once(label)))
    }
}

fn help_text(finding: &Finding) -> Option<String> {
    let s = finding.suggestion.as_ref()?;
    let mut out = format!("{} ({} fix)", s.title, s.applicability.as_str());
    if !s.diff.is_empty() {
        out.push('\n');
        out.push_str(s.diff.trim_end());
    }
    for note in &s.notes {
        let is_command = [
            "npm ", "docker ", "yarn ", "pnpm ", "git ", "echo ", "export ",
        ]
        .iter()
        .any(|c| note.starts_with(c));
        out.push_str(if is_command { "\n$ " } else { "\nnote: " });
        out.push_str(note);
    }
    Some(out)
}

pub fn render(report: &Report, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(WIDTH)
        .with_links(false)
        .with_wrap_lines(false)
        .with_context_lines(1);
    let mut out = String::new();
    for finding in &report.findings {
        // A source excerpt of a megabyte-long line (a minified bundle) would print it whole:
        // such findings fall back to the one-line form with the windowed snippet.
        let source = finding
            .source_key()
            .and_then(|key| report.sources.get(&key))
            .filter(|text| !has_long_line_near(text, &finding.span))
            .map(|text| NamedSource::new(finding.path.clone(), Arc::clone(text)));
        let label = rules::get(finding.rule)
            .map(|r| r.title.clone())
            .unwrap_or_default();
        let diagnostic = FindingDiagnostic {
            finding,
            source,
            label,
            help: help_text(finding),
        };
        if diagnostic.source.is_none() {
            out.push_str(&format!(
                "{}:{}:{}: {}\n",
                finding.path, finding.line, finding.column, finding.snippet
            ));
        }
        if handler.render_report(&mut out, &diagnostic).is_err() {
            out.push_str(&format!(
                "{}:{}:{}: {} {}\n",
                finding.path, finding.line, finding.column, finding.rule, finding.message
            ));
        }
        if let Some(c) = &finding.commit {
            out.push_str(&format!("  {}\n", c.describe()));
        }
        for r in &finding.related {
            out.push_str(&format!(
                "  see also: {}:{}:{}: {}\n",
                r.path, r.line, r.column, r.message
            ));
        }
        if let Some(v) = &finding.verification {
            out.push_str(&format!("  token check (--verify): {}\n", v.summary()));
        }
        out.push('\n');
    }
    out.push_str(&summary(report, style));
    crate::token::scrub(&out).into_owned()
}

/// Longest line the excerpt shows; longer ones are left to the snippet.
const MAX_EXCERPT_LINE: usize = 1000;

/// Does the excerpt around `span` (its lines plus one line of context each side) hold a line
/// longer than [`MAX_EXCERPT_LINE`]?
fn has_long_line_near(text: &str, span: &std::ops::Range<usize>) -> bool {
    let bytes = text.as_bytes();
    let start = span.start.min(bytes.len());
    let end = span.end.clamp(start, bytes.len());
    // Back over the span's line and the one before it, forward over its last and the next.
    let mut from = start;
    for _ in 0..2 {
        from = memchr::memrchr(b'\n', &bytes[..from.saturating_sub(1)]).map_or(0, |i| i + 1);
    }
    let mut to = end;
    for _ in 0..2 {
        to = memchr::memchr(b'\n', &bytes[to.min(bytes.len())..])
            .map_or(bytes.len(), |i| to + i + 1);
    }
    bytes[from..to.max(from)]
        .split(|&b| b == b'\n')
        .any(|l| l.len() > MAX_EXCERPT_LINE)
}

fn summary(report: &Report, style: Style) -> String {
    let mut parts: Vec<String> = Vec::new();
    for severity in Severity::ALL.into_iter().rev() {
        let n = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count();
        if n > 0 {
            parts.push(format!("{n} {severity}"));
        }
    }
    let n = report.findings.len();
    let mut line = if n == 0 {
        format!("No findings in {} files scanned", report.files_scanned)
    } else {
        format!(
            "{n} finding{} ({}) in {} files scanned",
            if n == 1 { "" } else { "s" },
            parts.join(", "),
            report.files_scanned
        )
    };
    if report.suppressed > 0 {
        line.push_str(&format!(", {} suppressed", report.suppressed));
    }
    if !report.errors.is_empty() {
        let e = report.errors.len();
        line.push_str(&format!(
            ", {e} file{} could not be scanned (see stderr)",
            if e == 1 { "" } else { "s" }
        ));
    }
    let mut out = if style.color && n > 0 {
        format!("{}\n", line.bold())
    } else {
        format!("{line}\n")
    };
    if report.roots.len() > 1 {
        for root in &report.roots {
            out.push_str(&format!(
                "  {}: {} finding{} in {} files\n",
                root.root,
                root.findings,
                if root.findings == 1 { "" } else { "s" },
                root.files_scanned
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_near_a_finding_are_detected() {
        let long = "x".repeat(MAX_EXCERPT_LINE + 1);
        let text = format!("a\nb\n{long}\nc\nd\ne\n");
        let c = text.find("c\n").unwrap_or(0);
        assert!(has_long_line_near(&text, &(c..c + 1)), "the line before");
        let e = text.find("e\n").unwrap_or(0);
        assert!(!has_long_line_near(&text, &(e..e + 1)));
        assert!(has_long_line_near(&long, &(5..6)));
        assert!(!has_long_line_near("", &(0..0)));
    }
}
