//! `xingyi-bench-sync`: how fast the hub applies a city's changes, and how far behind the
//! replica runs while a node takes a steady stream of writes.
//!
//! (a) **Apply throughput**: a replica built from 运城's seed gets `--changes` synthetic
//! changes (70 % new units, 20 % new versions of them, 10 % tombstones; rows named
//! `SYNTHETIC`) in batches of `--batch`, the hub's largest, straight through
//! `Store::apply_changes` — the same call the push endpoint makes — on SQLite and PostgreSQL.
//! (b) **Replication lag**: a real node and a real hub (in this process, talking over loopback
//! HTTP with the default pusher settings) while a writer commits `--rate` unit creations per
//! second for `--seconds`; each change's lag is the time from its commit at the node to the
//! moment the bench sees the replica's cursor pass it (cursor polled every 2 ms).
//!
//! Run: `scripts/bench-sync.sh` (release build; PostgreSQL from `XINGYI_BENCH_PG`, default
//! `postgres://postgres@127.0.0.1:5432`, `off` to skip).

mod common;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Parser;
use common::{hist, ms};
use hdrhistogram::Histogram;
use model::region::YUNCHENG;
use store::{DatabaseConfig, Store, entity::change_log, replica::CrashAfter};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Options.
#[derive(Debug, Parser)]
struct Args {
    /// Synthetic changes applied in the throughput series.
    #[arg(long, default_value_t = 20_000)]
    changes: usize,
    /// Changes per batch (the hub's default `max_batch`).
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Writes per second at the node in the lag series.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Length of the lag series.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
}

struct Backend {
    name: &'static str,
    /// A fresh database per call.
    fresh: Box<dyn Fn(&str) -> DatabaseConfig>,
}

fn backends(dir: &std::path::Path) -> anyhow::Result<Vec<(Backend, Option<String>)>> {
    let dir = dir.to_path_buf();
    let mut out = vec![(
        Backend {
            name: "SQLite",
            fresh: Box::new(move |label| {
                DatabaseConfig::sqlite_file(&dir.join(format!("{label}.db")))
            }),
        },
        None,
    )];
    let pg = std::env::var("XINGYI_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    if pg != "off" {
        let server = pg.trim_end_matches('/').to_owned();
        let s = server.clone();
        out.push((
            Backend {
                name: "PostgreSQL",
                fresh: Box::new(move |label| DatabaseConfig {
                    url: format!("{s}/xingyi_bench_{label}"),
                    max_connections: 8,
                }),
            },
            Some(server),
        ));
    }
    Ok(out)
}

async fn open(backend: &Backend, server: Option<&str>, label: &str) -> anyhow::Result<Store> {
    let config = (backend.fresh)(label);
    if let Some(server) = server {
        store::admin::recreate_postgres_database(server, &format!("xingyi_bench_{label}")).await?;
    }
    Ok(Store::connect(&config, YUNCHENG).await?)
}

/// `n` synthetic changes after `after`, built from a real unit row of the seed.
fn synthetic_changes(template: &serde_json::Value, after: i64, n: usize) -> Vec<change_log::Model> {
    let mut out = Vec::with_capacity(n);
    let mut live: Vec<(String, i32)> = Vec::new();
    for (seq, i) in (after + 1..).zip(0..n) {
        let kind = i % 10;
        let (id, version, payload, op) = if kind == 9 && !live.is_empty() {
            let (id, v) = live.swap_remove(i % live.len());
            (id, v + 1, None, "delete")
        } else if kind >= 7 && !live.is_empty() {
            let at = i % live.len();
            live[at].1 += 1;
            let (id, v) = live[at].clone();
            let mut row = template.clone();
            row["id"] = id.clone().into();
            row["sort_key"] = format!("zz-synthetic-{id}").into();
            row["name_en"] = format!("SYNTHETIC unit {id} v{v}").into();
            row["version"] = v.into();
            (id, v, Some(row.to_string()), "upsert")
        } else {
            let id = format!("synthetic-{i:07}");
            let mut row = template.clone();
            row["id"] = id.clone().into();
            row["sort_key"] = format!("zz-synthetic-{id}").into();
            row["name_zh"] = format!("SYNTHETIC 合成单元 {i}").into();
            row["name_en"] = format!("SYNTHETIC unit {id} v1").into();
            row["version"] = 1.into();
            live.push((id.clone(), 1));
            (id, 1, Some(row.to_string()), "upsert")
        };
        out.push(change_log::Model {
            seq,
            entity: "unit".into(),
            entity_id: id,
            op: op.into(),
            version,
            payload,
            recorded_at_ms: 0,
            actor: Some("SYNTHETIC".into()),
        });
    }
    out
}

