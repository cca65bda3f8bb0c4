//! A node restored from a backup, and a replica that differs from its node: each is found and
//! repaired with nothing lost that the node holds, on SQLite and PostgreSQL, over real HTTP.

use std::time::Duration;

use model::region::YUNCHENG;
use sea_orm::ConnectionTrait;
use store::{DatabaseConfig, Store};

use crate::sync::{
    Dbs, Hub, Node, acknowledged, assert_identical, backends, caught_up, dbs, free_addr,
    node_token, write_load,
};

/// Waits until `verify` finds node and replica identical.
async fn verified(node: &Node, hub: &Hub) -> sync::verify::Report {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let report = sync::verify::verify(&node.url(), &hub.url(), YUNCHENG, &node_token())
            .await
            .unwrap();
        if report.in_sync() {
            return report;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node and replica stay different: {report:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The SQLite file behind a `sqlite://…?mode=rwc` URL.
fn sqlite_path(config: &DatabaseConfig) -> std::path::PathBuf {
    let rest = config.url.trim_start_matches("sqlite://");
    std::path::PathBuf::from(rest.split('?').next().unwrap())
}

/// A backup of the node's database taken the way an operator would: a copy of the SQLite file
/// with its write-ahead log (the node stopped), or `pg_dump`.
enum Backup {
    Sqlite(tempfile::TempDir),
    Postgres(tempfile::NamedTempFile),
}

fn run(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn backup(config: &DatabaseConfig) -> Backup {
    if config.is_postgres() {
        let file = tempfile::NamedTempFile::new().unwrap();
        run(std::process::Command::new("pg_dump")
            .args(["-Fc", "-f"])
            .arg(file.path())
            .arg(&config.url));
        Backup::Postgres(file)
    } else {
        let dir = tempfile::tempdir().unwrap();
        let path = sqlite_path(config);
        for ext in ["", "-wal", "-shm"] {
            let from = format!("{}{ext}", path.display());
            if std::path::Path::new(&from).exists() {
                std::fs::copy(&from, dir.path().join(format!("node.db{ext}"))).unwrap();
            }
        }
        Backup::Sqlite(dir)
    }
}

async fn restore(config: &DatabaseConfig, from: &Backup) {
    match from {
        Backup::Sqlite(dir) => {
            let path = sqlite_path(config);
            for ext in ["", "-wal", "-shm"] {
                let to = format!("{}{ext}", path.display());
                let _ = std::fs::remove_file(&to);
                let from = dir.path().join(format!("node.db{ext}"));
                if from.exists() {
                    std::fs::copy(from, to).unwrap();
                }
            }
        }
        Backup::Postgres(file) => {
            let (server, name) = config.url.rsplit_once('/').unwrap();
            store::admin::recreate_postgres_database(server, name)
                .await
                .unwrap();
            run(std::process::Command::new("pg_restore")
                .args(["--no-owner", "-d"])
                .arg(&config.url)
                .arg(file.path()));
        }
    }
}

/// Back up a node, write on, restore the backup, write again while the hub is down: the new
/// changes reuse sequence numbers the hub already applied. The node tells the two lines apart
/// (the hub's change at its cursor is not the node's), starts a new history and rebuilds the
/// replica from its snapshot: verify equal, and every row the restored node holds is there.
/// A pusher still on the old history is refused with `SYNC_HISTORY`.
#[tokio::test]
async fn a_node_restored_from_a_backup_starts_a_new_history_and_rebuilds_the_replica() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs: Dbs = dbs(backend, "restored").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let hub_url = format!("http://{hub_addr}");
        let node = Node::start_verifying(&dbs, node_addr, &hub_url, 50, 300).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        write_load(&node.store, 0..30).await;
        caught_up(&node.store, &hub.replica()).await;
        acknowledged(&node).await;
        let first_history = node.store.history().await.unwrap();

        // The backup, then more changes the hub applies.
        node.stop().await;
        let saved = backup(&dbs.node);
        let node = Node::start_verifying(&dbs, node_addr, &hub_url, 50, 300).await;
        write_load(&node.store, 30..50).await;
        caught_up(&node.store, &hub.replica()).await;
        acknowledged(&node).await;
        let applied_before = hub.replica().applied_seq().await.unwrap();
        node.stop().await;
        hub.stop().await;

        // Restored, and written to while the hub is down: other changes under the same numbers.
        restore(&dbs.node, &saved).await;
        let node = Node::start_verifying(&dbs, node_addr, &hub_url, 50, 300).await;
        assert_eq!(
            node.store.history().await.unwrap(),
            first_history,
            "{backend}"
        );
        write_load(&node.store, 100..140).await;
        let restored_seq = node.store.last_seq().await.unwrap();
        assert!(
            restored_seq > applied_before,
            "{backend}: the restored node has passed the hub's cursor ({restored_seq} > {applied_before})"
        );

        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        verified(&node, &hub).await;
        assert_identical(&hub, &node, &client).await;
        let status = node.pusher.status();
        assert!(status.repairs >= 1, "{backend}: {status:?}");
        let new_history = node.store.history().await.unwrap();
        assert_ne!(new_history, first_history, "{backend}: a new history");
        assert_eq!(
            hub.replica().held_history().await.unwrap(),
            Some(new_history),
            "{backend}: the replica mirrors the new history"
        );
        // Rows written before the restore and lost with it are gone from the replica too;
        // rows written after it are there.
        let replica = hub.replica();
        assert!(
            replica.unit("sync-00040").await.unwrap().is_none(),
            "{backend}"
        );
        assert!(
            replica.unit("sync-00101").await.unwrap().is_some(),
            "{backend}"
        );

        // A pusher of the old line (the machine the backup came from, still running) is refused.
        let old = serde_json::json!({
            "city": YUNCHENG, "node_seq": 1, "changes": [], "history": first_history
        });
        let next = store::entity::change_log::Model {
            seq: node.store.last_seq().await.unwrap() + 1,
            ..node.store.changes_after(0, 1).await.unwrap()[0].clone()
        };
        let mut stale = old.clone();
        stale["changes"] = serde_json::json!([next]);
        stale["node_seq"] = serde_json::json!(next.seq);
        let resp = client
            .post(format!("{}/sync/push", hub.url()))
            .bearer_auth(node_token())
            .json(&stale)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("SYNC_HISTORY")),
            "{body}"
        );
        hub.stop().await;
        node.stop().await;
    }
}

