//! The hub's side: one replica [`Store`] per registered city, the routes nodes push to, and
//! each city's sync state (what `cities { sync }` reports and what `AUTO` consistency decides
//! on).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use codes::Code;
use model::RegionCode;
use serde::{Deserialize, Serialize};
use store::{
    Store,
    replica::{Applied, CrashAfter},
};

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
    /// How often the hub re-reads each replica's sync state from its database, where another
    /// hub serving the same databases records what it learns (0: never; one hub alone).
    pub refresh_ms: u64,
}

impl Default for HubSyncConfig {
    fn default() -> Self {
        Self {
            max_batch: 1_000,
            max_snapshot_bytes: 256 * 1024 * 1024,
            fresh_ms: 3_000,
            refresh_ms: 500,
        }
    }
}

/// What the hubs know of one city's sync. Kept in the replica's database (`meta`, key
/// [`store::replica::SYNC_STATUS`]) as well as in memory, so every hub serving the replica —
/// two hubs behind a load balancer — reports the same state and decides `AUTO` alike. Times
/// are wall-clock: hubs on different machines must keep their clocks in step (NTP).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncState {
    /// The node's last committed sequence, as it last reported it.
    pub node_seq: Option<i64>,
    /// When the node last reported (any push, even a refused one from the right city).
    pub reported_at: Option<SystemTime>,
    /// When `node_seq` was last reported as it stands (a lower report replaces it once this
    /// is older than `fresh_ms`, so a figure the node no longer repeats cannot stick).
    pub node_seq_at: Option<SystemTime>,
    /// The replica's cursor (the database's own, `sync.applied_seq`, is the truth).
    pub applied_seq: i64,
    /// Wall-clock time of the last successful push.
    pub last_push: Option<SystemTime>,
    /// Code and message of the last refused or failed push, cleared by a successful one.
    pub last_error: Option<(String, String)>,
    /// Successful pushes.
    pub pushes: u64,
    /// Snapshots restored.
    pub snapshots: u64,
    /// Why the replica is known to differ from its node (the node's digest comparison), until
    /// a snapshot repairs it; `AUTO` does not answer from it meanwhile.
    pub diverged: Option<String>,
    /// Diverged replicas repaired by a snapshot.
    pub repairs: u64,
    /// Bumped by every update, so a hub never replaces a newer state with an older read.
    pub version: u64,
}

impl SyncState {
    /// Changes the node has committed that the replica has not applied (unknown before the
    /// node's first report).
    pub fn lag(&self) -> Option<i64> {
        self.node_seq.map(|n| (n - self.applied_seq).max(0))
    }
}

/// How long ago `t` was (zero for a time ahead of this clock).
pub fn since(t: SystemTime) -> Duration {
    SystemTime::now().duration_since(t).unwrap_or_default()
}

/// One city's replica.
#[derive(Debug)]
pub struct Replica {
    /// The city.
    pub city: RegionCode,
    /// The replica's database (owned by the city).
    pub store: Store,
    state: Mutex<SyncState>,
    /// One apply at a time per city in this process (the database's writers' lock orders
    /// applies between processes).
    apply: tokio::sync::Mutex<()>,
}

impl Replica {
    /// A replica over `store` (already connected, owned by `city`), with the sync state the
    /// hubs keep in it. Pushes are accepted from `city`'s node token only (see [`routes`]).
    pub async fn open(city: RegionCode, store: Store) -> store::Result<Self> {
        // Replicas made before the comparison's roll-ups existed get them now.
        if store.ensure_rollups().await? {
            tracing::info!(city = %city, "built the replica's comparison roll-ups");
        }
        let replica = Self {
            city,
            store,
            state: Mutex::new(SyncState::default()),
            apply: tokio::sync::Mutex::new(()),
        };
        replica.refresh().await?;
        Ok(replica)
    }

