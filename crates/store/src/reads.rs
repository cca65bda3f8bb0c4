//! Reads: lookups by id and filtered, keyset-paginated lists. Filters are plain structs so the
//! GraphQL layers stay thin and the queries can be tested without GraphQL.

use model::{PlanCategory, RegionCode, Scope, UnitKind};
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Expr, ExprTrait, Query},
};

use crate::{
    Page, PageRequest, Result, Store,
    entity::{
        actual, component, document, indicator, institution, plan_item, programme, target, unit,
    },
    error::DbContext,
    page::encode_cursor,
};

/// A row with a unique list-order key.
pub trait Keyed {
    /// The `sort_key` column's value.
    fn sort_key(&self) -> &str;
}

macro_rules! keyed {
    ($($m:path),*) => {$(impl Keyed for $m { fn sort_key(&self) -> &str { &self.sort_key } })*};
}
keyed!(
    programme::Model,
    component::Model,
    institution::Model,
    unit::Model,
    plan_item::Model,
    target::Model,
    actual::Model
);

/// Which units to list.
#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    /// Only units of this programme (local id).
    pub programme: Option<String>,
    /// Only units at this institution (local id).
    pub institution: Option<String>,
    /// Only units of this component (local id).
    pub component: Option<String>,
    /// Only units of this kind.
    pub kind: Option<UnitKind>,
}

/// Which plan items to list.
#[derive(Debug, Clone, Default)]
pub struct PlanItemFilter {
    /// Only items of this unit (local id).
    pub unit: Option<String>,
    /// Only items of units of this programme (local id).
    pub programme: Option<String>,
    /// Only items whose period overlaps this year.
    pub year: Option<i32>,
    /// Only items of this category.
    pub category: Option<PlanCategory>,
    /// Only ambiguous (or only clear) items.
    pub ambiguous: Option<bool>,
}

/// Which targets or actuals to list.
#[derive(Debug, Clone, Default)]
pub struct MeasureFilter {
    /// Only values of this indicator.
    pub indicator: Option<String>,
    /// Only values for this scope.
    pub scope: Option<Scope>,
    /// Only values whose period overlaps this year.
    pub year: Option<i32>,
    /// Only the rows of this published table (targets only: actuals are never rows of one,
    /// and ignore it). Each row carries its `table_row`.
    pub table: Option<String>,
}

/// Which institutions to list.
#[derive(Debug, Clone, Default)]
pub struct InstitutionFilter {
    /// Only institutions in this region or its sub-regions.
    pub region: Option<RegionCode>,
}

fn overlaps_year<C: ColumnTrait>(start: C, end: C, year: i32) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(start.lte(year * 100 + 12))
        .add(end.gte(year * 100 + 1))
}

/// Runs `select` as one keyset page ordered by `key`.
async fn paginate<E>(
    store: &Store,
    select: Select<E>,
    key: E::Column,
    req: &PageRequest,
) -> Result<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Keyed + Send + Sync,
{
    let (limit, after) = req.resolve()?;
    let total_count = select
        .clone()
        .count(&store.db)
        .await
        .ctx("counting a list")?;
    let mut q = select.order_by_asc(key);
    if let Some(after) = after {
        q = q.filter(key.gt(after));
    }
    let mut items = q
        .limit(limit + 1)
        .all(&store.db)
        .await
        .ctx("reading a list page")?;
    let has_next_page = items.len() as u64 > limit;
    items.truncate(limit as usize);
    let cursors = items.iter().map(|i| encode_cursor(i.sort_key())).collect();
    Ok(Page {
        items,
        cursors,
        has_next_page,
        total_count,
    })
}

impl Store {
    /// All source documents.
    pub async fn documents(&self) -> Result<Vec<document::Model>> {
        document::Entity::find()
            .order_by_asc(document::Column::Id)
            .all(&self.db)
            .await
            .ctx("listing documents")
    }

    /// One source document.
    pub async fn document(&self, id: &str) -> Result<Option<document::Model>> {
        document::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .ctx("reading a document")
    }

