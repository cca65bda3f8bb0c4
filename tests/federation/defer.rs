//! `@defer` through the hub over real HTTP: the province's data and the cities that answer
//! come first, a slow city in its own part when it answers; the same query without
//! `multipart/mixed` is answered whole; a mistake inside a deferred fragment is refused up front.

use federation_tests::graphql;
use model::region::{LINFEN, YUNCHENG};
use serde_json::{Value, json};

use crate::support::{Fault, LocalFed, TestHub, fake_node};

const ACCEPT_MULTIPART: &str = "multipart/mixed;deferSpec=20220824, application/json";
const PART: &str = "\r\n---\r\n";
const END: &str = "\r\n-----\r\n";

/// The JSON parts of a `multipart/mixed` body received so far, and whether it has ended.
fn parts(body: &str) -> (Vec<Value>, bool) {
    let ended = body.ends_with(END);
    let body = body.strip_suffix(END).unwrap_or(body);
    let parts = body
        .split(PART)
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (head, json) = p.split_once("\r\n\r\n")?;
            assert_eq!(
                head.to_ascii_lowercase(),
                "content-type: application/json; charset=utf-8"
            );
            serde_json::from_str(json).ok()
        })
        .collect();
    (parts, ended)
}

/// Sends `query` accepting `multipart/mixed`; returns the response (headers read, body not).
async fn send(client: &reqwest::Client, url: &str, query: &str, vars: Value) -> reqwest::Response {
    let token = test_support::token(auth::Role::ProvinceAdmin, None);
    client
        .post(url)
        .bearer_auth(token)
        .header("accept", ACCEPT_MULTIPART)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await
        .unwrap()
}

/// Reads `resp`'s body until it holds `n` whole parts (or ends); fails after 30 s, which only
/// a server that holds parts back would take.
async fn read_parts(resp: &mut reqwest::Response, body: &mut String, n: usize) -> Vec<Value> {
    let read = async {
        loop {
            let (got, ended) = parts(body);
            if got.len() >= n || ended {
                return got;
            }
            match resp.chunk().await.unwrap() {
                Some(chunk) => body.push_str(std::str::from_utf8(&chunk).unwrap()),
                None => return parts(body).0,
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), read)
        .await
        .unwrap_or_else(|_| panic!("fewer than {n} parts arrived: {body}"))
}

const Q: &str = r#"query($lf: String!) {
    programmes { totalCount }
    ... @defer(label: "yc") {
        yc: city(code: "140800", consistency: LIVE) { owner { code } programmes { totalCount } }
    }
    lf: city(code: $lf, consistency: LIVE) { code ... @defer(label: "lf") { owner { code } } }
}"#;

#[tokio::test]
async fn a_slow_city_comes_in_its_own_part_and_the_rest_does_not_wait_for_it() {
    let fed = LocalFed::start().await;
    let (open, gate) = tokio::sync::watch::channel(false);
    let (slow, seen) = fake_node(Fault::Gated(gate, r#"{"owner":{"code":"141000"}}"#)).await;
    let hub = TestHub::start(
        vec![(YUNCHENG, fed.node_url(YUNCHENG)), (LINFEN, slow)],
        30_000,
    )
    .await;
    let client = reqwest::Client::new();
    let vars = json!({ "lf": "141000" });

    let mut resp = send(&client, &hub.url, Q, vars.clone()).await;
    assert_eq!(resp.status(), 200);
    let media = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        media.starts_with("multipart/mixed") && media.contains("boundary=\"-\""),
        "{media}"
    );
    // 临汾 holds its answer until the gate opens: the first two parts must come without it.
    let mut body = String::new();
    let first = read_parts(&mut resp, &mut body, 2).await;
    assert!(!body.ends_with(END), "the body must stay open for 临汾");
    open.send(true).unwrap();
    let all = read_parts(&mut resp, &mut body, 3).await;
    assert!(
        body.ends_with(END),
        "the last part closes the body: {body:?}"
    );

    // A client that does not take multipart gets the whole answer at once (the directive is
    // honoured as `if: false`); the parts must add up to it.
    let whole = graphql(&client, &hub.url, Q, vars).await;
    let data = &whole["data"];
    assert!(whole.get("errors").is_none(), "{whole:#}");
    assert_eq!(data["yc"]["owner"]["code"], "140800", "{whole:#}");
    assert_eq!(data["lf"]["owner"]["code"], "141000", "{whole:#}");
    assert_eq!(
        first[0],
        json!({
            "data": { "programmes": data["programmes"], "lf": { "code": "141000" } },
            "hasNext": true
        }),
        "the province's data and 临汾's own fields, nothing deferred: {body}"
    );
    assert_eq!(
        first[1]["incremental"],
        json!([{ "data": { "yc": data["yc"] }, "path": [], "label": "yc" }]),
        "运城 came before 临汾 answered: {body}"
    );
    assert_eq!(first[1]["hasNext"], true, "{body}");
    assert_eq!(
        all[2],
        json!({
            "hasNext": false,
            "incremental": [{
                "data": { "owner": { "code": "141000" } },
                "path": ["lf"],
                "label": "lf"
            }]
        })
    );
    // 临汾 was asked once for the deferred part (and once more for the whole answer), for its
    // deferred fields only (`code` is the hub's own).
    let asked = seen.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "{asked:#?}");
    assert!(asked[0].contains("owner"), "{asked:#?}");
    assert!(
        !asked[0].contains("defer"),
        "the hub's directive never reaches a node"
    );
    hub.stop().await;
    fed.stop().await;
}

