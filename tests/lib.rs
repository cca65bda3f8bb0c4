//! Whole-system tests live in `federation/`: real servers on free ports with temp databases,
//! queried over real HTTP. This library holds the small HTTP client they share.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use serde_json::Value;

/// POSTs a GraphQL query to `url` and returns the JSON body.
pub async fn graphql(client: &reqwest::Client, url: &str, query: &str, variables: Value) -> Value {
    let resp = client
        .post(url)
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
