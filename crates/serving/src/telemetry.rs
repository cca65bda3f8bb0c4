//! Metrics: one Prometheus recorder per process (the `metrics` facade with
//! `metrics-exporter-prometheus`), rendered at `/metrics` on every server. Series carry a
//! `server` label (`hub`, `node-140800` …) where one process may run several servers
//! (`xingyi local`). What each series means: README, "Metrics".

use std::{net::IpAddr, sync::OnceLock, time::Instant};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Who may read `/metrics`, in `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` at all.
    pub enabled: bool,
    /// Peer addresses that may read it (a Prometheus server); `"*"` lets anyone. Default:
    /// loopback only.
    pub allow: Vec<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allow: vec!["127.0.0.1".into(), "::1".into()],
        }
    }
}

/// Latency buckets (seconds) of every `*_seconds` histogram.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's Prometheus recorder, installed on first use (`None` if another recorder
/// was installed first).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match built {
                Ok(h) => {
                    describe();
                    Some(h)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are off: no recorder");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "xingyi_requests_total",
        "GraphQL requests by server, operation type and outcome code"
    );
    describe_histogram!(
        "xingyi_request_duration_seconds",
        "GraphQL request latency by server and operation type"
    );
    describe_counter!(
        "xingyi_rate_limited_total",
        "requests refused by a rate limit, by what was limited"
    );
    describe_counter!(
        "xingyi_node_calls_total",
        "the hub's calls to city nodes, by city and outcome code"
    );
    describe_histogram!(
        "xingyi_node_call_duration_seconds",
        "the hub's calls to city nodes, by city"
    );
    describe_gauge!(
        "xingyi_node_calls_in_flight",
        "the hub's calls open to a city node"
    );
    describe_gauge!(
        "xingyi_node_breaker_open",
        "1 while a city node's circuit breaker refuses calls"
    );
    describe_gauge!(
        "xingyi_replica_applied_seq",
        "the last change the hub's replica of a city applied"
    );
    describe_gauge!(
        "xingyi_replica_node_seq",
        "the city node's last change, as it last reported"
    );
    describe_gauge!(
        "xingyi_replica_lag",
        "changes the node committed that the replica has not applied"
    );
    describe_gauge!(
        "xingyi_replica_report_age_seconds",
        "seconds since the city node last reported"
    );
    describe_gauge!(
        "xingyi_replica_diverged",
        "1 while a replica is known to differ from its node"
    );
    describe_counter!(
        "xingyi_sync_pushes_total",
        "pushes received by the hub, by city and outcome code"
    );
    describe_counter!(
        "xingyi_sync_applied_changes_total",
        "changes the hub applied to a city's replica"
    );
    describe_histogram!(
        "xingyi_sync_apply_duration_seconds",
        "time to apply one push to a replica"
    );
    describe_counter!(
        "xingyi_sync_snapshots_total",
        "replicas rebuilt from a node's snapshot"
    );
    describe_counter!(
        "xingyi_sync_repairs_total",
        "diverged replicas repaired by a snapshot"
    );
    describe_counter!(
        "xingyi_compare_cache_total",
        "comparisons answered from the cache (hit) or computed (miss)"
    );
    describe_gauge!(
        "xingyi_db_connections",
        "database pool connections by server, database and state (idle, in_use)"
    );
    describe_gauge!(
        "xingyi_pusher_unpushed",
        "changes a city node holds that its hub has not confirmed"
    );
    describe_gauge!(
        "xingyi_pusher_failures",
        "failed pushes since the node started"
    );
}

/// What a GraphQL response said, for the request metrics: its first error's code, or `OK`.
#[derive(Debug, Clone)]
pub struct Outcome(pub std::sync::Arc<str>);

