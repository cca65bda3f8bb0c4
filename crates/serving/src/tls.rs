//! Serving HTTPS: when a server is given a certificate and its key (`[tls]`), every accepted
//! connection — still counted and idle-timed by [`crate::listener`] — is handshaken with
//! rustls before axum sees it. Handshakes run off the accept loop, each bounded in time, so a
//! peer that opens a connection and sends nothing cannot stall other clients.

use std::{io, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, server::TlsStream};

use crate::listener::{Connection, Limited};

/// The server's own certificate, in `[tls]`. Both empty: plain HTTP.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (the server's certificate first).
    pub cert_file: PathBuf,
    /// PEM private key of that certificate.
    pub key_file: PathBuf,
}

impl TlsConfig {
    /// True when a certificate is configured.
    pub fn enabled(&self) -> bool {
        !self.cert_file.as_os_str().is_empty() || !self.key_file.as_os_str().is_empty()
    }
}

/// Why the certificate cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// Only one of the two files is set.
    #[error("tls: set both cert_file and key_file (or neither, for plain HTTP)")]
    Incomplete,
    /// A file cannot be read or holds no usable PEM.
    #[error("tls: {what} {path}: {message}")]
    File {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls refuses the pair (a key that does not match the certificate …).
    #[error("tls: the certificate and key cannot be used together: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The rustls acceptor for `config`.
pub fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, TlsSetupError> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
    if config.cert_file.as_os_str().is_empty() || config.key_file.as_os_str().is_empty() {
        return Err(TlsSetupError::Incomplete);
    }
    let bad = |what, path: &PathBuf, message: String| TlsSetupError::File {
        what,
        path: path.clone(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(&config.cert_file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad("cert_file", &config.cert_file, e.to_string()))?;
    if certs.is_empty() {
        return Err(bad(
            "cert_file",
            &config.cert_file,
            "no certificate in it".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&config.key_file)
        .map_err(|e| bad("key_file", &config.key_file, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// Longest a client may take to finish its TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// A [`Limited`] listener whose connections are TLS, for `axum::serve`.
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<Connection>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `inner` and handshakes each connection with `acceptor` in its own task.
    pub fn new(mut inner: Limited, acceptor: TlsAcceptor) -> io::Result<Self> {
        use axum::serve::Listener as _;
        let local = inner.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (mut conn, addr) = inner.accept().await;
                conn.no_delay();
                let (sender, acceptor) = (tx.clone(), acceptor.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE, acceptor.accept(conn)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, addr)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %addr, error = %e, "TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(peer = %addr, "TLS handshake timed out"),
                    }
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(Self { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<Connection>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task only ends when this listener is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

fn no_tap(_: &mut TlsStream<Connection>) {}

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The certificate cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// The listener or the HTTP server failed.
    #[error("HTTP server failed")]
    Io(#[source] io::Error),
}

/// Serves `app` on `listener` — with the connection limits of `connections`, over TLS when
/// `tls` names a certificate — until `shutdown` resolves, then drains in-flight requests for
/// at most `connections.drain_ms` and returns without waiting for what is still running (a
/// process that then exits closes those connections).
/// Handlers see the peer's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    connections: &crate::ConnectionConfig,
    tls: &TlsConfig,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (signalled, mut on_signal) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = signalled.send(true);
    };
    let drain = Duration::from_millis(connections.drain_ms);
    let deadline = async move {
        // An error means the server (and its shutdown future) is gone: nothing to bound.
        if on_signal.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(drain).await;
    };
    tokio::select! {
        served = serve_until(listener, connections, tls, app, shutdown) => served,
        () = deadline => {
            tracing::warn!(
                drain_ms = connections.drain_ms,
                "requests still running when the drain time ran out: the server stops without them"
            );
            Ok(())
        }
    }
}

/// [`serve`] without the drain deadline.
async fn serve_until(
    listener: tokio::net::TcpListener,
    connections: &crate::ConnectionConfig,
    tls: &TlsConfig,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if tls.enabled() {
        let acceptor = acceptor(tls)?;
        use axum::serve::ListenerExt as _;
        // Tapped (with nothing to do) so axum hands handlers the peer's address.
        let listener = TlsListener::new(Limited::new(listener, connections), acceptor)
            .map_err(ServeError::Io)?
            .tap_io(no_tap as fn(&mut TlsStream<Connection>));
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServeError::Io)
    } else {
        axum::serve(crate::listener::limited(listener, connections), app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServeError::Io)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // in tests a panic is the failure report

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Serves a route that answers at once and one that never answers; returns the address,
    /// the stop trigger and the server's task.
    async fn server(
        drain_ms: u64,
    ) -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<Result<(), ServeError>>,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/quick", axum::routing::get(|| async { "ok" }))
            .route(
                "/never",
                axum::routing::get(std::future::pending::<&'static str>),
            );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let connections = crate::ConnectionConfig {
            drain_ms,
            ..crate::ConnectionConfig::default()
        };
        let task = tokio::spawn(async move {
            serve(listener, &connections, &TlsConfig::default(), app, async {
                let _ = stopped.await;
            })
            .await
        });
        (addr, stop, task)
    }

    async fn get(addr: SocketAddr, path: &str) -> tokio::net::TcpStream {
        let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
        sock.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        sock
    }

    /// A request that never ends does not hold a stopping server beyond its drain time.
    #[tokio::test]
    async fn a_stop_waits_for_running_requests_no_longer_than_the_drain_time() {
        let (addr, stop, task) = server(200).await;
        let _hung = get(addr, "/never").await;
        // The hung request has reached its handler once a later request is answered.
        let mut quick = get(addr, "/quick").await;
        let mut buf = [0u8; 64];
        assert!(quick.read(&mut buf).await.unwrap() > 0);
        stop.send(()).unwrap();
        let served = tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("the server is still waiting for the hung request");
        assert!(served.unwrap().is_ok());
    }

    /// A request running at the stop signal is still answered when it ends within the drain
    /// time.
    #[tokio::test]
    async fn a_request_running_at_the_stop_is_answered() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (entered_tx, entered) = tokio::sync::oneshot::channel::<()>();
        let entered_tx = Arc::new(std::sync::Mutex::new(Some(entered_tx)));
        let app = axum::Router::new().route(
            "/slow",
            axum::routing::get(move || {
                let entered_tx = entered_tx.clone();
                async move {
                    if let Some(tx) = entered_tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }
            }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(
                listener,
                &crate::ConnectionConfig::default(),
                &TlsConfig::default(),
                app,
                async {
                    let _ = stopped.await;
                },
            )
            .await
        });
        let mut sock = get(addr, "/slow").await;
        entered.await.unwrap();
        stop.send(()).unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), sock.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("done"), "{answer}");
        task.await.unwrap().unwrap();
    }
}
