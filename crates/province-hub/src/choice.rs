//! Where a city's answer comes from — its node, the hub's replica of it, or nowhere — as pure
//! functions of what the caller asked (`consistency`) and what the hub knows (whether a node
//! is registered, the replica's state), and, after a live call failed, of the failure.
//! The resolvers only carry the choice out, so `LIVE`, `REPLICA` and `AUTO` mean the same
//! wherever a city is asked, and the rules are tested as a table.

use crate::{delegate::client::CallError, status::Consistency};

/// What the hub knows of a city before asking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// A node is registered for the city.
    pub node: bool,
    /// The hub's replica of the city, if it keeps one.
    pub replica: Option<ReplicaKnown>,
}

/// The replica's state, as far as the choice depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaKnown {
    /// It has applied everything the node last reported, and the node reported within
    /// `sync.fresh_ms` (and it is not known to differ from the node).
    pub current: bool,
    /// It has applied anything at all (an empty replica is no fallback).
    pub applied_any: bool,
}

/// Why an answer comes from the replica when the caller did not insist on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// No node is registered for the city.
    NoNode,
    /// The node could not answer (unreachable, timed out, breaker open).
    NodeFailed(CallError),
}

impl Fallback {
    /// The notice an answer carries when the replica stood in for the node of `city`.
    pub fn notice(&self, city: model::RegionCode) -> String {
        match self {
            Self::NoNode => {
                format!("no node is registered for {city}; answered from the hub's replica")
            }
            Self::NodeFailed(e) => format!(
                "the node of {city} cannot answer ({}: {e}); answered from the hub's replica, which may miss the node's latest changes",
                e.code()
            ),
        }
    }
}

/// Where to answer from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// From the replica; `stale` marks the answer as possibly behind the node, `fallback`
    /// says why the replica answers in the node's stead.
    Replica {
        /// The answer may miss the node's latest changes.
        stale: bool,
        /// Why, when the replica stands in for the node.
        fallback: Option<Fallback>,
    },
    /// Call the node.
    Live,
    /// Refuse: `REPLICA` was asked and the hub keeps no replica.
    NoReplica,
    /// Nothing can answer (no node, and no replica `consistency` allows).
    Nothing,
}

/// The choice before any call.
pub fn choose(consistency: Consistency, known: Known) -> Choice {
    match (consistency, known.node, known.replica) {
        (Consistency::Replica, _, Some(r)) => Choice::Replica {
            stale: !r.current,
            fallback: None,
        },
        (Consistency::Replica, _, None) => Choice::NoReplica,
        (Consistency::Auto, _, Some(r)) if r.current => Choice::Replica {
            stale: false,
            fallback: None,
        },
        (_, true, _) => Choice::Live,
        (Consistency::Auto, false, Some(_)) => Choice::Replica {
            stale: true,
            fallback: Some(Fallback::NoNode),
        },
        (_, false, _) => Choice::Nothing,
    }
}

/// After a live call failed with `error`: the replica, when `AUTO` allows it and the node
/// cannot answer at all (a node that answered badly is reported, not papered over).
pub fn after_failure(consistency: Consistency, known: Known, error: &CallError) -> Option<Choice> {
    let unreachable = matches!(
        error,
        CallError::Unavailable(_) | CallError::Timeout(_) | CallError::CircuitOpen
    );
    match known.replica {
        Some(r) if consistency == Consistency::Auto && unreachable && r.applied_any => {
            Some(Choice::Replica {
                stale: true,
                fallback: Some(Fallback::NodeFailed(error.clone())),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Option<ReplicaKnown> = None;
    const EMPTY: Option<ReplicaKnown> = Some(ReplicaKnown {
        current: false,
        applied_any: false,
    });
    const BEHIND: Option<ReplicaKnown> = Some(ReplicaKnown {
        current: false,
        applied_any: true,
    });
    const CURRENT: Option<ReplicaKnown> = Some(ReplicaKnown {
        current: true,
        applied_any: true,
    });

    fn replica(stale: bool) -> Choice {
        Choice::Replica {
            stale,
            fallback: None,
        }
    }

    #[test]
    fn the_choice_before_asking() {
        use Consistency::{Auto, Live, Replica};
        let no_node = Choice::Replica {
            stale: true,
            fallback: Some(Fallback::NoNode),
        };
        #[rustfmt::skip]
        let table = [
            // consistency, node, replica → choice
            (Live,    true,  NONE,    Choice::Live),
            (Live,    true,  CURRENT, Choice::Live),
            (Live,    false, CURRENT, Choice::Nothing),
            (Live,    false, NONE,    Choice::Nothing),
            (Replica, true,  CURRENT, replica(false)),
            (Replica, true,  BEHIND,  replica(true)),
            (Replica, false, EMPTY,   replica(true)),
            (Replica, true,  NONE,    Choice::NoReplica),
            (Replica, false, NONE,    Choice::NoReplica),
            (Auto,    true,  CURRENT, replica(false)),
            (Auto,    false, CURRENT, replica(false)),
            (Auto,    true,  BEHIND,  Choice::Live),
            (Auto,    true,  EMPTY,   Choice::Live),
            (Auto,    true,  NONE,    Choice::Live),
            (Auto,    false, BEHIND,  no_node.clone()),
            (Auto,    false, EMPTY,   no_node),
            (Auto,    false, NONE,    Choice::Nothing),
        ];
        for (consistency, node, replica, want) in table {
            let known = Known { node, replica };
            assert_eq!(
                choose(consistency, known),
                want,
                "{consistency:?} {known:?}"
            );
        }
    }

    #[test]
    fn after_a_failed_call_only_auto_falls_back_and_only_when_the_node_cannot_answer() {
        use Consistency::{Auto, Live, Replica};
        let down = CallError::Unavailable("connection refused".into());
        let slow = CallError::Timeout(5000);
        let broken = CallError::Error("HTTP 500".into());
        let known = |replica| Known {
            node: true,
            replica,
        };
        let fell_back = |e: &CallError| {
            Some(Choice::Replica {
                stale: true,
                fallback: Some(Fallback::NodeFailed(e.clone())),
            })
        };
        #[rustfmt::skip]
        let table = [
            (Auto,    BEHIND,  &down,   fell_back(&down)),
            (Auto,    BEHIND,  &slow,   fell_back(&slow)),
            (Auto,    BEHIND,  &CallError::CircuitOpen, fell_back(&CallError::CircuitOpen)),
            (Auto,    BEHIND,  &broken, None),
            (Auto,    EMPTY,   &down,   None),
            (Auto,    NONE,    &down,   None),
            (Live,    CURRENT, &down,   None),
            (Replica, CURRENT, &down,   None),
        ];
        for (consistency, replica, error, want) in table {
            assert_eq!(
                after_failure(consistency, known(replica), error),
                want,
                "{consistency:?} {replica:?} {error:?}"
            );
        }
    }
}
