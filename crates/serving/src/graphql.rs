//! GraphQL over HTTP (https://graphql.github.io/graphql-over-http/).
//!
//! - `POST /graphql` with `Content-Type: application/json` and a `{query, variables,
//!   operationName, extensions}` body; any other content type is `415`.
//! - `GET /graphql?query=…&variables=…` runs queries only; a mutation over GET is `405`.
//! - The response media type follows `Accept`: `application/graphql-response+json` when the
//!   client accepts it (then a request that fails before execution is `400`), otherwise
//!   `application/json` with `200` (the legacy behaviour clients expect).
//! - Malformed bodies get a GraphQL-shaped error with `extensions.code = "BAD_REQUEST"`.
//! - A query with `@defer` from a client that accepts `multipart/mixed` is answered in parts
//!   ([`crate::defer`], [`crate::multipart`]); any other client gets the whole answer at once.

use std::collections::HashMap;

use async_graphql::{
    Executor,
    parser::types::{ExecutableDocument, OperationType},
};
use axum::{
    Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use codes::Code;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
const MULTIPART: &str = "multipart/mixed";

/// The executor behind `/graphql`, and the counters it updates.
#[derive(Clone, Debug)]
pub struct GraphqlEndpoint<E> {
    /// The schema (or any executor).
    pub executor: E,
    /// Request counters, shared with `/health`.
    pub metrics: std::sync::Arc<crate::Metrics>,
    /// Parsed documents by query text: clients (and the hub, delegating) send the same
    /// documents over and over, and parsing was a visible share of each request's CPU.
    pub documents: std::sync::Arc<DocumentCache>,
    /// Checks the caller's token; its principal goes into every request's data.
    pub auth: std::sync::Arc<auth::Verifier>,
    /// Request limits (`[graphql]`).
    pub config: std::sync::Arc<crate::GraphqlConfig>,
    /// The rate limiter per principal.
    pub rates: std::sync::Arc<crate::limits::RateLimits>,
    /// Root lists whose items can be asked for one by one (deferred parts then come per item).
    pub items: Option<std::sync::Arc<dyn crate::defer::ListItems>>,
}

/// A bounded cache of parsed GraphQL documents (least recently used out first). Validation
/// still runs on every request; only parsing is saved.
#[derive(Debug)]
pub struct DocumentCache(std::sync::Mutex<lru::LruCache<String, ExecutableDocument>>);

impl DocumentCache {
    /// A cache of `capacity` documents (at least 1).
    pub fn new(capacity: usize) -> Self {
        let cap =
            std::num::NonZeroUsize::new(capacity.max(1)).unwrap_or(std::num::NonZeroUsize::MIN);
        Self(std::sync::Mutex::new(lru::LruCache::new(cap)))
    }

    /// Gives `request` its parsed document from the cache, parsing and caching it on a miss.
    /// A document that does not parse is left to the executor, which reports the error.
    fn prepare(&self, request: &mut async_graphql::Request) {
        // Large documents are parsed (every limit below needs the parsed document) but not
        // kept: the cache holds the documents clients send over and over.
        let cacheable = request.query.len() <= 64 * 1024;
        let cached = match self.0.lock() {
            Ok(mut c) if cacheable => c.get(&request.query).cloned(),
            _ => None,
        };
        let doc = match cached {
            Some(doc) => doc,
            None => {
                let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
                    return;
                };
                if cacheable && let Ok(mut c) = self.0.lock() {
                    c.put(request.query.clone(), doc.clone());
                }
                doc
            }
        };
        request.set_parsed_query(doc);
    }
}

/// The caller's `Authorization` header, put into every request's data so resolvers that call
/// other servers (the hub delegating to nodes) can forward the caller's identity.
#[derive(Clone, Debug, Default)]
pub struct CallerAuthorization(pub Option<String>);

