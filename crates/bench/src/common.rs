//! Helpers every benchmark binary shares.

#![allow(dead_code)] // each benchmark binary uses a subset

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// A histogram of microseconds, 1 µs to 10 minutes, 3 significant digits.
pub(crate) fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// POSTs a GraphQL query; fails on a GraphQL error; returns how long the round trip took.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    query: &str,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let resp = client
        .post(url)
        .json(&serde_json::json!({ "query": query }))
        .send()
        .await?;
    let body: serde_json::Value = resp.json().await?;
    let took = started.elapsed();
    anyhow::ensure!(body.get("errors").is_none(), "errors from {url}: {body}");
    Ok(took)
}

/// Microseconds as `12.3 ms`.
pub(crate) fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}