/// A replica changed behind sync's back (a row edited, a row deleted) is found by the node's
/// digest comparison, marked as differing at the hub (`AUTO` answers live meanwhile), and
/// rebuilt from the node's snapshot; the hub counts the repair.
#[tokio::test]
async fn a_replica_that_differs_from_its_node_is_found_and_repaired() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "repair").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let node =
            Node::start_verifying(&dbs, node_addr, &format!("http://{hub_addr}"), 50, 300).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        write_load(&node.store, 0..20).await;
        caught_up(&node.store, &hub.replica()).await;
        verified(&node, &hub).await;
        let repairs = node.pusher.status().repairs;

        let replica = Store::connect(&dbs.replica, YUNCHENG).await.unwrap();
        replica
            .connection()
            .execute_unprepared("UPDATE unit SET name_en = 'tampered' WHERE id = 'sync-00001'")
            .await
            .unwrap();
        replica
            .connection()
            .execute_unprepared(
                "DELETE FROM target WHERE id IN (SELECT id FROM target ORDER BY id LIMIT 1)",
            )
            .await
            .unwrap();

        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while node.pusher.status().repairs == repairs {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend}: the difference was never repaired"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let status = node.pusher.status();
        assert!(
            status
                .last_repair
                .as_deref()
                .is_some_and(|r| r.contains("unit") && r.contains("target")),
            "{backend}: the reason names the tables: {status:?}"
        );
        verified(&node, &hub).await;
        assert_identical(&hub, &node, &client).await;
        let state = hub.replicas.get(YUNCHENG).unwrap().state();
        assert_eq!((state.repairs, state.diverged), (1, None), "{backend}");
        hub.stop().await;
        node.stop().await;
    }
}

