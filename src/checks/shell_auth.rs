//! npm-auth facts about a shell script: credentials written to `.npmrc`, `npm config set` of auth
//! keys, `.npmrc` removals, legacy logins, reads of BuildKit secret files and tokens exported under
//! auth variable names.
//!
//! Shared by every check that sees shell: Dockerfile `RUN` and CI `run:`/`script:` steps. The
//! facts carry file spans (through the caller's [`MappedText`]) and the variables feeding the
//! credential, so a Dockerfile check can tell which `ARG` reaches npm auth and a CI check which
//! secret does. Nothing here decides severity or wording.

use crate::parse::shell::{AssignmentKind, Command, Redirect, RedirectOp, Script, Word};
use crate::source::{MappedText, Span};

/// One npm-auth fact found in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub kind: FactKind,
    /// The whole command, in file coordinates.
    pub span: Span,
    /// The part to point at: the credential text, the file written, the login word.
    pub focus: Span,
    /// Variables whose values reach the credential (names as written, without `$`).
    pub vars: Vec<String>,
    /// Index of the command in [`Script::commands`].
    pub command: usize,
    /// True when found inside `$(...)`, backticks or an inline `sh -c` script.
    pub nested: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactKind {
    /// Credentials written into an npm config file (`.npmrc`, a global `npmrc`, `.yarnrc.yml`)
    /// by a redirection, `tee`, or a copy.
    ConfigFileWrite {
        /// The file written, as written in the script.
        path: String,
        /// `>>` or `tee -a`: the file may already hold other settings.
        append: bool,
        /// Where the credential comes from when it is copied from a file (`cp`, `cat FILE >`).
        from_file: Option<String>,
    },
    /// `npm config set //host/:_authToken ...` and the same for pnpm and Yarn.
    ConfigSet { tool: String, key: String },
    /// `rm` of an npm config file.
    ConfigFileRemove { path: String },
    /// `npm config delete //host/:_authToken` (and `rm`, and the same for pnpm and Yarn).
    ConfigDelete { tool: String, key: String },
    /// `npm login`, `npm adduser`, `npm-cli-login`, `npm-login-noninteractive`, `yarn login`,
    /// `yarn npm login`, `pnpm login` (also through `npx`, `yarn dlx` and friends).
    Login {
        tool: String,
        /// The `--registry` given, if any (local Verdaccio registries are common in tests).
        registry: Option<String>,
    },
    /// A read of a BuildKit secret file (`/run/secrets/...`).
    SecretRead { path: String },
    /// A value assigned to an npm auth variable (`NODE_AUTH_TOKEN`, `NPM_TOKEN`,
    /// `NPM_CONFIG_//host/:_authToken`...).
    TokenVariable {
        name: String,
        kind: AssignmentKind,
        /// The value comes from a BuildKit secret file (`$(cat /run/secrets/...)`).
        from_secret_file: bool,
    },
}

/// Whether `name` is an environment variable npm, Yarn or pnpm read a token from, or one that
/// conventionally holds an npm token. `NPM_TOKEN_FILE`-style names (a path, not a token) are not.
pub fn is_token_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if upper.ends_with("_FILE") || upper.ends_with("_PATH") {
        return false;
    }
    // Beyond the conventional token names: whole-npmrc variables and npm's `_auth` settings.
    const EXTRA: &[&str] = &[
        "NPM_AUTH",
        "NPMRC",
        "NPMRC_CONTENT",
        "NPM_RC",
        "NPM_ACCESS_TOKEN",
    ];
    if crate::token::is_npm_token_var(&upper) || EXTRA.contains(&upper.as_str()) {
        return true;
    }
    let config = upper
        .strip_prefix("NPM_CONFIG_")
        .or_else(|| upper.strip_prefix("PNPM_CONFIG_"));
    config.is_some_and(|key| key.ends_with("AUTHTOKEN") || key.ends_with("_AUTH"))
        || upper.ends_with("_NPM_AUTH_TOKEN")
}

/// Whether a variable name suggests a secret (password, token, OTP, key).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    is_token_variable(name)
        || ["PASS", "TOKEN", "SECRET", "AUTH", "OTP", "KEY", "CRED"]
            .iter()
            .any(|k| upper.contains(k))
}

/// Whether the text sets an npm credential key (`_authToken=`, `_auth=`, `_password=`,
/// Yarn's `npmAuthToken:`/`npmAuthIdent:`).
pub fn has_auth_key(text: &str) -> bool {
    auth_key_at(text).is_some()
}

