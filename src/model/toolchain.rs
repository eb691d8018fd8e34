//! The Node, npm and pnpm versions a repository pins for its CI: the files `actions/setup-node`
//! reads through `node-version-file` (`.nvmrc`, `.node-version`, `.tool-versions`,
//! `package.json`), Volta's `package.json#volta`, mise's `mise.toml`, asdf's `.tool-versions`,
//! and pnpm's `packageManager`.
//!
//! Each function takes a reader of repository files (the model's, so each file is read at most
//! once) and answers only what the file says plainly: a range it cannot narrow to one release
//! line (`<22`, `>=18 <21`) is `None`, so no rule judges a version nobody wrote.

use std::sync::Arc;

/// A version pinned in a repository file, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// As a CI set-up action resolves it: `22.14.0`, `20`, `lts/*`, `latest` (an open range
    /// such as `>=18` installs the latest release).
    pub version: String,
    /// Repository-relative path of the file.
    pub file: String,
    /// Byte offset of the version text in the file (0 when it is not found verbatim).
    pub offset: usize,
}

type Read<'a> = &'a dyn Fn(&str) -> Option<Arc<str>>;

fn pinned(text: &str, file: &str, raw: &str, version: String) -> Pinned {
    Pinned {
        offset: text.find(raw).unwrap_or(0),
        file: file.to_string(),
        version,
    }
}

/// The Node version `actions/setup-node` installs from `node-version-file: path`.
pub fn node_version_file(read: Read<'_>, path: &str) -> Option<Pinned> {
    let path = path.trim().trim_start_matches("./");
    let text = read(path)?;
    let name = path.rsplit('/').next().unwrap_or(path);
    if name == "package.json" {
        return package_json_node(&text, path);
    }
    if name == ".tool-versions" {
        return tool_versions_node(&text, path);
    }
    // `.nvmrc`, `.node-version` and any other file: its first meaningful line.
    let raw = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())?;
    let version = range_to_version(raw)?;
    Some(pinned(&text, path, raw, version))
}

/// setup-node's order in a `package.json`: `volta.node`, then `devEngines.runtime` (name
/// `node`), then `engines.node`. Volta's `extends` is followed by Volta, not here.
fn package_json_node(text: &str, path: &str) -> Option<Pinned> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let runtime = match &json["devEngines"]["runtime"] {
        serde_json::Value::Array(list) => list
            .iter()
            .find(|r| r["name"] == "node")
            .and_then(|r| r["version"].as_str()),
        r if r["name"] == "node" => r["version"].as_str(),
        _ => None,
    };
    let raw = json["volta"]["node"]
        .as_str()
        .or(runtime)
        .or(json["engines"]["node"].as_str())?;
    let version = range_to_version(raw)?;
    Some(pinned(text, path, raw, version))
}

/// `nodejs 22.14.0` (asdf's plugin name; mise also accepts `node`) in a `.tool-versions`.
fn tool_versions_node(text: &str, path: &str) -> Option<Pinned> {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        if matches!(words.next(), Some("nodejs" | "node")) {
            // The first version listed is the one in effect.
            let raw = words.next()?;
            let version = range_to_version(raw)?;
            return Some(pinned(text, path, raw, version));
        }
    }
    None
}

/// The Node version Volta installs for the repository (`package.json#volta.node`) and the npm
/// version it pins (`volta.npm`), when written.
pub fn volta(read: Read<'_>) -> (Option<Pinned>, Option<String>) {
    let Some(text) = read("package.json") else {
        return (None, None);
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return (None, None);
    };
    let node = json["volta"]["node"]
        .as_str()
        .and_then(|raw| Some(pinned(&text, "package.json", raw, range_to_version(raw)?)));
    let npm = json["volta"]["npm"].as_str().map(str::to_string);
    (node, npm)
}

