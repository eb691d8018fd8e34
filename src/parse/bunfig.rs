//! `bunfig.toml` parser: the registry settings Bun reads credentials from, with positions.
//!
//! Bun takes registry credentials from `[install] registry` and from `[install.scopes]`
//! entries. Each is either a URL string (optionally with `user:password@` in it) or a table
//! with `url` and either `token` or `username`/`password`. Values may name environment
//! variables (`"$NPM_TOKEN"`), which Bun expands; recognising those is left to the token module.
//! Parsing goes through `toml_edit`, which keeps byte spans; anything outside these settings
//! is ignored.

use crate::parse::ParseError;
use crate::source::Span;
use toml_edit::{Document, Item, TableLike, Value};

/// The registry settings of a `bunfig.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bunfig {
    /// `[install] registry`.
    pub registry: Option<Registry>,
    /// `[install.scopes]` entries, in file order.
    pub scopes: Vec<ScopeRegistry>,
}

/// A scope entry of `[install.scopes]`, e.g. `myorg = { token = "$NPM_TOKEN", url = "…" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRegistry {
    /// The scope as written (`myorg` or `@myorg`).
    pub scope: String,
    pub scope_span: Option<Span>,
    pub registry: Registry,
}

/// A registry setting: a URL string or a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The whole value (string or table).
    pub span: Span,
    pub form: RegistryForm,
}

// Values are few (one per line or setting) and short-lived; boxing the large variant
// would add an allocation each for no measurable gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryForm {
    /// `registry = "https://…"`, possibly `https://user:pass@host/`.
    Url(StrValue),
    /// `registry = { url = …, token = … }` or `{ url, username, password }`, inline or as a
    /// `[install.scopes.name]` table.
    Table {
        url: Option<Field>,
        token: Option<Field>,
        username: Option<Field>,
        password: Option<Field>,
    },
    /// Some other TOML value (a number, an array): Bun rejects it; nothing to read.
    Other,
}

/// A `key = "string"` field inside a registry table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The whole `key = value` line part: from the key to the end of the value.
    pub key_span: Option<Span>,
    pub value: StrValue,
}

/// A TOML string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrValue {
    /// The decoded string. Empty when the value is not a string (then `is_string` is false).
    pub text: String,
    pub is_string: bool,
    /// The value as written, quotes included.
    pub raw: Span,
    /// Inside the quotes.
    pub content: Span,
    /// `text == source[content]` (no escapes): offsets into `text` are file offsets from
    /// `content.start`.
    pub verbatim: bool,
}

impl StrValue {
    /// File span of `range` (a byte range of `text`), when the value is verbatim.
    pub fn file_span(&self, range: Span) -> Option<Span> {
        super::verbatim_file_span(self.verbatim, &self.content, self.text.len(), range)
    }
}

impl RegistryForm {
    /// The registry URL: the string itself, or the table's `url`.
    pub fn url(&self) -> Option<&StrValue> {
        match self {
            RegistryForm::Url(v) => Some(v),
            RegistryForm::Table { url, .. } => url.as_ref().map(|f| &f.value),
            RegistryForm::Other => None,
        }
    }
}

/// Byte ranges of the `user` and `password` parts of a URL's `user:password@`, if any.
/// A URL with only `user@` yields no password range.
pub fn url_userinfo(url: &str) -> Option<(Span, Option<Span>)> {
    let scheme_end = url.find("://")? + 3;
    let rest = url.get(scheme_end..)?;
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_len)?;
    let at = authority.rfind('@')?;
    let userinfo = authority.get(..at)?;
    match userinfo.find(':') {
        Some(colon) => Some((
            scheme_end..scheme_end + colon,
            Some(scheme_end + colon + 1..scheme_end + at),
        )),
        None => Some((scheme_end..scheme_end + at, None)),
    }
}

/// Parses `bunfig.toml` text. Invalid TOML is an error with its position.
pub fn parse(text: &str) -> Result<Bunfig, ParseError> {
    let doc = Document::parse(text).map_err(|e| {
        ParseError::new(
            format!("invalid TOML: {}", e.message().trim_end()),
            e.span(),
        )
    })?;
    let mut out = Bunfig::default();
    let Some(install) = doc.as_item().get("install").and_then(Item::as_table_like) else {
        return Ok(out);
    };
    if let Some((_, item)) = install.get_key_value("registry") {
        out.registry = registry(text, item);
    }
    if let Some(scopes) = install.get("scopes").and_then(Item::as_table_like) {
        out.scopes = scope_entries(text, scopes);
    }
    Ok(out)
}

