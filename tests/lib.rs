//! Whole-system tests live in `federation/`: real servers on free ports with temp databases,
//! queried over real HTTP. This library holds the small HTTP client they share.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use serde_json::Value;

/// POSTs a GraphQL query to `url` as the province admin (reads everything, writes the
/// province's own data) and returns the JSON body.
pub async fn graphql(client: &reqwest::Client, url: &str, query: &str, variables: Value) -> Value {
    let token = test_support::token(auth::Role::ProvinceAdmin, None);
    graphql_as(client, url, Some(&token), query, variables).await
}

/// POSTs a GraphQL query to `url` with `token` (none: anonymous) and returns the JSON body.
pub async fn graphql_as(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut req = client.post(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .json(&serde_json::json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    assert_eq!(resp.status(), 200, "POST {url}");
    resp.json().await.expect("a JSON body")
}

/// Like [`graphql`] but fails on any GraphQL error and returns `data`.
pub async fn data(client: &reqwest::Client, url: &str, query: &str, variables: Value) -> Value {
    let body = graphql(client, url, query, variables).await;
    assert!(body.get("errors").is_none(), "errors from {url}: {body:#}");
    body["data"].clone()
}

/// Like [`graphql_as`] but fails on any GraphQL error and returns `data`.
pub async fn data_as(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    let body = graphql_as(client, url, Some(token), query, variables).await;
    assert!(body.get("errors").is_none(), "errors from {url}: {body:#}");
    body["data"].clone()
}

/// A test token for `role` of `city` (see `test_support::token`).
pub fn token(role: auth::Role, city: Option<model::RegionCode>) -> String {
    test_support::token(role, city)
}

/// A client that sends the province admin's token with every request (for tests about HTTP
/// itself: methods, media types, status codes).
pub fn admin_client() -> reqwest::Client {
    let token = test_support::token(auth::Role::ProvinceAdmin, None);
    let mut headers = reqwest::header::HeaderMap::new();
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .expect("a token is a valid header value");
    value.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}
