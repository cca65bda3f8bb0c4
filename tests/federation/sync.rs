//! Upward sync under faults: a real hub and a real node (each its own server and database,
//! talking over real HTTP), on SQLite and on PostgreSQL. After every scenario `verify` finds
//! node and replica identical and the replica answers the corpus exactly as the node does.

use std::time::Duration;

use federation_tests::{data, graphql};
use model::{RegionCode, UnitKind, region::YUNCHENG};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use store::{DatabaseConfig, Store};

use crate::delegation::{CORPUS, var_defs};

/// The databases of one scenario: the hub's own, its replica of 运城, and 运城's node.
pub(crate) struct Dbs {
    pub(crate) hub: DatabaseConfig,
    pub(crate) replica: DatabaseConfig,
    pub(crate) node: DatabaseConfig,
    _keep: Vec<test_support::TestDb>,
}

pub(crate) async fn dbs(backend: &str, label: &str) -> Option<Dbs> {
    let mut keep = Vec::new();
    for part in ["hub", "replica", "node"] {
        let db = if backend == "sqlite" {
            test_support::sqlite()
        } else {
            test_support::postgres(&format!("{label}_{part}")).await?
        };
        keep.push(db);
    }
    Some(Dbs {
        hub: keep[0].config.clone(),
        replica: keep[1].config.clone(),
        node: keep[2].config.clone(),
        _keep: keep,
    })
}

/// The backends every scenario runs on (PostgreSQL unless `XINGYI_TEST_PG=off`).
pub(crate) fn backends() -> Vec<&'static str> {
    let mut b = vec!["sqlite"];
    if test_support::postgres_server().is_some() {
        b.push("postgres");
    }
    b
}

/// 运城's node token (signed with the test secret every test server shares).
pub(crate) fn node_token() -> String {
    test_support::token(auth::Role::Node, Some(YUNCHENG))
}

