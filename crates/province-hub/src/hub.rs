//! The hub's public schema: the province subgraph's queries (answered from the hub's own
//! database) plus `cities`, `city(code:)` and a `node(id:)` that routes any global id to its
//! owner. A city's fields are **delegated**: the hub forwards exactly the requested
//! sub-selection to the city's node — one request per node per query level, all nodes in
//! parallel — and splices the answers in. A failing node costs only its own subtree.
//!
//! The caller's selection is read from async-graphql's syntax tree (`ctx.item`,
//! `ctx.query_env`: public but `#[doc(hidden)]` fields, hence the exact version pin on
//! async-graphql in the workspace manifest). It is the only way to forward fragments and
//! type conditions intact; `ctx.field()` flattens them.

use std::sync::Arc;

use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, ID, MergedObject, Object, Positioned, Value,
    parser::types::Field,
};
use city_schema::{
    connection::{
        ActualConnection, InstitutionConnection, PlanItemConnection, ProgrammeConnection,
        TargetConnection, UnitConnection,
    },
    inputs::{MeasureFilterInput, PlanItemFilterInput, UnitFilterInput},
    query::{Node, ProgrammeQuery},
    splice::Delegated,
    types::{Document, Indicator, Institution, Programme, Region, Unit},
};
use futures_util::future::join_all;
use model::{GlobalId, RegionCode, region::SHANXI};

use crate::{
    answer::{self, Answer},
    cities::{Cities, HubCity, parse_cities, parse_city},
    delegate::document::{Forwarded, Source, collect_fields, forward},
    registry::Node as RegisteredNode,
    status::{CityStatus, Consistency, Freshness, SyncStatus},
};

/// The hub's schema.
pub type HubSchema = async_graphql::Schema<HubRoot, city_schema::Mutation, EmptySubscription>;

/// Root queries: the province's own plus the hub's.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct HubRoot(ProgrammeQuery, HubQuery, crate::compare::CompareQuery);

impl std::fmt::Debug for HubRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubRoot")
    }
}

/// The fields of `City` that nodes answer; everything else on `City` is the hub's own.
const DELEGATED: &[&str] = &[
    "owner",
    "programmes",
    "programme",
    "programmesImplementing",
    "institutions",
    "institution",
    "units",
    "unit",
    "planItems",
    "indicators",
    "indicator",
    "targets",
    "actuals",
    "documents",
    "auditTrail",
];

fn source<'a>(ctx: &'a Context<'_>) -> Source<'a> {
    Source {
        fragments: &ctx.query_env.fragments,
        variable_definitions: &ctx.query_env.operation.node.variable_definitions,
        variables: &ctx.query_env.variables,
    }
}

/// The delegated fields under the current field (a `City` or `[City]`).
fn delegated_fields<'a>(ctx: &'a Context<'_>) -> Vec<&'a Positioned<Field>> {
    let item: &Positioned<Field> = ctx.item;
    let mut all = Vec::new();
    collect_fields(&item.node.selection_set.node, source(ctx), &mut all);
    all.into_iter()
        .filter(|f| DELEGATED.contains(&f.node.name.node.as_str()))
        .collect()
}

fn authorization<'a>(ctx: &'a Context<'_>) -> Option<&'a str> {
    ctx.data_opt::<serving::CallerAuthorization>()
        .and_then(|a| a.0.as_deref())
}

fn coded(
    code: codes::Code,
    message: impl Into<String>,
    city: Option<RegionCode>,
) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| {
        e.set("code", code.as_str());
        if let Some(c) = city {
            e.set("city", c.to_string());
        }
    })
}

/// 城市 — A city: its node's status and, delegated to the node, its programmes and data.
#[derive(Debug, Clone)]
pub struct City {
    region: &'static model::Region,
    node: Option<Arc<RegisteredNode>>,
    replica: Option<Arc<sync::hub::Replica>>,
    answer: Answer,
    freshness: Freshness,
}

