//! The command line: the only module that knows clap. Raw flags become a resolved [`Settings`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::checks::CheckOptions;
use crate::config::{self, ConfigError, PathIgnores};
use crate::discover::WalkOptions;
use crate::finding::Severity;
use crate::output::Format;
use crate::scan::ScanSettings;

#[derive(Debug, Parser)]
#[command(
    name = "npm-auth-scan",
    version,
    about = "Find long-lived npm credentials and show the granular-token, BuildKit-secret and trusted-publishing rewrite",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub scan: ScanArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Table of every rule: id, default severity, title
    Rules,
    /// The rule's documentation: why, before/after, references
    Explain {
        /// Rule id, e.g. hardcoded-token; `catalogue` lists the publishers and token names
        rule: String,
    },
    /// Merge JSON reports (one per repository, or one of several roots) into one audit report
    Report(ReportArgs),
}

/// `report`'s output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Markdown,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// JSON reports of `--format json`, or folders holding them (every *.json below)
    #[arg(required = true, value_name = "REPORT.json")]
    pub inputs: Vec<PathBuf>,
    /// Output format [default: from the -o file name (.md: markdown), else html]
    #[arg(short, long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write the report to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Markdown: cut the checklist to fit this size (e.g. 64K for a comment) [default: 1M, GitHub's job-summary limit]
    #[arg(long, value_name = "SIZE")]
    pub max_size: Option<String>,
}

impl ReportArgs {
    /// The format asked for, else the one the output file's name implies.
    pub fn resolved_format(&self) -> ReportFormat {
        self.format.unwrap_or_else(|| {
            match self
                .output
                .as_deref()
                .and_then(|p| p.extension())
                .and_then(|e| e.to_str())
            {
                Some("md" | "markdown") => ReportFormat::Markdown,
                _ => ReportFormat::Html,
            }
        })
    }

    /// `--max-size` in bytes.
    pub fn max_bytes(&self) -> Result<usize, UsageError> {
        match &self.max_size {
            None => Ok(crate::report::markdown::STEP_SUMMARY_LIMIT),
            Some(v) => parse_size(v)
                .filter(|n| *n > 0)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    UsageError(format!("--max-size: `{v}` is not a size (e.g. 64K, 1M)"))
                }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Directories (walked in parallel) or files (always scanned) [default: .]
    pub paths: Vec<PathBuf>,
    /// Output format
    #[arg(short, long, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the report to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a reported finding is at or above this severity, or `never` [default: medium]
    #[arg(long, value_name = "SEVERITY|never")]
    pub fail_on: Option<String>,
    /// Report only findings at or above this severity; `info` adds the token inventory [default: low]
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<String>,
    /// Sweep every text file for literal npm tokens (the default since December 2026; kept
    /// for existing configurations)
    #[arg(long, conflicts_with = "known_kinds_only")]
    pub all_files: bool,
    /// Read only files of a known kind (.npmrc, Dockerfiles, CI files, ...): skips the sweep of
    /// other files for literal npm tokens, for the fastest hooks
    #[arg(long)]
    pub known_kinds_only: bool,
    /// Do not respect ignore files, and walk node_modules/
    #[arg(long)]
    pub no_ignore: bool,
    /// Skip matching paths (gitignore-style glob; repeatable)
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Run only these rules (repeatable, comma-separated)
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rules (repeatable, comma-separated)
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Also scan this machine's user-level configs (~/.npmrc, ~/.yarnrc.yml, ~/.bunfig.toml, npm's global npmrc)
    #[arg(long)]
    pub user: bool,
    /// Worker threads [default: all cores]
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Colour in human output (NO_COLOR is respected)
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Files larger than this are only swept for literal tokens, not parsed (e.g. 512K, 4M, 1G) [default: 4M]
    #[arg(long, value_name = "SIZE")]
    pub max_file_size: Option<String>,
    /// Configuration file [default: npm-auth-scan.toml or .npm-auth-scan.toml at the scan root]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not report findings recorded in FILE
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings' fingerprints in FILE (and exit 0 unless a file could not be scanned)
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Scan the staged content of files in the git index, not the working tree
    #[arg(long)]
    pub staged: bool,
    /// Scan every blob reachable in the git history of each PATH's repository (credentials only)
    #[arg(long, conflicts_with_all = ["staged", "fix", "diff", "user"])]
    pub history: bool,
    /// With --history, only commits committed at or after DATE (2024-01-31, "6 months ago")
    #[arg(long, value_name = "DATE", requires = "history")]
    pub since: Option<String>,
    /// With --history, only the commits of this revision range (A..B, or B alone)
    #[arg(long, value_name = "A..B", requires = "history")]
    pub range: Option<String>,
    /// With --history, only commits reachable from REF (repeatable) instead of from every ref
    #[arg(long, value_name = "REF", requires = "history")]
    pub branch: Vec<String>,
    /// Print the suggested rewrites as a unified diff; change nothing
    #[arg(long, conflicts_with = "fix")]
    pub diff: bool,
    /// Apply safe rewrites in place
    #[arg(long)]
    pub fix: bool,
    /// With --fix or --diff, also apply unsafe rewrites (they need a change elsewhere: a CI secret, a build flag)
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Ask each literal token's own registry (GET /-/whoami) whether it still works; sends the token there
    #[arg(long)]
    pub verify: bool,
    /// With --verify, send every token to this registry instead of its own
    #[arg(long, value_name = "URL", requires = "verify")]
    pub verify_registry: Option<String>,
}