pub(crate) struct Hub {
    addr: std::net::SocketAddr,
    pub(crate) store: Store,
    pub(crate) replicas: std::sync::Arc<sync::hub::Replicas>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Hub {
    pub(crate) async fn start(
        dbs: &Dbs,
        addr: std::net::SocketAddr,
        node_url: &str,
        fresh_ms: u64,
    ) -> Self {
        let config = province_hub::Config {
            listen: addr,
            database: dbs.hub.clone(),
            auth: test_support::auth_config(),
            nodes: vec![province_hub::registry::NodeConfig {
                replica: dbs.replica.clone(),
                ..province_hub::registry::NodeConfig::new(YUNCHENG, node_url)
            }],
            node_timeout_ms: 2_000,
            sync: sync::hub::HubSyncConfig {
                max_batch: 100,
                fresh_ms,
                ..sync::hub::HubSyncConfig::default()
            },
            sync_history: province_hub::history::SyncHistoryConfig {
                every_ms: 50,
                samples: 40,
            },
            ..province_hub::Config::default()
        };
        let state = province_hub::build(&config).await.unwrap();
        let replicas = state.replicas.clone();
        let store = state.store.clone();
        let listener = bind_again(addr).await;
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            province_hub::serve_state(state, &config, listener, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            addr,
            store,
            replicas,
            stop,
            task,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn replica(&self) -> Store {
        self.replicas.get(YUNCHENG).unwrap().store.clone()
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

pub(crate) struct Node {
    addr: std::net::SocketAddr,
    pub(crate) store: Store,
    pub(crate) pusher: sync::node::PusherHandle,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Node {
    /// A node that never compares digests by itself (scenarios that inspect a differing
    /// replica); see [`Node::start_verifying`].
    pub(crate) async fn start(
        dbs: &Dbs,
        addr: std::net::SocketAddr,
        hub_url: &str,
        batch: u64,
    ) -> Self {
        Self::start_verifying(dbs, addr, hub_url, batch, 0).await
    }

    /// A node comparing its digests with the replica's every `verify_ms` (0: never).
    pub(crate) async fn start_verifying(
        dbs: &Dbs,
        addr: std::net::SocketAddr,
        hub_url: &str,
        batch: u64,
        verify_ms: u64,
    ) -> Self {
        let config = city_node::Config {
            city: Some(YUNCHENG),
            listen: addr,
            database: dbs.node.clone(),
            sync: sync::node::PushConfig {
                hub_url: hub_url.into(),
                token: node_token(),
                batch,
                interval_ms: 20,
                heartbeat_ms: 200,
                max_backoff_ms: 200,
                timeout_ms: 10_000,
                verify_ms,
            },
            auth: test_support::auth_config(),
            ..city_node::Config::default()
        };
        let mut state = city_node::build(&config).await.unwrap();
        let store = state.store.clone();
        let (stop, rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let pusher = sync::node::spawn(store.clone(), config.sync.clone(), stopped(rx.clone()))
            .unwrap()
            .unwrap();
        state.pusher = Some(pusher.clone());
        let listener = bind_again(addr).await;
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            city_node::serve_state(state, &config, listener, stopped(rx))
                .await
                .unwrap();
        });
        Self {
            addr,
            store,
            pusher,
            stop,
            task,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.unwrap();
    }
}

/// A free port below the kernel's ephemeral range (32768+), so no outgoing connection can take
/// it while a server that will restart on it is down.
pub(crate) async fn free_addr() -> std::net::SocketAddr {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 500) as u16 * 20;
    loop {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed) % 10_000;
        if let Ok(l) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            return l.local_addr().unwrap();
        }
    }
}

/// Binds `addr`, retrying a little while the previous server's socket goes away.
pub(crate) async fn bind_again(addr: std::net::SocketAddr) -> tokio::net::TcpListener {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => return l,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("binding {addr}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot bind {addr}: {e}"),
        }
    }
}

pub(crate) fn unit(n: usize) -> model::Unit {
    model::Unit {
        id: format!("sync-{n:05}"),
        programme: "yc-lead-specialties".into(),
        component: None,
        institution: Some("yc-central-hospital".into()),
        kind: UnitKind::Specialty,
        name_zh: format!("同步测试科室{n}"),
        name_en: format!("Sync test unit {n}"),
        target_level: None,
        target_year: Some(2022),
        milestones: Vec::new(),
        note: None,
        source: None,
    }
}

/// Creates units `range`, renames every third and deletes every seventh: upserts, new versions
/// of the same rows and tombstones. Returns the number of changes written.
pub(crate) async fn write_load(store: &Store, range: std::ops::Range<usize>) -> i64 {
    let before = store.last_seq().await.unwrap();
    for n in range {
        store.create_unit(unit(n)).await.unwrap();
        if n % 3 == 0 {
            let mut u = unit(n);
            u.name_en = format!("Renamed unit {n}");
            store.update_unit(&u.id.clone(), u, Some(1)).await.unwrap();
        }
        if n % 7 == 0 {
            store
                .delete_unit(&format!("sync-{n:05}"), None)
                .await
                .unwrap();
        }
    }
    store.last_seq().await.unwrap() - before
}

/// Waits until the replica has applied everything the node has committed.
pub(crate) async fn caught_up(node: &Store, replica: &Store) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (n, r) = (
            node.last_seq().await.unwrap(),
            replica.applied_seq().await.unwrap(),
        );
        if n == r {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replica stayed at {r} while the node is at {n}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the node's pusher has seen the hub acknowledge everything (the replica commits
/// before the reply reaches the node).
pub(crate) async fn acknowledged(node: &Node) {
    let last = node.store.last_seq().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while node.pusher.status().hub_applied_seq != Some(last) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hub never acknowledged {last}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `verify` finds no difference, and the replica answers every corpus query as the node does.
pub(crate) async fn assert_identical(hub: &Hub, node: &Node, client: &reqwest::Client) {
    let report = sync::verify::verify(&node.url(), &hub.url(), YUNCHENG, &node_token())
        .await
        .unwrap();
    assert!(report.in_sync(), "verify found differences: {report:#?}");
    let node_gql = format!("{}/graphql", node.url());
    let hub_gql = format!("{}/graphql", hub.url());
    for (body, vars, fragments) in CORPUS {
        let vars: Value = serde_json::from_str(vars).unwrap();
        let defs = var_defs(&vars);
        let direct = graphql(
            client,
            &node_gql,
            &format!("query Q{defs} {{ {body} }} {fragments}"),
            vars.clone(),
        )
        .await;
        let via = graphql(
            client,
            &hub_gql,
            &format!(
                "query Q{defs} {{ city(code: \"{YUNCHENG}\", consistency: REPLICA) {{ freshness {{ answeredBy }} {body} }} }} {fragments}"
            ),
            vars,
        )
        .await;
        let mut city = via["data"]["city"].clone();
        assert_eq!(city["freshness"]["answeredBy"], "REPLICA");
        city.as_object_mut().unwrap().remove("freshness");
        assert_eq!(
            city, direct["data"],
            "the replica answers `{body}` differently from the node"
        );
    }
}

#[tokio::test]
async fn while_the_hub_is_down_the_node_keeps_writing_and_everything_arrives_once() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "hub_down").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let hub_url = format!("http://{hub_addr}");
        let node = Node::start(&dbs, node_addr, &hub_url, 40).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        caught_up(&node.store, &hub.replica()).await;
        acknowledged(&node).await;
        let snapshots = node.pusher.status().snapshots;
        assert_eq!(
            snapshots, 1,
            "{backend}: the empty replica was bootstrapped from a snapshot"
        );
        hub.stop().await;

        // The hub is away: the node still answers and takes writes.
        let written = write_load(&node.store, 0..150).await;
        let d = data(
            &client,
            &format!("{}/graphql", node.url()),
            "{ units { totalCount } }",
            json!({}),
        )
        .await;
        assert!(d["units"]["totalCount"].as_u64().unwrap() > 100);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let away = node.pusher.status();
        assert!(
            away.failures > 0,
            "{backend}: pushes failed while the hub was away"
        );
        assert!(away.last_error.is_some());

        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        caught_up(&node.store, &hub.replica()).await;
        acknowledged(&node).await;
        let back = node.pusher.status();
        assert_eq!(
            back.changes_pushed - away.changes_pushed,
            written as u64,
            "{backend}: every change written while the hub was away was applied exactly once"
        );
        assert_eq!(
            back.snapshots, snapshots,
            "{backend}: no second snapshot was needed"
        );
        assert!(back.last_error.is_none());
        assert_identical(&hub, &node, &client).await;
        hub.stop().await;
        node.stop().await;
    }
}