impl City {
    /// The node's answer for the current field (found by its response key), with the node's
    /// own errors re-rooted under it.
    fn take<T>(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Delegated<T>>> {
        let city = self.region.code;
        let key = ctx.item.node.response_key().node.as_str();
        match &self.answer {
            Answer::NotAsked => match &self.node {
                None => Err(coded(
                    codes::Code::CityNotRegistered,
                    format!("no node is registered for {city}"),
                    Some(city),
                )),
                Some(_) => Err(coded(codes::Code::Internal, "internal error", Some(city))),
            },
            Answer::Failed(e) => Err(coded(e.code(), e.to_string(), Some(city))),
            Answer::Refused(e) => {
                let base = crate::delegate::client::response_path(ctx);
                ctx.add_error(e.rebased(&base, 0, 0, city));
                Ok(None)
            }
            Answer::Data { data, errors } => {
                let mine = errors
                    .iter()
                    .filter(|e| e.path.first().and_then(|p| p.as_str()) == Some(key));
                // The path is built only for a field with errors (most have none).
                let mut base = None;
                for e in mine {
                    let base =
                        base.get_or_insert_with(|| crate::delegate::client::response_path(ctx));
                    ctx.add_error(e.rebased(base, 1, 0, city));
                }
                Ok(data
                    .get(key)
                    .filter(|p| !p.is_null())
                    .map(|p| Delegated::new(p.resolve(ctx))))
            }
        }
    }
}

/// 城市 — A city: its node's status and, delegated to the node, its programmes and data.
#[Object]
impl City {
    /// 行政区划代码 — The city's GB/T 2260 code.
    async fn code(&self) -> String {
        self.region.code.to_string()
    }
    /// 中文名称 — Chinese name.
    async fn name_zh(&self) -> &str {
        self.region.name_zh
    }
    /// 英文名称 — English name.
    async fn name_en(&self) -> &str {
        self.region.name_en
    }
    /// 行政区 — The region.
    async fn region(&self) -> Region {
        Region(self.region)
    }
    /// 节点状态 — What the hub last saw of the city's node.
    async fn status(&self, ctx: &Context<'_>) -> CityStatus {
        let admin = city_schema::access::access(ctx)
            .principal
            .subject()
            .is_some_and(|s| s.role == auth::Role::ProvinceAdmin);
        CityStatus::of(self.node.as_deref(), admin)
    }

    /// 新鲜度 — Which source answered this city's delegated fields (the node or the hub's
    /// replica) and how fresh it is.
    async fn freshness(&self) -> &Freshness {
        &self.freshness
    }

