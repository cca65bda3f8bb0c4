//! Checking bearer tokens.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use jsonwebtoken::{DecodingKey, Validation, errors::ErrorKind, jwk::JwkSet};
use model::RegionCode;
use tokio::sync::RwLock;

use crate::{Algorithm, AuthConfig, Claims, Principal, SetupError, Subject};

/// Why a token was refused. The `reason` is stable (tests and clients may match it); the token
/// itself is never kept or logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct AuthError {
    /// `MALFORMED`, `ALGORITHM_NOT_ALLOWED`, `KID_REQUIRED`, `UNKNOWN_KID`, `BAD_SIGNATURE`,
    /// `EXPIRED`, `NOT_YET_VALID`, `WRONG_AUDIENCE`, `WRONG_ISSUER`, `MISSING_CLAIM`,
    /// `BAD_CLAIMS`.
    pub reason: &'static str,
    /// For people.
    pub message: String,
}

impl AuthError {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

/// Least time between two JWKS reloads triggered by unknown `kid`s (so a flood of made-up
/// kids cannot turn into a flood of fetches).
const MISS_RELOAD_GAP: Duration = Duration::from_secs(5);

enum Keys {
    Secret(DecodingKey),
    Jwks(Box<Jwks>),
}

enum JwksSource {
    File(PathBuf),
    Url(String),
}

struct JwksState {
    keys: HashMap<String, DecodingKey>,
    loaded: Instant,
    last_miss_reload: Option<Instant>,
}

struct Jwks {
    source: JwksSource,
    refresh: Duration,
    client: reqwest::Client,
    state: RwLock<JwksState>,
    /// Held by the one caller reloading the set.
    reloading: tokio::sync::Mutex<()>,
}

impl Jwks {
    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, SetupError> {
        let text = match &self.source {
            JwksSource::File(path) => {
                tokio::fs::read_to_string(path)
                    .await
                    .map_err(|source| SetupError::File {
                        what: "JWKS",
                        path: path.clone(),
                        source,
                    })?
            }
            JwksSource::Url(url) => {
                let fetch = |message: String| SetupError::Fetch {
                    url: url.clone(),
                    message,
                };
                let resp = self
                    .client
                    .get(url)
                    .send()
                    .await
                    .map_err(|e| fetch(outbound::cause(&e)))?;
                if !resp.status().is_success() {
                    return Err(fetch(format!("status {}", resp.status())));
                }
                resp.text().await.map_err(|e| fetch(outbound::cause(&e)))?
            }
        };
        parse_jwks(&text)
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let (known, stale, may_reload_for_miss) = {
            let state = self.state.read().await;
            let stale = state.loaded.elapsed() >= self.refresh;
            match state.keys.get(kid) {
                Some(k) if !stale => return Ok(k.clone()),
                k => (
                    k.cloned(),
                    stale,
                    state
                        .last_miss_reload
                        .is_none_or(|t| t.elapsed() >= MISS_RELOAD_GAP),
                ),
            }
        };
        let reload = stale || (known.is_none() && may_reload_for_miss);
        if reload {
            match self.reloading.try_lock() {
                // One caller reloads, holding no lock on the keys while it fetches, so token
                // checks go on meanwhile.
                Ok(_one) => self.reload(known.is_none()).await,
                // Someone else is reloading: a known key serves meanwhile; an unknown one waits
                // for that reload.
                Err(_) if known.is_none() => drop(self.reloading.lock().await),
                Err(_) => {}
            }
        }
        if let Some(k) = self.state.read().await.keys.get(kid) {
            return Ok(k.clone());
        }
        // A stale set that no longer names the key, or a key removed by the reload.
        known
            .filter(|_| !reload)
            .ok_or_else(|| AuthError::new("UNKNOWN_KID", format!("no key `{kid}` in the key set")))
    }

