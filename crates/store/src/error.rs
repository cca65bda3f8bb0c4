//! The store's error type. Library code returns [`Error`]; `anyhow` is only used at the edges
//! (the CLI, tests). Database errors keep their source; callers map them to `INTERNAL`.

use model::Violations;

/// Everything a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused or failed a statement.
    #[error("database error while {context}")]
    Db {
        /// What the store was doing.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: sea_orm::DbErr,
    },
    /// The input breaks the model's rules (nothing was written).
    #[error("invalid input: {0}")]
    Invalid(Violations),
    /// The record does not exist.
    #[error("{kind} `{id}` not found")]
    NotFound {
        /// Kind of record.
        kind: &'static str,
        /// Its local id.
        id: String,
    },
    /// A record with this id already exists.
    #[error("{kind} `{id}` already exists")]
    Conflict {
        /// Kind of record.
        kind: &'static str,
        /// Its local id.
        id: String,
    },
    /// The caller's expected version is not the stored one (someone else wrote first).
    #[error("{kind} `{id}` is at version {current}, not {expected}")]
    Stale {
        /// Kind of record.
        kind: &'static str,
        /// Its local id.
        id: String,
        /// The version the caller had.
        expected: i32,
        /// The stored version.
        current: i32,
    },
    /// A stored row holds a value the model cannot read (a bug or a hand-edited database).
    #[error("corrupt {kind} row `{id}`: {detail}")]
    Corrupt {
        /// Kind of record.
        kind: &'static str,
        /// Its local id.
        id: String,
        /// What is wrong.
        detail: String,
    },
    /// A replica was sent changes that skip ahead of its cursor (nothing was written).
    #[error("changes must continue at sequence {expected}, not {got}")]
    Gap {
        /// The next sequence number the replica needs.
        expected: i64,
        /// The first sequence number it was sent.
        got: i64,
    },
    /// A replica was sent changes of another history of its city than the one it holds (a
    /// node restored from a backup, or a second node database for one city); nothing was
    /// written. The node answers with a snapshot.
    #[error("the replica holds history {replica} of this city, not {pushed}")]
    History {
        /// The replica's history.
        replica: String,
        /// The pushed changes' history.
        pushed: String,
    },
    /// A write was interrupted on purpose (fault injection in tests); it was rolled back.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// The database URL or options are unusable.
    #[error("bad database configuration: {0}")]
    Config(String),
    /// The database cannot be reached or opened.
    #[error("cannot open the database {url}: {cause}")]
    Unreachable {
        /// Its URL, password hidden.
        url: String,
        /// Why (refused, unknown host, authentication, no such database …).
        cause: String,
    },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches context to database errors.
pub(crate) trait DbContext<T> {
    /// Wraps the error with what the store was doing.
    fn ctx(self, context: &'static str) -> Result<T>;
}

impl<T> DbContext<T> for std::result::Result<T, sea_orm::DbErr> {
    fn ctx(self, context: &'static str) -> Result<T> {
        self.map_err(|source| Error::Db { context, source })
    }
}
