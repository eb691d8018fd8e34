//! Output formats, one module each, chosen by one `match`. Renderers are pure: they turn a
//! [`Report`] into text and print nothing themselves.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use crate::scan::Report;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
    /// The audit page of [`crate::report`], for this run's roots.
    Html,
    /// The audit summary and checklist of [`crate::report`], in at most 1 MiB.
    Markdown,
}

impl Format {
    /// Whether the format shows which repository each root is (JSON `repository`, the audit).
    pub fn shows_repository(self) -> bool {
        matches!(self, Format::Json | Format::Html | Format::Markdown)
    }
}

/// How the human renderer draws.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

/// The report in `format`.
pub fn render(format: Format, report: &Report, style: Style) -> String {
    match format {
        Format::Human => human::render(report, style),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
        Format::Html => crate::report::html::render(&crate::report::Audit::from_scan(report)),
        Format::Markdown => crate::report::markdown::render(
            &crate::report::Audit::from_scan(report),
            crate::report::markdown::STEP_SUMMARY_LIMIT,
        ),
    }
}
