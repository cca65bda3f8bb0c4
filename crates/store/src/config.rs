//! Database configuration, owned by the store and embedded in each server's config.

use serde::{Deserialize, Serialize};

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// A sea-orm URL: `sqlite://path/to/file.db?mode=rwc` or `postgres://user@host/db`.
    /// Empty means "a SQLite file in the data directory", filled in by the server.
    pub url: String,
    /// Largest number of pooled connections.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 8,
        }
    }
}

impl DatabaseConfig {
    /// A SQLite file (created if missing).
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            ..Self::default()
        }
    }

    /// True when the URL points at PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres://") || self.url.starts_with("postgresql://")
    }

    /// The URL with any password replaced by `***`, for logs.
    pub fn redacted_url(&self) -> String {
        match (self.url.find("://"), self.url.find('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let userinfo = &self.url[scheme + 3..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => {
                        format!("{}{user}:***{}", &self.url[..scheme + 3], &self.url[at..])
                    }
                    None => self.url.clone(),
                }
            }
            _ => self.url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        let c = DatabaseConfig {
            url: "postgres://xingyi:s3cret@db:5432/hub".into(),
            ..Default::default()
        };
        assert_eq!(c.redacted_url(), "postgres://xingyi:***@db:5432/hub");
        assert!(c.is_postgres());
        let s = DatabaseConfig::sqlite_file(std::path::Path::new("/tmp/a.db"));
        assert_eq!(s.redacted_url(), "sqlite:///tmp/a.db?mode=rwc");
    }
}
