//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! Every rule of the catalogue is described in `tool.driver.rules` (from its data file); each
//! finding is a result with a region, `partialFingerprints` from our fingerprint, and `fixes`
//! when its suggestion has edits. Suppressed findings are not emitted (GitHub ignores SARIF
//! `suppressions`).

use std::path::Path;

use serde_json::{json, Value};

use crate::finding::{Confidence, Finding, Severity};
use crate::rules::{self, Rule};
use crate::scan::Report;
use crate::source::LineIndex;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://docs.npmjs.com/trusted-publishers";

/// GitHub's `security-severity` scale: critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low < 4.0.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "note",
    }
}

fn precision(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

fn rule_descriptor(rule: &Rule) -> Value {
    let first_paragraph = rule
        .rationale
        .trim()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut help = format!(
        "{}\n\n## What to do\n\n{}\n",
        rule.rationale.trim(),
        rule.remediation.trim()
    );
    if !rule.references.is_empty() {
        help.push_str("\n## References\n\n");
        for r in &rule.references {
            help.push_str(&format!("- [{}]({})\n", r.title, r.url));
        }
    }
    let mut tags = vec!["security".to_string()];
    tags.extend(rule.tags.iter().filter(|t| *t != "security").cloned());
    let mut d = json!({
        "id": rule.id,
        "name": pascal_case(&rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": first_paragraph},
        "help": {"text": help, "markdown": help},
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {
            "security-severity": security_severity(rule.severity),
            "precision": precision(rule.confidence),
            "tags": tags,
        },
    });
    if let Some(r) = rule.references.first() {
        d["helpUri"] = json!(r.url);
    }
    d
}

/// `hardcoded-token` → `HardcodedToken`: SARIF wants a readable name distinct from the id.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Percent-encodes what a relative URI reference cannot hold literally.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn artifact_location(path: &str) -> Value {
    if path.starts_with('/') {
        json!({"uri": format!("file://{}", uri_path(path))})
    } else if let Some(home_rel) = path.strip_prefix("~/") {
        json!({"uri": uri_path(home_rel), "uriBaseId": "HOME"})
    } else {
        json!({"uri": uri_path(path), "uriBaseId": "%SRCROOT%"})
    }
}

fn fixes(finding: &Finding, report: &Report) -> Option<Value> {
    let suggestion = finding.suggestion.as_ref()?;
    let original = report.originals.get(&finding.path)?;
    if suggestion.edits.is_empty() {
        return None;
    }
    let index = LineIndex::new(original);
    let replacements: Vec<Value> = suggestion
        .edits
        .iter()
        .map(|e| {
            let start = index.position(original, e.span.start);
            let end = index.position(original, e.span.end);
            json!({
                "deletedRegion": {
                    "startLine": start.line, "startColumn": start.column,
                    "endLine": end.line, "endColumn": end.column,
                },
                "insertedContent": {"text": crate::token::scrub(&e.replacement)},
            })
        })
        .collect();
    Some(json!([{
        "description": {"text": suggestion.title},
        "artifactChanges": [{
            "artifactLocation": artifact_location(&finding.path),
            "replacements": replacements,
        }],
    }]))
}

fn result(finding: &Finding, report: &Report) -> Value {
    let rule_index = rules::all()
        .iter()
        .position(|r| r.id == finding.rule)
        .unwrap_or(0);
    let mut message = finding.message.clone();
    if let Some(s) = &finding.suggestion {
        message.push_str(&format!("\n\nSuggested fix: {}", s.title));
        for n in &s.notes {
            message.push_str(&format!("\n{n}"));
        }
    }
    let mut r = json!({
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact_location(&finding.path),
                "region": {
                    "startLine": finding.line,
                    "startColumn": finding.column,
                    "endLine": finding.end_line,
                    // SARIF end columns point one past the last character.
                    "endColumn": finding.end_column + 1,
                    "snippet": {"text": finding.snippet},
                },
            },
        }],
        "partialFingerprints": {"npmAuthScan/v1": finding.fingerprint},
        "properties": {
            "severity": finding.severity.as_str(),
            "confidence": finding.confidence.as_str(),
        },
    });
    if let Some(f) = fixes(finding, report) {
        r["fixes"] = f;
    }
    if let Some(v) = &finding.verification {
        r["properties"]["verification"] = json!(v);
    }
    if let Some(c) = &finding.commit {
        r["properties"]["commit"] = json!(c);
    }
    if !finding.related.is_empty() {
        r["relatedLocations"] = finding
            .related
            .iter()
            .enumerate()
            .map(|(i, rel)| {
                json!({
                    "id": i + 1,
                    "physicalLocation": {
                        "artifactLocation": artifact_location(&rel.path),
                        "region": {"startLine": rel.line, "startColumn": rel.column},
                    },
                    "message": {"text": rel.message},
                })
            })
            .collect();
    }
    r
}

/// `versionControlProvenance` of a history scan: each repository, at HEAD.
fn provenance(report: &Report) -> Option<Value> {
    if report.provenance.is_empty() {
        return None;
    }
    Some(
        report
            .provenance
            .iter()
            .map(|p| {
                let mut v = json!({"repositoryUri": p.uri});
                if let Some(rev) = &p.revision {
                    v["revisionId"] = json!(rev);
                }
                if let Some(branch) = &p.branch {
                    v["branch"] = json!(branch);
                }
                v
            })
            .collect(),
    )
}

/// `file://` URI of the directory findings are relative to (the working directory).
fn root_uri(root: &Path) -> String {
    let mut s = uri_path(&root.to_string_lossy().replace('\\', "/"));
    if !s.starts_with('/') {
        s.insert(0, '/');
    }
    if !s.ends_with('/') {
        s.push('/');
    }
    format!("file://{s}")
}

pub fn render(report: &Report) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut base_ids = json!({"%SRCROOT%": {"uri": root_uri(&cwd)}});
    if let Some(home) = std::env::var_os("HOME") {
        base_ids["HOME"] = json!({"uri": root_uri(Path::new(&home))});
    }
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": format!("{}: {}", e.path, e.message)},
                "locations": [{"physicalLocation": {"artifactLocation": artifact_location(&e.path)}}],
            })
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": env!("CARGO_PKG_NAME"),
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules::all().iter().map(rule_descriptor).collect::<Vec<_>>(),
            }},
            "originalUriBaseIds": base_ids,
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": report.findings.iter().map(|f| result(f, report)).collect::<Vec<_>>(),
            "columnKind": "unicodeCodePoints",
        }],
    });
    let mut doc = doc;
    if let Some(p) = provenance(report) {
        doc["runs"][0]["versionControlProvenance"] = p;
    }
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    crate::token::scrub(&out).into_owned()
}
