//! `xingyi-bench-compare`: the province leaders' comparison at province scale, answered from the
//! hub's replicas, with the same question asked live of the nodes for contrast.
//!
//! Set-up per backend: 11 cities, each a real node (in this process, own database) whose data
//! is **synthetic** (names start with `SYNTHETIC`): 1 programme (2016–2025), 10 institutions,
//! 200 units, and for 30 catalogue indicators × 10 years × 200 units one target and one actual
//! each (60 000 + 60 000 rows per city, 1.32 M in all). The hub keeps each city's replica on the
//! very same database as the node (the replica is a copy by construction; sharing the file
//! keeps set-up time down). Series, interleaved: (a) `compare` over 3 indicators, 10 years,
//! all cities, city level, recomputed on every request (a hub with the comparison cache off);
//! (a') the same from a hub with the cache on (no replica changes between requests, so every
//! request after the first is a hit); (b) institution level (drill-down), recomputed; (c) the
//! live contrast: `cities(consistency: LIVE)` asking every node for the first page (200) of its
//! targets and actuals of one indicator — a lower bound, since the full answer needs 30 pages
//! per indicator and city.
//!
//! Run: `scripts/bench-compare.sh` (release; PostgreSQL from `XINGYI_BENCH_PG`, `off` skips).

mod common;

use std::time::Instant;

use common::{hist, ms, post};

use anyhow::Context;
use clap::Parser;
use hdrhistogram::Histogram;
use model::{Institution, Programme, RegionCode, Source, Unit, UnitKind};
use serde_json::json;
use store::DatabaseConfig;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Options.
#[derive(Debug, Parser)]
struct Args {
    /// Requests per series (after 20 warm-up).
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Units per city.
    #[arg(long, default_value_t = 200)]
    units: usize,
    /// Indicators with data.
    #[arg(long, default_value_t = 30)]
    indicators: usize,
    /// Years with data (ending 2025).
    #[arg(long, default_value_t = 10)]
    years: i32,
    /// Run only this backend (`sqlite` or `postgres`).
    #[arg(long)]
    only: Option<String>,
}

const CITIES: [u32; 11] = [
    140100, 140200, 140300, 140400, 140500, 140600, 140700, 140800, 140900, 141000, 141100,
];

fn src() -> Source {
    Source {
        document: "synthetic".into(),
        quote: "SYNTHETIC benchmark data".into(),
    }
}

/// Deterministic pseudo-random value in 0..100.
fn value(seed: u64) -> f64 {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 31;
    (x % 100) as f64
}