/// Everything a run needs, resolved and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub paths: Vec<PathBuf>,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub fail_on: Option<Severity>,
    pub color: ColorChoice,
    pub user: bool,
    pub threads: usize,
    pub baseline: Option<PathBuf>,
    pub write_baseline: Option<PathBuf>,
    pub staged: bool,
    /// `--history` (None: off).
    pub history: Option<crate::history::HistoryOptions>,
    pub diff: bool,
    pub fix: bool,
    pub unsafe_fixes: bool,
    /// `--verify` (None: off).
    pub verify: Option<crate::verify::VerifyOptions>,
    /// `[[ignore]]` entries of the configuration file.
    pub path_ignores: PathIgnores,
    pub scan: ScanSettings,
}

/// Why the command line could not be turned into settings (exit code 2).
#[derive(Debug, Clone)]
pub enum ResolveError {
    Usage(UsageError),
    Config(ConfigError),
}

impl From<UsageError> for ResolveError {
    fn from(e: UsageError) -> Self {
        ResolveError::Usage(e)
    }
}

impl ResolveError {
    /// The text for stderr.
    pub fn render(&self) -> String {
        match self {
            ResolveError::Usage(e) => format!("error: {e}\n"),
            ResolveError::Config(e) => e.render(),
        }
    }
}

/// A usage error: reported on stderr, exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn severity_arg(flag: &str, value: &str) -> Result<Severity, UsageError> {
    Severity::parse(value).ok_or_else(|| {
        UsageError(format!(
            "{flag}: `{value}` is not a severity (info, low, medium, high, critical)"
        ))
    })
}

fn rule_ids(flag: &str, ids: &[String]) -> Result<Vec<String>, UsageError> {
    let mut out = Vec::new();
    for id in ids.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if crate::rules::get(id).is_none() {
            return Err(UsageError(format!(
                "{flag}: unknown rule `{id}` (see `npm-auth-scan rules`)"
            )));
        }
        out.push(id.to_string());
    }
    Ok(out)
}

/// `512K`, `4M`, `1G`, or plain bytes.
pub fn parse_size(value: &str) -> Option<u64> {
    let v = value.trim();
    let (digits, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&v[..i], v[i..].to_ascii_uppercase()),
        None => (v, String::new()),
    };
    let n: u64 = digits.parse().ok()?;
    let mult = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1024,
        "M" => 1024 * 1024,
        "G" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mult)
}

impl ScanArgs {
    /// The scan root: the first PATH when it is a directory, else the working directory. The
    /// configuration file is looked for there.
    fn config_root(&self) -> PathBuf {
        self.paths
            .first()
            .filter(|p| p.is_dir())
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."))
    }