    /// A copy of the sync state.
    pub fn state(&self) -> SyncState {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// True when the node reported within `fresh`, the replica has applied everything it had
    /// committed then, and the replica is not known to differ from the node.
    /// What the replica's rows are a function of: the changes applied and the snapshots that
    /// replaced them. An answer computed at one generation is exactly as fresh as a
    /// recomputation at the same generation; the applied sequence alone is not enough — a
    /// snapshot of a node restored from a backup can land on the very sequence number the
    /// replica had, with other rows.
    pub fn generation(&self) -> (i64, u64) {
        let s = self.state();
        (s.applied_seq, s.snapshots)
    }

    pub fn is_current(&self, fresh: Duration) -> bool {
        let s = self.state();
        match (s.node_seq, s.reported_at) {
            _ if s.diverged.is_some() => false,
            (Some(n), Some(at)) => since(at) <= fresh && s.applied_seq >= n,
            _ => false,
        }
    }

    /// Reads the state the hubs keep in the replica's database (another hub may have taken
    /// the node's last reports) and the replica's cursor.
    pub async fn refresh(&self) -> store::Result<()> {
        let (applied_seq, stored) = self.store.sync_meta().await?;
        let stored = stored.map(|json| parse_state(self.city, &json));
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stored) = stored
            && stored.version >= s.version
        {
            *s = stored;
        }
        s.applied_seq = s.applied_seq.max(applied_seq);
        Ok(())
    }

    /// Changes the sync state with `f`, in the replica's database (under its writers' lock,
    /// so two hubs never lose each other's updates) and in memory; returns what `f` returns.
    /// If the database cannot be written, the change is made in memory only.
    async fn update<R: Send>(&self, f: impl Fn(&mut SyncState) -> R + Send + Sync) -> R {
        let city = self.city;
        let known = self.state();
        let mut written = None;
        let result = self
            .store
            .update_meta(store::replica::SYNC_STATUS, |old| {
                let mut s = old.map(|json| parse_state(city, &json)).unwrap_or_default();
                s.applied_seq = s.applied_seq.max(known.applied_seq);
                let out = f(&mut s);
                s.version = s.version.max(known.version) + 1;
                let json = serde_json::to_string(&s).unwrap_or_default();
                written = Some((s, out));
                json
            })
            .await;
        let mut mem = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match (result, written) {
            (Ok(_), Some((s, out))) => {
                *mem = s;
                out
            }
            (result, _) => {
                if let Err(e) = result {
                    tracing::warn!(%city, error = %e, "cannot keep the sync state in the replica; kept in memory");
                }
                mem.version += 1;
                f(&mut mem)
            }
        }
    }
}

/// The stored sync state, or a fresh one if it cannot be read (it is rebuilt by the next
/// reports).
fn parse_state(city: RegionCode, json: &str) -> SyncState {
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::warn!(%city, error = %e, "unreadable sync state in the replica; starting afresh");
        SyncState::default()
    })
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

    /// Re-reads every replica's sync state from its database (see [`Replica::refresh`]).
    pub async fn refresh(&self) {
        for r in self.by_city.values() {
            if let Err(e) = r.refresh().await {
                tracing::warn!(city = %r.city, error = %e, "cannot read the replica's sync state");
            }
        }
    }

    /// Keeps every replica's sync state in step with its database every `every`, for as long
    /// as the replicas are in use (the task ends when the last handle is dropped): what
    /// another hub on the same databases has learnt reaches this one within `every`.
    pub fn keep_refreshed(self: &Arc<Self>, every: Duration) {
        let replicas = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(replicas) = replicas.upgrade() else {
                    return;
                };
                replicas.refresh().await;
            }
        });
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
}

/// A refused request.
#[derive(Debug)]
struct Rejection(StatusCode, Refusal);

impl Rejection {
    fn new(code: Code, message: impl Into<String>) -> Self {
        Self(crate::protocol::status(code), Refusal::new(code, message))
    }

