//! One run of the program: a resolved command line in, an exit code out.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::cli::{ColorChoice, Command, ReportArgs, ReportFormat, Settings};
use crate::discover::{self, Candidate, FileKind};
use crate::fix::{self, FixMode};
use crate::output::{self, Format, Style};
use crate::rules::{self, ExampleKind};
use crate::scan::{self, Report};
use crate::suppress::Baseline;

/// Exit codes of the contract.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// Rule files that failed to load are a build defect; say so loudly rather than run without them.
fn check_rule_data() -> bool {
    for e in rules::load_errors() {
        eprintln!("internal error: {e}");
    }
    if let Some(e) = crate::catalogue::load_error() {
        eprintln!("internal error: {e}");
        return false;
    }
    rules::load_errors().is_empty()
}

/// Runs a subcommand; returns the exit code.
pub fn run_command(command: Command) -> u8 {
    if !check_rule_data() {
        return EXIT_ERROR;
    }
    match command {
        Command::Rules => {
            print_stdout(&rules_table());
            EXIT_OK
        }
        Command::Explain { rule } => match explain(&rule) {
            Some(text) => {
                print_stdout(&text);
                EXIT_OK
            }
            None => {
                eprintln!("error: unknown rule `{rule}` (see `npm-auth-scan rules`, or `explain catalogue`)");
                EXIT_ERROR
            }
        },
        Command::Report(args) => run_report(&args),
    }
}

/// `report`: merges JSON reports into one audit. Exit 2 when an input could not be used (the
/// report of the others is still written), else 0.
fn run_report(args: &ReportArgs) -> u8 {
    let max_bytes = match args.max_bytes() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let audit = crate::report::Audit::load(&args.inputs);
    for p in &audit.problems {
        eprintln!("error: {p}");
    }
    let rendered = match args.resolved_format() {
        ReportFormat::Html => crate::report::html::render(&audit),
        ReportFormat::Markdown => crate::report::markdown::render(&audit, max_bytes),
    };
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, rendered.as_bytes()) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return EXIT_ERROR;
            }
        }
        None => print_stdout(&rendered),
    }
    if audit.problems.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    }
}

/// The `rules` table: id, default severity, title.
pub fn rules_table() -> String {
    let all = rules::all();
    let width = all.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    let mut out = format!("{:<width$}  {:<8}  TITLE\n", "ID", "SEVERITY");
    for rule in all {
        out.push_str(&format!(
            "{:<width$}  {:<8}  {}\n",
            rule.id,
            rule.severity.as_str(),
            rule.title
        ));
    }
    out
}

/// The rules table as markdown, for the README (a test keeps the README in step).
pub fn rules_markdown() -> String {
    let mut out = String::from("| id | default severity | what it finds |\n|---|---|---|\n");
    for rule in rules::all() {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            rule.id,
            rule.severity.as_str(),
            rule.title
        ));
    }
    out
}

