//! `Programme.cityProgrammes` at the hub: the programmes of every city that implement or follow
//! a province programme, asked of every node **once per query level** however many province
//! programmes the query lists (no N+1). Requests for the same selection that arrive together
//! are batched by async-graphql's `DataLoader` into one document per node with one aliased
//! `programmesImplementing` root field per parent; all nodes are called in parallel.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
};

use async_graphql::{
    Context, ErrorExtensions, Value,
    dataloader::{DataLoader, Loader},
};
use city_schema::splice::ImplementingProgrammes;
use futures_util::future::join_all;
use model::RegionCode;

use super::{
    client::NodeError,
    document::{PreparedSelection, Source},
};
use crate::{
    answer::{self, Answer, Answered, Caller},
    cities::{HubCity, ReplicaView},
    registry::Registry,
    status::{Consistency, Freshness},
};

/// One parent programme, asked with one prepared selection by one caller.
#[derive(Debug, Clone)]
pub struct Key {
    /// The selection under `cityProgrammes`, printed, with its variables and fragments.
    pub selection: Arc<PreparedSelection>,
    /// The caller's `Authorization`, forwarded (keys of different callers never share a call).
    pub authorization: Option<Arc<str>>,
    /// What the caller may see (`auth::Principal::visibility`): identical calls of callers
    /// who see the same may share one node call.
    pub visibility: Arc<str>,
    /// Where each city answers from.
    pub consistency: Consistency,
    /// The parent programme's global id.
    pub parent: String,
    /// The caller. Not part of the key's identity: keys with the same authorization and
    /// visibility are the same caller here.
    pub access: Arc<auth::Access>,
}

impl Key {
    fn identity(&self) -> (&PreparedSelection, Option<&str>, &str, Consistency, &str) {
        (
            &self.selection,
            self.authorization.as_deref(),
            &self.visibility,
            self.consistency,
            &self.parent,
        )
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

/// What one city answered for one parent.
#[derive(Debug, Clone)]
pub struct CityAnswer {
    /// The city.
    pub city: RegionCode,
    /// The programmes (as the city answered them for the selection), or the failure's code
    /// and message.
    pub result: Result<Vec<Value>, (codes::Code, String)>,
    /// The city's errors for this parent, with paths starting at the list index.
    pub errors: Vec<NodeError>,
    /// Which source answered and how fresh it is.
    pub freshness: Freshness,
}

/// Keys that can share one document per city: same selection, same caller, same consistency.
type Group = (
    Arc<PreparedSelection>,
    Option<Arc<str>>,
    Arc<str>,
    Consistency,
);

/// The batching loader: asks every city the caller may read through the one core
/// ([`crate::answer::answer`]), so `consistency` means here what it means for `cities`.
#[derive(Debug)]
pub struct CityProgrammesLoader {
    registry: Arc<Registry>,
    views: Arc<BTreeMap<RegionCode, ReplicaView>>,
    fresh: std::time::Duration,
}

impl Loader<Key> for CityProgrammesLoader {
    type Value = Vec<CityAnswer>;
    type Error = Arc<str>;

    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Self::Value>, Self::Error> {
        // Group the parents by (selection, caller, consistency): each group is one document
        // per city.
        let mut groups: HashMap<Group, Vec<&Key>> = HashMap::new();
        for k in keys {
            groups
                .entry((
                    k.selection.clone(),
                    k.authorization.clone(),
                    k.visibility.clone(),
                    k.consistency,
                ))
                .or_default()
                .push(k);
        }
        let mut out: HashMap<Key, Vec<CityAnswer>> = HashMap::new();
        for ((selection, auth, _, consistency), group) in groups {
            let Some(first) = group.first() else {
                continue;
            };
            let access = first.access.clone();
            let roots: Vec<(String, String)> = group
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let parent = serde_json::Value::String(k.parent.clone());
                    (
                        format!("p{i}"),
                        format!("programmesImplementing(parentId: {parent})"),
                    )
                })
                .collect();
            let doc = selection.document(&roots);
            let caller = Caller {
                access: &access,
                authorization: auth.as_deref(),
                consistency,
            };
            // Only the cities the caller may read: a token never reaches a node that would
            // refuse it, and a city it may not see is simply not among the answers.
            let cities: BTreeSet<RegionCode> = self
                .registry
                .nodes()
                .map(|n| n.city)
                .chain(self.views.keys().copied())
                .filter(|c| access.read(*c).is_ok())
                .collect();
            let calls = cities.into_iter().map(|city| {
                let exec = HubCity {
                    registry: &self.registry,
                    fresh: self.fresh,
                    node: self.registry.node(city),
                    view: self.views.get(&city),
                };
                let (doc, caller) = (&doc, &caller);
                async move { (city, answer::answer(city, &exec, Some(doc), caller).await) }
            });
            let answers = join_all(calls).await;
            for (i, key) in group.iter().enumerate() {
                let alias = format!("p{i}");
                let per_city = answers
                    .iter()
                    .map(|(city, a)| per_parent(*city, a, &alias))
                    .collect();
                out.insert((*key).clone(), per_city);
            }
        }
        Ok(out)
    }
}

