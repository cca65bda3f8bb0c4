//! Incremental delivery over `multipart/mixed`: a query with deferred fragments is answered as
//! an initial part and one part per deferred fragment as soon as it is ready (see
//! [`crate::defer`] for how the documents are derived).
//!
//! All executions start at once; the HTTP response starts when the initial answer is ready (a
//! document refused by validation is still a plain `4xx`/JSON answer, and the deferred
//! executions are cancelled with it). Each part is
//! `\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n{json}` and the body ends
//! with `\r\n-----\r\n` (boundary `-`, the GraphQL-over-HTTP incremental delivery format).

use std::convert::Infallible;

use async_graphql::Executor;
use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use futures_util::StreamExt as _;
use tracing::Instrument as _;

use crate::{
    defer::{self, Plan},
    graphql::{GraphqlEndpoint, Stopped, code_errors, execute_bounded, request_error, respond},
};

const CONTENT_TYPE: &str = "multipart/mixed; boundary=\"-\"; deferSpec=20220824";
const PART: &str = "\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n";
const END: &str = "\r\n-----\r\n";

/// What every execution of one request carries.
pub(crate) struct Context {
    pub(crate) authorization: crate::graphql::CallerAuthorization,
    pub(crate) access: auth::Access,
    pub(crate) graphql_response: bool,
    pub(crate) kind: Option<crate::telemetry::OperationKind>,
}

impl Context {
    /// A request running `doc` in place of `from`'s document, with the caller's data.
    /// (Its text names the part: what is kept per request text — validation results — must
    /// not mix the parts, whose documents differ.)
    fn request(
        &self,
        from: &async_graphql::Request,
        doc: async_graphql::parser::types::ExecutableDocument,
        part: &str,
    ) -> async_graphql::Request {
        let mut r = async_graphql::Request::new(format!("{}\n# {part}", from.query));
        r.variables = from.variables.clone();
        r.extensions = from.extensions.clone();
        r.introspection_mode = from.introspection_mode;
        r.set_parsed_query(doc);
        r.data(self.authorization.clone())
            .data(self.access.clone())
            .data(auth::RefusalRecorded::default())
    }
}

/// Where one deferred fragment's answer goes.
struct Target {
    keys: Vec<async_graphql::Name>,
    label: Option<String>,
    item: Option<usize>,
    order: crate::order::Order,
}

/// Answers `request` in the parts `plan` gives.
pub(crate) async fn answer<E: Executor>(
    ep: &GraphqlEndpoint<E>,
    request: async_graphql::Request,
    plan: Plan,
    cx: Context,
) -> Response {
    metrics::counter!("xingyi_deferred_parts_total").increment(plan.deferred.len() as u64);
    let mut tasks = tokio::task::JoinSet::new();
    let mut targets = Vec::with_capacity(plan.deferred.len());
    for (i, d) in plan.deferred.into_iter().enumerate() {
        targets.push(Target {
            keys: d.keys,
            label: d.label,
            item: d.item,
            order: crate::order::Order::of(&d.document, None),
        });
        let deferred = cx.request(&request, d.document, &format!("deferred part {i}"));
        let (executor, config) = (ep.executor.clone(), ep.config.clone());
        tasks.spawn(
            async move { (i, execute_bounded(&executor, deferred, &config).await) }
                .instrument(tracing::Span::current()),
        );
    }
    let order = crate::order::Order::of(&plan.initial, None);
    let initial = cx.request(&request, plan.initial, "initial part");
    let mut initial = match execute_bounded(&ep.executor, initial, &ep.config).await {
        Ok(r) => r,
        Err(stopped) => {
            let (code, message) = stopped.error(&ep.config);
            return request_error(code, &message, cx.graphql_response);
        }
    };
    order.apply(&mut initial.data);
    if code_errors(&mut initial) {
        // Refused before execution: one plain answer, and the deferred parts are dropped.
        return respond(initial, cx.graphql_response, cx.kind, None);
    }
    let outcome = initial
        .errors
        .first()
        .and_then(|e| e.extensions.as_ref())
        .and_then(|x| match x.get("code") {
            Some(async_graphql::Value::String(c)) => Some(c.as_str().into()),
            _ => None,
        })
        .unwrap_or_else(|| "OK".into());
    let mut first = match serde_json::to_value(&initial) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a GraphQL response");
            return request_error(codes::Code::Internal, "internal error", cx.graphql_response);
        }
    };
    first["hasNext"] = serde_json::Value::Bool(true);
    let state = Deferring {
        remaining: targets.len(),
        tasks,
        targets,
        initial: initial.data,
        config: ep.config.clone(),
    };
    let rest = futures_util::stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        let part = state.next_part().await;
        Some((part, (state.remaining > 0).then_some(state)))
    });
    let body =
        futures_util::stream::once(std::future::ready(Bytes::from(format!("{PART}{first}"))))
            .chain(rest)
            .map(Ok::<_, Infallible>);
    let mut resp = Body::from_stream(body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp.extensions_mut()
        .insert(crate::telemetry::Outcome(outcome));
    if let Some(kind) = cx.kind {
        resp.extensions_mut().insert(kind);
    }
    resp
}

