//! The HTTP client the hub calls nodes with: one keep-alive pool for all nodes, a per-call
//! time-out, the caller's `Authorization` forwarded, and every failure classified so the hub can
//! report it with a stable code.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::document::Forwarded;

/// How a call to a node failed. The codes are part of the API (`extensions.code`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The node could not be reached (connection refused, DNS, reset).
    #[error("city node unreachable: {0}")]
    Unavailable(String),
    /// The node did not answer within the time-out.
    #[error("city node did not answer within {0} ms")]
    Timeout(u64),
    /// The node answered, but not with a GraphQL response (HTTP error, malformed JSON).
    #[error("city node answered badly: {0}")]
    Error(String),
    /// The node's circuit breaker is open: it kept failing, so the hub is not calling it
    /// until the cool-down ends.
    #[error("city node is failing; the hub stopped calling it for a while (circuit open)")]
    CircuitOpen,
    /// `REPLICA` was asked for a city the hub keeps no replica of.
    #[error("the hub keeps no replica of this city")]
    NoReplica,
}

impl CallError {
    /// The stable `extensions.code`.
    pub fn code(&self) -> codes::Code {
        match self {
            Self::Unavailable(_) | Self::CircuitOpen => codes::Code::CityUnavailable,
            Self::Timeout(_) => codes::Code::CityTimeout,
            Self::Error(_) => codes::Code::CityError,
            Self::NoReplica => codes::Code::CityNoReplica,
        }
    }
}

/// One error a node reported, as the GraphQL response carries it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct NodeError {
    /// Message.
    pub message: String,
    /// Path inside the forwarded document's response.
    #[serde(default)]
    pub path: Vec<serde_json::Value>,
    /// Extensions (code, field …).
    #[serde(default)]
    pub extensions: Option<serde_json::Map<String, serde_json::Value>>,
}

impl NodeError {
    /// This error as the hub reports it: the node's path after its first `skip` segments,
    /// re-rooted under `base` (the hub's path to the delegated field), a leading list index
    /// shifted by `index_offset` (for lists the hub concatenates across cities), and the
    /// `city` added to the node's extensions.
    pub fn rebased(
        &self,
        base: &[async_graphql::PathSegment],
        skip: usize,
        index_offset: usize,
        city: model::RegionCode,
    ) -> async_graphql::ServerError {
        use async_graphql::{PathSegment, Value};
        let mut path = base.to_vec();
        for (i, p) in self.path.iter().skip(skip).enumerate() {
            path.push(match p {
                serde_json::Value::Number(n) => {
                    let n = usize::try_from(n.as_u64().unwrap_or(0)).unwrap_or(usize::MAX);
                    PathSegment::Index(if i == 0 {
                        n.saturating_add(index_offset)
                    } else {
                        n
                    })
                }
                other => PathSegment::Field(other.as_str().unwrap_or_default().to_owned()),
            });
        }
        let mut err = async_graphql::ServerError::new(self.message.clone(), None);
        err.path = path;
        let mut ext = async_graphql::ErrorExtensionValues::default();
        for (k, v) in self.extensions.iter().flatten() {
            ext.set(
                k.clone(),
                Value::from_json(v.clone()).unwrap_or(Value::Null),
            );
        }
        ext.set("city", city.to_string());
        err.extensions = Some(ext);
        err
    }
}

