//! The node's side: the pusher task that sends the change log to the hub, and the read-only
//! routes `xingyi sync verify` compares against the hub's replica.
//!
//! The pusher keeps no state on disk: the hub's cursor is the truth, and every reply carries
//! it. It starts with a heartbeat (an empty push) to learn the cursor, then sends batches read
//! from the change log after it. A `SYNC_GAP` reply moves it to the hub's expected sequence; a
//! replica that is empty, or ahead of the node (a wiped hub, a node restored from a backup),
//! gets the node's snapshot instead. Failures back off exponentially with jitter; the node keeps
//! serving and taking writes meanwhile.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::HeaderMap,
    routing::get,
};
use backon::BackoffBuilder;
use codes::Code;
use serde::{Deserialize, Serialize};
use store::Store;

use crate::protocol::{PushReply, PushRequest, Refusal, RowHashes, SnapshotRequest, bearer};

/// Where and how a node pushes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// The hub's base URL, e.g. `http://127.0.0.1:8600`, or several hubs serving the same
    /// databases separated by commas (`http://hub-a:8600, http://hub-b:8600`): the pusher uses
    /// one and moves to the next when it cannot reach it. Empty turns pushing off.
    pub hub_url: String,
    /// This node's token, as registered at the hub.
    pub token: String,
    /// Most changes per batch (the hub refuses more than its own `max_batch`).
    pub batch: u64,
    /// Pause between polls of the change log when there is nothing to send.
    pub interval_ms: u64,
    /// An empty push at least this often, so the hub knows the node's sequence.
    pub heartbeat_ms: u64,
    /// Longest pause between retries while the hub is away.
    pub max_backoff_ms: u64,
    /// Time-out of one push.
    pub timeout_ms: u64,
    /// How often the node compares its digests with the replica's while caught up, and sends
    /// a snapshot when they differ (0: never; a refused push checks at once).
    pub verify_ms: u64,
}

impl PushConfig {
    /// The hubs' base URLs, in the order given (no trailing `/`).
    pub fn hubs(&self) -> Vec<String> {
        hub_urls(&self.hub_url)
    }
}

/// The base URLs in a comma-separated list (see [`PushConfig::hub_url`]).
pub fn hub_urls(list: &str) -> Vec<String> {
    list.split(',')
        .map(|u| u.trim().trim_end_matches('/'))
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            hub_url: String::new(),
            token: String::new(),
            batch: 500,
            interval_ms: 100,
            heartbeat_ms: 1_000,
            max_backoff_ms: 5_000,
            timeout_ms: 30_000,
            verify_ms: 60_000,
        }
    }
}

impl std::fmt::Debug for PushConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConfig")
            .field("hub_url", &self.hub_url)
            .field("token", &"<redacted>")
            .field("batch", &self.batch)
            .field("interval_ms", &self.interval_ms)
            .field("heartbeat_ms", &self.heartbeat_ms)
            .field("max_backoff_ms", &self.max_backoff_ms)
            .field("timeout_ms", &self.timeout_ms)
            .field("verify_ms", &self.verify_ms)
            .finish()
    }
}

/// What the pusher has done, for `/health` and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PushStatus {
    /// The hub's cursor as last reported.
    pub hub_applied_seq: Option<i64>,
    /// Milliseconds since the epoch of the last successful push.
    pub last_push_ms: Option<u128>,
    /// The last failure, cleared by a success.
    pub last_error: Option<String>,
    /// Changes the hub accepted from this pusher.
    pub changes_pushed: u64,
    /// Snapshots sent.
    pub snapshots: u64,
    /// Failed attempts.
    pub failures: u64,
    /// The hub sequence the province catalogue has been read up to.
    pub catalogue_seq: Option<i64>,
    /// This database's sync history id.
    pub history: Option<String>,
    /// Times the replica was found to differ from this node (another history, another change
    /// at the hub's cursor, or different digests) and rebuilt from a snapshot.
    pub repairs: u64,
    /// Why the last repair was needed.
    pub last_repair: Option<String>,
}

