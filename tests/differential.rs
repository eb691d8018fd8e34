//! Differential test of `.npmrc` semantics against npm itself.
//!
//! Generated `.npmrc` files (seeded, so every run sees the same ones) are read twice: by our
//! parser, and by the npm installed on the machine. Both sides then say which settings the file
//! holds at top level (key → value, `${VAR}` expanded the way npm does) and whether npm 9+
//! rejects it for unscoped auth. The two must agree.
//!
//! `npm config list --json` hides every credential (`_authToken`, `_auth`, `_password` and all
//! nerf-darted auth keys are dropped or shown as "(protected)"), so values come from npm's own
//! config loader, `@npmcli/config`, loaded from npm's installation folder and driven exactly
//! as the CLI drives it (`--userconfig FILE --globalconfig /dev/null`). A few files also go
//! through the real `npm config list` to check that the loader and the CLI see the same keys.
//! Skips, saying so, when `npm` or `node` is not on the PATH.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use npm_auth_scan::parse::npmrc::{self, Line};

/// How many files to generate; one `node` run loads them all.
const FILES: usize = 200;
/// How many of them also go through the `npm` CLI (one process each).
const CLI_FILES: usize = 6;
/// The one variable set in npm's environment; every other `${…}` is unset.
const SET_VAR: (&str, &str) = ("NPM_TOKEN", "tok-from-env");

/// Loads each file named in the JSON list argv[3] as npm does and prints, per file, its own
/// top-level settings (sections and arrays left out) and the auth problems npm 9+ throws on.
const ORACLE: &str = r#"
const path = require('node:path')
const fs = require('node:fs')
const npmRoot = process.argv[2]
const files = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))
const Config = require(path.join(npmRoot, 'node_modules/@npmcli/config'))
const { definitions, flatten, nerfDarts, shorthands } =
  require(path.join(npmRoot, 'node_modules/@npmcli/config/lib/definitions'))
const env = JSON.parse(process.argv[4])
;(async () => {
  const out = []
  for (const file of files) {
    const config = new Config({
      npmPath: npmRoot, definitions, flatten, nerfDarts, shorthands,
      argv: [process.execPath, 'npm', '--userconfig', file, '--globalconfig', '/dev/null'],
      env, cwd: process.argv[5], excludeNpmCwd: true, warn: false,
    })
    await config.load()
    const data = config.data.get('user').data
    const settings = {}
    for (const k of Object.keys(data)) {
      const v = data[k]
      if (v !== null && typeof v === 'object') continue
      settings[k] = String(v)
    }
    let rejected = false
    try { config.validate() } catch (e) { rejected = Array.isArray(e.problems) }
    out.push({ settings, rejected })
  }
  process.stdout.write(JSON.stringify(out))
})().catch((e) => { console.error(e); process.exit(3) })
"#;

/// Deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const KEYS: &[&str] = &[
    "//registry.npmjs.org/:_authToken",
    "//npm.pkg.github.com/:_authToken",
    "//r.example.com/path/:_password",
    "//r.example.com:8443/:username",
    "//r.example.com/:_auth",
    "//${REG_HOST}/:_authToken",
    "//r.example.com/:@scope:_authToken",
    "https://r.example.com/:_authToken",
    "\"//q.example.com/:_authToken\"",
    "'//q2.example.com/:_auth'",
    "_authToken",
    "_auth",
    "username",
    "_password",
    "_authtoken",
    "email",
    "always-auth",
    "@scope:registry",
    "@scope:_authToken",
    "${NPM_TOKEN}",
    "tok[]",
    "plain-setting",
];

