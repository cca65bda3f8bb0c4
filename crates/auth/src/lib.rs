//! Who is calling, and what they may do: JWT validation and issuing, principals and roles, and
//! the access rules every server (the hub and each city node) applies the same way.
//!
//! - [`AuthConfig`]: algorithm (pinned), keys (an HS256 secret file generated on first start, or
//!   a JWKS file/URL for RS256/EdDSA), issuer, audience, leeway, anonymous read.
//! - [`Verifier`]: a bearer token → [`Principal`], or an [`AuthError`] with a stable reason.
//! - [`Signer`]: issues tokens (`xingyi token`, `xingyi local`, tests).
//! - [`Principal`], [`Role`]: the access rules ([`Principal::read`], [`Principal::write`],
//!   [`Principal::sync`], [`Principal::inspect_sync`]) and their [`Refusal`]s.
//!
//! Tokens and secrets never reach a log: [`AuthError`] names a reason, never the token.

mod config;
mod principal;
mod sign;
mod verify;

pub use config::{Algorithm, AuthConfig};
pub use principal::{
    Access, Claims, Principal, Refusal, RefusalRecorded, Role, Subject, WriteKind,
};
pub use sign::{Signer, load_or_create_secret};
pub use verify::{AuthError, Verifier};

/// Why auth could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The secret or key file cannot be read or written.
    #[error("{what} {path}")]
    File {
        /// What the file is.
        what: &'static str,
        /// Its path.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A key or key set does not parse.
    #[error("bad key: {0}")]
    BadKey(String),
    /// The configuration is inconsistent.
    #[error("bad auth configuration: {0}")]
    Config(String),
    /// The HTTP client for the JWKS cannot be set up (its TLS settings).
    #[error("cannot set up the JWKS client")]
    Client(#[from] outbound::ClientError),
    /// The JWKS URL cannot be fetched.
    #[error("cannot fetch the JWKS from {url}: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
}
