//! A city node: one city's server. It owns the city's database, loads the city's seed on first
//! start, serves the programme subgraph at `/graphql` and a health check at `/health`, and
//! runs the pusher that sends its change log up to the hub.
//!
//! # Layout
//! - [`Config`]: what a node needs to start.
//! - [`AppState`], [`build`], [`router`], [`serve`]: the same entry points as the hub.

use std::{net::SocketAddr, path::PathBuf};

use axum::Router;
use model::RegionCode;
use serde::{Deserialize, Serialize};
use store::{DatabaseConfig, Store};

/// A node's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The city this node serves (GB/T 2260 code, e.g. 140800 for 运城).
    pub city: Option<RegionCode>,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the default SQLite file (`node-<city>.db`).
    pub data_dir: PathBuf,
    /// The node's own database; empty URL means the SQLite file in `data_dir`.
    pub database: DatabaseConfig,
    /// GraphQL limits.
    pub graphql: serving::GraphqlConfig,
    /// Pushing the change log to the hub (off while `sync.hub_url` is empty).
    pub sync: sync::node::PushConfig,
    /// Tokens: algorithm, keys, issuer, audience, anonymous reading.
    pub auth: auth::AuthConfig,
    /// TLS of outgoing calls (pushes to the hub, a JWKS URL): extra roots, a client certificate.
    pub tls_out: outbound::TlsConfig,
    /// Who may read `/metrics`.
    pub metrics: serving::MetricsConfig,
    /// Serving HTTPS: the server's certificate and key (PEM); none: plain HTTP.
    pub tls: serving::tls::TlsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            city: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: PathBuf::from("data"),
            database: DatabaseConfig::default(),
            graphql: serving::GraphqlConfig::default(),
            sync: sync::node::PushConfig::default(),
            auth: auth::AuthConfig::default(),
            tls_out: outbound::TlsConfig::default(),
            metrics: serving::MetricsConfig::default(),
            tls: serving::tls::TlsConfig::default(),
        }
    }
}

impl Config {
    /// The default port of a city's node: 8600 + the city's two middle digits
    /// (运城 140800 → 8608, 临汾 141000 → 8610).
    pub fn default_port(city: RegionCode) -> u16 {
        8600 + ((city.get() / 100) % 100) as u16
    }

    /// The database to use: the configured URL, or `data_dir/node-<city>.db`.
    pub fn effective_database(&self, city: RegionCode) -> DatabaseConfig {
        if self.database.url.is_empty() {
            DatabaseConfig {
                max_connections: self.database.max_connections,
                ..DatabaseConfig::sqlite_file(&self.data_dir.join(format!("node-{city}.db")))
            }
        } else {
            self.database.clone()
        }
    }
}

