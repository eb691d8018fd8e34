//! `npm-auth-scan.toml` / `.npm-auth-scan.toml`: project defaults for the command line, per-rule
//! severities, and ignores by rule and path. Unknown keys are errors that point at their line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::Deserialize;

use crate::finding::Severity;

/// File names looked for at the scan root, in order.
pub const FILE_NAMES: [&str; 2] = ["npm-auth-scan.toml", ".npm-auth-scan.toml"];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Paths to skip, gitignore syntax (added to `--exclude`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Default for `--fail-on` (`never` or a severity).
    #[serde(default)]
    pub fail_on: Option<String>,
    /// Default for `--min-severity`.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Extra variable names that hold npm tokens (e.g. `MY_REGISTRY_TOKEN`).
    #[serde(default)]
    pub token_variables: Vec<String>,
    /// Default for `--max-file-size`.
    #[serde(default)]
    pub max_file_size: Option<String>,
    #[serde(default)]
    pub rules: RulesConfig,
    /// Findings of these rules under these paths are not reported.
    #[serde(default)]
    pub ignore: Vec<IgnoreEntry>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Run only these rules.
    #[serde(default)]
    pub select: Vec<String>,
    /// Never run these rules.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Severity overrides by rule id.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreEntry {
    /// Rule ids; empty means every rule.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Path globs (gitignore-style `**` allowed), matched against the path relative to the root.
    pub paths: Vec<String>,
    /// Why: kept for the reader of the config, not used.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A configuration file that could not be used: message, and where in the file.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub path: PathBuf,
    pub text: String,
    pub message: String,
    pub span: Option<std::ops::Range<usize>>,
}

impl ConfigError {
    /// The error as a miette report pointing into the file.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let diag = miette::MietteDiagnostic::new(format!(
            "invalid configuration file {}: {}",
            self.path.display(),
            self.message
        ))
        .with_code("config");
        let diag = match &self.span {
            Some(span) => diag.with_label(miette::LabeledSpan::at(span.clone(), "here")),
            None => diag,
        };
        let report = miette::Report::new(diag).with_source_code(miette::NamedSource::new(
            self.path.display().to_string(),
            self.text.clone(),
        ));
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        if handler.render_report(&mut out, report.as_ref()).is_err() {
            out = format!(
                "invalid configuration file {}: {}",
                self.path.display(),
                self.message
            );
        }
        out
    }
}

/// Parses configuration text; rule ids are checked against the catalogue.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let error = |message: String, span: Option<std::ops::Range<usize>>| ConfigError {
        path: path.to_path_buf(),
        text: text.to_string(),
        message,
        span,
    };
    let config: Config =
        toml::from_str(text).map_err(|e| error(e.message().to_string(), e.span()))?;
    let known = |id: &str| crate::rules::get(id).is_some();
    let rule_lists = config
        .rules
        .select
        .iter()
        .chain(&config.rules.ignore)
        .chain(config.rules.severity.keys())
        .chain(config.ignore.iter().flat_map(|i| &i.rules));
    for id in rule_lists {
        if !known(id) {
            let span = text.find(&format!("\"{id}\"")).map(|s| s..s + id.len() + 2);
            return Err(error(format!("unknown rule `{id}`"), span));
        }
    }
    for entry in &config.ignore {
        for glob in &entry.paths {
            if let Err(e) = GitignoreBuilder::new("").add_line(None, glob) {
                let span = text.find(glob.as_str()).map(|s| s..s + glob.len());
                return Err(error(format!("invalid glob `{glob}`: {e}"), span));
            }
        }
    }
    if let Some(f) = &config.fail_on {
        if f != "never" && Severity::parse(f).is_none() {
            let span = text.find(&format!("\"{f}\"")).map(|s| s..s + f.len() + 2);
            return Err(error(
                format!("fail-on: `{f}` is not a severity or `never`"),
                span,
            ));
        }
    }
    Ok(config)
}

/// Loads `explicit`, or the first of [`FILE_NAMES`] in `root`; `Ok(None)` when there is none.
pub fn load(
    explicit: Option<&Path>,
    root: &Path,
) -> Result<Option<(PathBuf, Config)>, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match FILE_NAMES
            .iter()
            .map(|n| root.join(n))
            .find(|p| p.is_file())
        {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
        path: path.clone(),
        text: String::new(),
        message: format!("cannot read: {e}"),
        span: None,
    })?;
    parse(&path, &text).map(|c| Some((path, c)))
}

/// Compiled `[[ignore]]` entries, with gitignore semantics for their path patterns.
#[derive(Debug, Clone, Default)]
pub struct PathIgnores {
    entries: Vec<(Vec<String>, Gitignore)>,
}

impl PathIgnores {
    pub fn new(entries: &[IgnoreEntry]) -> Self {
        let entries = entries
            .iter()
            .filter_map(|e| {
                let mut b = GitignoreBuilder::new("");
                for g in &e.paths {
                    b.add_line(None, g).ok()?;
                }
                b.build().ok().map(|set| (e.rules.clone(), set))
            })
            .collect();
        PathIgnores { entries }
    }

    /// Is a finding of `rule` at `relative_path` ignored?
    pub fn ignores(&self, rule: &str, relative_path: &str) -> bool {
        self.entries.iter().any(|(rules, set)| {
            (rules.is_empty() || rules.iter().any(|r| r == rule))
                && set
                    .matched_path_or_any_parents(relative_path, false)
                    .is_ignore()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_config_parses() {
        let text = r#"
exclude = ["vendor/**"]
fail-on = "high"
min-severity = "info"
token-variables = ["MY_REGISTRY_TOKEN"]

[rules]
ignore = ["hardcoded-token"]

[rules.severity]
hardcoded-token = "low"

[[ignore]]
rules = ["hardcoded-token"]
paths = ["test/fixtures/**"]
reason = "fake tokens"
"#;
        let c = parse(Path::new("npm-auth-scan.toml"), text)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(c.fail_on.as_deref(), Some("high"));
        assert_eq!(c.min_severity, Some(Severity::Info));
        assert_eq!(
            c.rules.severity.get("hardcoded-token"),
            Some(&Severity::Low)
        );
        let ignores = PathIgnores::new(&c.ignore);
        assert!(ignores.ignores("hardcoded-token", "test/fixtures/a/.npmrc"));
        assert!(!ignores.ignores("hardcoded-token", "src/.npmrc"));
    }

    #[test]
    fn unknown_keys_and_rules_point_at_their_line() {
        let text = "exclude = []\nfail_on = \"high\"\n";
        let e = parse(Path::new("c.toml"), text)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        let span = e.span.clone().unwrap_or_default();
        assert_eq!(&text[span], "fail_on");
        let text = "[rules]\nignore = [\"no-such-rule\"]\n";
        let e = parse(Path::new("c.toml"), text)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(e.message.contains("no-such-rule"));
        assert!(e.render().contains("no-such-rule"));
    }

    #[test]
    fn bare_globs_match_anywhere() {
        let ignores = PathIgnores::new(&[IgnoreEntry {
            rules: vec![],
            paths: vec!["fixtures".to_string()],
            reason: None,
        }]);
        assert!(ignores.ignores("any", "fixtures/x/.npmrc"));
        assert!(ignores.ignores("any", "a/fixtures/.npmrc"));
        assert!(!ignores.ignores("any", "src/.npmrc"));
    }
}
