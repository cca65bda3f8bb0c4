//! The hub's side: one replica [`Store`] per registered city, the routes nodes push to, and
//! each city's sync state (what `cities { sync }` reports and what `AUTO` consistency decides
//! on).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use model::RegionCode;
use serde::{Deserialize, Serialize};
use store::{
    Store,
    replica::{Applied, CrashAfter},
};
use subtle::ConstantTimeEq;

use crate::protocol::{PushReply, PushRequest, Refusal, RowHashes, SnapshotRequest, Violation};

/// Limits of the hub's sync endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubSyncConfig {
    /// Most changes accepted in one push.
    pub max_batch: usize,
    /// Largest snapshot body in bytes.
    pub max_snapshot_bytes: usize,
    /// How recent the node's last report must be for `AUTO` to trust that the replica has
    /// everything the node committed.
    pub fresh_ms: u64,
}

impl Default for HubSyncConfig {
    fn default() -> Self {
        Self {
            max_batch: 1_000,
            max_snapshot_bytes: 256 * 1024 * 1024,
            fresh_ms: 3_000,
        }
    }
}

/// What the hub knows of one city's sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    /// The node's last committed sequence, as it last reported it.
    pub node_seq: Option<i64>,
    /// When the node last reported (any push, even a refused one from the right city).
    pub reported_at: Option<Instant>,
    /// The replica's cursor.
    pub applied_seq: i64,
    /// Wall-clock time of the last successful push.
    pub last_push: Option<SystemTime>,
    /// Code and message of the last refused or failed push, cleared by a successful one.
    pub last_error: Option<(String, String)>,
    /// Successful pushes.
    pub pushes: u64,
    /// Snapshots restored.
    pub snapshots: u64,
}

impl SyncState {
    /// Changes the node has committed that the replica has not applied (unknown before the
    /// node's first report).
    pub fn lag(&self) -> Option<i64> {
        self.node_seq.map(|n| (n - self.applied_seq).max(0))
    }
}

/// One city's replica.
#[derive(Debug)]
pub struct Replica {
    /// The city.
    pub city: RegionCode,
    /// The replica's database (owned by the city).
    pub store: Store,
    token: String,
    state: Mutex<SyncState>,
    /// One apply at a time per city.
    apply: tokio::sync::Mutex<()>,
}

impl Replica {
    /// A replica over `store` (already connected, owned by `city`), accepting pushes signed
    /// with `token` (an empty token accepts none).
    pub async fn open(city: RegionCode, store: Store, token: String) -> store::Result<Self> {
        let applied_seq = store.applied_seq().await?;
        // Replicas made before the comparison's roll-ups existed get them now.
        if store.ensure_rollups().await? {
            tracing::info!(city = %city, "built the replica's comparison roll-ups");
        }
        Ok(Self {
            city,
            store,
            token,
            state: Mutex::new(SyncState {
                applied_seq,
                ..SyncState::default()
            }),
            apply: tokio::sync::Mutex::new(()),
        })
    }

    /// A copy of the sync state.
    pub fn state(&self) -> SyncState {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// True when the node reported within `fresh` and the replica has applied everything it
    /// had committed then.
    pub fn is_current(&self, fresh: Duration) -> bool {
        let s = self.state();
        match (s.node_seq, s.reported_at) {
            (Some(n), Some(at)) => at.elapsed() <= fresh && s.applied_seq >= n,
            _ => false,
        }
    }

    fn token_matches(&self, presented: &str) -> bool {
        !self.token.is_empty() && bool::from(self.token.as_bytes().ct_eq(presented.as_bytes()))
    }

    fn update(&self, f: impl FnOnce(&mut SyncState)) {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// Every city's replica, and the test hook that simulates a crash mid-apply.
#[derive(Debug, Default)]
pub struct Replicas {
    by_city: BTreeMap<RegionCode, Arc<Replica>>,
    config: HubSyncConfig,
    crash: Mutex<CrashAfter>,
}

impl Replicas {
    /// The replicas, keyed by city.
    pub fn new(replicas: Vec<Replica>, config: HubSyncConfig) -> Self {
        Self {
            by_city: replicas
                .into_iter()
                .map(|r| (r.city, Arc::new(r)))
                .collect(),
            config,
            crash: Mutex::new(CrashAfter::default()),
        }
    }

    /// One city's replica.
    pub fn get(&self, city: RegionCode) -> Option<&Arc<Replica>> {
        self.by_city.get(&city)
    }

    /// All replicas.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Replica>> {
        self.by_city.values()
    }

    /// The configuration.
    pub fn config(&self) -> HubSyncConfig {
        self.config
    }

    /// Test hook: the next push with more than `rows` new changes fails inside its
    /// transaction after `rows` rows, as a crash between two statements would (once).
    pub fn crash_next_apply_after(&self, rows: usize) {
        *self.crash.lock().unwrap_or_else(PoisonError::into_inner) = CrashAfter(Some(rows));
    }

    fn armed_crash(&self) -> CrashAfter {
        *self.crash.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn disarm_crash(&self) {
        *self.crash.lock().unwrap_or_else(PoisonError::into_inner) = CrashAfter::default();
    }

    /// The replica whose token is presented in `headers`.
    fn authenticate(&self, headers: &HeaderMap) -> Result<&Arc<Replica>, Rejection> {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Rejection::new(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHENTICATED",
                    "a node token is required (Authorization: Bearer …)",
                )
            })?;
        self.by_city
            .values()
            .find(|r| r.token_matches(presented))
            .ok_or_else(|| {
                Rejection::new(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHENTICATED",
                    "the token is not a registered node's",
                )
            })
    }
}

/// A refused request.
#[derive(Debug)]
struct Rejection(StatusCode, Refusal);

impl Rejection {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self(status, Refusal::new(code, message))
    }

