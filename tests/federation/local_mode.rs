//! `xingyi local` on free ports: hub + 运城 + 临汾, each queried over HTTP.

use federation_tests::data;
use model::region::{LINFEN, YUNCHENG};
use serde_json::json;

fn opts(dir: &std::path::Path) -> cli::local::LocalOptions {
    crate::support::local_options(dir)
}

const CITY_QUERY: &str = r#"{ owner { code } programmes { nodes { id nameZh parentId
    units(first: 100) { totalCount nodes { nameZh planItems(first: 100) { totalCount } } } } } planItems { totalCount } }"#;

#[tokio::test]
async fn local_mode_serves_the_province_and_both_cities_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let fed = cli::local::start(&opts(dir.path())).await.unwrap();
    let client = reqwest::Client::new();
    let url = |addr: std::net::SocketAddr| format!("http://{addr}/graphql");

    let hub = data(
        &client,
        &url(fed.hub),
        r#"{ owner { code } programme(id: "Programme:140000:p136") { nameZh docNumber
        components { children { nameZh } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(hub["owner"]["code"], "140000");
    assert_eq!(hub["programme"]["docNumber"], "晋政发〔2018〕16号");
    assert_eq!(
        hub["programme"]["components"][0]["children"]
            .as_array()
            .unwrap()
            .len(),
        9,
        "3 pillars + 6 base projects"
    );

    for (city, addr) in &fed.nodes {
        let seed = seed::for_region(*city).unwrap().unwrap();
        let d = data(&client, &url(*addr), CITY_QUERY, json!({})).await;
        assert_eq!(d["owner"]["code"], city.to_string());
        let p = &d["programmes"]["nodes"][0];
        assert_eq!(
            p["parentId"], "Programme:140000:p136",
            "{city} takes up / follows 136"
        );
        assert_eq!(
            p["units"]["totalCount"].as_u64(),
            Some(seed.units.len() as u64),
            "{city}: every unit"
        );
        assert_eq!(
            d["planItems"]["totalCount"].as_u64(),
            Some(seed.plan_items.len() as u64),
            "{city}: every plan item"
        );
        let health: serde_json::Value = client
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (health["status"].as_str(), health["role"].as_str()),
            (Some("ok"), Some("node"))
        );
    }
    assert_eq!(
        fed.nodes.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        [YUNCHENG, LINFEN]
    );
    let health = client
        .get(format!("http://{}/health", fed.hub))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    fed.shutdown().await.unwrap();

    // Each server has its own database file.
    for f in ["hub.db", "node-140800.db", "node-141000.db"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
}

#[tokio::test]
async fn restarting_on_the_same_data_keeps_edits_and_does_not_reseed() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let fed = cli::local::start(&opts(dir.path())).await.unwrap();
    let node = format!("http://{}/graphql", fed.nodes[0].1);
    let editor = federation_tests::token(auth::Role::CityEditor, Some(YUNCHENG));
    let created = federation_tests::data_as(&client, &node, &editor, r#"mutation { createActual(input: {indicator: "beds_added",
        scope: {kind: UNIT, id: "Unit:140800:central-cardiology"}, period: "2021", value: 8}) { id } }"#, json!({})).await;
    let before = data(
        &client,
        &node,
        "{ planItems { totalCount } targets { totalCount } actuals { totalCount } }",
        json!({}),
    )
    .await;
    fed.shutdown().await.unwrap();

    let fed = cli::local::start(&opts(dir.path())).await.unwrap();
    let node = format!("http://{}/graphql", fed.nodes[0].1);
    let after = data(
        &client,
        &node,
        "{ planItems { totalCount } targets { totalCount } actuals { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(
        before, after,
        "the seed is loaded once; nothing is duplicated"
    );
    let id = created["createActual"]["id"].as_str().unwrap();
    let back = data(
        &client,
        &node,
        "query($id: ID!) { node(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(back["node"]["id"], id, "staff edits survive a restart");
    fed.shutdown().await.unwrap();
}