    /// Fetches the key set and swaps it in. On failure the old keys stay, and the next attempt
    /// waits [`MISS_RELOAD_GAP`] (not the whole refresh interval, not every request).
    async fn reload(&self, for_miss: bool) {
        if for_miss {
            self.state.write().await.last_miss_reload = Some(Instant::now());
        }
        let fetched = self.fetch().await;
        let mut state = self.state.write().await;
        match fetched {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "reloaded the JWKS");
                state.keys = keys;
                state.loaded = Instant::now();
            }
            // Keep the keys we have: a JWKS outage must not lock everyone out.
            Err(e) => {
                tracing::warn!(error = %e, "cannot reload the JWKS; keeping the old keys");
                let retry_in = MISS_RELOAD_GAP.min(self.refresh);
                state.loaded = Instant::now()
                    .checked_sub(self.refresh.saturating_sub(retry_in))
                    .unwrap_or_else(Instant::now);
            }
        }
    }
}

fn parse_jwks(text: &str) -> Result<HashMap<String, DecodingKey>, SetupError> {
    let set: JwkSet =
        serde_json::from_str(text).map_err(|e| SetupError::BadKey(format!("JWKS: {e}")))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            return Err(SetupError::BadKey("a JWKS key without `kid`".into()));
        };
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| SetupError::BadKey(format!("JWKS key `{kid}`: {e}")))?;
        keys.insert(kid, key);
    }
    Ok(keys)
}

/// Checks tokens for one server.
pub struct Verifier {
    algorithm: Algorithm,
    validation: Validation,
    keys: Keys,
    anonymous_read: bool,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithm", &self.algorithm)
            .field("anonymous_read", &self.anonymous_read)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for `config`; `data_dir` holds the generated HS256 secret. A JWKS URL is
    /// fetched with the system's TLS roots.
    pub async fn from_config(config: &AuthConfig, data_dir: &Path) -> Result<Self, SetupError> {
        Self::from_config_with_tls(config, data_dir, &outbound::TlsConfig::default()).await
    }

    /// [`Verifier::from_config`], fetching a JWKS URL with the server's outgoing TLS settings
    /// (a private CA, a client certificate).
    pub async fn from_config_with_tls(
        config: &AuthConfig,
        data_dir: &Path,
        tls: &outbound::TlsConfig,
    ) -> Result<Self, SetupError> {
        let keys = match config.algorithm {
            Algorithm::HS256 => {
                if !config.jwks.is_empty() {
                    return Err(SetupError::Config(
                        "`jwks` is for RS256/EdDSA; HS256 uses `secret_file`".into(),
                    ));
                }
                let secret = crate::load_or_create_secret(&config.secret_path(data_dir))?;
                Keys::Secret(DecodingKey::from_secret(&secret))
            }
            Algorithm::RS256 | Algorithm::EdDSA => {
                if config.jwks.is_empty() {
                    return Err(SetupError::Config(format!(
                        "{:?} needs `jwks` (a file or an http(s) URL)",
                        config.algorithm
                    )));
                }
                let source =
                    if config.jwks.starts_with("http://") || config.jwks.starts_with("https://") {
                        JwksSource::Url(config.jwks.clone())
                    } else {
                        JwksSource::File(PathBuf::from(&config.jwks))
                    };
                let client = outbound::client_builder(tls)
                    .map_err(outbound::ClientError::from)?
                    .timeout(Duration::from_secs(5))
                    .build()
                    .map_err(outbound::ClientError::from)?;
                let jwks = Jwks {
                    source,
                    refresh: Duration::from_secs(config.jwks_refresh_s.max(1)),
                    client,
                    state: RwLock::new(JwksState {
                        keys: HashMap::new(),
                        loaded: Instant::now(),
                        last_miss_reload: None,
                    }),
                    reloading: tokio::sync::Mutex::new(()),
                };
                // The first load must work: a server that cannot check any token should not
                // start.
                let keys = jwks.fetch().await?;
                jwks.state.write().await.keys = keys;
                Keys::Jwks(Box::new(jwks))
            }
        };
        Ok(Self::with_keys(config, keys))
    }

