//! `--format json`: the version 1 document of the contract. Field names and order are part of
//! the contract; extend, never rename.

use serde::Serialize;

use crate::discover::FileError;
use crate::finding::{Finding, Severity};
use crate::report::Repository;
use crate::scan::Report;

/// The JSON schema version; bumped only when a field changes meaning or goes away.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    findings: &'a [Finding],
    errors: &'a [FileError],
    #[serde(skip_serializing_if = "<[FileError]>::is_empty")]
    notes: &'a [FileError],
    summary: Summary,
    /// The scanned repository, for a scan of one root (an addition to v1).
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<&'a Repository>,
    /// Per root, for a scan of several (an addition to v1): which findings are whose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roots: Vec<Root<'a>>,
}

#[derive(Serialize)]
struct Root<'a> {
    path: &'a str,
    files_scanned: usize,
    findings: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<&'a Repository>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary {
    files_scanned: usize,
    findings: usize,
    suppressed: usize,
    by_severity: BySeverity,
}

#[derive(Serialize)]
struct BySeverity {
    info: usize,
    low: usize,
    medium: usize,
    high: usize,
    critical: usize,
}

pub fn render(report: &Report) -> String {
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let doc = Document {
        version: VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        findings: &report.findings,
        errors: &report.errors,
        notes: &report.notes,
        summary: Summary {
            files_scanned: report.files_scanned,
            findings: report.findings.len(),
            suppressed: report.suppressed,
            by_severity: BySeverity {
                info: count(Severity::Info),
                low: count(Severity::Low),
                medium: count(Severity::Medium),
                high: count(Severity::High),
                critical: count(Severity::Critical),
            },
        },
        repository: match report.roots.as_slice() {
            [one] => one.repository.as_ref(),
            _ => None,
        },
        roots: if report.roots.len() > 1 {
            report
                .roots
                .iter()
                .map(|r| Root {
                    path: &r.root,
                    files_scanned: r.files_scanned,
                    findings: r.findings,
                    repository: r.repository.as_ref(),
                })
                .collect()
        } else {
            Vec::new()
        },
    };
    let mut out = serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|e| format!("{{\"version\":1,\"error\":\"{e}\"}}"));
    out.push('\n');
    crate::token::scrub(&out).into_owned()
}