/// The deferred executions still running, and what their parts need.
struct Deferring {
    tasks: tokio::task::JoinSet<(usize, Result<async_graphql::Response, Stopped>)>,
    targets: Vec<Target>,
    remaining: usize,
    initial: async_graphql::Value,
    config: std::sync::Arc<crate::GraphqlConfig>,
}

impl Deferring {
    /// The next part: the next deferred answer that has anything to deliver, or the last one
    /// (which always closes the body).
    async fn next_part(&mut self) -> Bytes {
        loop {
            let Some(joined) = self.tasks.join_next().await else {
                self.remaining = 0;
                return Bytes::from(format!(
                    "{PART}{}{END}",
                    serde_json::json!({ "hasNext": false })
                ));
            };
            self.remaining = self.remaining.saturating_sub(1);
            let has_next = self.remaining > 0;
            let mut payload = serde_json::Map::new();
            payload.insert("hasNext".into(), serde_json::Value::Bool(has_next));
            let items = match joined {
                Ok((i, answer)) => self.items(i, answer, &mut payload),
                Err(e) => {
                    tracing::error!(error = %e, "a deferred execution failed");
                    vec![serde_json::json!({
                        "data": null,
                        "path": [],
                        "errors": [{ "message": "internal error", "extensions": { "code": codes::Code::Internal } }],
                    })]
                }
            };
            if items.is_empty() && has_next {
                continue;
            }
            if !items.is_empty() {
                payload.insert("incremental".into(), serde_json::Value::Array(items));
            }
            let end = if has_next { "" } else { END };
            return Bytes::from(format!("{PART}{}{end}", serde_json::Value::Object(payload)));
        }
    }

    /// The `incremental` entries of deferred fragment `i`'s answer (its extensions into
    /// `payload`).
    fn items(
        &self,
        i: usize,
        answer: Result<async_graphql::Response, Stopped>,
        payload: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Vec<serde_json::Value> {
        let Some(target) = self.targets.get(i) else {
            return Vec::new();
        };
        let places = defer::places(&self.initial, &target.keys);
        match answer {
            Ok(mut response) => {
                target.order.apply(&mut response.data);
                code_errors(&mut response);
                if !response.extensions.is_empty()
                    && let Ok(x) = serde_json::to_value(&response.extensions)
                {
                    payload.insert("extensions".into(), x);
                }
                let errors = response
                    .errors
                    .iter()
                    .filter_map(|e| serde_json::to_value(e).ok())
                    .collect();
                defer::payload(
                    &places,
                    &response.data,
                    errors,
                    target.label.as_deref(),
                    target.item,
                )
            }
            Err(stopped) => {
                let (code, message) = stopped.error(&self.config);
                let error =
                    serde_json::json!({ "message": message, "extensions": { "code": code } });
                defer::payload(
                    &places,
                    &async_graphql::Value::Null,
                    vec![error],
                    target.label.as_deref(),
                    target.item,
                )
            }
        }
    }
}
