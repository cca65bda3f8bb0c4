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
//! - [`shutdown_signal`]: Ctrl-C / SIGTERM.

pub mod graphql;

pub use graphql::{CallerAuthorization, GraphqlEndpoint, graphql_routes};

/// Counters a server reports on `/health`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// GraphQL requests received (every method, every outcome).
    pub graphql_requests: std::sync::atomic::AtomicU64,
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

/// Limits on GraphQL requests, shared by every server's config.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraphqlConfig {
    /// Deepest selection nesting accepted.
    pub max_depth: usize,
    /// Largest query complexity (fields counted, lists weighted) accepted.
    pub max_complexity: usize,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 5_000,
            max_body_bytes: 1024 * 1024,
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

/// Adds the layers every server wants: request tracing and the body limit.
pub fn with_common_layers(router: axum::Router, config: &GraphqlConfig) -> axum::Router {
    router
        .layer(axum::extract::DefaultBodyLimit::max(config.max_body_bytes))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