/// Byte offset of the first credential key in `text`.
fn auth_key_at(text: &str) -> Option<usize> {
    const KEYS: &[&str] = &[
        "_authtoken",
        "_auth",
        "_password",
        "npmauthtoken",
        "npmauthident",
    ];
    let lower = text.to_ascii_lowercase();
    KEYS.iter()
        .filter_map(|key| {
            lower.match_indices(key).find_map(|(at, _)| {
                let after = lower
                    .get(at + key.len()..)?
                    .trim_start_matches([' ', '\t', '"']);
                (after.starts_with('=') || after.starts_with(':')).then_some(at)
            })
        })
        .min()
}

/// Whether `path` names an npm/Yarn config file that holds credentials.
pub fn is_npm_config_path(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    base == ".npmrc"
        || base == ".yarnrc.yml"
        || base == ".yarnrc"
        || (base == "npmrc" && path.contains("etc/"))
        || base.eq_ignore_ascii_case("${NPM_CONFIG_USERCONFIG}")
        || base.eq_ignore_ascii_case("$NPM_CONFIG_USERCONFIG")
}

/// Whether `path` is a BuildKit secret file.
pub fn is_secret_path(path: &str) -> bool {
    path.starts_with("/run/secrets/") || path.starts_with("/run/secrets")
}

/// The words of the command that actually runs, past wrappers like `sudo`, `env`, `npx`,
/// `exec`, `yarn dlx`, `pnpm dlx`, `bunx`, `npm exec --`.
pub fn effective_words(command: &Command) -> &[Word] {
    let mut words: &[Word] = &command.words;
    for _ in 0..8 {
        let Some(first) = words.first() else {
            return words;
        };
        let name = base(&first.value);
        let rest = words.get(1..).unwrap_or(&[]);
        let next = match name {
            "sudo" | "doas" | "exec" | "nohup" | "time" | "command" | "npx" | "bunx" | "pnpx"
            | "env" => skip_options(rest, name),
            "yarn" | "pnpm" | "pn" | "npm" | "bun" => {
                match rest.first().map(|w| w.value.as_str()) {
                    Some("dlx" | "exec" | "x") => skip_options(rest.get(1..).unwrap_or(&[]), name),
                    _ => return words,
                }
            }
            _ => return words,
        };
        if next.len() == words.len() {
            return words;
        }
        words = next;
    }
    words
}

/// Drops a wrapper's own options (and `env`'s `NAME=value` pairs).
fn skip_options<'a>(words: &'a [Word], wrapper: &str) -> &'a [Word] {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let v = w.value.as_str();
        if v == "--" {
            return words.get(i + 1..).unwrap_or(&[]);
        }
        let takes_value = match wrapper {
            "sudo" => matches!(v, "-u" | "-g" | "-C" | "-D" | "-h" | "-p" | "-U"),
            "npx" | "pnpx" => matches!(v, "-p" | "--package" | "-c" | "--call"),
            "env" => matches!(v, "-u" | "-C" | "-S"),
            _ => false,
        };
        if takes_value {
            i += 2;
        } else if v.starts_with('-') || (wrapper == "env" && v.contains('=')) {
            i += 1;
        } else {
            break;
        }
    }
    words.get(i..).unwrap_or(&[])
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Positional arguments (options and their `=` values skipped).
fn positionals(words: &[Word]) -> impl Iterator<Item = &Word> {
    words.iter().filter(|w| !w.value.starts_with('-'))
}

/// Finds every npm-auth fact in `script`, whose text is `text.text`; spans are mapped to the file.
pub fn analyse(script: &Script, text: &MappedText) -> Vec<Fact> {
    let mut facts = Vec::new();
    for (index, command) in script.commands.iter().enumerate() {
        let ctx = Ctx {
            script,
            text,
            index,
            command,
        };
        ctx.config_writes(&mut facts);
        ctx.config_set(&mut facts);
        ctx.removal(&mut facts);
        ctx.login(&mut facts);
        ctx.secret_reads(&mut facts);
        ctx.token_variables(&mut facts);
    }
    facts
}

struct Ctx<'a> {
    script: &'a Script,
    text: &'a MappedText,
    index: usize,
    command: &'a Command,
}

/// Text written by a command or a pipeline, with the variables in it.
#[derive(Default)]
struct Content {
    text: String,
    vars: Vec<String>,
    focus: Option<Span>,
    from_file: Option<String>,
}

