//! A short history of every registered city's sync and node state, sampled by the hub at a
//! fixed interval, so lag, cursor, breaker and errors can be seen *over time* — by the
//! dashboard's sync view and by anyone with the API (`City.syncHistory`) — not only from the
//! moment a page was opened. Kept in memory, a bounded ring per city: a restart starts it
//! afresh (long-term trends are the metrics' job: `/metrics`).

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime},
};

use async_graphql::SimpleObject;
use model::RegionCode;
use serde::{Deserialize, Serialize};

use crate::{
    registry::Registry,
    status::{BreakerState, CityStatus, NodeReachability, rfc3339},
};

/// How the hub samples its cities' state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncHistoryConfig {
    /// Milliseconds between samples (0 = keep no history).
    pub every_ms: u64,
    /// Samples kept per city; the oldest go first.
    pub samples: usize,
}

impl Default for SyncHistoryConfig {
    /// Every 10 s for 2 h.
    fn default() -> Self {
        Self {
            every_ms: 10_000,
            samples: 720,
        }
    }
}

/// 同步历史样本 — A city's sync and node state at one moment.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct SyncSample {
    /// 采样时间 — When (RFC 3339).
    pub at: String,
    /// 节点序号 — The node's last reported sequence (String: 64-bit).
    pub node_seq: Option<String>,
    /// 已应用序号 — The replica's cursor.
    pub applied_seq: Option<String>,
    /// 滞后 — Changes committed at the node and not yet applied (unknown before its first
    /// report, or for a city the hub keeps no replica of).
    pub lag: Option<String>,
    /// 可达性 — The node's reachability.
    pub reachability: NodeReachability,
    /// 熔断器 — The node's breaker.
    pub breaker: BreakerState,
    /// 节点错误代码 — Code of the node's last failed call, if any.
    pub node_error_code: Option<String>,
    /// 同步错误代码 — Code of the last refused or failed push, if any (cleared by a
    /// successful one).
    pub sync_error_code: Option<String>,
}

/// One sample as kept (compact; presented as [`SyncSample`]).
#[derive(Debug, Clone, PartialEq)]
struct Kept {
    at: SystemTime,
    node_seq: Option<i64>,
    applied_seq: Option<i64>,
    reachability: NodeReachability,
    breaker: BreakerState,
    node_error_code: Option<String>,
    sync_error_code: Option<String>,
}

impl Kept {
    fn present(&self) -> SyncSample {
        SyncSample {
            at: rfc3339(self.at),
            node_seq: self.node_seq.map(|n| n.to_string()),
            applied_seq: self.applied_seq.map(|n| n.to_string()),
            lag: self
                .node_seq
                .zip(self.applied_seq)
                .map(|(n, a)| (n - a).max(0).to_string()),
            reachability: self.reachability,
            breaker: self.breaker,
            node_error_code: self.node_error_code.clone(),
            sync_error_code: self.sync_error_code.clone(),
        }
    }
}

/// Every city's recent samples.
#[derive(Debug)]
pub struct SyncHistory {
    capacity: usize,
    cities: Mutex<BTreeMap<RegionCode, VecDeque<Kept>>>,
}

impl SyncHistory {
    /// An empty history keeping `capacity` samples per city.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            cities: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<RegionCode, VecDeque<Kept>>> {
        match self.cities.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn record(&self, city: RegionCode, sample: Kept) {
        if self.capacity == 0 {
            return;
        }
        let mut cities = self.lock();
        let ring = cities.entry(city).or_default();
        while ring.len() >= self.capacity {
            ring.pop_front();
        }
        ring.push_back(sample);
    }

    /// Samples every registered city now.
    pub fn sample(&self, registry: &Registry, replicas: &sync::hub::Replicas) {
        let at = SystemTime::now();
        for node in registry.nodes() {
            let status = CityStatus::of(Some(node), false);
            let sync = replicas.get(node.city).map(|r| r.state());
            self.record(
                node.city,
                Kept {
                    at,
                    node_seq: sync.as_ref().and_then(|s| s.node_seq),
                    applied_seq: sync.as_ref().map(|s| s.applied_seq),
                    reachability: status.reachability,
                    breaker: status.breaker,
                    node_error_code: status.last_error_code,
                    sync_error_code: sync.and_then(|s| s.last_error.map(|(code, _)| code)),
                },
            );
        }
    }

    /// The last `last` samples of `city`, oldest first.
    pub fn samples(&self, city: RegionCode, last: usize) -> Vec<SyncSample> {
        let cities = self.lock();
        let Some(ring) = cities.get(&city) else {
            return Vec::new();
        };
        ring.iter()
            .skip(ring.len().saturating_sub(last))
            .map(Kept::present)
            .collect()
    }

    /// Samples every registered city now and then every `every`, until the history, the
    /// registry or the replicas are dropped.
    pub fn keep_sampling(
        self: &Arc<Self>,
        registry: &Arc<Registry>,
        replicas: &Arc<sync::hub::Replicas>,
        every: Duration,
    ) {
        let (history, registry, replicas) = (
            Arc::downgrade(self),
            Arc::downgrade(registry),
            Arc::downgrade(replicas),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let (Some(history), Some(registry), Some(replicas)) =
                    (history.upgrade(), registry.upgrade(), replicas.upgrade())
                else {
                    return;
                };
                history.sample(&registry, &replicas);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(seconds: u64, node: Option<i64>, applied: i64) -> Kept {
        Kept {
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(seconds),
            node_seq: node,
            applied_seq: Some(applied),
            reachability: NodeReachability::Up,
            breaker: BreakerState::Closed,
            node_error_code: None,
            sync_error_code: None,
        }
    }

    #[test]
    fn keeps_the_newest_samples_oldest_first_and_says_the_lag() {
        let h = SyncHistory::new(3);
        let city = model::region::YUNCHENG;
        for (i, (node, applied)) in [(Some(5), 5), (Some(9), 5), (None, 6), (Some(12), 12)]
            .into_iter()
            .enumerate()
        {
            h.record(city, kept(i as u64, node, applied));
        }
        let all = h.samples(city, 10);
        assert_eq!(all.len(), 3, "the oldest is dropped");
        let lags: Vec<Option<&str>> = all.iter().map(|s| s.lag.as_deref()).collect();
        assert_eq!(lags, [Some("4"), None, Some("0")]);
        assert_eq!(all[0].at, "1970-01-01T00:00:01.000Z");
        assert_eq!(h.samples(city, 1)[0].applied_seq.as_deref(), Some("12"));
        assert!(h.samples(model::region::LINFEN, 10).is_empty());
        let none = SyncHistory::new(0);
        none.record(city, kept(0, None, 0));
        assert!(
            none.samples(city, 10).is_empty(),
            "capacity 0 keeps nothing"
        );
    }
}