#[tokio::test]
async fn a_crash_in_the_middle_of_a_batch_leaves_nothing_and_the_resend_completes_it() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "crash").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let node = Node::start(&dbs, node_addr, &format!("http://{hub_addr}"), 40).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        caught_up(&node.store, &hub.replica()).await;
        let before = hub.replica().digests().await.unwrap();

        // Changes pile up while the node is stopped, so its next push is one full batch; that
        // batch dies after 7 of its rows, and the restarted node resends it. (The node asks
        // for batches of 400, more than the hub's 100: it shrinks to the hub's limit.)
        node.stop().await;
        // Written by another process of the city's (the node closed its own connections).
        let store = Store::connect(&dbs.node, YUNCHENG).await.unwrap();
        write_load(&store, 0..30).await;
        store.close().await.unwrap();
        hub.replicas.crash_next_apply_after(7);
        let node = Node::start(&dbs, node_addr, &format!("http://{hub_addr}"), 400).await;
        caught_up(&node.store, &hub.replica()).await;
        acknowledged(&node).await;
        let after = node.pusher.status();
        assert_eq!(
            after.failures, 1,
            "{backend}: exactly one push failed (the crash)"
        );
        assert!(
            after.last_error.is_none(),
            "{backend}: and the resend succeeded"
        );
        assert_ne!(before, hub.replica().digests().await.unwrap());
        assert_identical(&hub, &node, &client).await;
        hub.stop().await;
        node.stop().await;
    }
}

#[tokio::test]
async fn a_node_restarted_mid_push_resumes_where_the_hub_is() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "restart").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let hub_url = format!("http://{hub_addr}");
        let node = Node::start(&dbs, node_addr, &hub_url, 40).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        caught_up(&node.store, &hub.replica()).await;
        let start = hub.replica().applied_seq().await.unwrap();
        // Changes pile up while the node is stopped; restarted with small batches (5 changes),
        // it is stopped again as soon as the first ones land.
        node.stop().await;
        let store = Store::connect(&dbs.node, YUNCHENG).await.unwrap();
        write_load(&store, 0..120).await;
        store.close().await.unwrap();
        let node = Node::start(&dbs, node_addr, &hub_url, 5).await;
        let replica = hub.replica();
        loop {
            let applied = replica.applied_seq().await.unwrap();
            if applied > start {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        node.stop().await;
        let mid = replica.applied_seq().await.unwrap();
        let node = Node::start(&dbs, node_addr, &hub_url, 5).await;
        assert!(
            mid < node.store.last_seq().await.unwrap(),
            "{backend}: the node was stopped with changes still to push"
        );
        caught_up(&node.store, &replica).await;
        acknowledged(&node).await;
        assert_eq!(
            node.pusher.status().snapshots,
            0,
            "{backend}: resumed, not rebuilt"
        );
        assert_identical(&hub, &node, &client).await;
        hub.stop().await;
        node.stop().await;
    }
}

#[tokio::test]
async fn writes_keep_arriving_while_the_node_pushes() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "concurrent").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let node = Node::start(&dbs, node_addr, &format!("http://{hub_addr}"), 25).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let store = node.store.clone();
                tokio::spawn(async move { write_load(&store, w * 100..w * 100 + 60).await })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        caught_up(&node.store, &hub.replica()).await;
        assert_identical(&hub, &node, &client).await;
        hub.stop().await;
        node.stop().await;
    }
}

