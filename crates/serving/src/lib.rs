//! The HTTP face shared by the hub and every city node: a GraphQL-over-HTTP handler around any
//! async-graphql executor, the JSON error shape for non-GraphQL failures, and shutdown signals.
//!
//! async-graphql-axum is not used on purpose: it answers every request with status 200 and
//! `application/graphql-response+json`, runs mutations over GET and treats a missing
//! Content-Type as JSON (see `../shared/STACK.md`). This handler follows the GraphQL-over-HTTP
//! spec instead: POST with `application/json`, GET for queries only, media type negotiated
//! from `Accept`, and 4xx statuses for requests that never reach execution.
//!
//! # Layout
//! - [`graphql`]: the handler.
//! - [`limits`]: token, field and alias limits, rate limits.
//! - [`listener`]: connection caps and the idle time-out.
//! - [`splice`]: another server's answer passed through as the bytes it wrote.
//! - [`shutdown_signal`]: Ctrl-C / SIGTERM.

pub mod budget;
pub mod defer;
pub mod graphql;
pub mod limits;
pub mod listener;
mod multipart;
pub mod order;
pub mod splice;
pub mod telemetry;
pub mod tls;
pub mod validated;

pub use graphql::{CallerAuthorization, GraphqlEndpoint, graphql_routes, graphql_routes_with};
pub use limits::RateLimitConfig;
pub use listener::ConnectionConfig;
pub use splice::Splices;
pub use telemetry::MetricsConfig;
/// The pages a server ships (GraphiQL, the dashboard) and their assets.
pub use web::{Pages, routes as page_routes};

/// Counters a server reports on `/health`, and the name its series carry on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// GraphQL requests received (every method, every outcome).
    pub graphql_requests: std::sync::atomic::AtomicU64,
    /// The `server` label of this server's series (`hub`, `node-140800`).
    pub server: std::sync::Arc<str>,
}

impl Metrics {
    /// The counters of the server named `server`.
    pub fn named(server: &str) -> Self {
        Self {
            server: server.into(),
            ..Self::default()
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM, whichever comes first.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}

/// Limits on GraphQL requests, shared by every server's config (`[graphql]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraphqlConfig {
    /// Deepest selection nesting accepted.
    pub max_depth: usize,
    /// Largest query complexity (fields counted, lists weighted) accepted.
    pub max_complexity: usize,
    /// Most fields one document selects once every fragment spread is written out (counted in
    /// linear time before validation and execution, which would otherwise visit each spread).
    pub max_fields: usize,
    /// Most aliased fields in one document (the hub's batched calls to a node use one alias per
    /// parent, at most 64: keep this above that at nodes).
    pub max_aliases: usize,
    /// Most lexical tokens in one document, counted before parsing.
    pub max_tokens: usize,
    /// Most entity representations one request asks `_entities` for (each is a lookup).
    pub max_representations: usize,
    /// Largest request body in bytes (the query and its variables).
    pub max_body_bytes: usize,
    /// Longest a request may run, in milliseconds (then `503 REQUEST_TIMEOUT`; a mutation cut
    /// short rolls back).
    pub timeout_ms: u64,
    /// Most computing time one request may take, in milliseconds: time spent working on it,
    /// not waiting for a database or a node (then `503 QUERY_CPU_BUDGET`; a mutation cut short
    /// rolls back). Stops a document that passed every limit yet costs too much. 0 turns it off.
    pub cpu_budget_ms: u64,
    /// Whether `__schema` / `__type` introspection is answered.
    pub introspection: bool,
    /// Whether `GET /graphiql` serves the GraphiQL IDE.
    pub playground: bool,
    /// Origins browsers may call from (CORS); empty: no cross-origin calls.
    pub cors_origins: Vec<String>,
    /// Rate limits per principal and per address.
    pub rate_limit: RateLimitConfig,
    /// Open connections (in all, per address) and their idle time-out.
    pub connections: ConnectionConfig,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 5_000,
            max_fields: 5_000,
            max_aliases: 100,
            max_tokens: 10_000,
            max_representations: 1_000,
            max_body_bytes: 1024 * 1024,
            timeout_ms: 30_000,
            cpu_budget_ms: 5_000,
            introspection: true,
            playground: true,
            cors_origins: Vec::new(),
            rate_limit: RateLimitConfig::default(),
            connections: ConnectionConfig::default(),
        }
    }
}

/// `/health`: `200 {"status":"ok",…}` when `check` passes, `503 {"status":"unavailable",…}`
/// otherwise. `info` is merged into the body (role, region, database backend), and so are
/// the fields of the object `check` returns (e.g. sync status).
pub fn health_route<F, Fut>(
    info: serde_json::Value,
    metrics: std::sync::Arc<Metrics>,
    check: F,
) -> axum::Router
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, String>> + Send,
{
    axum::Router::new().route(
        "/health",
        axum::routing::get(move || {
            let check = check.clone();
            let metrics = metrics.clone();
            let mut body = info.clone();
            async move {
                let (status, state) = match check().await {
                    Ok(extra) => {
                        if let (Some(map), serde_json::Value::Object(extra)) =
                            (body.as_object_mut(), extra)
                        {
                            map.extend(extra);
                        }
                        (axum::http::StatusCode::OK, "ok")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "health check failed");
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "unavailable")
                    }
                };
                if let Some(map) = body.as_object_mut() {
                    map.insert("status".into(), state.into());
                    let n = metrics
                        .graphql_requests
                        .load(std::sync::atomic::Ordering::Relaxed);
                    map.insert("graphqlRequests".into(), n.into());
                }
                (status, axum::Json(body))
            }
        }),
    )
}

