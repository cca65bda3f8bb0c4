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
    let internal = bad.trim_end_matches("/graphql").to_owned();
    let fed = LocalFed::start().await;
    let yuncheng = fed.node_url(YUNCHENG);
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
        assert!(
            !e.to_string().contains(&internal),
            "the node's internal URL is not the caller's business: {e}"
        );
    }
    hub.stop().await;
    fed.stop().await;
}

/// Before any query asks a city, the hub's health checks say whether its node is up.
#[tokio::test]
async fn a_city_status_is_known_before_any_query_asks_it() {
    let (dead, _reserved) = dead_url();
    let fed = LocalFed::start().await;
    let yuncheng = fed.node_url(YUNCHENG);
    let hub = TestHub::start(vec![(YUNCHENG, yuncheng), (LINFEN, dead)], 1_500).await;
    let client = reqwest::Client::new();
    let q = "{ cities { code status { reachability lastErrorCode calls } } }";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let resp = loop {
        let resp = graphql(&client, &hub.url, q, json!({})).await;
        let known = resp["data"]["cities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"]["reachability"] != "UNKNOWN");
        if known {
            break resp;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never checked: {resp:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let status = |code: &str| {
        resp["data"]["cities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("140800")["reachability"], "UP", "{resp:#}");
    assert_eq!(status("141000")["reachability"], "DOWN", "{resp:#}");
    assert_eq!(status("141000")["lastErrorCode"], "CITY_UNAVAILABLE");
    for c in ["140800", "141000"] {
        assert_eq!(status(c)["calls"], 0, "a health check is not a call");
    }
    // The node's address is the operators' business only.
    let url_q = r#"{ city(code: "140800") { status { url } } }"#;
    let admin = graphql(&client, &hub.url, url_q, json!({})).await;
    assert!(
        admin["data"]["city"]["status"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "{admin:#}"
    );
    let viewer = test_support::token(auth::Role::ProvinceViewer, None);
    let seen =
        federation_tests::graphql_as(&client, &hub.url, Some(&viewer), url_q, json!({})).await;
    assert_eq!(
        seen["data"]["city"]["status"]["url"],
        Value::Null,
        "{seen:#}"
    );
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
    let yuncheng = fed.node_url(YUNCHENG);
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
    // Twelve different documents (identical ones would share one call).
    let calls = (0..12).map(|i| {
        let client = client.clone();
        let url = hub.url.clone();
        async move {
            graphql(
                &client,
                &url,
                &format!("{{ city(code: \"141000\", consistency: LIVE) {{ owner {{ code c{i}: code }} }} }}"),
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

/// A hung city costs at most its time-out, queue included: calls waiting for a turn behind
/// `node_max_in_flight` share the deadline of their wait, they do not start a fresh one when
/// their turn comes. (Before, with one call at a time to a hung node, the eighth caller
/// waited for the seven before it: about 8 × the time-out.)
#[tokio::test]
async fn a_hung_citys_time_out_covers_the_wait_for_a_turn() {
    let (url, _) = fake_node(Fault::Hang).await;
    let timeout_ms = 400;
    let hub = TestHub::start_full(
        vec![(LINFEN, url)],
        timeout_ms,
        province_hub::registry::BreakerConfig {
            failures: 100,
            cooldown_ms: 60_000,
        },
        serving::GraphqlConfig::default(),
        1,
    )
    .await;
    let client = reqwest::Client::new();
    let calls = (0..8).map(|_| {
        let client = client.clone();
        let url = hub.url.clone();
        async move {
            let started = std::time::Instant::now();
            let b = graphql(
                &client,
                &url,
                "{ city(code: \"141000\", consistency: LIVE) { owner { code } } }",
                json!({}),
            )
            .await;
            (b, started.elapsed())
        }
    });
    for (b, took) in futures_util::future::join_all(calls).await {
        assert_eq!(b["errors"][0]["extensions"]["code"], "CITY_TIMEOUT", "{b}");
        // Behaviour, not speed: the old queue made the last caller wait ~8 time-outs; any
        // wait under 4 shows the deadline is shared (the margin absorbs a slow machine).
        assert!(
            took < std::time::Duration::from_millis(4 * timeout_ms),
            "a caller waited {took:?} for a city whose time-out is {timeout_ms} ms"
        );
    }
    hub.stop().await;
}

/// A breaker that opens while calls wait for a turn refuses them at once instead of letting
/// each reach the failing node in its turn.
#[tokio::test]
async fn a_breaker_opening_refuses_the_calls_waiting_for_a_turn() {
    let (url, seen) = fake_node(Fault::Hang).await;
    let hub = TestHub::start_full(
        vec![(LINFEN, url)],
        2_000,
        province_hub::registry::BreakerConfig {
            failures: 1,
            cooldown_ms: 60_000,
        },
        serving::GraphqlConfig::default(),
        1,
    )
    .await;
    let client = reqwest::Client::new();
    let q = "{ city(code: \"141000\", consistency: LIVE) { owner { code } } }";
    let first = graphql(&client, &hub.url, q, json!({}));
    // The second arrives once the first holds the only turn (the node has its request); its
    // own deadline is later than the moment the first times out and opens the breaker.
    let second = async {
        while seen.lock().unwrap().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // Half the time-out later: the two deadlines are a second apart, far more than a
        // busy test machine stalls a runtime.
        tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
        graphql(&client, &hub.url, q, json!({})).await
    };
    let (a, b) = tokio::join!(first, second);
    assert_eq!(a["errors"][0]["extensions"]["code"], "CITY_TIMEOUT", "{a}");
    assert_eq!(
        b["errors"][0]["extensions"]["code"], "CITY_UNAVAILABLE",
        "{b}"
    );
    assert!(
        b["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("breaker") || m.contains("circuit")),
        "refused by the breaker, not by a call of its own: {b}"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "only the first reached the node"
    );
    hub.stop().await;
}

/// Identical calls in flight at once share one node call — never across callers who see
/// different data, and never once the call has ended.
#[tokio::test]
async fn identical_concurrent_calls_share_one_node_call() {
    use std::sync::{Arc, atomic::AtomicUsize};
    let (url, seen) = fake_node(Fault::Slow {
        delay: std::time::Duration::from_millis(400),
        data: r#"{"owner":{"code":"141000"}}"#,
        now: Arc::new(AtomicUsize::new(0)),
        most: Arc::new(AtomicUsize::new(0)),
    })
    .await;
    let hub = TestHub::start(vec![(LINFEN, url)], 10_000).await;
    let client = reqwest::Client::new();
    let q = "{ city(code: \"141000\", consistency: LIVE) { owner { code } } }";
    let admin = test_support::token(auth::Role::ProvinceAdmin, None);
    let viewer = test_support::token(auth::Role::ProvinceViewer, None);
    let other_admin = {
        // Another admin (another `sub`) sees what the first sees: shared.
        auth::Signer::hs256(test_support::TEST_SECRET, &auth::AuthConfig::default())
            .issue(
                "someone-else",
                auth::Role::ProvinceAdmin,
                None,
                std::time::Duration::from_secs(600),
            )
            .unwrap()
    };
    let tokens: Vec<&str> = std::iter::repeat_n(admin.as_str(), 8)
        .chain([other_admin.as_str()])
        .chain(std::iter::repeat_n(viewer.as_str(), 3))
        .collect();
    let calls = tokens.iter().map(|t| {
        let (client, url) = (client.clone(), hub.url.clone());
        async move { federation_tests::graphql_as(&client, &url, Some(t), q, json!({})).await }
    });
    for b in futures_util::future::join_all(calls).await {
        assert_eq!(b["data"]["city"]["owner"]["code"], "141000", "{b}");
    }
    let requests = seen.lock().unwrap().clone();
    assert_eq!(
        requests.len(),
        2,
        "one call for the admins, one for the viewers: {requests:#?}"
    );
    // The viewers' call carried a viewer's token, the admins' an admin's.
    let carried = |t: &str| requests.iter().filter(|r| r.contains(t)).count();
    assert_eq!(carried(&viewer), 1);
    assert_eq!(carried(&admin) + carried(&other_admin), 1);
    // Once the call has ended, the same question is asked again (this is no cache).
    federation_tests::graphql_as(&client, &hub.url, Some(&admin), q, json!({})).await;
    assert_eq!(seen.lock().unwrap().len(), 3);
    hub.stop().await;
}

/// `node(id:)` of another city's record is refused at the hub, by the rule the node would
/// apply, and the caller's token never reaches that node.
#[tokio::test]
async fn node_by_id_of_a_city_the_caller_may_not_read_never_calls_the_node() {
    let (url, seen) = fake_node(Fault::Malformed).await;
    let hub = TestHub::start(vec![(YUNCHENG, url)], 1_000).await;
    let client = reqwest::Client::new();
    let linfen_editor = test_support::token(auth::Role::CityEditor, Some(LINFEN));
    let resp = federation_tests::graphql_as(
        &client,
        &hub.url,
        Some(&linfen_editor),
        r#"{ node(id: "Unit:140800:central-cardiology", consistency: LIVE) { id } }"#,
        json!({}),
    )
    .await;
    assert_eq!(resp["data"]["node"], Value::Null, "{resp:#}");
    assert_eq!(
        resp["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{resp:#}"
    );
    assert_eq!(resp["errors"][0]["path"], json!(["node"]));
    assert!(seen.lock().unwrap().is_empty(), "the node was called");
    hub.stop().await;
}
