//! Two hubs on one PostgreSQL: the real `xingyi` binary as two `xingyi hub` processes over the
//! same hub and replica databases, and one 运城 `xingyi node` whose `sync.hub_url` lists both.
//! Both hubs start together (migrations and the seed taken in turn); the hub the node does not
//! push to still knows the node's last report (the sync state lives in the replica database)
//! and answers `AUTO` from the replica; then the hub the node pushes to is killed with
//! SIGKILL in the middle of a write load: the node moves to the other hub, every read at the
//! surviving hub is answered, and at the end the replica equals the node — nothing lost,
//! nothing duplicated.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::{
    path::Path,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::{Server, free_port, token, wait_up, xingyi};
use serde_json::{Value, json};

const WRITES: usize = 120;
/// Writes made before the hub the node pushes to is killed.
const KILL_AFTER: usize = 40;

fn hub_config(dir: &Path, port: u16, node: u16, hub_db: &str, replica_db: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:{port}"
data_dir = "{data}"
node_timeout_ms = 2000
[database]
url = "{hub_db}"
[graphql.rate_limit]
per_principal_per_s = 0
per_address_per_s = 0
[sync]
refresh_ms = 200
[auth]
secret_file = "{secret}"
[[nodes]]
city = "140800"
url = "http://127.0.0.1:{node}/graphql"
[nodes.replica]
url = "{replica_db}"
"#,
        data = dir.join(format!("hub-{port}")).display(),
        secret = dir.join("jwt-secret").display(),
    )
}

fn node_config(dir: &Path, port: u16, hubs: [u16; 2]) -> String {
    format!(
        r#"city = "140800"
listen = "127.0.0.1:{port}"
data_dir = "{data}"
[graphql.rate_limit]
per_principal_per_s = 0
per_address_per_s = 0
[sync]
hub_url = "http://127.0.0.1:{a}, http://127.0.0.1:{b}/"
interval_ms = 20
heartbeat_ms = 200
max_backoff_ms = 300
timeout_ms = 2000
[auth]
secret_file = "{secret}"
"#,
        data = dir.join("node").display(),
        secret = dir.join("jwt-secret").display(),
        a = hubs[0],
        b = hubs[1],
    )
}

