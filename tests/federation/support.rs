//! A local federation for whole-system tests, and helpers to look at its nodes.

use model::RegionCode;

/// `xingyi local` on free ports with a temp data directory.
pub(crate) struct LocalFed {
    pub(crate) fed: cli::local::LocalFederation,
    _dir: tempfile::TempDir,
}

impl LocalFed {
    pub(crate) async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let opts = cli::local::LocalOptions {
            data_dir: dir.path().to_path_buf(),
            host: "127.0.0.1".parse().unwrap(),
            hub_port: 0,
            yuncheng_port: 0,
            linfen_port: 0,
        };
        Self { fed: cli::local::start(&opts).await.unwrap(), _dir: dir }
    }

    pub(crate) fn hub_url(&self) -> String {
        format!("http://{}/graphql", self.fed.hub)
    }

    pub(crate) fn node_urls(&self) -> Vec<(RegionCode, String)> {
        self.fed.nodes.iter().map(|(c, a)| (*c, format!("http://{a}/graphql"))).collect()
    }

    pub(crate) async fn stop(self) {
        self.fed.shutdown().await.unwrap();
    }
}

/// GraphQL requests each node has received so far (from its `/health`).
pub(crate) async fn requests_seen(client: &reqwest::Client, fed: &LocalFed) -> Vec<(RegionCode, u64)> {
    let mut out = Vec::new();
    for (city, addr) in &fed.fed.nodes {
        let h: serde_json::Value = client.get(format!("http://{addr}/health")).send().await.unwrap().json().await.unwrap();
        out.push((*city, h["graphqlRequests"].as_u64().unwrap()));
    }
    out
}