    fn from_store(e: store::Error) -> Self {
        match e {
            store::Error::Gap { expected, got } => {
                let mut r = Self::new(
                    Code::SyncGap,
                    format!("changes must continue at {expected}, not {got}"),
                );
                r.1.expected_seq = Some(expected);
                r
            }
            store::Error::History { replica, pushed } => {
                tracing::warn!(replica = %replica, pushed = %pushed, "refused changes of another history");
                Self::new(
                    Code::SyncHistory,
                    format!(
                        "the replica mirrors history {replica}, these changes are of history {pushed}; send a snapshot"
                    ),
                )
            }
            store::Error::Invalid(v) => {
                let mut r = Self::new(
                    Code::SyncMalformed,
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
                    Code::Internal,
                    "the hub could not apply the batch; it was rolled back, resend it",
                )
            }
        }
    }
}

impl From<crate::protocol::Refused> for Rejection {
    fn from(r: crate::protocol::Refused) -> Self {
        Self::new(r.code, r.message)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// What the sync routes share.
#[derive(Debug, Clone)]
struct Shared {
    replicas: Arc<Replicas>,
    /// The hub's own store: the catalogue, and refused pushes are recorded there.
    province: Store,
    auth: Arc<auth::Verifier>,
}

impl Shared {
    async fn caller(&self, headers: &HeaderMap) -> Result<auth::Principal, Rejection> {
        Ok(crate::protocol::principal(&self.auth, headers).await?)
    }

    /// `principal` may push `city`'s changes — or the refusal, recorded at the hub.
    async fn may_push(
        &self,
        principal: &auth::Principal,
        city: RegionCode,
        operation: &str,
    ) -> Result<(), Rejection> {
        match principal.sync(city) {
            Ok(()) => Ok(()),
            Err(r) => Err(self
                .refuse(principal, &city.to_string(), operation, r)
                .await),
        }
    }

    /// Records a refused sync write at the hub and turns it into the response.
    async fn refuse(
        &self,
        principal: &auth::Principal,
        target: &str,
        operation: &str,
        r: auth::Refusal,
    ) -> Rejection {
        let actor = principal.actor();
        tracing::warn!(actor = %actor, target, operation, code = r.code.as_str(), "refused a sync write");
        if let Err(e) = self
            .province
            .record_refusal(store::refusals::NewRefusal {
                actor: &actor,
                operation,
                target,
                code: r.code.as_str(),
                message: &r.message,
            })
            .await
        {
            tracing::error!(error = %e, "cannot record a refused sync write");
        }
        crate::protocol::Refused::from(r).into()
    }

    fn replica(&self, city: RegionCode) -> Result<&Arc<Replica>, Rejection> {
        self.replicas.get(city).ok_or_else(|| {
            Rejection::new(
                Code::SyncUnknownCity,
                format!("the hub keeps no replica of {city}"),
            )
        })
    }
}

/// One pushed record as the hub's check sees it: where it sits in the request, and the row
/// read back into the model (`store::record`), or why it cannot be.
type Read = (
    String,
    Result<Option<store::record::Checked>, model::Violations>,
);

/// Every record must be a record of the pushing city, read by the model's rules (not by
/// comparing strings): a change's row is exactly the row a node stores for a valid value of
/// the record the change names, and an institution, or a target's or actual's region scope,
/// lies in the city. Foreign records are refused as `FORBIDDEN`, any other fault as
/// `SYNC_MALFORMED`; each violation names its field.
fn check_records(city: RegionCode, records: impl Iterator<Item = Read>) -> Result<(), Rejection> {
    let mut foreign = Vec::new();
    let mut malformed = Vec::new();
    let violation = |at: &str, e: &model::ValidationError| Violation {
        field: format!("{at}.{}", e.field),
        rule: e.rule.to_owned(),
        message: e.message.clone(),
    };
    for (at, read) in records {
        let checked = match read {
            Ok(Some(checked)) => checked,
            Ok(None) => continue,
            Err(v) => {
                malformed.extend(v.0.iter().map(|e| violation(&at, e)));
                continue;
            }
        };
        if let Some((field, region)) = checked.record.region()
            && region.city() != city
        {
            foreign.push(Violation {
                field: format!("{at}.payload.{field}"),
                rule: "FOREIGN_REGION".into(),
                message: format!("a record in region {region} cannot come from {city}'s node"),
            });
        } else if let Err(v) = checked.canonical {
            malformed.extend(v.0.iter().map(|e| violation(&at, e)));
        }
    }
    if !foreign.is_empty() {
        let mut r = Rejection::new(
            Code::Forbidden,
            format!("{} record(s) are not {city}'s", foreign.len()),
        );
        r.1.violations = foreign;
        return Err(r);
    }
    if !malformed.is_empty() {
        let mut r = Rejection::new(
            Code::SyncMalformed,
            "records that are not rows a node stores",
        );
        r.1.violations = malformed;
        return Err(r);
    }
    Ok(())
}

/// Checks the token of a push or snapshot before its body is read: for a caller who can never
/// push (no token, a bad token, not a node token) the body — up to `max_snapshot_bytes` — is
/// never read or parsed. The city the node token may push is checked by the handler.
async fn pushers_only(
    State(shared): State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let principal = match shared.caller(req.headers()).await {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = principal.sync_any() {
        let operation = if req.uri().path().ends_with("/snapshot") {
            "sync.snapshot"
        } else {
            "sync.push"
        };
        return shared
            .refuse(&principal, "(batch not read)", operation, r)
            .await
            .into_response();
    }
    next.run(req).await
}

/// Body limit of a push: `max_batch` changes of ordinary rows fit with room to spare.
const PUSH_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Largest sequence number a node may report: integers stay exact in every client's numbers
/// (2⁵³), and no node writes that many changes.
pub const MAX_SEQ: i64 = 1 << 53;

/// A reported sequence number outside `0..=MAX_SEQ` is refused, never believed.
fn check_seq(field: &str, seq: i64) -> Result<(), Rejection> {
    if (0..=MAX_SEQ).contains(&seq) {
        return Ok(());
    }
    let mut r = Rejection::new(
        Code::SyncMalformed,
        format!("{field} {seq} is not a sequence number (0..={MAX_SEQ})"),
    );
    r.1.violations = vec![Violation {
        field: field.to_owned(),
        rule: "OUT_OF_RANGE".into(),
        message: format!("must lie in 0..={MAX_SEQ}"),
    }];
    Err(r)
}

/// The node sequence to hold after a report of `reported` at `now`, and since when it is held.
/// A late reply to an older request must not move the node's sequence back at once; but a
/// higher figure the node stops repeating (a forged or mistaken report) gives way to the
/// node's own reports once it is older than `fresh`.
fn reported_seq(
    held: Option<(i64, SystemTime)>,
    reported: i64,
    fresh: Duration,
    now: SystemTime,
) -> (i64, SystemTime) {
    match held {
        Some((n, at)) if n > reported && now.duration_since(at).unwrap_or_default() <= fresh => {
            (n, at)
        }
        _ => (reported, now),
    }
}

/// Records a node's report (a push or snapshot, accepted or refused) in the city's sync state;
/// `also` adds what else the outcome means (a divergence reported, a repair) and its result is
/// returned.
async fn record<R: Send>(
    replica: &Replica,
    result: &Result<Applied, Rejection>,
    node_seq: i64,
    snapshot: bool,
    fresh: Duration,
    also: impl Fn(&mut SyncState) -> R + Send + Sync,
) -> R {
    let outcome = match result {
        Ok(a) => Ok(a.applied_seq),
        Err(Rejection(_, r)) => Err((r.code.clone(), r.message.clone())),
    };
    let now = SystemTime::now();
    replica
        .update(|s| {
            let held = s.node_seq.zip(s.node_seq_at);
            let (seq, at) = reported_seq(held, node_seq, fresh, now);
            s.node_seq = Some(seq);
            s.node_seq_at = Some(at);
            s.reported_at = Some(now);
            match &outcome {
                Ok(applied_seq) => {
                    s.applied_seq = *applied_seq;
                    s.last_push = Some(now);
                    s.last_error = None;
                    s.pushes += 1;
                    if snapshot {
                        s.snapshots += 1;
                    }
                }
                Err(e) => s.last_error = Some(e.clone()),
            }
            also(s)
        })
        .await
}

/// A JSON body whose refusal is a coded [`Refusal`] like every other: `SYNC_MALFORMED`
/// (400: not JSON, or not the message; 415: not `application/json`) or `PAYLOAD_TOO_LARGE`
/// (413).
#[derive(Debug)]
struct Body<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = Rejection;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Rejection> {
        match <Json<T> as axum::extract::FromRequest<S>>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(e) => {
                let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Code::PayloadTooLarge
                } else {
                    Code::SyncMalformed
                };
                // The extractor's own status (415 for a wrong media type, 422 for JSON of
                // the wrong shape) says more than the code's.
                let mut r = Rejection::new(code, e.body_text());
                r.0 = e.status();
                Err(r)
            }
        }
    }
}