fn spawn(args: &[&str], config: &Path, log: &Path) -> Server {
    Server(
        xingyi()
            .args(args)
            .arg("--config")
            .arg(config)
            .env("XINGYI_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

async fn post(client: &reqwest::Client, port: u16, token: &str, query: &str) -> Value {
    client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The 运城 freshness and sync state as one hub reports them.
async fn sync_at(client: &reqwest::Client, hub: u16, admin: &str) -> Value {
    post(
        client,
        hub,
        admin,
        r#"{ city(code: "140800", consistency: AUTO) { freshness { answeredBy } units { totalCount } sync { nodeSeq appliedSeq lag pushes reportedMsAgo } } }"#,
    )
    .await
}

#[tokio::test]
async fn two_hubs_share_the_replicas_and_survive_losing_one() {
    let server = test_support::postgres_server()
        .expect("this test needs PostgreSQL: two hubs share databases only there (XINGYI_TEST_PG)");
    let hub_db = store::admin::recreate_postgres_database(&server, "xy_two_hubs_hub")
        .await
        .unwrap();
    let replica_db = store::admin::recreate_postgres_database(&server, "xy_two_hubs_yc")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    test_support::write_secret(&dir.path().join("jwt-secret"));
    let (a, b, node) = (free_port(), free_port(), free_port());
    for (name, text) in [
        (
            "hub-a.toml",
            hub_config(dir.path(), a, node, &hub_db, &replica_db),
        ),
        (
            "hub-b.toml",
            hub_config(dir.path(), b, node, &hub_db, &replica_db),
        ),
        ("node.toml", node_config(dir.path(), node, [a, b])),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let log = |name: &str| dir.path().join(name);
    // Both hubs at once, on fresh databases: each migrates and seeds, in turn.
    let mut hub_a = Some(spawn(
        &["hub"],
        &dir.path().join("hub-a.toml"),
        &log("a.log"),
    ));
    let _hub_b = spawn(&["hub"], &dir.path().join("hub-b.toml"), &log("b.log"));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    wait_up(&client, &[a, b]).await;
    // The node starts once both hubs are up, so it pushes to the first one only.
    let _node = spawn(
        &["node", "--city", "140800"],
        &dir.path().join("node.toml"),
        &log("node.log"),
    );
    wait_up(&client, &[node]).await;
    let admin = token(
        dir.path(),
        &["--role", "province_admin", "--sub", "two-hubs"],
    );
    let editor = token(
        dir.path(),
        &[
            "--role",
            "city_admin",
            "--city",
            "140800",
            "--sub",
            "two-hubs-editor",
        ],
    );

    // The node pushes to the first hub only; the second knows its reports all the same, from
    // the replica database, and answers AUTO from the replica.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = sync_at(&client, b, &admin).await;
        let city = &r["data"]["city"];
        if city["freshness"]["answeredBy"] == "REPLICA" && city["sync"]["lag"] == "0" {
            assert!(city["sync"]["pushes"].as_i64().unwrap() > 0, "{r}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "hub B never learnt the node's reports: {r}\n{}",
            std::fs::read_to_string(log("b.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Readers at the second hub, all along.
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let reader = {
        let (client, admin) = (client.clone(), admin.clone());
        let (stop, reads, failed) = (stop.clone(), reads.clone(), failed.clone());
        tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                for consistency in ["AUTO", "REPLICA"] {
                    let r = post(
                        &client,
                        b,
                        &admin,
                        &format!(r#"{{ city(code: "140800", consistency: {consistency}) {{ units {{ totalCount }} }} }}"#),
                    )
                    .await;
                    reads.fetch_add(1, Ordering::Relaxed);
                    if r.get("errors").is_some()
                        || r["data"]["city"]["units"]["totalCount"].as_i64().is_none()
                    {
                        failed.fetch_add(1, Ordering::Relaxed);
                        failures.push(r);
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            failures
        })
    };

    // Writes at the node; the hub it pushes to dies part-way.
    let units_before = post(
        &client,
        node,
        &editor,
        "{ units { totalCount } }",
    )
    .await["data"]["units"]["totalCount"]
        .as_i64()
        .unwrap();
    for i in 0..WRITES {
        if i == KILL_AFTER {
            drop(hub_a.take()); // SIGKILL, then reaped
        }
        let r = post(
            &client,
            node,
            &editor,
            &format!(
                r#"mutation {{ createUnit(input: {{ programmeId: "Programme:140800:yc-lead-specialties",
                    institutionId: "Institution:140800:yc-central-hospital", kind: SPECIALTY,
                    nameZh: "双中心测试科室{i}", nameEn: "Two hubs {i}" }}) {{ id }} }}"#
            ),
        )
        .await;
        assert!(r["data"]["createUnit"]["id"].is_string(), "write {i}: {r}");
    }

    // The surviving hub catches up with the node.
    let node_seq = || async {
        let h: Value = client
            .get(format!("http://127.0.0.1:{node}/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        h
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = sync_at(&client, b, &admin).await;
        let s = &r["data"]["city"]["sync"];
        if s["lag"] == "0" && s["appliedSeq"] == s["nodeSeq"] {
            let count = post(
                &client,
                b,
                &admin,
                r#"{ city(code: "140800", consistency: REPLICA) { units { totalCount } } }"#,
            )
            .await["data"]["city"]["units"]["totalCount"]
                .as_i64()
                .unwrap();
            if count == units_before + WRITES as i64 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the surviving hub never caught up: {r}\nnode: {}\n{}",
            node_seq().await,
            std::fs::read_to_string(log("node.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let failures = reader.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} reads at the surviving hub failed, first: {}",
        failed.load(Ordering::Relaxed),
        reads.load(Ordering::Relaxed),
        failures[0]
    );
    assert!(reads.load(Ordering::Relaxed) > 10);
    let node_log = std::fs::read_to_string(log("node.log")).unwrap();
    assert!(
        node_log.contains("moving to another hub"),
        "the node moved to the surviving hub:\n{node_log}"
    );

    // Nothing lost, nothing duplicated: the replica equals the node, table by table.
    let out = xingyi()
        .args(["sync", "verify", "--city", "140800", "--node"])
        .arg(format!("http://127.0.0.1:{node}"))
        .arg("--hub")
        .arg(format!("http://127.0.0.1:{b}"))
        .arg("--token")
        .arg(&admin)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["node_seq"], report["replica_seq"], "{report}");
    let tables = report["tables"].as_array().unwrap();
    assert!(!tables.is_empty());
    for t in tables {
        assert_eq!(t["same"], true, "{report}");
    }
}