/// Routes `/graphql` (GET and POST) to `executor`; a browser's `GET /graphql` gets GraphiQL
/// when the playground is on (the page itself, `/graphiql`, is among [`web::routes`]).
pub fn graphql_routes<E: Executor + Clone>(
    executor: E,
    metrics: std::sync::Arc<crate::Metrics>,
    auth: std::sync::Arc<auth::Verifier>,
    config: &crate::GraphqlConfig,
) -> Router {
    graphql_routes_with(executor, metrics, auth, config, None)
}

/// [`graphql_routes`] for a server whose root lists can be split per item (`items`): a
/// fragment deferred under such a list is delivered item by item.
pub fn graphql_routes_with<E: Executor + Clone>(
    executor: E,
    metrics: std::sync::Arc<crate::Metrics>,
    auth: std::sync::Arc<auth::Verifier>,
    config: &crate::GraphqlConfig,
    items: Option<std::sync::Arc<dyn crate::defer::ListItems>>,
) -> Router {
    let server = metrics.server.clone();
    Router::new()
        .route(
            "/graphql",
            get(get_handler::<E>).post(post_handler::<E>).layer(
                axum::middleware::from_fn_with_state(server, crate::telemetry::record_graphql),
            ),
        )
        .with_state(GraphqlEndpoint {
            executor,
            metrics,
            documents: std::sync::Arc::new(DocumentCache::new(512)),
            auth,
            config: std::sync::Arc::new(config.clone()),
            // Per principal only: the per-address limit is a layer over every route
            // (`with_common_layers`).
            rates: std::sync::Arc::new(crate::limits::RateLimits::new(&crate::RateLimitConfig {
                per_address_per_s: 0,
                ..config.rate_limit.clone()
            })),
            items,
        })
}

/// The refusal of a document over the token limit (`None`: within it).
fn tokens_refusal(query: &str, max: usize, graphql_response: bool) -> Option<Response> {
    let n = crate::limits::check_tokens(query, max).err()?;
    Some(limit_error(
        Code::QueryTooManyTokens,
        &format!("the document has more than {max} tokens (counted {n} before stopping)"),
        graphql_response,
    ))
}

/// `429` with `Retry-After` (whole seconds, at least 1).
pub(crate) fn rate_limited(
    wait: std::time::Duration,
    what: &str,
    graphql_response: bool,
) -> Response {
    metrics::counter!("xingyi_rate_limited_total", "by" => what.to_owned()).increment(1);
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut resp = request_error(
        Code::RateLimited,
        &format!("too many requests from this {what}; retry in {secs} s"),
        graphql_response,
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// A request refused before execution by a limit of ours: `400` with
/// `application/graphql-response+json`, `200` with plain JSON (as async-graphql's own
/// validation failures).
fn limit_error(code: Code, message: &str, graphql_response: bool) -> Response {
    let mut resp = request_error(code, message, graphql_response);
    if !graphql_response {
        // GraphQL over HTTP: a well-formed request answered in `application/json` is a 200.
        *resp.status_mut() = StatusCode::OK;
    }
    resp
}

fn caller(headers: &HeaderMap) -> CallerAuthorization {
    CallerAuthorization(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    )
}

/// Which media type the client gets back.
pub(crate) fn wants_graphql_response(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    accept.split(',').any(|part| {
        part.trim()
            .split(';')
            .next()
            .is_some_and(|m| m.trim() == GRAPHQL_RESPONSE)
    })
}

/// Whether the client takes incremental delivery (`multipart/mixed`, as Apollo Client asks
/// with `multipart/mixed;deferSpec=20220824`).
fn accepts_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',')
                .any(|p| p.split(';').next().is_some_and(|m| m.trim() == MULTIPART))
        })
}

/// Whether the caller is a browser navigating here (`Accept` names `text/html`).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',')
                .any(|p| p.split(';').next().is_some_and(|m| m.trim() == "text/html"))
        })
}

fn accepts_something_we_serve(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|part| {
        let m = part.trim().split(';').next().unwrap_or("").trim();
        matches!(
            m,
            GRAPHQL_RESPONSE | JSON | MULTIPART | "application/*" | "multipart/*" | "*/*" | ""
        )
    })
}