/// The hub's response path to the field being resolved (field names never start with a
/// digit, so numeric segments are list indexes).
pub fn response_path(ctx: &async_graphql::Context<'_>) -> Vec<async_graphql::PathSegment> {
    ctx.path_node
        .map(|p| {
            p.to_string_vec()
                .into_iter()
                .map(|s| {
                    s.parse::<usize>().map_or(
                        async_graphql::PathSegment::Field(s),
                        async_graphql::PathSegment::Index,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A node's GraphQL response. Each root field of `data` is kept as the JSON text the node wrote
/// (checked, not converted): the hub passes it through into its own response.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct NodeResponse {
    /// `data`, keyed by the forwarded root fields' response keys.
    #[serde(default)]
    pub data: Option<async_graphql::indexmap::IndexMap<String, Part>>,
    /// Errors, with paths relative to `data`.
    #[serde(default)]
    pub errors: Vec<NodeError>,
}

/// One root field of a city's answer: the JSON text a node wrote (a live call), or a value
/// computed in process (a replica's answer).
#[derive(Debug, Clone)]
pub enum Part {
    /// As the node wrote it; its syntax was checked when the response was read.
    Json(Box<serde_json::value::RawValue>),
    /// As the replica's execution produced it.
    Value(async_graphql::Value),
}

impl Part {
    /// Whether the field's answer is `null`.
    pub fn is_null(&self) -> bool {
        match self {
            Self::Json(j) => j.get() == "null",
            Self::Value(v) => *v == async_graphql::Value::Null,
        }
    }

    /// The answer as a GraphQL value (text is parsed: for the callers that need to look
    /// inside it). Text that is not a GraphQL value — it cannot be: it parsed as JSON — is
    /// `null`, and logged.
    pub fn to_value(&self) -> async_graphql::Value {
        match self {
            Self::Value(v) => v.clone(),
            Self::Json(j) => serde_json::from_str(j.get()).unwrap_or_else(|e| {
                tracing::error!(error = %e, "a node's answer is not a GraphQL value");
                async_graphql::Value::Null
            }),
        }
    }

    /// The answer as JSON text (a value is written out once; text stays as it is).
    pub fn to_json(&self) -> Self {
        match self {
            Self::Json(j) => Self::Json(j.clone()),
            Self::Value(v) => serde_json::value::to_raw_value(v)
                .map_or_else(|_| Self::Value(v.clone()), Self::Json),
        }
    }

    /// The answer for the field being resolved: the node's text, spliced into the response
    /// where the request allows it (`serving::Splices`), otherwise its value.
    pub fn resolve(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Value {
        match (self, ctx.data_opt::<serving::Splices>()) {
            (Self::Json(j), Some(splices)) => {
                async_graphql::Value::String(splices.placeholder(j.clone()))
            }
            _ => self.to_value(),
        }
    }
}

impl PartialEq for Part {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Json(a), Self::Json(b)) => a.get() == b.get(),
            _ => self.to_value() == other.to_value(),
        }
    }
}

impl<'de> Deserialize<'de> for Part {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<serde_json::value::RawValue>::deserialize(d).map(Self::Json)
    }
}

impl From<async_graphql::Value> for Part {
    fn from(v: async_graphql::Value) -> Self {
        Self::Value(v)
    }
}

/// Calls nodes.
#[derive(Debug, Clone)]
pub struct NodeClient {
    http: reqwest::Client,
    timeout: Duration,
}

impl NodeClient {
    /// A client with one connection pool for every node, keeping at most `idle_per_node` idle
    /// connections to each (the registry never has more calls in flight to one node).
    /// Calls over HTTPS use `tls` (system roots plus a private CA, a client certificate).
    pub fn new(
        timeout: Duration,
        idle_per_node: usize,
        tls: &outbound::TlsConfig,
    ) -> Result<Self, outbound::ClientError> {
        let http = outbound::client_builder(tls)?
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(idle_per_node)
            .tcp_nodelay(true)
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .build()?;
        Ok(Self { http, timeout })
    }

    /// The per-call time-out.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `GET`s the node's `/health` (beside its GraphQL URL) within `budget`: whether the node
    /// is up when no query has asked it lately.
    pub async fn probe(&self, graphql: &reqwest::Url, budget: Duration) -> Result<(), CallError> {
        let ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
        let url = graphql
            .join("health")
            .map_err(|e| CallError::Error(format!("no health URL beside the node's: {e}")))?;
        let resp = self
            .http
            .get(url)
            .timeout(budget)
            .send()
            .await
            .map_err(|e| classify(&e, ms))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(CallError::Error(format!(
                "health check: HTTP {}",
                resp.status()
            )))
        }
    }

    /// POSTs `doc` to `url` within `budget` (what is left of the city's time-out, which a
    /// time-out error reports); returns the response and how long it took.
    pub async fn call(
        &self,
        url: &reqwest::Url,
        doc: &Forwarded,
        authorization: Option<&str>,
        budget: Duration,
    ) -> (Result<NodeResponse, CallError>, Duration) {
        let started = Instant::now();
        // Written straight from the forwarded document: no copy of it as a JSON value.
        #[derive(serde::Serialize)]
        struct Body<'a> {
            query: &'a str,
            variables: &'a serde_json::Map<String, serde_json::Value>,
        }
        let body = Body {
            query: &doc.query,
            variables: &doc.variables,
        };
        let mut req = self
            .http
            .post(url.clone())
            .timeout(budget)
            .header("accept", "application/json")
            .json(&body);
        if let Some(auth) = authorization {
            req = req.header("authorization", auth);
        }
        // The caller's request id travels on, so one id names the request in every log, and
        // the trace context, so the node's spans join the caller's trace.
        if let Some(id) = serving::request_id() {
            req = req.header(serving::REQUEST_ID_HEADER, &*id);
        }
        req = req.headers(outbound::trace_headers());
        let ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        let result = async {
            let resp = req.send().await.map_err(|e| classify(&e, ms))?;
            let status = resp.status();
            let bytes = resp.bytes().await.map_err(|e| classify(&e, ms))?;
            if !status.is_success() {
                // A refused token is the caller's problem, not the node's: pass its GraphQL
                // errors (UNAUTHENTICATED / FORBIDDEN) through.
                let refused = matches!(status.as_u16(), 401 | 403);
                return match serde_json::from_slice::<NodeResponse>(&bytes) {
                    Ok(parsed) if refused && !parsed.errors.is_empty() => Ok(parsed),
                    _ => Err(CallError::Error(format!("HTTP {status}"))),
                };
            }
            let parsed: NodeResponse = serde_json::from_slice(&bytes)
                .map_err(|e| CallError::Error(format!("malformed GraphQL response: {e}")))?;
            if parsed.data.is_none() && parsed.errors.is_empty() {
                return Err(CallError::Error(
                    "response has neither data nor errors".into(),
                ));
            }
            Ok(parsed)
        }
        .await;
        (result, started.elapsed())
    }
}

fn classify(e: &reqwest::Error, timeout_ms: u64) -> CallError {
    if e.is_timeout() {
        CallError::Timeout(timeout_ms)
    } else if e.is_connect() || e.is_request() {
        // The cause only: a node's internal URL is not the caller's business.
        CallError::Unavailable(outbound::cause(e))
    } else {
        CallError::Error(outbound::cause(e))
    }
}