/// A short text the node sends about itself (a history id, a divergence reason): bounded and
/// free of control characters, like every name.
fn check_note(field: &str, value: Option<&str>) -> Result<(), Rejection> {
    let mut v = model::Violations::new();
    v.optional_name(field, value);
    if v.is_empty() {
        return Ok(());
    }
    let mut r = Rejection::new(Code::SyncMalformed, format!("{field} is not a short text"));
    r.1.violations =
        v.0.iter()
            .map(|e| Violation {
                field: e.field.clone(),
                rule: e.rule.to_owned(),
                message: e.message.clone(),
            })
            .collect();
    Err(r)
}

/// Everything about a push that can be refused before the replica is touched.
fn check_push(req: &PushRequest, max: usize) -> Result<(), Rejection> {
    check_seq("node_seq", req.node_seq)?;
    check_note("history", req.history.as_deref())?;
    check_note("diverged", req.diverged.as_deref())?;
    if req.changes.len() > max {
        let mut r = Rejection::new(
            Code::SyncBatchTooLarge,
            format!("{} changes in one batch; at most {max}", req.changes.len()),
        );
        r.1.max_batch = Some(max);
        return Err(r);
    }
    check_records(
        req.city,
        req.changes
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("changes[{i}]"), store::record::read_change(c))),
    )
}