    pub fn resolve(self) -> Result<Settings, ResolveError> {
        let config = config::load(self.config.as_deref(), &self.config_root())
            .map_err(ResolveError::Config)?
            .map(|(_, c)| c)
            .unwrap_or_default();
        let fail_on = match self
            .fail_on
            .as_deref()
            .or(config.fail_on.as_deref())
            .unwrap_or("medium")
        {
            "never" => None,
            v => Some(severity_arg("--fail-on", v)?),
        };
        let min_severity = match &self.min_severity {
            Some(v) => severity_arg("--min-severity", v)?,
            None => config.min_severity.unwrap_or(Severity::Low),
        };
        let mut select = rule_ids("--select", &self.select)?;
        if select.is_empty() {
            select = config.rules.select.clone();
        }
        let mut ignore = rule_ids("--ignore", &self.ignore)?;
        ignore.extend(config.rules.ignore.iter().cloned());
        let size_text = self
            .max_file_size
            .or(config.max_file_size.clone())
            .unwrap_or_else(|| "4M".to_string());
        let max_file_size = parse_size(&size_text).filter(|n| *n > 0).ok_or_else(|| {
            UsageError(format!(
                "--max-file-size: `{size_text}` is not a size (e.g. 512K, 4M)"
            ))
        })?;
        let threads = match self.threads {
            Some(0) => return Err(UsageError("--threads: must be at least 1".to_string()).into()),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let paths = if self.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            self.paths
        };
        if self.verify && !cfg!(feature = "verify") {
            return Err(UsageError(format!("--verify: {}", crate::verify::NOT_BUILT)).into());
        }
        let verify = match (self.verify, self.verify_registry) {
            (false, _) => None,
            (true, None) => Some(crate::verify::VerifyOptions::default()),
            (true, Some(url)) => match crate::verify::registry_url(&url) {
                Some(base) => Some(crate::verify::VerifyOptions {
                    registry_override: Some(base),
                }),
                None => {
                    return Err(UsageError(format!(
                    "--verify-registry: `{url}` is not an http(s) registry URL with a plain host"
                ))
                    .into())
                }
            },
        };
        let mut excludes = config.exclude.clone();
        excludes.extend(self.exclude);
        let history = if self.history {
            let since = match &self.since {
                Some(v) => Some(crate::history::parse_since(v).ok_or_else(|| {
                    UsageError(format!(
                        "--since: `{v}` is not a date (e.g. 2024-01-31, \"6 months ago\")"
                    ))
                })?),
                None => None,
            };
            Some(crate::history::HistoryOptions {
                since,
                range: self.range,
                branches: self.branch,
                excludes: excludes.clone(),
                no_ignore: self.no_ignore,
            })
        } else {
            None
        };
        Ok(Settings {
            paths,
            format: self.format,
            output: self.output,
            fail_on,
            color: self.color,
            user: self.user,
            threads,
            baseline: self.baseline,
            write_baseline: self.write_baseline,
            staged: self.staged,
            history,
            diff: self.diff,
            fix: self.fix,
            unsafe_fixes: self.unsafe_fixes,
            verify,
            path_ignores: PathIgnores::new(&config.ignore),
            scan: ScanSettings {
                walk: WalkOptions {
                    no_ignore: self.no_ignore,
                    // Every text file is swept for checksum-valid `npm_` tokens unless asked not to.
                    all_files: self.all_files || !self.known_kinds_only,
                    excludes,
                    threads,
                },
                checks: CheckOptions {
                    select: (!select.is_empty()).then_some(select),
                    ignore,
                    token_vars: config.token_variables.clone(),
                    all_files: self.all_files,
                },
                min_severity,
                max_file_size,
                severity_overrides: config.rules.severity.clone(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4M"), Some(4 * 1024 * 1024));
        assert_eq!(parse_size("512k"), Some(512 * 1024));
        assert_eq!(parse_size("1GiB"), Some(1024 * 1024 * 1024));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("4X"), None);
        assert_eq!(parse_size(""), None);
    }
}