fn scope_entries(text: &str, scopes: &dyn TableLike) -> Vec<ScopeRegistry> {
    let names: Vec<String> = scopes.iter().map(|(k, _)| k.to_owned()).collect();
    let mut out = Vec::new();
    for name in names {
        let Some((key, item)) = scopes.get_key_value(&name) else {
            continue;
        };
        let Some(registry) = registry(text, item) else {
            continue;
        };
        out.push(ScopeRegistry {
            scope: name,
            scope_span: key.span(),
            registry,
        });
    }
    out
}

fn registry(text: &str, item: &Item) -> Option<Registry> {
    let span = item
        .span()
        .or_else(|| item.as_value().and_then(Value::span));
    if let Some(Value::String(_)) = item.as_value() {
        let v = str_value(text, item.as_value()?)?;
        return Some(Registry {
            span: span.unwrap_or_else(|| v.raw.clone()),
            form: RegistryForm::Url(v),
        });
    }
    if let Some(table) = item.as_table_like() {
        let field = |name: &str| -> Option<Field> {
            let (key, value_item) = table.get_key_value(name)?;
            let value = str_value(text, value_item.as_value()?)?;
            Some(Field {
                key_span: key.span(),
                value,
            })
        };
        let form = RegistryForm::Table {
            url: field("url"),
            token: field("token"),
            username: field("username"),
            password: field("password"),
        };
        let span = span
            .or_else(|| {
                // Non-inline tables have no span of their own in toml_edit; cover the fields.
                let spans: Vec<Span> = ["url", "token", "username", "password"]
                    .iter()
                    .filter_map(|n| table.get_key_value(n))
                    .filter_map(|(k, v)| {
                        let end = v.span()?.end;
                        Some(k.span().map_or(end, |s| s.start)..end)
                    })
                    .collect();
                let start = spans.iter().map(|s| s.start).min()?;
                let end = spans.iter().map(|s| s.end).max()?;
                Some(start..end)
            })
            .unwrap_or(0..0);
        return Some(Registry { span, form });
    }
    Some(Registry {
        span: span?,
        form: RegistryForm::Other,
    })
}

