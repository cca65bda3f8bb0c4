//! `xingyi-fault`: the reliability suite. Real `xingyi` processes on loopback (a hub, the 运城
//! node, a second hub on PostgreSQL), put through what a bad day in operations brings, and
//! counted: writes the node acknowledged that the replica lacks (**lost**), rows the replica
//! holds twice (**duplicated**), tables whose digests differ after catch-up (**diverged**),
//! and failed requests (**errors**).
//!
//! - `hub-kill`: the hub killed with SIGKILL and restarted, again and again, under writes.
//! - `node-restore`: the node's database replaced by an older copy in the middle of writes.
//! - `two-hubs`: two hubs on one PostgreSQL; the one the node pushes to is killed under writes
//!   while readers use the other.
//! - `soak`: many clients on the hub for a while, its memory sampled every second.
//!
//! Run: `scripts/fault-suite.sh` (release build; `--short` for the bounded variant CI runs).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use serde_json::{Value, json};

/// Options.
#[derive(Debug, Parser)]
struct Args {
    /// The bounded variant (fewer writes and kills, a 10 s soak).
    #[arg(long)]
    short: bool,
    /// The `xingyi` binary (default: next to this binary).
    #[arg(long)]
    xingyi: Option<PathBuf>,
    /// PostgreSQL server for the two-hub scenario (`off` skips it).
    #[arg(
        long,
        env = "XINGYI_TEST_PG",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pg: String,
    /// Scenarios to run (default: all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// How big each scenario is.
#[derive(Debug, Clone, Copy)]
struct Size {
    writes: usize,
    kills: usize,
    soak: Duration,
    clients: usize,
}

/// What one scenario found.
#[derive(Debug, Default)]
struct Outcome {
    name: &'static str,
    detail: String,
    writes: usize,
    lost: usize,
    duplicated: usize,
    diverged: usize,
    errors: u64,
    took: Duration,
}

/// A running `xingyi`, killed (SIGKILL) when dropped.
struct Proc {
    child: Child,
}

impl Proc {
    fn spawn(bin: &Path, args: &[&str], config: &Path, log: &Path) -> anyhow::Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let child = Command::new(bin)
            .args(args)
            .arg("--config")
            .arg(config)
            .env("XINGYI_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} {args:?}", bin.display()))?;
        Ok(Self { child })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The servers of one scenario: a directory, the shared secret, ports and configs.
struct Rig {
    bin: PathBuf,
    dir: tempfile::TempDir,
    client: reqwest::Client,
    node: u16,
    editor: String,
    admin: String,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Rig {
    fn new(bin: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let secret = dir.path().join("jwt-secret");
        let key = auth::load_or_create_secret(&secret)?;
        let signer = auth::Signer::hs256(&key, &auth::AuthConfig::default());
        let hour = Duration::from_secs(3600);
        let editor = signer.issue(
            "fault-editor",
            auth::Role::CityAdmin,
            Some(model::region::YUNCHENG),
            hour,
        )?;
        let admin = signer.issue("fault-admin", auth::Role::ProvinceAdmin, None, hour)?;
        Ok(Self {
            bin: bin.to_owned(),
            dir,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            node: free_port()?,
            editor,
            admin,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a hub's config; `databases`: the hub's and the 运城 replica's URLs (empty: SQLite
    /// files in the hub's data directory).
    fn hub_config(
        &self,
        port: u16,
        data: &str,
        databases: (&str, &str),
    ) -> anyhow::Result<PathBuf> {
        let file = self.path(&format!("hub-{port}.toml"));
        std::fs::write(
            &file,
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
                data = self.path(data).display(),
                hub_db = databases.0,
                replica_db = databases.1,
                secret = self.path("jwt-secret").display(),
                node = self.node,
            ),
        )?;
        Ok(file)
    }

    fn node_config(&self, hubs: &[u16]) -> anyhow::Result<PathBuf> {
        let file = self.path("node.toml");
        let hub_url: Vec<String> = hubs
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect();
        std::fs::write(
            &file,
            format!(
                r#"city = "140800"
listen = "127.0.0.1:{port}"
data_dir = "{data}"
[graphql.rate_limit]
per_principal_per_s = 0
per_address_per_s = 0
[sync]
hub_url = "{hub_url}"
interval_ms = 20
heartbeat_ms = 200
max_backoff_ms = 300
timeout_ms = 2000
verify_ms = 1000
[auth]
secret_file = "{secret}"
"#,
                port = self.node,
                data = self.path("node").display(),
                hub_url = hub_url.join(", "),
                secret = self.path("jwt-secret").display(),
            ),
        )?;
        Ok(file)
    }

    fn start_hub(&self, config: &Path) -> anyhow::Result<Proc> {
        Proc::spawn(&self.bin, &["hub"], config, &self.path("hub.log"))
    }

    fn start_node(&self) -> anyhow::Result<Proc> {
        Proc::spawn(
            &self.bin,
            &["node", "--city", "140800"],
            &self.path("node.toml"),
            &self.path("node.log"),
        )
    }

    async fn wait_up(&self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = self
                .client
                .get(format!("http://127.0.0.1:{port}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "port {port} never came up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn post(
        &self,
        port: u16,
        token: &str,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let body: Value = self
            .client
            .post(format!("http://127.0.0.1:{port}/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?
            .json()
            .await?;
        if let Some(e) = body.get("errors") {
            bail!("errors from port {port}: {e}");
        }
        Ok(body)
    }

    /// Creates the unit named `name` at the node; true when the node acknowledged it.
    async fn write(&self, name: &str) -> bool {
        self.post(
            self.node,
            &self.editor,
            r#"mutation($zh: String!, $en: String!) { createUnit(input: { programmeId: "Programme:140800:yc-lead-specialties",
                institutionId: "Institution:140800:yc-central-hospital", kind: SPECIALTY,
                nameZh: $zh, nameEn: $en }) { id } }"#,
            json!({ "zh": name, "en": name }),
        )
        .await
        .is_ok_and(|r| r["data"]["createUnit"]["id"].is_string())
    }

    /// Every unit name, at the node (`hub` none) or in the hub's replica.
    async fn unit_names(&self, hub: Option<u16>) -> anyhow::Result<Vec<String>> {
        let mut names = Vec::new();
        let mut after = Value::Null;
        loop {
            let (port, query, at) = match hub {
                None => (
                    self.node,
                    "query($after: String) { units(first: 200, after: $after) { nodes { nameEn } pageInfo { hasNextPage endCursor } } }",
                    "/data/units",
                ),
                Some(p) => (
                    p,
                    r#"query($after: String) { city(code: "140800", consistency: REPLICA) { units(first: 200, after: $after) { nodes { nameEn } pageInfo { hasNextPage endCursor } } } }"#,
                    "/data/city/units",
                ),
            };
            let r = self
                .post(port, &self.admin, query, json!({ "after": after }))
                .await?;
            let page = r.pointer(at).context("no units in the answer")?;
            for n in page["nodes"].as_array().context("no unit list")? {
                names.push(n["nameEn"].as_str().unwrap_or_default().to_owned());
            }
            if page["pageInfo"]["hasNextPage"] != true {
                return Ok(names);
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
    }

    /// Waits until the replica at `hub` has applied everything the node committed.
    async fn caught_up(&self, hub: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self
                .post(
                    hub,
                    &self.admin,
                    r#"{ city(code: "140800") { sync { nodeSeq appliedSeq diverged } } }"#,
                    Value::Null,
                )
                .await;
            if let Ok(r) = &r {
                let s = &r["data"]["city"]["sync"];
                if s["nodeSeq"].is_string()
                    && s["nodeSeq"] == s["appliedSeq"]
                    && s["diverged"].is_null()
                {
                    // One more round, so a digest comparison in flight finishes.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    return Ok(());
                }
            }
            ensure!(
                Instant::now() < deadline,
                "the replica never caught up: {r:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `xingyi sync verify`: tables whose digests differ.
    fn diverged(&self, hub: u16) -> anyhow::Result<usize> {
        let out = Command::new(&self.bin)
            .args(["sync", "verify", "--city", "140800", "--node"])
            .arg(format!("http://127.0.0.1:{}", self.node))
            .arg("--hub")
            .arg(format!("http://127.0.0.1:{hub}"))
            .arg("--token")
            .arg(&self.admin)
            .output()?;
        let report: Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "verify printed no report: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let tables = report["tables"]
            .as_array()
            .context("no tables in the report")?;
        let mut differ = tables.iter().filter(|t| t["same"] != true).count();
        if report["node_seq"] != report["replica_seq"] {
            differ += 1;
        }
        Ok(differ)
    }

    /// Lost, duplicated and diverged, after catch-up, for the writes named `acked`.
    async fn count(&self, hub: u16, acked: &[String], outcome: &mut Outcome) -> anyhow::Result<()> {
        self.caught_up(hub).await?;
        let replica = self.unit_names(Some(hub)).await?;
        let mut seen = std::collections::BTreeMap::<&str, usize>::new();
        for n in &replica {
            *seen.entry(n.as_str()).or_default() += 1;
        }
        outcome.lost = acked
            .iter()
            .filter(|n| !seen.contains_key(n.as_str()))
            .count();
        outcome.duplicated = seen.values().map(|c| c - 1).sum();
        outcome.diverged = self.diverged(hub)?;
        Ok(())
    }
}

/// The hub killed with SIGKILL and restarted `size.kills` times while the node takes writes:
/// each time once it is up again and has been applying pushes for a moment (a varying one, so
/// the kills land at different points of an apply).
async fn hub_kill(bin: &Path, size: Size) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let rig = Arc::new(Rig::new(bin)?);
    let hub_port = free_port()?;
    let hub_cfg = rig.hub_config(hub_port, "hub", ("", ""))?;
    rig.node_config(&[hub_port])?;
    let mut hub = rig.start_hub(&hub_cfg)?;
    rig.wait_up(hub_port).await?;
    let _node = rig.start_node()?;
    rig.wait_up(rig.node).await?;
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (rig, writing) = (rig.clone(), writing.clone());
        tokio::spawn(async move {
            let (mut acked, mut errors) = (Vec::new(), 0u64);
            for i in 0..size.writes {
                let name = format!("fault-kill-{i}");
                if rig.write(&name).await {
                    acked.push(name);
                } else {
                    errors += 1;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            writing.store(false, Ordering::Relaxed);
            (acked, errors)
        })
    };
    let mut kills = 0;
    while kills < size.kills && writing.load(Ordering::Relaxed) {
        rig.wait_up(hub_port).await?;
        tokio::time::sleep(Duration::from_millis(40 + (kills as u64 * 37) % 160)).await;
        hub.kill();
        kills += 1;
        hub = rig.start_hub(&hub_cfg)?;
    }
    let (acked, errors) = writer.await?;
    rig.wait_up(hub_port).await?;
    let mut outcome = Outcome {
        name: "hub-kill",
        detail: format!(
            "hub SIGKILLed and restarted {kills} times under {} writes at the node (SQLite)",
            size.writes
        ),
        writes: acked.len(),
        errors,
        ..Outcome::default()
    };
    rig.count(hub_port, &acked, &mut outcome).await?;
    outcome.took = started.elapsed();
    drop(hub);
    Ok(outcome)
}

/// Copies a stopped node's SQLite files (database, WAL, shared memory).
fn copy_db(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().contains(".db") {
            std::fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

/// Writes `fault-restore-<i>` for each `i`; returns how many the node refused.
async fn write_range(rig: &Rig, range: std::ops::Range<usize>) -> u64 {
    let mut refused = 0;
    for i in range {
        if !rig.write(&format!("fault-restore-{i}")).await {
            refused += 1;
        }
    }
    refused
}

/// The node's database replaced by an older copy in the middle of writes.
async fn node_restore(bin: &Path, size: Size) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let rig = Rig::new(bin)?;
    let hub_port = free_port()?;
    let hub_cfg = rig.hub_config(hub_port, "hub", ("", ""))?;
    rig.node_config(&[hub_port])?;
    let _hub = rig.start_hub(&hub_cfg)?;
    rig.wait_up(hub_port).await?;
    let mut node = rig.start_node()?;
    rig.wait_up(rig.node).await?;
    let mut errors = 0;
    let third = size.writes / 3;
    errors += write_range(&rig, 0..third).await;
    rig.caught_up(hub_port).await?;
    node.kill();
    copy_db(&rig.path("node"), &rig.path("backup"))?;
    node = rig.start_node()?;
    rig.wait_up(rig.node).await?;
    // Written after the backup, reach the replica, then lost with the node's disk.
    errors += write_range(&rig, third..2 * third).await;
    rig.caught_up(hub_port).await?;
    node.kill();
    std::fs::remove_dir_all(rig.path("node"))?;
    copy_db(&rig.path("backup"), &rig.path("node"))?;
    node = rig.start_node()?;
    rig.wait_up(rig.node).await?;
    // New writes on the restored database reuse sequence numbers the hub already applied.
    errors += write_range(&rig, 2 * third..size.writes).await;
    // What the restored node holds is the truth now.
    let held: Vec<String> = rig
        .unit_names(None)
        .await?
        .into_iter()
        .filter(|n| n.starts_with("fault-restore-"))
        .collect();
    let mut outcome = Outcome {
        name: "node-restore",
        detail: format!(
            "node restored from a copy taken after {third} of {} writes, {third} written since then lost with it",
            size.writes
        ),
        writes: held.len(),
        errors,
        ..Outcome::default()
    };
    rig.count(hub_port, &held, &mut outcome).await?;
    let replica = rig.unit_names(Some(hub_port)).await?;
    // The lost writes must not linger in the replica either.
    outcome.duplicated += replica
        .iter()
        .filter(|n| n.starts_with("fault-restore-") && !held.contains(n))
        .count();
    outcome.took = started.elapsed();
    drop(node);
    Ok(outcome)
}

/// Two hubs on one PostgreSQL; the one the node pushes to is killed under writes while
/// readers use the other.
async fn two_hubs(bin: &Path, size: Size, pg: &str) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let hub_db = store::admin::recreate_postgres_database(pg, "xy_fault_hub").await?;
    let replica_db = store::admin::recreate_postgres_database(pg, "xy_fault_yc").await?;
    let rig = Arc::new(Rig::new(bin)?);
    let (a, b) = (free_port()?, free_port()?);
    let cfg_a = rig.hub_config(a, "hub-a", (&hub_db, &replica_db))?;
    let cfg_b = rig.hub_config(b, "hub-b", (&hub_db, &replica_db))?;
    rig.node_config(&[a, b])?;
    let hub_a = rig.start_hub(&cfg_a)?;
    let hub_b = rig.start_hub(&cfg_b)?;
    rig.wait_up(a).await?;
    rig.wait_up(b).await?;
    let _node = rig.start_node()?;
    rig.wait_up(rig.node).await?;
    rig.caught_up(b).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let read_errors = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (rig, stop, read_errors) = (rig.clone(), stop.clone(), read_errors.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let r = rig
                        .post(
                            b,
                            &rig.admin,
                            r#"{ city(code: "140800") { freshness { answeredBy } units { totalCount } } }"#,
                            Value::Null,
                        )
                        .await;
                    if r.is_err() {
                        read_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect();
    let mut acked = Vec::new();
    let mut errors = 0;
    let mut hub_a = Some(hub_a);
    for i in 0..size.writes {
        if i == size.writes / 3
            && let Some(h) = hub_a.take()
        {
            h.kill();
        }
        let name = format!("fault-two-{i}");
        if rig.write(&name).await {
            acked.push(name);
        } else {
            errors += 1;
        }
    }
    let mut outcome = Outcome {
        name: "two-hubs",
        detail: format!(
            "two hubs on one PostgreSQL, the pushed-to one SIGKILLed after {} of {} writes, 4 readers on the other",
            size.writes / 3,
            size.writes
        ),
        writes: acked.len(),
        ..Outcome::default()
    };
    rig.count(b, &acked, &mut outcome).await?;
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await?;
    }
    outcome.errors = errors + read_errors.load(Ordering::Relaxed);
    outcome.took = started.elapsed();
    drop(hub_b);
    Ok(outcome)
}

/// Resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// `size.clients` clients on the hub for `size.soak` (live, replica and comparison queries, and
/// writes at the node), the hub's memory sampled every second.
async fn soak(bin: &Path, size: Size) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let rig = Arc::new(Rig::new(bin)?);
    let hub_port = free_port()?;
    let hub_cfg = rig.hub_config(hub_port, "hub", ("", ""))?;
    rig.node_config(&[hub_port])?;
    let hub = rig.start_hub(&hub_cfg)?;
    rig.wait_up(hub_port).await?;
    let _node = rig.start_node()?;
    rig.wait_up(rig.node).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let queries = [
        r#"{ city(code: "140800", consistency: LIVE) { units(first: 20) { nodes { id nameZh } } } }"#,
        r#"{ city(code: "140800", consistency: REPLICA) { units(first: 20) { nodes { id nameZh } } } }"#,
        r#"{ compare(indicators: ["beds_added"], years: { from: 2020, to: 2022 }) { cities { code } provinceTotals { year } } }"#,
    ];
    let clients: Vec<_> = (0..size.clients)
        .map(|c| {
            let (rig, stop, done, failed) =
                (rig.clone(), stop.clone(), done.clone(), failed.clone());
            tokio::spawn(async move {
                let mut i = c;
                let mut first_error = None;
                while !stop.load(Ordering::Relaxed) {
                    let r = if c == 0 {
                        rig.write(&format!("fault-soak-{i}"))
                            .await
                            .then_some(())
                            .context("write refused")
                    } else {
                        rig.post(
                            hub_port,
                            &rig.admin,
                            queries[i % queries.len()],
                            Value::Null,
                        )
                        .await
                        .map(|_| ())
                    };
                    done.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = r {
                        failed.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert(e.to_string());
                    }
                    i += size.clients;
                }
                first_error
            })
        })
        .collect();
    let mut samples = Vec::new();
    let end = Instant::now() + size.soak;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.extend(rss_mib(hub.pid()));
    }
    stop.store(true, Ordering::Relaxed);
    let mut first_error = None;
    for c in clients {
        if let Some(e) = c.await? {
            first_error.get_or_insert(e);
        }
    }
    let (first, last) = (
        samples.first().copied().unwrap_or(0.0),
        samples.last().copied().unwrap_or(0.0),
    );
    let peak = samples.iter().copied().fold(0.0, f64::max);
    let requests = done.load(Ordering::Relaxed);
    let outcome = Outcome {
        name: "soak",
        detail: format!(
            "{} clients for {} s: {requests} requests ({:.0}/s); hub RSS first {first:.1} / peak {peak:.1} / last {last:.1} MiB{}",
            size.clients,
            size.soak.as_secs(),
            requests as f64 / size.soak.as_secs_f64(),
            first_error
                .map(|e| format!("; first error: {e}"))
                .unwrap_or_default()
        ),
        errors: failed.load(Ordering::Relaxed),
        took: started.elapsed(),
        ..Outcome::default()
    };
    drop(hub);
    Ok(outcome)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = match args.xingyi {
        Some(b) => b,
        None => std::env::current_exe()?
            .parent()
            .context("the benchmark binary has no directory")?
            .join("xingyi"),
    };
    ensure!(
        bin.exists(),
        "no xingyi binary at {} (build it, or pass --xingyi)",
        bin.display()
    );
    let size = if args.short {
        Size {
            writes: 60,
            kills: 3,
            soak: Duration::from_secs(10),
            clients: 20,
        }
    } else {
        Size {
            writes: 2000,
            kills: 20,
            soak: Duration::from_secs(60),
            clients: 50,
        }
    };
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let mut outcomes = Vec::new();
    if wanted("hub-kill") {
        outcomes.push(hub_kill(&bin, size).await.context("hub-kill")?);
    }
    if wanted("node-restore") {
        outcomes.push(node_restore(&bin, size).await.context("node-restore")?);
    }
    if wanted("two-hubs") {
        if args.pg == "off" {
            eprintln!("two-hubs skipped: no PostgreSQL (XINGYI_TEST_PG=off)");
        } else {
            outcomes.push(two_hubs(&bin, size, &args.pg).await.context("two-hubs")?);
        }
    }
    if wanted("soak") {
        outcomes.push(soak(&bin, size).await.context("soak")?);
    }
    println!("| scenario | what | writes kept | lost | duplicated | diverged | errors | took |");
    println!("|---|---|---|---|---|---|---|---|");
    for o in &outcomes {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} s |",
            o.name,
            o.detail,
            o.writes,
            o.lost,
            o.duplicated,
            o.diverged,
            o.errors,
            o.took.as_secs_f64()
        );
    }
    let bad: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.lost + o.duplicated + o.diverged > 0 || o.errors > 0)
        .map(|o| o.name)
        .collect();
    ensure!(
        bad.is_empty(),
        "the suite found faults in: {}",
        bad.join(", ")
    );
    Ok(())
}