/// An error and its causes, as an operator reads them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// A node stopped gracefully has closed its database: its SQLite write-ahead log is folded
/// into the database file, so that one file alone holds every change (a copy of it is a whole
/// backup), and no late connection of the stopped node rewrites files an operator puts back.
#[tokio::test]
async fn a_stopped_node_leaves_its_whole_database_in_the_sqlite_file() {
    let dbs = dbs("sqlite", "stopped").await.unwrap();
    let node_addr = free_addr().await;
    // No hub answers: the node writes locally, and the pusher keeps retrying until the stop.
    let hub_url = format!("http://{}", free_addr().await);
    let node = Node::start_verifying(&dbs, node_addr, &hub_url, 50, 0).await;
    write_load(&node.store, 0..20).await;
    let (last, history) = (
        node.store.last_seq().await.unwrap(),
        node.store.history().await.unwrap(),
    );
    node.stop().await;

    let path = sqlite_path(&dbs.node);
    let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the write-ahead log is left with {} bytes",
        std::fs::metadata(&wal).map_or(0, |m| m.len())
    );
    let copy = tempfile::tempdir().unwrap();
    let alone = copy.path().join("node.db");
    std::fs::copy(&path, &alone).unwrap();
    let reopened = Store::connect(&DatabaseConfig::sqlite_file(&alone), YUNCHENG)
        .await
        .unwrap();
    assert_eq!(reopened.last_seq().await.unwrap(), last);
    assert_eq!(reopened.history().await.unwrap(), history);
}

/// The node's database as if the disk were lost: the SQLite file and its log removed, or the
/// PostgreSQL database dropped and created empty.
async fn lose(config: &DatabaseConfig) {
    if config.is_postgres() {
        let (server, name) = config.url.rsplit_once('/').unwrap();
        store::admin::recreate_postgres_database(server, name)
            .await
            .unwrap();
    } else {
        let path = sqlite_path(config);
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
    }
}

/// A node whose database is lost with its backups is rebuilt from the hub's replica: the same
/// rows and audit trail, a new history, new writes numbered after the restored sequence, and
/// verify equal. A database that already holds changes is refused unless replaced on
/// purpose, and a token that may not read the city's replica gets the hub's coded refusal.
#[tokio::test]
async fn a_lost_node_is_rebuilt_from_the_hubs_replica() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "rebuilt").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let hub_url = format!("http://{hub_addr}");
        let node = Node::start_verifying(&dbs, node_addr, &hub_url, 50, 300).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        write_load(&node.store, 0..30).await;
        caught_up(&node.store, &hub.replica()).await;
        acknowledged(&node).await;
        let seq = node.store.last_seq().await.unwrap();
        let trail = node.store.changes_after(0, 100_000).await.unwrap();
        let old_history = node.store.history().await.unwrap();
        node.stop().await;
        lose(&dbs.node).await;

        let config = city_node::Config {
            city: Some(YUNCHENG),
            database: dbs.node.clone(),
            sync: sync::node::PushConfig {
                hub_url: hub_url.clone(),
                token: test_support::token(auth::Role::ProvinceViewer, None),
                ..sync::node::PushConfig::default()
            },
            ..city_node::Config::default()
        };
        let refused = city_node::restore_from_hub(&config, false)
            .await
            .unwrap_err();
        assert!(
            chain(&refused).contains("403"),
            "{backend}: a viewer may not read a replica"
        );
        let config = city_node::Config {
            sync: sync::node::PushConfig {
                token: node_token(),
                ..config.sync.clone()
            },
            ..config
        };
        let restored = city_node::restore_from_hub(&config, false).await.unwrap();
        assert_eq!(restored.seq, seq, "{backend}");
        assert_ne!(restored.history, old_history, "{backend}: a new history");
        let again = city_node::restore_from_hub(&config, false)
            .await
            .unwrap_err();
        assert!(
            matches!(
                &again,
                city_node::Error::Restore(sync::restore::RestoreError::Store(
                    store::Error::Invalid(v)
                )) if v.0[0].rule == "NOT_EMPTY"
            ),
            "{backend}: a database with changes is kept: {}",
            chain(&again)
        );

        let node = Node::start_verifying(&dbs, node_addr, &hub_url, 50, 300).await;
        assert_eq!(node.store.history().await.unwrap(), restored.history);
        assert_eq!(
            node.store.changes_after(0, 100_000).await.unwrap(),
            trail,
            "{backend}: the audit trail came back"
        );
        write_load(&node.store, 100..110).await;
        assert!(node.store.last_seq().await.unwrap() > seq, "{backend}");
        verified(&node, &hub).await;
        assert_identical(&hub, &node, &client).await;
        assert_eq!(
            hub.replica().held_history().await.unwrap(),
            Some(restored.history.clone()),
            "{backend}: the replica follows the rebuilt node"
        );
        assert!(
            hub.replica().unit("sync-00101").await.unwrap().is_some(),
            "{backend}"
        );
        hub.stop().await;
        node.stop().await;
    }
}

