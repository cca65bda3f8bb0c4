//! What an operator relies on: `/ready` says whether a server can work and what it is
//! missing; every response carries an `x-request-id`, and the hub passes the caller's id on
//! to the nodes it asks, so one id names the request in every server's logs.

use std::sync::{Arc, atomic::AtomicBool};

use federation_tests::{graphql_as, token};
use model::region::{LINFEN, YUNCHENG};
use serde_json::{Value, json};

use crate::support::{Fault, TestHub, TestNode, fake_node};

async fn ready(client: &reqwest::Client, base: &str) -> (u16, Value) {
    let r = client.get(format!("{base}/ready")).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn ready_names_what_a_server_needs_and_what_fails() {
    let client = reqwest::Client::new();
    let db = test_support::postgres("ready_node").await;
    let node = TestNode::start_on(
        db.as_ref().map(|d| d.config.clone()).unwrap_or_default(),
        serving::GraphqlConfig::default(),
        test_support::auth_config(),
    )
    .await;
    let (status, body) = ready(&client, node.base()).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({ "status": "ready", "checks": { "database": "ok" } })
        )
    );
    // The hub needs its own database and every replica.
    let hub = TestHub::start(vec![(YUNCHENG, node.url.clone())], 2_000).await;
    let hub_base = hub.url.trim_end_matches("/graphql").to_owned();
    let (status, body) = ready(&client, &hub_base).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["database"], "ok", "{body}");
    assert_eq!(body["checks"]["replica 140800"], "ok", "{body}");
    // A database that goes away makes the node not ready, saying which check and why, while
    // /health still answers (the process is alive).
    if let Some(db) = &db {
        let name = db.config.url.rsplit('/').next().unwrap().to_owned();
        let server = test_support::postgres_server().unwrap();
        store::admin::drop_postgres_database(&server, &name)
            .await
            .unwrap();
        let (status, body) = ready(&client, node.base()).await;
        assert_eq!(
            (status, &body["status"]),
            (503, &json!("not_ready")),
            "{body}"
        );
        let why = body["checks"]["database"].as_str().unwrap();
        assert_ne!(why, "ok", "{body}");
        assert!(why.contains("database"), "the cause is named: {why}");
    }
    hub.stop().await;
    node.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_that_the_hub_passes_to_the_nodes() {
    let client = reqwest::Client::new();
    let (node_url, seen) = fake_node(Fault::Switch(
        Arc::new(AtomicBool::new(true)),
        r#"{"owner":{"code":"141000"}}"#,
    ))
    .await;
    let hub = TestHub::start(vec![(LINFEN, node_url)], 2_000).await;
    let viewer = token(auth::Role::ProvinceViewer, None);
    let ask = |id: Option<&str>| {
        let mut req = client.post(&hub.url).bearer_auth(&viewer).json(
            &json!({ "query": "{ city(code: \"141000\", consistency: LIVE) { owner { code } } }" }),
        );
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };
    // A caller's (or a proxy's) id is kept and travels to the node.
    let r = ask(Some("frontend-7f3a")).await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "frontend-7f3a");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["city"]["owner"]["code"], "141000", "{body}");
    let forwarded = seen.lock().unwrap().last().cloned().unwrap();
    assert!(
        forwarded
            .to_ascii_lowercase()
            .contains("x-request-id: frontend-7f3a"),
        "{forwarded}"
    );
    // None given, or one that is not a short printable token: a new one.
    for given in [None, Some("a b\tc"), Some(&*"x".repeat(300))] {
        let r = ask(given).await.unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "a UUID for {given:?}: {id}");
        assert_ne!(Some(id.as_str()), given);
    }
    // Every route, refusals included.
    for path in ["/health", "/ready", "/sync/push", "/no-such-page"] {
        let r = client
            .get(format!("{}{path}", hub.url.trim_end_matches("/graphql")))
            .send()
            .await
            .unwrap();
        assert!(r.headers().contains_key("x-request-id"), "{path}");
    }
    hub.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_node_calls_and_replication_per_city() {
    let client = reqwest::Client::new();
    let node = TestNode::start(
        serving::GraphqlConfig::default(),
        test_support::auth_config(),
    )
    .await;
    let hub = TestHub::start(vec![(YUNCHENG, node.url.clone())], 2_000).await;
    let viewer = token(auth::Role::ProvinceViewer, None);
    let r: Value = graphql_as(
        &client,
        &hub.url,
        Some(&viewer),
        "{ city(code: \"140800\", consistency: LIVE) { owner { code } } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["city"]["owner"]["code"], "140800", "{r}");
    let refused = client
        .post(&hub.url)
        .bearer_auth("not-a-token")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let scrape = |base: String| {
        let client = client.clone();
        async move {
            let r = client.get(format!("{base}/metrics")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/plain")
            );
            r.text().await.unwrap()
        }
    };
    let text = scrape(hub.url.trim_end_matches("/graphql").to_owned()).await;
    for series in [
        r#"xingyi_requests_total{server="hub",operation="query",outcome="OK"}"#,
        r#"xingyi_requests_total{server="hub",operation="unknown",outcome="UNAUTHENTICATED"}"#,
        r#"xingyi_request_duration_seconds_bucket{server="hub",operation="query",le="0.1"}"#,
        r#"xingyi_node_calls_total{city="140800",outcome="OK"}"#,
        r#"xingyi_node_call_duration_seconds_count{city="140800"}"#,
        r#"xingyi_node_breaker_open{city="140800"} 0"#,
        r#"xingyi_replica_applied_seq{city="140800"}"#,
        r#"xingyi_replica_diverged{city="140800"} 0"#,
        r#"xingyi_db_connections{server="hub",database="province",state="idle"}"#,
        r#"xingyi_db_connections{server="hub",database="replica-140800",state="in_use"}"#,
    ] {
        assert!(text.contains(series), "no {series} in\n{text}");
    }
    // The node counts the hub's call under its own name.
    let text = scrape(node.base().to_owned()).await;
    assert!(
        text.contains(
            r#"xingyi_requests_total{server="node-140800",operation="query",outcome="OK"}"#
        ),
        "{text}"
    );
    hub.stop().await;
    node.stop().await;
}

/// A private CA's certificate (PEM) and a server certificate for `localhost` it signed (PEM
/// certificate, PEM key), written into `dir`: (ca, cert, key) paths.
fn private_pki(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "xingyi test hospital CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("node.pem"),
        dir.join("node.key"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[tokio::test]
async fn a_node_serves_https_and_the_hub_calls_it_trusting_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_pki(dir.path());
    let node_config = city_node::Config {
        city: Some(YUNCHENG),
        data_dir: dir.path().join("node"),
        auth: test_support::auth_config(),
        tls: serving::tls::TlsConfig {
            cert_file: cert,
            key_file: key,
        },
        ..city_node::Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node = tokio::spawn(async move {
        city_node::serve(node_config, listener, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let https = format!("https://localhost:{port}");
    // The node answers HTTPS to a client that trusts the CA …
    let trusting = outbound::client_builder(&outbound::TlsConfig {
        ca_file: ca.clone(),
        ..outbound::TlsConfig::default()
    })
    .unwrap()
    .build()
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let health = loop {
        match trusting.get(format!("{https}/health")).send().await {
            Ok(r) => break r,
            Err(e) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the node never answered: {e}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(health.status(), 200);
    // … not to one that does not, and not in plain HTTP.
    let err = reqwest::Client::new()
        .get(format!("{https}/health"))
        .send()
        .await
        .unwrap_err();
    assert!(
        outbound::cause(&err).contains("TLS"),
        "{}",
        outbound::cause(&err)
    );
    assert!(
        reqwest::Client::new()
            .get(format!("http://localhost:{port}/health"))
            .send()
            .await
            .is_err()
    );
    // The hub delegates to it over HTTPS with the CA in tls_out.
    let hub_dir = tempfile::tempdir().unwrap();
    let hub_config = province_hub::Config {
        data_dir: hub_dir.path().to_path_buf(),
        nodes: vec![province_hub::registry::NodeConfig::new(
            YUNCHENG,
            format!("{https}/graphql"),
        )],
        auth: test_support::auth_config(),
        tls_out: outbound::TlsConfig {
            ca_file: ca,
            ..outbound::TlsConfig::default()
        },
        ..province_hub::Config::default()
    };
    let state = province_hub::build(&hub_config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let (hub_stop, hub_stopped) = tokio::sync::oneshot::channel::<()>();
    let hub = tokio::spawn(async move {
        province_hub::serve_state(state, &hub_config, listener, async move {
            let _ = hub_stopped.await;
        })
        .await
        .unwrap();
    });
    let viewer = token(auth::Role::ProvinceViewer, None);
    let r = graphql_as(
        &reqwest::Client::new(),
        &hub_url,
        Some(&viewer),
        "{ city(code: \"140800\", consistency: LIVE) { owner { code } } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["city"]["owner"]["code"], "140800", "{r}");
    let _ = hub_stop.send(());
    hub.await.unwrap();
    let _ = stop.send(());
    node.await.unwrap();
}

#[test]
fn a_certificate_without_its_key_is_refused_at_start() {
    let Err(err) = serving::tls::acceptor(&serving::tls::TlsConfig {
        cert_file: "node.pem".into(),
        key_file: "".into(),
    }) else {
        panic!("a certificate without its key was accepted");
    };
    assert!(
        err.to_string().contains("both cert_file and key_file"),
        "{err}"
    );
    let Err(err) = serving::tls::acceptor(&serving::tls::TlsConfig {
        cert_file: "/nonexistent/node.pem".into(),
        key_file: "/nonexistent/node.key".into(),
    }) else {
        panic!("missing files were accepted");
    };
    assert!(err.to_string().contains("/nonexistent/node.pem"), "{err}");
}

/// The keys of a JSON object, in the order the text has them (serde_json keeps it).
fn keys_in_order(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn the_hub_answers_in_the_querys_field_order() {
    let client = reqwest::Client::new();
    let node = TestNode::start(
        serving::GraphqlConfig::default(),
        test_support::auth_config(),
    )
    .await;
    let hub = TestHub::start(vec![(YUNCHENG, node.url.clone())], 2_000).await;
    let viewer = token(auth::Role::ProvinceViewer, None);
    for consistency in ["LIVE", "REPLICA"] {
        let q = format!(
            r#"{{ zz: city(code: "140800", consistency: {consistency}) {{ units(first: 2) {{ totalCount nodes {{ nameZh id kind }} }} nameZh code owner {{ nameZh code }} }}
                programmes {{ nodes {{ nameZh id }} }} }}"#
        );
        let r: Value = graphql_as(&client, &hub.url, Some(&viewer), &q, json!({})).await;
        let d = &r["data"];
        assert_eq!(keys_in_order(d), ["zz", "programmes"], "{r}");
        assert_eq!(
            keys_in_order(&d["programmes"]["nodes"][0]),
            ["nameZh", "id"],
            "{r}"
        );
        let city = &d["zz"];
        if consistency == "REPLICA" && city.is_null() {
            continue; // no replica content in this hub (the node does not push here)
        }
        assert_eq!(
            keys_in_order(city),
            ["units", "nameZh", "code", "owner"],
            "{consistency}: {r}"
        );
        assert_eq!(
            keys_in_order(&city["units"]),
            ["totalCount", "nodes"],
            "{r}"
        );
        if consistency == "REPLICA" {
            continue; // this node does not push: the replica has no units to look at
        }
        assert_eq!(
            keys_in_order(&city["units"]["nodes"][0]),
            ["nameZh", "id", "kind"],
            "{r}"
        );
        assert_eq!(keys_in_order(&city["owner"]), ["nameZh", "code"], "{r}");
    }
    hub.stop().await;
    node.stop().await;
}
