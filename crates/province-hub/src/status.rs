//! What the hub shows of each city's node, sync and answers: `CityStatus` (reachability,
//! breaker, latency, errors — from the registry), `SyncStatus` (sequences, lag, pushes, repairs —
//! from the replica's sync state), and `Freshness` (which source answered a city's part, as
//! the caller's `Consistency` asked, and how fresh it is).

use async_graphql::{Enum, SimpleObject};

use crate::registry::{Breaker, Node, Reachability};

pub use city_schema::enums::Consistency;

/// 数据来源 — Which source answered.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnsweredBy {
    /// 节点 — The city's node, live.
    Live,
    /// 副本 — The hub's replica.
    Replica,
    /// 无 — Nothing was asked (no delegated field selected) or nothing could answer.
    None,
    /// 省库 — The hub's own database: the province's own data, always current.
    Province,
}

/// 新鲜度 — Which source answered this city's delegated fields, and how fresh it is.
#[derive(SimpleObject, Debug, Clone)]
pub struct Freshness {
    /// 来源 — LIVE (the node), REPLICA (the hub's copy) or NONE.
    pub answered_by: AnsweredBy,
    /// 是否过期 — True when the replica answered without knowing it has everything the node
    /// committed (the node was unreachable or has not reported recently).
    pub stale: bool,
    /// 副本已应用序号 — The replica's cursor when it answered.
    pub applied_seq: Option<String>,
    /// 节点序号 — The node's last sequence as last reported to the hub.
    pub node_seq: Option<String>,
    /// 最近同步时间 — When the node last pushed successfully (RFC 3339).
    pub last_push_at: Option<String>,
    /// 说明 — Why this source answered, when it is not the one asked for.
    pub notice: Option<String>,
}

pub(crate) fn freshness(
    by: AnsweredBy,
    replica: Option<&sync::hub::Replica>,
    stale: bool,
    notice: Option<String>,
) -> Freshness {
    let state = replica.map(sync::hub::Replica::state);
    // A replica known to differ from its node is stale whatever its cursor says.
    let diverged = state.as_ref().and_then(|s| s.diverged.clone());
    let answered_from_replica = matches!(by, AnsweredBy::Replica);
    let stale = stale || (answered_from_replica && diverged.is_some());
    let notice = match (notice, diverged) {
        (None, Some(why)) if answered_from_replica => Some(format!(
            "the replica differs from the node ({why}); it is being rebuilt from the node's snapshot"
        )),
        (notice, _) => notice,
    };
    Freshness {
        answered_by: by,
        stale,
        applied_seq: state.as_ref().map(|s| s.applied_seq.to_string()),
        node_seq: state
            .as_ref()
            .and_then(|s| s.node_seq)
            .map(|n| n.to_string()),
        last_push_at: state.as_ref().and_then(|s| s.last_push).map(rfc3339),
        notice,
    }
}

/// 节点可达性 — What the hub last saw of a city's node.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeReachability {
    /// 未知 — Neither called nor health-checked yet.
    Unknown,
    /// 可达 — The last call (or, with no call lately, the health check) succeeded.
    Up,
    /// 不可达 — The last call or health check failed.
    Down,
}

/// 熔断器状态 — The hub's circuit breaker for a city's node.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// 闭合 — Calling the node.
    Closed,
    /// 断开 — Not calling until the cool-down ends (the node kept failing).
    Open,
    /// 半开 — One probe call is let through.
    HalfOpen,
}

/// 同步状态 — The city's upward sync as the hub sees it.
#[derive(SimpleObject, Debug, Clone)]
pub struct SyncStatus {
    /// 是否有副本 — True when the hub keeps a replica of the city.
    pub replicated: bool,
    /// 节点序号 — The node's last committed sequence, as last reported (String: 64-bit).
    pub node_seq: Option<String>,
    /// 已应用序号 — The last sequence the replica applied.
    pub applied_seq: String,
    /// 滞后 — Changes committed at the node and not yet applied (unknown before the first report).
    pub lag: Option<String>,
    /// 最近同步时间 — When the node last pushed successfully (RFC 3339).
    pub last_push_at: Option<String>,
    /// 距上次报告（毫秒） — Milliseconds since the node last reported.
    pub reported_ms_ago: Option<i32>,
    /// 最近错误代码 — Code of the last refused push (SYNC_GAP, SYNC_MALFORMED …).
    pub last_error_code: Option<String>,
    /// 最近错误 — Message of the last refused push.
    pub last_error: Option<String>,
    /// 推送次数 — Successful pushes.
    pub pushes: i32,
    /// 快照次数 — Snapshots restored.
    pub snapshots: i32,
    /// 副本差异 — Why the replica is known to differ from its node (its node compared
    /// digests, or found another change at the hub's cursor), until a snapshot repairs it;
    /// `AUTO` answers live meanwhile. Null when no difference is known.
    pub diverged: Option<String>,
    /// 修复次数 — Differing replicas repaired from the node's snapshot.
    pub repairs: i32,
}

