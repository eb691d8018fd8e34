//! Recognition of npm credentials and of the environment references that stand in for them,
//! and the one redaction routine every output goes through.
//!
//! `npm_` tokens (since 2021-09) are `npm_` + 30 random Base62 characters + a 6-character Base62
//! CRC-32 of those 30 characters, left-padded with `0`. Legacy tokens are UUIDs and are only
//! meaningful in an auth position (a UUID elsewhere is just a UUID).

use std::sync::LazyLock;

use regex::bytes::Regex as BytesRegex;
use regex::Regex;

use crate::source::Span;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of an `npm_` token: prefix, 30 body characters, 6 checksum characters.
pub const NPM_TOKEN_LEN: usize = 40;

/// Base62 encoding of `value`, left-padded with `0` to `width` characters.
fn base62(mut value: u32, width: usize) -> String {
    let mut digits = Vec::with_capacity(width);
    while value > 0 {
        digits.push(BASE62[(value % 62) as usize]);
        value /= 62;
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8_lossy(&digits).into_owned()
}

/// The 6-character checksum npm appends to a 30-character token body.
pub fn npm_checksum(body: &str) -> String {
    base62(crc32fast::hash(body.as_bytes()), 6)
}

/// Is `s` exactly an `npm_` token whose checksum matches?
pub fn npm_checksum_valid(s: &str) -> bool {
    if !is_npm_token_shape(s) {
        return false;
    }
    npm_checksum(&s[4..34]) == s[34..]
}

/// `npm_` followed by exactly 36 ASCII alphanumerics.
pub fn is_npm_token_shape(s: &str) -> bool {
    s.len() == NPM_TOKEN_LEN
        && s.starts_with("npm_")
        && s.as_bytes()[4..].iter().all(u8::is_ascii_alphanumeric)
}

static NPM_TOKEN_BYTES: LazyLock<BytesRegex> = LazyLock::new(|| {
    BytesRegex::new(r"npm_[A-Za-z0-9]{36}").unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

static NPM_TOKEN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"npm_[A-Za-z0-9]{36}").unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// An `npm_` token found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmTokenMatch {
    pub span: Span,
    pub checksum_valid: bool,
}

/// Every `npm_` token in `haystack` that stands alone: not preceded by a word character and not
/// followed by another alphanumeric (so a 41-character run is not a token).
pub fn find_npm_tokens(haystack: &[u8]) -> Vec<NpmTokenMatch> {
    if memchr::memmem::find(haystack, b"npm_").is_none() {
        return Vec::new();
    }
    NPM_TOKEN_BYTES
        .find_iter(haystack)
        .filter(|m| {
            let before_ok = m.start() == 0 || !is_word_byte(haystack[m.start() - 1]);
            let after_ok = haystack
                .get(m.end())
                .is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'_');
            before_ok && after_ok
        })
        .map(|m| {
            let text = std::str::from_utf8(m.as_bytes()).unwrap_or("");
            NpmTokenMatch {
                span: m.range(),
                checksum_valid: npm_checksum_valid(text),
            }
        })
        .collect()
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Shannon entropy in bits per character; placeholders such as `npm_xxxx…` score low.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let len = s.len() as f64;
    if len == 0.0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

/// A legacy (pre-2021) npm token: a UUID, case-insensitive.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Nexus Repository writes its npm tokens as `NpmToken.<uuid>`.
pub fn is_nexus_token(s: &str) -> bool {
    s.strip_prefix("NpmToken.").is_some_and(is_uuid)
}

/// What a literal credential value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralKind {
    /// `npm_` token with a valid checksum.
    NpmToken,
    /// `npm_`-shaped but the checksum fails: a placeholder or a mangled token.
    NpmTokenBadChecksum,
    /// A UUID: a legacy npm classic token on registry.npmjs.org, a registry token elsewhere.
    Uuid,
    /// Anything else: an opaque secret.
    Other,
}