impl Ctx<'_> {
    fn fact(&self, kind: FactKind, focus: Span, vars: Vec<String>) -> Fact {
        Fact {
            kind,
            span: self.text.to_source(self.command.span.clone()),
            focus: self.text.to_source(focus),
            vars,
            command: self.index,
            nested: self.command.depth > 0,
        }
    }

    /// `echo ... > .npmrc`, `cat <<EOF > .npmrc`, `... | tee -a .npmrc`, `cp x .npmrc`.
    fn config_writes(&self, facts: &mut Vec<Fact>) {
        let words = effective_words(self.command);
        let name = words.first().map(|w| base(&w.value)).unwrap_or("");
        let mut targets: Vec<(&Word, bool)> = self
            .command
            .file_writes()
            .filter(|(_, t)| is_npm_config_path(&t.value))
            .map(|(r, t)| {
                (
                    t,
                    r.op == RedirectOp::Append || r.op == RedirectOp::AppendOutErr,
                )
            })
            .collect();
        if name == "tee" {
            let append = words
                .iter()
                .any(|w| w.value == "-a" || w.value == "--append");
            targets.extend(
                positionals(words.get(1..).unwrap_or(&[]))
                    .filter(|w| is_npm_config_path(&w.value))
                    .map(|w| (w, append)),
            );
        }
        let mut copy_from = None;
        if matches!(name, "cp" | "mv" | "install" | "ln") {
            let args: Vec<&Word> = positionals(words.get(1..).unwrap_or(&[])).collect();
            if let [sources @ .., dest] = args.as_slice() {
                if !sources.is_empty() && is_npm_config_path(&dest.value) {
                    targets.push((dest, false));
                    copy_from = sources.first().map(|s| s.value.clone());
                }
            }
        }
        if targets.is_empty() {
            return;
        }
        let mut content = self.content();
        if copy_from.is_some() {
            content.from_file = copy_from;
        }
        let credential = has_auth_key(&content.text)
            || content.vars.iter().any(|v| is_token_variable(v))
            || content.from_file.is_some();
        if !credential {
            return;
        }
        for (target, append) in targets {
            facts.push(self.fact(
                FactKind::ConfigFileWrite {
                    path: target.value.clone(),
                    append,
                    from_file: content.from_file.clone(),
                },
                content.focus.clone().unwrap_or_else(|| target.span.clone()),
                content.vars.clone(),
            ));
        }
    }

    /// What this command writes: its own echo/printf words, here-document or here-string, or
    /// those of the commands before it in its pipeline.
    fn content(&self) -> Content {
        let mut content = Content::default();
        let pipeline: Vec<&Command> = self
            .script
            .pipeline(self.command.pipeline)
            .filter(|c| c.span.start <= self.command.span.start)
            .collect();
        for command in pipeline {
            add_content(command, &mut content);
        }
        content
    }

    fn config_set(&self, facts: &mut Vec<Fact>) {
        let words = effective_words(self.command);
        let tool = words.first().map(|w| base(&w.value)).unwrap_or("");
        if !matches!(tool, "npm" | "pnpm" | "pn" | "yarn" | "bun") {
            return;
        }
        let args: Vec<&Word> = words.get(1..).unwrap_or(&[]).iter().collect();
        let (set_at, delete) = match args.first().map(|w| w.value.as_str()) {
            Some("config" | "c") => match args.get(1).map(|w| w.value.as_str()) {
                Some("set") => (2, false),
                Some("delete" | "rm" | "unset") => (2, true),
                _ => return,
            },
            Some("set") => (1, false),
            _ => return,
        };
        let mut rest = args
            .iter()
            .skip(set_at)
            .filter(|w| !w.value.starts_with('-'));
        let Some(key_word) = rest.next() else {
            return;
        };
        let (key, value) = match key_word.value.split_once('=') {
            Some((k, _)) => (k.to_string(), Some(*key_word)),
            None => (key_word.value.clone(), rest.next().copied()),
        };
        let lower = key.to_ascii_lowercase();
        let is_auth = [
            "_authtoken",
            "_auth",
            "_password",
            "npmauthtoken",
            "npmauthident",
        ]
        .iter()
        .any(|k| lower.ends_with(k));
        if !is_auth {
            return;
        }
        if delete {
            facts.push(self.fact(
                FactKind::ConfigDelete {
                    tool: tool.to_string(),
                    key,
                },
                key_word.span.clone(),
                Vec::new(),
            ));
            return;
        }
        let mut vars: Vec<String> = key_word.vars.iter().map(|v| v.name.clone()).collect();
        if let Some(value) = value {
            if !std::ptr::eq(value, *key_word) {
                vars.extend(value.vars.iter().map(|v| v.name.clone()));
            }
        }
        let focus = value.map_or(key_word.span.clone(), |v| v.span.clone());
        facts.push(self.fact(
            FactKind::ConfigSet {
                tool: tool.to_string(),
                key,
            },
            focus,
            vars,
        ));
    }

    fn removal(&self, facts: &mut Vec<Fact>) {
        let words = effective_words(self.command);
        if words.first().map(|w| base(&w.value)) != Some("rm") {
            return;
        }
        for w in positionals(words.get(1..).unwrap_or(&[])) {
            if is_npm_config_path(&w.value) {
                facts.push(self.fact(
                    FactKind::ConfigFileRemove {
                        path: w.value.clone(),
                    },
                    w.span.clone(),
                    Vec::new(),
                ));
            }
        }
    }

    fn login(&self, facts: &mut Vec<Fact>) {
        let words = effective_words(self.command);
        let Some(first) = words.first() else {
            return;
        };
        let name = base(&first.value);
        let args = words.get(1..).unwrap_or(&[]);
        let sub: Vec<&str> = positionals(args)
            .map(|w| w.value.as_str())
            .take(2)
            .collect();
        let tool = match (name, sub.as_slice()) {
            ("npm-cli-login" | "npm-login-noninteractive", _) => name.to_string(),
            ("npm", [s, ..]) if matches!(*s, "login" | "adduser" | "add-user") => {
                format!("npm {s}")
            }
            ("pnpm", [s, ..]) if matches!(*s, "login" | "adduser") => format!("pnpm {s}"),
            ("yarn", ["login", ..]) => "yarn login".to_string(),
            ("yarn", ["npm", "login"]) => "yarn npm login".to_string(),
            _ => return,
        };
        let registry = args.iter().enumerate().find_map(|(i, w)| {
            if let Some(v) = w.value.strip_prefix("--registry=") {
                return Some(v.to_string());
            }
            if w.value == "--registry" || w.value == "-r" {
                return args.get(i + 1).map(|n| n.value.clone());
            }
            None
        });
        let vars = self
            .command
            .words
            .iter()
            .chain(
                self.command
                    .assignments
                    .iter()
                    .filter_map(|a| a.value.as_ref()),
            )
            .flat_map(|w| w.vars.iter().map(|v| v.name.clone()))
            // User names and e-mail addresses feed a login too, but only secrets matter here.
            .filter(|name| is_secret_name(name))
            .collect();
        let end = words.last().map_or(first.span.end, |w| w.span.end);
        facts.push(self.fact(
            FactKind::Login { tool, registry },
            first.span.start..end,
            vars,
        ));
    }

    fn secret_reads(&self, facts: &mut Vec<Fact>) {
        let words = self.command.words.iter().skip(1);
        let redirected = self
            .command
            .redirects
            .iter()
            .filter(|r| r.op == RedirectOp::In)
            .filter_map(|r| r.target.as_ref());
        for w in words.chain(redirected) {
            if is_secret_path(&w.value) {
                facts.push(self.fact(
                    FactKind::SecretRead {
                        path: w.value.clone(),
                    },
                    w.span.clone(),
                    Vec::new(),
                ));
            }
        }
    }

    fn token_variables(&self, facts: &mut Vec<Fact>) {
        for a in &self.command.assignments {
            if !is_token_variable(&a.name) {
                continue;
            }
            let Some(value) = &a.value else {
                continue;
            };
            if value.value.is_empty() {
                continue;
            }
            let from_secret_file = value.value.contains("/run/secrets");
            facts.push(self.fact(
                FactKind::TokenVariable {
                    name: a.name.clone(),
                    kind: a.kind,
                    from_secret_file,
                },
                value.span.clone(),
                value.vars.iter().map(|v| v.name.clone()).collect(),
            ));
        }
    }
}

