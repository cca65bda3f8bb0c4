//! The messages between a node and the hub, as JSON over HTTP. Every request carries
//! `Authorization: Bearer <JWT>`: a `node` token whose `city` claim is the city pushed (the
//! hub refuses any other city's changes), or — for the read-only digest and rows routes — a
//! `province_admin` token.
//!
//! | route (hub)               | body                  | success                 |
//! |---------------------------|-----------------------|-------------------------|
//! | `POST /sync/push`         | [`PushRequest`]       | 200 [`PushReply`]       |
//! | `POST /sync/snapshot`     | [`SnapshotRequest`]   | 200 [`PushReply`]       |
//! | `GET /sync/digest/{city}` | —                     | 200 `store::replica::Digests` |
//! | `GET /sync/rows/{city}/{table}` | —               | 200 [`RowHashes`]       |
//! | `GET /sync/replica/{city}` | —                    | 200 `store::replica::Snapshot` (the replica, to rebuild a node) |
//! | `GET /sync/catalogue?after=N` | —                 | 200 `store::catalogue::CataloguePage` |
//!
//! A node serves `GET /sync/digest` and `GET /sync/rows/{table}` for `xingyi sync verify`.
//!
//! Refusals are `4xx` with a [`Refusal`] body whose `code` is stable:
//! `UNAUTHENTICATED` (401, no token or a token that fails validation), `FORBIDDEN` (403, the
//! token's role or city does not allow it: another city's batch, a record of another region), `SYNC_BATCH_TOO_LARGE` (413, more than `max_batch` changes),
//! `SYNC_GAP` (409, the batch skips ahead; `expected_seq` says where to resume),
//! `SYNC_MALFORMED` (400, a body that is not the message, a sequence number outside
//! `0..=2⁵³`, or a record that is not a row a node stores — read by the model's rules in
//! `store::record`; `violations` name each field), `PAYLOAD_TOO_LARGE` (413, the body), `SYNC_HISTORY` (409, changes of another history than the
//! replica's: the node answers with a snapshot),
//! `SYNC_UNKNOWN_CITY` (404) and `INTERNAL` (500).

use codes::Code;
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
    /// The node database's history id (`store::history`): the hub refuses changes of another
    /// history than its replica's (`SYNC_HISTORY`).
    #[serde(default)]
    pub history: Option<String>,
    /// Set when the node found the replica differing from its own data (digests compared):
    /// the hub marks the replica stale — `AUTO` answers live — until the node's snapshot
    /// repairs it.
    #[serde(default)]
    pub diverged: Option<String>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReply {
    /// The replica's cursor after the call: the node continues after it.
    pub applied_seq: i64,
    /// Changes (or snapshot rows) written by this call.
    pub applied: u64,
    /// Changes skipped as already applied.
    pub skipped: u64,
    /// The history the replica mirrors.
    #[serde(default)]
    pub history: Option<String>,
    /// Digest (`store::history::change_digest`) of the replica's change at `applied_seq`:
    /// the node compares it with its own change there, so a node restored from a backup
    /// learns that the hub applied changes it no longer has.
    #[serde(default)]
    pub head: Option<String>,
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
    /// The code, when it is one this build knows (a newer hub may send others).
    pub fn known_code(&self) -> Option<Code> {
        self.code.parse().ok()
    }

    /// A refusal with just a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
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

/// An access refusal at a sync endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) code: Code,
    pub(crate) message: String,
}

impl From<auth::Refusal> for Refused {
    fn from(r: auth::Refusal) -> Self {
        Self {
            code: r.code,
            message: r.message,
        }
    }
}

impl axum::response::IntoResponse for Refused {
    fn into_response(self) -> axum::response::Response {
        (
            status(self.code),
            axum::Json(Refusal::new(self.code, self.message)),
        )
            .into_response()
    }
}

/// The HTTP status of a refusal with `code`.
pub(crate) fn status(code: Code) -> axum::http::StatusCode {
    axum::http::StatusCode::from_u16(code.status())
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
}

/// The caller of a sync endpoint (anonymous without a token; a bad token is refused).
pub(crate) async fn principal(
    verifier: &auth::Verifier,
    headers: &axum::http::HeaderMap,
) -> Result<auth::Principal, Refused> {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("<not text>"));
    verifier.principal(authorization).await.map_err(|e| {
        tracing::info!(reason = e.reason, "refused a sync token");
        Refused {
            code: Code::Unauthenticated,
            message: format!("the token is not accepted ({e})"),
        }
    })
}
