//! The publisher and token-name catalogue (`rules/catalogue.toml`), embedded and loaded once:
//! which commands and CI actions publish to npm, the credential each reads and whether (from
//! which version) it can publish with trusted publishing; and which environment variable names
//! hold npm tokens. The CI, Dockerfile and compose checks all ask this module, so adding a
//! publisher or a token-name convention is a change to the data file alone.

use std::sync::LazyLock;

use serde::Deserialize;

static TEXT: &str = include_str!("../rules/catalogue.toml");

/// The whole data file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub tokens: TokenNames,
    #[serde(rename = "command")]
    pub commands: Vec<Command>,
    #[serde(rename = "action")]
    pub actions: Vec<Action>,
}

/// How a variable name is recognised as holding an npm token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenNames {
    pub names: Vec<String>,
    pub word: String,
    pub with_any: Vec<String>,
    pub not_last: Vec<String>,
    #[serde(default)]
    pub not_any: Vec<String>,
    pub match_examples: Vec<String>,
    pub no_match_examples: Vec<String>,
}

/// A command line that publishes (`npm publish`, `beachball publish`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    pub id: String,
    /// The name messages use.
    pub tool: String,
    pub programs: Vec<String>,
    pub words: Vec<String>,
    #[serde(default)]
    pub anywhere: bool,
    #[serde(default)]
    pub unless: Vec<String>,
    #[serde(default)]
    pub requires: Vec<String>,
    pub dry_run: Vec<String>,
    #[serde(default)]
    pub token_flags: Vec<String>,
    #[serde(default)]
    pub yarn_berry: bool,
    pub credential: String,
    pub oidc: String,
    pub oidc_status: OidcStatus,
    pub oidc_source: String,
    #[serde(default = "yes")]
    pub oidc_capable: bool,
    pub example: String,
    pub fixture: String,
}

/// A CI action, pipe, task or deploy provider that publishes (or provides a token).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub id: String,
    /// Normalised lower-case name (`changesets/action`, `travis:npm`, `npm` for Azure `Npm@1`).
    pub uses: String,
    pub tool: String,
    #[serde(default)]
    pub requires_input: Option<String>,
    #[serde(default)]
    pub token_inputs: bool,
    #[serde(default)]
    pub default_token: Option<String>,
    #[serde(default)]
    pub registry_input: Option<String>,
    #[serde(default)]
    pub dry_run_inputs: Vec<String>,
    #[serde(default)]
    pub handler: Option<String>,
    #[serde(default)]
    pub provides_token: bool,
    pub credential: String,
    pub oidc: String,
    pub oidc_status: OidcStatus,
    pub oidc_source: String,
    #[serde(default = "yes")]
    pub oidc_capable: bool,
    pub fixture: String,
}

/// What is known of a publisher's trusted publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OidcStatus {
    /// A source says from which version it works.
    Supported,
    /// A source says it cannot.
    None,
    /// No source read settles it: the entry says so instead of guessing.
    Unverified,
}

fn yes() -> bool {
    true
}

static CATALOGUE: LazyLock<Result<Catalogue, String>> =
    LazyLock::new(|| toml::from_str(TEXT).map_err(|e| format!("rules/catalogue.toml: {e}")));

static EMPTY: Catalogue = Catalogue {
    tokens: TokenNames {
        names: Vec::new(),
        word: String::new(),
        with_any: Vec::new(),
        not_last: Vec::new(),
        not_any: Vec::new(),
        match_examples: Vec::new(),
        no_match_examples: Vec::new(),
    },
    commands: Vec::new(),
    actions: Vec::new(),
};

/// The catalogue (empty if the embedded file does not load; a test keeps [`load_error`] empty).
pub fn get() -> &'static Catalogue {
    CATALOGUE.as_ref().unwrap_or(&EMPTY)
}

pub fn load_error() -> Option<&'static str> {
    CATALOGUE.as_ref().err().map(String::as_str)
}

/// The words of a variable name, upper-cased: split at every non-alphanumeric character and
/// where a lower-case letter meets an upper-case one (`npmToken`, `azure-sdk-npm-token`).
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_uppercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

impl TokenNames {
    /// Whether `name` holds an npm token by the catalogue's conventions (case-insensitive, any
    /// separators).
    pub fn matches(&self, name: &str) -> bool {
        let words = name_words(name);
        if words.is_empty() {
            return false;
        }
        let joined = words.join("_");
        if self.names.contains(&joined) {
            return true;
        }
        let has = |w: &str| words.iter().any(|x| x == w);
        has(&self.word)
            && self.with_any.iter().any(|w| has(w))
            && !self.not_any.iter().any(|w| has(w))
            && words.last().is_some_and(|l| !self.not_last.contains(l))
    }
}