pub fn classify_literal(value: &str) -> LiteralKind {
    if is_npm_token_shape(value) {
        if npm_checksum_valid(value) {
            LiteralKind::NpmToken
        } else {
            LiteralKind::NpmTokenBadChecksum
        }
    } else if is_uuid(value) || is_nexus_token(value) {
        LiteralKind::Uuid
    } else {
        LiteralKind::Other
    }
}

/// How an environment reference is written; package managers differ in which they expand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvSyntax {
    /// `${VAR}`: npm, pnpm, Yarn, Bun.
    Braced,
    /// `${VAR?}`: npm 11.6+ (empty when unset), Bun.
    BracedOptional,
    /// `${VAR:-x}` or `${VAR-x}`: Yarn Berry's fallback forms, shells.
    BracedDefault,
    /// `$VAR`: shells, Bun's bunfig; npm sends it literally.
    Bare,
}

/// A reference to an environment variable inside a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRef {
    pub name: String,
    pub syntax: EnvSyntax,
    /// Span of the whole reference in the text given.
    pub span: Span,
}

static ENV_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(\?|:?-[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Every environment reference in `text`, in order. A backslash before `$` escapes it (npm).
pub fn env_refs(text: &str) -> Vec<EnvRef> {
    if !text.contains('$') {
        return Vec::new();
    }
    ENV_REF
        .captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            if whole.start() > 0 && text.as_bytes()[whole.start() - 1] == b'\\' {
                return None;
            }
            let (name, syntax) = match (c.get(1), c.get(2), c.get(3)) {
                (Some(n), None, _) => (n.as_str(), EnvSyntax::Braced),
                (Some(n), Some(m), _) if m.as_str() == "?" => {
                    (n.as_str(), EnvSyntax::BracedOptional)
                }
                (Some(n), Some(_), _) => (n.as_str(), EnvSyntax::BracedDefault),
                (None, _, Some(n)) => (n.as_str(), EnvSyntax::Bare),
                _ => return None,
            };
            Some(EnvRef {
                name: name.to_string(),
                syntax,
                span: whole.range(),
            })
        })
        .collect()
}

static FOREIGN_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{\{?\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}?\}|%([A-Za-z_][A-Za-z0-9_]*)%|\$env:([A-Za-z_][A-Za-z0-9_]*)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// A variable reference in another tool's syntax, which neither npm nor Yarn expands:
/// `${env.NAME}` (JavaScript / GitHub expressions), `%NAME%` (cmd.exe), `$env:NAME`
/// (PowerShell). The package manager sends the text as the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignRef {
    pub name: String,
    /// The whole reference as written.
    pub span: Span,
}

pub fn foreign_refs(text: &str) -> Vec<ForeignRef> {
    if !text.contains('$') && !text.contains('%') {
        return Vec::new();
    }
    FOREIGN_REF
        .captures_iter(text)
        .filter_map(|c| {
            let name = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3))?;
            Some(ForeignRef {
                name: name.as_str().to_string(),
                span: c.get(0)?.range(),
            })
        })
        .collect()
}

/// The value is nothing but one environment reference (`${NPM_TOKEN}`, `$NPM_TOKEN`).
pub fn whole_env_ref(text: &str) -> Option<EnvRef> {
    let trimmed = text.trim();
    let refs = env_refs(trimmed);
    match refs.as_slice() {
        [r] if r.span == (0..trimmed.len()) => Some(r.clone()),
        _ => None,
    }
}

/// Variable names that hold npm registry tokens by convention: the token-name rules of
/// `rules/catalogue.toml` (case-insensitive, any separators), and npm's own
/// `NPM_CONFIG_..._AUTHTOKEN` settings.
pub fn is_npm_token_var(name: &str) -> bool {
    if is_short_lived_var(name) {
        return false;
    }
    let upper = name.to_ascii_uppercase();
    crate::catalogue::is_token_name(name)
        || (upper.starts_with("NPM_CONFIG_") && upper.ends_with("AUTHTOKEN"))
}