/// `/ready`: whether the server can do its work now — `200 {"status":"ready","checks":{…}}`
/// when every check passes, `503 {"status":"not_ready","checks":{…}}` naming each failing
/// check and why otherwise. `checks` returns one `(name, outcome)` per thing the server needs
/// (its database reachable and migrated; at the hub, every replica). `/health` only says the
/// process answers.
pub fn ready_route<F, Fut>(checks: F) -> axum::Router
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Vec<(String, Result<(), String>)>> + Send,
{
    axum::Router::new().route(
        "/ready",
        axum::routing::get(move || {
            let checks = checks.clone();
            async move {
                let outcome = checks().await;
                let ready = outcome.iter().all(|(_, r)| r.is_ok());
                let detail: serde_json::Map<String, serde_json::Value> = outcome
                    .into_iter()
                    .map(|(name, r)| {
                        let v = match r {
                            Ok(()) => serde_json::Value::from("ok"),
                            Err(e) => {
                                tracing::warn!(check = %name, error = %e, "not ready");
                                serde_json::Value::from(e)
                            }
                        };
                        (name, v)
                    })
                    .collect();
                let (status, state) = if ready {
                    (axum::http::StatusCode::OK, "ready")
                } else {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "not_ready")
                };
                (
                    status,
                    axum::Json(serde_json::json!({ "status": state, "checks": detail })),
                )
            }
        }),
    )
}

tokio::task_local! {
    static REQUEST_ID: std::sync::Arc<str>;
}

/// The id of the request being served (`x-request-id`), inside a request's task: the hub
/// passes it on to the nodes it calls, so one id names the request in every server's logs.
pub fn request_id() -> Option<std::sync::Arc<str>> {
    REQUEST_ID.try_with(std::sync::Arc::clone).ok()
}

/// The header carrying a request's id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// An incoming request id is kept when it is short printable ASCII (a proxy's or the hub's),
/// otherwise replaced with a fresh one.
fn acceptable_request_id(v: &axum::http::HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty() && b.len() <= 128 && b.iter().all(|c| c.is_ascii_graphic())
}

/// Gives every request an id (kept from `x-request-id` when acceptable, else a new UUID),
/// returns it on the response, runs the request inside it ([`request_id`]) and puts it on the
/// request's log span, so every log line of the request carries it.
async fn with_request_id(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument as _;
    let id: std::sync::Arc<str> = match req.headers().get(REQUEST_ID_HEADER) {
        Some(v) if acceptable_request_id(v) => String::from_utf8_lossy(v.as_bytes()).into(),
        _ => uuid::Uuid::new_v4().to_string().into(),
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID_HEADER, v.clone());
    }
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    // A caller's W3C trace context (the hub calling a node, a node pushing to the hub) makes
    // this request part of the caller's trace when traces are exported.
    {
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&opentelemetry_http::HeaderExtractor(req.headers()))
        });
        if let Err(e) = span.set_parent(parent) {
            tracing::debug!(error = %e, "cannot join the caller's trace");
        }
    }
    let mut resp = REQUEST_ID
        .scope(id.clone(), next.run(req))
        .instrument(span)
        .await;
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
}

/// Adds the layers every server wants: a request id and request tracing, the per-address rate
/// limit on requests without credentials (every route: GraphQL, sync, health), CORS and the
/// body limit.
pub fn with_common_layers(
    router: axum::Router,
    config: &GraphqlConfig,
) -> Result<axum::Router, ConfigError> {
    let router = router.layer(axum::extract::DefaultBodyLimit::max(config.max_body_bytes));
    let router = if config.cors_origins.is_empty() {
        router
    } else {
        router.layer(cors(&config.cors_origins)?)
    };
    let per_address = std::sync::Arc::new(limits::RateLimits::new(&RateLimitConfig {
        per_principal_per_s: 0,
        ..config.rate_limit.clone()
    }));
    let router = router.layer(axum::middleware::from_fn_with_state(
        per_address,
        address_limit,
    ));
    let router = router.layer(tower_http::trace::TraceLayer::new_for_http());
    Ok(router.layer(axum::middleware::from_fn(with_request_id)))
}

/// The per-address rate limit on requests without credentials, before anything reads the
/// request (servers are served with connect info; without it there is no address to limit).
async fn address_limit(
    axum::extract::State(limits): axum::extract::State<std::sync::Arc<limits::RateLimits>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    // Callers with a token are limited per principal (by the GraphQL handler): a hub or an
    // office behind one address carries many principals. A bad token is refused after a
    // check that costs about as much as this limiter (docs/PERFORMANCE.md (d)).
    let anonymous = !req
        .headers()
        .contains_key(axum::http::header::AUTHORIZATION);
    if anonymous
        && let Some(ip) = peer
        && let Err(wait) = limits.check_address(ip)
    {
        tracing::info!(%ip, path = req.uri().path(), "rate limited (address)");
        let graphql_response = graphql::wants_graphql_response(req.headers());
        return graphql::rate_limited(wait, "address", graphql_response);
    }
    next.run(req).await
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("graphql.{field}: {message}")]
pub struct ConfigError {
    /// The setting.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn cors(origins: &[String]) -> Result<tower_http::cors::CorsLayer, ConfigError> {
    use axum::http::{HeaderValue, Method, header};
    let origins = origins
        .iter()
        .map(|o| {
            if o == "*" {
                return Err(ConfigError {
                    field: "cors_origins",
                    message: "`*` is not allowed: list the origins".into(),
                });
            }
            HeaderValue::from_str(o.trim_end_matches('/')).map_err(|e| ConfigError {
                field: "cors_origins",
                message: format!("`{o}` is not an origin ({e})"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .max_age(std::time::Duration::from_secs(600)))
}
