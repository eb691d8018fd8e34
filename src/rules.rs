//! Rule metadata, loaded once from the `rules/<id>.toml` files embedded at build time.
//!
//! A rule file holds everything said about a rule: title, default severity and confidence, the
//! message templates a check fills in, rationale, remediation, dated references and the bad/good
//! examples the test suite runs. Checks only decide *where* a rule fires and with which values.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::finding::{Confidence, Severity};

static EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/rules.rs"));

/// One rule, as written in its data file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub confidence: Confidence,
    /// Free-form labels for SARIF `properties.tags` (e.g. `security`, `secrets`, `docker`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Default message template: `{name}` placeholders are filled by the check.
    pub message: String,
    /// Named variants of the message for the cases a check tells apart.
    #[serde(default)]
    pub messages: BTreeMap<String, String>,
    /// Why this is a problem (markdown).
    pub rationale: String,
    /// What to do instead (markdown).
    pub remediation: String,
    #[serde(default, rename = "reference")]
    pub references: Vec<Reference>,
    #[serde(default, rename = "example")]
    pub examples: Vec<Example>,
}

/// A dated source for what the rule says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub title: String,
    pub url: String,
    #[serde(default)]
    pub date: Option<String>,
}

/// Whether an example must trigger the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExampleKind {
    Bad,
    Good,
}

/// A file the rule must fire on (`bad`) or stay quiet on (`good`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub kind: ExampleKind,
    /// File name the content is scanned as (it decides the file kind), e.g. `.npmrc`.
    pub path: String,
    pub content: String,
    /// Optional explanation shown by `explain`.
    #[serde(default)]
    pub note: Option<String>,
}

/// Result of loading the embedded rule files.
pub struct Catalogue {
    pub rules: Vec<Rule>,
    pub errors: Vec<String>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| load(EMBEDDED));

/// Parses and validates rule files: unique ids, file name equals id, examples present.
pub fn load(files: &[(&str, &str)]) -> Catalogue {
    let mut rules: Vec<Rule> = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in files {
        match toml::from_str::<Rule>(text) {
            Ok(rule) => {
                if format!("{}.toml", rule.id) != *name {
                    errors.push(format!(
                        "rules/{name}: id `{}` does not match the file name",
                        rule.id
                    ));
                }
                if rules.iter().any(|r| r.id == rule.id) {
                    errors.push(format!("rules/{name}: duplicate id `{}`", rule.id));
                }
                rules.push(rule);
            }
            Err(e) => errors.push(format!("rules/{name}: {e}")),
        }
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    Catalogue { rules, errors }
}

/// Every rule, sorted by id.
pub fn all() -> &'static [Rule] {
    &CATALOGUE.rules
}

/// Problems found while loading the embedded rule files (a test keeps this empty).
pub fn load_errors() -> &'static [String] {
    &CATALOGUE.errors
}

pub fn get(id: &str) -> Option<&'static Rule> {
    CATALOGUE.rules.iter().find(|r| r.id == id)
}

impl Rule {
    /// The message for `key` (or the default), with `{name}` placeholders filled from `args`.
    pub fn render_message(&self, key: Option<&str>, args: &[(&str, String)]) -> String {
        let template = key
            .and_then(|k| self.messages.get(k))
            .unwrap_or(&self.message);
        fill(template, args)
    }
}

/// Replaces `{name}` with the matching argument; unknown placeholders are left as written.
pub fn fill(template: &str, args: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_load_cleanly() {
        assert!(load_errors().is_empty(), "{:?}", load_errors());
        assert!(!all().is_empty());
        for rule in all() {
            assert!(
                rule.examples.iter().any(|e| e.kind == ExampleKind::Bad),
                "{} has no bad example",
                rule.id
            );
            assert!(
                rule.examples.iter().any(|e| e.kind == ExampleKind::Good),
                "{} has no good example",
                rule.id
            );
            assert!(!rule.references.is_empty(), "{} has no reference", rule.id);
        }
    }

    #[test]
    fn mismatched_and_duplicate_ids_are_errors() {
        let text = "id = \"a\"\ntitle = \"t\"\nseverity = \"low\"\nconfidence = \"high\"\nmessage = \"m\"\nrationale = \"r\"\nremediation = \"x\"\n";
        let cat = load(&[("a.toml", text), ("b.toml", text)]);
        assert_eq!(cat.errors.len(), 2, "{:?}", cat.errors);
        let bad = load(&[("a.toml", "id = 3")]);
        assert_eq!(bad.errors.len(), 1);
    }

    /// What `explain` cites about npm (and pnpm) carries a date: the change's own, or the day
    /// the page was read (`as of ...`).
    #[test]
    fn npm_references_are_dated() {
        for rule in all() {
            for r in &rule.references {
                let npm = ["docs.npmjs.com", "github.com/npm/", "github.blog/", "pnpm"]
                    .iter()
                    .any(|h| r.url.contains(h));
                assert!(
                    !npm || r.date.as_deref().is_some_and(|d| d.contains("20")),
                    "{}: reference {} has no date",
                    rule.id,
                    r.url
                );
            }
        }
    }

    #[test]
    fn fill_replaces_known_placeholders_only() {
        let args = [("var", "NPM_TOKEN".to_string())];
        assert_eq!(
            fill("use ${var} not {var} {other} {", &args),
            "use $NPM_TOKEN not NPM_TOKEN {other} {"
        );
    }
}