    /// An HS256 verifier over `secret` (tests and `xingyi local`).
    pub fn hs256(secret: &[u8], config: &AuthConfig) -> Self {
        let config = AuthConfig {
            algorithm: Algorithm::HS256,
            ..config.clone()
        };
        Self::with_keys(&config, Keys::Secret(DecodingKey::from_secret(secret)))
    }

    fn with_keys(config: &AuthConfig, keys: Keys) -> Self {
        let mut validation = Validation::new(config.algorithm.jwt());
        validation.leeway = config.leeway_s;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        Self {
            algorithm: config.algorithm,
            validation,
            keys,
            anonymous_read: config.anonymous_read,
        }
    }

    /// Whether callers without a token may read public data.
    pub fn anonymous_read(&self) -> bool {
        self.anonymous_read
    }

    /// The principal of an `Authorization` header value (`None`: anonymous).
    pub async fn principal(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let Some(value) = authorization else {
            return Ok(Principal::Anonymous);
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                AuthError::new(
                    "MALFORMED",
                    "the Authorization header must be `Bearer <token>`",
                )
            })?;
        self.verify(token.trim())
            .await
            .map(Principal::Authenticated)
    }

    /// Checks `token`: header, algorithm, key, signature, then `exp`/`nbf`/`iss`/`aud`, then
    /// the role and city claims.
    pub async fn verify(&self, token: &str) -> Result<Subject, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            AuthError::new(
                "MALFORMED",
                format!("the token's header does not parse ({e})"),
            )
        })?;
        if header.alg != self.algorithm.jwt() {
            return Err(AuthError::new(
                "ALGORITHM_NOT_ALLOWED",
                format!(
                    "this server accepts {:?} tokens only, not {:?}",
                    self.algorithm, header.alg
                ),
            ));
        }
        let key = match &self.keys {
            Keys::Secret(k) => k.clone(),
            Keys::Jwks(jwks) => {
                let kid = header.kid.as_deref().ok_or_else(|| {
                    AuthError::new("KID_REQUIRED", "the token's header names no `kid`")
                })?;
                jwks.key(kid).await?
            }
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation).map_err(|e| {
            let reason = match e.kind() {
                ErrorKind::InvalidSignature => "BAD_SIGNATURE",
                ErrorKind::ExpiredSignature => "EXPIRED",
                ErrorKind::ImmatureSignature => "NOT_YET_VALID",
                ErrorKind::InvalidAudience => "WRONG_AUDIENCE",
                ErrorKind::InvalidIssuer => "WRONG_ISSUER",
                ErrorKind::MissingRequiredClaim(_) => "MISSING_CLAIM",
                ErrorKind::InvalidAlgorithm => "ALGORITHM_NOT_ALLOWED",
                ErrorKind::Json(_) => "BAD_CLAIMS",
                _ => "MALFORMED",
            };
            AuthError::new(reason, e.to_string())
        })?;
        subject(data.claims)
    }
}

fn subject(c: Claims) -> Result<Subject, AuthError> {
    let city = match (&c.city, c.role.is_city_scoped()) {
        (Some(code), true) => {
            let code: RegionCode = code.parse().map_err(|_| {
                AuthError::new(
                    "BAD_CLAIMS",
                    format!("`city` `{code}` is not a region code"),
                )
            })?;
            // A city itself: not the province, not a county or district of a city.
            if code.is_province() || code.city() != code || model::region::region(code).is_none() {
                return Err(AuthError::new(
                    "BAD_CLAIMS",
                    format!("`city` `{code}` is not a city of Shanxi"),
                ));
            }
            Some(code)
        }
        (None, true) => {
            return Err(AuthError::new(
                "BAD_CLAIMS",
                format!("role {} needs a `city` claim", c.role.as_str()),
            ));
        }
        (Some(_), false) => {
            return Err(AuthError::new(
                "BAD_CLAIMS",
                format!("role {} takes no `city` claim", c.role.as_str()),
            ));
        }
        (None, false) => None,
    };
    if c.sub.trim().is_empty() {
        return Err(AuthError::new("BAD_CLAIMS", "`sub` is empty"));
    }
    Ok(Subject {
        sub: c.sub,
        role: c.role,
        city,
    })
}