/// The Node version `jdx/mise-action` installs: `[tools] node` of `mise.toml` (or one of its
/// other names), else `.tool-versions`.
pub fn mise_node(read: Read<'_>) -> Option<Pinned> {
    for name in [
        "mise.toml",
        ".mise.toml",
        "mise/config.toml",
        ".mise/config.toml",
        ".config/mise.toml",
        ".config/mise/config.toml",
    ] {
        let Some(text) = read(name) else { continue };
        let Ok(doc) = text.parse::<toml::Table>() else {
            continue;
        };
        let Some(tool) = doc
            .get("tools")
            .and_then(|t| t.get("node").or(t.get("nodejs")))
        else {
            continue;
        };
        let raw = match tool {
            toml::Value::String(s) => Some(s.as_str()),
            toml::Value::Array(a) => a.first().and_then(|v| v.as_str()),
            toml::Value::Table(t) => t.get("version").and_then(|v| v.as_str()),
            _ => None,
        }?;
        let version = range_to_version(raw)?;
        return Some(pinned(&text, name, raw, version));
    }
    asdf_node(read)
}

/// The Node version `asdf-vm/actions` installs from `.tool-versions`.
pub fn asdf_node(read: Read<'_>) -> Option<Pinned> {
    let text = read(".tool-versions")?;
    tool_versions_node(&text, ".tool-versions")
}

/// The pnpm version the repository pins: `packageManager: pnpm@X` (what `pnpm/action-setup`
/// and corepack install when no version is given), or `devEngines.packageManager`.
pub fn pnpm_version(read: Read<'_>) -> Option<String> {
    let text = read("package.json")?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    if let Some(v) = json["packageManager"]
        .as_str()
        .and_then(|pm| pm.strip_prefix("pnpm@"))
    {
        return Some(v.split('+').next().unwrap_or(v).to_string());
    }
    let pm = &json["devEngines"]["packageManager"];
    let list = match pm {
        serde_json::Value::Array(a) => a.iter().collect(),
        p => vec![p],
    };
    list.into_iter()
        .find(|p| p["name"] == "pnpm")
        .and_then(|p| p["version"].as_str())
        .map(str::to_string)
}

/// The release line a version range installs, as setup-node resolves it (the highest version
/// the range allows): `^20.11` and `20.x` are Node 20, `>=18` and `*` are the latest release,
/// `18 || 20` is 20. A range with an upper bound other than a major line is `None`.
pub fn range_to_version(raw: &str) -> Option<String> {
    let raw = raw.trim().trim_matches(|c| c == '"' || c == '\'');
    if raw.is_empty() {
        return None;
    }
    let mut best: Option<(u64, String)> = None;
    for alt in raw.split("||") {
        let alt = alt.trim();
        if alt.contains('<') {
            return None;
        }
        let (major, text) = if alt.starts_with('>') || alt == "*" || alt == "x" {
            (u64::MAX, "latest".to_string())
        } else {
            // `=18`, `v20`, `22.x`, `lts/iron`, `lts/*`: what follows the operator, the first
            // word only (`22.14.0 - 22.20` is a hyphen range from 22.14). A caret range
            // installs the latest release of its major line, a tilde one of its minor line.
            let word = alt.split_whitespace().next().unwrap_or("");
            let v = word.trim_start_matches(['^', '~', '=']);
            let (major, minor, _) = crate::checks::ci::parse_node_version(v)?;
            let text = match (word.chars().next(), minor) {
                (Some('^'), _) if major != u64::MAX => major.to_string(),
                (Some('~'), Some(minor)) => format!("{major}.{minor}"),
                _ => v.trim_end_matches(".x").trim_end_matches(".*").to_string(),
            };
            (major, text)
        };
        if best.as_ref().is_none_or(|(m, _)| major > *m) {
            best = Some((major, text));
        }
    }
    best.map(|(_, v)| v)
}

