//! What a release tool does, from its own configuration in the repository: whether a
//! semantic-release or release-it run publishes to npm at all, and where lerna, nx release,
//! changesets and beachball publish. A run that only makes GitHub releases or tags, or that
//! publishes to another registry, needs no npmjs credential and no trusted publishing.
//!
//! Each function takes a reader of repository files (the model's, so each file is read at most
//! once) and answers `Some(false)` only when the configuration says so plainly; anything it
//! cannot tell (a JavaScript config computing its plugins, an `extends` of a shared config) is
//! `None`, and the run is treated as a publish.

use std::sync::Arc;

/// semantic-release's configuration files, in the order it looks for them (cosmiconfig).
const SEMANTIC_RELEASE_FILES: &[&str] = &[
    ".releaserc",
    ".releaserc.json",
    ".releaserc.yaml",
    ".releaserc.yml",
    ".releaserc.js",
    ".releaserc.cjs",
    ".releaserc.mjs",
    "release.config.js",
    "release.config.cjs",
    "release.config.mjs",
    "release.config.ts",
];

/// Does a semantic-release run publish to npm? `Some(false)` when its configuration lists
/// `plugins` without `@semantic-release/npm`, or configures that plugin with
/// `npmPublish: false`.
pub fn semantic_release_publishes(read: &dyn Fn(&str) -> Option<Arc<str>>) -> Option<bool> {
    if let Some(manifest) = read("package.json") {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&manifest) {
            if let Some(release) = json.get("release") {
                return from_value(release);
            }
        }
    }
    for name in SEMANTIC_RELEASE_FILES {
        let Some(text) = read(name) else { continue };
        let is_js = name.ends_with("js") || name.ends_with(".ts");
        if is_js {
            return from_script(&text);
        }
        let value: Option<serde_json::Value> = serde_json::from_str(&text).ok().or_else(|| {
            let docs = crate::parse::yaml::parse(&text).ok()?;
            docs.first().map(|d| yaml_to_json(&d.root))
        });
        return value.as_ref().and_then(from_value);
    }
    None
}

fn from_value(config: &serde_json::Value) -> Option<bool> {
    if config.get("extends").is_some() {
        return None;
    }
    let Some(plugins) = config.get("plugins").and_then(|p| p.as_array()) else {
        // The default plugins include @semantic-release/npm.
        return Some(true);
    };
    let mut unknown = false;
    for plugin in plugins {
        let (name, options) = match plugin {
            serde_json::Value::String(s) => (s.as_str(), None),
            serde_json::Value::Array(a) => match a.first().and_then(|n| n.as_str()) {
                Some(n) => (n, a.get(1)),
                None => continue,
            },
            _ => continue,
        };
        // `@semantic-release/exec` runs any command to publish (often a script around
        // `npm publish`): what it does is not in the config.
        if name == "@semantic-release/exec" && options.and_then(|o| o.get("publishCmd")).is_some() {
            unknown = true;
        }
        if name == "@semantic-release/npm" {
            let off = options
                .and_then(|o| o.get("npmPublish"))
                .and_then(|v| v.as_bool())
                == Some(false);
            return Some(!off);
        }
    }
    (!unknown).then_some(false)
}

/// A JavaScript config, read as text: only a plain plugin list is understood.
fn from_script(text: &str) -> Option<bool> {
    if text.contains("@semantic-release/npm") {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.contains("npmPublish:false") || compact.contains("\"npmPublish\":false") {
            return Some(false);
        }
        return Some(true);
    }
    if text.contains("plugins") && !text.contains("extends") && !text.contains("require(") {
        return Some(false);
    }
    None
}

/// release-it: `npm.publish: false` in `.release-it.json`/`.release-it.yaml`/`.release-it.yml`
/// or `package.json#release-it` means it does not publish to npm.
pub fn release_it_publishes(read: &dyn Fn(&str) -> Option<Arc<str>>) -> Option<bool> {
    let from = |v: &serde_json::Value| {
        let npm = v.get("npm");
        match npm {
            Some(serde_json::Value::Bool(false)) => Some(false),
            Some(n) => Some(n.get("publish").and_then(|p| p.as_bool()) != Some(false)),
            None => Some(true),
        }
    };
    if let Some(manifest) = read("package.json") {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&manifest) {
            if let Some(c) = json.get("release-it") {
                return from(c);
            }
        }
    }
    for name in [".release-it.json", ".release-it.yaml", ".release-it.yml"] {
        let Some(text) = read(name) else { continue };
        let value: Option<serde_json::Value> = serde_json::from_str(&text).ok().or_else(|| {
            let docs = crate::parse::yaml::parse(&text).ok()?;
            docs.first().map(|d| yaml_to_json(&d.root))
        });
        return value.as_ref().and_then(from);
    }
    None
}

