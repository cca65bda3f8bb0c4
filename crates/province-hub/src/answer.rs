//! One way to answer "this part of the query, from city C": the caller (principal, token,
//! consistency), what the hub knows of the city, [`choice::choose`] between its node and the
//! hub's replica of it, the fallback after a failed live call, and the freshness the answer
//! carries — in plain Rust, with no GraphQL context in its signatures. `cities`, `city` and
//! `node(id:)` answer a city through [`answer`]; the ways a city can be asked are a
//! [`CityExecutor`] (its node over HTTP and its replica in process, for the hub; anything for
//! a test), so the rules are unit-tested without a server.

use std::future::Future;

use model::RegionCode;

use crate::{
    choice::{self, Choice, Fallback, Known},
    delegate::{
        client::{CallError, NodeError, NodeResponse},
        document::Forwarded,
    },
    status::{AnsweredBy, Consistency, Freshness},
};

/// Who asks, and how fresh they want the answer.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The caller's principal and this server's anonymous-read setting.
    pub access: &'a auth::Access,
    /// The caller's `Authorization` header, forwarded to a node as it came.
    pub authorization: Option<&'a str>,
    /// `LIVE`, `REPLICA` or `AUTO`.
    pub consistency: Consistency,
}

impl Caller<'_> {
    /// What the caller may see: calls of callers who see the same may be shared.
    pub fn visibility(&self) -> String {
        self.access.principal.visibility()
    }
}

/// What a city answered for the delegated part of a query.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Nothing was asked of the city (no delegated field selected, or nothing could answer).
    NotAsked,
    /// The node, or the replica, answered: its data and *all* its errors (paths relative to
    /// the forwarded document's root).
    Data {
        /// By the forwarded root fields' response keys.
        data: async_graphql::indexmap::IndexMap<String, crate::delegate::client::Part>,
        /// Every error it reported.
        errors: Vec<NodeError>,
    },
    /// The live call failed (and nothing stood in for it).
    Failed(CallError),
    /// The request was refused whole (`UNAUTHENTICATED`, `FORBIDDEN`, a limit): by the hub,
    /// by the rule the node applies, or by the node (or the replica) itself.
    Refused(NodeError),
}

impl Answer {
    /// A node's (or a replica's) response as an answer: refused when it has no data and an
    /// error at the root.
    pub fn of(r: NodeResponse) -> Self {
        if r.data.is_none()
            && let Some(e) = r.errors.iter().find(|e| e.path.is_empty())
        {
            return Self::Refused(e.clone());
        }
        Self::Data {
            data: r.data.unwrap_or_default(),
            errors: r.errors,
        }
    }
}

/// An answer and where it came from.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The answer.
    pub answer: Answer,
    /// Which source answered and how fresh it is.
    pub freshness: Freshness,
}

/// The ways one city can be asked.
pub trait CityExecutor: Sync {
    /// What the hub knows of the city before asking.
    fn known(&self) -> Known;
    /// Asks the city's node (only called when [`Known::node`] is true).
    fn live(
        &self,
        doc: &Forwarded,
        caller: &Caller<'_>,
    ) -> impl Future<Output = Result<NodeResponse, CallError>> + Send;
    /// Asks the hub's replica of the city, in process (`None` when it keeps none).
    fn replica(
        &self,
        doc: &Forwarded,
        caller: &Caller<'_>,
    ) -> impl Future<Output = Option<NodeResponse>> + Send;
    /// The freshness of an answer given by `by`.
    fn freshness(&self, by: AnsweredBy, stale: bool, notice: Option<String>) -> Freshness;
}

/// Answers `doc` (the delegated part; `None` when the query selects none) from `city` as the
/// caller's consistency and the city's state say. A caller who may not read the city is
/// refused here, by the rule its node applies, and nothing is asked.
pub async fn answer<E: CityExecutor>(
    city: RegionCode,
    exec: &E,
    doc: Option<&Forwarded>,
    caller: &Caller<'_>,
) -> Answered {
    let nothing = || Answered {
        answer: Answer::NotAsked,
        freshness: exec.freshness(AnsweredBy::None, false, None),
    };
    let Some(doc) = doc else {
        return nothing();
    };
    if let Err(r) = caller.access.read(city) {
        return Answered {
            answer: Answer::Refused(NodeError {
                message: r.message,
                path: Vec::new(),
                extensions: Some(serde_json::Map::from_iter([(
                    "code".to_owned(),
                    serde_json::Value::String(r.code.as_str().to_owned()),
                )])),
            }),
            freshness: exec.freshness(AnsweredBy::None, false, None),
        };
    }
    let known = exec.known();
    match choice::choose(caller.consistency, known) {
        Choice::Replica { stale, fallback } => {
            from_replica(city, exec, doc, caller, stale, fallback).await
        }
        Choice::NoReplica => Answered {
            answer: Answer::Failed(CallError::NoReplica),
            freshness: exec.freshness(AnsweredBy::None, false, None),
        },
        Choice::Nothing => nothing(),
        Choice::Live => match exec.live(doc, caller).await {
            Ok(r) => Answered {
                answer: Answer::of(r),
                freshness: exec.freshness(AnsweredBy::Live, false, None),
            },
            Err(e) => match choice::after_failure(caller.consistency, known, &e) {
                Some(Choice::Replica { stale, fallback }) => {
                    from_replica(city, exec, doc, caller, stale, fallback).await
                }
                _ => Answered {
                    answer: Answer::Failed(e),
                    freshness: exec.freshness(AnsweredBy::None, false, None),
                },
            },
        },
    }
}

