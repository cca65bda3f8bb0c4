//! The hub's means to answer for any city: the node registry, each city's replica with the
//! city subgraph over it, the province subgraph (for the province's own ids), the freshness
//! window, and the caches. Resolvers reach it as schema data (`ctx.data::<Cities>()`).

use std::sync::Arc;

use model::RegionCode;

use crate::registry::Registry;

/// What the resolvers that answer for cities need at request time (schema data).
#[derive(Clone)]
pub struct Cities {
    /// The registered nodes.
    pub registry: Arc<Registry>,
    /// The province subgraph, for ids the hub owns itself.
    pub province: city_schema::CitySchema,
    /// Each city's replica and the city subgraph over it: the same schema a node serves, so
    /// a replica answers the same document with the same result.
    pub replicas: std::collections::BTreeMap<RegionCode, ReplicaView>,
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