/// 节点状态 — What the hub last saw of a city's node.
#[derive(SimpleObject, Debug, Clone)]
pub struct CityStatus {
    /// 是否登记 — True when a node is configured for the city.
    pub registered: bool,
    /// 可达性 — UP, DOWN, or UNKNOWN before the first call or health check (the hub checks
    /// `GET /health` of a node no query asked within `node_probe_ms`).
    pub reachability: NodeReachability,
    /// 节点地址 — The node's GraphQL URL: for province_admin only (an internal address is no
    /// other caller's business).
    pub url: Option<String>,
    /// 最近延迟（毫秒） — Latency of the last successful call.
    pub last_latency_ms: Option<i32>,
    /// 最近错误代码 — Code of the last failure (CITY_UNAVAILABLE, CITY_TIMEOUT, CITY_ERROR).
    pub last_error_code: Option<String>,
    /// 最近错误 — Message of the last failure.
    pub last_error: Option<String>,
    /// 调用次数 — Calls made to the node.
    pub calls: i32,
    /// 失败次数 — Calls that failed.
    pub failures: i32,
    /// 拒绝次数 — Calls the open breaker refused (never sent).
    pub refused: i32,
    /// 熔断器 — CLOSED (calling), OPEN (not calling until the cool-down ends) or HALF_OPEN (probing).
    pub breaker: BreakerState,
}

impl CityStatus {
    /// The status of `node` (none registered: not registered, unknown); its URL only for
    /// province_admin (`admin`).
    pub(crate) fn of(node: Option<&Node>, admin: bool) -> Self {
        let Some(node) = node else {
            return Self {
                registered: false,
                reachability: NodeReachability::Unknown,
                url: None,
                last_latency_ms: None,
                last_error_code: None,
                last_error: None,
                calls: 0,
                failures: 0,
                refused: 0,
                breaker: BreakerState::Closed,
            };
        };
        let s = node.status();
        Self {
            registered: true,
            reachability: match s.reachability {
                Reachability::Unknown => NodeReachability::Unknown,
                Reachability::Up => NodeReachability::Up,
                Reachability::Down => NodeReachability::Down,
            },
            url: admin.then(|| node.url.clone()),
            last_latency_ms: s
                .last_latency
                .map(|d| i32::try_from(d.as_millis()).unwrap_or(i32::MAX)),
            last_error_code: s.last_error.as_ref().map(|(c, _)| c.clone()),
            last_error: s.last_error.map(|(_, m)| m),
            calls: to_i32(s.calls),
            failures: to_i32(s.failures),
            refused: to_i32(s.refused),
            breaker: match s.breaker {
                Breaker::Closed { .. } => BreakerState::Closed,
                Breaker::Open { .. } => BreakerState::Open,
                Breaker::HalfOpen => BreakerState::HalfOpen,
            },
        }
    }
}

impl SyncStatus {
    /// The sync status of `replica` (none kept: not replicated).
    pub(crate) fn of(replica: Option<&sync::hub::Replica>) -> Self {
        let Some(replica) = replica else {
            return Self {
                replicated: false,
                node_seq: None,
                applied_seq: "0".into(),
                lag: None,
                last_push_at: None,
                reported_ms_ago: None,
                last_error_code: None,
                last_error: None,
                pushes: 0,
                snapshots: 0,
                diverged: None,
                repairs: 0,
            };
        };
        let s = replica.state();
        Self {
            replicated: true,
            node_seq: s.node_seq.map(|n| n.to_string()),
            applied_seq: s.applied_seq.to_string(),
            lag: s.lag().map(|n| n.to_string()),
            last_push_at: s.last_push.map(rfc3339),
            reported_ms_ago: s
                .reported_at
                .map(|t| i32::try_from(sync::hub::since(t).as_millis()).unwrap_or(i32::MAX)),
            last_error_code: s.last_error.as_ref().map(|(c, _)| c.clone()),
            last_error: s.last_error.map(|(_, m)| m),
            pushes: to_i32(s.pushes),
            snapshots: to_i32(s.snapshots),
            diverged: s.diverged,
            repairs: to_i32(s.repairs),
        }
    }
}

pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn to_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