/// Why one push attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The hub could not be reached or did not answer in time.
    #[error("hub unreachable: {}", outbound::cause(.0))]
    Http(#[from] reqwest::Error),
    /// The hub refused.
    #[error("hub refused ({status}): {} {}", .refusal.code, .refusal.message)]
    Refused {
        /// HTTP status.
        status: u16,
        /// The refusal.
        refusal: Refusal,
    },
    /// The node's own database failed.
    #[error("reading the change log: {0}")]
    Store(#[from] store::Error),
}

impl PushError {
    /// The hub's refusal code, if the hub refused.
    pub fn code(&self) -> Option<Code> {
        match self {
            Self::Refused { refusal, .. } => refusal.known_code(),
            _ => None,
        }
    }
}

/// A running pusher.
#[derive(Debug, Clone)]
pub struct PusherHandle {
    status: Arc<Mutex<PushStatus>>,
    /// Becomes true once the pusher has stopped and let go of its store.
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl PusherHandle {
    /// A copy of the pusher's status.
    pub fn status(&self) -> PushStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until the pusher has stopped (after its shutdown fired) and let go of its store.
    pub async fn stopped(&self) {
        let mut rx = self.stopped.clone();
        // An error means the sender is gone, which happens only once the pusher has stopped.
        let _ = rx.wait_for(|s| *s).await;
    }
}

struct Pusher {
    store: Store,
    config: PushConfig,
    http: reqwest::Client,
    /// The hubs, and the one in use: all serve the same replica databases, so the cursor
    /// each reports is the same.
    hubs: Vec<String>,
    current: usize,
    /// Rounds failed in a row; the pusher moves to the next hub after each one, and waits
    /// (backing off) once every hub has failed.
    failed: usize,
    status: Arc<Mutex<PushStatus>>,
    /// The hub's cursor, once known.
    hub: Option<i64>,
    last_sent: Option<Instant>,
    last_pull: Option<Instant>,
    /// This database's history id, read at the first round.
    history: Option<String>,
    /// Set when the replica must be rebuilt from a snapshot, with why.
    resync: Option<String>,
    /// When digests were last compared; `None`: compare at the next chance.
    last_verify: Option<Instant>,
}

/// Starts pushing `store`'s change log to the hub until `shutdown` resolves, with the
/// system's TLS roots. Returns `None` when `config.hub_url` is empty.
pub fn spawn(
    store: Store,
    config: PushConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Option<PusherHandle>, outbound::ClientError> {
    spawn_with_tls(store, config, &outbound::TlsConfig::default(), shutdown)
}

/// [`spawn`] with the node's outgoing TLS settings (a private CA, a client certificate).
pub fn spawn_with_tls(
    store: Store,
    config: PushConfig,
    tls: &outbound::TlsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Option<PusherHandle>, outbound::ClientError> {
    let hubs = config.hubs();
    if hubs.is_empty() {
        return Ok(None);
    }
    let http = outbound::client_builder(tls)?
        .timeout(Duration::from_millis(config.timeout_ms.max(1)))
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .build()?;
    let status = Arc::new(Mutex::new(PushStatus::default()));
    let pusher = Pusher {
        hubs,
        current: 0,
        failed: 0,
        store,
        config,
        http,
        status: status.clone(),
        hub: None,
        last_sent: None,
        last_pull: None,
        history: None,
        resync: None,
        last_verify: Some(Instant::now()),
    };
    let (done, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        pusher.run(shutdown).await;
        let _ = done.send(true);
    });
    Ok(Some(PusherHandle { status, stopped }))
}

impl Pusher {
    /// The hub in use.
    fn base(&self) -> &str {
        self.hubs
            .get(self.current % self.hubs.len().max(1))
            .map_or("", String::as_str)
    }

    /// Moves to the next hub when the one in use cannot serve (unreachable, time-out, 5xx),
    /// learning the cursor afresh there; true if it moved.
    fn fail_over(&mut self, e: &PushError) -> bool {
        let unavailable = match e {
            PushError::Http(_) => true,
            PushError::Refused { status, .. } => *status >= 500,
            PushError::Store(_) => false,
        };
        if !unavailable || self.hubs.len() < 2 {
            return false;
        }
        let from = self.base().to_owned();
        self.current = (self.current + 1) % self.hubs.len();
        self.hub = None;
        tracing::warn!(city = %self.store.owner(), from = %from, to = %self.base(), "moving to another hub");
        true
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(self.config.interval_ms.max(50)))
            .with_max_delay(Duration::from_millis(self.config.max_backoff_ms.max(50)))
            .with_jitter()
            .without_max_times()
            .build()
    }

    async fn run(mut self, shutdown: impl std::future::Future<Output = ()> + Send) {
        let city = self.store.owner();
        tracing::info!(%city, hubs = ?self.hubs, "pusher started");
        tokio::pin!(shutdown);
        let idle = Duration::from_millis(self.config.interval_ms.max(1));
        let mut backoff = self.backoff();
        let mut delay = Duration::ZERO;
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(delay) => {}
            }
            // A round in flight is abandoned on shutdown: every push is idempotent, and the next
            // pusher learns the hub's cursor before it sends anything.
            let step = tokio::select! {
                () = &mut shutdown => break,
                step = self.step() => step,
            };
            match step {
                Ok(progress) => {
                    backoff = self.backoff();
                    self.failed = 0;
                    delay = if progress { Duration::ZERO } else { idle };
                }
                Err(e) => {
                    self.failed += 1;
                    delay = if self.fail_over(&e) && self.failed < self.hubs.len() {
                        // Another hub has not been tried since the last success: at once.
                        Duration::ZERO
                    } else {
                        backoff.next().unwrap_or(idle)
                    };
                    tracing::warn!(%city, error = %e, retry_in_ms = delay.as_millis() as u64, "push failed");
                    let mut s = self.status.lock().unwrap_or_else(PoisonError::into_inner);
                    s.last_error = Some(e.to_string());
                    s.failures += 1;
                }
            }
        }
        tracing::info!(%city, "pusher stopped");
    }

    /// One round: the catalogue down when due, then changes up. Returns true when it moved
    /// data (so the next round starts at once).
    async fn step(&mut self) -> Result<bool, PushError> {
        let every = Duration::from_millis(self.config.heartbeat_ms.max(1));
        if self.last_pull.is_none_or(|t| t.elapsed() >= every) {
            self.pull_catalogue().await?;
            self.last_pull = Some(Instant::now());
        }
        self.push_step().await
    }

    /// Reads the province catalogue from the hub until the node has all of it.
    async fn pull_catalogue(&mut self) -> Result<(), PushError> {
        loop {
            let after = self.store.catalogue_seq().await?;
            let resp = self
                .http
                .get(format!("{}/sync/catalogue?after={after}", self.base()))
                .header("authorization", bearer(&self.config.token))
                .send()
                .await?;
            let status = resp.status();
            if !status.is_success() {
                let bytes = resp.bytes().await?;
                return Err(PushError::Refused {
                    status: status.as_u16(),
                    refusal: refusal_of(status, &bytes),
                });
            }
            let page: store::catalogue::CataloguePage = resp.json().await?;
            let applied = self.store.apply_catalogue(&page).await?;
            if applied.written > 0 {
                tracing::info!(city = %self.store.owner(), written = applied.written, seq = applied.catalogue_seq, "province catalogue updated");
            }
            self.status
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .catalogue_seq = Some(applied.catalogue_seq);
            if page.scanned_to >= page.hub_seq || page.scanned_to <= after {
                return Ok(());
            }
        }
    }

    async fn push_step(&mut self) -> Result<bool, PushError> {
        if self.history.is_none() {
            let h = self.store.history().await?;
            self.status
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .history = Some(h.clone());
            self.history = Some(h);
        }
        if self.resync.is_some() {
            return self.resync_now().await;
        }
        let last = self.store.last_seq().await?;
        let applied = match self.hub {
            Some(a) => a,
            None => match self.push(Vec::new(), last).await {
                Ok(reply) => reply.applied_seq,
                Err(e) => return self.on_history_refusal(e),
            },
        };
        if applied > last && self.resync.is_none() {
            // The hub applied changes this database does not have: it was restored from a
            // backup (or the hub holds another node's data). A new history, so the old
            // line's changes can never be applied over this one's.
            self.resync = Some(format!(
                "the replica has applied {applied} changes, this node holds {last}"
            ));
            self.renew_history().await?;
        }
        if self.resync.is_some() {
            return self.resync_now().await;
        }
        if applied == 0 && last > 0 {
            self.send_snapshot(None).await?;
            return Ok(true);
        }
        if applied < last {
            let changes = self
                .store
                .changes_after(applied, self.config.batch.max(1))
                .await?;
            match self.push(changes, last).await {
                Ok(_) => return Ok(true),
                Err(PushError::Refused { refusal, .. })
                    if refusal.known_code() == Some(Code::SyncBatchTooLarge)
                        && refusal
                            .max_batch
                            .is_some_and(|m| (m as u64) < self.config.batch) =>
                {
                    let max = refusal.max_batch.unwrap_or(1).max(1) as u64;
                    tracing::warn!(city = %self.store.owner(), from = self.config.batch, to = max, "the hub accepts smaller batches; shrinking");
                    self.config.batch = max;
                    return Ok(true);
                }
                Err(e @ PushError::Refused { .. }) if e.code() == Some(Code::SyncHistory) => {
                    return self.on_history_refusal(e);
                }
                Err(PushError::Refused { refusal, .. })
                    if refusal.known_code() == Some(Code::SyncGap) =>
                {
                    let expected = refusal.expected_seq.unwrap_or(1);
                    tracing::info!(city = %self.store.owner(), expected, "hub asked to resume elsewhere");
                    self.hub = Some(expected - 1);
                    return Ok(true);
                }
                Err(e) => {
                    // A refusal may mean the replica and the node disagree: compare soon.
                    self.last_verify = None;
                    return Err(e);
                }
            }
        }
        if self.verify_due() {
            self.last_verify = Some(Instant::now());
            if let Some(reason) = self.compare_digests().await? {
                // Tell the hub first, so it stops answering from the replica, then repair.
                self.push_diverged(last, &reason).await?;
                self.resync = Some(reason);
                return Ok(true);
            }
        }
        let heartbeat = Duration::from_millis(self.config.heartbeat_ms.max(1));
        if self.last_sent.is_none_or(|t| t.elapsed() >= heartbeat)
            && let Err(e) = self.push(Vec::new(), last).await
        {
            return self.on_history_refusal(e);
        }
        Ok(false)
    }

    /// Replaces the replica with this database's snapshot, for the reason in `resync` (kept
    /// for the next step if the snapshot fails).
    async fn resync_now(&mut self) -> Result<bool, PushError> {
        let Some(reason) = self.resync.take() else {
            return Ok(false);
        };
        tracing::warn!(city = %self.store.owner(), reason = %reason, "the replica differs from this node; replacing it with this node's snapshot");
        if let Err(e) = self.send_snapshot(Some(reason.clone())).await {
            self.resync = Some(reason);
            return Err(e);
        }
        Ok(true)
    }

    /// A push refused because the replica mirrors another history of the city (this database
    /// was rebuilt, or the replica was): schedules a snapshot, the only way the two lines meet.
    /// Any other error is returned.
    fn on_history_refusal(&mut self, e: PushError) -> Result<bool, PushError> {
        match e {
            PushError::Refused { refusal, .. }
                if refusal.known_code() == Some(Code::SyncHistory) =>
            {
                self.resync = Some(refusal.message);
                Ok(true)
            }
            other => Err(other),
        }
    }

    fn verify_due(&self) -> bool {
        self.config.verify_ms > 0
            && self
                .last_verify
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(self.config.verify_ms))
    }

    /// Compares this node's digests with the replica's at the same sequence: `Some(why)`
    /// when they differ, `None` when they agree or cannot be compared now (writes moved one
    /// side on; the next round compares again).
    async fn compare_digests(&mut self) -> Result<Option<String>, PushError> {
        let city = self.store.owner();
        let resp = self
            .http
            .get(format!("{}/sync/digest/{city}", self.base()))
            .header("authorization", bearer(&self.config.token))
            .send()
            .await?;
        let status = resp.status();
        if !status.is_success() {
            let bytes = resp.bytes().await?;
            return Err(PushError::Refused {
                status: status.as_u16(),
                refusal: refusal_of(status, &bytes),
            });
        }
        let hub: store::replica::Digests = resp.json().await?;
        let own = self.store.digests().await?;
        if hub.seq != own.seq {
            self.last_verify = None;
            return Ok(None);
        }
        let differ: Vec<&str> = own
            .tables
            .iter()
            .filter(|t| !hub.tables.contains(t))
            .map(|t| t.table.as_str())
            .collect();
        if differ.is_empty() {
            tracing::debug!(%city, seq = own.seq, "the replica's digests equal this node's");
            return Ok(None);
        }
        Ok(Some(format!(
            "the replica's digests differ from this node's at seq {} in {}",
            own.seq,
            differ.join(", ")
        )))
    }

    async fn renew_history(&mut self) -> Result<(), PushError> {
        let h = self.store.renew_history().await?;
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .history = Some(h.clone());
        self.history = Some(h);
        Ok(())
    }

    /// Checks what the hub holds against this database: its history, and its change at the
    /// hub's cursor. A difference starts a new history and schedules a snapshot.
    async fn check_reply(&mut self, reply: &PushReply) -> Result<(), PushError> {
        let mine = self.history.clone();
        if let (Some(held), Some(mine)) = (&reply.history, &mine)
            && held != mine
        {
            self.resync = Some(format!(
                "the replica mirrors history {held}, this node has {mine}"
            ));
            return Ok(());
        }
        if reply.applied_seq == 0 {
            return Ok(());
        }
        let own = self.store.change_digest_at(reply.applied_seq).await?;
        if let (Some(head), Some(own)) = (&reply.head, &own)
            && head != own
        {
            self.resync = Some(format!(
                "the replica's change {} is not this node's change {0} (restored from a backup?)",
                reply.applied_seq
            ));
            self.renew_history().await?;
        }
        Ok(())
    }

    async fn post<B: Serialize>(&self, path: &str, body: &B) -> Result<PushReply, PushError> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base()))
            .header("authorization", bearer(&self.config.token))
            .headers(outbound::trace_headers())
            .json(body)
            .send()
            .await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp.json::<PushReply>().await?);
        }
        let bytes = resp.bytes().await?;
        Err(PushError::Refused {
            status: status.as_u16(),
            refusal: refusal_of(status, &bytes),
        })
    }

    fn accepted(&mut self, reply: &PushReply, snapshot: bool) {
        self.hub = Some(reply.applied_seq);
        self.last_sent = Some(Instant::now());
        let mut s = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        s.hub_applied_seq = Some(reply.applied_seq);
        s.last_push_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_millis());
        s.last_error = None;
        if snapshot {
            s.snapshots += 1;
        } else {
            s.changes_pushed += reply.applied;
        }
    }

    async fn push(
        &mut self,
        changes: Vec<store::entity::change_log::Model>,
        node_seq: i64,
    ) -> Result<PushReply, PushError> {
        let req = PushRequest {
            city: self.store.owner(),
            node_seq,
            changes,
            history: self.history.clone(),
            diverged: None,
        };
        // A batch is a span of its own (heartbeats are not: one a second would drown the
        // traces); the hub's apply joins it.
        let reply = if req.changes.is_empty() {
            self.post("/sync/push", &req).await?
        } else {
            use tracing::Instrument as _;
            let span = tracing::info_span!("push", city = %req.city, changes = req.changes.len());
            self.post("/sync/push", &req).instrument(span).await?
        };
        self.accepted(&reply, false);
        self.check_reply(&reply).await?;
        Ok(reply)
    }

    /// A heartbeat telling the hub that its replica differs from this node.
    async fn push_diverged(&mut self, node_seq: i64, reason: &str) -> Result<(), PushError> {
        let req = PushRequest {
            city: self.store.owner(),
            node_seq,
            changes: Vec::new(),
            history: self.history.clone(),
            diverged: Some(reason.chars().take(200).collect()),
        };
        let reply = self.post("/sync/push", &req).await?;
        self.accepted(&reply, false);
        Ok(())
    }

    async fn send_snapshot(&mut self, repair: Option<String>) -> Result<PushReply, PushError> {
        let snapshot = self.store.snapshot().await?;
        tracing::info!(city = %self.store.owner(), seq = snapshot.seq, rows = snapshot.rows(), "sending a snapshot to rebuild the hub's replica");
        let req = SnapshotRequest {
            city: self.store.owner(),
            snapshot,
        };
        let reply = self.post("/sync/snapshot", &req).await?;
        self.accepted(&reply, true);
        self.last_verify = Some(Instant::now());
        if let Some(reason) = repair {
            let mut s = self.status.lock().unwrap_or_else(PoisonError::into_inner);
            s.repairs += 1;
            s.last_repair = Some(reason);
        }
        Ok(reply)
    }
}

