//! A city's answer is passed through as the bytes its node wrote: the hub neither rewrites
//! nor re-encodes it, the response stays one well-formed JSON document, and a request answered
//! in parts (`@defer`) gets the same data.

use model::region::YUNCHENG;
use serde_json::{Value, json};

use crate::support::{Fault, TestHub, fake_node};

/// How a node may legitimately write its answer: Unicode escapes, a string that looks like the
/// hub's placeholders, an empty object and list, a number with an exponent.
const NODE_DATA: &str = r#"{"units":{"totalCount":2,"nodes":[{"nameZh":"\u5fc3\u8840\u7ba1\u5185\u79d1","note":"xingyi-splice-00000000000000000000000000000000-0"},{"nameZh":"","note":null}],"pageInfo":{}},"programmes":{"totalCount":1e0,"nodes":[]}}"#;

const Q: &str = r#"{ programmes { totalCount }
    city(code: "140800", consistency: LIVE) { code units { totalCount nodes { nameZh note } pageInfo { __typename } }
      programmes { totalCount nodes { id } } } }"#;

/// `Q` with the city deferred: answered in parts.
const DEFERRED: &str = r#"{ programmes { totalCount }
    ... @defer { city(code: "140800", consistency: LIVE) { code units { totalCount nodes { nameZh note } pageInfo { __typename } }
      programmes { totalCount nodes { id } } } } }"#;

async fn post(client: &reqwest::Client, url: &str, query: &str, accept: &str) -> String {
    let token = test_support::token(auth::Role::ProvinceAdmin, None);
    let resp = client
        .post(url)
        .bearer_auth(token)
        .header("accept", accept)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

#[tokio::test]
async fn a_citys_answer_reaches_the_caller_as_the_bytes_its_node_wrote() {
    let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (node, seen) = fake_node(Fault::Switch(up, NODE_DATA)).await;
    let hub = TestHub::start(vec![(YUNCHENG, node)], 5_000).await;
    let client = reqwest::Client::new();

    let body = post(&client, &hub.url, Q, "application/json").await;
    let units = r#""units":{"totalCount":2,"nodes":[{"nameZh":"\u5fc3\u8840\u7ba1\u5185\u79d1","note":"xingyi-splice-00000000000000000000000000000000-0"},{"nameZh":"","note":null}],"pageInfo":{}}"#;
    assert!(body.contains(units), "the node's bytes, unchanged: {body}");
    assert!(
        body.contains(r#""programmes":{"totalCount":1e0,"nodes":[]}"#),
        "{body}"
    );
    assert_eq!(
        body.matches("xingyi-splice-").count(),
        1,
        "no placeholder of the hub's is left, only the node's own string: {body}"
    );
    let whole: Value = serde_json::from_str(&body).expect("one well-formed JSON document");
    let city = &whole["data"]["city"];
    assert_eq!(city["code"], "140800");
    assert_eq!(city["units"]["nodes"][0]["nameZh"], "心血管内科");
    assert!(whole["data"]["programmes"]["totalCount"].is_number());
    assert_eq!(seen.lock().unwrap().len(), 1, "one call to the node");

    // Answered in parts, the data is cut from values, not spliced: the same answer.
    let text = post(
        &client,
        &hub.url,
        DEFERRED,
        "multipart/mixed;deferSpec=20220824, application/json",
    )
    .await;
    let mut merged = json!({});
    for (_, part) in text
        .split("\r\n---")
        .filter_map(|p| p.split_once("\r\n\r\n"))
    {
        let v: Value = serde_json::from_str(part).unwrap_or_else(|e| panic!("{e}: {part}"));
        if let Some(d) = v.get("data") {
            merge(&mut merged, d);
        }
        for inc in v["incremental"].as_array().into_iter().flatten() {
            assert_eq!(inc["path"], json!([]));
            merge(&mut merged, &inc["data"]);
        }
    }
    assert_eq!(merged["city"], *city, "{text}");
    hub.stop().await;
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}
