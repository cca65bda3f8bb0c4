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
    post_as(client, url, query, Some(&token())).await
}

/// POSTs `query` with `token` (none: anonymous); fails on GraphQL errors; returns the time.
pub(crate) async fn post_as(
    client: &reqwest::Client,
    url: &str,
    query: &str,
    token: Option<&str>,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut req = client
        .post(url)
        .json(&serde_json::json!({ "query": query }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let body: serde_json::Value = resp.json().await?;
    let took = started.elapsed();
    anyhow::ensure!(body.get("errors").is_none(), "errors from {url}: {body}");
    Ok(took)
}

/// Microseconds as `12.3 ms`.
pub(crate) fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

static SECRET: std::sync::OnceLock<(std::path::PathBuf, Vec<u8>)> = std::sync::OnceLock::new();

fn secret() -> &'static (std::path::PathBuf, Vec<u8>) {
    SECRET.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("xingyi-bench-secret-{}", std::process::id()));
        let secret = auth::load_or_create_secret(&path).expect("a bench JWT secret");
        (path, secret)
    })
}

/// The auth configuration every server of a benchmark shares (one HS256 secret per run).
pub(crate) fn auth_config() -> auth::AuthConfig {
    auth::AuthConfig {
        secret_file: secret().0.clone(),
        ..auth::AuthConfig::default()
    }
}

/// Request limits of every benchmark server: the defaults without rate limits (a benchmark
/// is one principal from one address, on purpose far above any per-caller rate).
#[allow(dead_code)] // not every benchmark binary starts servers of both kinds
pub(crate) fn graphql_config() -> serving::GraphqlConfig {
    serving::GraphqlConfig {
        rate_limit: serving::RateLimitConfig::off(),
        ..serving::GraphqlConfig::default()
    }
}

/// A province admin token for the benchmark's requests.
pub(crate) fn token() -> String {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN
        .get_or_init(|| {
            auth::Signer::hs256(&secret().1, &auth::AuthConfig::default())
                .issue(
                    "bench",
                    auth::Role::ProvinceAdmin,
                    None,
                    Duration::from_secs(24 * 3600),
                )
                .expect("a bench token")
        })
        .clone()
}