/// The reply to an accepted push or snapshot: the cursor, and what the node checks its own
/// history against (the replica's history and the digest of its change at the cursor).
async fn reply(replica: &Replica, applied: Applied) -> Result<PushReply, Rejection> {
    let history = replica
        .store
        .held_history()
        .await
        .map_err(Rejection::from_store)?;
    let head = replica
        .store
        .change_digest_at(applied.applied_seq)
        .await
        .map_err(Rejection::from_store)?;
    Ok(PushReply {
        applied_seq: applied.applied_seq,
        applied: applied.applied,
        skipped: applied.skipped,
        history,
        head,
    })
}

async fn push(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Body(req): Body<PushRequest>,
) -> Result<Json<PushReply>, Rejection> {
    let principal = shared.caller(&headers).await?;
    shared.may_push(&principal, req.city, "sync.push").await?;
    let replica = shared.replica(req.city)?;
    let replicas = &shared.replicas;
    let result = match check_push(&req, replicas.config.max_batch) {
        Err(r) => Err(r),
        Ok(()) => {
            let _one_at_a_time = replica.apply.lock().await;
            let started = std::time::Instant::now();
            let result = {
                use tracing::Instrument as _;
                replica
                    .store
                    .apply_changes(&req.changes, req.history.as_deref(), replicas.armed_crash())
                    .instrument(tracing::info_span!("apply", city = %replica.city, changes = req.changes.len()))
                    .await
            };
            if !req.changes.is_empty() {
                metrics::histogram!("xingyi_sync_apply_duration_seconds", "city" => replica.city.to_string())
                    .record(started.elapsed().as_secs_f64());
            }
            if matches!(result, Err(store::Error::Interrupted(_))) {
                replicas.disarm_crash();
            }
            result.map_err(Rejection::from_store)
        }
    };
    let diverged = match (req.diverged, &result) {
        (Some(reason), Ok(_)) => {
            tracing::warn!(city = %replica.city, reason = %reason, "the node found the replica differing from its data; answering live until it is rebuilt");
            Some(reason)
        }
        _ => None,
    };
    record(
        replica,
        &result,
        req.node_seq,
        false,
        Duration::from_millis(replicas.config.fresh_ms),
        |s| {
            if diverged.is_some() {
                s.diverged.clone_from(&diverged);
            }
        },
    )
    .await;
    let city = replica.city.to_string();
    let code = match &result {
        Ok(_) => "OK".to_owned(),
        Err(Rejection(_, r)) => r.code.clone(),
    };
    metrics::counter!("xingyi_sync_pushes_total", "city" => city.clone(), "outcome" => code)
        .increment(1);
    let applied = result?;
    metrics::counter!("xingyi_sync_applied_changes_total", "city" => city)
        .increment(applied.applied);
    if applied.applied > 0 {
        tracing::debug!(city = %replica.city, applied = applied.applied, applied_seq = applied.applied_seq, "batch applied");
    }
    Ok(Json(reply(replica, applied).await?))
}