async fn apply_series(
    backend: &Backend,
    server: Option<&str>,
    args: &Args,
) -> anyhow::Result<(f64, f64, usize)> {
    let node = open(backend, server, "apply_node").await?;
    seed::load::load(&node).await?;
    let replica = open(backend, server, "apply_replica").await?;
    replica.restore_snapshot(&node.snapshot().await?).await?;
    let log = node.changes_after(0, 10_000).await?;
    let template: serde_json::Value = log
        .iter()
        .find(|c| c.entity == "unit")
        .and_then(|c| c.payload.as_deref())
        .map(serde_json::from_str)
        .transpose()?
        .context("the seed has a unit")?;
    let changes = synthetic_changes(&template, replica.applied_seq().await?, args.changes);
    let mut per_batch = Vec::new();
    let started = Instant::now();
    for batch in changes.chunks(args.batch) {
        let t = Instant::now();
        let a = replica
            .apply_changes(batch, None, CrashAfter::default())
            .await?;
        anyhow::ensure!(
            a.applied as usize == batch.len(),
            "a batch was not applied whole"
        );
        per_batch.push(batch.len() as f64 / t.elapsed().as_secs_f64());
    }
    let total = changes.len() as f64 / started.elapsed().as_secs_f64();
    per_batch.sort_by(f64::total_cmp);
    let median = per_batch[per_batch.len() / 2];
    Ok((total, median, per_batch.len()))
}

