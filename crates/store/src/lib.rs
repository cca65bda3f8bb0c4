//! xingyi's database layer. Only this crate imports sea-orm.
//!
//! A [`Store`] is one server's own database (SQLite file by default, PostgreSQL when the URL
//! says so), migrated at [`Store::connect`]. Reads return the entity rows; writes take model
//! values, validate them against the model's rules and the rows they refer to, and commit in
//! one transaction — a failed write leaves nothing behind. Every write appends its change record (the outbox, [`changes`]) in that same transaction.
//!
//! # Layout
//! - [`catalogue`]: the province catalogue flowing down to nodes.
//! - [`changes`]: the outbox (change log) every write appends to.
//! - [`compare`]: grouped targets and actuals for cross-city comparisons.
//! - [`config`]: the database configuration ([`DatabaseConfig`]).
//! - [`entity`]: one sea-orm entity per table.
//! - [`history`]: sync history ids and change digests (a restored node is told apart).
//! - [`migration`]: the migrations, run at connect.
//! - [`page`]: keyset pagination.
//! - [`reads`]: filtered, paginated queries.
//! - [`record`]: a replicated row read back into the model (the hub's check of pushed rows).
//! - [`replica`]: applying changes to the hub's replica of a city, snapshots, digests.
//! - [`writes`]: validated create/update/delete, and bulk import for seeding.
//! - [`error`]: the error type ([`Error`]).

pub mod catalogue;
pub mod changes;
pub mod compare;
pub mod config;
pub mod entity;
pub mod error;
pub mod history;
pub mod migration;
pub mod page;
pub mod reads;
pub mod record;
pub mod refusals;
pub mod replica;
pub mod rollup;
pub mod writes;

use std::time::Duration;

use model::RegionCode;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

pub use config::DatabaseConfig;
pub use error::{Error, Result};
pub use page::{Page, PageRequest};
pub use reads::{InstitutionFilter, MeasureFilter, PlanItemFilter, UnitFilter};
pub use writes::ImportBatch;

use error::DbContext;

/// One server's database.
#[derive(Debug, Clone)]
pub struct Store {
    /// The connection pool.
    db: DatabaseConnection,
    /// The region whose records this database owns (140000 for the hub).
    owner: RegionCode,
    /// Who the writes through this handle are made by (recorded in the change log).
    actor: Option<std::sync::Arc<str>>,
}

/// Why one direct connection to the PostgreSQL server of `config` fails (refused, unknown
/// host, authentication, no such database, no answer within 5 s), or `None` when it succeeds.
async fn postgres_refusal(config: &DatabaseConfig) -> Option<String> {
    use sea_orm::sqlx::{ConnectOptions as _, Connection as _};
    let options = match config
        .url
        .parse::<sea_orm::sqlx::postgres::PgConnectOptions>()
    {
        Ok(o) => o,
        Err(e) => return Some(e.to_string()),
    };
    match tokio::time::timeout(Duration::from_secs(5), options.connect()).await {
        Err(_) => Some("no answer within 5 s".to_owned()),
        Ok(Err(e)) => Some(e.to_string()),
        Ok(Ok(conn)) => {
            if let Err(e) = conn.close().await {
                tracing::debug!(error = %e, "closing the probe connection");
            }
            None
        }
    }
}

/// How long [`Store::close`] waits for connections in use to be returned.
pub const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// The PostgreSQL advisory lock migrations run under (any number unique to xingyi).
const MIGRATION_LOCK: i64 = 0x7869_6e67_7969;