    /// 同步状态 — The city's upward sync: node sequence, applied sequence, lag, last push,
    /// last error.
    /// Province roles see every city's; city staff their own city's only (null and
    /// `FORBIDDEN` for another city).
    #[graphql(guard = "city_schema::access::Private")]
    async fn sync(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SyncStatus>> {
        let access = city_schema::access::access(ctx);
        access
            .principal
            .read(self.region.code, false)
            .map_err(|r| city_schema::access::refused(&r))?;
        Ok(Some(SyncStatus::of(self.replica.as_deref())))
    }

    /// 同步历史 — The city's sync and node state over time, as the hub sampled it (every
    /// `sync_history.every_ms`, the newest `last` samples, oldest first; at most
    /// `sync_history.samples`). Kept in memory: a hub restart starts it afresh. Who may see
    /// `sync` may see this.
    #[graphql(guard = "city_schema::access::Private")]
    async fn sync_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 360, validator(minimum = 1, maximum = 10000))] last: i32,
    ) -> async_graphql::Result<Vec<crate::history::SyncSample>> {
        let access = city_schema::access::access(ctx);
        access
            .principal
            .read(self.region.code, false)
            .map_err(|r| city_schema::access::refused(&r))?;
        let cities = ctx.data::<crate::cities::Cities>()?;
        Ok(cities
            .history
            .samples(self.region.code, usize::try_from(last).unwrap_or(0)))
    }

    /// 所属行政区（节点） — The region the node says it serves. Delegated.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Delegated<Region>>> {
        self.take(ctx)
    }
    /// 项目列表 — The city's programmes. Delegated.
    async fn programmes(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "first")] _first: Option<i32>,
        #[graphql(name = "after")] _after: Option<String>,
    ) -> async_graphql::Result<Option<Delegated<ProgrammeConnection>>> {
        self.take(ctx)
    }
    /// 项目 — One of the city's programmes. Delegated.
    async fn programme(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id")] _id: ID,
    ) -> async_graphql::Result<Option<Delegated<Programme>>> {
        self.take(ctx)
    }
    /// 实施某项目的下级项目 — The city's programmes implementing or following `parentId` (e.g. 136). Delegated.
    async fn programmes_implementing(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "parentId")] _parent_id: ID,
    ) -> async_graphql::Result<Option<Delegated<Vec<Programme>>>> {
        self.take(ctx)
    }
    /// 机构列表 — The city's institutions. Delegated.
    async fn institutions(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "region")] _region: Option<String>,
        #[graphql(name = "first")] _first: Option<i32>,
        #[graphql(name = "after")] _after: Option<String>,
    ) -> async_graphql::Result<Option<Delegated<InstitutionConnection>>> {
        self.take(ctx)
    }
    /// 机构 — One institution. Delegated.
    async fn institution(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id")] _id: ID,
    ) -> async_graphql::Result<Option<Delegated<Institution>>> {
        self.take(ctx)
    }
    /// 建设单元列表 — The city's units. Delegated.
    async fn units(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "filter")] _filter: Option<UnitFilterInput>,
        #[graphql(name = "first")] _first: Option<i32>,
        #[graphql(name = "after")] _after: Option<String>,
    ) -> async_graphql::Result<Option<Delegated<UnitConnection>>> {
        self.take(ctx)
    }
    /// 建设单元 — One unit. Delegated.
    async fn unit(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id")] _id: ID,
    ) -> async_graphql::Result<Option<Delegated<Unit>>> {
        self.take(ctx)
    }
    /// 年度计划 — The city's plan items. Delegated.
    async fn plan_items(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "filter")] _filter: Option<PlanItemFilterInput>,
        #[graphql(name = "first")] _first: Option<i32>,
        #[graphql(name = "after")] _after: Option<String>,
    ) -> async_graphql::Result<Option<Delegated<PlanItemConnection>>> {
        self.take(ctx)
    }
    /// 指标目录 — The node's copy of the indicator catalogue. Delegated.
    async fn indicators(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Delegated<Vec<Indicator>>>> {
        self.take(ctx)
    }
    /// 指标 — One indicator from the node's catalogue. Delegated.
    async fn indicator(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "code")] _code: String,
    ) -> async_graphql::Result<Option<Delegated<Indicator>>> {
        self.take(ctx)
    }
    /// 目标 — The city's targets. Delegated.
    async fn targets(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "filter")] _filter: Option<MeasureFilterInput>,
        #[graphql(name = "first")] _first: Option<i32>,
        #[graphql(name = "after")] _after: Option<String>,
    ) -> async_graphql::Result<Option<Delegated<TargetConnection>>> {
        self.take(ctx)
    }
    /// 实绩 — The city's actuals. Delegated.
    async fn actuals(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "filter")] _filter: Option<MeasureFilterInput>,
        #[graphql(name = "first")] _first: Option<i32>,
        #[graphql(name = "after")] _after: Option<String>,
    ) -> async_graphql::Result<Option<Delegated<ActualConnection>>> {
        self.take(ctx)
    }
    /// 审计记录 — The city's audit trail (who changed what, when, before and after). Delegated.
    async fn audit_trail(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "entity")] _entity: Option<String>,
        #[graphql(name = "id")] _id: Option<ID>,
        #[graphql(name = "afterSeq")] _after_seq: Option<String>,
        #[graphql(name = "first")] _first: Option<i32>,
    ) -> async_graphql::Result<Option<Delegated<Vec<city_schema::types::AuditEntry>>>> {
        self.take(ctx)
    }
    /// 来源文件 — The city's source documents. Delegated.
    async fn documents(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Delegated<Vec<Document>>>> {
        self.take(ctx)
    }
}

/// The hub's own root fields.
#[derive(Debug, Default)]
pub struct HubQuery;

