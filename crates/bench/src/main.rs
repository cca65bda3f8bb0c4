//! `xingyi-bench federation`: the hub's delegation measured against direct node calls.
//!
//! Starts K city nodes in this process (on loopback, each with its own SQLite file) and the hub
//! as a separate `xingyi hub` process (so its memory can be read from /proc), then measures:
//! (a) the same one-city query sent to the node directly and through the hub, interleaved in
//! the same run; (b) a query fanning out to K = 1, 2, 4, 8, 11 nodes; (c) 50 concurrent
//! clients; (d) the HTTP edge's own cost (token check, rate limits) on one node. Cities other than 运城 and 临汾 have no documents, so their nodes get **synthetic**
//! data (programme, units and plan items whose names start with `SYNTHETIC`), loaded only into
//! the benchmark's temporary databases.
//!
//! Run: `scripts/bench-federation.sh` (builds in release mode, writes a Markdown report).

mod common;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Parser;
use common::{hist, post, post_as};
use hdrhistogram::Histogram;
use model::{PlanCategory, PlanItem, Programme, RegionCode, Source, Unit, UnitKind};

// The same allocator as the `xingyi` binary, so the in-process nodes behave like real ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Options.
#[derive(Debug, Parser)]
struct Args {
    /// Requests per measured series (after warm-up).
    #[arg(long, default_value_t = 1000)]
    requests: usize,
    /// Concurrent clients for the throughput series.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// The `xingyi` binary to run the hub with (default: next to this binary).
    #[arg(long)]
    xingyi: Option<PathBuf>,
}

const ONE_CITY: &str = "units(first: 20) { totalCount nodes { id nameZh kind institution { nameZh } planItems(first: 5) { nodes { category text } } } }";

fn synthetic(city: RegionCode) -> (Vec<Programme>, Vec<Unit>, Vec<PlanItem>) {
    let src = Source {
        document: "synthetic".into(),
        quote: "SYNTHETIC benchmark data".into(),
    };
    let programme = Programme {
        id: "synthetic".into(),
        name_zh: format!("SYNTHETIC 合成基准项目 {city}"),
        name_en: format!("SYNTHETIC benchmark programme {city}"),
        issuer: "SYNTHETIC".into(),
        doc_number: "SYNTHETIC".into(),
        issued_on: "2020-01-01".into(),
        period: model::Period::years(2020, 2022).expect("a valid period"),
        relation: None,
        parent: None,
        summary_zh: None,
        summary_en: Some("Synthetic data for benchmarks only; not from any document.".into()),
        note: None,
        source: src,
    };
    let mut units = Vec::new();
    let mut items = Vec::new();
    for u in 0..5 {
        let id = format!("synthetic-unit-{u}");
        units.push(Unit {
            id: id.clone(),
            programme: "synthetic".into(),
            component: None,
            institution: None,
            kind: UnitKind::Specialty,
            name_zh: format!("SYNTHETIC 合成单元 {u}"),
            name_en: format!("SYNTHETIC unit {u}"),
            target_level: None,
            target_year: Some(2022),
            milestones: Vec::new(),
            note: None,
            source: None,
        });
        for year in 2020..=2022 {
            for c in [
                PlanCategory::Beds,
                PlanCategory::Talent,
                PlanCategory::Technology,
                PlanCategory::Research,
                PlanCategory::Outcome,
                PlanCategory::Funding,
            ] {
                items.push(PlanItem {
                    id: None,
                    unit: id.clone(),
                    period: model::Period::year(year).expect("a valid year"),
                    category: c,
                    text: format!("SYNTHETIC {year} {} task for unit {u}", c.as_str()),
                    ambiguous: false,
                    note: None,
                    source: None,
                });
            }
        }
    }
    (vec![programme], units, items)
}

async fn start_node(dir: &Path, city: RegionCode) -> anyhow::Result<SocketAddr> {
    start_node_with(
        dir,
        city,
        crate::common::graphql_config(),
        crate::common::auth_config(),
    )
    .await
}

