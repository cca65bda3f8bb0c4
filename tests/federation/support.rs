//! A local federation for whole-system tests, and helpers to look at its nodes.

use model::RegionCode;

/// `xingyi local` on free ports with a temp data directory.
pub(crate) struct LocalFed {
    pub(crate) fed: cli::local::LocalFederation,
    _dir: tempfile::TempDir,
}

/// Options for `xingyi local` on free ports with its data in `dir` — where the test secret is
/// written first, so test tokens work at all three servers.
pub(crate) fn local_options(dir: &std::path::Path) -> cli::local::LocalOptions {
    std::fs::create_dir_all(dir).unwrap();
    test_support::write_secret(&dir.join("jwt-secret"));
    cli::local::LocalOptions {
        data_dir: dir.to_path_buf(),
        host: "127.0.0.1".parse().unwrap(),
        hub_port: 0,
        yuncheng_port: 0,
        linfen_port: 0,
    }
}

impl LocalFed {
    pub(crate) async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let fed = cli::local::start(&local_options(dir.path())).await.unwrap();
        Self { fed, _dir: dir }
    }

    /// The hub's own database, opened beside the running hub (as a second hub would).
    pub(crate) async fn hub_store(&self) -> store::Store {
        let config = store::DatabaseConfig::sqlite_file(&self._dir.path().join("hub.db"));
        store::Store::connect(&config, model::region::SHANXI)
            .await
            .unwrap()
    }

    pub(crate) fn hub_url(&self) -> String {
        format!("http://{}/graphql", self.fed.hub)
    }

    pub(crate) fn node_urls(&self) -> Vec<(RegionCode, String)> {
        self.fed
            .nodes
            .iter()
            .map(|(c, a)| (*c, format!("http://{a}/graphql")))
            .collect()
    }

    /// The GraphQL URL of `city`'s node.
    pub(crate) fn node_url(&self, city: RegionCode) -> String {
        self.node_urls()
            .into_iter()
            .find(|(c, _)| *c == city)
            .map(|(_, url)| url)
            .unwrap_or_else(|| panic!("no node for {city}"))
    }

    pub(crate) async fn stop(self) {
        self.fed.shutdown().await.unwrap();
    }
}

/// GraphQL requests each node has received so far (from its `/health`).
pub(crate) async fn requests_seen(
    client: &reqwest::Client,
    fed: &LocalFed,
) -> Vec<(RegionCode, u64)> {
    let mut out = Vec::new();
    for (city, addr) in &fed.fed.nodes {
        let h: serde_json::Value = client
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.push((*city, h["graphqlRequests"].as_u64().unwrap()));
    }
    out
}

/// How a fake node misbehaves.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// Accepts the connection, reads the request, never answers.
    Hang,
    /// Answers 200 with a body that is not JSON.
    Malformed,
    /// Answers HTTP 500 while the flag is false, and `{"data": <json>}` once it is true.
    Switch(std::sync::Arc<std::sync::atomic::AtomicBool>, &'static str),
    /// Answers `{"data": <json>}` after a delay, counting the requests it holds at once and
    /// the most it ever held.
    /// Answers `{"data": <json>}` once the gate is opened (`true` sent on its channel).
    Gated(tokio::sync::watch::Receiver<bool>, &'static str),
    Slow {
        delay: std::time::Duration,
        data: &'static str,
        now: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    },
}

/// A misbehaving node on a free port; returns its URL and the raw requests it received.
pub(crate) async fn fake_node(
    fault: Fault,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let log = log.clone();
            let fault = fault.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = 0;
                // Read the head, then the body its content-length announces.
                loop {
                    let Ok(n) = sock.read(&mut buf[got..]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got += n;
                    let text = String::from_utf8_lossy(&buf[..got]).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let len = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if got >= head_end + 4 + len {
                            // The hub's health checks are answered (with the same fault)
                            // but not counted: `seen` is the GraphQL calls.
                            if !text.starts_with("GET /health") {
                                log.lock().unwrap().push(text);
                            }
                            break;
                        }
                    }
                }
                match fault {
                    Fault::Hang => std::future::pending::<()>().await,
                    Fault::Slow {
                        delay,
                        data,
                        now,
                        most,
                    } => {
                        use std::sync::atomic::Ordering::SeqCst;
                        let held = now.fetch_add(1, SeqCst) + 1;
                        most.fetch_max(held, SeqCst);
                        tokio::time::sleep(delay).await;
                        now.fetch_sub(1, SeqCst);
                        let body = format!("{{\"data\":{data}}}");
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(resp.as_bytes()).await;
                    }
                    Fault::Gated(mut gate, data) => {
                        if gate.wait_for(|open| *open).await.is_err() {
                            return;
                        }
                        let body = format!("{{\"data\":{data}}}");
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(resp.as_bytes()).await;
                    }
                    Fault::Malformed => {
                        let body = "this is not json";
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(resp.as_bytes()).await;
                    }
                    Fault::Switch(healthy, data) => {
                        let resp = if healthy.load(std::sync::atomic::Ordering::SeqCst) {
                            let body = format!("{{\"data\":{data}}}");
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            )
                        } else {
                            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
                                .to_owned()
                        };
                        let _ = sock.write_all(resp.as_bytes()).await;
                    }
                }
            });
        }
    });
    (url, seen)
}

