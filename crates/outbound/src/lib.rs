//! Outgoing HTTP. Every client xingyi builds — the JWKS fetch, the hub's calls to city nodes,
//! a node's pushes to the hub, `sync verify` and `node restore` — starts from
//! [`client_builder`], so TLS is configured in one place: rustls with the system's roots,
//! plus an optional CA file (a hospital's private CA) and an optional client certificate
//! (for servers that ask for one). [`cause`] names why a call failed — DNS, refused, TLS,
//! time-out, status — in the words an operator searches for.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// TLS settings of outgoing calls (`[tls_out]` in a server's config). Empty paths: none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file of root certificates trusted next to the system's (a private CA).
    pub ca_file: PathBuf,
    /// PEM file of this server's client certificate chain, sent when a server asks for one;
    /// needs `client_key`.
    pub client_cert: PathBuf,
    /// PEM file of the client certificate's private key.
    pub client_key: PathBuf,
}

/// Why outgoing TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no usable certificate or key.
    #[error("{path} holds no usable PEM {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// Certificate or key.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: reqwest::Error,
    },
    /// A CA file with no certificate in it.
    #[error("{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A client certificate without its key, or the other way round.
    #[error("tls_out.client_cert and tls_out.client_key are set together")]
    HalfIdentity,
}

/// Why an HTTP client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Its TLS settings cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The client itself cannot be built.
    #[error("cannot build the HTTP client")]
    Build(#[from] reqwest::Error),
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// A client builder with TLS configured by `tls` (rustls, system roots plus `ca_file`, the
/// client identity if set). Callers add their time-outs and pool settings, then build.
pub fn client_builder(tls: &TlsConfig) -> Result<reqwest::ClientBuilder, TlsError> {
    let mut builder = reqwest::Client::builder();
    if !tls.ca_file.as_os_str().is_empty() {
        let pem = read(&tls.ca_file)?;
        let roots =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| TlsError::Pem {
                path: tls.ca_file.clone(),
                what: "certificate",
                source,
            })?;
        if roots.is_empty() {
            return Err(TlsError::NoCertificate {
                path: tls.ca_file.clone(),
            });
        }
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
    }
    match (
        tls.client_cert.as_os_str().is_empty(),
        tls.client_key.as_os_str().is_empty(),
    ) {
        (true, true) => {}
        (false, false) => {
            let mut pem = read(&tls.client_cert)?;
            pem.push(b'\n');
            pem.extend(read(&tls.client_key)?);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|source| TlsError::Pem {
                path: tls.client_cert.clone(),
                what: "certificate and key",
                source,
            })?;
            builder = builder.identity(identity);
        }
        _ => return Err(TlsError::HalfIdentity),
    }
    Ok(builder)
}

/// Why a call failed, in a few words and the innermost cause: `DNS lookup failed`,
/// `connection refused`, `TLS handshake failed: invalid peer certificate: UnknownIssuer`,
/// `timed out`, `HTTP 503` …
pub fn cause(e: &reqwest::Error) -> String {
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    let innermost = chain.last().cloned().unwrap_or_default();
    let all = chain.join(": ").to_ascii_lowercase();
    let kind = if e.is_timeout() {
        "timed out".to_owned()
    } else if let Some(status) = e.status() {
        format!("HTTP {}", status.as_u16())
    } else if all.contains("dns error") || all.contains("failed to lookup address") {
        "DNS lookup failed".to_owned()
    } else if all.contains("connection refused") {
        "connection refused".to_owned()
    } else if all.contains("certificate")
        || all.contains("tls")
        || all.contains("handshake")
        || all.contains("alert")
    {
        "TLS handshake failed".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else if e.is_decode() {
        "unreadable answer".to_owned()
    } else {
        "request failed".to_owned()
    };
    if innermost.is_empty() || kind.starts_with("HTTP") {
        kind
    } else {
        format!("{kind}: {innermost}")
    }
}

/// The current span's trace context as W3C `traceparent` / `tracestate` headers, for a call to
/// another server, so its spans join the caller's trace. Empty while traces are not exported
/// (no propagator is installed then).
pub fn trace_headers() -> reqwest::header::HeaderMap {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let mut headers = reqwest::header::HeaderMap::new();
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut opentelemetry_http::HeaderInjector(&mut headers));
    });
    headers
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // in tests a panic is the failure report

    use super::*;

    #[tokio::test]
    async fn causes_are_named() {
        let client = client_builder(&TlsConfig::default())
            .unwrap()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap();
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert!(cause(&e).starts_with("connection refused"), "{}", cause(&e));
        let e = client
            .get("http://no-such-host.invalid/")
            .send()
            .await
            .unwrap_err();
        assert!(cause(&e).starts_with("DNS lookup failed"), "{}", cause(&e));
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let half = TlsConfig {
            client_cert: "cert.pem".into(),
            ..TlsConfig::default()
        };
        assert!(matches!(client_builder(&half), Err(TlsError::HalfIdentity)));
        let missing = TlsConfig {
            ca_file: "/nonexistent/ca.pem".into(),
            ..TlsConfig::default()
        };
        assert!(matches!(
            client_builder(&missing),
            Err(TlsError::Read { .. })
        ));
        let dir = std::env::temp_dir().join(format!("outbound-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let bad = TlsConfig {
            ca_file: junk,
            ..TlsConfig::default()
        };
        assert!(matches!(
            client_builder(&bad),
            Err(TlsError::Pem { .. } | TlsError::NoCertificate { .. })
        ));
    }
}