async fn start_node_with(
    dir: &Path,
    city: RegionCode,
    graphql: serving::GraphqlConfig,
    auth: auth::AuthConfig,
) -> anyhow::Result<SocketAddr> {
    let config = city_node::Config {
        graphql,
        city: Some(city),
        data_dir: dir.to_path_buf(),
        auth,
        ..city_node::Config::default()
    };
    let state = city_node::build(&config).await?;
    if state.store.meta("seed").await?.is_none() {
        let (programmes, units, plan_items) = synthetic(city);
        let documents = [model::Document {
            id: "synthetic".into(),
            doc_number: None,
            title: "SYNTHETIC benchmark data".into(),
            issuer: "SYNTHETIC".into(),
            issued_on: "2020-01-01".into(),
            file: "none".into(),
        }];
        let batch = store::ImportBatch {
            documents: &documents,
            programmes: &programmes,
            units: &units,
            plan_items: &plan_items,
            ..Default::default()
        };
        state.store.import(batch, ("seed", "SYNTHETIC")).await?;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) =
            city_node::serve_state(state, &config, listener, std::future::pending()).await
        {
            eprintln!("node {city} stopped: {e}");
        }
    });
    Ok(addr)
}

struct Hub {
    child: tokio::process::Child,
    url: String,
}

/// CPU time (user + system) a process has used, from /proc (Linux; USER_HZ = 100).
fn cpu_ms(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

/// CPU used so far by the hub process and by this process (nodes + load generator).
struct CpuSample {
    hub: f64,
    rest: f64,
}

impl Hub {
    fn cpu(&self) -> CpuSample {
        let hub = self
            .child
            .id()
            .and_then(|p| cpu_ms(&p.to_string()))
            .unwrap_or(f64::NAN);
        CpuSample {
            hub,
            rest: cpu_ms("self").unwrap_or(f64::NAN),
        }
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        self.status_kib("VmHWM:")
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// `peak / current` RSS in MiB, for the memory line after each series.
    fn memory(&self) -> String {
        let mib =
            |k: Option<u64>| k.map_or("?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
        format!(
            "hub RSS peak / now: {} / {} MiB",
            mib(self.status_kib("VmHWM:")),
            mib(self.status_kib("VmRSS:"))
        )
    }
}

/// Interleaves each query between a hub with a feature on (`on`) and one without (`off`) and
/// prints their p50s and ratio.
async fn on_off(
    client: &reqwest::Client,
    feature: &str,
    on: &str,
    off: &str,
    queries: &[(&str, &String)],
    n: usize,
) -> anyhow::Result<()> {
    println!("| query | {feature} on p50 ms | off p50 ms | on/off |\n|---|---|---|---|");
    for (name, q) in queries {
        let r = interleaved(client, &[(on, q.as_str()), (off, q.as_str())], n).await?;
        println!(
            "| {name} | {} | {} | {:.3} |",
            ms(r[0].p50_us),
            ms(r[1].p50_us),
            r[0].p50_us as f64 / r[1].p50_us as f64
        );
    }
    println!();
    Ok(())
}

async fn start_hub(
    xingyi: &Path,
    dir: &Path,
    nodes: &[(RegionCode, SocketAddr)],
) -> anyhow::Result<Hub> {
    start_hub_with(xingyi, dir, nodes, "", &[]).await
}

/// [`start_hub`] with extra TOML appended to its config (e.g. `[metrics] enabled = false`) and
/// extra environment variables.
async fn start_hub_with(
    xingyi: &Path,
    dir: &Path,
    nodes: &[(RegionCode, SocketAddr)],
    extra: &str,
    env: &[(&str, String)],
) -> anyhow::Result<Hub> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let mut toml = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\nnode_timeout_ms = 10000\n\n[auth]\nsecret_file = \"{}\"\n\n[graphql.rate_limit]\nper_principal_per_s = 0\nper_address_per_s = 0\n",
        dir.display(),
        crate::common::auth_config().secret_file.display()
    );
    for (city, addr) in nodes {
        toml.push_str(&format!(
            "\n[[nodes]]\ncity = \"{city}\"\nurl = \"http://{addr}/graphql\"\n"
        ));
    }
    toml.push_str(extra);
    let config = dir.join(format!("hub-{port}.toml"));
    std::fs::write(&config, toml)?;
    let child = tokio::process::Command::new(xingyi)
        .args(["hub", "--config"])
        .arg(&config)
        .env("XINGYI_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", xingyi.display()))?;
    let url = format!("http://127.0.0.1:{port}/graphql");
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            .is_ok()
        {
            return Ok(Hub { child, url });
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("the hub did not come up")
}

#[derive(Debug)]
struct Stats {
    p50_us: u64,
    p99_us: u64,
    rps: f64,
}

fn stats(h: &Histogram<u64>, wall: Duration) -> Stats {
    Stats {
        p50_us: h.value_at_quantile(0.5),
        p99_us: h.value_at_quantile(0.99),
        rps: h.len() as f64 / wall.as_secs_f64(),
    }
}

/// Sends `n` requests, alternating between `series` (interleaved so both see the same noise).
async fn interleaved(
    client: &reqwest::Client,
    series: &[(&str, &str)],
    n: usize,
) -> anyhow::Result<Vec<Stats>> {
    let token = common::token();
    let series: Vec<(&str, &str, Option<&str>)> = series
        .iter()
        .map(|(u, q)| (*u, *q, Some(token.as_str())))
        .collect();
    interleaved_as(client, &series, n).await
}

/// [`interleaved`] with each series' own token (none: anonymous).
async fn interleaved_as(
    client: &reqwest::Client,
    series: &[(&str, &str, Option<&str>)],
    n: usize,
) -> anyhow::Result<Vec<Stats>> {
    for (url, q, t) in series {
        for _ in 0..50 {
            post_as(client, url, q, *t).await?;
        }
    }
    let mut hs: Vec<Histogram<u64>> = series.iter().map(|_| hist()).collect();
    let mut walls = vec![Duration::ZERO; series.len()];
    for _ in 0..n {
        for (i, (url, q, t)) in series.iter().enumerate() {
            let d = post_as(client, url, q, *t).await?;
            walls[i] += d;
            hs[i].record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))?;
        }
    }
    Ok(hs.iter().zip(walls).map(|(h, w)| stats(h, w)).collect())
}

