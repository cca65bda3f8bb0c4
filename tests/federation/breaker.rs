//! The per-node circuit breaker: it opens after consecutive failures, stops calling the node,
//! lets one probe through after the cool-down, and closes when the node answers again.

use std::{
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use federation_tests::graphql;
use model::region::LINFEN;
use serde_json::{Value, json};

use crate::support::{Fault, TestHub, fake_node};

const Q: &str = r#"{ city(code: "141000") { owner { code } status { breaker failures refused reachability } } }"#;

async fn ask(client: &reqwest::Client, hub: &TestHub) -> Value {
    graphql(client, &hub.url, Q, json!({})).await
}

#[tokio::test]
async fn the_breaker_opens_stops_traffic_probes_and_recovers() {
    let healthy = Arc::new(AtomicBool::new(false));
    let (url, seen) = fake_node(Fault::Switch(
        healthy.clone(),
        r#"{"owner":{"code":"141000"}}"#,
    ))
    .await;
    let hub_config = province_hub::registry::BreakerConfig {
        failures: 2,
        cooldown_ms: 300,
    };
    let hub = TestHub::start_with_breaker(vec![(LINFEN, url)], 1_000, hub_config).await;
    let client = reqwest::Client::new();
    let sent = || seen.lock().unwrap().len();

    // Two failures open the breaker.
    for _ in 0..2 {
        let r = ask(&client, &hub).await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "CITY_ERROR", "{r:#}");
    }
    assert_eq!(sent(), 2);
    // While open, the node gets no traffic and callers get CITY_UNAVAILABLE at once.
    for _ in 0..3 {
        let r = ask(&client, &hub).await;
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "CITY_UNAVAILABLE",
            "{r:#}"
        );
        assert!(
            r["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("circuit open")
        );
        assert_eq!(r["data"]["city"]["status"]["breaker"], "OPEN");
    }
    assert_eq!(sent(), 2, "an open breaker sends nothing");
    let r = ask(&client, &hub).await;
    assert!(r["data"]["city"]["status"]["refused"].as_i64().unwrap() >= 3);

    // After the cool-down one probe goes out; the node still fails, so the breaker reopens.
    tokio::time::sleep(Duration::from_millis(350)).await;
    ask(&client, &hub).await;
    assert_eq!(sent(), 3, "exactly one probe");
    assert_eq!(
        ask(&client, &hub).await["data"]["city"]["status"]["breaker"],
        "OPEN"
    );

    // The node recovers: the next probe succeeds and the breaker closes.
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let r = ask(&client, &hub).await;
    assert!(r.get("errors").is_none(), "{r:#}");
    assert_eq!(r["data"]["city"]["owner"]["code"], "141000");
    assert_eq!(r["data"]["city"]["status"]["breaker"], "CLOSED");
    assert_eq!(r["data"]["city"]["status"]["reachability"], "UP");
    hub.stop().await;
}
