//! The `xingyi` command line: parsing, configuration layering, tracing set-up and the local
//! federation. It holds no domain logic: every subcommand calls a server crate's `serve`.
//!
//! # Layout
//! - [`Cli`], [`Command`]: the arguments.
//! - [`config`]: layered configuration.
//! - [`local`]: `xingyi local`.
//! - [`run`]: dispatches a parsed command.

pub mod config;
pub mod local;

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use model::RegionCode;

/// 兴医 xingyi — Shanxi's “136” programme tracker: a province hub federating city nodes.
#[derive(Debug, Parser)]
#[command(name = "xingyi", version, about)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, env = "XINGYI_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub and the 运城 and 临汾 nodes locally, each with its own SQLite file, seeded.
    Local {
        /// Directory for the SQLite files.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Hub port.
        #[arg(long, default_value_t = province_hub::DEFAULT_PORT)]
        hub_port: u16,
        /// 运城 (140800) node port.
        #[arg(long, default_value_t = 8608)]
        yuncheng_port: u16,
        /// 临汾 (141000) node port.
        #[arg(long, default_value_t = 8610)]
        linfen_port: u16,
    },
    /// Run the province hub.
    Hub {
        /// TOML config file (see config/hub.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (overrides the config).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Data directory (overrides the config).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run one city's node.
    Node {
        /// The city's GB/T 2260 code, e.g. 140800 (运城) or 141000 (临汾).
        #[arg(long)]
        city: Option<RegionCode>,
        /// TOML config file (see config/node-yuncheng.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (overrides the config; default port 86xx from the city code).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Data directory (overrides the config).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Instead of serving: a maintenance task on the node's database.
        #[command(subcommand)]
        task: Option<NodeTask>,
    },
    /// Issue a token (JWT) for an operator, a service or a test, and print it.
    ///
    /// HS256 (the default): signed with the secret in `--data-dir` (`jwt-secret`, created on
    /// first start of any server there) or `--secret-file`. RS256/EdDSA: `--key` (PEM private
    /// key) and `--kid` (the key's id in the JWKS the servers read).
    Token {
        /// `province_admin`, `province_viewer`, `city_admin`, `city_editor` or `node`.
        #[arg(long)]
        role: auth::Role,
        /// The city of a city role or node (e.g. 140800).
        #[arg(long)]
        city: Option<RegionCode>,
        /// Who the token is for (recorded in the audit trail).
        #[arg(long)]
        sub: String,
        /// Lifetime in hours.
        #[arg(long, default_value_t = 8)]
        hours: u64,
        /// Data directory holding the HS256 secret.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// The HS256 secret's file (overrides `--data-dir`).
        #[arg(long)]
        secret_file: Option<PathBuf>,
        /// `HS256`, `RS256` or `EdDSA`.
        #[arg(long, default_value = "HS256")]
        algorithm: String,
        /// PEM private key (RS256/EdDSA).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Key id (RS256/EdDSA).
        #[arg(long)]
        kid: Option<String>,
        /// `iss` (must match the servers' `auth.issuer`).
        #[arg(long, default_value = "xingyi")]
        issuer: String,
        /// `aud` (must match the servers' `auth.audience`).
        #[arg(long, default_value = "xingyi")]
        audience: String,
    },
    /// Check that a server answers: GET the URL (e.g. `http://127.0.0.1:8600/health`) and exit
    /// 0 on a 2xx answer, 1 otherwise — for container health checks, where no `curl` is
    /// installed.
    Probe {
        /// The URL to GET.
        url: String,
        /// How long to wait for the answer.
        #[arg(long, default_value_t = 3000)]
        timeout_ms: u64,
    },
    /// Upward sync tools.
    Sync {
        /// What to do.
        #[command(subcommand)]
        command: SyncCommand,
    },
}