/// (d) The edge's cost on one 运城 node: anonymous (anonymous reading on, no token to check)
/// vs a province admin token, both with rate limits checked (at a rate never reached), vs the
/// token on a node without rate limits.
async fn edge(
    client: &reqwest::Client,
    dir: &Path,
    plain_url: &str,
    requests: usize,
) -> anyhow::Result<()> {
    let never = serving::RateLimitConfig {
        per_principal_per_s: 1_000_000,
        principal_burst: 1_000_000,
        per_address_per_s: 1_000_000,
        address_burst: 1_000_000,
        exempt_addresses: Vec::new(),
    };
    let edge_dir = dir.join("edge");
    std::fs::create_dir_all(&edge_dir)?;
    let addr = start_node_with(
        &edge_dir,
        model::region::YUNCHENG,
        serving::GraphqlConfig {
            rate_limit: never,
            ..crate::common::graphql_config()
        },
        auth::AuthConfig {
            anonymous_read: true,
            ..crate::common::auth_config()
        },
    )
    .await?;
    let url = format!("http://{addr}/graphql");
    let token = common::token();
    let q = "{ owner { code } }";
    let r = interleaved_as(
        client,
        &[
            (url.as_str(), q, None),
            (url.as_str(), q, Some(token.as_str())),
            (plain_url, q, Some(token.as_str())),
        ],
        requests,
    )
    .await?;
    println!("## (d) The HTTP edge's cost (运城 node, `{{ owner {{ code }} }}`)\n");
    println!("| request | p50 ms | p99 ms | req/s (1 client) |\n|---|---|---|---|");
    for (label, s) in [
        ("anonymous, rate limits checked", &r[0]),
        ("HS256 token, rate limits checked", &r[1]),
        ("HS256 token, no rate limits", &r[2]),
    ] {
        println!(
            "| {label} | {} | {} | {:.0} |",
            ms(s.p50_us),
            ms(s.p99_us),
            s.rps
        );
    }
    println!(
        "\ntoken check: **{:+.3} ms** p50 (token − anonymous); rate limits: **{:+.3} ms** p50 (checked − none)\n",
        (r[1].p50_us as f64 - r[0].p50_us as f64) / 1000.0,
        (r[1].p50_us as f64 - r[2].p50_us as f64) / 1000.0
    );
    Ok(())
}