/// The hub's refusal, or a stand-in when the body is not one (a proxy's error page).
fn refusal_of(status: reqwest::StatusCode, bytes: &[u8]) -> Refusal {
    serde_json::from_slice::<Refusal>(bytes).unwrap_or_else(|_| {
        Refusal::new(
            Code::SyncHttp,
            format!("HTTP {status}: {}", String::from_utf8_lossy(bytes)),
        )
    })
}

#[derive(Debug, Clone)]
struct NodeShared {
    store: Store,
    auth: std::sync::Arc<auth::Verifier>,
}

use crate::protocol::Refused as Denied;

/// The province admin, or this city's node token.
async fn authorized(shared: &NodeShared, headers: &HeaderMap) -> Result<(), Denied> {
    let principal = crate::protocol::principal(&shared.auth, headers).await?;
    principal
        .inspect_sync(shared.store.owner())
        .map_err(Denied::from)
}

fn internal(e: &store::Error) -> Denied {
    tracing::error!(error = %e, "sync read failed");
    Denied {
        code: Code::Internal,
        message: "the node could not read its database".into(),
    }
}

async fn node_digest(
    State(shared): State<NodeShared>,
    headers: HeaderMap,
) -> Result<Json<store::replica::Digests>, Denied> {
    authorized(&shared, &headers).await?;
    shared
        .store
        .digests()
        .await
        .map(Json)
        .map_err(|e| internal(&e))
}

async fn node_rows(
    State(shared): State<NodeShared>,
    headers: HeaderMap,
    Path(table): Path<String>,
) -> Result<Json<RowHashes>, Denied> {
    authorized(&shared, &headers).await?;
    match shared.store.row_hashes(&table).await {
        Ok(rows) => Ok(Json(RowHashes { table, rows })),
        Err(store::Error::Invalid(v)) => Err(Denied {
            code: Code::SyncUnknownTable,
            message: v.to_string(),
        }),
        Err(e) => Err(internal(&e)),
    }
}

/// The node's read-only sync routes (`/sync/digest`, `/sync/rows/{table}`), for the province
/// admin and the city's own node token.
pub fn routes(store: Store, auth: std::sync::Arc<auth::Verifier>) -> Router {
    Router::new()
        .route("/sync/digest", get(node_digest))
        .route("/sync/rows/{table}", get(node_rows))
        .with_state(NodeShared { store, auth })
}
