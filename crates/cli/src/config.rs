//! Layered configuration: defaults in code → TOML file (`--config`) → `XINGYI_*` environment
//! variables (`__` nests: `XINGYI_DATABASE__URL`) → `DATABASE_URL` → command-line flags.

use std::path::Path;

use anyhow::Context;
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Serialize, de::DeserializeOwned};

/// Loads a config of type `T` from the layers above (flags are applied by the caller).
pub fn load<T: Serialize + DeserializeOwned + Default>(file: Option<&Path>) -> anyhow::Result<T> {
    let mut fig = Figment::from(Serialized::defaults(T::default()));
    if let Some(path) = file {
        if !path.exists() {
            anyhow::bail!("config file {} does not exist", path.display());
        }
        fig = fig.merge(Toml::file_exact(path));
    }
    // XINGYI_LOG / XINGYI_LOG_FORMAT belong to the logger and XINGYI_TEST_* to the test suite.
    let env = Env::prefixed("XINGYI_").filter(|k| {
        let k = k.as_str().to_ascii_lowercase();
        !(k == "log" || k == "log_format" || k.starts_with("test_"))
    });
    fig = fig.merge(env.split("__"));
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.is_empty()
    {
        fig = fig.merge(Serialized::default("database.url", url));
    }
    fig.extract().with_context(|| match file {
        Some(p) => format!(
            "invalid configuration (file {}, XINGYI_* environment)",
            p.display()
        ),
        None => "invalid configuration (XINGYI_* environment)".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_configs_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let hub: province_hub::Config = load(Some(&root.join("hub.toml"))).unwrap();
        assert_eq!(hub.listen.port(), 8600);
        assert_eq!(hub.nodes.len(), 2);
        let compose: province_hub::Config = load(Some(&root.join("docker-hub.toml"))).unwrap();
        assert!(compose.nodes.iter().all(|n| n.replica.is_postgres()));
        for (file, city, port) in [
            ("node-yuncheng.toml", 140800, 8608),
            ("node-linfen.toml", 141000, 8610),
        ] {
            let node: city_node::Config = load(Some(&root.join(file))).unwrap();
            assert_eq!(node.city.map(model::RegionCode::get), Some(city), "{file}");
            assert_eq!(node.listen.port(), port, "{file}");
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\nlisten_port = 3\n").unwrap();
        let err = format!(
            "{:#}",
            load::<province_hub::Config>(Some(&path)).unwrap_err()
        );
        assert!(err.contains("bad.toml"), "{err}");
        assert!(err.contains("listen_port"), "{err}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closure type, not ours
    fn environment_overrides_the_file_and_database_url_wins() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "hub.toml",
                "listen = \"127.0.0.1:8600\"\n[graphql]\nmax_depth = 9\n",
            )?;
            jail.set_env("XINGYI_GRAPHQL__MAX_DEPTH", "7");
            jail.set_env("XINGYI_DATABASE__URL", "postgres://from-xingyi-env/db");
            jail.set_env("XINGYI_TEST_PG", "ignored by the config");
            jail.set_env("XINGYI_LOG", "debug");
            let cfg: province_hub::Config =
                load(Some(Path::new("hub.toml"))).map_err(|e| format!("{e:#}"))?;
            assert_eq!(cfg.graphql.max_depth, 7);
            assert_eq!(cfg.database.url, "postgres://from-xingyi-env/db");
            jail.set_env("DATABASE_URL", "postgres://from-database-url/db");
            let cfg: province_hub::Config =
                load(Some(Path::new("hub.toml"))).map_err(|e| format!("{e:#}"))?;
            assert_eq!(cfg.database.url, "postgres://from-database-url/db");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closure type, not ours
    fn a_node_takes_a_list_of_hubs_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "XINGYI_SYNC__HUB_URL",
                "http://hub-a:8600, http://hub-b:8601/",
            );
            let cfg: city_node::Config = load(None).map_err(|e| format!("{e:#}"))?;
            assert_eq!(cfg.sync.hubs(), ["http://hub-a:8600", "http://hub-b:8601"]);
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = load::<province_hub::Config>(Some(Path::new("/nonexistent/x.toml"))).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }
}