const VALUES: &[&str] = &[
    "${NPM_TOKEN}",
    "${UNSET_VAR}",
    "${UNSET_VAR?}",
    "${NPM_TOKEN?}",
    "\\${NPM_TOKEN}",
    "\\\\${NPM_TOKEN}",
    "$NPM_TOKEN",
    "pre-${NPM_TOKEN}-post",
    "abc123",
    "\"quoted\"",
    "'single'",
    "\"a;b\"",
    "abc ; comment",
    "abc#frag",
    "a\\;b",
    "a\\#b\\\\c",
    "\"${NPM_TOKEN}\"",
    "'${NPM_TOKEN}'",
    "\"\"",
    "",
    "true",
    "false",
    "null",
    "\"unterminated",
    "a=b",
    "x y",
    "\"esc\\\"aped\"",
    "'it''s'",
    "\"\\u0041\"",
];

const SPACES: &[&str] = &["", "", " ", "  ", "\t"];

/// One generated `.npmrc`.
fn generate(rng: &mut Rng) -> String {
    let mut out = String::new();
    if rng.chance(10) {
        out.push('\u{feff}');
    }
    let lines = 2 + rng.next() % 9;
    for _ in 0..lines {
        let eol = if rng.chance(15) {
            "\r\n"
        } else if rng.chance(3) {
            "\r"
        } else {
            "\n"
        };
        let kind = rng.next() % 20;
        let line = match kind {
            0 => format!("{}; a comment = x", rng.pick(SPACES)),
            1 => format!("{}# _authToken=commented", rng.pick(SPACES)),
            2 if rng.chance(50) => format!("[{}]", rng.pick(&["sec", "other", "a b"])),
            3 => format!("{}{}", rng.pick(SPACES), rng.pick(KEYS)),
            4 => format!("={}", rng.pick(VALUES)),
            _ => format!(
                "{}{}{}={}{}",
                rng.pick(SPACES),
                rng.pick(KEYS),
                rng.pick(SPACES),
                rng.pick(SPACES),
                rng.pick(VALUES)
            ),
        };
        out.push_str(&line);
        out.push_str(eol);
    }
    out
}

/// npm's `envReplace` through our `env_refs`: `${NAME}` (kept when unset), `${NAME?}` (empty
/// when unset), an odd run of backslashes before `$` escapes it (half the run is consumed).
fn expand(s: &str) -> String {
    let mut out = String::new();
    let mut at = 0;
    for r in npmrc::env_refs(s) {
        let bs = s[..r.range.start]
            .bytes()
            .rev()
            .take_while(|&b| b == b'\\')
            .count();
        let esc_start = r.range.start - bs;
        if esc_start < at {
            continue;
        }
        out.push_str(&s[at..esc_start]);
        let orig = &s[esc_start..r.range.end];
        if r.escaped {
            out.push_str(&orig[bs.div_ceil(2)..]);
        } else {
            out.push_str(&"\\".repeat(bs / 2));
            let value = if r.name == SET_VAR.0 {
                Some(SET_VAR.1.to_string())
            } else {
                None
            };
            match (value, r.optional) {
                (Some(v), _) => out.push_str(&v),
                (None, true) => {}
                (None, false) => out.push_str(&format!("${{{}}}", r.name)),
            }
        }
        at = r.range.end;
    }
    out.push_str(&s[at..]);
    out
}

/// What our parser says the file sets at top level, as npm would store it: later keys win,
/// sectioned and array keys are elsewhere, a bare key is `true`, keys and values expanded.
fn ours(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in npmrc::parse(text).lines {
        let Line::Entry(e) = line else { continue };
        if e.section.is_some() || e.key.is_array {
            continue;
        }
        let key = expand(&e.key.text);
        let value = match &e.value {
            None => "true".to_string(),
            Some(v) => {
                // npm's parseField: untyped strings `true`/`false`/`null` become those values.
                expand(&v.text)
            }
        };
        // An empty key is a setting too (` =x` or `\u{feff}=x`: npm's line pattern takes the
        // blank as the key, then trims it away); only a line starting with `=` is skipped.
        if key == "__proto__" {
            continue;
        }
        // Deliberate difference (README): `ini` turns an unquoted `null` into JavaScript's
        // null, whose `typeof` is "object", and then re-nests "object" keys with dots in them
        // as sections (`//a.b/:_authToken=null` becomes `{"//a": {"b/:_authToken": null}}`).
        // npm ends up without the setting; we keep the text `null`, which no check takes for a
        // credential.
        if e.value
            .as_ref()
            .is_some_and(|v| v.text == "null" && v.quote == npmrc::Quote::None)
            && key.contains('.')
        {
            map.remove(&key);
            continue;
        }
        map.insert(key, value);
    }
    map
}