async fn push(
    client: &reqwest::Client,
    hub: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut req = client.post(format!("{hub}/sync/push")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn batch(city: RegionCode, changes: &[store::entity::change_log::Model]) -> Value {
    json!({ "city": city, "node_seq": changes.last().map_or(0, |c| c.seq), "changes": changes })
}

#[tokio::test]
async fn duplicate_out_of_order_foreign_and_oversized_batches_are_handled_and_write_nothing_wrong()
{
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "protocol").await.unwrap();
        // A node's database (seeded), read directly; the pushes are made by hand.
        let node = Store::connect(&dbs.node, YUNCHENG).await.unwrap();
        seed::load::load(&node).await.unwrap();
        let log = node.changes_after(0, 1_000).await.unwrap();
        assert!(log.len() > 120, "{backend}: the seed gives a long log");
        let hub = Hub::start(&dbs, free_addr().await, "http://127.0.0.1:9/graphql", 3_000).await;
        let url = hub.url();
        let replica = hub.replica();

        let (s, r) = push(&client, &url, None, &batch(YUNCHENG, &log[..10])).await;
        assert_eq!((s, r["code"].as_str()), (401, Some("UNAUTHENTICATED")));
        let (s, r) = push(&client, &url, Some("forged"), &batch(YUNCHENG, &log[..10])).await;
        assert_eq!((s, r["code"].as_str()), (401, Some("UNAUTHENTICATED")));
        let linfen: RegionCode = "141000".parse().unwrap();
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(linfen, &log[..10]),
        )
        .await;
        assert_eq!((s, r["code"].as_str()), (403, Some("FORBIDDEN")));
        // 临汾's node, and the province admin, cannot push 运城's changes either.
        for (role, city) in [
            (auth::Role::Node, Some(linfen)),
            (auth::Role::ProvinceAdmin, None),
            (auth::Role::CityAdmin, Some(YUNCHENG)),
        ] {
            let t = test_support::token(role, city);
            let (s, r) = push(&client, &url, Some(&t), &batch(YUNCHENG, &log[..10])).await;
            assert_eq!(
                (s, r["code"].as_str()),
                (403, Some("FORBIDDEN")),
                "{role:?}"
            );
        }
        // A caller who can never push is refused before the body is read: a body that is not
        // JSON gets the token's answer, not a parse error.
        for (t, expected) in [
            (None, (401, Some("UNAUTHENTICATED"))),
            (
                Some(test_support::token(auth::Role::ProvinceAdmin, None)),
                (403, Some("FORBIDDEN")),
            ),
        ] {
            for route in ["push", "snapshot"] {
                let mut req = client
                    .post(format!("{url}/sync/{route}"))
                    .header("content-type", "application/json")
                    .body("{ not json");
                if let Some(t) = &t {
                    req = req.bearer_auth(t);
                }
                let resp = req.send().await.unwrap();
                let s = resp.status().as_u16();
                let r: Value = resp.json().await.unwrap();
                assert_eq!((s, r["code"].as_str()), expected, "{route}: {r}");
            }
        }
        // A node token's body is read (and a bad one refused as such).
        let resp = client
            .post(format!("{url}/sync/push"))
            .bearer_auth(node_token())
            .header("content-type", "application/json")
            .body("{ not json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let r: Value = resp.json().await.unwrap();
        assert_eq!(r["code"], "SYNC_MALFORMED", "a coded refusal: {r}");
        // A reported sequence no node can have is refused, never believed.
        let mut poisoned = batch(YUNCHENG, &[]);
        poisoned["node_seq"] = json!(i64::MAX);
        let (s, r) = push(&client, &url, Some(node_token().as_str()), &poisoned).await;
        assert_eq!(
            (s, r["code"].as_str()),
            (400, Some("SYNC_MALFORMED")),
            "{r}"
        );
        // An expired node token.
        let expired = {
            let signer =
                auth::Signer::hs256(test_support::TEST_SECRET, &auth::AuthConfig::default());
            let mut c = signer.claims(
                "n",
                auth::Role::Node,
                Some(YUNCHENG),
                std::time::Duration::from_secs(60),
            );
            c.exp -= 7200;
            c.nbf -= 7200;
            signer.sign(&c).unwrap()
        };
        let (s, r) = push(&client, &url, Some(&expired), &batch(YUNCHENG, &log[..10])).await;
        assert_eq!((s, r["code"].as_str()), (401, Some("UNAUTHENTICATED")));
        // Every record is checked: an institution of 临汾 inside 运城's batch.
        let institution = log
            .iter()
            .find(|c| c.entity == "institution" && c.payload.is_some())
            .expect("the seed has institutions");
        let mut row: Value = serde_json::from_str(institution.payload.as_deref().unwrap()).unwrap();
        row["region"] = json!("141000");
        let at = 3;
        let mut smuggled = log[..10].to_vec();
        smuggled[at] = store::entity::change_log::Model {
            seq: smuggled[at].seq,
            payload: Some(row.to_string()),
            ..institution.clone()
        };
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(YUNCHENG, &smuggled),
        )
        .await;
        assert_eq!((s, r["code"].as_str()), (403, Some("FORBIDDEN")), "{r}");
        assert_eq!(
            r["violations"][0]["field"],
            format!("changes[{at}].payload.region")
        );
        assert_eq!(r["violations"][0]["rule"], "FOREIGN_REGION");
        // A target about 临汾 is foreign however its scope is spelled: other spellings are not
        // rows at all (SYNC_MALFORMED), the model's own is 临汾's (FORBIDDEN). Nothing applies.
        let target = log
            .iter()
            .find(|c| c.entity == "target" && c.payload.is_some())
            .expect("the seed has targets");
        let forged = |edit: &dyn Fn(&mut Value)| {
            let mut row: Value = serde_json::from_str(target.payload.as_deref().unwrap()).unwrap();
            edit(&mut row);
            let mut batch_ = log[..10].to_vec();
            batch_[at] = store::entity::change_log::Model {
                seq: batch_[at].seq,
                payload: Some(row.to_string()),
                ..target.clone()
            };
            batch(YUNCHENG, &batch_)
        };
        for (kind, id, expected) in [
            ("region", "141000", (403, "FORBIDDEN", "FOREIGN_REGION")),
            ("REGION", "141000", (400, "SYNC_MALFORMED", "UNKNOWN_VALUE")),
            (
                "region ",
                "141000",
                (400, "SYNC_MALFORMED", "UNKNOWN_VALUE"),
            ),
            ("Region", "141000", (400, "SYNC_MALFORMED", "UNKNOWN_VALUE")),
            ("region", "+141000", (400, "SYNC_MALFORMED", "BAD_REGION")),
            ("region", "141000 ", (400, "SYNC_MALFORMED", "BAD_REGION")),
        ] {
            let body = forged(&|row: &mut Value| {
                row["scope_kind"] = json!(kind);
                row["scope_id"] = json!(id);
            });
            let (s, r) = push(&client, &url, Some(node_token().as_str()), &body).await;
            assert_eq!(
                (s, r["code"].as_str(), r["violations"][0]["rule"].as_str()),
                (expected.0, Some(expected.1), Some(expected.2)),
                "{kind:?} {id:?}: {r}"
            );
        }
        let body = forged(&|row: &mut Value| row["note"] = json!("a\u{0}b"));
        let (s, r) = push(&client, &url, Some(node_token().as_str()), &body).await;
        assert_eq!(
            (s, r["violations"][0]["rule"].as_str()),
            (400, Some("CONTROL_CHARACTER")),
            "{r}"
        );
        // A change about one record carrying another record's row (the hub would otherwise
        // write a row the change does not name).
        let mut swapped = log[..10].to_vec();
        let other = swapped[at + 1].payload.clone();
        swapped[at].payload = other;
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(YUNCHENG, &swapped),
        )
        .await;
        assert_eq!(
            (s, r["code"].as_str()),
            (400, Some("SYNC_MALFORMED")),
            "{r}"
        );
        assert_eq!(r["violations"][0]["rule"], "ID_MISMATCH", "{r}");
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(YUNCHENG, &log[..101]),
        )
        .await;
        assert_eq!((s, r["code"].as_str()), (413, Some("SYNC_BATCH_TOO_LARGE")));
        assert_eq!(r["max_batch"], 100);
        assert_eq!(
            replica.applied_seq().await.unwrap(),
            0,
            "{backend}: nothing applied yet"
        );

        // In order, then the same batch again: the second is a no-op.
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(YUNCHENG, &log[..10]),
        )
        .await;
        assert_eq!(
            (s, r["applied"].as_u64(), r["applied_seq"].as_i64()),
            (200, Some(10), Some(10)),
            "{r}"
        );
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(YUNCHENG, &log[..10]),
        )
        .await;
        assert_eq!(
            (s, r["applied"].as_u64(), r["skipped"].as_u64()),
            (200, Some(0), Some(10))
        );

        // Skipping ahead is refused with where to resume.
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(YUNCHENG, &log[20..30]),
        )
        .await;
        assert_eq!(
            (s, r["code"].as_str(), r["expected_seq"].as_i64()),
            (409, Some("SYNC_GAP"), Some(11))
        );

        // An overlapping batch applies only its new part.
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(YUNCHENG, &log[5..20]),
        )
        .await;
        assert_eq!(
            (s, r["applied"].as_u64(), r["skipped"].as_u64()),
            (200, Some(10), Some(5))
        );

        // A batch with a hole, or a change the replica cannot read, is refused whole.
        let holed: Vec<_> = log[20..30]
            .iter()
            .filter(|c| c.seq != 25)
            .cloned()
            .collect();
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(YUNCHENG, &holed),
        )
        .await;
        assert_eq!((s, r["code"].as_str()), (400, Some("SYNC_MALFORMED")));
        let mut bad = log[20..30].to_vec();
        // The payload names the right record (so the hub's record check passes) but is not a
        // row the replica can read.
        let id = bad[3].entity_id.clone();
        bad[3].payload = Some(json!({ "id": id, "code": id }).to_string());
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(YUNCHENG, &bad),
        )
        .await;
        assert_eq!((s, r["code"].as_str()), (400, Some("SYNC_MALFORMED")));
        assert_eq!(r["violations"][0]["field"], "changes[3].payload");
        let mut unknown = log[20..30].to_vec();
        unknown[0].entity = "change_seq".into();
        let (s, r) = push(
            &client,
            &url,
            Some(node_token().as_str()),
            &batch(YUNCHENG, &unknown),
        )
        .await;
        assert_eq!((s, r["code"].as_str()), (400, Some("SYNC_MALFORMED")));
        assert_eq!(
            replica.applied_seq().await.unwrap(),
            20,
            "{backend}: refused batches wrote nothing"
        );

        // The rest, in bounded batches: the replica equals the node.
        for chunk in log[20..].chunks(100) {
            let (s, _) = push(
                &client,
                &url,
                Some(node_token().as_str()),
                &batch(YUNCHENG, chunk),
            )
            .await;
            assert_eq!(s, 200);
        }
        assert_eq!(
            replica.digests().await.unwrap(),
            node.digests().await.unwrap()
        );
        hub.stop().await;
    }
}

