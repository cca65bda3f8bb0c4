//! The hub's means to answer for any city: the node registry, each city's replica with the
//! city subgraph over it, the province subgraph (for the province's own ids), the freshness
//! window, and the caches. Resolvers reach it as schema data (`ctx.data::<Cities>()`).

use std::sync::Arc;

use async_graphql::Value;
use model::RegionCode;

use crate::{
    choice,
    delegate::{
        client::{CallError, NodeError, NodeResponse, Part},
        document::Forwarded,
    },
    registry::Registry,
};

/// What the resolvers that answer for cities need at request time (schema data).
#[derive(Clone)]
pub struct Cities {
    /// The registered nodes.
    pub registry: Arc<Registry>,
    /// The province subgraph, for ids the hub owns itself.
    pub province: city_schema::CitySchema,
    /// Each city's replica and the city subgraph over it: the same schema a node serves, so
    /// a replica answers the same document with the same result.
    pub replicas: Arc<std::collections::BTreeMap<RegionCode, ReplicaView>>,
    /// How recent a node's report must be for `AUTO` to answer from the replica.
    pub fresh: std::time::Duration,
    /// Recent comparisons (see [`crate::compare::CompareCache`]).
    pub compare_cache: Arc<crate::compare::CompareCache>,
    /// The province's catalogue as last read (see [`crate::compare::KeptCatalogue`]).
    pub catalogue: Arc<crate::compare::KeptCatalogue>,
    /// Every city's recent sync and node state (see [`crate::history`]).
    pub history: Arc<crate::history::SyncHistory>,
}

impl std::fmt::Debug for ReplicaView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaView")
            .field("replica", &self.replica)
            .finish_non_exhaustive()
    }
}

/// One city's replica as the hub's resolvers use it.
#[derive(Clone)]
pub struct ReplicaView {
    /// The replica and its sync state.
    pub replica: Arc<sync::hub::Replica>,
    /// The city subgraph (shared by every replica; requests carry the replica's store).
    pub schema: city_schema::CitySchema,
    /// Answers given from replicas, for reuse (shared by every replica).
    pub answers: Arc<crate::answers::ReplicaAnswers>,
}

impl std::fmt::Debug for Cities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cities")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

pub(crate) fn parse_city(code: &str) -> async_graphql::Result<&'static model::Region> {
    let code: RegionCode = code.parse().map_err(|e: model::ValidationError| {
        city_schema::error::invalid("code", e.rule, e.message)
    })?;
    model::region::region(code)
        .filter(|r| r.level == model::RegionLevel::City)
        .ok_or_else(|| {
            city_schema::error::invalid(
                "code",
                "NOT_A_CITY",
                format!("{code} is not a city of Shanxi"),
            )
        })
}

/// Parses a list of city codes, each city once (in the order first asked): a list repeating
/// one city 10 000 times is one city, not 10 000 node calls.
pub(crate) fn parse_cities(codes: &[String]) -> async_graphql::Result<Vec<&'static model::Region>> {
    let mut out: Vec<&'static model::Region> = Vec::new();
    for c in codes {
        let r = parse_city(c)?;
        if !out.iter().any(|x| x.code == r.code) {
            out.push(r);
        }
    }
    Ok(out)
}

/// Runs `doc` against the city subgraph over the replica, in process: the same document a
/// node would get, answered by the same schema code over the replicated rows.
/// The caller's principal goes along, so the replica applies the node's own access rules.
pub(crate) async fn ask_replica(
    view: &ReplicaView,
    doc: &Forwarded,
    access: &auth::Access,
) -> NodeResponse {
    if !view.answers.enabled() {
        return execute_on_replica(view, doc, access).await;
    }
    let key = crate::answers::AnswerKey {
        city: view.replica.city,
        generation: view.replica.generation(),
        visibility: access.principal.visibility(),
        query: doc.query.clone(),
        variables: serde_json::Value::Object(doc.variables.clone()).to_string(),
    };
    let kept = view.answers.get(&key);
    metrics::counter!("xingyi_replica_answer_cache_total", "result" => if kept.is_some() { "hit" } else { "miss" })
        .increment(1);
    if let Some(answer) = kept {
        return answer;
    }
    let answer = execute_on_replica(view, doc, access).await;
    view.answers.put(key, &answer);
    answer
}