async fn snapshot(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Body(req): Body<SnapshotRequest>,
) -> Result<Json<PushReply>, Rejection> {
    let principal = shared.caller(&headers).await?;
    shared
        .may_push(&principal, req.city, "sync.snapshot")
        .await?;
    let replica = shared.replica(req.city)?;
    check_seq("snapshot.seq", req.snapshot.seq)?;
    check_note("snapshot.history", req.snapshot.history.as_deref())?;
    let rows = req.snapshot.tables.iter().flat_map(|(table, rows)| {
        rows.iter().enumerate().map(move |(i, row)| {
            (
                format!("snapshot.tables.{table}[{i}]"),
                store::record::read(table, row).map(Some),
            )
        })
    });
    let log = req
        .snapshot
        .log
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("snapshot.log[{i}]"), store::record::read_change(c)));
    let checked = check_records(req.city, rows.chain(log));
    let result = if let Err(r) = checked {
        Err(r)
    } else {
        let _one_at_a_time = replica.apply.lock().await;
        replica
            .store
            .restore_snapshot(&req.snapshot)
            .await
            .map_err(Rejection::from_store)
    };
    let rebuilt = result.is_ok();
    let repaired = record(
        replica,
        &result,
        req.snapshot.seq,
        true,
        Duration::from_millis(shared.replicas.config.fresh_ms),
        |s| {
            let repaired = s.diverged.take_if(|_| rebuilt);
            if repaired.is_some() {
                s.repairs += 1;
            }
            repaired
        },
    )
    .await;
    let applied = result?;
    // A whole replica was just written: refresh the planner's statistics in the background.
    let store = replica.store.clone();
    tokio::spawn(async move {
        if let Err(e) = store.maintain().await {
            tracing::warn!(error = %e, "refreshing statistics after a snapshot failed");
        }
    });
    tracing::info!(city = %replica.city, rows = applied.applied, seq = applied.applied_seq, "replica rebuilt from the node's snapshot");
    metrics::counter!("xingyi_sync_snapshots_total", "city" => replica.city.to_string())
        .increment(1);
    if let Some(reason) = repaired {
        metrics::counter!("xingyi_sync_repairs_total", "city" => replica.city.to_string())
            .increment(1);
        tracing::info!(city = %replica.city, reason = %reason, "the diverged replica is repaired");
    }
    Ok(Json(reply(replica, applied).await?))
}

async fn replica_for(
    shared: &Shared,
    headers: &HeaderMap,
    city: &str,
) -> Result<Arc<Replica>, Rejection> {
    let principal = shared.caller(headers).await?;
    let city: RegionCode = city.parse().map_err(|_| {
        Rejection::new(
            Code::SyncUnknownCity,
            format!("`{city}` is not a region code"),
        )
    })?;
    principal
        .inspect_sync(city)
        .map_err(|r| Rejection::from(crate::protocol::Refused::from(r)))?;
    shared.replica(city).cloned()
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
    State(shared): State<Shared>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<CatalogueQuery>,
) -> Result<Json<store::catalogue::CataloguePage>, Rejection> {
    // Any city's node (the catalogue is the province's, the same for all), or the admin.
    let principal = shared.caller(&headers).await?;
    match principal.subject().map(|s| s.role) {
        Some(auth::Role::Node | auth::Role::ProvinceAdmin) => {}
        _ => {
            return Err(Rejection::new(
                if principal == auth::Principal::Anonymous {
                    Code::Unauthenticated
                } else {
                    Code::Forbidden
                },
                "the catalogue feed is for node tokens",
            ));
        }
    }
    shared
        .province
        .catalogue_after(q.after.max(0), CATALOGUE_PAGE)
        .await
        .map(Json)
        .map_err(Rejection::from_store)
}

