//! The province hub. It owns the province's database (the 136 programme, province-level
//! institutions and units, the indicator catalogue), loads the province seed on first start,
//! and serves one GraphQL endpoint at `/graphql`: the province's data alongside every city's,
//! each city's part answered live by that city's node or from the hub's replica of it.
//!
//! # Layout
//! - [`Config`]: what the hub needs to start, including the node registry.
//! - [`AppState`], [`build`], [`router`], [`serve`]: the same entry points as a city node.
//! - [`compare`]: cross-city comparison from the replicas.
//! - [`hub`]: the hub's schema (`cities`, `city`, `node`) and delegation resolvers.
//! - [`delegate`]: forwarding documents, the node client, splicing answers.
//! - [`registry`]: registered nodes and their observed status.

pub mod answer;
pub mod answers;
pub mod choice;
pub mod cities;
pub mod compare;
mod defer_directive;
pub mod delegate;
pub mod export;
pub mod history;
pub mod hub;
pub mod kept;
pub mod registry;
pub mod status;

use std::{net::SocketAddr, path::PathBuf};

use axum::Router;
use model::region::SHANXI;
use serde::{Deserialize, Serialize};
use store::{DatabaseConfig, Store};

/// The hub's default port.
pub const DEFAULT_PORT: u16 = 8600;

/// The hub's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the default SQLite file (`hub.db`).
    pub data_dir: PathBuf,
    /// The hub's own database; empty URL means the SQLite file in `data_dir`.
    pub database: DatabaseConfig,
    /// GraphQL limits.
    pub graphql: serving::GraphqlConfig,
    /// The city nodes the hub delegates to.
    pub nodes: Vec<registry::NodeConfig>,
    /// How long the hub waits for a node before answering `CITY_TIMEOUT` for its subtree.
    pub node_timeout_ms: u64,
    /// Most calls in flight to one node; more wait their turn (within `node_timeout_ms`). Bounds
    /// the hub's connections (and their buffers) per node under load.
    pub node_max_in_flight: usize,
    /// How often a node that no query asked lately is health-checked (`GET /health`), so its
    /// status is known before anyone asks it (0 = never).
    pub node_probe_ms: u64,
    /// Identical concurrent calls to one node (same document, variables and caller
    /// visibility) share one call.
    pub node_dedup: bool,
    /// Whether the hub serves the province dashboard at `/dashboard` (and `/` leads there).
    pub dashboard: bool,
    /// The per-node circuit breaker.
    pub breaker: registry::BreakerConfig,
    /// The sync endpoint's limits and `AUTO`'s freshness window.
    pub sync: sync::hub::HubSyncConfig,
    /// Comparisons kept for reuse while no asked-about replica changes (0 = none).
    pub compare_cache_entries: usize,
    /// Answers from replicas kept for reuse while their replica stays at the same
    /// generation (0 = execute every time).
    pub replica_answer_cache_entries: usize,
    /// Tokens: algorithm, keys, issuer, audience, anonymous reading.
    pub auth: auth::AuthConfig,
    /// TLS of outgoing calls (to nodes, to a JWKS URL): extra roots, a client certificate.
    pub tls_out: outbound::TlsConfig,
    /// Who may read `/metrics`.
    pub metrics: serving::MetricsConfig,
    /// The in-memory history of every city's sync and node state (`City.syncHistory`).
    pub sync_history: history::SyncHistoryConfig,
    /// Serving HTTPS: the server's certificate and key (PEM); none: plain HTTP.
    pub tls: serving::tls::TlsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            data_dir: PathBuf::from("data"),
            database: DatabaseConfig::default(),
            graphql: serving::GraphqlConfig::default(),
            nodes: Vec::new(),
            node_timeout_ms: 5_000,
            node_max_in_flight: 16,
            node_probe_ms: 5_000,
            dashboard: true,
            node_dedup: true,
            breaker: registry::BreakerConfig::default(),
            sync: sync::hub::HubSyncConfig::default(),
            compare_cache_entries: 256,
            replica_answer_cache_entries: 256,
            auth: auth::AuthConfig::default(),
            tls_out: outbound::TlsConfig::default(),
            metrics: serving::MetricsConfig::default(),
            sync_history: history::SyncHistoryConfig::default(),
            tls: serving::tls::TlsConfig::default(),
        }
    }
}