/// What `city` answered for the parent asked under `alias`.
fn per_parent(city: RegionCode, a: &Answered, alias: &str) -> CityAnswer {
    let (result, errors) = match &a.answer {
        Answer::NotAsked => (Ok(Vec::new()), Vec::new()),
        Answer::Failed(e) => (Err((e.code(), e.to_string())), Vec::new()),
        Answer::Refused(e) => {
            let code = e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|c| c.as_str())
                .and_then(|c| c.parse::<codes::Code>().ok())
                .unwrap_or(codes::Code::CityError);
            (Err((code, e.message.clone())), Vec::new())
        }
        Answer::Data { data, errors } => {
            let list = data
                .get(alias)
                .and_then(|p| match p.to_value() {
                    Value::List(items) => Some(items),
                    _ => None,
                })
                .unwrap_or_default();
            let errors = errors
                .iter()
                .filter(|e| e.path.first().and_then(|p| p.as_str()) == Some(alias))
                .map(|e| NodeError {
                    path: e.path[1..].to_vec(),
                    ..e.clone()
                })
                .collect();
            (Ok(list), errors)
        }
    };
    CityAnswer {
        city,
        result,
        errors,
        freshness: a.freshness.clone(),
    }
}

/// Most parents one batched call to a node asks for (one alias each).
pub const MAX_PARENTS_PER_CALL: usize = 64;

/// The hub's [`ImplementingProgrammes`]: every city's node, batched.
pub struct HubImplementing {
    loader: DataLoader<CityProgrammesLoader>,
}

impl std::fmt::Debug for HubImplementing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubImplementing")
    }
}

impl HubImplementing {
    /// A source over `registry`'s nodes and the hub's replicas (`views`); `fresh` is AUTO's
    /// freshness window.
    pub fn new(
        registry: Arc<Registry>,
        views: Arc<BTreeMap<RegionCode, ReplicaView>>,
        fresh: std::time::Duration,
    ) -> Self {
        Self {
            // One alias per parent in a node's document: stay well under the nodes'
            // `graphql.max_aliases` (default 100).
            loader: DataLoader::new(
                CityProgrammesLoader {
                    registry,
                    views,
                    fresh,
                },
                tokio::spawn,
            )
            .max_batch_size(MAX_PARENTS_PER_CALL),
        }
    }
}

impl ImplementingProgrammes for HubImplementing {
    fn resolve<'a>(
        &'a self,
        ctx: &'a Context<'_>,
        parent: String,
        consistency: Consistency,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = async_graphql::Result<Vec<Value>>> + Send + 'a>,
    > {
        Box::pin(async move {
            let src = Source {
                fragments: &ctx.query_env.fragments,
                variable_definitions: &ctx.query_env.operation.node.variable_definitions,
                variables: &ctx.query_env.variables,
            };
            let selection = Arc::new(PreparedSelection::new(
                &ctx.item.node.selection_set.node,
                src,
            ));
            let authorization = ctx
                .data_opt::<serving::CallerAuthorization>()
                .and_then(|a| a.0.as_deref())
                .map(Arc::from);
            let access = city_schema::access::access(ctx);
            let key = Key {
                selection,
                authorization,
                visibility: access.principal.visibility().into(),
                consistency,
                parent,
                access: Arc::new(access),
            };
            let answers = self
                .loader
                .load_one(key)
                .await
                .map_err(|e| async_graphql::Error::new(e.to_string()))?
                .unwrap_or_default();
            let base = super::client::response_path(ctx);
            let report = ctx.data_opt::<Arc<super::report::FreshnessReport>>();
            let mut out = Vec::new();
            for a in answers {
                if let Some(r) = report {
                    r.record(&base, a.city, &a.freshness);
                }
                match a.result {
                    Err((code, message)) => {
                        let e = async_graphql::Error::new(message).extend_with(|_, x| {
                            x.set("code", code.as_str());
                            x.set("city", a.city.to_string());
                        });
                        ctx.add_error(e.into_server_error(ctx.item.pos).with_path(base.clone()));
                    }
                    Ok(list) => {
                        let offset = out.len();
                        for e in a.errors {
                            ctx.add_error(e.rebased(&base, 0, offset, a.city));
                        }
                        out.extend(list);
                    }
                }
            }
            Ok(out)
        })
    }
}