/// Whether `name` holds an npm token by the catalogue's naming rules.
pub fn is_token_name(name: &str) -> bool {
    get().tokens.matches(name)
}

/// The npm package a command word names, without a version: `@lerna-lite/cli@3` →
/// `@lerna-lite/cli`, `semantic-release@24` → `semantic-release`.
pub fn package_name(word: &str) -> &str {
    match word.get(1..).and_then(|rest| rest.find('@')) {
        Some(i) => &word[..i + 1],
        None => word,
    }
}

impl Command {
    /// Whether `program` (the command's binary name) with positional words `pos` is this
    /// publish; `has_flag` tells whether a flag is given.
    pub fn matches(&self, program: &str, pos: &[&str], has_flag: &dyn Fn(&str) -> bool) -> bool {
        let base = program.rsplit('/').next().unwrap_or(program);
        let bin = match base.find('@') {
            Some(0) | None => base,
            Some(i) => &base[..i],
        };
        let package = package_name(program);
        if !self.programs.iter().any(|p| p == bin || p == package) {
            return false;
        }
        let words_ok = if self.anywhere {
            let mut rest = pos.iter();
            self.words.iter().all(|w| rest.any(|p| p == w))
        } else {
            pos.len() >= self.words.len() && self.words.iter().zip(pos).all(|(w, p)| w == p)
        };
        words_ok
            && !self.unless.iter().any(|f| has_flag(f))
            && (self.requires.is_empty() || self.requires.iter().any(|f| has_flag(f)))
    }

    pub fn is_dry_run(&self, has_flag: &dyn Fn(&str) -> bool) -> bool {
        self.dry_run.iter().any(|f| has_flag(f))
    }
}

/// The publish command `program pos...` is, if any.
pub fn find_command(
    program: &str,
    pos: &[&str],
    has_flag: &dyn Fn(&str) -> bool,
) -> Option<&'static Command> {
    get()
        .commands
        .iter()
        .find(|c| c.matches(program, pos, has_flag))
}

/// Programs that `yarn <program>` / `pnpm <program>` run as a package binary.
pub fn is_publisher_program(word: &str) -> bool {
    get()
        .commands
        .iter()
        .flat_map(|c| &c.programs)
        .filter(|p| !matches!(p.as_str(), "npm" | "yarn" | "pnpm" | "pn" | "bun"))
        .any(|p| p == word)
}

/// The catalogue entry for an action, pipe, task or provider (normalised name).
pub fn find_action(uses: &str) -> Option<&'static Action> {
    get().actions.iter().find(|a| a.uses == uses)
}

/// Whether a publish tool (as messages name it) can publish with trusted publishing.
pub fn tool_oidc_capable(tool: &str) -> bool {
    let c = get();
    c.commands
        .iter()
        .filter(|e| e.tool == tool)
        .map(|e| e.oidc_capable)
        .chain(
            c.actions
                .iter()
                .filter(|a| a.tool == tool)
                .map(|a| a.oidc_capable),
        )
        .next()
        .unwrap_or(true)
}