/// Executes `doc` on the replica (see [`ask_replica`]).
async fn execute_on_replica(
    view: &ReplicaView,
    doc: &Forwarded,
    access: &auth::Access,
) -> NodeResponse {
    let req = async_graphql::Request::new(doc.query.clone())
        .variables(async_graphql::Variables::from_json(
            serde_json::Value::Object(doc.variables.clone()),
        ))
        .data(access.clone())
        .data(view.replica.store.clone());
    let resp = view.schema.execute(req).await;
    let data = match resp.data {
        Value::Object(map) => Some(
            map.into_iter()
                .map(|(k, v)| (k.to_string(), Part::Value(v)))
                .collect(),
        ),
        _ => None,
    };
    let errors = resp
        .errors
        .into_iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .filter_map(|v| serde_json::from_value::<NodeError>(v).ok())
        .collect();
    NodeResponse { data, errors }
}

/// A city as the hub can ask it: its registered node over HTTP, and the hub's replica of it
/// in process.
#[derive(Debug)]
pub struct HubCity<'a> {
    /// The registered nodes (for calls: breakers, turns, shared calls in flight).
    pub registry: &'a Registry,
    /// How recent a node's report must be for `AUTO` to answer from the replica.
    pub fresh: std::time::Duration,
    /// The city's node, if registered.
    pub node: Option<&'a Arc<crate::registry::Node>>,
    /// The hub's replica of the city, if it keeps one.
    pub view: Option<&'a ReplicaView>,
}

impl crate::answer::CityExecutor for HubCity<'_> {
    fn known(&self) -> choice::Known {
        choice::Known {
            node: self.node.is_some(),
            replica: self.view.map(|v| choice::ReplicaKnown {
                current: v.replica.is_current(self.fresh),
                applied_any: v.replica.state().applied_seq > 0,
            }),
        }
    }

    async fn live(
        &self,
        doc: &Forwarded,
        caller: &crate::answer::Caller<'_>,
    ) -> Result<NodeResponse, CallError> {
        let Some(node) = self.node else {
            return Err(CallError::Unavailable("no node is registered".into()));
        };
        self.registry
            .call(node, doc, caller.authorization, Some(&caller.visibility()))
            .await
    }

    async fn replica(
        &self,
        doc: &Forwarded,
        caller: &crate::answer::Caller<'_>,
    ) -> Option<NodeResponse> {
        match self.view {
            Some(v) => Some(ask_replica(v, doc, caller.access).await),
            None => None,
        }
    }

    fn freshness(
        &self,
        by: crate::status::AnsweredBy,
        stale: bool,
        notice: Option<String>,
    ) -> crate::status::Freshness {
        crate::status::freshness(by, self.view.map(|v| &*v.replica), stale, notice)
    }
}

/// `cities` asked for one city at a time: a fragment deferred under `cities { … }` is then
/// delivered city by city, each as soon as its city answers (`serving::defer::ListItems`).
/// The items are the resolver's own: the `codes` given (invalid ones leave the list whole, to
/// report the error once), else every registered city in the registry's order.
#[derive(Debug)]
pub(crate) struct CityItems(pub(crate) Arc<crate::registry::Registry>);

impl serving::defer::ListItems for CityItems {
    fn items(
        &self,
        field: &str,
        arguments: &[(async_graphql::Name, Value)],
    ) -> Option<Vec<Vec<(async_graphql::Name, Value)>>> {
        if field != "cities" {
            return None;
        }
        let codes: Vec<String> = match arguments.iter().find(|(n, _)| n == "codes") {
            None | Some((_, Value::Null)) => self.0.nodes().map(|n| n.city.to_string()).collect(),
            Some((_, Value::List(codes))) => {
                let mut seen: Vec<RegionCode> = Vec::new();
                let mut out = Vec::new();
                for c in codes {
                    let Value::String(c) = c else { return None };
                    let region = parse_city(c).ok()?;
                    if !seen.contains(&region.code) {
                        seen.push(region.code);
                        out.push(c.clone());
                    }
                }
                out
            }
            Some(_) => return None,
        };
        let others: Vec<(async_graphql::Name, Value)> = arguments
            .iter()
            .filter(|(n, _)| n != "codes")
            .cloned()
            .collect();
        Some(
            codes
                .into_iter()
                .map(|code| {
                    let mut args = vec![(
                        async_graphql::Name::new("codes"),
                        Value::List(vec![Value::String(code)]),
                    )];
                    args.extend(others.iter().cloned());
                    args
                })
                .collect(),
        )
    }
}
