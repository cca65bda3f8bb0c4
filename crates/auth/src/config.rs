//! The `[auth]` section of the hub's and every node's configuration.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The one signature algorithm a server accepts (tokens naming another are refused, so a
/// token cannot choose how it is checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Algorithm {
    /// HMAC-SHA256 with a shared secret (local use: the secret is generated on first start).
    #[default]
    HS256,
    /// RSA PKCS#1 v1.5 SHA-256, public keys from a JWKS.
    RS256,
    /// Ed25519, public keys from a JWKS.
    EdDSA,
}

impl Algorithm {
    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::HS256 => jsonwebtoken::Algorithm::HS256,
            Self::RS256 => jsonwebtoken::Algorithm::RS256,
            Self::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

/// How a server checks tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The accepted algorithm.
    pub algorithm: Algorithm,
    /// HS256: the secret's file; empty = `<data_dir>/jwt-secret`, created on first start.
    pub secret_file: PathBuf,
    /// RS256/EdDSA: the JWKS — a file path or an `http(s)://` URL. Keys are chosen by `kid`;
    /// the set is reloaded every `jwks_refresh_s` and when a token names an unknown `kid`, so
    /// keys rotate without a restart.
    pub jwks: String,
    /// Seconds between JWKS reloads.
    pub jwks_refresh_s: u64,
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_s: u64,
    /// Let requests without a token read public programme data (programmes, units, plans,
    /// targets, documents, the catalogue) — never actuals, audit trails, sync state or writes.
    pub anonymous_read: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::HS256,
            secret_file: PathBuf::new(),
            jwks: String::new(),
            jwks_refresh_s: 300,
            issuer: "xingyi".to_owned(),
            audience: "xingyi".to_owned(),
            leeway_s: 30,
            anonymous_read: false,
        }
    }
}

impl AuthConfig {
    /// The HS256 secret's file, given the server's data directory.
    pub fn secret_path(&self, data_dir: &Path) -> PathBuf {
        if self.secret_file.as_os_str().is_empty() {
            data_dir.join("jwt-secret")
        } else {
            self.secret_file.clone()
        }
    }
}
