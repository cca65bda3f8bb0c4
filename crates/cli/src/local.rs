//! `xingyi local`: the hub plus the 运城 and 临汾 nodes in one process, each a separate server
//! on its own port with its own SQLite file under the data directory, seeded on first start.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use model::{
    RegionCode,
    region::{LINFEN, YUNCHENG},
};
use tokio::{net::TcpListener, sync::watch, task::JoinSet};

/// Where to run.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Directory for the three SQLite files.
    pub data_dir: PathBuf,
    /// Address to bind (port is per server).
    pub host: std::net::IpAddr,
    /// Hub port (0 picks a free one).
    pub hub_port: u16,
    /// 运城 node port (0 picks a free one).
    pub yuncheng_port: u16,
    /// 临汾 node port (0 picks a free one).
    pub linfen_port: u16,
}

/// How long the dashboard link `local` prints stays valid.
pub const VIEWER_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// The cities `local` starts.
pub const LOCAL_CITIES: [RegionCode; 2] = [YUNCHENG, LINFEN];

/// A running local federation.
#[derive(Debug)]
pub struct LocalFederation {
    /// The hub's address.
    pub hub: SocketAddr,
    /// Each node's city and address.
    pub nodes: Vec<(RegionCode, SocketAddr)>,
    /// A `province_viewer` token for the dashboard link (valid for [`VIEWER_TOKEN_LIFETIME`]).
    pub viewer_token: String,
    stop: watch::Sender<bool>,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl LocalFederation {
    /// Lines naming each server's GraphQL URL.
    pub fn describe(&self) -> Vec<String> {
        let name = |c: RegionCode| model::region::region(c).map_or("?", |r| r.name_zh);
        let mut out = vec![format!(
            "hub  {} {}  http://{}/graphql",
            name(model::region::SHANXI),
            model::region::SHANXI,
            self.hub
        )];
        for (city, addr) in &self.nodes {
            out.push(format!(
                "node {} {}  http://{addr}/graphql",
                name(*city),
                city
            ));
        }
        out.push(format!(
            "dashboard (province_viewer, {} h)  http://{}/dashboard#token={}",
            VIEWER_TOKEN_LIFETIME.as_secs() / 3600,
            self.hub,
            self.viewer_token
        ));
        out
    }

    /// Stops every server and waits for them to drain.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.join_all().await
    }

    /// Waits until every server stops; the first failure stops the others.
    pub async fn join_all(&mut self) -> anyhow::Result<()> {
        let mut first_err = None;
        while let Some(res) = self.tasks.join_next().await {
            let res = res.context("a server task panicked").and_then(|r| r);
            if let Err(e) = res {
                let _ = self.stop.send(true);
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Stops everything when `signal` resolves, then waits.
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            () = signal => self.shutdown().await,
            res = self.join_all() => res,
        }
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// How long the node tokens `xingyi local` issues stay valid (a local run is restarted long
/// before; every start issues new ones).
const NODE_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// The settings `local` takes from the environment (`XINGYI_*`, as `xingyi hub` and `xingyi
/// node` do): everything but what makes it a local federation — each server's own SQLite file
/// in the data directory, its address, the nodes the hub knows, the nodes' sync to it, and the
/// HS256 secret the three share.
fn settings() -> anyhow::Result<(city_node::Config, province_hub::Config)> {
    let mut node: city_node::Config = crate::config::load(None)?;
    let mut hub: province_hub::Config = crate::config::load(None)?;
    if node.auth.algorithm != auth::Algorithm::HS256 || hub.auth.algorithm != auth::Algorithm::HS256
    {
        anyhow::bail!(
            "`xingyi local` signs its nodes' tokens with the shared HS256 secret: leave XINGYI_AUTH__ALGORITHM unset (run `xingyi hub` and `xingyi node` for RS256 or EdDSA)"
        );
    }
    node.database = store::DatabaseConfig::default();
    hub.database = store::DatabaseConfig::default();
    Ok((node, hub))
}

/// Builds (migrates, seeds) and starts the three servers; returns once all listen.
pub async fn start(opts: &LocalOptions) -> anyhow::Result<LocalFederation> {
    let (node_base, hub_base) = settings()?;
    let (stop, rx) = watch::channel(false);
    let mut tasks = JoinSet::new();

    // Bind every listener first, so the hub's registry gets the nodes' real addresses even
    // when ports are picked by the OS.
    let hub_listen = SocketAddr::new(opts.host, opts.hub_port);
    let hub_listener = TcpListener::bind(hub_listen)
        .await
        .with_context(|| format!("binding the hub to {hub_listen}"))?;
    let hub = hub_listener.local_addr()?;
    let mut nodes = Vec::new();
    let mut node_listeners = Vec::new();
    for (city, port) in [(YUNCHENG, opts.yuncheng_port), (LINFEN, opts.linfen_port)] {
        let listen = SocketAddr::new(opts.host, port);
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding the {city} node to {listen}"))?;
        nodes.push((city, listener.local_addr()?));
        node_listeners.push((city, listener));
    }

    // One HS256 secret for the three servers (created on first start, kept in the data
    // directory), and a node token per city signed with it: the hub accepts each node's
    // pushes for its own city only.
    let auth_config = hub_base.auth.clone();
    let secret = auth::load_or_create_secret(&auth_config.secret_path(&opts.data_dir))
        .context("preparing the local JWT secret")?;
    let signer = auth::Signer::hs256(&secret, &auth_config);
    let mut tokens = std::collections::BTreeMap::new();
    for (city, _) in &nodes {
        tokens.insert(
            *city,
            signer
                .issue(
                    &format!("node-{city}"),
                    auth::Role::Node,
                    Some(*city),
                    NODE_TOKEN_LIFETIME,
                )
                .context("issuing a node token")?,
        );
    }
    let viewer_token = signer
        .issue(
            "local-viewer",
            auth::Role::ProvinceViewer,
            None,
            VIEWER_TOKEN_LIFETIME,
        )
        .context("issuing the dashboard's viewer token")?;
    for (city, listener) in node_listeners {
        let config = city_node::Config {
            city: Some(city),
            listen: listener.local_addr()?,
            data_dir: opts.data_dir.clone(),
            sync: sync::node::PushConfig {
                hub_url: format!("http://{hub}"),
                token: tokens.get(&city).cloned().unwrap_or_default(),
                ..node_base.sync.clone()
            },
            ..node_base.clone()
        };
        let state = city_node::build(&config)
            .await
            .with_context(|| format!("starting the {city} node"))?;
        let shutdown = stopped(rx.clone());
        tasks.spawn(async move {
            Ok(city_node::serve_state(state, &config, listener, shutdown).await?)
        });
    }

    let hub_config = province_hub::Config {
        listen: hub,
        data_dir: opts.data_dir.clone(),
        nodes: nodes
            .iter()
            .map(|(city, addr)| {
                province_hub::registry::NodeConfig::new(*city, format!("http://{addr}/graphql"))
            })
            .collect(),
        ..hub_base
    };
    let hub_state = province_hub::build(&hub_config)
        .await
        .context("starting the hub")?;
    let shutdown = stopped(rx.clone());
    tasks.spawn(async move {
        Ok(province_hub::serve_state(hub_state, &hub_config, hub_listener, shutdown).await?)
    });

    Ok(LocalFederation {
        hub,
        nodes,
        viewer_token,
        stop,
        tasks,
    })
}