#[tokio::test]
async fn a_crashed_apply_shows_no_partial_batch() {
    for backend in backends() {
        let dbs = dbs(backend, "partial").await.unwrap();
        let node = Store::connect(&dbs.node, YUNCHENG).await.unwrap();
        seed::load::load(&node).await.unwrap();
        let replica = Store::connect(&dbs.replica, YUNCHENG).await.unwrap();
        let log = node.changes_after(0, 1_000).await.unwrap();
        replica
            .apply_changes(&log[..50], None, store::replica::CrashAfter::default())
            .await
            .unwrap();
        let before = replica.digests().await.unwrap();
        let err = replica
            .apply_changes(&log[50..], None, store::replica::CrashAfter(Some(20)))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("simulated crash"),
            "{backend}: {err}"
        );
        assert_eq!(
            replica.digests().await.unwrap(),
            before,
            "{backend}: no partial batch"
        );
        assert_eq!(replica.applied_seq().await.unwrap(), 50);
        let done = replica
            .apply_changes(&log[40..], None, store::replica::CrashAfter::default())
            .await
            .unwrap();
        assert_eq!(done.skipped, 10);
        assert_eq!(
            replica.digests().await.unwrap(),
            node.digests().await.unwrap()
        );
    }
}

#[tokio::test]
async fn a_wiped_replica_is_rebuilt_from_the_snapshot_and_verify_names_differences() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "wiped").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let node = Node::start(&dbs, node_addr, &format!("http://{hub_addr}"), 50).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        write_load(&node.store, 0..20).await;
        caught_up(&node.store, &hub.replica()).await;
        hub.stop().await;

        // Someone edits the replica behind the hub's back: verify names the rows.
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
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        let report = sync::verify::verify(&node.url(), &hub.url(), YUNCHENG, &node_token())
            .await
            .unwrap();
        assert!(!report.in_sync());
        let units = report.tables.iter().find(|t| t.table == "unit").unwrap();
        assert_eq!(units.different, vec!["sync-00001".to_owned()]);
        let targets = report.tables.iter().find(|t| t.table == "target").unwrap();
        assert_eq!(
            (targets.only_at_node.len(), targets.node_rows),
            (1, targets.replica_rows + 1)
        );
        assert!(
            report.tables.iter().filter(|t| !t.same).count() == 2,
            "{report:#?}"
        );
        hub.stop().await;

        // Wipe the replica: the node rebuilds it from its snapshot.
        let replica_db = replica.connection();
        for t in store::replica::TABLES {
            replica_db
                .execute_unprepared(&format!("DELETE FROM {t}"))
                .await
                .unwrap();
        }
        replica_db
            .execute_unprepared("DELETE FROM meta WHERE key = 'sync.applied_seq'")
            .await
            .unwrap();
        let snapshots = node.pusher.status().snapshots;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        caught_up(&node.store, &hub.replica()).await;
        // The pusher already had the hub at its last seq before the wipe: wait for the reply
        // to the snapshot itself.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while node.pusher.status().snapshots == snapshots {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend}: no snapshot was sent"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(node.pusher.status().snapshots, snapshots + 1);
        assert_identical(&hub, &node, &client).await;
        hub.stop().await;
        node.stop().await;
    }
}

