//! The messages between a node and the hub, as JSON over HTTP. Every request carries
//! `Authorization: Bearer <node token>`; the hub knows which city each token belongs to.
//!
//! | route (hub)               | body                  | success                 |
//! |---------------------------|-----------------------|-------------------------|
//! | `POST /sync/push`         | [`PushRequest`]       | 200 [`PushReply`]       |
//! | `POST /sync/snapshot`     | [`SnapshotRequest`]   | 200 [`PushReply`]       |
//! | `GET /sync/digest/{city}` | —                     | 200 `store::replica::Digests` |
//! | `GET /sync/rows/{city}/{table}` | —               | 200 [`RowHashes`]       |
//! | `GET /sync/catalogue?after=N` | —                 | 200 `store::catalogue::CataloguePage` |
//!
//! A node serves `GET /sync/digest` and `GET /sync/rows/{table}` for `xingyi sync verify`.
//!
//! Refusals are `4xx` with a [`Refusal`] body whose `code` is stable:
//! `UNAUTHENTICATED` (401, no or unknown token), `SYNC_WRONG_CITY` (403, the batch names another
//! city than the token's), `SYNC_BATCH_TOO_LARGE` (413, more than `max_batch` changes),
//! `SYNC_GAP` (409, the batch skips ahead; `expected_seq` says where to resume),
//! `SYNC_MALFORMED` (400, a change the replica cannot apply; `violations` name it),
//! `SYNC_UNKNOWN_CITY` (404) and `INTERNAL` (500).

use model::RegionCode;
use serde::{Deserialize, Serialize};
use store::{entity::change_log, replica::Snapshot};

/// A batch of changes, oldest first. An empty batch is a heartbeat: it tells the hub the node's
/// sequence and asks for the hub's cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// The city the changes belong to (must be the token's city).
    pub city: RegionCode,
    /// The node's last committed sequence number when the batch was read.
    pub node_seq: i64,
    /// Contiguous changes (`seq`, `entity`, `entity_id`, `op`, `version`, `payload` as the
    /// row's JSON text or null for a tombstone, `recorded_at_ms`).
    pub changes: Vec<change_log::Model>,
}

/// A node's whole state, replacing the replica's (bootstrap of a new or wiped replica).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRequest {
    /// The city (must be the token's city).
    pub city: RegionCode,
    /// Rows and the sequence number they reflect.
    pub snapshot: Snapshot,
}

/// The hub's answer to a push or snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReply {
    /// The replica's cursor after the call: the node continues after it.
    pub applied_seq: i64,
    /// Changes (or snapshot rows) written by this call.
    pub applied: u64,
    /// Changes skipped as already applied.
    pub skipped: u64,
}

/// A refused sync request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// Stable code (see the module documentation).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// For `SYNC_GAP`: the sequence number the hub needs next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<i64>,
    /// For `SYNC_BATCH_TOO_LARGE`: the largest batch accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<usize>,
    /// For `SYNC_MALFORMED`: the offending fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
}

impl Refusal {
    /// A refusal with just a code and a message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            expected_seq: None,
            max_batch: None,
            violations: Vec::new(),
        }
    }
}

/// One field-level problem in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Where, e.g. `changes[3].payload`.
    pub field: String,
    /// Rule code.
    pub rule: String,
    /// Message.
    pub message: String,
}

/// `(id, row hash)` pairs of one table, sorted by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowHashes {
    /// Table name.
    pub table: String,
    /// Sorted `(id, hash)` pairs.
    pub rows: Vec<(String, String)>,
}

/// The `Authorization` header value for `token`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A new random token (256 bits, hex), for local federations and first-time setup.
pub fn random_token() -> Result<String, getrandom::Error> {
    use std::fmt::Write;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}