/// The `explain` page of a rule, rendered from its data file.
pub fn explain(id: &str) -> Option<String> {
    if id == "catalogue" {
        return Some(format!(
            "catalogue: the publish commands, CI actions and token names the rules know (rules/catalogue.toml)\n\n{}",
            crate::catalogue::markdown()
        ));
    }
    let rule = rules::get(id)?;
    let mut out = format!(
        "{}: {}\n\nDefault severity: {}. Confidence: {}.\n\n## Why\n\n{}\n\n## What to do\n\n{}\n",
        rule.id,
        rule.title,
        rule.severity,
        rule.confidence.as_str(),
        rule.rationale.trim(),
        rule.remediation.trim()
    );
    for (kind, heading) in [
        (ExampleKind::Bad, "Flagged"),
        (ExampleKind::Good, "Not flagged"),
    ] {
        for ex in rule.examples.iter().filter(|e| e.kind == kind) {
            out.push_str(&format!("\n## {heading}: {}\n\n", ex.path));
            if let Some(note) = &ex.note {
                out.push_str(note.trim());
                out.push_str("\n\n");
            }
            for line in ex.content.lines() {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if !rule.references.is_empty() {
        out.push_str("\n## References\n\n");
        for r in &rule.references {
            match &r.date {
                Some(d) => out.push_str(&format!("- {} ({d}): {}\n", r.title, r.url)),
                None => out.push_str(&format!("- {}: {}\n", r.title, r.url)),
            }
        }
    }
    Some(crate::token::scrub(&out).into_owned())
}

/// Runs a scan; returns the exit code.
pub fn run_scan(settings: Settings) -> u8 {
    if !check_rule_data() {
        return EXIT_ERROR;
    }
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.threads)
        .build_global()
    {
        eprintln!("warning: thread pool: {e}");
    }
    let mut report = match scan_once(&settings) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if settings.diff || settings.fix {
        let mode = FixMode {
            unsafe_fixes: settings.unsafe_fixes,
        };
        let (plans, mut summary) = fix::plan(&report, mode, &settings.scan, &settings.paths);
        if settings.diff {
            let diffs: String = plans
                .iter()
                .filter(|p| p.rolled_back.is_none())
                .map(|p| p.diff.as_str())
                .collect();
            print_stdout(&diffs);
            for p in plans.iter().filter(|p| p.rolled_back.is_some()) {
                eprintln!(
                    "warning: {}: fix not shown: {}",
                    p.path,
                    p.rolled_back.as_deref().unwrap_or_default()
                );
            }
            eprintln!("{}", fix_summary_line(&summary, false));
            report_errors(&report, settings.format);
            return exit_code(&report, &settings);
        }
        fix::apply(&plans, &mut summary);
        for e in &summary.errors {
            eprintln!("warning: {e}");
        }
        eprintln!("{}", fix_summary_line(&summary, true));
        if summary.files_written > 0 {
            report = match scan_once(&settings) {
                Ok(r) => r,
                Err(code) => return code,
            };
        }
    }
    if settings.format.shows_repository() {
        for root in &mut report.roots {
            root.repository = Some(crate::report::repository::detect(
                Path::new(&root.root),
                &crate::report::repository::ProcessEnv,
            ));
        }
    }
    if let Some(options) = &settings.verify {
        eprintln!("{}", crate::verify::warning(options));
        crate::verify::verify_report(&mut report, options);
    }
    let style = Style {
        color: use_color(settings.color, settings.output.is_none()),
    };
    let rendered = output::render(settings.format, &report, style);
    match &settings.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, rendered.as_bytes()) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return EXIT_ERROR;
            }
        }
        None => print_stdout(&rendered),
    }
    report_errors(&report, settings.format);
    if settings.format == Format::Github {
        write_step_summary(&report);
    }
    if settings.write_baseline.is_some() {
        return if report.errors.is_empty() {
            EXIT_OK
        } else {
            EXIT_ERROR
        };
    }
    exit_code(&report, &settings)
}

fn fix_summary_line(s: &fix::FixSummary, applied: bool) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let hidden = match s.hidden {
        0 => String::new(),
        n => format!(
            " ({} can be enabled with the `--unsafe-fixes` option)",
            plural(n, "hidden fix", "hidden fixes")
        ),
    };
    format!(
        "{} {} in {}, {} skipped (overlapping or rolled back), {} left to do by hand{hidden}",
        plural(s.applied, "fix", "fixes"),
        if applied { "applied" } else { "to apply" },
        plural(
            if applied { s.files_written } else { s.files },
            "file",
            "files"
        ),
        s.skipped,
        s.manual
    )
}

/// Appends the findings table to the GitHub job summary, when running in GitHub Actions.
fn write_step_summary(report: &Report) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let summary = output::github::step_summary(report);
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(summary.as_bytes()));
    if let Err(e) = written {
        eprintln!("warning: cannot write the job summary: {e}");
    }
}

/// User-level configs read from disk, for `--staged --user` (they are not in the index).
fn read_extra(extra: Vec<Candidate>) -> Vec<(Candidate, Vec<u8>)> {
    extra
        .into_iter()
        .filter_map(|c| std::fs::read(&c.fs_path).ok().map(|b| (c, b)))
        .collect()
}

