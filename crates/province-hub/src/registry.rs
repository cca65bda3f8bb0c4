//! The node registry: which city node serves which city (from configuration), and what the hub
//! has seen of each — reachability, latency, last error — from the calls it made.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use model::RegionCode;
use serde::{Deserialize, Serialize};

use crate::delegate::{
    client::{CallError, NodeClient, NodeResponse},
    document::Forwarded,
};

/// One configured node.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The city it serves.
    pub city: RegionCode,
    /// Its GraphQL URL, e.g. `http://127.0.0.1:8608/graphql`.
    pub url: String,
    /// The hub's replica of the city; empty URL means `data_dir/replica-<city>.db`.
    #[serde(default)]
    pub replica: store::DatabaseConfig,
}

impl NodeConfig {
    /// A node at `url` with the default replica database. (It pushes with a `node` token for
    /// its city; the hub keeps no per-node secret.)
    pub fn new(city: RegionCode, url: impl Into<String>) -> Self {
        Self {
            city,
            url: url.into(),
            replica: store::DatabaseConfig::default(),
        }
    }
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("city", &self.city)
            .field("url", &self.url)
            .field("replica", &self.replica.redacted_url())
            .finish()
    }
}

/// When the hub stops calling a node that keeps failing, and when it tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failures: u32,
    /// How long an open breaker refuses calls before letting one probe through.
    pub cooldown_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures: 3,
            cooldown_ms: 5_000,
        }
    }
}

/// A node's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaker {
    /// Calls go through; `failures` consecutive failures so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Calls are refused until `until`, then one probe is let through.
    Open {
        /// End of the cool-down.
        until: Instant,
    },
    /// One probe is in flight; other calls are refused until it settles.
    HalfOpen,
}

impl Breaker {
    /// `CLOSED`, `OPEN` or `HALF_OPEN`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Closed { .. } => "CLOSED",
            Self::Open { .. } => "OPEN",
            Self::HalfOpen => "HALF_OPEN",
        }
    }
}

/// What the hub last saw of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reachability {
    /// Neither called nor health-checked yet.
    Unknown,
    /// The last call got a GraphQL response (or, with no call lately, the health check passed).
    Up,
    /// The last call (or health check) failed.
    Down,
}

/// A node's observed status.
#[derive(Debug, Clone)]
pub struct Status {
    /// Reachability from the last call or health check.
    pub reachability: Reachability,
    /// When the last call or health check finished.
    pub checked_at: Option<Instant>,
    /// Latency of the last successful call.
    pub last_latency: Option<Duration>,
    /// When the last successful call finished.
    pub last_success: Option<SystemTime>,
    /// The last failure's code and message.
    pub last_error: Option<(String, String)>,
    /// Calls made.
    pub calls: u64,
    /// Calls that failed.
    pub failures: u64,
    /// Calls refused by the open breaker (never sent).
    pub refused: u64,
    /// The circuit breaker.
    pub breaker: Breaker,
}

/// A registered node.
#[derive(Debug)]
pub struct Node {
    /// The city it serves.
    pub city: RegionCode,
    /// Its GraphQL URL.
    pub url: String,
    /// The same, parsed once.
    endpoint: reqwest::Url,
    status: Mutex<Status>,
    /// Calls in flight to this node (permits: `node_max_in_flight`).
    in_flight: tokio::sync::Semaphore,
    /// Woken when the breaker opens, so calls waiting for a turn are refused at once.
    breaker_opened: tokio::sync::Notify,
    /// Calls in flight that identical calls wait for instead of calling again.
    flights: Mutex<HashMap<FlightKey, Flight>>,
}

/// What makes two calls to one node identical: the same document, the same variables, and
/// callers who see the same data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FlightKey {
    query: String,
    variables: String,
    visibility: String,
}

/// The outcome of a call in flight, once it is known.
type Flight = tokio::sync::watch::Receiver<Option<Result<NodeResponse, CallError>>>;