/// Adds what `command` prints (echo/printf words, here-documents, here-strings, `cat` of a
/// file) to `content`.
fn add_content(command: &Command, content: &mut Content) {
    let words = effective_words(command);
    let name = words.first().map(|w| base(&w.value)).unwrap_or("");
    let mut add_word = |w: &Word, content: &mut Content| {
        if !content.text.is_empty() {
            content.text.push(' ');
        }
        if let Some(at) = auth_key_at(&w.value) {
            if content.focus.is_none() {
                content.focus = Some(w.value_span(at..w.value.len()));
            }
        }
        content.text.push_str(&w.value);
        content.vars.extend(w.vars.iter().map(|v| v.name.clone()));
    };
    if matches!(name, "echo" | "printf" | "print") {
        for w in words.get(1..).unwrap_or(&[]) {
            add_word(w, content);
        }
    }
    if name == "cat" {
        if let Some(file) = positionals(words.get(1..).unwrap_or(&[])).next() {
            content.from_file = Some(file.value.clone());
        }
    }
    for r in &command.redirects {
        add_redirect_content(r, content, &mut add_word);
    }
}

fn add_redirect_content(
    r: &Redirect,
    content: &mut Content,
    add_word: &mut dyn FnMut(&Word, &mut Content),
) {
    if let Some(h) = &r.heredoc {
        if let Some(at) = auth_key_at(&h.body) {
            if content.focus.is_none() {
                // Point at the line holding the key.
                let line_start = h
                    .body
                    .get(..at)
                    .and_then(|b| b.rfind('\n'))
                    .map_or(0, |n| n + 1);
                let line_end = h
                    .body
                    .get(at..)
                    .and_then(|b| b.find('\n'))
                    .map_or(h.body.len(), |n| at + n);
                content.focus = Some(heredoc_span(h, line_start..line_end));
            }
        }
        if !content.text.is_empty() {
            content.text.push('\n');
        }
        content.text.push_str(&h.body);
        content.vars.extend(h.vars.iter().map(|v| v.name.clone()));
    } else if r.op == RedirectOp::HereString {
        if let Some(t) = &r.target {
            add_word(t, content);
        }
    } else if r.op == RedirectOp::In {
        if let Some(t) = &r.target {
            content.from_file = Some(t.value.clone());
        }
    }
}