#[tokio::test]
async fn a_fragment_deferred_under_cities_is_delivered_city_by_city() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let q = r#"{
        cities(codes: ["140800", "141000"], consistency: LIVE) {
            code ...Owner @defer(label: "owner")
        }
    }
    fragment Owner on City { owner { code } programmes { totalCount } }"#;
    let mut resp = send(&client, &fed.hub_url(), q, json!({})).await;
    let mut body = String::new();
    let got = read_parts(&mut resp, &mut body, 3).await;
    assert!(body.ends_with(END), "{body:?}");
    assert_eq!(
        got[0]["data"],
        json!({ "cities": [ { "code": "140800" }, { "code": "141000" } ] })
    );
    assert_eq!(got.len(), 3, "one part per city: {body}");
    assert_eq!(got[1]["hasNext"], true);
    assert_eq!(got[2]["hasNext"], false);
    let mut items: Vec<&Value> = got[1..]
        .iter()
        .flat_map(|p| p["incremental"].as_array().unwrap())
        .collect();
    items.sort_by_key(|i| i["path"][1].as_u64());
    let whole = graphql(&client, &fed.hub_url(), q, json!({})).await;
    assert_eq!(items.len(), 2, "{body}");
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["path"], json!(["cities", i]));
        assert_eq!(item["label"], "owner");
        let expected = &whole["data"]["cities"][i];
        assert_eq!(item["data"]["owner"], expected["owner"], "{body}");
        assert_eq!(item["data"]["programmes"], expected["programmes"], "{body}");
    }
    fed.stop().await;
}

#[tokio::test]
async fn under_cities_a_slow_city_holds_back_only_its_own_part() {
    let fed = LocalFed::start().await;
    let (open, gate) = tokio::sync::watch::channel(false);
    let (slow, _) = fake_node(Fault::Gated(gate, r#"{"owner":{"code":"141000"}}"#)).await;
    let hub = TestHub::start(
        vec![(YUNCHENG, fed.node_url(YUNCHENG)), (LINFEN, slow)],
        30_000,
    )
    .await;
    let client = reqwest::Client::new();
    // 临汾 first in the list: its part must not hold back 运城's.
    let q = r#"{ cities(codes: ["141000", "140800"], consistency: LIVE) {
        code ... @defer { owner { code } } } }"#;
    let mut resp = send(&client, &hub.url, q, json!({})).await;
    let mut body = String::new();
    let first = read_parts(&mut resp, &mut body, 2).await;
    assert_eq!(
        first[0]["data"],
        json!({ "cities": [ { "code": "141000" }, { "code": "140800" } ] })
    );
    assert_eq!(
        first[1],
        json!({
            "hasNext": true,
            "incremental": [{ "data": { "owner": { "code": "140800" } }, "path": ["cities", 1] }]
        }),
        "运城 arrives while 临汾 is held: {body}"
    );
    open.send(true).unwrap();
    let all = read_parts(&mut resp, &mut body, 3).await;
    assert_eq!(
        all[2],
        json!({
            "hasNext": false,
            "incremental": [{ "data": { "owner": { "code": "141000" } }, "path": ["cities", 0] }]
        })
    );
    assert!(body.ends_with(END));
    hub.stop().await;
    fed.stop().await;
}

#[tokio::test]
async fn a_mistake_inside_a_deferred_fragment_is_refused_before_anything_is_sent() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    for (q, code) in [
        (
            r#"{ programmes { totalCount } ... @defer { city(code: "140800") { noSuchField } } }"#,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            r#"{ programmes { totalCount } ... @defer(nope: 1) { city(code: "140800") { code } } }"#,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            r#"{ programmes @defer { totalCount } }"#,
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        let resp = send(&client, &fed.hub_url(), q, json!({})).await;
        let media = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(media, "application/json", "{q}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body.get("data").is_none() || body["data"].is_null(),
            "{body}"
        );
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{q}: {body}");
    }
    // A node does not declare `@defer`: asked directly, it refuses the directive.
    let resp = send(
        &client,
        &fed.node_url(YUNCHENG),
        "{ programmes { totalCount } ... @defer { owner { code } } }",
        json!({}),
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{body}"
    );
    fed.stop().await;
}