    /// The indicator catalogue, by code.
    pub async fn indicators(&self) -> Result<Vec<indicator::Model>> {
        indicator::Entity::find()
            .order_by_asc(indicator::Column::Code)
            .all(&self.db)
            .await
            .ctx("listing indicators")
    }

    /// One indicator.
    pub async fn indicator(&self, code: &str) -> Result<Option<indicator::Model>> {
        indicator::Entity::find_by_id(code.to_owned())
            .one(&self.db)
            .await
            .ctx("reading an indicator")
    }

    /// Programmes, by start of period.
    pub async fn programmes(&self, page: &PageRequest) -> Result<Page<programme::Model>> {
        paginate(
            self,
            programme::Entity::find(),
            programme::Column::SortKey,
            page,
        )
        .await
    }

    /// How many programmes run in some month of the years `from..=to`.
    pub async fn programmes_overlapping(&self, from: i32, to: i32) -> Result<u64> {
        programme::Entity::find()
            .filter(programme::Column::PeriodStart.lte(to * 100 + 12))
            .filter(programme::Column::PeriodEnd.gte(from * 100 + 1))
            .count(&self.db)
            .await
            .ctx("counting programmes in a span")
    }

    /// One programme.
    pub async fn programme(&self, id: &str) -> Result<Option<programme::Model>> {
        programme::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .ctx("reading a programme")
    }

    /// Programmes whose parent is `parent` (a global id).
    pub async fn programmes_implementing(&self, parent: &str) -> Result<Vec<programme::Model>> {
        programme::Entity::find()
            .filter(programme::Column::Parent.eq(parent))
            .order_by_asc(programme::Column::SortKey)
            .all(&self.db)
            .await
            .ctx("listing child programmes")
    }

    /// Components of a programme; with `parent = Some(None)` only top-level ones, with
    /// `Some(Some(id))` only the children of `id`, with `None` all of them.
    pub async fn components(
        &self,
        programme: &str,
        parent: Option<Option<&str>>,
    ) -> Result<Vec<component::Model>> {
        let mut q = component::Entity::find().filter(component::Column::ProgrammeId.eq(programme));
        q = match parent {
            None => q,
            Some(None) => q.filter(component::Column::ParentId.is_null()),
            Some(Some(p)) => q.filter(component::Column::ParentId.eq(p)),
        };
        q.order_by_asc(component::Column::SortKey)
            .all(&self.db)
            .await
            .ctx("listing components")
    }

    /// One component.
    pub async fn component(&self, id: &str) -> Result<Option<component::Model>> {
        component::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .ctx("reading a component")
    }

    /// Institutions.
    pub async fn institutions(
        &self,
        filter: &InstitutionFilter,
        page: &PageRequest,
    ) -> Result<Page<institution::Model>> {
        let mut q = institution::Entity::find();
        if let Some(r) = filter.region {
            q = q.filter(region_condition(institution::Column::Region, r));
        }
        paginate(self, q, institution::Column::SortKey, page).await
    }

    /// One institution.
    pub async fn institution(&self, id: &str) -> Result<Option<institution::Model>> {
        institution::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .ctx("reading an institution")
    }

    /// Units.
    pub async fn units(
        &self,
        filter: &UnitFilter,
        page: &PageRequest,
    ) -> Result<Page<unit::Model>> {
        let mut q = unit::Entity::find();
        if let Some(p) = &filter.programme {
            q = q.filter(unit::Column::ProgrammeId.eq(p.as_str()));
        }
        if let Some(i) = &filter.institution {
            q = q.filter(unit::Column::InstitutionId.eq(i.as_str()));
        }
        if let Some(c) = &filter.component {
            q = q.filter(unit::Column::ComponentId.eq(c.as_str()));
        }
        if let Some(k) = filter.kind {
            q = q.filter(unit::Column::Kind.eq(crate::writes::unit_kind_str(k)));
        }
        paginate(self, q, unit::Column::SortKey, page).await
    }