impl Store {
    /// Connects, runs pending migrations, and records (or checks) the owner: a database that
    /// belongs to another region is refused rather than silently mixed.
    pub async fn connect(config: &DatabaseConfig, owner: RegionCode) -> Result<Self> {
        if config.url.is_empty() {
            return Err(Error::Config("no database URL".into()));
        }
        let mut opts = ConnectOptions::new(config.url.clone());
        // A SQLite connection is a file handle on a thread of this process: it cannot be
        // dropped by a server or a network, so pinging it on every checkout (a round trip to
        // its thread per statement) buys nothing. PostgreSQL's connections keep the ping: one
        // broken by a restart is replaced instead of failing a query.
        opts.test_before_acquire(config.is_postgres());
        opts.max_connections(config.max_connections.max(1))
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false)
            // On every pooled connection (a PRAGMA run through the pool reaches one): WAL lets
            // readers run while a writer commits; the busy timeout makes concurrent writers
            // wait instead of failing with SQLITE_BUSY; foreign keys are enforced.
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
        // Migrations on their own short-lived connection, closed before the pool opens: the
        // pool then starts with the one connection it needs instead of keeping the
        // migrator's extras (each SQLite connection is a thread with its own memory — the hub
        // opens a store per city).
        let mut migrating = opts.clone();
        migrating.max_connections(1);
        // One direct connection first: a pool retries a refused connection until its time-out
        // and then reports only that it timed out.
        if config.is_postgres()
            && let Some(cause) = postgres_refusal(config).await
        {
            return Err(Error::Unreachable {
                url: config.redacted_url(),
                cause,
            });
        }
        let migrator = match Database::connect(migrating).await {
            Ok(db) => db,
            Err(e) => {
                return Err(Error::Unreachable {
                    url: config.redacted_url(),
                    cause: e.to_string(),
                });
            }
        };
        // Two servers starting together on one PostgreSQL database (two hubs behind a load
        // balancer) take turns: the second finds the migrations done. The lock is the
        // session's, so it goes with the connection if the process dies.
        use sea_orm::ConnectionTrait;
        let postgres = migrator.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        if postgres {
            migrator
                .execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .await
                .ctx("waiting for the migration lock")?;
        }
        migration::Migrator::up(&migrator, None)
            .await
            .ctx("running migrations")?;
        if postgres {
            migrator
                .execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .await
                .ctx("releasing the migration lock")?;
        }
        migrator
            .close()
            .await
            .ctx("closing the migration connection")?;
        let db = Database::connect(opts).await.ctx("connecting")?;
        let store = Self {
            db,
            owner,
            actor: None,
        };
        store.claim_owner().await?;
        tracing::debug!(url = %config.redacted_url(), %owner, "database ready");
        Ok(store)
    }

    /// The same database, with writes recorded as made by `actor` (a principal: a user id, a
    /// service name).
    pub fn acting_as(&self, actor: &str) -> Self {
        Self {
            actor: Some(actor.into()),
            ..self.clone()
        }
    }

    /// Who writes through this handle are recorded as made by.
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// The region whose records this database owns.
    pub fn owner(&self) -> RegionCode {
        self.owner
    }

    /// Closes every connection of the pool (for every clone of this handle), waiting for
    /// each one in use to be returned. A server calls it last on a graceful shutdown: SQLite
    /// then checkpoints its write-ahead log into the database file, so the file alone is a
    /// complete copy, and no connection of this process touches the files afterwards (a
    /// backup restored over them is not rewritten by a late close). A connection still in use
    /// after [`CLOSE_WAIT`] (a request stuck past the server's drain time) is not waited for:
    /// the error says so, and the process exiting closes it.
    pub async fn close(&self) -> Result<()> {
        match tokio::time::timeout(CLOSE_WAIT, self.db.close_by_ref()).await {
            Ok(closed) => closed.ctx("closing the database connections"),
            Err(_) => Err(Error::Db {
                context: "closing the database connections",
                source: sea_orm::DbErr::Custom(format!(
                    "a connection was still in use after {} s",
                    CLOSE_WAIT.as_secs()
                )),
            }),
        }
    }

    /// The connection (for crates that add tables of their own, e.g. sync).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// `postgres` or `sqlite`.
    pub fn backend_name(&self) -> &'static str {
        match self.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => "postgres",
            sea_orm::DatabaseBackend::Sqlite => "sqlite",
            _ => "other",
        }
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<()> {
        self.db.ping().await.ctx("pinging the database")
    }

    /// The pool's connections: open, and idle among them.
    pub fn pool_use(&self) -> (u32, usize) {
        match self.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                (p.size(), p.num_idle())
            }
            _ => {
                let p = self.db.get_sqlite_connection_pool();
                (p.size(), p.num_idle())
            }
        }
    }

    /// Checks the database answers and has every migration this build knows (a database a
    /// newer or older build changed since this one started is not ready for it).
    pub async fn ready(&self) -> std::result::Result<(), String> {
        self.ping()
            .await
            .map_err(|e| match std::error::Error::source(&e) {
                Some(cause) => format!("{e}: {cause}"),
                None => e.to_string(),
            })?;
        let pending = migration::Migrator::get_pending_migrations(&self.db)
            .await
            .map_err(|e| format!("cannot read the migrations: {e}"))?;
        if !pending.is_empty() {
            return Err(format!("{} migration(s) not applied", pending.len()));
        }
        Ok(())
    }

    async fn claim_owner(&self) -> Result<()> {
        match self.meta("owner").await? {
            Some(o) if o == self.owner.to_string() => Ok(()),
            Some(o) => Err(Error::Config(format!(
                "this database belongs to region {o}, not {}; give each server its own database",
                self.owner
            ))),
            None => self.set_meta("owner", &self.owner.to_string()).await,
        }
    }

    /// Reads a `meta` value.
    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        use sea_orm::EntityTrait;
        Ok(entity::meta::Entity::find_by_id(key.to_owned())
            .one(&self.db)
            .await
            .ctx("reading meta")?
            .map(|m| m.value))
    }

    /// Writes a `meta` value.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        writes::set_meta(&self.db, key, value).await
    }
}

/// `YYYYMM` of a month, as stored in `period_start` / `period_end`.
pub(crate) fn yyyymm(ym: model::YearMonth) -> i32 {
    ym.year * 100 + ym.month as i32
}

/// Creating and dropping whole PostgreSQL databases, for tests and first-time setup: each
/// server needs a database of its own.
pub mod admin {
    use sea_orm::{ConnectionTrait, Database};

    use crate::{Error, Result, error::DbContext};

    fn valid_name(name: &str) -> Result<()> {
        if !name.is_empty()
            && name.len() < 60
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "`{name}` is not a safe database name"
            )))
        }
    }

    /// Creates database `name` on the server at `server_url` (a URL without a database path,
    /// e.g. `postgres://postgres@127.0.0.1:5432`), dropping any old one of that name first.
    pub async fn recreate_postgres_database(server_url: &str, name: &str) -> Result<String> {
        valid_name(name)?;
        let admin = Database::connect(format!("{server_url}/postgres"))
            .await
            .ctx("connecting to PostgreSQL")?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .ctx("dropping a database")?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .ctx("creating a database")?;
        admin.close().await.ctx("closing the admin connection")?;
        Ok(format!("{server_url}/{name}"))
    }

    /// Drops database `name` (closing other sessions on it).
    pub async fn drop_postgres_database(server_url: &str, name: &str) -> Result<()> {
        valid_name(name)?;
        let admin = Database::connect(format!("{server_url}/postgres"))
            .await
            .ctx("connecting to PostgreSQL")?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .ctx("dropping a database")?;
        admin.close().await.ctx("closing the admin connection")?;
        Ok(())
    }
}