/// A GraphQL-shaped error response for a request that never reached execution.
pub(crate) fn request_error(code: Code, message: &str, graphql_response: bool) -> Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let media = if graphql_response {
        GRAPHQL_RESPONSE
    } else {
        JSON
    };
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    resp.extensions_mut()
        .insert(crate::telemetry::Outcome(code.as_str().into()));
    resp
}

/// The stable code of an error raised before execution (async-graphql sets none).
fn pre_execution_code(message: &str) -> Code {
    if message.contains("nested too deep") {
        Code::QueryTooDeep
    } else if message.contains("too complex") {
        Code::QueryTooComplex
    } else if message.contains("-->") {
        Code::GraphqlParseFailed
    } else {
        Code::GraphqlValidationFailed
    }
}

/// The stable code of an execution error that has none: a value GraphQL's coercion refused
/// (an `Int` beyond 32 bits, a string where a number belongs) is the client's; anything else
/// is ours, and logged so it can be given a code of its own.
fn execution_code(message: &str) -> Code {
    if message.starts_with("Failed to parse") || message.starts_with("Invalid value for argument") {
        Code::BadUserInput
    } else {
        tracing::warn!(message, "an execution error without a code");
        Code::Internal
    }
}

async fn run<E: Executor>(
    ep: &GraphqlEndpoint<E>,
    request: async_graphql::Request,
    headers: &HeaderMap,
    graphql_response: bool,
) -> Response {
    ep.metrics
        .graphql_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("<not text>"));
    let principal = match ep.auth.principal(authorization).await {
        Ok(p) => p,
        Err(e) => {
            // The reason only: the token itself never reaches a log.
            tracing::info!(reason = e.reason, "refused a bearer token");
            let mut resp = request_error(
                Code::Unauthenticated,
                &format!("the token is not accepted ({e})"),
                graphql_response,
            );
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            return resp;
        }
    };
    if let auth::Principal::Authenticated(s) = &principal {
        let key = format!(
            "{}/{}/{}",
            s.role.as_str(),
            s.city.map(|c| c.to_string()).unwrap_or_default(),
            s.sub
        );
        if let Err(wait) = ep.rates.check_principal(&key) {
            tracing::info!(role = s.role.as_str(), sub = %s.sub, "rate limited (principal)");
            return rate_limited(wait, "principal", graphql_response);
        }
    }
    if let Some(resp) = tokens_refusal(&request.query, ep.config.max_tokens, graphql_response) {
        return resp;
    }
    let access = auth::Access {
        principal,
        anonymous_read: ep.auth.anonymous_read(),
    };
    let mut request = request;
    ep.documents.prepare(&mut request);
    // Moved out (not cloned) while the parsed document borrows the request.
    let variables = std::mem::take(&mut request.variables);
    if let Ok(doc) = request.parsed_query() {
        let representations = crate::limits::count_representations(doc, &variables);
        if representations > ep.config.max_representations {
            return limit_error(
                Code::QueryTooManyRepresentations,
                &format!(
                    "the request asks for {representations} entities; at most {} are accepted",
                    ep.config.max_representations
                ),
                graphql_response,
            );
        }
        let shape = crate::limits::measure(doc);
        if shape.fields > ep.config.max_fields {
            return limit_error(
                Code::QueryTooManyFields,
                &format!(
                    "the document selects {} fields once its fragments are spread out; at most {} are accepted",
                    shape.fields, ep.config.max_fields
                ),
                graphql_response,
            );
        }
        if shape.aliases > ep.config.max_aliases {
            return limit_error(
                Code::QueryTooManyAliases,
                &format!(
                    "the document has {} aliases; at most {} are accepted",
                    shape.aliases, ep.config.max_aliases
                ),
                graphql_response,
            );
        }
    }
    request.variables = variables;
    if !ep.config.introspection {
        if let Ok(doc) = request.parsed_query()
            && crate::limits::asks_introspection(doc)
        {
            return limit_error(
                Code::IntrospectionDisabled,
                "schema introspection is turned off on this server (graphql.introspection)",
                graphql_response,
            );
        }
        request = request.disable_introspection();
    }
    let name = request.operation_name.clone();
    let (kind, order) = match request.parsed_query() {
        Ok(doc) => (
            operation_kind(doc, name.as_deref()),
            Some(crate::order::Order::of(doc, name.as_deref())),
        ),
        Err(_) => (None, None),
    };
    let deferred = if accepts_multipart(headers) {
        // Moved out (not cloned) while the parsed document borrows the request.
        let variables = std::mem::take(&mut request.variables);
        let plan = request.parsed_query().ok().and_then(|doc| {
            crate::defer::plan(
                doc,
                name.as_deref(),
                &variables,
                MAX_DEFERRED,
                ep.items.as_deref(),
            )
        });
        request.variables = variables;
        plan
    } else {
        None
    };
    if let Some(plan) = deferred {
        let context = crate::multipart::Context {
            authorization: caller(headers),
            access,
            graphql_response,
            kind,
        };
        return crate::multipart::answer(ep, request, plan, context).await;
    }
    // Delegated answers are passed through as the bytes their node wrote (see `splice`).
    let splices = crate::splice::Splices::new();
    let request = request
        .data(caller(headers))
        .data(access)
        .data(auth::RefusalRecorded::default())
        .data(splices.clone());
    let mut response = match execute_bounded(&ep.executor, request, &ep.config).await {
        Ok(response) => response,
        Err(stopped) => {
            let (code, message) = stopped.error(&ep.config);
            return request_error(code, &message, graphql_response);
        }
    };
    if let Some(order) = &order {
        order.apply(&mut response.data);
    }
    respond(response, graphql_response, kind, Some(&splices))
}