/// The replica of a city as a snapshot: the province's copy of the city, from which
/// `xingyi node restore --from-hub` rebuilds a lost node database.
async fn replica_snapshot(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(city): Path<String>,
) -> Result<Json<store::replica::Snapshot>, Rejection> {
    let replica = replica_for(&shared, &headers, &city).await?;
    let snapshot = replica
        .store
        .snapshot()
        .await
        .map_err(Rejection::from_store)?;
    tracing::info!(city = %replica.city, seq = snapshot.seq, rows = snapshot.rows(), "handed out the replica's snapshot");
    Ok(Json(snapshot))
}

async fn digest(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(city): Path<String>,
) -> Result<Json<store::replica::Digests>, Rejection> {
    let replica = replica_for(&shared, &headers, &city).await?;
    replica
        .store
        .digests()
        .await
        .map(Json)
        .map_err(Rejection::from_store)
}

async fn rows(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path((city, table)): Path<(String, String)>,
) -> Result<Json<RowHashes>, Rejection> {
    let replica = replica_for(&shared, &headers, &city).await?;
    let rows = replica
        .store
        .row_hashes(&table)
        .await
        .map_err(Rejection::from_store)?;
    Ok(Json(RowHashes { table, rows }))
}

/// The hub's sync routes (`/sync/push`, `/sync/snapshot`, `/sync/digest/{city}`,
/// `/sync/rows/{city}/{table}`, `/sync/replica/{city}`, and `/sync/catalogue` over the hub's own store `province`),
/// checking callers with `auth`.
pub fn routes(replicas: Arc<Replicas>, province: Store, auth: Arc<auth::Verifier>) -> Router {
    let snapshot_limit = replicas.config.max_snapshot_bytes;
    let shared = Shared {
        replicas,
        province,
        auth,
    };
    let pushers_only = axum::middleware::from_fn_with_state(shared.clone(), pushers_only);
    Router::new()
        .route("/sync/catalogue", get(catalogue))
        .route(
            "/sync/push",
            post(push)
                .layer(DefaultBodyLimit::max(PUSH_BODY_BYTES))
                .layer(pushers_only.clone()),
        )
        .route(
            "/sync/snapshot",
            post(snapshot)
                .layer(DefaultBodyLimit::max(snapshot_limit))
                .layer(pushers_only),
        )
        .route("/sync/digest/{city}", get(digest))
        .route("/sync/replica/{city}", get(replica_snapshot))
        .route("/sync/rows/{city}/{table}", get(rows))
        .with_state(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_higher_node_sequence_holds_only_while_it_is_fresh() {
        let fresh = Duration::from_secs(3);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |s: u64| t0 + Duration::from_secs(s);
        // A forged (or late) high figure, then the node's own lower reports every second.
        let mut held = reported_seq(None, MAX_SEQ, fresh, at(0));
        assert_eq!(held, (MAX_SEQ, at(0)));
        for s in 1..=3 {
            held = reported_seq(Some(held), 400, fresh, at(s));
            assert_eq!(held.0, MAX_SEQ, "within {fresh:?} the higher figure holds");
        }
        held = reported_seq(Some(held), 400, fresh, at(4));
        assert_eq!(held, (400, at(4)), "then the node's own report wins");
        // Going up is always taken at once.
        assert_eq!(reported_seq(Some(held), 401, fresh, at(4)), (401, at(4)));
        // The same figure again is held from its latest report.
        assert_eq!(
            reported_seq(Some((401, at(4))), 401, fresh, at(9)),
            (401, at(9))
        );
    }
}