async fn from_replica<E: CityExecutor>(
    city: RegionCode,
    exec: &E,
    doc: &Forwarded,
    caller: &Caller<'_>,
    stale: bool,
    fallback: Option<Fallback>,
) -> Answered {
    match exec.replica(doc, caller).await {
        Some(r) => Answered {
            answer: Answer::of(r),
            freshness: exec.freshness(AnsweredBy::Replica, stale, fallback.map(|f| f.notice(city))),
        },
        None => Answered {
            answer: Answer::NotAsked,
            freshness: exec.freshness(AnsweredBy::None, false, None),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use model::region::YUNCHENG;

    use super::*;
    use crate::choice::ReplicaKnown;

    /// A city whose node and replica answer as told, counting the calls.
    struct Fake {
        known: Known,
        live: Result<NodeResponse, CallError>,
        replica: NodeResponse,
        live_calls: AtomicUsize,
        replica_calls: AtomicUsize,
    }

    fn response(marker: &str, errors: usize) -> NodeResponse {
        NodeResponse {
            data: Some(
                [(
                    "units".to_owned(),
                    async_graphql::Value::String(marker.to_owned()).into(),
                )]
                .into_iter()
                .collect(),
            ),
            errors: (0..errors)
                .map(|i| NodeError {
                    message: format!("error {i}"),
                    path: vec![serde_json::json!("units"), serde_json::json!(i)],
                    extensions: None,
                })
                .collect(),
        }
    }

    impl Fake {
        fn new(
            node: bool,
            replica: Option<(bool, bool)>,
            live: Result<NodeResponse, CallError>,
        ) -> Self {
            Self {
                known: Known {
                    node,
                    replica: replica.map(|(current, applied_any)| ReplicaKnown {
                        current,
                        applied_any,
                    }),
                },
                live,
                replica: response("replica", 0),
                live_calls: AtomicUsize::new(0),
                replica_calls: AtomicUsize::new(0),
            }
        }
    }

    impl CityExecutor for Fake {
        fn known(&self) -> Known {
            self.known
        }
        async fn live(&self, _: &Forwarded, _: &Caller<'_>) -> Result<NodeResponse, CallError> {
            self.live_calls.fetch_add(1, Ordering::Relaxed);
            self.live.clone()
        }
        async fn replica(&self, _: &Forwarded, _: &Caller<'_>) -> Option<NodeResponse> {
            self.replica_calls.fetch_add(1, Ordering::Relaxed);
            self.known.replica.map(|_| self.replica.clone())
        }
        fn freshness(&self, by: AnsweredBy, stale: bool, notice: Option<String>) -> Freshness {
            Freshness {
                answered_by: by,
                stale,
                applied_seq: None,
                node_seq: None,
                last_push_at: None,
                notice,
            }
        }
    }

    fn doc() -> Forwarded {
        Forwarded {
            query: "{ units }".into(),
            variables: serde_json::Map::new(),
        }
    }

    fn access(city: Option<RegionCode>) -> auth::Access {
        auth::Access {
            principal: auth::Principal::Authenticated(auth::Subject {
                sub: "t".into(),
                role: if city.is_some() {
                    auth::Role::CityEditor
                } else {
                    auth::Role::ProvinceViewer
                },
                city,
            }),
            anonymous_read: false,
        }
    }

    async fn ask(fake: &Fake, consistency: Consistency) -> Answered {
        let a = access(None);
        let caller = Caller {
            access: &a,
            authorization: Some("Bearer t"),
            consistency,
        };
        answer(YUNCHENG, fake, Some(&doc()), &caller).await
    }

    fn marker(a: &Answer) -> Option<async_graphql::Value> {
        match a {
            Answer::Data { data, .. } => data.get("units").map(|p| p.to_value()),
            _ => None,
        }
    }

    /// (consistency, node, replica (current, applied any), live outcome) → (answered by,
    /// stale, marker, live calls, replica calls).
    type Row = (
        Consistency,
        bool,
        Option<(bool, bool)>,
        Result<NodeResponse, CallError>,
        AnsweredBy,
        bool,
        Option<&'static str>,
        usize,
        usize,
    );

    #[tokio::test]
    async fn each_consistency_answers_from_where_it_says_and_keeps_every_error() {
        use Consistency::*;
        let up = || Ok(response("live", 3));
        let down = || Err(CallError::Unavailable("refused".into()));
        let table: Vec<Row> = vec![
            (
                Live,
                true,
                Some((true, true)),
                up(),
                AnsweredBy::Live,
                false,
                Some("live"),
                1,
                0,
            ),
            (
                Live,
                true,
                Some((true, true)),
                down(),
                AnsweredBy::None,
                false,
                None,
                1,
                0,
            ),
            (
                Replica,
                true,
                Some((false, true)),
                up(),
                AnsweredBy::Replica,
                true,
                Some("replica"),
                0,
                1,
            ),
            (
                Replica,
                true,
                None,
                up(),
                AnsweredBy::None,
                false,
                None,
                0,
                0,
            ),
            (
                Auto,
                true,
                Some((true, true)),
                up(),
                AnsweredBy::Replica,
                false,
                Some("replica"),
                0,
                1,
            ),
            (
                Auto,
                true,
                Some((false, true)),
                up(),
                AnsweredBy::Live,
                false,
                Some("live"),
                1,
                0,
            ),
            (
                Auto,
                true,
                Some((false, true)),
                down(),
                AnsweredBy::Replica,
                true,
                Some("replica"),
                1,
                1,
            ),
            (
                Auto,
                true,
                Some((false, false)),
                down(),
                AnsweredBy::None,
                false,
                None,
                1,
                0,
            ),
            (
                Auto,
                false,
                Some((false, true)),
                up(),
                AnsweredBy::Replica,
                true,
                Some("replica"),
                0,
                1,
            ),
        ];
        for (i, (consistency, node, replica, live, by, stale, want, live_calls, replica_calls)) in
            table.into_iter().enumerate()
        {
            let fake = Fake::new(node, replica, live);
            let a = ask(&fake, consistency).await;
            assert_eq!(a.freshness.answered_by, by, "row {i}");
            assert_eq!(a.freshness.stale, stale, "row {i}");
            assert_eq!(
                marker(&a.answer)
                    .and_then(|v| match v {
                        async_graphql::Value::String(s) => Some(s),
                        _ => None,
                    })
                    .as_deref(),
                want,
                "row {i}"
            );
            assert_eq!(
                fake.live_calls.load(Ordering::Relaxed),
                live_calls,
                "row {i}: live calls"
            );
            assert_eq!(
                fake.replica_calls.load(Ordering::Relaxed),
                replica_calls,
                "row {i}: replica calls"
            );
            if let Answer::Data { errors, .. } = &a.answer
                && want == Some("live")
            {
                assert_eq!(
                    errors.len(),
                    3,
                    "row {i}: every node error is kept, not the first"
                );
            }
            // The replica standing in for the node under AUTO says why; asked for, it need not.
            assert_eq!(
                a.freshness.notice.is_some(),
                consistency == Auto && by == AnsweredBy::Replica && stale,
                "row {i}: {:?}",
                a.freshness.notice
            );
        }
    }

    #[tokio::test]
    async fn a_caller_who_may_not_read_the_city_is_refused_and_nothing_is_asked() {
        let fake = Fake::new(true, Some((true, true)), Ok(response("live", 0)));
        let linfen = access(Some(model::region::LINFEN));
        let caller = Caller {
            access: &linfen,
            authorization: None,
            consistency: Consistency::Live,
        };
        let a = answer(YUNCHENG, &fake, Some(&doc()), &caller).await;
        match a.answer {
            Answer::Refused(e) => assert_eq!(
                e.extensions.and_then(|x| x.get("code").cloned()),
                Some(serde_json::json!("FORBIDDEN"))
            ),
            other => panic!("not refused: {other:?}"),
        }
        assert_eq!(
            fake.live_calls.load(Ordering::Relaxed) + fake.replica_calls.load(Ordering::Relaxed),
            0
        );
        // Nothing delegated selected: nothing asked, whoever asks.
        let a = answer(YUNCHENG, &fake, None, &caller).await;
        assert!(matches!(a.answer, Answer::NotAsked));
        assert_eq!(a.freshness.answered_by, AnsweredBy::None);
    }

    #[test]
    fn a_response_without_data_and_with_a_root_error_is_a_refusal() {
        let refused = NodeResponse {
            data: None,
            errors: vec![NodeError {
                message: "a token is required".into(),
                path: Vec::new(),
                extensions: None,
            }],
        };
        assert!(matches!(Answer::of(refused), Answer::Refused(_)));
        assert!(matches!(Answer::of(response("x", 1)), Answer::Data { .. }));
    }
}