/// `(major, minor, patch)` of a version text, missing parts 0.
pub fn semver(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.trim().trim_start_matches(['v', '^', '~', '=']);
    let core = core.split(['-', '+', ' ']).next().unwrap_or(core);
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
        parts.next().flatten().unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::test_reader as reader;

    fn version(p: Option<Pinned>) -> Option<String> {
        p.map(|p| p.version)
    }

    #[test]
    fn ranges_resolve_to_their_highest_line() {
        for (raw, want) in [
            ("22.14.0", Some("22.14.0")),
            ("v20", Some("v20")),
            ("^20.11.0", Some("20")),
            ("~22.10.1", Some("22.10")),
            ("20.x", Some("20")),
            (">=18", Some("latest")),
            (">= 18.0.0", Some("latest")),
            ("18 || 20", Some("20")),
            ("^18.19.0 || ^20.11.0 || >=22", Some("latest")),
            ("lts/iron", Some("lts/iron")),
            ("lts/*", Some("lts/*")),
            (">=18 <21", None),
            ("", None),
        ] {
            assert_eq!(range_to_version(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn version_files() {
        let read = reader(&[
            (".nvmrc", "# pinned\n20.11.1\n"),
            (".node-version", "v22.14.0"),
            (".tool-versions", "python 3.12.1\nnodejs 18.20.4 20.11.0\n"),
            (
                "package.json",
                r#"{"engines": {"node": ">=18"}, "volta": {"node": "22.14.0", "npm": "11.6.2"}, "packageManager": "pnpm@11.2.0+sha512.abc"}"#,
            ),
            ("web/package.json", r#"{"engines": {"node": "^20.11.0"}}"#),
            (
                "dev/package.json",
                r#"{"devEngines": {"runtime": {"name": "node", "version": "^24.0.0"}}}"#,
            ),
        ]);
        assert_eq!(
            version(node_version_file(&read, ".nvmrc")).as_deref(),
            Some("20.11.1")
        );
        let p = node_version_file(&read, ".nvmrc").unwrap_or_else(|| unreachable!());
        assert_eq!((p.file.as_str(), p.offset), (".nvmrc", 9));
        assert_eq!(
            version(node_version_file(&read, "./.node-version")).as_deref(),
            Some("v22.14.0")
        );
        assert_eq!(
            version(node_version_file(&read, ".tool-versions")).as_deref(),
            Some("18.20.4")
        );
        assert_eq!(
            version(node_version_file(&read, "package.json")).as_deref(),
            Some("22.14.0")
        );
        assert_eq!(
            version(node_version_file(&read, "web/package.json")).as_deref(),
            Some("20")
        );
        assert_eq!(
            version(node_version_file(&read, "dev/package.json")).as_deref(),
            Some("24")
        );
        assert_eq!(node_version_file(&read, "missing/.nvmrc"), None);
        let (node, npm) = volta(&read);
        assert_eq!(version(node).as_deref(), Some("22.14.0"));
        assert_eq!(npm.as_deref(), Some("11.6.2"));
        assert_eq!(pnpm_version(&read).as_deref(), Some("11.2.0"));
        assert_eq!(version(asdf_node(&read)).as_deref(), Some("18.20.4"));
    }

    #[test]
    fn mise_configs() {
        let read = reader(&[("mise.toml", "[tools]\nnode = \"22\"\npython = \"3.12\"\n")]);
        assert_eq!(version(mise_node(&read)).as_deref(), Some("22"));
        let read = reader(&[(".mise.toml", "[tools]\nnode = { version = \"20.11\" }\n")]);
        assert_eq!(version(mise_node(&read)).as_deref(), Some("20.11"));
        let read = reader(&[(".tool-versions", "nodejs 24.1.0\n")]);
        assert_eq!(version(mise_node(&read)).as_deref(), Some("24.1.0"));
        let read = reader(&[("mise.toml", "[tools]\nnode = [\"20\", \"22\"]\n")]);
        assert_eq!(version(mise_node(&read)).as_deref(), Some("20"));
    }
}