/// One scan with suppressions, config ignores and the baseline applied (and the baseline
/// written when asked).
fn scan_once(settings: &Settings) -> Result<Report, u8> {
    let extra = if settings.user {
        user_configs()
    } else {
        Vec::new()
    };
    let mut report = if let Some(history) = &settings.history {
        crate::history::scan_history(&settings.paths, history, &settings.scan)
    } else if settings.staged {
        match crate::staged::staged_blobs(
            &settings.paths,
            settings.scan.walk.all_files,
            &settings.scan.walk.excludes,
        ) {
            Ok(mut staged) => {
                staged.blobs.extend(read_extra(extra));
                scan::scan_blobs(&settings.paths, staged.blobs, staged.errors, &settings.scan)
            }
            Err(e) => {
                eprintln!("error: {e}");
                return Err(EXIT_ERROR);
            }
        }
    } else {
        scan::scan(&settings.paths, extra, &settings.scan)
    };
    if !settings.path_ignores.is_empty() {
        let ignores = settings.path_ignores.clone();
        let roots = report.roots.clone();
        report.suppress(|f| ignores.ignores(f.rule, scan::relative_to_roots(&f.path, &roots)));
    }
    if let Some(path) = &settings.baseline {
        match Baseline::read(path) {
            Ok(baseline) => {
                let known: std::collections::BTreeSet<String> = baseline
                    .findings
                    .iter()
                    .map(|e| e.fingerprint.clone())
                    .collect();
                report.suppress(|f| known.contains(&f.fingerprint));
            }
            Err(e) => {
                eprintln!("error: {e}");
                return Err(EXIT_ERROR);
            }
        }
    }
    if let Some(path) = &settings.write_baseline {
        let baseline = Baseline::from_findings(&report.findings);
        if let Err(e) = baseline.write(path) {
            eprintln!("error: {e}");
            return Err(EXIT_ERROR);
        }
        eprintln!(
            "wrote {} fingerprint{} to {}",
            baseline.findings.len(),
            if baseline.findings.len() == 1 {
                ""
            } else {
                "s"
            },
            path.display()
        );
    }
    Ok(report)
}

fn report_errors(report: &Report, format: Format) {
    for e in &report.errors {
        match e.line {
            Some(line) => eprintln!("error: {}:{line}: {}", e.path, e.message),
            None => eprintln!("error: {}: {}", e.path, e.message),
        }
    }
    if format == Format::Human {
        for n in &report.notes {
            eprintln!("note: {}: {}", n.path, n.message);
        }
    }
}

/// 1 when a reported finding reaches `--fail-on`; else 2 when a file could not be scanned;
/// else 0.
pub fn exit_code(report: &Report, settings: &Settings) -> u8 {
    let failing = settings
        .fail_on
        .is_some_and(|t| report.findings.iter().any(|f| f.severity >= t));
    if failing {
        EXIT_FINDINGS
    } else if !report.errors.is_empty() {
        EXIT_ERROR
    } else {
        EXIT_OK
    }
}

fn use_color(choice: ColorChoice, to_stdout: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_stdout
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        std::process::exit(i32::from(EXIT_OK));
    }
}

/// This machine's user-level package-manager configs that exist: `~/.npmrc`, `~/.yarnrc`,
/// `~/.yarnrc.yml`, `~/.bunfig.toml` (also under `$XDG_CONFIG_HOME`), and npm's global npmrc.
pub fn user_configs() -> Vec<Candidate> {
    let mut found: Vec<(PathBuf, String)> = Vec::new();
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
        let userconfig = std::env::var_os("NPM_CONFIG_USERCONFIG")
            .or_else(|| std::env::var_os("npm_config_userconfig"))
            .map(PathBuf::from);
        match userconfig {
            Some(p) => found.push((p.clone(), discover::display_path(&p))),
            None => found.push((home.join(".npmrc"), "~/.npmrc".to_string())),
        }
        for name in [".yarnrc", ".yarnrc.yml", ".bunfig.toml"] {
            found.push((home.join(name), format!("~/{name}")));
        }
        let xdg = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".config"));
        found.push((
            xdg.join(".bunfig.toml"),
            discover::display_path(&xdg.join(".bunfig.toml")),
        ));
    }
    if let Some(global) = global_npmrc() {
        found.push((global.clone(), discover::display_path(&global)));
    }
    found
        .into_iter()
        .filter(|(p, _)| p.is_file())
        .map(|(fs_path, display)| Candidate {
            kind: discover::classify(Path::new(&display))
                .or_else(|| discover::classify(&fs_path))
                .unwrap_or(FileKind::Npmrc),
            fs_path,
            display,
            named: true,
            root: usize::MAX,
        })
        .collect()
}

/// npm's global config: `$NPM_CONFIG_GLOBALCONFIG`, else `<prefix>/etc/npmrc` where the prefix is
/// `$NPM_CONFIG_PREFIX` or the folder above the `node` binary on `PATH`.
fn global_npmrc() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NPM_CONFIG_GLOBALCONFIG") {
        return Some(PathBuf::from(p));
    }
    let prefix = match std::env::var_os("NPM_CONFIG_PREFIX") {
        Some(p) => PathBuf::from(p),
        None => {
            let path = std::env::var_os("PATH")?;
            let node = std::env::split_paths(&path)
                .map(|d| d.join("node"))
                .find(|p| p.is_file())?;
            node.parent()?.parent()?.to_path_buf()
        }
    };
    Some(prefix.join("etc").join("npmrc"))
}