impl Config {
    /// The replica database of `node`: its configured URL, or `data_dir/replica-<city>.db`.
    pub fn replica_database(&self, node: &registry::NodeConfig) -> DatabaseConfig {
        if node.replica.url.is_empty() {
            DatabaseConfig {
                max_connections: node.replica.max_connections,
                ..DatabaseConfig::sqlite_file(
                    &self.data_dir.join(format!("replica-{}.db", node.city)),
                )
            }
        } else {
            node.replica.clone()
        }
    }

    /// The database to use: the configured URL, or `data_dir/hub.db`.
    pub fn effective_database(&self) -> DatabaseConfig {
        if self.database.url.is_empty() {
            DatabaseConfig {
                max_connections: self.database.max_connections,
                ..DatabaseConfig::sqlite_file(&self.data_dir.join("hub.db"))
            }
        } else {
            self.database.clone()
        }
    }
}

/// Why the hub cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data directory cannot be created.
    #[error("cannot create data directory {path}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The seed could not be loaded.
    #[error(transparent)]
    Seed(#[from] seed::load::LoadError),
    /// The HTTP client for nodes cannot be built.
    #[error("cannot build the node client")]
    Client(#[source] outbound::ClientError),
    /// A registered node's URL does not parse.
    #[error("bad node registry: {0}")]
    BadNode(String),
    /// A registered node is not a Shanxi city.
    #[error("node {0} is not a city of Shanxi")]
    NotACity(model::RegionCode),
    /// Tokens cannot be checked (no secret, no key set).
    #[error("cannot set up token checking")]
    Auth(#[from] auth::SetupError),
    /// A `[graphql]` setting cannot be used.
    #[error(transparent)]
    Config(#[from] serving::ConfigError),
    /// The server's certificate cannot be used.
    #[error(transparent)]
    Tls(serving::tls::TlsSetupError),
    /// The HTTP server failed.
    #[error("HTTP server failed")]
    Serve(#[source] std::io::Error),
}

/// Everything the running hub shares between requests.
#[derive(Clone)]
pub struct AppState {
    /// The hub's database.
    pub store: Store,
    /// The hub's public schema (province + delegated cities).
    pub schema: hub::HubSchema,
    /// The registered nodes.
    pub registry: std::sync::Arc<registry::Registry>,
    /// The replicas of the cities, and their sync state.
    pub replicas: std::sync::Arc<sync::hub::Replicas>,
    /// Checks callers' tokens (GraphQL and sync).
    pub auth: std::sync::Arc<auth::Verifier>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The province subgraph's schema over `store`, with `config`'s limits: the same types as a
/// city's subgraph, served from the province's data. The hub's public schema
/// ([`hub::build_hub_schema`]) adds the hub-only fields (cities, comparison, status) and runs
/// this one in process where a part is the province's own (`node(id:)` of a province id).
pub fn province_schema(
    store: Store,
    config: &serving::GraphqlConfig,
    implementing: Option<city_schema::splice::ImplementingSource>,
) -> city_schema::CitySchema {
    let mut builder = city_schema::schema_builder().data(store);
    if let Some(source) = implementing {
        builder = builder.data(source);
    }
    builder
        .limit_depth(config.max_depth)
        .limit_complexity(config.max_complexity)
        .finish()
}

/// The province subgraph's federation SDL (`schema/province.graphql`).
pub fn province_sdl() -> String {
    city_schema::sdl()
}

/// Opens the database (migrating it), loads the province seed on first start, builds the schema.
pub async fn build(config: &Config) -> Result<AppState, Error> {
    let db = config.effective_database();
    let any_sqlite = !db.is_postgres()
        || config
            .nodes
            .iter()
            .any(|n| !config.replica_database(n).is_postgres());
    if any_sqlite {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
    }
    for n in &config.nodes {
        if model::region::region(n.city).is_none_or(|r| r.level != model::RegionLevel::City) {
            return Err(Error::NotACity(n.city));
        }
    }
    let auth = std::sync::Arc::new(
        auth::Verifier::from_config_with_tls(&config.auth, &config.data_dir, &config.tls_out)
            .await?,
    );
    let store = Store::connect(&db, SHANXI).await?;

    let outcome = seed::load::load(&store).await?;
    let timeout = std::time::Duration::from_millis(config.node_timeout_ms.max(1));
    let in_flight = config.node_max_in_flight.max(1);
    let client = delegate::client::NodeClient::new(timeout, in_flight, &config.tls_out)
        .map_err(Error::Client)?;
    let registry = std::sync::Arc::new(
        registry::Registry::new(&config.nodes, client, config.breaker, in_flight)
            .map_err(Error::BadNode)?
            .with_dedup(config.node_dedup),
    );
    if config.node_probe_ms > 0 {
        registry.keep_probed(std::time::Duration::from_millis(config.node_probe_ms));
    }
    let mut replicas = Vec::new();
    let mut views = std::collections::BTreeMap::new();
    // One city subgraph schema for every replica: each request carries its replica's store.
    // (A schema per replica cost ~2 MiB of the hub's memory per city.)
    let replica_schema = city_schema::schema_builder()
        .extension(serving::validated::KeepValidated::new(hub::VALIDATED_KEPT))
        .limit_depth(config.graphql.max_depth)
        .limit_complexity(config.graphql.max_complexity)
        .finish();
    for n in &config.nodes {
        let replica_store = Store::connect(&config.replica_database(n), n.city).await?;
        let schema = replica_schema.clone();
        let replica = sync::hub::Replica::open(n.city, replica_store).await?;
        replicas.push((replica, schema));
    }
    let replicas = std::sync::Arc::new(sync::hub::Replicas::new(
        replicas
            .into_iter()
            .map(|(r, schema)| {
                views.insert(r.city, schema);
                r
            })
            .collect(),
        config.sync,
    ));
    if config.sync.refresh_ms > 0 {
        replicas.keep_refreshed(std::time::Duration::from_millis(config.sync.refresh_ms));
    }
    let answers = std::sync::Arc::new(answers::ReplicaAnswers::new(
        config.replica_answer_cache_entries,
    ));
    let views = views
        .into_iter()
        .filter_map(|(city, schema)| {
            replicas.get(city).map(|r| {
                (
                    city,
                    cities::ReplicaView {
                        replica: r.clone(),
                        schema,
                        answers: answers.clone(),
                    },
                )
            })
        })
        .collect();
    let history = std::sync::Arc::new(history::SyncHistory::new(config.sync_history.samples));
    if config.sync_history.every_ms > 0 {
        history.keep_sampling(
            &registry,
            &replicas,
            std::time::Duration::from_millis(config.sync_history.every_ms),
        );
    }
    let views: std::sync::Arc<std::collections::BTreeMap<_, _>> = std::sync::Arc::new(views);
    let fresh = std::time::Duration::from_millis(config.sync.fresh_ms);
    let implementing = city_schema::splice::ImplementingSource(std::sync::Arc::new(
        delegate::batch::HubImplementing::new(registry.clone(), views.clone(), fresh),
    ));
    let delegation = cities::Cities {
        history,
        registry: registry.clone(),
        province: province_schema(store.clone(), &config.graphql, Some(implementing.clone())),
        replicas: views,
        fresh,
        compare_cache: std::sync::Arc::new(compare::CompareCache::new(
            config.compare_cache_entries,
        )),
        catalogue: std::sync::Arc::default(),
    };
    let schema = hub::build_hub_schema(store.clone(), delegation, implementing, &config.graphql);
    tracing::info!(
        ?outcome,
        backend = store.backend_name(),
        nodes = config.nodes.len(),
        "province hub ready"
    );
    Ok(AppState {
        store,
        schema,
        registry,
        replicas,
        auth,
    })
}

/// The hub's routes: `/graphql`, `/health`, `/ready` and the `/sync/*` routes nodes push to.
pub fn router(state: AppState, config: &Config) -> Result<Router, Error> {
    let store = state.store.clone();
    let info = serde_json::json!({ "role": "hub", "region": SHANXI.to_string(), "database": state.store.backend_name() });
    let metrics = std::sync::Arc::new(serving::Metrics::named("hub"));
    let health = serving::health_route(info, metrics.clone(), move || {
        let store = store.clone();
        async move {
            store.ping().await.map_err(|e| e.to_string())?;
            Ok(serde_json::Value::Null)
        }
    });
    let (store, replicas) = (state.store.clone(), state.replicas.clone());
    let ready = serving::ready_route(move || {
        let (store, replicas) = (store.clone(), replicas.clone());
        async move {
            let mut checks = vec![("database".to_owned(), store.ready().await)];
            for r in replicas.iter() {
                checks.push((format!("replica {}", r.city), r.store.ready().await));
            }
            checks
        }
    });
    let (store, replicas, registry) = (
        state.store.clone(),
        state.replicas.clone(),
        state.registry.clone(),
    );
    let scrape = serving::telemetry::metrics_route(&config.metrics, move || {
        let (store, replicas, registry) = (store.clone(), replicas.clone(), registry.clone());
        async move { record_gauges(&store, &replicas, &registry) }
    })?;
    serving::with_common_layers(
        serving::graphql_routes_with(
            state.schema,
            metrics,
            state.auth.clone(),
            &config.graphql,
            Some(std::sync::Arc::new(cities::CityItems(
                state.registry.clone(),
            ))),
        )
        .merge(serving::page_routes(serving::Pages {
            graphiql: config.graphql.playground,
            dashboard: config.dashboard,
        }))
        .merge(health)
        .merge(ready)
        .merge(scrape)
        .merge(sync::hub::routes(state.replicas, state.store, state.auth)),
        &config.graphql,
    )
    .map_err(Error::from)
}

/// The gauges read when `/metrics` is scraped: each city's replication and node call state,
/// and the databases' pools.
fn record_gauges(store: &Store, replicas: &sync::hub::Replicas, registry: &registry::Registry) {
    let (size, idle) = store.pool_use();
    serving::telemetry::record_pool("hub", "province", size, idle);
    for r in replicas.iter() {
        let city = r.city.to_string();
        let s = r.state();
        metrics::gauge!("xingyi_replica_applied_seq", "city" => city.clone())
            .set(s.applied_seq as f64);
        if let Some(n) = s.node_seq {
            metrics::gauge!("xingyi_replica_node_seq", "city" => city.clone()).set(n as f64);
        }
        if let Some(lag) = s.lag() {
            metrics::gauge!("xingyi_replica_lag", "city" => city.clone()).set(lag as f64);
        }
        if let Some(at) = s.reported_at {
            metrics::gauge!("xingyi_replica_report_age_seconds", "city" => city.clone())
                .set(sync::hub::since(at).as_secs_f64());
        }
        metrics::gauge!("xingyi_replica_diverged", "city" => city.clone())
            .set(if s.diverged.is_some() { 1.0 } else { 0.0 });
        let (size, idle) = r.store.pool_use();
        serving::telemetry::record_pool("hub", &format!("replica-{city}"), size, idle);
    }
    for n in registry.nodes() {
        let open = !matches!(n.status().breaker, registry::Breaker::Closed { .. });
        metrics::gauge!("xingyi_node_breaker_open", "city" => n.city.to_string()).set(if open {
            1.0
        } else {
            0.0
        });
    }
}

/// Serves on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let state = build(&config).await?;
    serve_state(state, &config, listener, shutdown).await
}

/// Serves an already built hub.
pub async fn serve_state(
    state: AppState,
    config: &Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let addr = listener.local_addr().map_err(Error::Serve)?;
    tracing::info!(%addr, "province hub listening");
    let (store, replicas) = (state.store.clone(), state.replicas.clone());
    let app = router(state, config)?;
    serving::tls::serve(
        listener,
        &config.graphql.connections,
        &config.tls,
        app,
        shutdown,
    )
    .await
    .map_err(|e| match e {
        serving::tls::ServeError::Tls(e) => Error::Tls(e),
        serving::tls::ServeError::Io(e) => Error::Serve(e),
    })?;
    // Last, once nothing serves: every database is closed, so each SQLite file is whole on
    // its own and the stopped hub touches none of them again.
    for replica in replicas.iter() {
        if let Err(e) = replica.store.close().await {
            tracing::warn!(city = %replica.city, error = %e, "closing a replica on shutdown");
        }
    }
    if let Err(e) = store.close().await {
        tracing::warn!(error = %e, "closing the hub's database on shutdown");
    }
    tracing::info!("province hub stopped");
    Ok(())
}