    fn from_store(e: store::Error) -> Self {
        match e {
            store::Error::Gap { expected, got } => {
                let mut r = Self::new(
                    StatusCode::CONFLICT,
                    "SYNC_GAP",
                    format!("changes must continue at {expected}, not {got}"),
                );
                r.1.expected_seq = Some(expected);
                r
            }
            store::Error::Invalid(v) => {
                let mut r = Self::new(
                    StatusCode::BAD_REQUEST,
                    "SYNC_MALFORMED",
                    format!("the batch cannot be applied: {v}"),
                );
                r.1.violations =
                    v.0.iter()
                        .map(|e| Violation {
                            field: e.field.clone(),
                            rule: e.rule.to_owned(),
                            message: e.message.clone(),
                        })
                        .collect();
                r
            }
            other => {
                tracing::error!(error = %other, source = ?std::error::Error::source(&other), "sync apply failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    "the hub could not apply the batch; it was rolled back, resend it",
                )
            }
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

type Shared = Arc<Replicas>;

/// Body limit of a push: `max_batch` changes of ordinary rows fit with room to spare.
const PUSH_BODY_BYTES: usize = 64 * 1024 * 1024;

fn check_city(replica: &Replica, city: RegionCode) -> Result<(), Rejection> {
    if city == replica.city {
        Ok(())
    } else {
        Err(Rejection::new(
            StatusCode::FORBIDDEN,
            "SYNC_WRONG_CITY",
            format!(
                "this token belongs to the node of {}, not {city}",
                replica.city
            ),
        ))
    }
}

fn record(replica: &Replica, result: &Result<Applied, Rejection>, node_seq: i64, snapshot: bool) {
    replica.update(|s| {
        // A late reply to an older request must not move the node's sequence back.
        s.node_seq = Some(s.node_seq.map_or(node_seq, |n| n.max(node_seq)));
        s.reported_at = Some(Instant::now());
        match result {
            Ok(a) => {
                s.applied_seq = a.applied_seq;
                s.last_push = Some(SystemTime::now());
                s.last_error = None;
                s.pushes += 1;
                if snapshot {
                    s.snapshots += 1;
                }
            }
            Err(Rejection(_, r)) => s.last_error = Some((r.code.clone(), r.message.clone())),
        }
    });
}

async fn push(
    State(replicas): State<Shared>,
    headers: HeaderMap,
    Json(req): Json<PushRequest>,
) -> Result<Json<PushReply>, Rejection> {
    let replica = replicas.authenticate(&headers)?;
    check_city(replica, req.city)?;
    let max = replicas.config.max_batch;
    let result = if req.changes.len() > max {
        let mut r = Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "SYNC_BATCH_TOO_LARGE",
            format!("{} changes in one batch; at most {max}", req.changes.len()),
        );
        r.1.max_batch = Some(max);
        Err(r)
    } else {
        let _one_at_a_time = replica.apply.lock().await;
        let result = replica
            .store
            .apply_changes(&req.changes, replicas.armed_crash())
            .await;
        if matches!(result, Err(store::Error::Interrupted(_))) {
            replicas.disarm_crash();
        }
        result.map_err(Rejection::from_store)
    };
    record(replica, &result, req.node_seq, false);
    let applied = result?;
    if applied.applied > 0 {
        tracing::debug!(city = %replica.city, applied = applied.applied, applied_seq = applied.applied_seq, "batch applied");
    }
    Ok(Json(PushReply {
        applied_seq: applied.applied_seq,
        applied: applied.applied,
        skipped: applied.skipped,
    }))
}

async fn snapshot(
    State(replicas): State<Shared>,
    headers: HeaderMap,
    Json(req): Json<SnapshotRequest>,
) -> Result<Json<PushReply>, Rejection> {
    let replica = replicas.authenticate(&headers)?;
    check_city(replica, req.city)?;
    let result = {
        let _one_at_a_time = replica.apply.lock().await;
        replica
            .store
            .restore_snapshot(&req.snapshot)
            .await
            .map_err(Rejection::from_store)
    };
    record(replica, &result, req.snapshot.seq, true);
    let applied = result?;
    // A whole replica was just written: refresh the planner's statistics in the background.
    let store = replica.store.clone();
    tokio::spawn(async move {
        if let Err(e) = store.maintain().await {
            tracing::warn!(error = %e, "refreshing statistics after a snapshot failed");
        }
    });
    tracing::info!(city = %replica.city, rows = applied.applied, seq = applied.applied_seq, "replica rebuilt from the node's snapshot");
    Ok(Json(PushReply {
        applied_seq: applied.applied_seq,
        applied: applied.applied,
        skipped: 0,
    }))
}

fn replica_for<'a>(
    replicas: &'a Replicas,
    headers: &HeaderMap,
    city: &str,
) -> Result<&'a Arc<Replica>, Rejection> {
    let caller = replicas.authenticate(headers)?;
    let city: RegionCode = city.parse().map_err(|_| {
        Rejection::new(
            StatusCode::NOT_FOUND,
            "SYNC_UNKNOWN_CITY",
            format!("`{city}` is not a region code"),
        )
    })?;
    check_city(caller, city)?;
    replicas.get(city).ok_or_else(|| {
        Rejection::new(
            StatusCode::NOT_FOUND,
            "SYNC_UNKNOWN_CITY",
            format!("no replica of {city}"),
        )
    })
}