#[tokio::test]
async fn each_consistency_mode_behaves_as_described_when_the_node_stops() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "modes").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let node = Node::start(&dbs, node_addr, &format!("http://{hub_addr}"), 50).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 500).await;
        caught_up(&node.store, &hub.replica()).await;
        tokio::time::sleep(Duration::from_millis(300)).await; // a heartbeat reports the node's seq
        let gql = format!("{}/graphql", hub.url());
        let run = |query: String| {
            let client = client.clone();
            let gql = gql.clone();
            async move { graphql(&client, &gql, &query, json!({})).await }
        };
        let ask = |mode: &'static str| {
            run(format!(
                "{{ city(code: \"140800\", consistency: {mode}) {{ freshness {{ answeredBy stale appliedSeq nodeSeq notice }} units {{ totalCount }} }} }}"
            ))
        };
        let units = |r: &Value| r["data"]["city"]["units"]["totalCount"].as_u64();
        let by = |r: &Value| r["data"]["city"]["freshness"]["answeredBy"].clone();
        let stale = |r: &Value| r["data"]["city"]["freshness"]["stale"].clone();

        // Node up, replica current: AUTO reads the replica, LIVE the node.
        let (live, replica, auto) = (ask("LIVE").await, ask("REPLICA").await, ask("AUTO").await);
        assert_eq!(
            (by(&live), by(&replica), by(&auto)),
            (json!("LIVE"), json!("REPLICA"), json!("REPLICA")),
            "{backend}"
        );
        assert_eq!(stale(&auto), json!(false));
        assert_eq!(units(&live), units(&auto));
        let s = data(&client, &gql, "{ cities { code sync { replicated nodeSeq appliedSeq lag lastPushAt lastError pushes } } }", json!({})).await;
        let sync = &s["cities"][0]["sync"];
        assert_eq!(
            (sync["replicated"].clone(), sync["lag"].clone()),
            (json!(true), json!("0")),
            "{s:#}"
        );
        assert_eq!(sync["nodeSeq"], sync["appliedSeq"]);
        assert!(sync["lastPushAt"].is_string());

        // Node stopped, and silent longer than the freshness window.
        node.stop().await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        let live = ask("LIVE").await;
        assert_eq!(
            live["errors"][0]["extensions"]["code"], "CITY_UNAVAILABLE",
            "{live:#}"
        );
        assert_eq!(live["errors"][0]["path"], json!(["city", "units"]));
        let replica = ask("REPLICA").await;
        assert_eq!(
            (by(&replica), stale(&replica)),
            (json!("REPLICA"), json!(true))
        );
        let auto = ask("AUTO").await;
        assert_eq!(
            (by(&auto), stale(&auto)),
            (json!("REPLICA"), json!(true)),
            "{auto:#}"
        );
        assert!(auto.get("errors").is_none(), "{auto:#}");
        assert!(
            auto["data"]["city"]["freshness"]["notice"]
                .as_str()
                .unwrap()
                .contains("CITY_UNAVAILABLE")
        );
        assert_eq!(units(&auto), units(&replica));
        assert!(units(&auto).unwrap() > 0);

        // `node(id:)` follows the same choice: LIVE fails with the city's code at its path,
        // REPLICA and AUTO answer from the replica.
        let by_id = |mode: &'static str| {
            run(format!(
                "{{ n: node(id: \"Unit:140800:central-cardiology\", consistency: {mode}) {{ id ... on Unit {{ nameZh }} }} }}"
            ))
        };
        let live = by_id("LIVE").await;
        assert_eq!(live["data"]["n"], Value::Null, "{live:#}");
        assert_eq!(
            live["errors"][0]["extensions"]["code"], "CITY_UNAVAILABLE",
            "{live:#}"
        );
        assert_eq!(live["errors"][0]["extensions"]["city"], "140800");
        assert_eq!(live["errors"][0]["path"], json!(["n"]));
        for mode in ["REPLICA", "AUTO"] {
            let r = by_id(mode).await;
            assert!(r.get("errors").is_none(), "{backend} {mode}: {r:#}");
            assert_eq!(
                r["data"]["n"]["id"], "Unit:140800:central-cardiology",
                "{mode}"
            );
            assert_eq!(r["data"]["n"]["nameZh"], "心血管内科", "{mode}");
        }
        hub.stop().await;
    }
}

