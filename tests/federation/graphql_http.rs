//! GraphQL over HTTP on a real node: methods, media types, and refused requests.

use serde_json::Value;

async fn node() -> (crate::support::LocalFed, String) {
    let fed = crate::support::LocalFed::start().await;
    let url = format!("http://{}/graphql", fed.fed.nodes[0].1);
    (fed, url)
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations() {
    let (fed, url) = node().await;
    let client = federation_tests::admin_client();
    let resp = client
        .get(&url)
        .query(&[("query", "{ owner { code } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["owner"]["code"], "140800");

    let m = r#"mutation { deleteUnit(id: "Unit:140800:central-cardiology") { id } }"#;
    let resp = client
        .get(&url)
        .query(&[("query", m)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    // HEAD is routed like GET: no mutation runs over it either.
    let resp = client
        .head(&url)
        .query(&[("query", m)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    let body: Value = client
        .post(&url)
        .json(&serde_json::json!({ "query": "{ unit(id: \"Unit:140800:central-cardiology\") { id } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"]["unit"]["id"], "Unit:140800:central-cardiology",
        "the unit is still there: {body}"
    );

    // An error during execution that nulls the whole result (a non-null mutation field) is
    // not a request error: 200, with `data: null` present, in both media types.
    let conflict = serde_json::json!({ "query": "mutation { deleteUnit(id: \"Unit:140800:central-cardiology\", expectedVersion: 999) { id } }" });
    for accept in ["application/graphql-response+json", "application/json"] {
        let resp = client
            .post(&url)
            .header("accept", accept)
            .json(&conflict)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{accept}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body.get("data").is_some_and(Value::is_null),
            "{accept}: {body}"
        );
        assert_eq!(body["errors"][0]["path"][0], "deleteUnit", "{body}");
    }
    fed.stop().await;
}

#[tokio::test]
async fn bad_requests_get_clear_codes() {
    let (fed, url) = node().await;
    let client = federation_tests::admin_client();

    let resp = client
        .post(&url)
        .header("content-type", "text/plain")
        .body("{ owner { code } }")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);

    let resp = client
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");

    let resp = client
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"query": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // A syntax error is a 400 for graphql-response+json clients, 200 for legacy JSON clients.
    let bad = serde_json::json!({ "query": "{ owner { " });
    let resp = client
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.headers()["content-type"],
        "application/graphql-response+json"
    );
    let resp = client
        .post(&url)
        .header("accept", "application/json")
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");

    // Queries deeper than the configured limit are refused before execution.
    let deep = format!(
        "{{ units {{ nodes {{ {} id {} }} }} }}",
        "programme { units { nodes { ".repeat(5),
        "} } }".repeat(5)
    );
    let body: Value = client
        .post(&url)
        .json(&serde_json::json!({ "query": deep }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
        "{body:#}"
    );
    assert_eq!(body["data"], Value::Null);

    // Parse and validation failures carry codes too.
    let body: Value = client
        .post(&url)
        .json(&bad)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED",
        "{body:#}"
    );
    let body: Value = client
        .post(&url)
        .json(&serde_json::json!({ "query": "{ noSuchField }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{body:#}"
    );
    fed.stop().await;
}