/// Short-lived credentials a CI system mints per job; never a long-lived npm token.
pub fn is_short_lived_var(name: &str) -> bool {
    matches!(
        name,
        "GITHUB_TOKEN" | "CI_JOB_TOKEN" | "ACTIONS_ID_TOKEN_REQUEST_TOKEN" | "NPM_ID_TOKEN"
    )
}

/// How a secret is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A token: at most its known prefix and last 4 characters are shown.
    Token,
    /// A password or `_auth` value: never shown at all.
    Password,
}

/// The displayed form of a secret.
pub fn redact(secret: &str, kind: SecretKind) -> String {
    match kind {
        SecretKind::Password => "********".to_string(),
        SecretKind::Token => {
            let chars: Vec<char> = secret.chars().collect();
            if chars.len() < 16 {
                return "********".to_string();
            }
            let prefix = ["npm_", "NpmToken."]
                .into_iter()
                .find(|p| secret.starts_with(p))
                .unwrap_or("");
            let tail: String = chars[chars.len() - 4..].iter().collect();
            format!("{prefix}****...{tail}")
        }
    }
}

/// Redacts every `npm_` token left in an output string: the last line of defence, applied to
/// every string a renderer prints.
pub fn scrub(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("npm_") {
        return std::borrow::Cow::Borrowed(text);
    }
    NPM_TOKEN_TEXT.replace_all(text, |c: &regex::Captures<'_>| {
        redact(&c[0], SecretKind::Token)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_reference_syntaxes() {
        let names =
            |t: &str| -> Vec<String> { foreign_refs(t).into_iter().map(|r| r.name).collect() };
        assert_eq!(names("${env.NODE_AUTH_TOKEN}"), ["NODE_AUTH_TOKEN"]);
        assert_eq!(names("%NPM_TOKEN%"), ["NPM_TOKEN"]);
        assert_eq!(names("$env:NPM_TOKEN"), ["NPM_TOKEN"]);
        assert!(names("${NPM_TOKEN}").is_empty());
        assert!(names("100%").is_empty());
        assert_eq!(
            foreign_refs("x${env.A}").first().map(|r| r.span.clone()),
            Some(1..9)
        );
    }

    #[test]
    fn checksum_vectors_from_the_facts_file() {
        assert_eq!(
            npm_checksum("000000000000000000000000000000"),
            "2C8GjS".to_string()
        );
        assert_eq!(npm_checksum("abcdefghijklmnopqrstuvwxyzABCD"), "4dNndU");
        assert!(npm_checksum_valid(
            "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"
        ));
        assert!(npm_checksum_valid(
            "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"
        ));
    }

    #[test]
    fn real_looking_public_samples() {
        for valid in [
            "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",
            "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",
            "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",
        ] {
            assert!(npm_checksum_valid(valid), "{valid}");
        }
        for invalid in [
            "npm_hK0FJXBYCkejhEMY4Kp6bOOZn1DlfBOmtbJY",
            "npm_TCllNwh2WLQlMWVhybM1iQrsTj6rMQ0BOh6d",
        ] {
            assert!(is_npm_token_shape(invalid));
            assert!(!npm_checksum_valid(invalid), "{invalid}");
        }
    }

    #[test]
    fn checksum_is_left_padded_and_first_digit_bounded() {
        assert_eq!(base62(0, 6), "000000");
        assert_eq!(base62(u32::MAX, 6), "4gfFC3");
    }

    #[test]
    fn shape_rejects_wrong_lengths_and_characters() {
        assert!(!is_npm_token_shape("npm_abc"));
        assert!(!is_npm_token_shape(
            "npm_abcdefghijklmnopqrstuvwxyzABCD4dNnd-"
        ));
        assert!(!is_npm_token_shape(
            "npx_abcdefghijklmnopqrstuvwxyzABCD4dNndU"
        ));
        assert!(!npm_checksum_valid(
            "npm_abcdefghijklmnopqrstuvwxyzABCD4dNndÜ"
        ));
    }

    #[test]
    fn finds_tokens_with_boundaries() {
        let text = b"a=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\nxnpm_abcdefghijklmnopqrstuvwxyzABCD4dNndU\nnpm_abcdefghijklmnopqrstuvwxyzABCD4dNndUX";
        let found = find_npm_tokens(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].span, 2..42);
        assert!(found[0].checksum_valid);
        assert!(find_npm_tokens(b"no tokens here").is_empty());
    }

    #[test]
    fn uuid_and_nexus_tokens() {
        assert!(is_uuid("a73c9572-f1b9-8983-983d-ba3ac3cc913d"));
        assert!(is_uuid("A73C9572-F1B9-8983-983D-BA3AC3CC913D"));
        assert!(!is_uuid("a73c9572f1b98983983dba3ac3cc913d"));
        assert!(is_nexus_token(
            "NpmToken.47174bc4-1234-4abc-9def-0123456789ab"
        ));
        assert_eq!(
            classify_literal("a73c9572-f1b9-8983-983d-ba3ac3cc913d"),
            LiteralKind::Uuid
        );
        assert_eq!(
            classify_literal("npm_hK0FJXBYCkejhEMY4Kp6bOOZn1DlfBOmtbJY"),
            LiteralKind::NpmTokenBadChecksum
        );
        assert_eq!(classify_literal("hunter2"), LiteralKind::Other);
    }

    #[test]
    fn env_reference_syntaxes() {
        let refs = env_refs("a ${NPM_TOKEN} ${B?} ${C:-x} ${D-y} $E \\${F}");
        let got: Vec<(&str, EnvSyntax)> =
            refs.iter().map(|r| (r.name.as_str(), r.syntax)).collect();
        assert_eq!(
            got,
            vec![
                ("NPM_TOKEN", EnvSyntax::Braced),
                ("B", EnvSyntax::BracedOptional),
                ("C", EnvSyntax::BracedDefault),
                ("D", EnvSyntax::BracedDefault),
                ("E", EnvSyntax::Bare),
            ]
        );
        assert_eq!(refs[0].span, 2..14);
        assert_eq!(
            whole_env_ref(" ${NPM_TOKEN} ").map(|r| r.name),
            Some("NPM_TOKEN".into())
        );
        assert!(whole_env_ref("Bearer ${NPM_TOKEN}").is_none());
    }

    #[test]
    fn token_variable_names() {
        for yes in [
            "NPM_TOKEN",
            "node_auth_token",
            "GH_NPM_TOKEN",
            "NPM_CONFIG__AUTHTOKEN",
        ] {
            assert!(is_npm_token_var(yes), "{yes}");
        }
        for no in ["NPM_TOKEN_FILE", "GITHUB_TOKEN", "TOKEN", "NPMRC"] {
            assert!(!is_npm_token_var(no), "{no}");
        }
        assert!(is_short_lived_var("CI_JOB_TOKEN"));
    }

    #[test]
    fn redaction_keeps_at_most_prefix_and_last_four() {
        assert_eq!(
            redact(
                "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",
                SecretKind::Token
            ),
            "npm_****...k1dH"
        );
        assert_eq!(
            redact("a73c9572-f1b9-8983-983d-ba3ac3cc913d", SecretKind::Token),
            "****...913d"
        );
        assert_eq!(
            redact("hunter2hunter2hunter2", SecretKind::Password),
            "********"
        );
        assert_eq!(redact("short", SecretKind::Token), "********");
        let scrubbed = scrub("x 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 y");
        assert_eq!(scrubbed, "x npm_****...k1dH y");
    }

    #[test]
    fn entropy_separates_placeholders() {
        assert!(shannon_entropy("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") < 1.0);
        assert!(shannon_entropy("Fxg6NNBNSxFDTfAQpWABbI87Bl6laH1Mk1dH") > 4.0);
    }
}