/// Where a release tool's own configuration sends its publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// It publishes nothing (beachball `publish: false`, nx `dryRun: true`, changesets in a
    /// single private package).
    Nothing,
    /// It publishes to this registry (lerna `command.publish.registry`, beachball `registry`,
    /// nx's `nx-release-publish` target `registry`).
    Registry(String),
}

/// What the configuration of `tool` (as the catalogue names it: `lerna publish`,
/// `nx release publish`, `changeset publish`, `changesets/action`, `beachball publish`) says
/// about where it publishes; `None` when it says nothing plain (npm's own configuration then
/// decides, as for `npm publish`).
pub fn destination(tool: &str, read: &dyn Fn(&str) -> Option<Arc<str>>) -> Option<Destination> {
    match tool {
        "lerna publish" => lerna(read),
        "nx release publish" => nx(read),
        "changeset publish" | "changesets/action" => changesets(read),
        "beachball publish" => beachball(read),
        _ => None,
    }
}

fn json_of(read: &dyn Fn(&str) -> Option<Arc<str>>, name: &str) -> Option<serde_json::Value> {
    serde_json::from_str(&read(name)?).ok()
}

fn registry_of(v: Option<&serde_json::Value>) -> Option<Destination> {
    let r = v?.as_str()?.trim();
    (!r.is_empty()).then(|| Destination::Registry(r.to_string()))
}

/// `lerna.json` (lerna and lerna-lite): `command.publish.registry`, as `--registry` would.
fn lerna(read: &dyn Fn(&str) -> Option<Arc<str>>) -> Option<Destination> {
    let config = json_of(read, "lerna.json")?;
    registry_of(config.pointer("/command/publish/registry"))
}

/// `nx.json`: the options of the `nx-release-publish` target (every project's, through
/// `targetDefaults`): `dryRun: true` publishes nothing, `registry` picks the registry.
fn nx(read: &dyn Fn(&str) -> Option<Arc<str>>) -> Option<Destination> {
    let config = json_of(read, "nx.json")?;
    let options = config.pointer("/targetDefaults/nx-release-publish/options")?;
    if options.get("dryRun").and_then(|d| d.as_bool()) == Some(true) {
        return Some(Destination::Nothing);
    }
    registry_of(options.get("registry"))
}

/// changesets publishes the packages of the workspace that are not `private` (its
/// `privatePackages` setting only decides whether private ones are versioned and tagged): a
/// repository that is one private package, with no workspaces, publishes nothing.
fn changesets(read: &dyn Fn(&str) -> Option<Arc<str>>) -> Option<Destination> {
    read(".changeset/config.json")?;
    let manifest = json_of(read, "package.json")?;
    let private = manifest.get("private").and_then(|p| p.as_bool()) == Some(true);
    let workspaces = manifest.get("workspaces").is_some()
        || read("pnpm-workspace.yaml").is_some()
        || read("lerna.json").is_some();
    (private && !workspaces).then_some(Destination::Nothing)
}

/// beachball's configuration (`package.json#beachball`, `.beachballrc`, `.beachballrc.json`,
/// `beachball.config.js`/`.cjs`): `publish: false` publishes nothing, `registry` picks the
/// registry (default registry.npmjs.org).
fn beachball(read: &dyn Fn(&str) -> Option<Arc<str>>) -> Option<Destination> {
    let from = |v: &serde_json::Value| -> Option<Destination> {
        if v.get("publish").and_then(|p| p.as_bool()) == Some(false) {
            return Some(Destination::Nothing);
        }
        registry_of(v.get("registry"))
    };
    if let Some(manifest) = json_of(read, "package.json") {
        if let Some(c) = manifest.get("beachball") {
            return from(c);
        }
    }
    for name in [".beachballrc", ".beachballrc.json"] {
        if let Some(v) = json_of(read, name) {
            return from(&v);
        }
    }
    for name in ["beachball.config.js", "beachball.config.cjs"] {
        let Some(text) = read(name) else { continue };
        return beachball_script(&text);
    }
    None
}

/// A JavaScript beachball config, read as text: a literal `publish: false` or `registry: '...'`
/// at any depth is taken only when the file sets it once (a per-group value is not the run's).
fn beachball_script(text: &str) -> Option<Destination> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.matches("publish:false").count() == 1 && !compact.contains("publish:true") {
        return Some(Destination::Nothing);
    }
    let mut found = compact.match_indices("registry:").filter_map(|(i, m)| {
        let rest = &compact[i + m.len()..];
        let quote = rest
            .chars()
            .next()
            .filter(|q| matches!(q, '\'' | '"' | '`'))?;
        let end = rest[1..].find(quote)?;
        Some(rest[1..1 + end].to_string())
    });
    let first = found.next()?;
    found
        .next()
        .is_none()
        .then_some(Destination::Registry(first))
}

