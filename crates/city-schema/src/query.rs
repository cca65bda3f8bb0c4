//! Root query fields and the federation entity resolvers. Resolvers stay thin: parse ids, call
//! the store, wrap rows.

use async_graphql::{Context, ID, Interface, Object};
use model::{EntityKind, GlobalId, RegionCode};
use store::PageRequest;

use crate::{
    connection::{
        ActualConnection, InstitutionConnection, PlanItemConnection, ProgrammeConnection,
        TargetConnection, UnitConnection,
    },
    enums,
    error::{GqlResult, StoreResultExt, invalid},
    inputs::{MeasureFilterInput, PlanItemFilterInput, UnitFilterInput, local_id},
    types::{
        Actual, Component, Document, Indicator, Institution, PlanItem, Programme, Region, Target,
        Unit, store,
    },
};

/// 节点 — Anything with a global id; `node(id:)` fetches it.
#[derive(Interface, Debug, Clone)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "全局标识 — Global id (`Kind:owner:local`)."
))]
pub enum Node {
    /// A programme.
    Programme(Programme),
    /// A component.
    Component(Component),
    /// An institution.
    Institution(Institution),
    /// A unit.
    Unit(Unit),
    /// A plan item.
    PlanItem(PlanItem),
    /// A target.
    Target(Target),
    /// An actual.
    Actual(Actual),
}

/// Root queries of the programme model (everything but `node`).
#[derive(Debug, Default)]
pub struct ProgrammeQuery;

/// The `node(id:)` root field of a subgraph: ids this server owns.
#[derive(Debug, Default)]
pub struct NodeQuery;

/// The subgraph's root queries.
#[derive(async_graphql::MergedObject, Debug, Default)]
#[graphql(shareable)]
pub struct Query(ProgrammeQuery, NodeQuery);

/// Looks up a global id owned by `owner`; ids of other owners are `None`.
pub async fn find_node(
    ctx: &Context<'_>,
    id: &GlobalId,
    owner: RegionCode,
) -> GqlResult<Option<Node>> {
    if id.owner != owner {
        return Ok(None);
    }
    let s = store(ctx)?;
    let l = id.local.as_str();
    Ok(match id.kind {
        EntityKind::Programme => s
            .programme(l)
            .await
            .gql()?
            .map(|r| Node::Programme(Programme(r, owner))),
        EntityKind::Component => s
            .component(l)
            .await
            .gql()?
            .map(|r| Node::Component(Component(r, owner))),
        EntityKind::Institution => s
            .institution(l)
            .await
            .gql()?
            .map(|r| Node::Institution(Institution(r, owner))),
        EntityKind::Unit => s.unit(l).await.gql()?.map(|r| Node::Unit(Unit(r, owner))),
        EntityKind::PlanItem => s
            .plan_item(l)
            .await
            .gql()?
            .map(|r| Node::PlanItem(PlanItem(r, owner))),
        EntityKind::Target => s
            .target(l)
            .await
            .gql()?
            .map(|r| Node::Target(Target(r, owner))),
        EntityKind::Actual => {
            crate::access::access(ctx)
                .principal
                .private()
                .map_err(|r| crate::access::refused(&r))?;
            s.actual(l)
                .await
                .gql()?
                .map(|r| Node::Actual(Actual(r, owner)))
        }
        EntityKind::Document => None,
    })
}

fn parse_gid(field: &str, id: &ID) -> GqlResult<GlobalId> {
    id.parse()
        .map_err(|e: model::ValidationError| invalid(field, e.rule, e.message))
}

#[Object(shareable)]
impl NodeQuery {
    /// 节点 — Any record by global id; null when this server does not own it or it does not exist.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Node>> {
        let gid = parse_gid("id", &id)?;
        find_node(ctx, &gid, store(ctx)?.owner()).await
    }
}

/// Root queries of the programme model.
#[Object(shareable)]
impl ProgrammeQuery {
    /// 本服务所属行政区 — The region whose data this server owns (140000 for the province hub).
    async fn owner(&self, ctx: &Context<'_>) -> GqlResult<Option<Region>> {
        Ok(model::region::region(store(ctx)?.owner()).map(Region))
    }

    /// 行政区 — A region by GB/T 2260 code.
    async fn region(&self, code: String) -> GqlResult<Option<Region>> {
        let code: RegionCode = code
            .parse()
            .map_err(|e: model::ValidationError| invalid("code", e.rule, e.message))?;
        Ok(model::region::region(code).map(Region))
    }

