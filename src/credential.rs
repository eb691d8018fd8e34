//! The raw token a check found, with the registry it is configured for: made by the checks,
//! consumed only by `--verify`. It is never serialized, its `Debug` is redacted, and its bytes
//! are wiped when it is dropped.

use zeroize::Zeroize;

/// npm's registry: where a token not tied to a registry is sent.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org/";

/// The raw token of a finding and the registry it is configured for.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    secret: String,
    /// Base URL of the registry (scheme, host, path, trailing `/`); None when the registry could
    /// not be told safely (then the token is not sent anywhere).
    registry: Option<String>,
}

impl Credential {
    /// A token for the registry at `registry` (a base URL from [`registry_url`](crate::verify::registry_url) or
    /// [`registry_for_nerf`](crate::verify::registry_for_nerf); None: not verifiable).
    pub fn new(secret: &str, registry: Option<String>) -> Credential {
        Credential {
            secret: secret.trim().trim_matches(['"', '\'']).to_owned(),
            registry,
        }
    }

    /// An `npm_` token (checksum valid) that no configuration ties to a registry: it is npm's.
    pub fn for_default_registry(secret: &str) -> Credential {
        Credential::new(secret, Some(DEFAULT_REGISTRY.to_owned()))
    }

    /// A token found where nothing ties it to a registry (a Dockerfile `ARG`, a `.env`
    /// variable, a script). Only an `npm_` token with a valid checksum is npm's by its very
    /// format, so only that is sent (to npm's registry); anything else is held but not sent.
    pub fn untied(secret: &str) -> Credential {
        let value = secret.trim().trim_matches(['"', '\'']);
        match crate::token::classify_literal(value) {
            crate::token::LiteralKind::NpmToken => Credential::for_default_registry(value),
            _ => Credential::new(value, None),
        }
    }

    /// The token itself: only `--verify` may read it, to send it to its own registry.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// A SHA-256 of the token, hex: tells two findings of the same token apart from others
    /// without holding another copy of it (history scans group by it).
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(self.secret.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("secret", &"<redacted>")
            .field("registry", &self.registry)
            .finish()
    }
}

impl Drop for Credential {
    fn drop(&mut self) {
        // Shortens the time a token lives in memory after its last use.
        self.secret.zeroize();
    }
}