/// Span in the analysed text of a range of a here-document body (exact unless tabs were stripped).
fn heredoc_span(h: &crate::parse::shell::Heredoc, range: Span) -> Span {
    if h.strip_tabs {
        return h.body_span.clone();
    }
    let start = (h.body_span.start + range.start).min(h.body_span.end);
    let end = (h.body_span.start + range.end).min(h.body_span.end);
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::shell;

    fn facts(text: &str) -> Vec<Fact> {
        let mapped = MappedText::verbatim(text, 0..text.len());
        analyse(&shell::parse(text), &mapped)
    }

    fn kinds(text: &str) -> Vec<FactKind> {
        facts(text).into_iter().map(|f| f.kind).collect()
    }

    fn write(path: &str, append: bool) -> FactKind {
        FactKind::ConfigFileWrite {
            path: path.to_string(),
            append,
            from_file: None,
        }
    }

    #[test]
    fn seed_echo_then_rm() {
        let text = "echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc && npm ci && rm -f .npmrc";
        let f = facts(text);
        assert_eq!(f[0].kind, write(".npmrc", false));
        assert_eq!(f[0].vars, ["NPM_TOKEN"]);
        assert_eq!(&text[f[0].focus.clone()], "_authToken=${NPM_TOKEN}");
        assert_eq!(
            f[1].kind,
            FactKind::ConfigFileRemove {
                path: ".npmrc".into()
            }
        );
    }

    #[test]
    fn writes_in_every_shape() {
        assert_eq!(
            kinds("printf '//r/:_authToken=%s\\n' \"$T\" >> ~/.npmrc"),
            [write("~/.npmrc", true)]
        );
        assert_eq!(
            kinds("echo \"//r/:_authToken=$T\" | tee -a /root/.npmrc > /dev/null"),
            [write("/root/.npmrc", true)]
        );
        let text = "cat <<EOF > $HOME/.npmrc\n//r/:_authToken=${NPM_TOKEN}\nEOF\n";
        let f = facts(text);
        assert_eq!(f[0].kind, write("$HOME/.npmrc", false));
        assert_eq!(&text[f[0].focus.clone()], "//r/:_authToken=${NPM_TOKEN}");
        assert_eq!(
            kinds("echo \"$NPMRC\" | base64 -d > .npmrc"),
            [write(".npmrc", false)]
        );
        assert_eq!(
            kinds("cp /run/secrets/npmrc /root/.npmrc"),
            [
                FactKind::ConfigFileWrite {
                    path: "/root/.npmrc".into(),
                    append: false,
                    from_file: Some("/run/secrets/npmrc".into())
                },
                FactKind::SecretRead {
                    path: "/run/secrets/npmrc".into()
                }
            ]
        );
        assert_eq!(
            kinds("sh -c 'echo _auth=$A > .npmrc'").len(),
            1,
            "inline scripts are analysed"
        );
    }

    #[test]
    fn writes_without_credentials_are_not_facts() {
        assert!(kinds("echo '@scope:registry=https://npm.pkg.github.com' > .npmrc").is_empty());
        assert!(kinds("echo $HELLO > .npmrc").is_empty());
        assert!(kinds("echo '//r/:_authToken=x' > notes.txt").is_empty());
    }

    #[test]
    fn config_set_forms() {
        let f = facts("npm config set //registry.npmjs.org/:_authToken \"$NPM_TOKEN\"");
        assert_eq!(
            f[0].kind,
            FactKind::ConfigSet {
                tool: "npm".into(),
                key: "//registry.npmjs.org/:_authToken".into()
            }
        );
        assert_eq!(f[0].vars, ["NPM_TOKEN"]);
        assert_eq!(
            facts("npm set //r/:_authToken=${T} --location=project")[0].vars,
            ["T"]
        );
        assert_eq!(kinds("yarn config set npmAuthToken $T").len(), 1);
        assert!(kinds("npm config set registry https://r").is_empty());
        assert!(kinds("npm config get //r/:_authToken").is_empty());
        assert_eq!(
            kinds("npm config delete //r/:_authToken"),
            [FactKind::ConfigDelete {
                tool: "npm".into(),
                key: "//r/:_authToken".into()
            }]
        );
    }

    #[test]
    fn logins() {
        let login = |tool: &str, registry: Option<&str>| FactKind::Login {
            tool: tool.into(),
            registry: registry.map(str::to_string),
        };
        assert_eq!(kinds("npm login"), [login("npm login", None)]);
        assert_eq!(
            kinds("npm adduser --registry http://localhost:4873"),
            [login("npm adduser", Some("http://localhost:4873"))]
        );
        assert_eq!(
            kinds("NPM_USER=u NPM_PASS=$P npx -y npm-cli-login"),
            [login("npm-cli-login", None)]
        );
        assert_eq!(
            kinds("sudo npx npm-login-noninteractive")[0],
            login("npm-login-noninteractive", None)
        );
        assert_eq!(kinds("yarn login"), [login("yarn login", None)]);
        assert_eq!(kinds("yarn npm login"), [login("yarn npm login", None)]);
        assert!(kinds("echo npm login").is_empty());
        assert!(kinds("npm install login").is_empty());
    }

    #[test]
    fn secret_reads_and_token_variables() {
        let f = kinds("NPM_TOKEN=$(cat /run/secrets/npm_token) npm ci");
        assert!(f.contains(&FactKind::TokenVariable {
            name: "NPM_TOKEN".into(),
            kind: AssignmentKind::Prefix,
            from_secret_file: true
        }));
        assert!(f.contains(&FactKind::SecretRead {
            path: "/run/secrets/npm_token".into()
        }));
        let e = facts("export NODE_AUTH_TOKEN=$TOKEN");
        assert_eq!(e[0].vars, ["TOKEN"]);
        assert!(kinds("export NPM_TOKEN_FILE=/run/x").is_empty());
        assert!(kinds("export NPM_CONFIG_REGISTRY=$R").is_empty());
        assert_eq!(
            kinds("export NPM_CONFIG_//r/:_authToken=$T").len(),
            0,
            "not a shell name"
        );
        assert_eq!(kinds("export npm_config__auth=$T").len(), 1);
    }

    #[test]
    fn token_variable_names() {
        for yes in [
            "NPM_TOKEN",
            "node_auth_token",
            "GH_NPM_TOKEN",
            "NPM_CONFIG__AUTHTOKEN",
            "NPMRC",
        ] {
            assert!(is_token_variable(yes), "{yes}");
        }
        for no in [
            "NPM_TOKEN_FILE",
            "NODE_VERSION",
            "TOKEN_PATH",
            "NPM_CONFIG_REGISTRY",
        ] {
            assert!(!is_token_variable(no), "{no}");
        }
    }
}