#[tokio::test]
async fn xingyi_local_shows_both_cities_in_sync_and_a_node_write_reaches_the_replica() {
    let fed = crate::support::LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    let in_sync = || async {
        let d = data(
            &client,
            &hub,
            "{ cities { code sync { nodeSeq appliedSeq lag lastError } } }",
            json!({}),
        )
        .await;
        let cities = d["cities"].as_array().unwrap().clone();
        let ok = cities.len() == 2
            && cities.iter().all(|c| {
                c["sync"]["lag"] == "0"
                    && c["sync"]["nodeSeq"] == c["sync"]["appliedSeq"]
                    && c["sync"]["lastError"].is_null()
            });
        (ok, d)
    };
    let applied = |d: &Value, city: &str| -> i64 {
        let c = d["cities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == city)
            .unwrap();
        c["sync"]["appliedSeq"].as_str().unwrap().parse().unwrap()
    };
    let wait = |at_least: i64| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (ok, d) = in_sync().await;
            if ok && applied(&d, "140800") >= at_least {
                return d;
            }
            assert!(tokio::time::Instant::now() < deadline, "not in sync: {d:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let first = wait(1).await;
    assert!(
        applied(&first, "140800") > 0 && applied(&first, "141000") > 0,
        "{first:#}"
    );

    // A write through 运城's GraphQL endpoint reaches the hub's replica.
    let (_, yc) = fed
        .node_urls()
        .into_iter()
        .find(|(c, _)| *c == YUNCHENG)
        .unwrap();
    // The same replica question twice (the second answer may be reused) …
    let count_q = r#"{ city(code: "140800", consistency: REPLICA) { units { totalCount } } }"#;
    let count = |r: &serde_json::Value| r["city"]["units"]["totalCount"].as_i64().unwrap();
    let before = count(&data(&client, &hub, count_q, json!({})).await);
    assert_eq!(
        count(&data(&client, &hub, count_q, json!({})).await),
        before
    );
    let admin = federation_tests::token(auth::Role::CityAdmin, Some(YUNCHENG));
    let created = federation_tests::data_as(
        &client,
        &yc,
        &admin,
        r#"mutation { createUnit(input: { programmeId: "Programme:140800:yc-lead-specialties",
            institutionId: "Institution:140800:yc-central-hospital", kind: SPECIALTY,
            nameZh: "同步演示科室", nameEn: "Sync demo unit", targetLevel: "省级临床重点专科",
            targetYear: 2022, milestones: [{ year: 2020, level: "市级临床重点专科" }] }) { id } }"#,
        json!({}),
    )
    .await;
    let id = created["createUnit"]["id"].as_str().unwrap().to_owned();
    let after = wait(applied(&first, "140800") + 1).await;
    assert_eq!(
        applied(&after, "140800"),
        applied(&first, "140800") + 1,
        "one write, one change"
    );
    let r = data(
        &client,
        &hub,
        &format!(r#"{{ city(code: "140800", consistency: REPLICA) {{ freshness {{ answeredBy stale }} unit(id: "{id}") {{ nameEn milestones {{ year level }} by2021: levelBy(year: 2021) {{ year level }} by2022: levelBy(year: 2022) {{ level }} }} }} }}"#),
        json!({}),
    )
    .await;
    assert_eq!(r["city"]["unit"]["nameEn"], "Sync demo unit");
    assert_eq!(
        r["city"]["unit"]["milestones"],
        json!([{ "year": 2020, "level": "市级临床重点专科" }]),
        "a unit's steps travel with it"
    );
    assert_eq!(
        r["city"]["unit"]["by2021"],
        json!({ "year": 2020, "level": "市级临床重点专科" })
    );
    assert_eq!(r["city"]["unit"]["by2022"]["level"], "省级临床重点专科");
    // … and after a change applied, never the answer kept from before it.
    assert_eq!(
        count(&data(&client, &hub, count_q, json!({})).await),
        before + 1,
        "a kept replica answer outlived the change"
    );
    assert_eq!(
        r["city"]["freshness"],
        json!({ "answeredBy": "REPLICA", "stale": false })
    );
    fed.stop().await;
}

#[tokio::test]
async fn the_province_catalogue_flows_down_to_the_node_and_back_into_the_replica() {
    let client = reqwest::Client::new();
    for backend in backends() {
        let dbs = dbs(backend, "catalogue").await.unwrap();
        let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
        let node = Node::start(&dbs, node_addr, &format!("http://{hub_addr}"), 50).await;
        let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
        caught_up(&node.store, &hub.replica()).await;

        // The province programme and its components reached the node.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while node.store.upstream("programme").await.unwrap().is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend}: no province programme at the node"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let programmes = node.store.upstream("programme").await.unwrap();
        assert!(
            programmes.iter().any(|p| p.entity_id == "p136"),
            "{backend}: {programmes:?}"
        );
        let components = node.store.upstream("component").await.unwrap();
        assert!(
            components.len() >= 9,
            "{backend}: 3 pillars and 6 base projects at least"
        );

        // The province adds an indicator and renames one: both reach the node's catalogue.
        let seq_before = node.store.last_seq().await.unwrap();
        let new = model::Indicator {
            code: "sync_demo_indicator".into(),
            name_zh: "同步演示指标".into(),
            name_en: "Sync demo indicator".into(),
            unit: "项".into(),
            value_type: model::ValueType::Integer,
            aggregation: model::Aggregation::Sum,
            over_scopes: model::ScopeAggregation::Sum,
            description_zh: None,
            formula: None,
            counts_units: Some(model::UnitKind::Team),
        };
        hub.store.put_indicator(new, None).await.unwrap();
        let row = hub.store.indicator("beds_added").await.unwrap().unwrap();
        let mut beds = store::writes::indicator_model(&row).unwrap();
        beds.name_en = "Beds added (renamed by the province)".into();
        hub.store.put_indicator(beds, Some(1)).await.unwrap();
        let node_gql = format!("{}/graphql", node.url());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let d = data(&client, &node_gql, r#"{ a: indicator(code: "sync_demo_indicator") { nameZh countsUnits } b: indicator(code: "beds_added") { nameEn } }"#, json!({})).await;
            if d["a"]["nameZh"] == "同步演示指标"
                && d["a"]["countsUnits"] == "TEAM"
                && d["b"]["nameEn"] == "Beds added (renamed by the province)"
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend}: catalogue never arrived: {d}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            node.store.last_seq().await.unwrap(),
            seq_before + 2,
            "{backend}: two catalogue writes at the node"
        );
        // Re-reading the same pages changes nothing.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(node.store.last_seq().await.unwrap(), seq_before + 2);
        caught_up(&node.store, &hub.replica()).await;
        assert_identical(&hub, &node, &client).await;
        hub.stop().await;
        node.stop().await;
    }
}