/// Removes a leader's flight when its call ends, however it ends (a dropped request too: the
/// waiting calls then see the flight gone and call for themselves).
struct Landing<'a> {
    node: &'a Node,
    key: &'a FlightKey,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut flights = match self.node.flights.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        flights.remove(self.key);
    }
}

impl Node {
    /// A snapshot of the node's status.
    pub fn status(&self) -> Status {
        match self.status.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        match self.status.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Asks the breaker whether a call may go out now (an open breaker past its cool-down lets
    /// exactly one probe through).
    fn admit(&self) -> Result<(), CallError> {
        let mut s = self.lock();
        match s.breaker {
            Breaker::Closed { .. } => Ok(()),
            Breaker::Open { until } if Instant::now() >= until => {
                s.breaker = Breaker::HalfOpen;
                tracing::info!(city = %self.city, "breaker half-open: probing the node");
                Ok(())
            }
            Breaker::Open { .. } | Breaker::HalfOpen => {
                s.refused += 1;
                Err(CallError::CircuitOpen)
            }
        }
    }

    fn record(
        &self,
        outcome: &Result<NodeResponse, CallError>,
        took: Duration,
        breaker: BreakerConfig,
    ) {
        let mut s = self.lock();
        s.calls += 1;
        s.checked_at = Some(Instant::now());
        match outcome {
            Ok(_) => {
                if !matches!(s.breaker, Breaker::Closed { .. }) {
                    tracing::info!(city = %self.city, "breaker closed: the node answers again");
                }
                s.reachability = Reachability::Up;
                s.last_latency = Some(took);
                s.last_success = Some(SystemTime::now());
                s.breaker = Breaker::Closed { failures: 0 };
            }
            Err(e) => {
                s.reachability = Reachability::Down;
                s.failures += 1;
                s.last_error = Some((e.code().as_str().to_owned(), e.to_string()));
                let open = || Breaker::Open {
                    until: Instant::now() + Duration::from_millis(breaker.cooldown_ms),
                };
                s.breaker = match s.breaker {
                    Breaker::Closed { failures } if failures + 1 >= breaker.failures.max(1) => {
                        tracing::warn!(city = %self.city, failures = failures + 1, "breaker open: no more calls until the cool-down ends");
                        self.breaker_opened.notify_waiters();
                        open()
                    }
                    Breaker::Closed { failures } => Breaker::Closed {
                        failures: failures + 1,
                    },
                    Breaker::HalfOpen | Breaker::Open { .. } => {
                        self.breaker_opened.notify_waiters();
                        open()
                    }
                };
            }
        }
    }
}

impl Node {
    /// Records a health check begun at `started`: reachability only (the breaker counts real
    /// calls), and never over a call that finished while the check was under way.
    fn record_probe(&self, outcome: &Result<(), CallError>, started: Instant) {
        let mut s = self.lock();
        if s.checked_at.is_some_and(|t| t > started) {
            return;
        }
        let took = started.elapsed();
        s.checked_at = Some(Instant::now());
        match outcome {
            Ok(()) => {
                s.reachability = Reachability::Up;
                s.last_latency = Some(took);
                s.last_success = Some(SystemTime::now());
            }
            Err(e) => {
                if s.reachability != Reachability::Down {
                    tracing::warn!(city = %self.city, code = e.code().as_str(), error = %e, "node health check failed");
                }
                s.reachability = Reachability::Down;
                s.last_error = Some((e.code().as_str().to_owned(), e.to_string()));
            }
        }
    }
}

/// Whether a call admitted before the breaker opened must now be refused: the breaker is open
/// (a half-open breaker's probe is the call that was admitted as such).
fn waited_past_opening(breaker: &Breaker) -> bool {
    matches!(breaker, Breaker::Open { .. })
}

/// Every registered node, by city, and the client to call them with.
#[derive(Debug)]
pub struct Registry {
    nodes: BTreeMap<RegionCode, Arc<Node>>,
    client: NodeClient,
    breaker: BreakerConfig,
    dedup: bool,
}

impl Registry {
    /// Builds the registry; a city registered twice keeps its last URL. Fails on a URL that
    /// does not parse, naming it.
    pub fn new(
        nodes: &[NodeConfig],
        client: NodeClient,
        breaker: BreakerConfig,
        max_in_flight: usize,
    ) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for n in nodes {
            let endpoint = reqwest::Url::parse(&n.url)
                .map_err(|e| format!("node {}: `{}` is not a URL: {e}", n.city, n.url))?;
            let status = Status {
                reachability: Reachability::Unknown,
                checked_at: None,
                last_latency: None,
                last_success: None,
                last_error: None,
                calls: 0,
                failures: 0,
                refused: 0,
                breaker: Breaker::Closed { failures: 0 },
            };
            let node = Node {
                city: n.city,
                url: n.url.clone(),
                endpoint,
                status: Mutex::new(status),
                in_flight: tokio::sync::Semaphore::new(max_in_flight.max(1)),
                breaker_opened: tokio::sync::Notify::new(),
                flights: Mutex::new(HashMap::new()),
            };
            map.insert(n.city, Arc::new(node));
        }
        Ok(Self {
            nodes: map,
            client,
            breaker,
            dedup: true,
        })
    }

    /// Whether identical concurrent calls share one (on by default).
    pub fn with_dedup(mut self, on: bool) -> Self {
        self.dedup = on;
        self
    }

    /// Registered nodes in code order.
    pub fn nodes(&self) -> impl Iterator<Item = &Arc<Node>> {
        self.nodes.values()
    }

    /// The node of `city`, if registered.
    pub fn node(&self, city: RegionCode) -> Option<&Arc<Node>> {
        self.nodes.get(&city)
    }

    /// Health-checks every node that no call or check has reached for `every`, now and then
    /// every `every`, so `cities { status }` is true before any query asks a city. Stops when
    /// the registry is dropped.
    pub fn keep_probed(self: &Arc<Self>, every: Duration) {
        let registry = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(registry) = registry.upgrade() else {
                    return;
                };
                registry.probe_quiet(every).await;
            }
        });
    }

    /// Health-checks, in parallel, the nodes not called or checked within `quiet`.
    pub async fn probe_quiet(&self, quiet: Duration) {
        let budget = self.client.timeout();
        let due = self
            .nodes
            .values()
            .filter(|n| n.status().checked_at.is_none_or(|t| t.elapsed() >= quiet));
        futures_util::future::join_all(due.map(|n| async move {
            // A check is one of the node's calls in flight; a node busy with calls needs none.
            let Ok(_turn) = n.in_flight.try_acquire() else {
                return;
            };
            let started = Instant::now();
            let outcome = self.client.probe(&n.endpoint, budget).await;
            n.record_probe(&outcome, started);
        }))
        .await;
    }

    /// Calls `node` with `doc` for a caller who sees `visibility` (see
    /// `auth::Principal::visibility`). While an identical call — same document, variables and
    /// visibility — is in flight, this one waits for its outcome instead of calling again;
    /// `None` (or dedup off, or a mutation) always calls.
    pub async fn call(
        &self,
        node: &Node,
        doc: &Forwarded,
        authorization: Option<&str>,
        visibility: Option<&str>,
    ) -> Result<NodeResponse, CallError> {
        let shareable = self.dedup && !doc.query.trim_start().starts_with("mutation");
        let Some(visibility) = visibility.filter(|_| shareable) else {
            return self.call_once(node, doc, authorization).await;
        };
        let key = FlightKey {
            query: doc.query.clone(),
            variables: serde_json::to_string(&doc.variables).unwrap_or_default(),
            visibility: visibility.to_owned(),
        };
        let follow = {
            let mut flights = match node.flights.lock() {
                Ok(f) => f,
                Err(poisoned) => poisoned.into_inner(),
            };
            match flights.get(&key) {
                Some(flight) => Err(flight.clone()),
                None => {
                    let (tx, rx) = tokio::sync::watch::channel(None);
                    flights.insert(key.clone(), rx);
                    Ok(tx)
                }
            }
        };
        match follow {
            Ok(tx) => {
                let _landing = Landing { node, key: &key };
                let outcome = self.call_once(node, doc, authorization).await;
                tx.send_replace(Some(outcome.clone()));
                outcome
            }
            Err(mut flight) => {
                metrics::counter!("xingyi_node_calls_deduplicated_total", "city" => node.city.to_string())
                    .increment(1);
                let shared = flight
                    .wait_for(Option::is_some)
                    .await
                    .ok()
                    .and_then(|o| o.clone());
                match shared {
                    Some(outcome) => outcome,
                    // The call it waited for was dropped before it ended: call for itself.
                    None => self.call_once(node, doc, authorization).await,
                }
            }
        }
    }

    /// One call to `node`, through its breaker and its in-flight limit, recorded.
    async fn call_once(
        &self,
        node: &Node,
        doc: &Forwarded,
        authorization: Option<&str>,
    ) -> Result<NodeResponse, CallError> {
        if let Err(e) = node.admit() {
            metrics::counter!("xingyi_node_calls_total", "city" => node.city.to_string(), "outcome" => "BREAKER_OPEN")
                .increment(1);
            return Err(e);
        }
        // One time-out bounds the whole wait for the city: the turn in the queue and the call
        // itself. A node slow for everyone fails as a time-out, not as an ever-growing queue,
        // and a breaker that opens while calls wait refuses them at once.
        let timeout = self.client.timeout();
        let started = tokio::time::Instant::now();
        let deadline = started + timeout;
        let timed_out =
            || CallError::Timeout(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        let refused = || {
            node.lock().refused += 1;
            tracing::debug!(city = %node.city, "breaker opened while waiting for a turn");
            Err(CallError::CircuitOpen)
        };
        let _turn = loop {
            let opened = node.breaker_opened.notified();
            tokio::select! {
                // The turn may come with the very call whose failure opened the breaker.
                turn = node.in_flight.acquire() => match turn {
                    Ok(_) if waited_past_opening(&node.status().breaker) => return refused(),
                    Ok(turn) => break turn,
                    // The semaphore is never closed; treat it as a failed call if it were.
                    Err(_) => return Err(CallError::Error("no calls to this node are possible".into())),
                },
                () = opened => {
                    if waited_past_opening(&node.status().breaker) {
                        return refused();
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    let outcome = Err(timed_out());
                    node.record(&outcome, started.elapsed(), self.breaker);
                    tracing::warn!(city = %node.city, "no turn to call the node within the time-out");
                    return outcome;
                }
            }
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let city = node.city.to_string();
        let in_flight = metrics::gauge!("xingyi_node_calls_in_flight", "city" => city.clone());
        in_flight.increment(1.0);
        let (outcome, took) = {
            use tracing::Instrument as _;
            self.client
                .call(&node.endpoint, doc, authorization, left)
                .instrument(tracing::info_span!("node call", city = %node.city))
                .await
        };
        in_flight.decrement(1.0);
        let took = took.max(started.elapsed());
        node.record(&outcome, took, self.breaker);
        metrics::histogram!("xingyi_node_call_duration_seconds", "city" => city.clone())
            .record(took.as_secs_f64());
        let code = match &outcome {
            Ok(_) => "OK",
            Err(e) => e.code().as_str(),
        };
        metrics::counter!("xingyi_node_calls_total", "city" => city, "outcome" => code)
            .increment(1);
        match &outcome {
            Ok(_) => {
                tracing::debug!(city = %node.city, ms = took.as_millis() as u64, "node answered")
            }
            Err(e) => {
                tracing::warn!(city = %node.city, code = e.code().as_str(), error = %e, "node call failed")
            }
        }
        outcome
    }
}