/// A URL where nothing listens: the port is bound (so no other test can take it) but never
/// listened on, so connections are refused. Keep the socket alive while the URL is used.
pub(crate) fn dead_url() -> (String, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    (format!("http://{addr}/graphql"), socket)
}

/// Runs `serve` on a free port until the returned sender fires: the GraphQL URL, the stop
/// sender and the server's task.
async fn serve_on_free_port<F, Fut>(
    serve: F,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
)
where
    F: FnOnce(
        tokio::net::TcpListener,
        std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    ) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = Box::pin(async move {
        let _ = rx.await;
    });
    let task = tokio::spawn(serve(listener, stopped));
    (url, stop, task)
}

/// A hub (own temp database) whose registry is `nodes`, serving on a free port.
pub(crate) struct TestHub {
    pub(crate) url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestHub {
    pub(crate) async fn start(nodes: Vec<(RegionCode, String)>, timeout_ms: u64) -> Self {
        Self::start_with_breaker(
            nodes,
            timeout_ms,
            province_hub::registry::BreakerConfig::default(),
        )
        .await
    }

    pub(crate) async fn start_with_breaker(
        nodes: Vec<(RegionCode, String)>,
        timeout_ms: u64,
        breaker: province_hub::registry::BreakerConfig,
    ) -> Self {
        Self::start_with(
            nodes,
            timeout_ms,
            breaker,
            serving::GraphqlConfig::default(),
        )
        .await
    }

    pub(crate) async fn start_with(
        nodes: Vec<(RegionCode, String)>,
        timeout_ms: u64,
        breaker: province_hub::registry::BreakerConfig,
        graphql: serving::GraphqlConfig,
    ) -> Self {
        Self::start_full(nodes, timeout_ms, breaker, graphql, 16).await
    }

    pub(crate) async fn start_full(
        nodes: Vec<(RegionCode, String)>,
        timeout_ms: u64,
        breaker: province_hub::registry::BreakerConfig,
        graphql: serving::GraphqlConfig,
        node_max_in_flight: usize,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = province_hub::Config {
            data_dir: dir.path().to_path_buf(),
            nodes: nodes
                .into_iter()
                .map(|(city, url)| province_hub::registry::NodeConfig::new(city, url))
                .collect(),
            node_timeout_ms: timeout_ms,
            node_max_in_flight,
            breaker,
            graphql,
            auth: test_support::auth_config(),
            ..province_hub::Config::default()
        };
        let state = province_hub::build(&config).await.unwrap();
        let (url, stop, task) = serve_on_free_port(|listener, stopped| async move {
            province_hub::serve_state(state, &config, listener, stopped)
                .await
                .unwrap();
        })
        .await;
        Self {
            url,
            stop,
            task,
            _dir: dir,
        }
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// A 运城 node (own temp SQLite file, seeded) with the given request limits and token
/// settings, serving on a free port.
pub(crate) struct TestNode {
    pub(crate) url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestNode {
    pub(crate) async fn start(graphql: serving::GraphqlConfig, auth: auth::AuthConfig) -> Self {
        Self::start_on(store::DatabaseConfig::default(), graphql, auth).await
    }

    /// The same on `database` (empty URL: the SQLite file in a temp dir).
    pub(crate) async fn start_on(
        database: store::DatabaseConfig,
        graphql: serving::GraphqlConfig,
        auth: auth::AuthConfig,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = city_node::Config {
            city: Some(model::region::YUNCHENG),
            data_dir: dir.path().to_path_buf(),
            database,
            graphql,
            auth,
            ..city_node::Config::default()
        };
        let state = city_node::build(&config).await.unwrap();
        let (url, stop, task) = serve_on_free_port(|listener, stopped| async move {
            city_node::serve_state(state, &config, listener, stopped)
                .await
                .unwrap();
        })
        .await;
        Self {
            url,
            stop,
            task,
            _dir: dir,
        }
    }

    pub(crate) fn base(&self) -> &str {
        self.url.trim_end_matches("/graphql")
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}
