//! The hub and a city node on PostgreSQL (the production backend), configured by URL, served
//! over HTTP, and restarted on the same databases.

use federation_tests::data;
use model::region::LINFEN;
use serde_json::json;

async fn serve_node(
    url: &str,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let config = city_node::Config {
        city: Some(LINFEN),
        database: store::DatabaseConfig {
            url: url.to_owned(),
            max_connections: 4,
        },
        auth: test_support::auth_config(),
        ..city_node::Config::default()
    };
    // Build (migrate, seed) before serving, so the server answers as soon as it is spawned.
    let state = city_node::build(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        city_node::serve_state(state, &config, listener, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (format!("http://{addr}/graphql"), tx, task)
}

#[tokio::test]
async fn a_node_runs_on_postgres_and_keeps_its_data_across_restarts() {
    let Some(db) = test_support::postgres("node_on_pg").await else {
        return;
    };
    let client = reqwest::Client::new();
    let seed = seed::for_region(LINFEN).unwrap().unwrap();

    let (url, stop, task) = serve_node(&db.config.url).await;
    let d = data(
        &client,
        &url,
        "{ owner { code } targets { totalCount } units { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(d["owner"]["code"], "141000");
    assert_eq!(
        d["targets"]["totalCount"].as_u64(),
        Some(seed.targets.len() as u64)
    );
    let health: serde_json::Value = client
        .get(url.replace("/graphql", "/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["database"], "postgres");
    stop.send(()).unwrap();
    task.await.unwrap();

    let (url, stop, task) = serve_node(&db.config.url).await;
    let again = data(
        &client,
        &url,
        "{ owner { code } targets { totalCount } units { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(d, again, "restart neither loses nor duplicates seed data");
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn the_hub_refuses_a_database_that_belongs_to_a_city() {
    let Some(db) = test_support::postgres("hub_wrong_db").await else {
        return;
    };
    let node = city_node::Config {
        city: Some(LINFEN),
        database: store::DatabaseConfig {
            url: db.config.url.clone(),
            max_connections: 2,
        },
        auth: test_support::auth_config(),
        ..city_node::Config::default()
    };
    city_node::build(&node).await.unwrap();
    let hub = province_hub::Config {
        database: store::DatabaseConfig {
            url: db.config.url.clone(),
            max_connections: 2,
        },
        auth: test_support::auth_config(),
        ..province_hub::Config::default()
    };
    let err = province_hub::build(&hub).await.unwrap_err();
    assert!(
        err.to_string().contains("belongs to region 141000"),
        "{err}"
    );
}