/// Asks `region` for `doc` through the one core ([`answer::answer`]).
async fn ask(
    ctx: &Context<'_>,
    d: &Cities,
    region: &'static model::Region,
    doc: Option<&Forwarded>,
    consistency: Consistency,
) -> City {
    let code = region.code;
    let node = d.registry.node(code);
    let view = d.replicas.get(&code);
    let access = city_schema::access::access(ctx);
    let caller = answer::Caller {
        access: &access,
        authorization: authorization(ctx),
        consistency,
    };
    let exec = HubCity {
        registry: &d.registry,
        fresh: d.fresh,
        node,
        view,
    };
    let answered = answer::answer(code, &exec, doc, &caller).await;
    City {
        region,
        node: node.cloned(),
        replica: view.map(|v| v.replica.clone()),
        answer: answered.answer,
        freshness: answered.freshness,
    }
}

fn forwarded(ctx: &Context<'_>) -> Option<Forwarded> {
    let fields = delegated_fields(ctx);
    (!fields.is_empty()).then(|| forward(&fields, source(ctx)))
}

/// The hub's own root fields.
#[Object]
impl HubQuery {
    /// 城市列表 — Every city with a registered node (or only `codes`), each answered in
    /// parallel by its own node or the hub's replica of it (`consistency`, default AUTO; each
    /// city's `freshness` says which). A failing node costs only its own fields.
    async fn cities(
        &self,
        ctx: &Context<'_>,
        codes: Option<Vec<String>>,
        #[graphql(default)] consistency: Consistency,
    ) -> async_graphql::Result<Vec<City>> {
        let d = ctx.data::<Cities>()?;
        let regions: Vec<&'static model::Region> = match codes {
            Some(codes) => parse_cities(&codes)?,
            None => d
                .registry
                .nodes()
                .filter_map(|n| model::region::region(n.city))
                .collect(),
        };
        let doc = forwarded(ctx);
        Ok(join_all(
            regions
                .into_iter()
                .map(|r| ask(ctx, d, r, doc.as_ref(), consistency)),
        )
        .await)
    }

    /// 城市 — One city by code, answered by its node or the hub's replica (`consistency`).
    async fn city(
        &self,
        ctx: &Context<'_>,
        code: String,
        #[graphql(default)] consistency: Consistency,
    ) -> async_graphql::Result<City> {
        let d = ctx.data::<Cities>()?;
        let region = parse_city(&code)?;
        let doc = forwarded(ctx);
        Ok(ask(ctx, d, region, doc.as_ref(), consistency).await)
    }

    /// 节点 — Any record by global id, routed to its owner by the id itself: the province's
    /// records are answered here, a city's as `consistency` says (its node, or the hub's
    /// replica of it), with the node's errors re-rooted under this field.
    async fn node(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default)] consistency: Consistency,
    ) -> async_graphql::Result<Option<Delegated<Node>>> {
        let d = ctx.data::<Cities>()?;
        let gid: GlobalId = id.parse().map_err(|e: model::ValidationError| {
            city_schema::error::invalid("id", e.rule, e.message)
        })?;
        // The field as the owner's subgraph knows it: `consistency` is the hub's own.
        let mut item: Positioned<Field> = ctx.item.clone();
        item.node
            .arguments
            .retain(|(name, _)| name.node != "consistency");
        let doc = forward(&[&item], source(ctx));
        if gid.owner != SHANXI {
            let city = gid.owner.city();
            let known = d.registry.node(city).is_some() || d.replicas.contains_key(&city);
            let Some(region) = model::region::region(city)
                .filter(|r| r.level == model::RegionLevel::City && known)
            else {
                return Err(coded(
                    codes::Code::CityNotRegistered,
                    format!(
                        "`{}` names region {}, which has no registered node",
                        id.as_str(),
                        gid.owner
                    ),
                    Some(gid.owner),
                ));
            };
            return ask(ctx, d, region, Some(&doc), consistency).await.take(ctx);
        }
        // The province's own records: the same forwarded document, in process.
        let key = item.node.response_key().node.to_string();
        let req = async_graphql::Request::new(doc.query.clone())
            .variables(async_graphql::Variables::from_json(
                serde_json::Value::Object(doc.variables.clone()),
            ))
            .data(city_schema::access::access(ctx));
        let resp = d.province.execute(req).await;
        let base = crate::delegate::client::response_path(ctx);
        for e in resp.errors {
            let mut e = e;
            // Its path starts at this field's key: re-root it under this field's own path.
            let rest: Vec<async_graphql::PathSegment> = e.path.drain(..).skip(1).collect();
            e.path = base.iter().cloned().chain(rest).collect();
            ctx.add_error(e);
        }
        Ok(match resp.data {
            Value::Object(mut map) => map
                .shift_remove(key.as_str())
                .filter(|v| *v != Value::Null)
                .map(Delegated::new),
            _ => None,
        })
    }
}