async fn concurrent(
    url: &str,
    query: &str,
    clients: usize,
    per_client: usize,
) -> anyhow::Result<Stats> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let tasks = (0..clients).map(|_| {
        let client = client.clone();
        async move {
            let mut h = hist();
            for _ in 0..per_client {
                let d = post(&client, url, query).await?;
                h.record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))?;
            }
            anyhow::Ok(h)
        }
    });
    let mut all = hist();
    for h in futures_util::future::join_all(tasks).await {
        all.add(h?)?;
    }
    Ok(stats(&all, started.elapsed()))
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let xingyi = match args.xingyi {
        Some(p) => p,
        None => std::env::current_exe()?.with_file_name("xingyi"),
    };
    let dir = tempfile::tempdir()?;
    let cities: Vec<RegionCode> = model::region::cities().map(|r| r.code).collect();
    let mut nodes = Vec::new();
    for city in &cities {
        nodes.push((*city, start_node(dir.path(), *city).await?));
    }
    let hub = start_hub(&xingyi, dir.path(), &nodes).await?;
    let client = reqwest::Client::new();
    let node_url = |c: RegionCode| {
        format!(
            "http://{}/graphql",
            nodes
                .iter()
                .find(|(x, _)| *x == c)
                .map(|(_, a)| *a)
                .expect("started")
        )
    };

    println!("# Federation benchmark\n");
    let after_start = hub.memory();
    println!(
        "{} requests per series after 50 warm-up requests; 2-core machine, everything on loopback; hub in its own process.\n",
        args.requests
    );

    // (a) one city, direct vs through the hub, interleaved.
    let yc = model::region::YUNCHENG;
    let direct_q = format!("{{ {ONE_CITY} }}");
    let hub_q = format!("{{ city(code: \"{yc}\") {{ {ONE_CITY} }} }}");
    let yc_url = node_url(yc);
    let c0 = hub.cpu();
    let r = interleaved(
        &client,
        &[(&yc_url, &direct_q), (&hub.url, &hub_q)],
        args.requests,
    )
    .await?;
    let c1 = hub.cpu();
    println!("## (a) One-city query: direct to the node vs through the hub\n");
    println!("| path | p50 ms | p99 ms | req/s (1 client) |\n|---|---|---|---|");
    println!(
        "| direct (运城 node) | {} | {} | {:.0} |",
        ms(r[0].p50_us),
        ms(r[0].p99_us),
        r[0].rps
    );
    println!(
        "| through the hub | {} | {} | {:.0} |",
        ms(r[1].p50_us),
        ms(r[1].p99_us),
        r[1].rps
    );
    println!(
        "\nhub/direct p50 ratio: **{:.2}** (target ≤ 1.10)",
        r[1].p50_us as f64 / r[0].p50_us as f64
    );
    let n = args.requests as f64 + 50.0;
    println!(
        "\nhub CPU per request through the hub: {:.2} ms\n",
        (c1.hub - c0.hub) / n
    );
    println!(
        "Memory — after start: {after_start}; after (a): {}\n",
        hub.memory()
    );

    // (a′) what metrics cost: a second hub over the same nodes with `/metrics` off (no
    // recorder: every measurement a no-op), interleaved with the first.
    {
        let quiet_dir = dir.path().join("no-metrics");
        std::fs::create_dir_all(&quiet_dir)?;
        let quiet = start_hub_with(
            &xingyi,
            &quiet_dir,
            &nodes,
            "\n[metrics]\nenabled = false\n",
            &[],
        )
        .await?;
        let cheap =
            format!("{{ city(code: \"{yc}\") {{ programmes {{ nodes {{ id nameZh }} }} }} }}");
        let queries = [("one-city", &hub_q), ("cheap (programmes)", &cheap)];
        println!("## (a′) The cost of metrics: hub with /metrics on vs off, interleaved\n");
        on_off(
            &client,
            "metrics",
            &hub.url,
            &quiet.url,
            &queries,
            args.requests,
        )
        .await?;
        // (a″) what exporting traces costs: a hub exporting every span over OTLP to a receiver
        // in this process that accepts and drops them, against the quiet hub (no exporter).
        let sink = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let sink_addr = sink.local_addr()?;
        tokio::spawn(async move {
            let app =
                axum::Router::new().route("/v1/traces", axum::routing::post(|| async { "{}" }));
            let _ = axum::serve(sink, app).await;
        });
        let traced_dir = dir.path().join("traced");
        std::fs::create_dir_all(&traced_dir)?;
        let traced = start_hub_with(
            &xingyi,
            &traced_dir,
            &nodes,
            "\n[metrics]\nenabled = false\n",
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{sink_addr}"))],
        )
        .await?;
        println!("## (a″) The cost of traces: hub exporting spans over OTLP vs not, interleaved\n");
        on_off(
            &client,
            "traces",
            &traced.url,
            &quiet.url,
            &queries,
            args.requests,
        )
        .await?;
    }

    // (b) fan-out to K nodes, one series per K so CPU can be attributed.
    println!("## (b) Fan-out to K nodes\n");
    println!(
        "| K | p50 ms | p99 ms | req/s (1 client) | hub CPU ms/req | nodes + client CPU ms/req |\n|---|---|---|---|---|---|"
    );
    let mut series = Vec::new();
    for k in [1usize, 2, 4, 8, 11] {
        let codes: Vec<String> = cities.iter().take(k).map(|c| format!("\"{c}\"")).collect();
        series.push(format!(
            "{{ cities(codes: [{}]) {{ code units(first: 5) {{ totalCount nodes {{ nameZh }} }} planItems(first: 10) {{ nodes {{ text }} }} }} }}",
            codes.join(", ")
        ));
    }
    let mut p50s = Vec::new();
    for (k, q) in [1usize, 2, 4, 8, 11].iter().zip(&series) {
        let c0 = hub.cpu();
        let r = interleaved(&client, &[(hub.url.as_str(), q.as_str())], args.requests).await?;
        let c1 = hub.cpu();
        println!(
            "| {k} | {} | {} | {:.0} | {:.2} | {:.2} |",
            ms(r[0].p50_us),
            ms(r[0].p99_us),
            r[0].rps,
            (c1.hub - c0.hub) / n,
            (c1.rest - c0.rest) / n
        );
        p50s.push(r[0].p50_us);
    }
    println!(
        "\n11-node / 1-node p50 ratio: **{:.2}** (target ≤ 1.3)\n",
        p50s[4] as f64 / p50s[0] as f64
    );
    println!("Memory after (b): {}\n", hub.memory());

    // (c) concurrency.
    let per_client = (args.requests / 10).max(20);
    println!(
        "## (c) {} concurrent clients, {per_client} requests each\n",
        args.clients
    );
    println!("| query | p50 ms | p99 ms | req/s |\n|---|---|---|---|");
    let s = concurrent(&yc_url, &direct_q, args.clients, per_client).await?;
    println!(
        "| one city, direct | {} | {} | {:.0} |",
        ms(s.p50_us),
        ms(s.p99_us),
        s.rps
    );
    let s = concurrent(&hub.url, &hub_q, args.clients, per_client).await?;
    println!(
        "| one city, through the hub | {} | {} | {:.0} |",
        ms(s.p50_us),
        ms(s.p99_us),
        s.rps
    );
    let after_one_city = hub.memory();
    let s = concurrent(&hub.url, &series[4], args.clients, per_client).await?;
    println!(
        "| 11-city fan-out | {} | {} | {:.0} |",
        ms(s.p50_us),
        ms(s.p99_us),
        s.rps
    );
    println!(
        "\nMemory after 50 clients, one city: {after_one_city}; after the 11-city fan-out: {}",
        hub.memory()
    );
    println!();
    edge(&client, dir.path(), &yc_url, args.requests).await?;

    match hub.peak_rss_kib() {
        Some(kib) => println!(
            "\nhub peak RSS (VmHWM) after all series: **{:.1} MiB** (target ≤ 64 MiB)",
            kib as f64 / 1024.0
        ),
        None => println!("\nhub peak RSS: not available (no /proc)"),
    }
    Ok(())
}