async fn fill(
    store: &store::Store,
    city: RegionCode,
    args: &Args,
    codes: &[String],
) -> anyhow::Result<()> {
    let first_year = 2026 - args.years;
    let programme = Programme {
        id: "synthetic".into(),
        name_zh: format!("SYNTHETIC 合成基准项目 {city}"),
        name_en: format!("SYNTHETIC benchmark programme {city}"),
        issuer: "SYNTHETIC".into(),
        doc_number: "SYNTHETIC".into(),
        issued_on: "2016-01-01".into(),
        period: model::Period::years(first_year, 2025)?,
        relation: None,
        parent: None,
        summary_zh: None,
        summary_en: Some("Synthetic data for benchmarks only; not from any document.".into()),
        note: None,
        source: src(),
    };
    let institutions: Vec<Institution> = (0..10)
        .map(|i| Institution {
            id: format!("synthetic-hospital-{i}"),
            region: city,
            name_zh: format!("SYNTHETIC 合成医院 {i}"),
            name_en: format!("SYNTHETIC hospital {i}"),
            aliases: Vec::new(),
            source: None,
        })
        .collect();
    let units: Vec<Unit> = (0..args.units)
        .map(|u| Unit {
            id: format!("synthetic-unit-{u:03}"),
            programme: "synthetic".into(),
            component: None,
            institution: Some(format!("synthetic-hospital-{}", u % 10)),
            kind: UnitKind::Specialty,
            name_zh: format!("SYNTHETIC 合成单元 {u}"),
            name_en: format!("SYNTHETIC unit {u}"),
            target_level: None,
            target_year: Some(2025),
            milestones: Vec::new(),
            note: None,
            source: None,
        })
        .collect();
    let documents = [model::Document {
        id: "synthetic".into(),
        doc_number: None,
        title: "SYNTHETIC benchmark data".into(),
        issuer: "SYNTHETIC".into(),
        issued_on: "2016-01-01".into(),
        file: "none".into(),
    }];
    store
        .acting_as("SYNTHETIC")
        .import(
            store::ImportBatch {
                documents: &documents,
                programmes: std::slice::from_ref(&programme),
                institutions: &institutions,
                units: &units,
                ..Default::default()
            },
            ("synthetic", "SYNTHETIC"),
        )
        .await?;
    // Targets and actuals in bulk, through a snapshot (multi-row inserts, no change log).
    let mut snapshot = store.snapshot().await?;
    let mut targets = Vec::new();
    let mut actuals = Vec::new();
    for u in &units {
        for (k, code) in codes.iter().enumerate() {
            for year in first_year..=2025 {
                let seed = u64::from(city.get()) * 1_000_003
                    + (k as u64) * 7919
                    + year as u64 * 31
                    + u.id.len() as u64;
                let key = format!("{code}-{}-{year}", u.id);
                let common = json!({
                    "indicator": code, "scope_kind": "unit", "scope_id": u.id,
                    "period": year.to_string(), "period_start": year * 100 + 1, "period_end": year * 100 + 12,
                    "unit": null, "note": null, "source_document": null, "source_quote": null, "version": 1,
                });
                let mut t = common.clone();
                t["id"] = json!(format!("t-{key}"));
                t["comparator"] = json!("exact");
                t["value"] = json!(value(seed) + 10.0);
                t["min_value"] = json!(null);
                t["max_value"] = json!(null);
                t["qualifier"] = json!(null);
                t["ambiguous"] = json!(false);
                t["sort_key"] = json!(format!("t-{key}"));
                targets.push(t);
                let mut a = common;
                a["id"] = json!(format!("a-{key}"));
                a["value"] = json!(value(seed + 1));
                a["sort_key"] = json!(format!("a-{key}"));
                actuals.push(a);
            }
        }
    }
    snapshot.tables.insert("target".into(), targets);
    snapshot.tables.insert("actual".into(), actuals);
    store.restore_snapshot(&snapshot).await?;
    // What autovacuum would do before long (and the hub does after a snapshot).
    store.maintain().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let pg = std::env::var("XINGYI_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let mut backends = vec!["SQLite"];
    if pg != "off" {
        backends.push("PostgreSQL");
    }
    if let Some(only) = &args.only {
        backends
            .retain(|b| b.eq_ignore_ascii_case(only) || (only == "postgres" && *b == "PostgreSQL"));
    }
    let catalogue: Vec<String> = seed::province()?
        .indicators
        .iter()
        .take(args.indicators)
        .map(|i| i.code.clone())
        .collect();
    anyhow::ensure!(
        catalogue.len() == args.indicators,
        "the catalogue has fewer indicators"
    );
    let chosen = &catalogue[..3];
    println!("## Comparison benchmark\n");
    println!(
        "`xingyi-bench-compare --requests {} --units {} --indicators {} --years {}` (release build, {} cores); asked: {:?}, years {}–2025\n",
        args.requests,
        args.units,
        args.indicators,
        args.years,
        std::thread::available_parallelism().map_or(0, usize::from),
        chosen
            .iter()
            .map(String::as_str)
            .chain(["beds_added_total"])
            .collect::<Vec<_>>(),
        2026 - args.years
    );
    println!(
        "| backend | rows | compare, city level, recomputed p50 / p99 | compare, city level, cached p50 / p99 | compare, institution level, recomputed p50 / p99 | live fan-out, 1 page × 2 measures p50 / p99 |"
    );
    println!("|---|---|---|---|---|---|");
    for backend in backends {
        let mut nodes = Vec::new();
        let load = Instant::now();
        for (n, code) in CITIES.iter().enumerate() {
            let city = RegionCode::new(*code).context("a city code")?;
            let db = if backend == "SQLite" {
                DatabaseConfig::sqlite_file(&dir.path().join(format!("cmp-{code}.db")))
            } else {
                let name = format!("xingyi_bench_cmp_{code}");
                // (dropped again at the end of the run)
                DatabaseConfig {
                    url: store::admin::recreate_postgres_database(pg.trim_end_matches('/'), &name)
                        .await?,
                    // 11 nodes and two hubs × 11 replicas share the server's 100 connections.
                    max_connections: 2,
                }
            };
            let config = city_node::Config {
                graphql: crate::common::graphql_config(),
                city: Some(city),
                database: db.clone(),
                data_dir: dir.path().to_path_buf(),
                auth: crate::common::auth_config(),
                ..city_node::Config::default()
            };
            let state = city_node::build(&config).await?;
            fill(&state.store, city, &args, &catalogue).await?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            tokio::spawn(async move {
                if let Err(e) =
                    city_node::serve_state(state, &config, listener, std::future::pending()).await
                {
                    eprintln!("node stopped: {e}");
                }
            });
            nodes.push(province_hub::registry::NodeConfig {
                replica: db,
                ..province_hub::registry::NodeConfig::new(city, format!("http://{addr}/graphql"))
            });
            eprintln!("{backend}: city {} of 11 loaded", n + 1);
        }
        let rows = CITIES.len() * args.units * args.indicators * args.years as usize * 2;
        eprintln!(
            "{backend}: {rows} rows loaded in {:.0} s",
            load.elapsed().as_secs_f64()
        );
        let hub_db = if backend == "SQLite" {
            DatabaseConfig::sqlite_file(&dir.path().join("cmp-hub.db"))
        } else {
            DatabaseConfig {
                url: store::admin::recreate_postgres_database(
                    pg.trim_end_matches('/'),
                    "xingyi_bench_cmp_hub",
                )
                .await?,
                max_connections: 8,
            }
        };
        // Two hubs over the same replicas: one recomputing every comparison (cold), one with
        // the comparison cache (warm: nothing changed between requests).
        let mut urls = Vec::new();
        for (i, cache) in [0usize, 256].into_iter().enumerate() {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let hub_addr = listener.local_addr()?;
            let hub_config = province_hub::Config {
                listen: hub_addr,
                database: hub_db.clone(),
                data_dir: dir.path().join(format!("hub-{i}")),
                nodes: nodes.clone(),
                graphql: serving::GraphqlConfig {
                    max_complexity: 100_000,
                    ..crate::common::graphql_config()
                },
                compare_cache_entries: cache,
                auth: crate::common::auth_config(),
                ..province_hub::Config::default()
            };
            let hub = province_hub::build(&hub_config).await?;
            tokio::spawn(async move {
                if let Err(e) =
                    province_hub::serve_state(hub, &hub_config, listener, std::future::pending())
                        .await
                {
                    eprintln!("hub stopped: {e}");
                }
            });
            urls.push(format!("http://{hub_addr}/graphql"));
        }
        // The first two indicators and their composite (beds_added_total = beds_added +
        // icu_beds_added), evaluated at every level from its operands.
        let list = chosen
            .iter()
            .map(String::as_str)
            .chain(["beds_added_total"])
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let years = format!("{{ from: {}, to: 2025 }}", 2026 - args.years);
        let city_q = format!(
            "{{ compare(indicators: [{list}], years: {years}) {{ years cities {{ code freshness {{ stale }} cells {{ indicator year actual achievementRate target {{ comparator value }} }} spans {{ indicator actual targetPerYear {{ value }} target {{ comparator value }} }} }} provinceTotals {{ indicator year actual shareOfTotal }} provinceSpans {{ indicator actual target {{ comparator value }} }} rankings {{ indicator year entries {{ rank code }} }} }} }}"
        );
        let inst_q = format!(
            "{{ compare(indicators: [{list}], years: {years}, level: INSTITUTION) {{ cities {{ code cells {{ actual }} breakdown {{ id nameZh cells {{ indicator year actual achievementRate }} }} }} }} }}"
        );
        let live_q = format!(
            "{{ cities(consistency: LIVE) {{ code targets(filter: {{ indicator: \"{0}\" }}, first: 200) {{ totalCount nodes {{ value }} }} actuals(filter: {{ indicator: \"{0}\" }}, first: 200) {{ totalCount nodes {{ value }} }} }} }}",
            chosen[0]
        );
        let client = reqwest::Client::new();
        let (cold, warm) = (urls[0].as_str(), urls[1].as_str());
        let series = [
            (cold, city_q.as_str()),
            (warm, city_q.as_str()),
            (cold, inst_q.as_str()),
            (cold, live_q.as_str()),
        ];
        for (url, q) in &series {
            for _ in 0..20 {
                post(&client, url, q).await?;
            }
        }
        let mut h = [hist(), hist(), hist(), hist()];
        for _ in 0..args.requests {
            for (i, (url, q)) in series.iter().enumerate() {
                let took = post(&client, url, q).await?;
                h[i].record(took.as_micros().max(1) as u64)?;
            }
        }
        let cell = |h: &Histogram<u64>| {
            format!(
                "{} / {}",
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99))
            )
        };
        println!(
            "| {backend} | {rows} | {} | {} | {} | {} |",
            cell(&h[0]),
            cell(&h[1]),
            cell(&h[2]),
            cell(&h[3])
        );
        if backend == "PostgreSQL" {
            for code in CITIES {
                store::admin::drop_postgres_database(
                    pg.trim_end_matches('/'),
                    &format!("xingyi_bench_cmp_{code}"),
                )
                .await?;
            }
            store::admin::drop_postgres_database(pg.trim_end_matches('/'), "xingyi_bench_cmp_hub")
                .await?;
        }
    }
    Ok(())
}