async fn lag_series(
    backend: &Backend,
    server: Option<&str>,
    args: &Args,
) -> anyhow::Result<(Histogram<u64>, usize, Duration)> {
    // Node and hub databases.
    let node_db = (backend.fresh)("lag_node");
    let hub_db = (backend.fresh)("lag_hub");
    let replica_db = (backend.fresh)("lag_replica");
    if let Some(server) = server {
        for label in ["lag_node", "lag_hub", "lag_replica"] {
            store::admin::recreate_postgres_database(server, &format!("xingyi_bench_{label}"))
                .await?;
        }
    }
    let hub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let node_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (hub_addr, node_addr) = (hub_listener.local_addr()?, node_listener.local_addr()?);

    let hub_config = province_hub::Config {
        graphql: crate::common::graphql_config(),
        listen: hub_addr,
        database: hub_db,
        nodes: vec![province_hub::registry::NodeConfig {
            replica: replica_db,
            ..province_hub::registry::NodeConfig::new(
                YUNCHENG,
                format!("http://{node_addr}/graphql"),
            )
        }],
        auth: common::auth_config(),
        ..province_hub::Config::default()
    };
    let hub = province_hub::build(&hub_config).await?;
    let replica = hub
        .replicas
        .get(YUNCHENG)
        .context("the hub has 运城's replica")?
        .store
        .clone();
    tokio::spawn(async move {
        if let Err(e) =
            province_hub::serve_state(hub, &hub_config, hub_listener, std::future::pending()).await
        {
            eprintln!("hub stopped: {e}");
        }
    });
    let node_config = city_node::Config {
        graphql: crate::common::graphql_config(),
        city: Some(YUNCHENG),
        listen: node_addr,
        database: node_db,
        sync: sync::node::PushConfig {
            hub_url: format!("http://{hub_addr}"),
            ..sync::node::PushConfig::default()
        },
        auth: common::auth_config(),
        ..city_node::Config::default()
    };
    let node = city_node::build(&node_config).await?;
    let node_store = node.store.clone();
    tokio::spawn(async move {
        if let Err(e) =
            city_node::serve_state(node, &node_config, node_listener, std::future::pending()).await
        {
            eprintln!("node stopped: {e}");
        }
    });
    // Wait for the snapshot bootstrap.
    let deadline = Instant::now() + Duration::from_secs(60);
    while replica.applied_seq().await? < node_store.last_seq().await? {
        anyhow::ensure!(Instant::now() < deadline, "the replica never caught up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Watcher: when did the cursor first pass each sequence number?
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let watch_store = replica.clone();
    let watcher = tokio::spawn(async move {
        let mut seen: BTreeMap<i64, Instant> = BTreeMap::new();
        loop {
            if let Ok(n) = watch_store.applied_seq().await {
                seen.entry(n).or_insert_with(Instant::now);
            }
            if *stop_rx.borrow_and_update() {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });

    // Writer: `rate` unit creations per second.
    let total = (args.rate * args.seconds) as usize;
    let mut committed: Vec<(i64, Instant)> = Vec::with_capacity(total);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    for i in 0..total {
        tick.tick().await;
        node_store
            .create_unit(model::Unit {
                id: format!("lag-{i:06}"),
                programme: "yc-lead-specialties".into(),
                component: None,
                institution: Some("yc-central-hospital".into()),
                kind: model::UnitKind::Specialty,
                name_zh: format!("SYNTHETIC 延迟测试单元 {i}"),
                name_en: format!("SYNTHETIC lag unit {i}"),
                target_level: None,
                target_year: Some(2022),
                milestones: Vec::new(),
                note: None,
                source: None,
            })
            .await?;
        committed.push((node_store.last_seq().await?, Instant::now()));
    }
    let wrote_for = started.elapsed();
    let last = node_store.last_seq().await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while replica.applied_seq().await? < last {
        anyhow::ensure!(Instant::now() < deadline, "the replica never caught up");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    let _ = stop_tx.send(true);
    let seen = watcher.await?;
    let mut h = hist();
    for (seq, at) in &committed {
        // The first cursor value at or past `seq`.
        let applied = seen
            .range(*seq..)
            .next()
            .map(|(_, t)| *t)
            .context("a change the watcher never saw applied")?;
        h.record(applied.saturating_duration_since(*at).as_micros().max(1) as u64)?;
    }
    Ok((h, total, wrote_for))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    println!("## Sync benchmark\n");
    println!(
        "`xingyi-bench-sync --changes {} --batch {} --rate {} --seconds {}` (release build, {} cores)\n",
        args.changes,
        args.batch,
        args.rate,
        args.seconds,
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "| backend | apply throughput (all batches) | median batch | batches | lag p50 | lag p99 | lag max | writes (achieved rate) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (backend, server) in backends(dir.path())? {
        let (total, median, batches) = apply_series(&backend, server.as_deref(), &args).await?;
        let (h, writes, took) = lag_series(&backend, server.as_deref(), &args).await?;
        println!(
            "| {} | {:.0} changes/s | {:.0} changes/s | {} | {} | {} | {} | {} ({:.0}/s) |",
            backend.name,
            total,
            median,
            batches,
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
            writes,
            writes as f64 / took.as_secs_f64()
        );
        if let Some(server) = server {
            for label in [
                "apply_node",
                "apply_replica",
                "lag_node",
                "lag_hub",
                "lag_replica",
            ] {
                store::admin::drop_postgres_database(&server, &format!("xingyi_bench_{label}"))
                    .await?;
            }
        }
    }
    Ok(())
}
