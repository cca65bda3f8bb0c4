//! `Programme.cityProgrammes` at the hub: the programmes of every city that implement or follow
//! a province programme, asked of every node **once per query level** however many province
//! programmes the query lists (no N+1). Requests for the same selection that arrive together
//! are batched by async-graphql's `DataLoader` into one document per node with one aliased
//! `programmesImplementing` root field per parent; all nodes are called in parallel.

use std::{collections::HashMap, sync::Arc};

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
use crate::registry::Registry;

/// One parent programme, asked with one prepared selection by one caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The selection under `cityProgrammes`, printed, with its variables and fragments.
    pub selection: Arc<PreparedSelection>,
    /// The caller's `Authorization`, forwarded (keys of different callers never share a call).
    pub authorization: Option<Arc<str>>,
    /// What the caller may see (`auth::Principal::visibility`): identical calls of callers
    /// who see the same may share one node call.
    pub visibility: Arc<str>,
    /// The parent programme's global id.
    pub parent: String,
    /// The cities this caller may read (the same for every key of one caller): only their
    /// nodes are called, so a token never reaches a node that would refuse it.
    pub readable: Arc<[RegionCode]>,
}

/// What one city answered for one parent.
#[derive(Debug, Clone)]
pub struct CityAnswer {
    /// The city.
    pub city: RegionCode,
    /// The programmes (as the node answered them for the selection), or the failure's code
    /// and message.
    pub result: Result<Vec<Value>, (codes::Code, String)>,
    /// The node's errors for this parent, with paths starting at the list index.
    pub errors: Vec<NodeError>,
}

/// Keys that can share one document per node: same selection, same caller.
type Group = (Arc<PreparedSelection>, Option<Arc<str>>, Arc<str>);

/// The batching loader.
#[derive(Debug)]
pub struct CityProgrammesLoader {
    registry: Arc<Registry>,
}

impl Loader<Key> for CityProgrammesLoader {
    type Value = Vec<CityAnswer>;
    type Error = Arc<str>;

    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Self::Value>, Self::Error> {
        // Group the parents by (selection, caller): each group is one document per node.
        let mut groups: HashMap<Group, Vec<&Key>> = HashMap::new();
        for k in keys {
            groups
                .entry((
                    k.selection.clone(),
                    k.authorization.clone(),
                    k.visibility.clone(),
                ))
                .or_default()
                .push(k);
        }
        let mut out: HashMap<Key, Vec<CityAnswer>> = HashMap::new();
        for ((selection, auth, visibility), group) in groups {
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
            let readable = group
                .first()
                .map(|k| k.readable.clone())
                .unwrap_or_else(|| Arc::from(Vec::new()));
            let nodes = self.registry.nodes().filter(|n| readable.contains(&n.city));
            let calls = nodes.map(|node| {
                let doc = &doc;
                let auth = auth.clone();
                let visibility = visibility.clone();
                async move {
                    (
                        node.city,
                        self.registry
                            .call(node, doc, auth.as_deref(), Some(&visibility))
                            .await,
                    )
                }
            });
            let answers = join_all(calls).await;
            for (i, key) in group.iter().enumerate() {
                let alias = format!("p{i}");
                let per_city = answers
                    .iter()
                    .map(|(city, res)| match res {
                        Err(e) => CityAnswer {
                            city: *city,
                            result: Err((e.code(), e.to_string())),
                            errors: vec![],
                        },
                        Ok(r) => {
                            let list = r
                                .data
                                .as_ref()
                                .and_then(|d| d.get(&alias))
                                .and_then(|v| match v {
                                    Value::List(items) => Some(items.clone()),
                                    _ => None,
                                })
                                .unwrap_or_default();
                            let errors = r
                                .errors
                                .iter()
                                .filter(|e| {
                                    e.path.first().and_then(|p| p.as_str()) == Some(alias.as_str())
                                })
                                .map(|e| NodeError {
                                    path: e.path[1..].to_vec(),
                                    ..e.clone()
                                })
                                .collect();
                            CityAnswer {
                                city: *city,
                                result: Ok(list),
                                errors,
                            }
                        }
                    })
                    .collect();
                out.insert((*key).clone(), per_city);
            }
        }
        Ok(out)
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
    /// A source over `registry`'s nodes.
    pub fn new(registry: Arc<Registry>) -> Self {
        Self {
            // One alias per parent in a node's document: stay well under the nodes'
            // `graphql.max_aliases` (default 100).
            loader: DataLoader::new(CityProgrammesLoader { registry }, tokio::spawn)
                .max_batch_size(MAX_PARENTS_PER_CALL),
        }
    }
}

impl ImplementingProgrammes for HubImplementing {
    fn resolve<'a>(
        &'a self,
        ctx: &'a Context<'_>,
        parent: String,
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
            let readable: Arc<[RegionCode]> = self
                .loader
                .loader()
                .registry
                .nodes()
                .map(|n| n.city)
                .filter(|c| access.principal.read(*c, access.anonymous_read).is_ok())
                .collect();
            let key = Key {
                selection,
                authorization,
                visibility: city_schema::access::access(ctx)
                    .principal
                    .visibility()
                    .into(),
                parent,
                readable,
            };
            let answers = self
                .loader
                .load_one(key)
                .await
                .map_err(|e| async_graphql::Error::new(e.to_string()))?
                .unwrap_or_default();
            let base = super::client::response_path(ctx);
            let mut out = Vec::new();
            for a in answers {
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