/// Do our `unscoped-auth` findings say npm will refuse this file? Two kinds of finding are
/// deliberately wider than npm's refusal (README, "Differences from npm") and left out here: a
/// key written with a URL scheme (npm never uses it, but does not refuse it), and an unscoped
/// key whose value is empty, `false` or `null` where npm reads it (npm only refuses truthy
/// values; `${VAR?}` and `${VAR}` depend on the environment the file is used in, so we report
/// the key whatever its value).
fn npm_would_reject(
    text: &str,
    settings: &BTreeMap<String, String>,
    findings: &[npm_auth_scan::finding::Finding],
) -> bool {
    // The scan drops a leading BOM before it counts columns.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let index = npm_auth_scan::source::LineIndex::new(text);
    let entries: Vec<npmrc::Entry> = npmrc::parse(text)
        .lines
        .into_iter()
        .filter_map(|l| match l {
            Line::Entry(e) => Some(e),
            _ => None,
        })
        .collect();
    findings
        .iter()
        .filter(|f| f.rule == "unscoped-auth")
        .filter_map(|f| {
            entries.iter().find(|e| {
                let p = index.position(text, e.key.raw.start);
                (p.line, p.column) == (f.line, f.column)
            })
        })
        .filter(|e| e.key.registry().is_none_or(|r| r.scheme.is_none()))
        .any(|e| {
            settings
                .get(&expand(&e.key.text))
                .is_some_and(|v| !matches!(v.as_str(), "" | "false" | "null"))
        })
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// npm's installation folder (the one holding `node_modules/@npmcli/config`).
fn npm_root(npm: &Path) -> Option<PathBuf> {
    let real = fs::canonicalize(npm).ok()?;
    // …/npm/bin/npm-cli.js → …/npm
    let root = real.parent()?.parent()?.to_path_buf();
    root.join("node_modules/@npmcli/config")
        .is_dir()
        .then_some(root)
}

fn clean_npm(npm: &Path, home: &Path, cache: &Path) -> Command {
    let mut c = Command::new(npm);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("npm_config_cache", cache)
        .env(SET_VAR.0, SET_VAR.1);
    c
}

/// Keys of the "user" block of `npm config list` (values may be "(protected)").
fn cli_user_keys(listing: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut inside = false;
    for line in listing.lines() {
        if line.starts_with("; \"user\" config from") {
            inside = true;
            continue;
        }
        if inside && line.starts_with(';') {
            break;
        }
        if !inside || line.trim().is_empty() {
            continue;
        }
        if let Some((k, v)) = line.split_once(" = ") {
            // Sections print as objects, `key[]` lines as arrays: not top-level settings.
            if !v.starts_with('{') && !v.starts_with('[') {
                keys.push(k.trim_matches('"').to_string());
            }
        }
    }
    keys.sort();
    keys
}

#[test]
fn npmrc_semantics_match_npm() {
    let (Some(npm), Some(node)) = (which("npm"), which("node")) else {
        eprintln!("SKIPPED: npm or node not on the PATH; the differential test needs both");
        return;
    };
    let Some(root) = npm_root(&npm) else {
        eprintln!("SKIPPED: cannot find npm's installation (node_modules/@npmcli/config)");
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let home = dir.path().join("home");
    let cwd = dir.path().join("cwd");
    let cache = dir.path().join("cache");
    for d in [&home, &cwd, &cache] {
        fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut texts: Vec<String> = (0..FILES).map(|_| generate(&mut rng)).collect();
    // Fixed cases on top of the generated ones: each pins a rule of npm's reader.
    texts.extend(
        [
            "//r/:_authToken = \"${NPM_TOKEN}\" ; c\r\n",
            "_authToken=abc\n",
            "username=u\n_password=cA==\n",
            "[sec]\n//r/:_authToken=abc\n",
            "\u{feff}//r/:_authToken=abc\r",
            "//r/:_authToken=a\n//r/:_authToken=b\n",
            " [notasection]\n",
            "key = 'a' ; c\n",
        ]
        .map(str::to_string),
    );
    let mut names = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let p = dir.path().join(format!("case{i}.npmrc"));
        fs::write(&p, t).unwrap_or_else(|e| panic!("{e}"));
        names.push(p.to_string_lossy().into_owned());
    }
    let list = dir.path().join("files.json");
    fs::write(&list, serde_json::to_string(&names).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let oracle = dir.path().join("oracle.js");
    fs::write(&oracle, ORACLE).unwrap_or_else(|e| panic!("{e}"));
    let env = serde_json::json!({ "HOME": home, SET_VAR.0: SET_VAR.1 });
    let out = Command::new(&node)
        .arg(&oracle)
        .arg(&root)
        .arg(&list)
        .arg(env.to_string())
        .arg(&cwd)
        .env_clear()
        .env("HOME", &home)
        .output()
        .unwrap_or_else(|e| panic!("node: {e}"));
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let npm_says: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("oracle output: {e}"));
    assert_eq!(npm_says.len(), texts.len());

    let mut disagreements = Vec::new();
    let mut rejected = 0;
    for (i, (text, npm)) in texts.iter().zip(&npm_says).enumerate() {
        let theirs: BTreeMap<String, String> = npm["settings"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mine = ours(text);
        if mine != theirs {
            disagreements.push(format!(
                "case{i} {text:?}\n  ours: {mine:?}\n  npm:  {theirs:?}"
            ));
        }
        // npm 9+ refuses unscoped auth; the scanner's `unscoped-auth` must fire exactly then.
        let npm_rejects = npm["rejected"].as_bool().unwrap_or(false);
        rejected += usize::from(npm_rejects);
        let settings = npm_auth_scan::scan::ScanSettings::default();
        let outcome = npm_auth_scan::scan::scan_text(".npmrc", text, &settings);
        let we_report = npm_would_reject(text, &mine, &outcome.findings);
        if npm_rejects != we_report {
            disagreements.push(format!(
                "case{i} {text:?}\n  npm rejects unscoped auth: {npm_rejects}, unscoped-auth reported: {we_report}"
            ));
        }
    }
    assert!(
        rejected > 0 && rejected < texts.len(),
        "the corpus covers both accepted and rejected files ({rejected})"
    );
    assert!(
        disagreements.is_empty(),
        "{} of {} files read differently from npm:\n{}",
        disagreements.len(),
        texts.len(),
        disagreements.join("\n")
    );

    // The loader above is npm's; check on a few files that the CLI lists the same keys.
    for (i, name) in names.iter().enumerate().take(CLI_FILES) {
        let out = clean_npm(&npm, &home, &cache)
            .current_dir(&cwd)
            .args(["config", "list", "--userconfig", name])
            .args(["--globalconfig", "/dev/null"])
            .output()
            .unwrap_or_else(|e| panic!("npm: {e}"));
        let listing = String::from_utf8_lossy(&out.stdout);
        let keys: Vec<String> = ours(&texts[i]).into_keys().collect();
        assert_eq!(
            cli_user_keys(&listing),
            keys,
            "case{i}: `npm config list` lists other keys:\n{listing}"
        );
    }
}