    /// 行政区列表 — Shanxi, its 11 cities and Linfen's 17 counties; optionally one level.
    async fn regions(&self, level: Option<enums::RegionLevel>) -> Vec<Region> {
        let level: Option<model::RegionLevel> = level.map(Into::into);
        model::region::REGIONS
            .iter()
            .filter(|r| level.is_none_or(|l| r.level == l))
            .map(Region)
            .collect()
    }

    /// 项目列表 — Programmes owned by this server.
    async fn programmes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ProgrammeConnection> {
        let s = store(ctx)?;
        let page = s.programmes(&PageRequest { first, after }).await.gql()?;
        Ok(ProgrammeConnection::from_page(page, |p| {
            Programme(p, s.owner())
        }))
    }

    /// 项目 — One programme by global id.
    async fn programme(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Programme>> {
        let s = store(ctx)?;
        let local = local_id("id", &id, EntityKind::Programme, s.owner())?;
        Ok(s.programme(&local)
            .await
            .gql()?
            .map(|p| Programme(p, s.owner())))
    }

    /// 实施某项目的下级项目 — Programmes here that implement or follow the programme `parentId`
    /// (which may be owned by another server, e.g. the province's 136).
    async fn programmes_implementing(
        &self,
        ctx: &Context<'_>,
        parent_id: ID,
    ) -> GqlResult<Vec<Programme>> {
        parse_gid("parentId", &parent_id)?;
        let s = store(ctx)?;
        Ok(s.programmes_implementing(parent_id.as_str())
            .await
            .gql()?
            .into_iter()
            .map(|p| Programme(p, s.owner()))
            .collect())
    }

    /// 机构列表 — Institutions, optionally within a region (a city includes its counties).
    async fn institutions(
        &self,
        ctx: &Context<'_>,
        region: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<InstitutionConnection> {
        let s = store(ctx)?;
        let region = region
            .map(|r| {
                r.parse::<RegionCode>()
                    .map_err(|e| invalid("region", e.rule, e.message))
            })
            .transpose()?;
        let page = s
            .institutions(
                &store::InstitutionFilter { region },
                &PageRequest { first, after },
            )
            .await
            .gql()?;
        Ok(InstitutionConnection::from_page(page, |i| {
            Institution(i, s.owner())
        }))
    }

    /// 机构 — One institution by global id.
    async fn institution(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Institution>> {
        let s = store(ctx)?;
        let local = local_id("id", &id, EntityKind::Institution, s.owner())?;
        Ok(s.institution(&local)
            .await
            .gql()?
            .map(|i| Institution(i, s.owner())))
    }

    /// 建设单元列表 — Units, filtered by programme, institution, component or kind.
    async fn units(
        &self,
        ctx: &Context<'_>,
        filter: Option<UnitFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<UnitConnection> {
        let s = store(ctx)?;
        let f = filter.unwrap_or_default().into_store(s.owner())?;
        let page = s.units(&f, &PageRequest { first, after }).await.gql()?;
        Ok(UnitConnection::from_page(page, |u| Unit(u, s.owner())))
    }

    /// 建设单元 — One unit by global id.
    async fn unit(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Unit>> {
        let s = store(ctx)?;
        let local = local_id("id", &id, EntityKind::Unit, s.owner())?;
        Ok(s.unit(&local).await.gql()?.map(|u| Unit(u, s.owner())))
    }

    /// 年度计划 — Plan items, by unit, programme, year, category, ambiguity.
    async fn plan_items(
        &self,
        ctx: &Context<'_>,
        filter: Option<PlanItemFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<PlanItemConnection> {
        let s = store(ctx)?;
        let f = filter.unwrap_or_default().into_store(s.owner())?;
        let page = s
            .plan_items(&f, &PageRequest { first, after })
            .await
            .gql()?;
        Ok(PlanItemConnection::from_page(page, |p| {
            PlanItem(p, s.owner())
        }))
    }

    /// 指标目录 — The indicator catalogue.
    async fn indicators(&self, ctx: &Context<'_>) -> GqlResult<Vec<Indicator>> {
        Ok(store(ctx)?
            .indicators()
            .await
            .gql()?
            .into_iter()
            .map(Indicator)
            .collect())
    }

    /// 指标 — One indicator by code.
    async fn indicator(&self, ctx: &Context<'_>, code: String) -> GqlResult<Option<Indicator>> {
        Ok(store(ctx)?.indicator(&code).await.gql()?.map(Indicator))
    }

    /// 目标 — Targets, by indicator, year and scope.
    async fn targets(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<TargetConnection> {
        let s = store(ctx)?;
        let f = filter.unwrap_or_default().into_store(s.owner())?;
        let page = s.targets(&f, &PageRequest { first, after }).await.gql()?;
        Ok(TargetConnection::from_page(page, |t| Target(t, s.owner())))
    }

    /// 实绩 — Actuals, by indicator, year and scope.
    #[graphql(guard = "crate::access::Private")]
    async fn actuals(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ActualConnection> {
        let s = store(ctx)?;
        let f = filter.unwrap_or_default().into_store(s.owner())?;
        let page = s.actuals(&f, &PageRequest { first, after }).await.gql()?;
        Ok(ActualConnection::from_page(page, |a| Actual(a, s.owner())))
    }

    /// 审计记录 — The audit trail: every accepted write (and the seed import), oldest first,
    /// with who made it, when, and the record before and after. Optionally only one table
    /// (`entity`: `unit`, `plan_item`, `target`, `actual` …) or one record (`id`, a global id).
    /// `afterSeq` pages on (the last `seq` seen); at most `first` (default 50, max 200).
    #[graphql(guard = "crate::access::Private")]
    async fn audit_trail(
        &self,
        ctx: &Context<'_>,
        entity: Option<String>,
        id: Option<ID>,
        after_seq: Option<String>,
        first: Option<i32>,
    ) -> GqlResult<Vec<crate::types::AuditEntry>> {
        let s = store(ctx)?;
        let local = match &id {
            Some(id) => {
                let gid: model::GlobalId = id.parse().map_err(|e: model::ValidationError| {
                    crate::error::invalid("id", e.rule, e.message)
                })?;
                if gid.owner != s.owner() {
                    return Err(crate::error::invalid(
                        "id",
                        "WRONG_OWNER",
                        format!(
                            "`{}` belongs to {}, not this server",
                            id.as_str(),
                            gid.owner
                        ),
                    ));
                }
                Some((crate::types::table_of(gid.kind), gid.local))
            }
            None => None,
        };
        let after: i64 = match after_seq.as_deref() {
            None => 0,
            Some(t) => t.parse().map_err(|_| {
                crate::error::invalid("afterSeq", "NOT_A_NUMBER", "afterSeq is a sequence number")
            })?,
        };
        let limit = u64::try_from(first.unwrap_or(50).clamp(1, 200)).unwrap_or(50);
        let table = local.as_ref().map(|(t, _)| *t).or(entity.as_deref());
        Ok(
            s.audit_trail(table, local.as_ref().map(|(_, l)| l.as_str()), after, limit)
                .await
                .gql()?
                .into_iter()
                .map(|e| crate::types::AuditEntry(e, s.owner()))
                .collect(),
        )
    }

    /// 拒绝记录 — Refused write attempts on this server, newest first (who, when, which
    /// mutation with its arguments, and why): for `province_admin` and this city's
    /// `city_admin`. At most `first` (default 50, max 500).
    #[graphql(guard = "crate::access::Admin")]
    async fn refused_writes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> GqlResult<Vec<crate::types::RefusedWrite>> {
        let first = u64::try_from(first.unwrap_or(50).clamp(1, 500)).unwrap_or(50);
        Ok(store(ctx)?
            .refusals(first)
            .await
            .gql()?
            .into_iter()
            .map(crate::types::RefusedWrite)
            .collect())
    }

    /// 来源文件 — Source documents cited by this server's data.
    async fn documents(&self, ctx: &Context<'_>) -> GqlResult<Vec<Document>> {
        Ok(store(ctx)?
            .documents()
            .await
            .gql()?
            .into_iter()
            .map(Document)
            .collect())
    }

    #[graphql(entity)]
    async fn find_programme_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> GqlResult<Option<Programme>> {
        match find_node(ctx, &parse_gid("id", &id)?, store(ctx)?.owner()).await? {
            Some(Node::Programme(p)) => Ok(Some(p)),
            _ => Ok(None),
        }
    }

    #[graphql(entity)]
    async fn find_institution_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> GqlResult<Option<Institution>> {
        match find_node(ctx, &parse_gid("id", &id)?, store(ctx)?.owner()).await? {
            Some(Node::Institution(i)) => Ok(Some(i)),
            _ => Ok(None),
        }
    }

    #[graphql(entity)]
    async fn find_unit_by_id(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Unit>> {
        match find_node(ctx, &parse_gid("id", &id)?, store(ctx)?.owner()).await? {
            Some(Node::Unit(u)) => Ok(Some(u)),
            _ => Ok(None),
        }
    }
}