    /// One unit.
    pub async fn unit(&self, id: &str) -> Result<Option<unit::Model>> {
        unit::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .ctx("reading a unit")
    }

    /// Plan items.
    pub async fn plan_items(
        &self,
        filter: &PlanItemFilter,
        page: &PageRequest,
    ) -> Result<Page<plan_item::Model>> {
        let mut q = plan_item::Entity::find();
        if let Some(u) = &filter.unit {
            q = q.filter(plan_item::Column::UnitId.eq(u.as_str()));
        }
        if let Some(p) = &filter.programme {
            let units = Query::select()
                .column(unit::Column::Id)
                .from(unit::Entity)
                .and_where(Expr::col(unit::Column::ProgrammeId).eq(p.as_str()))
                .to_owned();
            q = q.filter(plan_item::Column::UnitId.in_subquery(units));
        }
        if let Some(y) = filter.year {
            q = q.filter(overlaps_year(
                plan_item::Column::PeriodStart,
                plan_item::Column::PeriodEnd,
                y,
            ));
        }
        if let Some(c) = filter.category {
            q = q.filter(plan_item::Column::Category.eq(c.as_str()));
        }
        if let Some(a) = filter.ambiguous {
            q = q.filter(plan_item::Column::Ambiguous.eq(a));
        }
        paginate(self, q, plan_item::Column::SortKey, page).await
    }

    /// One plan item.
    pub async fn plan_item(&self, id: &str) -> Result<Option<plan_item::Model>> {
        plan_item::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .ctx("reading a plan item")
    }

    /// Targets.
    pub async fn targets(
        &self,
        filter: &MeasureFilter,
        page: &PageRequest,
    ) -> Result<Page<target::Model>> {
        let mut q = target::Entity::find();
        if let Some(i) = &filter.indicator {
            q = q.filter(target::Column::Indicator.eq(i.as_str()));
        }
        if let Some(s) = &filter.scope {
            q = q
                .filter(target::Column::ScopeKind.eq(s.kind.as_str()))
                .filter(target::Column::ScopeId.eq(s.id.as_str()));
        }
        if let Some(y) = filter.year {
            q = q.filter(overlaps_year(
                target::Column::PeriodStart,
                target::Column::PeriodEnd,
                y,
            ));
        }
        if let Some(t) = &filter.table {
            q = q.filter(target::Column::PublishedTable.eq(t.as_str()));
        }
        paginate(self, q, target::Column::SortKey, page).await
    }

    /// One target.
    pub async fn target(&self, id: &str) -> Result<Option<target::Model>> {
        target::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .ctx("reading a target")
    }

    /// Actuals.
    pub async fn actuals(
        &self,
        filter: &MeasureFilter,
        page: &PageRequest,
    ) -> Result<Page<actual::Model>> {
        let mut q = actual::Entity::find();
        if let Some(i) = &filter.indicator {
            q = q.filter(actual::Column::Indicator.eq(i.as_str()));
        }
        if let Some(s) = &filter.scope {
            q = q
                .filter(actual::Column::ScopeKind.eq(s.kind.as_str()))
                .filter(actual::Column::ScopeId.eq(s.id.as_str()));
        }
        if let Some(y) = filter.year {
            q = q.filter(overlaps_year(
                actual::Column::PeriodStart,
                actual::Column::PeriodEnd,
                y,
            ));
        }
        paginate(self, q, actual::Column::SortKey, page).await
    }

    /// One actual.
    pub async fn actual(&self, id: &str) -> Result<Option<actual::Model>> {
        actual::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .ctx("reading an actual")
    }
}

/// Matches a region and everything under it (a city matches its counties).
fn region_condition<C: ColumnTrait>(col: C, r: RegionCode) -> sea_orm::Condition {
    let code = r.to_string();
    if r.is_province() {
        sea_orm::Condition::all().add(col.starts_with(&code[..2]))
    } else if r.city() == r {
        sea_orm::Condition::all().add(col.starts_with(&code[..4]))
    } else {
        sea_orm::Condition::all().add(col.eq(code))
    }
}