/// `xingyi node … <task>`.
#[derive(Debug, Subcommand)]
pub enum NodeTask {
    /// Rebuild the node's database from the hub's replica of its city (the province's copy),
    /// with a new sync history, for a node whose database and backups are lost. The node's
    /// `--city`, `--config` and `--data-dir` come before `restore`; start the node afterwards.
    Restore {
        /// The hub's base URL (default: the config's `sync.hub_url`).
        #[arg(long)]
        from_hub: Option<String>,
        /// The city's `node` token or a `province_admin` token (default: `sync.token`).
        #[arg(long, env = "XINGYI_SYNC__TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Replace a database that already holds changes (they are lost).
        #[arg(long)]
        replace: bool,
    },
}

/// `xingyi sync …`.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Compare a node's tables with the hub's replica of it, digest by digest, and name the
    /// rows that differ. Prints a JSON report; exits with status 1 when they differ.
    Verify {
        /// The city's GB/T 2260 code.
        #[arg(long)]
        city: RegionCode,
        /// The node's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8608")]
        node: String,
        /// The hub's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8600")]
        hub: String,
        /// A token for both: `province_admin`, or the city's `node` token.
        #[arg(long, env = "XINGYI_SYNC__TOKEN", hide_env_values = true)]
        token: String,
    },
}

/// Flushes exported spans when dropped (at the end of `main`).
#[derive(Debug, Default)]
pub struct TracingGuard(Option<opentelemetry_sdk::trace::SdkTracerProvider>);

impl Drop for TracingGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("exporting the last spans failed: {e}");
        }
    }
}

/// Installs the tracing subscriber (stderr; `XINGYI_LOG` or `RUST_LOG` filter, default `info`)
/// and, when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set, exports
/// spans over OTLP/HTTP (JSON) with W3C trace-context propagation. Otherwise nothing is exported
/// and no trace headers are sent.
pub fn init_tracing(format: LogFormat) -> TracingGuard {
    use std::io::IsTerminal as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = std::env::var("XINGYI_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn".to_owned());
    // Colours only for a person at a terminal, never into a file or a log collector.
    let ansi = std::io::stderr().is_terminal();
    // Built off the async runtime: the exporter's HTTP client is a blocking one, which may
    // not be created inside it.
    let built = std::thread::spawn(otlp_provider)
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the OTLP exporter panicked while starting")));
    let (otel, provider) = match built {
        Ok(Some(provider)) => {
            use opentelemetry::trace::TracerProvider as _;
            let tracer = provider.tracer("xingyi");
            (
                Some(tracing_opentelemetry::layer().with_tracer(tracer)),
                Some(provider),
            )
        }
        Ok(None) => (None, None),
        Err(e) => {
            eprintln!("traces are not exported: {e}");
            (None, None)
        }
    };
    let registry = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new(filter))
        .with(otel);
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => registry.with(fmt).init(),
        LogFormat::Json => registry.with(fmt.json()).init(),
    }
    TracingGuard(provider)
}

/// The OTLP span exporter's provider, when an endpoint is configured (the exporter reads the
/// standard `OTEL_*` variables itself: endpoint, headers, timeout).
fn otlp_provider() -> anyhow::Result<Option<opentelemetry_sdk::trace::SdkTracerProvider>> {
    use opentelemetry_otlp::WithExportConfig as _;
    let configured = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|v| !v.trim().is_empty()));
    if !configured {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpJson)
        .build()
        .context("building the OTLP span exporter")?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "xingyi".to_owned());
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .with_batch_exporter(exporter)
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    Ok(Some(provider))
}