/// Why a node cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No city was configured.
    #[error("no city configured: pass --city or set city in the config file")]
    NoCity,
    /// The code is not a Shanxi city.
    #[error("{0} is not a city of Shanxi (expected one of the 11 prefecture-level codes)")]
    NotACity(RegionCode),
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
    /// Tokens cannot be checked (no secret, no key set).
    #[error("cannot set up token checking")]
    Auth(#[from] auth::SetupError),
    /// The pusher's HTTP client cannot be built.
    #[error("cannot build the sync client")]
    SyncClient(#[source] outbound::ClientError),
    /// A `[graphql]` setting cannot be used.
    #[error(transparent)]
    Config(#[from] serving::ConfigError),
    /// A restore needs the hub's URL.
    #[error("no hub to restore from: pass --from-hub or set sync.hub_url")]
    NoHub,
    /// Rebuilding from the hub failed.
    #[error("restoring from the hub")]
    Restore(#[from] sync::restore::RestoreError),
    /// The server's certificate cannot be used.
    #[error(transparent)]
    Tls(serving::tls::TlsSetupError),
    /// The HTTP server failed.
    #[error("HTTP server failed")]
    Serve(#[source] std::io::Error),
}

/// Everything a running node shares between requests.
#[derive(Clone)]
pub struct AppState {
    /// The node's database.
    pub store: Store,
    /// The programme subgraph over it.
    pub schema: city_schema::CitySchema,
    /// The pusher, once started ([`serve_state`] starts it when `sync.hub_url` is set).
    pub pusher: Option<sync::node::PusherHandle>,
    /// Checks callers' tokens.
    pub auth: std::sync::Arc<auth::Verifier>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The configured city, which must be one of Shanxi's cities.
fn configured_city(config: &Config) -> Result<RegionCode, Error> {
    let city = config.city.ok_or(Error::NoCity)?;
    if model::region::region(city).is_none_or(|r| r.level != model::RegionLevel::City) {
        return Err(Error::NotACity(city));
    }
    Ok(city)
}

/// Opens (and migrates) the node's database, creating the data directory for a SQLite file.
async fn open_store(config: &Config, city: RegionCode) -> Result<Store, Error> {
    let db = config.effective_database(city);
    if !db.is_postgres() {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
    }
    Ok(Store::connect(&db, city).await?)
}

/// Opens the database (migrating it), loads the seed on first start, and builds the schema.
pub async fn build(config: &Config) -> Result<AppState, Error> {
    let city = configured_city(config)?;
    let auth = std::sync::Arc::new(
        auth::Verifier::from_config_with_tls(&config.auth, &config.data_dir, &config.tls_out)
            .await?,
    );
    let store = open_store(config, city).await?;
    let outcome = seed::load::load(&store).await?;
    tracing::info!(%city, ?outcome, backend = store.backend_name(), "city node ready");
    let schema = city_schema::schema_builder()
        .extension(serving::validated::KeepValidated::new(256))
        .data(store.clone())
        .limit_depth(config.graphql.max_depth)
        .limit_complexity(config.graphql.max_complexity)
        .finish();
    Ok(AppState {
        store,
        schema,
        pusher: None,
        auth,
    })
}

/// Rebuilds the node's database from the hub's replica of its city (`sync.hub_url`, with
/// `sync.token`): for a node whose database is lost with its backups. The database must be new
/// or empty unless `replace` is set; it is migrated first, and the seed is not loaded (the
/// rows already hold it). The node then starts normally and pushes from the restored sequence.
pub async fn restore_from_hub(
    config: &Config,
    replace: bool,
) -> Result<sync::restore::Restored, Error> {
    let city = configured_city(config)?;
    let hubs = config.sync.hubs();
    if hubs.is_empty() {
        return Err(Error::NoHub);
    }
    let store = open_store(config, city).await?;
    // Any hub serves the same replica: the first that can.
    let mut last = None;
    for hub in &hubs {
        match sync::restore::from_hub(hub, &config.sync.token, &config.tls_out, &store, replace)
            .await
        {
            Ok(restored) => return Ok(restored),
            Err(e @ sync::restore::RestoreError::Http(_)) => {
                tracing::warn!(%hub, error = %e, "hub unreachable; trying the next");
                last = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or(Error::NoHub, Error::from))
}

/// The node's routes: `/graphql`, `/health` (with the pusher's status under `sync`) and the
/// read-only `/sync/*` routes `xingyi sync verify` uses.
pub fn router(state: AppState, config: &Config) -> Result<Router, Error> {
    let store = state.store.clone();
    let info = serde_json::json!({
        "role": "node",
        "region": state.store.owner().to_string(),
        "database": state.store.backend_name(),
    });
    let server = format!("node-{}", state.store.owner());
    let metrics = std::sync::Arc::new(serving::Metrics::named(&server));
    let pusher = state.pusher.clone();
    let health = serving::health_route(info, metrics.clone(), move || {
        let store = store.clone();
        let pusher = pusher.clone();
        async move {
            store.ping().await.map_err(|e| e.to_string())?;
            Ok(pusher.map_or(
                serde_json::Value::Null,
                |p| serde_json::json!({ "sync": p.status() }),
            ))
        }
    });
    // Ready when its own database is: a hub that is away does not stop a node from serving
    // and taking writes (the pusher catches up later).
    let store = state.store.clone();
    let ready = serving::ready_route(move || {
        let store = store.clone();
        async move { vec![("database".to_owned(), store.ready().await)] }
    });
    let (store, pusher) = (state.store.clone(), state.pusher.clone());
    let scrape = serving::telemetry::metrics_route(&config.metrics, move || {
        let (store, pusher, server) = (store.clone(), pusher.clone(), server.clone());
        async move {
            let (size, idle) = store.pool_use();
            serving::telemetry::record_pool(&server, "node", size, idle);
            if let Some(p) = pusher {
                let status = p.status();
                let held = store.last_seq().await.unwrap_or_default();
                if let Some(confirmed) = status.hub_applied_seq {
                    metrics::gauge!("xingyi_pusher_unpushed", "server" => server.clone())
                        .set((held - confirmed).max(0) as f64);
                }
                metrics::gauge!("xingyi_pusher_failures", "server" => server)
                    .set(status.failures as f64);
            }
        }
    })?;
    serving::with_common_layers(
        serving::graphql_routes(state.schema, metrics, state.auth.clone(), &config.graphql)
            .merge(serving::page_routes(serving::Pages {
                graphiql: config.graphql.playground,
                dashboard: false,
            }))
            .merge(health)
            .merge(ready)
            .merge(scrape)
            .merge(sync::node::routes(state.store, state.auth)),
        &config.graphql,
    )
    .map_err(Error::from)
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

/// How long a node token the node signs for itself stays valid (it signs a new one at every
/// start).
const OWN_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// With HS256 the node holds the shared secret anyway, so without a configured `sync.token` it
/// signs its own `node` token for its city. With RS256/EdDSA it cannot: `sync.token` must be
/// issued to it (`xingyi token --role node --city …`).
fn own_node_token(config: &Config, city: RegionCode) -> Result<String, Error> {
    if config.auth.algorithm != auth::Algorithm::HS256 {
        return Err(Error::Auth(auth::SetupError::Config(
            "sync.token is required with RS256/EdDSA (issue one with `xingyi token --role node`)"
                .into(),
        )));
    }
    let secret = auth::load_or_create_secret(&config.auth.secret_path(&config.data_dir))?;
    Ok(auth::Signer::hs256(&secret, &config.auth).issue(
        &format!("node-{city}"),
        auth::Role::Node,
        Some(city),
        OWN_TOKEN_LIFETIME,
    )?)
}

/// Serves an already built node.
pub async fn serve_state(
    mut state: AppState,
    config: &Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let addr = listener.local_addr().map_err(Error::Serve)?;
    tracing::info!(%addr, city = %state.store.owner(), "city node listening");
    // One shutdown for the server and the pusher.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    if state.pusher.is_none() {
        let mut push = config.sync.clone();
        if push.token.is_empty() && !push.hub_url.is_empty() {
            push.token = own_node_token(config, state.store.owner())?;
        }
        state.pusher = sync::node::spawn_with_tls(
            state.store.clone(),
            push,
            &config.tls_out,
            stopped(stop_rx.clone()),
        )
        .map_err(Error::SyncClient)?;
    }
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let (store, pusher) = (state.store.clone(), state.pusher.clone());
    let app = router(state, config)?;
    serving::tls::serve(
        listener,
        &config.graphql.connections,
        &config.tls,
        app,
        stopped(stop_rx),
    )
    .await
    .map_err(|e| match e {
        serving::tls::ServeError::Tls(e) => Error::Tls(e),
        serving::tls::ServeError::Io(e) => Error::Serve(e),
    })?;
    // Last, once nothing serves and the pusher has let go: the database is closed, so a
    // stopped node leaves a complete database file and touches it no more.
    if let Some(pusher) = pusher {
        pusher.stopped().await;
    }
    if let Err(e) = store.close().await {
        tracing::warn!(error = %e, "closing the database on shutdown");
    }
    tracing::info!(city = %store.owner(), "city node stopped");
    Ok(())
}
