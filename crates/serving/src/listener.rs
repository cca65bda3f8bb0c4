//! The listener every server accepts connections on: a cap on open connections (in all and
//! per peer address) and an idle time-out, so idle or half-open connections cannot exhaust a
//! server's file handles. axum's own `serve` keeps a connection for as long as the peer does.
//!
//! - Over `max`, the listener stops accepting until a connection closes (the kernel's backlog
//!   holds the rest).
//! - Over `max_per_address` from one peer address, a new connection is closed at once.
//! - A connection on which nothing has been read or written for `idle_timeout_ms` is closed:
//!   a keep-alive connection nobody uses, a peer that went away without a FIN, a client that
//!   never finishes its request or never reads its response.

use std::{
    collections::HashMap,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Instant, Sleep},
};

/// Connection limits, in `[graphql.connections]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Most connections open at once; more wait in the kernel's backlog. Keep it well below
    /// the process's open-file limit (`ulimit -n`): the database and outgoing calls need
    /// handles too.
    pub max: usize,
    /// Most connections open at once from one peer address; more are closed at once. (The
    /// hub opens at most `node_max_in_flight` to a node.)
    pub max_per_address: usize,
    /// A connection with nothing read or written for this long is closed (milliseconds;
    /// keep it above `timeout_ms` so a request still running is never cut).
    pub idle_timeout_ms: u64,
    /// After a stop signal, how long requests still running get to finish (milliseconds);
    /// then the server stops without waiting for them. No new connection is accepted after
    /// the signal.
    pub drain_ms: u64,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            max: 512,
            max_per_address: 256,
            idle_timeout_ms: 60_000,
            drain_ms: 30_000,
        }
    }
}

/// Open connections per peer address.
#[derive(Debug, Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

impl PerAddress {
    /// Counts one more connection from `ip`, unless it already has `max`.
    fn enter(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<AddressSlot> {
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            ip,
            table: self.clone(),
        })
    }
}

/// One connection counted against its address; uncounted when dropped.
#[derive(Debug)]
struct AddressSlot {
    ip: IpAddr,
    table: Arc<PerAddress>,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A TCP listener with the limits of [`ConnectionConfig`], for `axum::serve`.
#[derive(Debug)]
pub struct Limited {
    inner: TcpListener,
    open: Arc<Semaphore>,
    per_address: Arc<PerAddress>,
    max_per_address: usize,
    idle: Duration,
}

impl Limited {
    /// Wraps `inner`.
    pub fn new(inner: TcpListener, config: &ConnectionConfig) -> Self {
        Self {
            inner,
            open: Arc::new(Semaphore::new(config.max.max(1))),
            per_address: Arc::new(PerAddress::default()),
            max_per_address: config.max_per_address.max(1),
            idle: Duration::from_millis(config.idle_timeout_ms.max(1)),
        }
    }
}

impl axum::serve::Listener for Limited {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok(permit) = self.open.clone().acquire_owned().await else {
                // The semaphore is never closed; wait instead of spinning if it were.
                std::future::pending::<()>().await;
                continue;
            };
            let (stream, addr) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file handles and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(slot) = self.per_address.enter(addr.ip(), self.max_per_address) else {
                tracing::info!(ip = %addr.ip(), max = self.max_per_address, "closed a connection over the per-address limit");
                drop(stream);
                continue;
            };
            let conn = Connection {
                stream,
                idle: self.idle,
                deadline: Box::pin(tokio::time::sleep(self.idle)),
                _permit: permit,
                _slot: slot,
            };
            return (conn, addr);
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// `inner` with the limits of `config`, ready for `axum::serve` with connect info: axum gives
/// a tapped listener's peer address as `ConnectInfo<SocketAddr>`, and the tap sets
/// `TCP_NODELAY` on each connection.
pub fn limited(
    inner: TcpListener,
    config: &ConnectionConfig,
) -> axum::serve::TapIo<Limited, fn(&mut Connection)> {
    use axum::serve::ListenerExt as _;
    Limited::new(inner, config).tap_io(Connection::no_delay)
}

/// An accepted connection: counted while open, closed when idle too long.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    _permit: OwnedSemaphorePermit,
    _slot: AddressSlot,
}

impl Connection {
    /// Sets `TCP_NODELAY` (responses go out at once).
    pub fn no_delay(&mut self) {
        if let Err(e) = self.stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    }

    fn touch(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    /// After an I/O poll that is pending: an error once the connection has been idle too
    /// long (the deadline's timer wakes the task when it passes).
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle too long")
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.idle_expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.idle_expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.idle_expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // in tests a panic is the failure report

    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn serve(config: ConnectionConfig) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move {
            axum::serve(
                limited(listener, &config),
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        addr
    }

    /// Reads until the server closes the connection (`Ok(0)` or a reset); `None` if it is
    /// still open after `wait`.
    async fn closed_within(sock: &mut TcpStream, wait: Duration) -> Option<()> {
        let mut buf = [0u8; 256];
        loop {
            match tokio::time::timeout(wait, sock.read(&mut buf)).await {
                Err(_) => return None,
                Ok(Ok(0) | Err(_)) => return Some(()),
                Ok(Ok(_)) => {}
            }
        }
    }

    #[tokio::test]
    async fn idle_and_half_sent_connections_are_closed_and_used_ones_are_not() {
        let addr = serve(ConnectionConfig {
            idle_timeout_ms: 300,
            ..ConnectionConfig::default()
        })
        .await;
        // Never sends a byte.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        // Sends half a request and stops.
        let mut half = TcpStream::connect(addr).await.unwrap();
        half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        assert!(
            closed_within(&mut silent, Duration::from_secs(5))
                .await
                .is_some()
        );
        assert!(
            closed_within(&mut half, Duration::from_secs(5))
                .await
                .is_some()
        );
        // A connection in use keeps being served across several idle periods' worth of time.
        let mut used = TcpStream::connect(addr).await.unwrap();
        for _ in 0..4 {
            used.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 256];
            let n = used.read(&mut buf).await.unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    #[tokio::test]
    async fn connections_over_the_per_address_cap_are_closed_at_once() {
        let addr = serve(ConnectionConfig {
            max_per_address: 3,
            ..ConnectionConfig::default()
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 256];
            assert!(s.read(&mut buf).await.unwrap() > 0, "served");
            held.push(s);
        }
        let mut fourth = TcpStream::connect(addr).await.unwrap();
        assert!(
            closed_within(&mut fourth, Duration::from_secs(5))
                .await
                .is_some(),
            "the fourth from one address is closed"
        );
        drop(held.pop());
        // Once one closes, a new one is served (the server notices the close first).
        let mut served = false;
        for _ in 0..50 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            if s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .is_ok()
            {
                let mut buf = [0u8; 256];
                if matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
                    served = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(served, "a freed slot is usable again");
    }

    #[tokio::test]
    async fn over_the_total_cap_new_connections_wait_for_a_free_one() {
        let addr = serve(ConnectionConfig {
            max: 2,
            ..ConnectionConfig::default()
        })
        .await;
        let a = TcpStream::connect(addr).await.unwrap();
        let _b = TcpStream::connect(addr).await.unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap(); // in the backlog
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        assert!(
            tokio::time::timeout(Duration::from_millis(300), c.read(&mut buf))
                .await
                .is_err(),
            "not served while two are open"
        );
        drop(a);
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("served once one closes")
            .unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
}
