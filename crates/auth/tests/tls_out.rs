//! Outgoing TLS, through the JWKS fetch (the first HTTPS call a production server makes): a key
//! set served over HTTPS by a server whose certificate comes from a private CA (as in a
//! hospital's intranet) is fetched only when that CA is configured (`tls_out.ca_file`), a
//! server that asks for a client certificate gets the configured one (`client_cert`,
//! `client_key`), and every failure names its cause.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::sync::Arc;

use auth::{Algorithm, AuthConfig, Role, SetupError, Signer, Verifier};
use model::region::LINFEN;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

struct Pki {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "xingyi test hospital CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        Self { ca, ca_key }
    }

    /// A certificate for `name` signed by the CA, and its key.
    fn issue(&self, name: &str) -> (CertificateDer<'static>, KeyPair) {
        let params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        (cert.der().clone(), key)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// An HTTPS server answering every request with `body`, its certificate for `localhost` from
/// `pki`; with `client_ca`, it demands a client certificate from that CA.
async fn serve(pki: &Pki, body: String, client_ca: bool) -> u16 {
    let (cert, key) = pki.issue("localhost");
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if client_ca {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca.der().clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(
            vec![cert],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let mut buf = [0u8; 2048];
                let _ = tls.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn eddsa(port: u16) -> AuthConfig {
    AuthConfig {
        algorithm: Algorithm::EdDSA,
        jwks: format!("https://localhost:{port}/jwks.json"),
        ..AuthConfig::default()
    }
}

fn jwks() -> String {
    std::fs::read_to_string(format!("{KEYS}/ed-1.jwks.json")).unwrap()
}

fn fetch_error(r: Result<Verifier, SetupError>) -> String {
    match r {
        Err(SetupError::Fetch { message, .. }) => message,
        Err(other) => panic!("expected a fetch error, got {other}"),
        Ok(_) => panic!("expected a fetch error, got a verifier"),
    }
}

#[tokio::test]
async fn a_key_set_behind_a_private_ca_is_fetched_with_that_ca_only() {
    let pki = Pki::new();
    let port = serve(&pki, jwks(), false).await;
    let dir = tempfile::tempdir().unwrap();

    // The system's roots do not know a hospital's CA: refused, and the error says why.
    let refused = fetch_error(Verifier::from_config(&eddsa(port), dir.path()).await);
    assert!(
        refused.starts_with("TLS handshake failed") && refused.contains("UnknownIssuer"),
        "{refused}"
    );

    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, pki.ca.pem()).unwrap();
    let tls = outbound::TlsConfig {
        ca_file: ca_file.clone(),
        ..outbound::TlsConfig::default()
    };
    let v = Verifier::from_config_with_tls(&eddsa(port), dir.path(), &tls)
        .await
        .unwrap();
    let signer = Signer::from_pem(
        Algorithm::EdDSA,
        &std::fs::read(format!("{KEYS}/ed-1.pem")).unwrap(),
        "ed-1",
        &AuthConfig::default(),
    )
    .unwrap();
    let token = signer
        .issue(
            "n",
            Role::Node,
            Some(LINFEN),
            std::time::Duration::from_secs(3600),
        )
        .unwrap();
    assert_eq!(v.verify(&token).await.unwrap().role, Role::Node);

    // A CA file that is not one.
    std::fs::write(&ca_file, "not a certificate").unwrap();
    assert!(matches!(
        Verifier::from_config_with_tls(&eddsa(port), dir.path(), &tls).await,
        Err(SetupError::Client(_))
    ));
}

#[tokio::test]
async fn a_server_that_asks_for_a_client_certificate_gets_the_configured_one() {
    let pki = Pki::new();
    let port = serve(&pki, jwks(), true).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, pki.ca.pem()).unwrap();
    let tls = outbound::TlsConfig {
        ca_file,
        ..outbound::TlsConfig::default()
    };
    let refused = fetch_error(Verifier::from_config_with_tls(&eddsa(port), dir.path(), &tls).await);
    assert!(
        refused.starts_with("TLS handshake failed") && refused.contains("CertificateRequired"),
        "no client certificate: refused, and said why: {refused}"
    );

    let (cert, key) = pki.issue("hub.xingyi.example");
    let (cert_file, key_file) = (dir.path().join("client.pem"), dir.path().join("client.key"));
    let pem = |label: &str, der: &[u8]| {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    };
    std::fs::write(&cert_file, pem("CERTIFICATE", &cert)).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let tls = outbound::TlsConfig {
        client_cert: cert_file,
        client_key: key_file,
        ..tls
    };
    Verifier::from_config_with_tls(&eddsa(port), dir.path(), &tls)
        .await
        .unwrap();
}