/// Builds the hub's schema.
pub fn build_hub_schema(
    store: store::Store,
    delegation: Cities,
    implementing: city_schema::splice::ImplementingSource,
    limits: &serving::GraphqlConfig,
) -> HubSchema {
    async_graphql::Schema::build(HubRoot::default(), city_schema::Mutation, EmptySubscription)
        .data(store)
        .data(implementing)
        .data(delegation)
        .directive(crate::defer_directive::Defer)
        // The same read rule as every node: a document with a query operation needs a caller
        // who may read the province (anonymous only with anonymous reading on; no node token).
        .extension(city_schema::access::AccessRules)
        .extension(crate::delegate::report::FreshnessReporting)
        .extension(serving::validated::KeepValidated::new(VALIDATED_KEPT))
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .finish()
}

/// Validation results each schema keeps (`serving::validated`).
pub(crate) const VALIDATED_KEPT: usize = 256;

/// The hub's SDL (`schema/hub.graphql`): what frontend teams generate clients from.
pub fn hub_sdl() -> String {
    async_graphql::Schema::build(HubRoot::default(), city_schema::Mutation, EmptySubscription)
        .directive(crate::defer_directive::Defer)
        .finish()
        .sdl()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use async_graphql::parser::{
        parse_schema,
        types::{ServiceDocument, TypeKind, TypeSystemDefinition},
    };

    use super::*;

    /// Each field of `type_name`: its arguments and its return type without non-null marks.
    fn fields(doc: &ServiceDocument, type_name: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for def in &doc.definitions {
            let TypeSystemDefinition::Type(t) = def else {
                continue;
            };
            if t.node.name.node.as_str() != type_name {
                continue;
            }
            let TypeKind::Object(o) = &t.node.kind else {
                continue;
            };
            for f in &o.fields {
                let args: Vec<String> = f
                    .node
                    .arguments
                    .iter()
                    .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                    .collect();
                let ty = f.node.ty.node.to_string().replace('!', "");
                out.insert(
                    f.node.name.node.to_string(),
                    format!("({}) -> {ty}", args.join(", ")),
                );
            }
        }
        out
    }

    /// The list of delegated fields and the `City` resolvers cannot drift apart, nor from the
    /// city subgraph they forward to: every `City` field is either the hub's own or in
    /// [`DELEGATED`], and each delegated one is the city subgraph's root field of the same
    /// name, arguments and type.
    #[test]
    fn the_delegated_city_fields_are_the_city_subgraphs_root_fields() {
        let hub = parse_schema(hub_sdl()).unwrap();
        let city = parse_schema(city_schema::sdl()).unwrap();
        let on_city = fields(&hub, "City");
        let root = fields(&city, "Query");
        let own = [
            "code",
            "nameZh",
            "nameEn",
            "region",
            "status",
            "freshness",
            "sync",
            "syncHistory",
        ];
        for (name, signature) in &on_city {
            if own.contains(&name.as_str()) {
                assert!(
                    !DELEGATED.contains(&name.as_str()),
                    "{name} is the hub's own"
                );
                continue;
            }
            assert!(
                DELEGATED.contains(&name.as_str()),
                "City.{name} is neither the hub's own nor in DELEGATED"
            );
            assert_eq!(
                Some(signature),
                root.get(name),
                "City.{name} differs from the city subgraph's Query.{name}"
            );
        }
        for d in DELEGATED {
            assert!(
                on_city.contains_key(*d),
                "DELEGATED lists {d}, which City lacks"
            );
        }
    }
}
