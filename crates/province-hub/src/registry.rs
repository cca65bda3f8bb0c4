//! The node registry: which city node serves which city (from configuration), and what the hub
//! has seen of each — reachability, latency, last error — from the calls it made.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use model::RegionCode;
use serde::{Deserialize, Serialize};

use crate::delegate::{
    client::{CallError, NodeClient, NodeResponse},
    document::Forwarded,
};

/// One configured node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The city it serves.
    pub city: RegionCode,
    /// Its GraphQL URL, e.g. `http://127.0.0.1:8608/graphql`.
    pub url: String,
}

/// What the hub last saw of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reachability {
    /// Not called yet.
    Unknown,
    /// The last call got a GraphQL response.
    Up,
    /// The last call failed.
    Down,
}

/// A node's observed status.
#[derive(Debug, Clone)]
pub struct Status {
    /// Reachability from the last call.
    pub reachability: Reachability,
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
}

/// A registered node.
#[derive(Debug)]
pub struct Node {
    /// The city it serves.
    pub city: RegionCode,
    /// Its GraphQL URL.
    pub url: String,
    status: Mutex<Status>,
}

impl Node {
    /// A snapshot of the node's status.
    pub fn status(&self) -> Status {
        match self.status.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn record(&self, outcome: &Result<NodeResponse, CallError>, took: Duration) {
        let mut s = match self.status.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        s.calls += 1;
        match outcome {
            Ok(_) => {
                s.reachability = Reachability::Up;
                s.last_latency = Some(took);
                s.last_success = Some(SystemTime::now());
            }
            Err(e) => {
                s.reachability = Reachability::Down;
                s.failures += 1;
                s.last_error = Some((e.code().to_owned(), e.to_string()));
            }
        }
    }
}

/// Every registered node, by city, and the client to call them with.
#[derive(Debug)]
pub struct Registry {
    nodes: BTreeMap<RegionCode, Arc<Node>>,
    client: NodeClient,
}

impl Registry {
    /// Builds the registry; a city registered twice keeps its last URL.
    pub fn new(nodes: &[NodeConfig], client: NodeClient) -> Self {
        let nodes = nodes
            .iter()
            .map(|n| {
                let status = Status {
                    reachability: Reachability::Unknown,
                    last_latency: None,
                    last_success: None,
                    last_error: None,
                    calls: 0,
                    failures: 0,
                };
                (
                    n.city,
                    Arc::new(Node {
                        city: n.city,
                        url: n.url.clone(),
                        status: Mutex::new(status),
                    }),
                )
            })
            .collect();
        Self { nodes, client }
    }

    /// Registered nodes in code order.
    pub fn nodes(&self) -> impl Iterator<Item = &Arc<Node>> {
        self.nodes.values()
    }

    /// The node of `city`, if registered.
    pub fn node(&self, city: RegionCode) -> Option<&Arc<Node>> {
        self.nodes.get(&city)
    }

    /// Calls `node` with `doc` and records what happened.
    pub async fn call(
        &self,
        node: &Node,
        doc: &Forwarded,
        authorization: Option<&str>,
    ) -> Result<NodeResponse, CallError> {
        let (outcome, took) = self.client.call(&node.url, doc, authorization).await;
        node.record(&outcome, took);
        match &outcome {
            Ok(_) => {
                tracing::debug!(city = %node.city, ms = took.as_millis() as u64, "node answered")
            }
            Err(e) => {
                tracing::warn!(city = %node.city, code = e.code(), error = %e, "node call failed")
            }
        }
        outcome
    }
}
