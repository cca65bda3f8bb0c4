//! Traces: the real `xingyi local` with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a small OTLP
//! receiver in this test. One query through the hub to 运城 must arrive as one trace: the hub's
//! request span, its call to the node, and the node's request span as that call's child (the
//! W3C `traceparent` crossed real HTTP).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{Server, free_port, local, token, wait_up};
use serde_json::Value;

/// Spans as `(trace id, span id, parent span id, name, attributes)`.
type Spans = Vec<(String, String, String, String, Vec<(String, String)>)>;

fn spans_of(body: &Value, out: &mut Spans) {
    for rs in body["resourceSpans"].as_array().into_iter().flatten() {
        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
            for s in ss["spans"].as_array().into_iter().flatten() {
                let attributes = s["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        let v = &a["value"];
                        let v = v["stringValue"]
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string());
                        (a["key"].as_str().unwrap_or_default().to_owned(), v)
                    })
                    .collect();
                let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                out.push((
                    text("traceId"),
                    text("spanId"),
                    text("parentSpanId"),
                    text("name"),
                    attributes,
                ));
            }
        }
    }
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn one_query_through_the_hub_is_one_trace_with_hub_and_node_spans() {
    // The receiver: OTLP/HTTP JSON on /v1/traces.
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    sink.lock().unwrap().push(v);
                }
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let (hub, yc, lf) = (free_port(), free_port(), free_port());
    let _server = Server(
        local(dir.path(), (hub, yc, lf))
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{receiver}"))
            .env("OTEL_BSP_SCHEDULE_DELAY", "200")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    wait_up(&client, &[hub, yc, lf]).await;
    let viewer = token(
        dir.path(),
        &["--role", "province_viewer", "--sub", "trace-test"],
    );
    let r: Value = client
        .post(format!("http://127.0.0.1:{hub}/graphql"))
        .bearer_auth(&viewer)
        .header("x-request-id", "trace-test-1")
        .json(&serde_json::json!({ "query": "{ city(code: \"140800\", consistency: LIVE) { owner { code } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["city"]["owner"]["code"], "140800", "{r}");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut spans = Spans::new();
        for body in received.lock().unwrap().iter() {
            spans_of(body, &mut spans);
        }
        // The request id names both servers' request spans (the hub passes it on).
        let requests: Vec<_> = spans
            .iter()
            .filter(|s| s.3 == "request" && attr(&s.4, "request_id") == Some("trace-test-1"))
            .collect();
        let calls: Vec<_> = spans
            .iter()
            .filter(|s| s.3 == "node call" && attr(&s.4, "city") == Some("140800"))
            .collect();
        if requests.len() >= 2 && !calls.is_empty() {
            let trace = &requests[0].0;
            assert!(
                requests.iter().all(|s| &s.0 == trace),
                "both request spans in one trace: {requests:?}"
            );
            let call = calls
                .iter()
                .find(|c| &c.0 == trace)
                .unwrap_or_else(|| panic!("the node call is in the trace: {calls:?}"));
            let hub_request = requests.iter().find(|s| s.2.is_empty()).unwrap_or_else(|| {
                panic!("the hub's request span is the trace's root: {requests:?}")
            });
            let node_request = requests.iter().find(|s| s.2 == call.1).unwrap_or_else(|| {
                panic!("the node's request span is the call's child: {requests:?} {call:?}")
            });
            assert_ne!(hub_request.1, node_request.1);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no trace of the query arrived; spans so far: {spans:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