/// At most this many fragments of one query are deferred (each is an execution of its own);
/// any further ones come with the initial answer.
const MAX_DEFERRED: usize = 16;

/// Why an execution was cancelled.
pub(crate) enum Stopped {
    Budget,
    Timeout,
}

impl Stopped {
    pub(crate) fn error(&self, config: &crate::GraphqlConfig) -> (Code, String) {
        match self {
            Self::Budget => (
                Code::QueryCpuBudget,
                format!(
                    "the request took more than {} ms of computing and was cancelled; ask for less at once",
                    config.cpu_budget_ms
                ),
            ),
            Self::Timeout => (
                Code::RequestTimeout,
                format!(
                    "the request did not finish within {} ms and was cancelled",
                    config.timeout_ms
                ),
            ),
        }
    }
}

/// Executes `request` within the time limit and the computing budget.
pub(crate) async fn execute_bounded<E: Executor>(
    executor: &E,
    request: async_graphql::Request,
    config: &crate::GraphqlConfig,
) -> Result<async_graphql::Response, Stopped> {
    let execution = executor.execute(request);
    let timeout = std::time::Duration::from_millis(config.timeout_ms);
    let budget = std::time::Duration::from_millis(config.cpu_budget_ms);
    let execution = crate::budget::CpuBudget::new(execution, budget);
    match tokio::time::timeout(timeout, execution).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(crate::budget::Exceeded(spent))) => {
            tracing::warn!(
                cpu_budget_ms = config.cpu_budget_ms,
                spent_ms = spent.as_millis() as u64,
                "request stopped: computing budget spent"
            );
            Err(Stopped::Budget)
        }
        Err(_) => {
            tracing::warn!(timeout_ms = config.timeout_ms, "request timed out");
            Err(Stopped::Timeout)
        }
    }
}

/// Gives every error of `response` a code (async-graphql sets none on its own: parse,
/// validation, limits, and the coercion of argument values during execution); says whether
/// the request failed before execution.
pub(crate) fn code_errors(response: &mut async_graphql::Response) -> bool {
    // A response without data and without any error path never reached execution (parse or
    // validation failure, or a refusal before execution).
    // Execution errors carry a path (a non-null root field's error nulls `data` too, but
    // execution began: that is a 200 with `data: null`).
    let failed_before_execution = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    for e in &mut response.errors {
        let has_code = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if !has_code {
            let code = if failed_before_execution {
                pre_execution_code(&e.message)
            } else {
                execution_code(&e.message)
            };
            e.extensions
                .get_or_insert_with(Default::default)
                .set("code", code.as_str());
        }
    }
    failed_before_execution
}