/// The operation type of a GraphQL request (`query`, `mutation`, `subscription`).
#[derive(Debug, Clone, Copy)]
pub struct OperationKind(pub &'static str);

/// Counts and times every request to `/graphql`, labelled with the outcome and operation
/// type the handler attached to the response.
pub(crate) async fn record_graphql(
    State(server): State<std::sync::Arc<str>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let resp = next.run(req).await;
    let outcome = resp.extensions().get::<Outcome>().map_or_else(
        || {
            if resp.status().is_success() {
                "OK".into()
            } else {
                format!("HTTP_{}", resp.status().as_u16())
            }
        },
        |o| o.0.to_string(),
    );
    let operation = resp
        .extensions()
        .get::<OperationKind>()
        .map_or("unknown", |k| k.0);
    let labels = [
        ("server", server.to_string()),
        ("operation", operation.to_owned()),
    ];
    metrics::histogram!("xingyi_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(
        "xingyi_requests_total",
        "server" => server.to_string(),
        "operation" => operation,
        "outcome" => outcome
    )
    .increment(1);
    resp
}

/// Which peers may read `/metrics`.
#[derive(Debug, Clone)]
enum Allowed {
    Anyone,
    Only(Vec<IpAddr>),
}

impl Allowed {
    fn parse(config: &MetricsConfig) -> Result<Self, crate::ConfigError> {
        if config.allow.iter().any(|a| a == "*") {
            return Ok(Self::Anyone);
        }
        config
            .allow
            .iter()
            .map(|a| {
                a.parse::<IpAddr>().map_err(|e| crate::ConfigError {
                    field: "allow",
                    message: format!("metrics.allow: `{a}` is not an IP address ({e})"),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self::Only)
    }

    fn admits(&self, peer: Option<IpAddr>) -> bool {
        match (self, peer) {
            (Self::Anyone, _) => true,
            (Self::Only(list), Some(ip)) => list.contains(&ip.to_canonical()),
            (Self::Only(_), None) => false,
        }
    }
}

/// `/metrics` in Prometheus' text format, for the peers `config` allows (others: `403
/// FORBIDDEN`). `collect` sets the gauges read at scrape time (replication lag, pool use).
/// Installs the process's recorder; with `enabled = false` none is installed and every
/// measurement is a no-op.
pub fn metrics_route<F, Fut>(
    config: &MetricsConfig,
    collect: F,
) -> Result<axum::Router, crate::ConfigError>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    if !config.enabled {
        return Ok(axum::Router::new());
    }
    let allowed = Allowed::parse(config)?;
    let handle = prometheus();
    Ok(axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |req: Request| {
            let (collect, allowed) = (collect.clone(), allowed.clone());
            let peer = req
                .extensions()
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip());
            async move {
                if !allowed.admits(peer) {
                    let body = serde_json::json!({ "errors": [{ "message": "metrics are served to the addresses in metrics.allow only", "extensions": { "code": codes::Code::Forbidden } }] });
                    return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
                }
                let Some(handle) = handle else {
                    return (StatusCode::SERVICE_UNAVAILABLE, "metrics are off in this process\n").into_response();
                };
                collect().await;
                (
                    [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle.render(),
                )
                    .into_response()
            }
        }),
    ))
}

/// Sets the pool gauges of one database.
pub fn record_pool(server: &str, database: &str, size: u32, idle: usize) {
    let idle = idle as f64;
    metrics::gauge!("xingyi_db_connections", "server" => server.to_owned(), "database" => database.to_owned(), "state" => "idle")
        .set(idle);
    metrics::gauge!("xingyi_db_connections", "server" => server.to_owned(), "database" => database.to_owned(), "state" => "in_use")
        .set((f64::from(size) - idle).max(0.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(allow: &[&str]) -> MetricsConfig {
        MetricsConfig {
            enabled: true,
            allow: allow.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn only_the_listed_addresses_may_read_metrics() {
        let loopback = Allowed::parse(&MetricsConfig::default()).unwrap();
        assert!(loopback.admits(Some("127.0.0.1".parse().unwrap())));
        assert!(loopback.admits(Some("::1".parse().unwrap())));
        assert!(
            loopback.admits(Some("::ffff:127.0.0.1".parse().unwrap())),
            "an IPv4 peer on a dual-stack socket"
        );
        assert!(!loopback.admits(Some("10.0.0.9".parse().unwrap())));
        assert!(!loopback.admits(None), "no peer address, no metrics");
        let prometheus = Allowed::parse(&config(&["10.0.0.9"])).unwrap();
        assert!(prometheus.admits(Some("10.0.0.9".parse().unwrap())));
        assert!(!prometheus.admits(Some("127.0.0.1".parse().unwrap())));
        assert!(Allowed::parse(&config(&["*"])).unwrap().admits(None));
        let bad = Allowed::parse(&config(&["prometheus.local"])).unwrap_err();
        assert!(bad.message.contains("prometheus.local"), "{bad}");
    }
}