#[tokio::test]
async fn a_batch_whose_rows_trade_unique_sort_keys_applies_in_log_order() {
    for backend in backends() {
        let dbs = dbs(backend, "sortkeys").await.unwrap();
        let node = Store::connect(&dbs.node, YUNCHENG).await.unwrap();
        seed::load::load(&node).await.unwrap();
        let replica = Store::connect(&dbs.replica, YUNCHENG).await.unwrap();
        replica
            .restore_snapshot(&node.snapshot().await.unwrap())
            .await
            .unwrap();
        let log = node.changes_after(0, 10_000).await.unwrap();
        let a: Value = serde_json::from_str(
            log.iter()
                .find(|c| c.entity == "unit")
                .unwrap()
                .payload
                .as_deref()
                .unwrap(),
        )
        .unwrap();
        let old_key = a["sort_key"].as_str().unwrap().to_owned();
        let next = node.last_seq().await.unwrap();
        let change = |seq: i64, row: &Value| store::entity::change_log::Model {
            seq,
            entity: "unit".into(),
            entity_id: row["id"].as_str().unwrap().into(),
            op: "upsert".into(),
            version: row["version"].as_i64().unwrap() as i32,
            payload: Some(row.to_string()),
            recorded_at_ms: 0,
            actor: None,
        };
        // A gives up its sort key, B takes it, A moves again: deduplicated, B would be written
        // before A's last version and collide on the unique key.
        let mut a2 = a.clone();
        a2["sort_key"] = json!("zz-moved-1");
        a2["version"] = json!(2);
        let mut b = a.clone();
        b["id"] = json!("takes-the-key");
        b["version"] = json!(1);
        let mut a3 = a2.clone();
        a3["sort_key"] = json!("zz-moved-2");
        a3["version"] = json!(3);
        let batch = [
            change(next + 1, &a2),
            change(next + 2, &b),
            change(next + 3, &a3),
        ];
        let done = replica
            .apply_changes(&batch, None, store::replica::CrashAfter::default())
            .await
            .unwrap();
        assert_eq!(done.applied, 3, "{backend}");
        let rows = replica.row_hashes("unit").await.unwrap();
        assert!(rows.iter().any(|(id, _)| id == "takes-the-key"));
        let unit = replica
            .units(
                &store::UnitFilter::default(),
                &store::PageRequest {
                    first: Some(100),
                    after: None,
                },
            )
            .await
            .unwrap();
        let keys: Vec<(String, String)> = unit
            .items
            .iter()
            .map(|u| (u.id.clone(), u.sort_key.clone()))
            .collect();
        assert!(
            keys.contains(&("takes-the-key".into(), old_key.clone())),
            "{backend}: {keys:?}"
        );
        assert!(keys.contains(&(a["id"].as_str().unwrap().into(), "zz-moved-2".into())));
    }
}

#[tokio::test]
async fn the_hub_keeps_each_citys_sync_over_time_for_those_who_may_see_it() {
    let client = reqwest::Client::new();
    let backend = "sqlite";
    let dbs = dbs(backend, "history").await.unwrap();
    let (hub_addr, node_addr) = (free_addr().await, free_addr().await);
    let node = Node::start(&dbs, node_addr, &format!("http://{hub_addr}"), 40).await;
    let hub = Hub::start(&dbs, hub_addr, &format!("{}/graphql", node.url()), 3_000).await;
    let gql = format!("{}/graphql", hub.url());
    let q = r#"{ city(code: "140800") { syncHistory(last: 100) { at nodeSeq appliedSeq lag reachability breaker } } }"#;
    // Every sample the hub keeps until one shows the replica at `seq` with nothing left.
    let until_at = |seq: i64| {
        let (client, gql) = (client.clone(), gql.clone());
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                let d = data(&client, &gql, q, json!({})).await;
                let samples = d["city"]["syncHistory"].as_array().unwrap().clone();
                if samples.last().is_some_and(|s| {
                    s["appliedSeq"].as_str() == Some(seq.to_string().as_str()) && s["lag"] == "0"
                }) {
                    return samples;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "never sampled at {seq}: {samples:?}"
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    };
    caught_up(&node.store, &hub.replica()).await;
    let first = node.store.last_seq().await.unwrap();
    until_at(first).await;

    write_load(&node.store, 0..20).await;
    caught_up(&node.store, &hub.replica()).await;
    let later = node.store.last_seq().await.unwrap();
    assert!(later > first);
    let samples = until_at(later).await;
    assert!(
        samples.len() <= 40,
        "at most `samples` are kept: {}",
        samples.len()
    );
    let times: Vec<&str> = samples.iter().map(|s| s["at"].as_str().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {times:?}"
    );
    let applied: Vec<i64> = samples
        .iter()
        .map(|s| s["appliedSeq"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        applied.windows(2).all(|w| w[0] <= w[1]),
        "the cursor never goes back: {applied:?}"
    );
    assert!(samples.iter().all(|s| s["breaker"] == "CLOSED"));

    // Another city's staff may not see 运城's sync, now or over time.
    let linfen = federation_tests::token(auth::Role::CityEditor, Some(model::region::LINFEN));
    let r = federation_tests::graphql_as(&client, &gql, Some(&linfen), q, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    assert_eq!(r["data"]["city"]["syncHistory"], Value::Null, "{r}");
    hub.stop().await;
    node.stop().await;
}