/// The HTTP response for one executed request.
pub(crate) fn respond(
    mut response: async_graphql::Response,
    graphql_response: bool,
    kind: Option<crate::telemetry::OperationKind>,
    splices: Option<&crate::splice::Splices>,
) -> Response {
    let failed_before_execution = code_errors(&mut response);
    // A document refused before execution answers with its first error's status (a 4xx)
    // under the graphql-response media type; everything else is a 200.
    let status = if graphql_response && failed_before_execution {
        response
            .errors
            .first()
            .and_then(|e| match e.extensions.as_ref()?.get("code")? {
                async_graphql::Value::String(c) => c.parse::<Code>().ok(),
                _ => None,
            })
            .filter(|c| c.is_client_error())
            .and_then(|c| StatusCode::from_u16(c.status()).ok())
            .unwrap_or(StatusCode::BAD_REQUEST)
    } else {
        StatusCode::OK
    };
    let outcome: std::sync::Arc<str> = response
        .errors
        .first()
        .and_then(|e| e.extensions.as_ref())
        .and_then(|x| match x.get("code") {
            Some(async_graphql::Value::String(c)) => Some(c.as_str().into()),
            _ => None,
        })
        .unwrap_or_else(|| "OK".into());
    // A request that never reached execution has no `data` entry at all in the
    // graphql-response media type (GraphQL over HTTP; `null` would mean execution began).
    let serialised = if graphql_response && failed_before_execution {
        serde_json::to_string(&serde_json::json!({ "errors": response.errors }))
    } else {
        serde_json::to_string(&response)
    };
    let body = match serialised {
        Ok(b) => match splices {
            Some(s) => s.substitute(b),
            None => b,
        },
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a GraphQL response");
            return request_error(Code::Internal, "internal error", graphql_response);
        }
    };
    let media = if graphql_response {
        GRAPHQL_RESPONSE
    } else {
        JSON
    };
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    resp.extensions_mut()
        .insert(crate::telemetry::Outcome(outcome));
    if let Some(kind) = kind {
        resp.extensions_mut().insert(kind);
    }
    resp
}

/// The operation a request runs: the one named `name`, or the only one. `None` when the name
/// matches none, or when several operations and no name are given (an error the executor
/// reports).
pub(crate) fn operation<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a async_graphql::Positioned<async_graphql::parser::types::OperationDefinition>> {
    match name {
        Some(name) => doc
            .operations
            .iter()
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))
            .map(|(_, o)| o),
        None => {
            let mut ops = doc.operations.iter();
            let first = ops.next().map(|(_, o)| o);
            if ops.next().is_some() { None } else { first }
        }
    }
}

/// The type of the operation a request runs (`None` when there is none to run).
fn operation_kind(
    doc: &ExecutableDocument,
    name: Option<&str>,
) -> Option<crate::telemetry::OperationKind> {
    let op = operation(doc, name)?;
    Some(crate::telemetry::OperationKind(match op.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }))
}

fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    operation(&doc, request.operation_name.as_deref())
        .is_some_and(|o| o.node.ty != OperationType::Query)
}