fn beds_added(value: f64) -> model::Actual {
    model::Actual {
        id: None,
        indicator: "beds_added".into(),
        scope: model::Scope {
            kind: model::ScopeKind::Unit,
            id: "central-cardiology".into(),
        },
        period: "2021".parse().unwrap(),
        value,
        unit: None,
        note: None,
        source: None,
    }
}

/// 运城's 2021 `beds_added` actual as the hub's `compare` answers it.
async fn compared(client: &reqwest::Client, hub: &Hub) -> serde_json::Value {
    let resp = federation_tests::graphql(
        client,
        &format!("{}/graphql", hub.url()),
        r#"{ compare(indicators: ["beds_added"], cities: ["140800"], years: { from: 2021, to: 2021 }) {
            cities { cells { year actual } } } }"#,
        serde_json::json!({}),
    )
    .await;
    resp["data"]["compare"]["cities"][0]["cells"][0]["actual"].clone()
}

/// A comparison the hub keeps for reuse is never answered once the replica has been rebuilt
/// from a snapshot — even when the rebuilt replica has applied exactly as many changes as the
/// one the comparison was computed on (a node restored from a backup, then written to).
#[tokio::test]
async fn a_rebuilt_replica_is_never_answered_from_a_comparison_kept_before() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "recompare").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let hub_url = format!("http://{hub_addr}");
        let node = Node::start_verifying(&dbs, node_addr, &hub_url, 50, 300).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        caught_up(&node.store, &hub.replica()).await;
        acknowledged(&node).await;
        node.stop().await;
        let saved = backup(&dbs.node);

        let node = Node::start_verifying(&dbs, node_addr, &hub_url, 50, 300).await;
        node.store.create_actual(beds_added(8.0)).await.unwrap();
        caught_up(&node.store, &hub.replica()).await;
        let applied = hub.replica().applied_seq().await.unwrap();
        assert_eq!(compared(&client, &hub).await, 8.0, "{backend}");
        let history = node.store.history().await.unwrap();
        node.stop().await;

        // Restored and written to: another change under the same number; the hub stays up.
        restore(&dbs.node, &saved).await;
        let node = Node::start_verifying(&dbs, node_addr, &hub_url, 50, 300).await;
        node.store.create_actual(beds_added(100.0)).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let rebuilt = hub.replica().held_history().await.unwrap()
                == Some(node.store.history().await.unwrap())
                && node.store.history().await.unwrap() != history
                && hub.replica().applied_seq().await.unwrap()
                    == node.store.last_seq().await.unwrap();
            if rebuilt {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend}: the replica was never rebuilt"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            hub.replica().applied_seq().await.unwrap(),
            applied,
            "{backend}: as many changes as before"
        );
        assert_eq!(
            compared(&client, &hub).await,
            100.0,
            "{backend}: the rebuilt replica's number, not the one kept"
        );
        hub.stop().await;
        node.stop().await;
    }
}