fn str_value(text: &str, value: &Value) -> Option<StrValue> {
    let raw = value.span()?;
    let raw_text = text.get(raw.clone())?;
    let Value::String(s) = value else {
        return Some(StrValue {
            text: String::new(),
            is_string: false,
            content: raw.clone(),
            raw,
            verbatim: false,
        });
    };
    let decoded = s.value().clone();
    let quote_len = if raw_text.starts_with("\"\"\"") || raw_text.starts_with("'''") {
        3
    } else {
        1
    };
    let content = if raw.len() >= 2 * quote_len {
        raw.start + quote_len..raw.end - quote_len
    } else {
        raw.clone()
    };
    let verbatim = text.get(content.clone()) == Some(decoded.as_str());
    Some(StrValue {
        text: decoded,
        is_string: true,
        raw,
        content,
        verbatim,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_string_with_userinfo() {
        let t = "[install]\nregistry = \"https://user:pa55@registry.example.com/\"\n";
        let b = parse(t).unwrap();
        let r = b.registry.unwrap();
        let RegistryForm::Url(v) = &r.form else {
            panic!("{r:?}")
        };
        assert_eq!(v.text, "https://user:pa55@registry.example.com/");
        assert_eq!(&t[v.content.clone()], v.text);
        let (user, pass) = url_userinfo(&v.text).unwrap();
        assert_eq!(&v.text[user.clone()], "user");
        assert_eq!(&t[v.file_span(pass.unwrap()).unwrap()], "pa55");
    }

    #[test]
    fn registry_inline_table_with_token() {
        let t = "[install]\nregistry = { url = \"https://registry.npmjs.org/\", token = \"$NPM_TOKEN\" }\n";
        let b = parse(t).unwrap();
        let r = b.registry.unwrap();
        assert!(t[r.span.clone()].starts_with('{'));
        let RegistryForm::Table { url, token, .. } = &r.form else {
            panic!()
        };
        assert_eq!(
            url.as_ref().unwrap().value.text,
            "https://registry.npmjs.org/"
        );
        let tok = token.as_ref().unwrap();
        assert_eq!(tok.value.text, "$NPM_TOKEN");
        assert_eq!(&t[tok.value.raw.clone()], "\"$NPM_TOKEN\"");
        assert_eq!(&t[tok.key_span.clone().unwrap()], "token");
    }

    #[test]
    fn scopes_string_inline_and_table() {
        let t = r#"
[install.scopes]
"@acme" = "https://u:p@npm.acme.dev/"
other = { token = "npm_literal", url = "https://registry.npmjs.org/" }
basic = { username = "me", password = '$NPM_PASS', url = "https://r.example/" }

[install.scopes.tabled]
url = "https://t.example/"
token = "abc"
"#;
        let b = parse(t).unwrap();
        assert_eq!(b.registry, None);
        let names: Vec<_> = b.scopes.iter().map(|s| s.scope.as_str()).collect();
        assert_eq!(names, vec!["@acme", "other", "basic", "tabled"]);
        assert_eq!(&t[b.scopes[0].scope_span.clone().unwrap()], "\"@acme\"");
        let RegistryForm::Table { password, .. } = &b.scopes[2].registry.form else {
            panic!()
        };
        let p = &password.as_ref().unwrap().value;
        assert_eq!(p.text, "$NPM_PASS");
        assert_eq!(&t[p.content.clone()], "$NPM_PASS");
        let tabled = &b.scopes[3].registry;
        let RegistryForm::Table { token, url, .. } = &tabled.form else {
            panic!()
        };
        assert_eq!(token.as_ref().unwrap().value.text, "abc");
        assert_eq!(url.as_ref().unwrap().value.text, "https://t.example/");
        // A standard table is located by its header.
        assert_eq!(&t[tabled.span.clone()], "[install.scopes.tabled]");
    }

    #[test]
    fn escapes_and_multiline_strings() {
        let t = "[install]\nregistry = { url = \"https://r/\", token = \"a\\u0062c\" }\n[install.scopes]\nx = '''https://y/'''\n";
        let b = parse(t).unwrap();
        let RegistryForm::Table { token, .. } = &b.registry.unwrap().form else {
            panic!()
        };
        let tok = &token.as_ref().unwrap().value;
        assert_eq!(tok.text, "abc");
        assert!(!tok.verbatim);
        let RegistryForm::Url(u) = &b.scopes[0].registry.form else {
            panic!()
        };
        assert_eq!(&t[u.content.clone()], "https://y/");
    }

    #[test]
    fn dotted_keys_and_other_values() {
        let b = parse("install.registry = 5\n").unwrap();
        assert_eq!(b.registry.unwrap().form, RegistryForm::Other);
        let b = parse("[run]\nshell = \"bun\"\n").unwrap();
        assert_eq!(b, Bunfig::default());
    }

    #[test]
    fn invalid_toml_has_a_position() {
        let e = parse("[install]\nregistry = \"unterminated\n").unwrap_err();
        assert!(e.message.starts_with("invalid TOML"));
        assert!(e.span.is_some());
    }

    #[test]
    fn userinfo_forms() {
        assert_eq!(url_userinfo("https://r.example/"), None);
        assert_eq!(url_userinfo("https://me@r/"), Some((8..10, None)));
        assert_eq!(url_userinfo("https://r/p@x"), None);
        assert_eq!(url_userinfo("no-scheme"), None);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn check(t: &str, s: &Span) {
            assert!(s.start <= s.end && s.end <= t.len(), "{s:?}");
            assert!(t.is_char_boundary(s.start) && t.is_char_boundary(s.end));
        }

        fn check_value(t: &str, v: &StrValue) {
            check(t, &v.raw);
            check(t, &v.content);
            if v.verbatim {
                assert_eq!(&t[v.content.clone()], v.text);
            }
        }

        fn check_registry(t: &str, r: &Registry) {
            check(t, &r.span);
            match &r.form {
                RegistryForm::Url(v) => check_value(t, v),
                RegistryForm::Table {
                    url,
                    token,
                    username,
                    password,
                } => {
                    for f in [url, token, username, password].into_iter().flatten() {
                        check_value(t, &f.value);
                        if let Some(k) = &f.key_span {
                            check(t, k);
                        }
                    }
                }
                RegistryForm::Other => {}
            }
        }

        fn check_all(t: &str) {
            match parse(t) {
                Ok(b) => {
                    if let Some(r) = &b.registry {
                        check_registry(t, r);
                    }
                    for s in &b.scopes {
                        check_registry(t, &s.registry);
                        if let Some(k) = &s.scope_span {
                            check(t, k);
                        }
                    }
                }
                Err(e) => {
                    if let Some(s) = &e.span {
                        check(t, s);
                    }
                }
            }
        }

        proptest! {
            #[test]
            fn never_panics_and_spans_are_valid(t in "\\PC*") {
                check_all(&t);
            }

            #[test]
            fn bunfig_like_input(t in "(\\[install(\\.scopes)?\\]\n|(registry|\"@a\"|b|url|token) = (\"[a-z:/@$é\\\\]*\"|\\{ (url|token|username|password) = '[a-zé$]*' \\}|1)\n)*") {
                check_all(&t);
            }
        }
    }
}