async fn post_handler<E: Executor>(
    State(ep): State<GraphqlEndpoint<E>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let graphql_response = wants_graphql_response(&headers);
    if !accepts_something_we_serve(&headers) {
        return request_error(
            Code::NotAcceptable,
            "Accept must allow application/json or application/graphql-response+json",
            false,
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media != JSON {
        return request_error(
            Code::UnsupportedMediaType,
            "POST /graphql needs Content-Type: application/json",
            graphql_response,
        );
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Code::PayloadTooLarge
            } else {
                Code::BadRequest
            };
            return request_error(
                code,
                &format!(
                    "the body cannot be read ({}; at most {} bytes are accepted)",
                    e.body_text(),
                    ep.config.max_body_bytes
                ),
                graphql_response,
            );
        }
    };
    let request: async_graphql::Request = match serde_json::from_slice::<serde_json::Value>(&body) {
        Err(e) => {
            return request_error(
                Code::BadRequest,
                &format!("body is not JSON: {e}"),
                graphql_response,
            );
        }
        Ok(v) if !v.is_object() || !v.get("query").is_some_and(serde_json::Value::is_string) => {
            return request_error(
                Code::BadRequest,
                "body must be an object with a string `query`",
                graphql_response,
            );
        }
        Ok(v) => match serde_json::from_value(v) {
            Ok(r) => r,
            Err(e) => {
                return request_error(
                    Code::BadRequest,
                    &format!("bad GraphQL request: {e}"),
                    graphql_response,
                );
            }
        },
    };
    run(&ep, request, &headers, graphql_response).await
}

async fn get_handler<E: Executor>(
    State(ep): State<GraphqlEndpoint<E>>,
    method: Method,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let graphql_response = wants_graphql_response(&headers);
    // A browser opening the endpoint gets GraphiQL (when the playground is on), as other
    // GraphQL servers do; a client asking for JSON never does.
    if ep.config.playground && !params.contains_key("query") && wants_html(&headers) {
        return web::graphiql_page(&headers);
    }
    if !accepts_something_we_serve(&headers) {
        return request_error(
            Code::NotAcceptable,
            "Accept must allow application/json or application/graphql-response+json",
            false,
        );
    }
    let Some(query) = params.get("query") else {
        return request_error(
            Code::BadRequest,
            "GET /graphql needs a `query` parameter",
            graphql_response,
        );
    };
    let mut request = async_graphql::Request::new(query.clone());
    if let Some(name) = params.get("operationName") {
        request = request.operation_name(name.clone());
    }
    if let Some(vars) = params.get("variables") {
        match serde_json::from_str::<serde_json::Value>(vars) {
            Ok(v @ serde_json::Value::Object(_)) => {
                request = request.variables(async_graphql::Variables::from_json(v))
            }
            Ok(serde_json::Value::Null) => {}
            _ => {
                return request_error(
                    Code::BadRequest,
                    "`variables` must be a JSON object",
                    graphql_response,
                );
            }
        }
    }
    if let Some(ext) = params.get("extensions")
        && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(ext).is_err()
    {
        return request_error(
            Code::BadRequest,
            "`extensions` must be a JSON object",
            graphql_response,
        );
    }
    // Bound the parse `is_mutation` does (the same check `run` makes).
    if let Some(resp) = tokens_refusal(&request.query, ep.config.max_tokens, graphql_response) {
        return resp;
    }
    // GET and HEAD (axum routes HEAD here too) run queries only.
    if is_mutation(&request) {
        let mut resp = request_error(
            Code::MethodNotAllowed,
            &format!("mutations must use POST, not {method}"),
            graphql_response,
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    run(&ep, request, &headers, graphql_response).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(c: &DocumentCache) -> usize {
        c.0.lock().unwrap().len()
    }

    #[test]
    fn documents_are_parsed_once_and_bad_ones_are_left_to_the_executor() {
        let cache = DocumentCache::new(2);
        let mut a = async_graphql::Request::new("{ a }");
        cache.prepare(&mut a);
        assert!(a.parsed_query().is_ok());
        let mut again = async_graphql::Request::new("{ a }");
        cache.prepare(&mut again);
        assert_eq!(len(&cache), 1, "the same text is one entry");

        let mut bad = async_graphql::Request::new("{ a ");
        cache.prepare(&mut bad);
        assert_eq!(
            len(&cache),
            1,
            "a document that does not parse is not cached"
        );

        for q in ["{ b }", "{ c }"] {
            cache.prepare(&mut async_graphql::Request::new(q));
        }
        assert_eq!(len(&cache), 2, "bounded: the least recently used goes");
    }
}