fn yaml_to_json(node: &crate::parse::yaml::Node) -> serde_json::Value {
    if node.is_mapping() {
        let map = node
            .iter_map()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), yaml_to_json(v))))
            .collect();
        return serde_json::Value::Object(map);
    }
    if node.is_sequence() {
        return serde_json::Value::Array(node.iter_seq().map(yaml_to_json).collect());
    }
    if let Some(b) = node.as_bool() {
        return serde_json::Value::Bool(b);
    }
    match node.as_str() {
        Some(s) => serde_json::Value::String(s.to_string()),
        None => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::test_reader as reader;

    type Case<'a> = (&'a [(&'a str, &'a str)], Option<bool>);

    #[test]
    fn semantic_release_configs() {
        let cases: &[Case] = &[
            (&[], None),
            (&[(".releaserc.json", "{}")], Some(true)),
            (
                &[(".releaserc.json", r#"{"plugins": ["@semantic-release/commit-analyzer", "@semantic-release/github"]}"#)],
                Some(false),
            ),
            (
                &[(".releaserc.yml", "plugins:\n  - '@semantic-release/commit-analyzer'\n  - - '@semantic-release/npm'\n    - npmPublish: false\n")],
                Some(false),
            ),
            (
                &[(".releaserc", "plugins:\n  - '@semantic-release/npm'\n")],
                Some(true),
            ),
            (
                &[("package.json", r#"{"release": {"plugins": ["@semantic-release/github"]}}"#)],
                Some(false),
            ),
            (
                &[("release.config.js", "module.exports = { plugins: ['@semantic-release/github'] };")],
                Some(false),
            ),
            (
                &[("release.config.cjs", "module.exports = { plugins: [['@semantic-release/npm', { npmPublish: false }]] };")],
                Some(false),
            ),
            (&[(".releaserc.json", r#"{"extends": "@acme/release"}"#)], None),
            (
                &[(".releaserc.json", r#"{"plugins": ["@semantic-release/github", ["@semantic-release/exec", {"publishCmd": "pnpm release:publish"}]]}"#)],
                None,
            ),
        ];
        for (files, want) in cases {
            assert_eq!(
                semantic_release_publishes(&reader(files)),
                *want,
                "{files:?}"
            );
        }
    }

    #[test]
    fn release_it_configs() {
        assert_eq!(release_it_publishes(&reader(&[])), None);
        assert_eq!(
            release_it_publishes(&reader(&[(
                ".release-it.json",
                r#"{"npm": {"publish": false}}"#
            )])),
            Some(false)
        );
        assert_eq!(
            release_it_publishes(&reader(&[(
                "package.json",
                r#"{"release-it": {"github": {"release": true}}}"#
            )])),
            Some(true)
        );
    }

    #[test]
    fn release_tool_destinations() {
        let r = |files: &[(&str, &str)], tool: &str| destination(tool, &reader(files));
        let lerna = r#"{"version": "independent", "command": {"publish": {"registry": "https://npm.pkg.github.com"}}}"#;
        assert_eq!(
            r(&[("lerna.json", lerna)], "lerna publish"),
            Some(Destination::Registry("https://npm.pkg.github.com".into()))
        );
        assert_eq!(
            r(
                &[("lerna.json", r#"{"version": "1.0.0"}"#)],
                "lerna publish"
            ),
            None
        );
        let nx = r#"{"targetDefaults": {"nx-release-publish": {"options": {"registry": "https://nexus.example.com/repository/npm/"}}}}"#;
        assert_eq!(
            r(&[("nx.json", nx)], "nx release publish"),
            Some(Destination::Registry(
                "https://nexus.example.com/repository/npm/".into()
            ))
        );
        let nx_dry = r#"{"targetDefaults": {"nx-release-publish": {"options": {"dryRun": true}}}}"#;
        assert_eq!(
            r(&[("nx.json", nx_dry)], "nx release publish"),
            Some(Destination::Nothing)
        );
        let private = r#"{"name": "site", "private": true}"#;
        assert_eq!(
            r(
                &[(".changeset/config.json", "{}"), ("package.json", private)],
                "changesets/action"
            ),
            Some(Destination::Nothing)
        );
        let monorepo = r#"{"private": true, "workspaces": ["packages/*"]}"#;
        assert_eq!(
            r(
                &[(".changeset/config.json", "{}"), ("package.json", monorepo)],
                "changeset publish"
            ),
            None
        );
        assert_eq!(
            r(
                &[("package.json", r#"{"beachball": {"publish": false}}"#)],
                "beachball publish"
            ),
            Some(Destination::Nothing)
        );
        assert_eq!(
            r(
                &[("beachball.config.js", "module.exports = {\n  registry: 'https://pkgs.dev.azure.com/o/_packaging/f/npm/registry/',\n};\n")],
                "beachball publish"
            ),
            Some(Destination::Registry("https://pkgs.dev.azure.com/o/_packaging/f/npm/registry/".into()))
        );
        assert_eq!(
            r(
                &[(
                    "beachball.config.js",
                    "module.exports = { groups: [{ publish: false }], publish: true };"
                )],
                "beachball publish"
            ),
            None
        );
        assert_eq!(r(&[("lerna.json", lerna)], "npm publish"), None);
    }
}