/// Query of `GET /sync/catalogue`.
#[derive(Debug, Deserialize)]
struct CatalogueQuery {
    /// The hub sequence the node has read up to.
    #[serde(default)]
    after: i64,
}

/// Entries of the hub's log read per catalogue page.
const CATALOGUE_PAGE: u64 = 2_000;

async fn catalogue(
    State((replicas, province)): State<(Shared, Store)>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<CatalogueQuery>,
) -> Result<Json<store::catalogue::CataloguePage>, Rejection> {
    replicas.authenticate(&headers)?;
    province
        .catalogue_after(q.after.max(0), CATALOGUE_PAGE)
        .await
        .map(Json)
        .map_err(Rejection::from_store)
}

async fn digest(
    State(replicas): State<Shared>,
    headers: HeaderMap,
    Path(city): Path<String>,
) -> Result<Json<store::replica::Digests>, Rejection> {
    let replica = replica_for(&replicas, &headers, &city)?;
    replica
        .store
        .digests()
        .await
        .map(Json)
        .map_err(Rejection::from_store)
}

async fn rows(
    State(replicas): State<Shared>,
    headers: HeaderMap,
    Path((city, table)): Path<(String, String)>,
) -> Result<Json<RowHashes>, Rejection> {
    let replica = replica_for(&replicas, &headers, &city)?;
    let rows = replica
        .store
        .row_hashes(&table)
        .await
        .map_err(Rejection::from_store)?;
    Ok(Json(RowHashes { table, rows }))
}

/// The hub's sync routes (`/sync/push`, `/sync/snapshot`, `/sync/digest/{city}`,
/// `/sync/rows/{city}/{table}`, and `/sync/catalogue` over the hub's own store `province`).
pub fn routes(replicas: Shared, province: Store) -> Router {
    let snapshot_limit = replicas.config.max_snapshot_bytes;
    let down = Router::new()
        .route("/sync/catalogue", get(catalogue))
        .with_state((replicas.clone(), province));
    Router::new()
        .route(
            "/sync/push",
            post(push).layer(DefaultBodyLimit::max(PUSH_BODY_BYTES)),
        )
        .route(
            "/sync/snapshot",
            post(snapshot).layer(DefaultBodyLimit::max(snapshot_limit)),
        )
        .route("/sync/digest/{city}", get(digest))
        .route("/sync/rows/{city}/{table}", get(rows))
        .with_state(replicas)
        .merge(down)
}