async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// Runs a parsed command until it stops or a shutdown signal arrives.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Local {
            data_dir,
            host,
            hub_port,
            yuncheng_port,
            linfen_port,
        } => {
            let opts = local::LocalOptions {
                data_dir,
                host,
                hub_port,
                yuncheng_port,
                linfen_port,
            };
            let fed = local::start(&opts).await?;
            println!(
                "xingyi local federation is up (data in {}):",
                opts.data_dir.display()
            );
            for line in fed.describe() {
                println!("  {line}");
            }
            fed.run_until(serving::shutdown_signal()).await
        }
        Command::Hub {
            config,
            listen,
            data_dir,
        } => {
            let mut cfg: province_hub::Config = config::load(config.as_deref())?;
            if let Some(l) = listen {
                cfg.listen = l;
            }
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            let listener = bind(cfg.listen).await?;
            province_hub::serve(cfg, listener, serving::shutdown_signal())
                .await
                .context("the hub stopped")
        }
        Command::Node {
            city,
            config,
            listen,
            data_dir,
            task,
        } => {
            let mut cfg: city_node::Config = config::load(config.as_deref())?;
            if city.is_some() {
                cfg.city = city;
            }
            let code = cfg
                .city
                .context("no city: pass --city 140800 or set `city` in the config file")?;
            if let Some(l) = listen {
                cfg.listen = l;
            } else if cfg.listen.port() == 0 {
                cfg.listen.set_port(city_node::Config::default_port(code));
            }
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            if let Some(NodeTask::Restore {
                from_hub,
                token,
                replace,
            }) = task
            {
                if let Some(hub) = from_hub {
                    cfg.sync.hub_url = hub;
                }
                if let Some(token) = token {
                    cfg.sync.token = token;
                }
                let restored = city_node::restore_from_hub(&cfg, replace)
                    .await
                    .with_context(|| format!("rebuilding {code}'s node from the hub"))?;
                println!("{}", serde_json::to_string_pretty(&restored)?);
                return Ok(());
            }
            let listener = bind(cfg.listen).await?;
            city_node::serve(cfg, listener, serving::shutdown_signal())
                .await
                .context("the node stopped")
        }
        Command::Probe { url, timeout_ms } => {
            let answer = reqwest::Client::builder()
                .timeout(std::time::Duration::from_millis(timeout_ms.max(1)))
                .build()?
                .get(&url)
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            let status = answer.status();
            if !status.is_success() {
                let body = answer.text().await.unwrap_or_default();
                anyhow::bail!("GET {url}: {status} {}", body.trim());
            }
            Ok(())
        }
        Command::Token {
            role,
            city,
            sub,
            hours,
            data_dir,
            secret_file,
            algorithm,
            key,
            kid,
            issuer,
            audience,
        } => {
            let config = auth::AuthConfig {
                issuer,
                audience,
                ..auth::AuthConfig::default()
            };
            let algorithm: auth::Algorithm =
                serde_json::from_value(serde_json::Value::String(algorithm.clone()))
                    .with_context(|| format!("unknown algorithm `{algorithm}`"))?;
            let signer = match algorithm {
                auth::Algorithm::HS256 => {
                    let path = secret_file.unwrap_or_else(|| config.secret_path(&data_dir));
                    if !path.exists() {
                        anyhow::bail!(
                            "no secret at {}: start a server with this data directory first, or pass --secret-file",
                            path.display()
                        );
                    }
                    let secret = auth::load_or_create_secret(&path)?;
                    auth::Signer::hs256(&secret, &config)
                }
                other => {
                    let key = key.context("--key (a PEM private key) is needed for RS256/EdDSA")?;
                    let kid = kid.context("--kid is needed for RS256/EdDSA")?;
                    let pem = std::fs::read(&key)
                        .with_context(|| format!("reading {}", key.display()))?;
                    auth::Signer::from_pem(other, &pem, &kid, &config)?
                }
            };
            let token = signer.issue(
                &sub,
                role,
                city,
                std::time::Duration::from_secs(hours.saturating_mul(3600)),
            )?;
            println!("{token}");
            Ok(())
        }
        Command::Sync {
            command:
                SyncCommand::Verify {
                    city,
                    node,
                    hub,
                    token,
                },
        } => {
            let report = sync::verify::verify(&node, &hub, city, &token)
                .await
                .context("comparing the node with the hub's replica")?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if report.in_sync() {
                Ok(())
            } else {
                let differing: Vec<&str> = report
                    .tables
                    .iter()
                    .filter(|t| !t.same)
                    .map(|t| t.table.as_str())
                    .collect();
                anyhow::bail!(
                    "{city}: node at sequence {}, replica at {}; tables that differ: {}",
                    report.node_seq,
                    report.replica_seq,
                    if differing.is_empty() {
                        "none".to_owned()
                    } else {
                        differing.join(", ")
                    }
                )
            }
        }
    }
}
