//! Issuing tokens, and the local HS256 secret.

use std::{
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::Engine as _;
use jsonwebtoken::{EncodingKey, Header};
use model::RegionCode;

use crate::{Algorithm, AuthConfig, Claims, Role, SetupError};

/// Reads the HS256 secret at `path`, creating it (32 random bytes, base64, owner-only) on first
/// start.
pub fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, SetupError> {
    let file = |source| SetupError::File {
        what: "JWT secret",
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| SetupError::BadKey(format!("{}: not base64 ({e})", path.display())))
            .and_then(|s| {
                if s.len() < 32 {
                    Err(SetupError::BadKey(format!(
                        "{}: an HS256 secret needs at least 32 bytes",
                        path.display()
                    )))
                } else {
                    Ok(s)
                }
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = vec![0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| file(std::io::Error::other(e)))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(file)?;
            }
            let text = base64::engine::general_purpose::STANDARD.encode(&secret);
            // Written whole under another name, then linked into place: servers starting
            // together on one shared directory never read a half-written secret, and the one
            // that loses the race reads the winner's.
            let mut tag = [0u8; 8];
            getrandom::fill(&mut tag).map_err(|e| file(std::io::Error::other(e)))?;
            let partial = path.with_extension(format!("partial-{}", u64::from_le_bytes(tag)));
            write_private(&partial, &text).map_err(file)?;
            let linked = std::fs::hard_link(&partial, path);
            let _ = std::fs::remove_file(&partial);
            match linked {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "generated a new HS256 secret");
                    Ok(secret)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_secret(path)
                }
                Err(e) => Err(file(e)),
            }
        }
        Err(e) => Err(file(e)),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::{io::Write as _, os::unix::fs::OpenOptionsExt as _};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Issues tokens with one key.
pub struct Signer {
    key: EncodingKey,
    header: Header,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("alg", &self.header.alg)
            .field("kid", &self.header.kid)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Signer {
    /// HS256 with `secret`, for `config`'s issuer and audience.
    pub fn hs256(secret: &[u8], config: &AuthConfig) -> Self {
        Self {
            key: EncodingKey::from_secret(secret),
            header: Header::new(jsonwebtoken::Algorithm::HS256),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        }
    }

    /// RS256 or EdDSA with a PEM private key, naming `kid` in every token's header.
    pub fn from_pem(
        algorithm: Algorithm,
        pem: &[u8],
        kid: &str,
        config: &AuthConfig,
    ) -> Result<Self, SetupError> {
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
            Algorithm::HS256 => {
                return Err(SetupError::Config(
                    "HS256 signs with the secret, not a PEM key".into(),
                ));
            }
        }
        .map_err(|e| SetupError::BadKey(e.to_string()))?;
        let mut header = Header::new(algorithm.jwt());
        header.kid = Some(kid.to_owned());
        Ok(Self {
            key,
            header,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        })
    }

    /// Claims for `sub` as `role` (of `city`), valid from now for `ttl`.
    pub fn claims(&self, sub: &str, role: Role, city: Option<RegionCode>, ttl: Duration) -> Claims {
        let at = now();
        Claims {
            sub: sub.to_owned(),
            role,
            city: city.map(|c| c.to_string()),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: at.saturating_add(ttl.as_secs()),
            nbf: at,
            iat: at,
        }
    }

    /// A signed token for `claims` as they are (tests use it for hostile claims).
    pub fn sign(&self, claims: &Claims) -> Result<String, SetupError> {
        jsonwebtoken::encode(&self.header, claims, &self.key)
            .map_err(|e| SetupError::BadKey(e.to_string()))
    }

    /// A signed token for `sub` as `role` (of `city`), valid for `ttl`.
    pub fn issue(
        &self,
        sub: &str,
        role: Role,
        city: Option<RegionCode>,
        ttl: Duration,
    ) -> Result<String, SetupError> {
        if role.is_city_scoped() != city.is_some() {
            return Err(SetupError::Config(format!(
                "role {} {} a city",
                role.as_str(),
                if role.is_city_scoped() {
                    "needs"
                } else {
                    "takes no"
                }
            )));
        }
        self.sign(&self.claims(sub, role, city, ttl))
    }
}
