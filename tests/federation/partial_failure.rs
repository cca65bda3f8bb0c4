//! A failing, slow, unreachable or malformed node costs only its own subtree: every other
//! city's data is intact and the errors name the city, the path and the kind of failure.

use federation_tests::graphql;
use model::region::{LINFEN, YUNCHENG};
use serde_json::{Value, json};

use crate::support::{Fault, LocalFed, TestHub, dead_url, fake_node};

const Q: &str = r#"{ cities { code nameZh status { reachability lastErrorCode }
    owner { code } programmes { totalCount nodes { nameZh } } } }"#;

/// Runs `Q` against a hub whose 临汾 entry is `bad`; checks 运城 is whole and 临汾 failed with `code`.
async fn check(bad: String, code: &str) {
    let fed = LocalFed::start().await;
    let yuncheng = fed
        .node_urls()
        .into_iter()
        .find(|(c, _)| *c == YUNCHENG)
        .unwrap()
        .1;
    let hub = TestHub::start(vec![(YUNCHENG, yuncheng), (LINFEN, bad)], 1_500).await;
    let client = reqwest::Client::new();
    let resp = graphql(&client, &hub.url, Q, json!({})).await;

    let cities = resp["data"]["cities"].as_array().unwrap();
    let yc = cities.iter().find(|c| c["code"] == "140800").unwrap();
    assert_eq!(yc["owner"]["code"], "140800", "{resp:#}");
    assert_eq!(yc["programmes"]["totalCount"], 1);
    assert_eq!(yc["status"]["reachability"], "UP");

    let (i, lf) = cities
        .iter()
        .enumerate()
        .find(|(_, c)| c["code"] == "141000")
        .unwrap();
    assert_eq!(lf["nameZh"], "临汾市", "the hub's own fields still answer");
    assert_eq!(
        (&lf["owner"], &lf["programmes"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(lf["status"]["reachability"], "DOWN");
    assert_eq!(lf["status"]["lastErrorCode"], code);

    let errors = resp["errors"].as_array().unwrap();
    let mut paths: Vec<Value> = errors.iter().map(|e| e["path"].clone()).collect();
    paths.sort_by_key(|p| p.to_string());
    assert_eq!(
        paths,
        vec![
            json!(["cities", i, "owner"]),
            json!(["cities", i, "programmes"])
        ]
    );
    for e in errors {
        assert_eq!(e["extensions"]["code"], code, "{e}");
        assert_eq!(e["extensions"]["city"], "141000");
    }
    hub.stop().await;
    fed.stop().await;
}

#[tokio::test]
async fn a_node_that_is_down_costs_only_its_subtree() {
    let (url, _reserved) = dead_url();
    check(url, "CITY_UNAVAILABLE").await;
}

#[tokio::test]
async fn a_node_that_hangs_past_the_timeout_costs_only_its_subtree() {
    let (url, seen) = fake_node(Fault::Hang).await;
    check(url, "CITY_TIMEOUT").await;
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "one request, then the hub gave up"
    );
}

#[tokio::test]
async fn a_node_that_answers_malformed_json_costs_only_its_subtree() {
    let (url, _) = fake_node(Fault::Malformed).await;
    check(url, "CITY_ERROR").await;
}

#[tokio::test]
async fn the_callers_authorization_is_forwarded_to_the_node() {
    let (url, seen) = fake_node(Fault::Malformed).await;
    let hub = TestHub::start(vec![(LINFEN, url)], 400).await;
    let client = reqwest::Client::new();
    let token = federation_tests::token(auth::Role::ProvinceViewer, None);
    client
        .post(&hub.url)
        .bearer_auth(&token)
        .json(&json!({ "query": "{ city(code: \"141000\") { owner { code } } }" }))
        .send()
        .await
        .unwrap();
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].to_ascii_lowercase().contains(&format!(
            "authorization: bearer {}",
            token.to_ascii_lowercase()
        )),
        "{}",
        requests[0]
    );
    assert!(
        requests[0].contains("owner { code }"),
        "the forwarded selection: {}",
        requests[0]
    );
    hub.stop().await;
}

#[tokio::test]
async fn a_city_without_a_node_is_a_clear_error() {
    let hub = TestHub::start(vec![], 400).await;
    let client = reqwest::Client::new();
    let resp = graphql(
        &client,
        &hub.url,
        r#"{ city(code: "140100") { nameZh programmes { totalCount } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(resp["data"]["city"]["nameZh"], "太原市");
    assert_eq!(
        resp["errors"][0]["extensions"]["code"],
        "CITY_NOT_REGISTERED"
    );
    assert_eq!(resp["errors"][0]["path"], json!(["city", "programmes"]));
    let resp = graphql(
        &client,
        &hub.url,
        r#"{ city(code: "141032") { nameZh } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        resp["errors"][0]["extensions"]["violations"][0]["rule"], "NOT_A_CITY",
        "a county is not a city"
    );
    hub.stop().await;
}

#[tokio::test]
async fn city_programmes_keep_the_healthy_cities_when_one_node_is_down() {
    let fed = LocalFed::start().await;
    let yuncheng = fed
        .node_urls()
        .into_iter()
        .find(|(c, _)| *c == YUNCHENG)
        .unwrap()
        .1;
    let (dead, _reserved) = dead_url();
    let hub = TestHub::start(vec![(YUNCHENG, yuncheng), (LINFEN, dead)], 1_500).await;
    let client = reqwest::Client::new();
    let resp = graphql(
        &client,
        &hub.url,
        r#"{ programme(id: "Programme:140000:p136") { cityProgrammes { id } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        resp["data"]["programme"]["cityProgrammes"],
        json!([{ "id": "Programme:140800:yc-lead-specialties" }])
    );
    let e = &resp["errors"][0];
    assert_eq!(e["extensions"]["code"], "CITY_UNAVAILABLE");
    assert_eq!(e["extensions"]["city"], "141000");
    assert_eq!(e["path"], json!(["programme", "cityProgrammes"]));
    hub.stop().await;
    fed.stop().await;
}

/// The hub keeps at most `node_max_in_flight` calls open to one node; the rest wait their turn
/// (and are answered, within the time-out), so a burst of callers cannot open an unbounded
/// number of connections to a node.
#[tokio::test]
async fn calls_to_one_node_are_capped_and_the_rest_wait_their_turn() {
    use std::sync::{Arc, atomic::AtomicUsize};
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (url, seen) = fake_node(Fault::Slow {
        delay: std::time::Duration::from_millis(150),
        data: r#"{"owner":{"code":"141000"}}"#,
        now: now.clone(),
        most: most.clone(),
    })
    .await;
    let hub = TestHub::start_full(
        vec![(LINFEN, url)],
        10_000,
        province_hub::registry::BreakerConfig::default(),
        serving::GraphqlConfig::default(),
        3,
    )
    .await;
    let client = reqwest::Client::new();
    let calls = (0..12).map(|_| {
        let client = client.clone();
        let url = hub.url.clone();
        async move {
            graphql(
                &client,
                &url,
                "{ city(code: \"141000\", consistency: LIVE) { owner { code } } }",
                json!({}),
            )
            .await
        }
    });
    for b in futures_util::future::join_all(calls).await {
        assert_eq!(b["data"]["city"]["owner"]["code"], "141000", "{b}");
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        12,
        "every call reached the node"
    );
    assert_eq!(
        most.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "at most 3 at once, and the cap was reached"
    );
    hub.stop().await;
}