/// The catalogue as markdown tables, for `explain catalogue` and the README.
pub fn markdown() -> String {
    let c = get();
    let mut out = String::from(
        "| publisher | recognised as | credential it reads | trusted publishing (OIDC) |\n|---|---|---|---|\n",
    );
    for e in &c.commands {
        let shape = if e.words.is_empty() {
            format!("`{}`", e.programs.join("` / `"))
        } else {
            format!("`{}` {}", e.programs.join("` / `"), e.words.join(" "))
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} (source: {}) |\n",
            e.tool, shape, e.credential, e.oidc, e.oidc_source
        ));
    }
    for a in &c.actions {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} (source: {}) |\n",
            a.tool, a.uses, a.credential, a.oidc, a.oidc_source
        ));
    }
    out.push_str(&format!(
        "\nToken variables: {}; and any name whose words (split at any separator or case change, case-insensitive) include `{}` and one of {}, unless its last word is one of {} (`NEXUS_NPM_PROXY_TOKEN`, `azure-sdk-npm-token`, `npmToken`), plus the configuration's `token-variables`.\n",
        c.tokens.names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
        c.tokens.word,
        c.tokens.with_any.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join("/"),
        c.tokens.not_last.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_loads_with_unique_ids() {
        assert_eq!(load_error(), None);
        let c = get();
        assert!(c.commands.len() >= 15 && c.actions.len() >= 8);
        let mut ids: Vec<&str> = c
            .commands
            .iter()
            .map(|e| e.id.as_str())
            .chain(c.actions.iter().map(|a| a.id.as_str()))
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate catalogue ids");
    }

    #[test]
    fn every_command_example_is_recognised_as_its_entry() {
        for e in &get().commands {
            let parsed = crate::parse::shell::parse(&e.example);
            let words: Vec<String> = parsed
                .commands
                .first()
                .map(|c| c.words.iter().map(|w| w.value.clone()).collect())
                .unwrap_or_default();
            // `npx x` / `pnpm x`: the wrapper goes first, as the CI analyser unwraps it.
            let start = words
                .iter()
                .position(|w| !matches!(w.as_str(), "npx" | "bunx") && !w.starts_with('-'))
                .unwrap_or(0);
            let start = match words.get(start).map(String::as_str) {
                Some("pnpm" | "yarn" | "pn")
                    if words
                        .get(start + 1)
                        .is_some_and(|w| is_publisher_program(w)) =>
                {
                    start + 1
                }
                _ => start,
            };
            let program = words.get(start).cloned().unwrap_or_default();
            let rest = &words[(start + 1).min(words.len())..];
            let pos: Vec<&str> = rest
                .iter()
                .map(String::as_str)
                .filter(|w| !w.starts_with('-') && !w.starts_with('$'))
                .collect();
            let has_flag = |f: &str| rest.iter().any(|w| w == f);
            let found = find_command(&program, &pos, &has_flag);
            assert_eq!(
                found.map(|f| f.id.as_str()),
                Some(e.id.as_str()),
                "example `{}`",
                e.example
            );
        }
    }

    #[test]
    fn dry_run_and_opt_out_flags() {
        let yes = |f: &str| f == "-n";
        let berry = find_command("yarn", &["npm", "publish"], &yes);
        assert!(berry.is_some_and(|c| c.is_dry_run(&yes)));
        // beachball's -n is the token, not a dry run.
        let beachball = find_command("beachball", &["publish"], &yes);
        assert!(beachball.is_some_and(|c| !c.is_dry_run(&yes)));
        // rush publish without --publish only reports what it would do.
        assert!(find_command("rush", &["publish"], &|_| false).is_none());
        assert!(find_command("release-it", &[], &|f| f == "--no-npm").is_none());
        assert!(find_command("nx", &["release", "version"], &|_| false).is_none());
        assert!(!tool_oidc_capable("bun publish"));
        assert!(!tool_oidc_capable("yarn publish"));
        assert!(tool_oidc_capable("npm publish"));
    }

    /// Each entry's OIDC words agree with its status, and a source with a date backs them.
    #[test]
    fn oidc_status_agrees_with_its_words_and_is_sourced() {
        let c = get();
        let entries = c
            .commands
            .iter()
            .map(|e| {
                (
                    &e.id,
                    &e.oidc,
                    e.oidc_status,
                    &e.oidc_source,
                    e.oidc_capable,
                )
            })
            .chain(c.actions.iter().map(|a| {
                (
                    &a.id,
                    &a.oidc,
                    a.oidc_status,
                    &a.oidc_source,
                    a.oidc_capable,
                )
            }));
        let dated = regex::Regex::new(r"\b20\d\d-\d\d-\d\d\b")
            .unwrap_or_else(|e| unreachable!("static regex: {e}"));
        for (id, oidc, status, source, capable) in entries {
            match status {
                OidcStatus::Unverified => {
                    assert!(oidc.starts_with("unverified"), "{id}: {oidc}")
                }
                OidcStatus::None => assert!(oidc.starts_with("none"), "{id}: {oidc}"),
                OidcStatus::Supported => assert!(
                    oidc.contains(">=") && !oidc.contains("unverified"),
                    "{id}: a supported entry names its first version: {oidc}"
                ),
            }
            assert!(
                capable || status == OidcStatus::None,
                "{id}: only an entry known not to do OIDC is treated as unable to"
            );
            assert!(
                dated.is_match(source),
                "{id}: source without a date: {source}"
            );
        }
    }

    #[test]
    fn token_names_follow_the_examples() {
        let t = &get().tokens;
        for yes in &t.match_examples {
            assert!(t.matches(yes), "{yes}");
        }
        for no in &t.no_match_examples {
            assert!(!t.matches(no), "{no}");
        }
        for short_lived in ["NPM_ID_TOKEN", "NPM_OIDC_TOKEN", "CI_JOB_TOKEN"] {
            assert!(!t.matches(short_lived), "{short_lived}");
        }
    }

    #[test]
    fn words_split_at_separators_and_case() {
        assert_eq!(
            name_words("azure-sdk-npm-token"),
            ["AZURE", "SDK", "NPM", "TOKEN"]
        );
        assert_eq!(name_words("npmAuthToken"), ["NPM", "AUTH", "TOKEN"]);
        assert_eq!(name_words("npm.token"), ["NPM", "TOKEN"]);
        assert_eq!(package_name("@lerna-lite/cli@3"), "@lerna-lite/cli");
        assert_eq!(package_name("semantic-release@24"), "semantic-release");
    }
}
