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
    fig = fig.merge(
        Env::prefixed("XINGYI_")
            .split("__")
            .ignore(&["LOG", "LOG_FORMAT"]),
    );
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !url.is_empty() {
            fig = fig.merge(Serialized::default("database.url", url));
        }
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
    fn a_missing_file_is_an_error() {
        let err = load::<province_hub::Config>(Some(Path::new("/nonexistent/x.toml"))).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }
}
