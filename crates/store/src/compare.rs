//! The comparison's SQL: targets and actuals of chosen indicators, grouped by indicator, year
//! (the year the period ends in) and, for drill-down, by institution or unit. The database does
//! the grouping and summing; `model::compare` turns target groups into comparator-aware sums.
//!
//! Rows of programme or institution scope cannot be split further: at a finer level they keep
//! their own scope as the key (`programme:<id>`, `institution:<id>`).

use sea_orm::{FromQueryResult, Statement, Value};

use crate::{Result, Store, error::DbContext};

/// How finely to group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupLevel {
    /// One group per indicator and year.
    City,
    /// Per institution (units grouped under their institution).
    Institution,
    /// Per unit.
    Unit,
}

/// What to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactsQuery {
    /// Indicator codes.
    pub indicators: Vec<String>,
    /// First and last year (inclusive).
    pub years: (i32, i32),
    /// Only these programmes (local ids); empty = all.
    pub programmes: Vec<String>,
    /// Indicators whose values are stocks: within a year only each scope's latest report counts.
    pub latest: Vec<String>,
    /// Grouping.
    pub level: GroupLevel,
    /// Only rows whose scope is of these kinds (`programme`, `component`, `institution`,
    /// `unit`, `region`); empty = all.
    pub kinds: Vec<String>,
}

/// Targets of one comparator in one group.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct TargetGroupRow {
    /// Indicator code.
    pub indicator: String,
    /// Year the period ends in.
    pub year: i32,
    /// Group key (`""` at city level, else `kind:id`).
    pub scope: String,
    /// Comparator.
    pub comparator: String,
    /// Sum and maximum of `value`, `min_value`, `max_value`.
    pub sum_value: Option<f64>,
    /// Maximum of `value`.
    pub max_value: Option<f64>,
    /// Sum of `min_value`.
    pub sum_min: Option<f64>,
    /// Maximum of `min_value`.
    pub max_min: Option<f64>,
    /// Sum of `max_value`.
    pub sum_max: Option<f64>,
    /// Maximum of `max_value`.
    pub max_max: Option<f64>,
    /// Minimum of `value`.
    pub least_value: Option<f64>,
    /// Minimum of `min_value`.
    pub least_min: Option<f64>,
    /// Minimum of `max_value`.
    pub least_max: Option<f64>,
    /// Targets in the group.
    pub n: i64,
    /// The earliest year a target of the group starts in.
    pub first_year: Option<i32>,
    /// The latest year a target of the group is due, each due after the fewest years its
    /// duration allows (its period's end when it states none).
    pub due_min: Option<i32>,
    /// The same, each due after the most years.
    pub due_max: Option<i32>,
}

/// The years a group of targets (`a`) runs over, as `first_year, due_min, due_max`: see
/// [`TargetGroupRow`].
pub(crate) const TARGET_YEARS: &str = "MIN(a.period_start / 100) AS first_year, \
     MAX(COALESCE(a.period_start / 100 + a.duration_min - 1, a.period_end / 100)) AS due_min, \
     MAX(COALESCE(a.period_start / 100 + a.duration_max - 1, a.period_end / 100)) AS due_max";

/// Actuals in one group.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct ActualGroupRow {
    /// Indicator code.
    pub indicator: String,
    /// Year the period ends in.
    pub year: i32,
    /// Group key.
    pub scope: String,
    /// Sum of values.
    pub sum_value: f64,
    /// Largest value.
    pub max_value: f64,
    /// Smallest value.
    pub least_value: f64,
    /// Reports in the group.
    pub n: i64,
}

/// An ambiguous target of the comparison, row by row: its caveat belongs on every cell it
/// takes part in. A target read several ways (`readings`) is not in [`Facts::targets`] at
/// all: its years are open, so each year gets the interval over its readings instead.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct CaveatRow {
    /// The target's local id.
    pub id: String,
    /// Indicator code.
    pub indicator: String,
    /// Group key, as in the groups.
    pub scope: String,
    /// First month (`YYYYMM`).
    pub period_start: i32,
    /// Last month (`YYYYMM`).
    pub period_end: i32,
    /// The readings (JSON), when its years are open.
    pub readings: Option<String>,
    /// Why it is ambiguous.
    pub note: Option<String>,
    /// Cited document.
    pub source_document: Option<String>,
    /// Quoted words.
    pub source_quote: Option<String>,
}

/// True when component `c` is `under` or below it (parent chains are short; the depth bound
/// guards a malformed cycle).
fn below<'a>(
    parent: &std::collections::BTreeMap<&'a str, Option<&'a str>>,
    mut c: Option<&'a str>,
    under: &str,
) -> bool {
    for _ in 0..64 {
        match c {
            Some(x) if x == under => return true,
            Some(x) => c = parent.get(x).copied().flatten(),
            None => return false,
        }
    }
    false
}

/// A programme's or component's target of an indicator that counts units, with the units of
/// that kind named under its scope.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedRow {
    /// The target.
    pub target: crate::entity::target::Model,
    /// Its component's or programme's Chinese name.
    pub scope_name: Option<String>,
    /// The units named: id and Chinese name, in list order.
    pub units: Vec<(String, String)>,
}

/// Both sides of a comparison for one database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// Target groups (targets read several ways left out: see `caveats`).
    pub targets: Vec<TargetGroupRow>,
    /// Actual groups.
    pub actuals: Vec<ActualGroupRow>,
    /// Every ambiguous target taking part, with its note; those read several ways carry
    /// their readings.
    pub caveats: Vec<CaveatRow>,
}

pub(crate) struct Sql {
    pub(crate) postgres: bool,
    pub(crate) values: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(postgres: bool) -> Self {
        Self {
            postgres,
            values: Vec::new(),
        }
    }

    pub(crate) fn param(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        if self.postgres {
            format!("${}", self.values.len())
        } else {
            "?".to_owned()
        }
    }

    pub(crate) fn list(&mut self, items: &[String]) -> String {
        items
            .iter()
            .map(|i| self.param(i.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(crate) fn key(level: GroupLevel, alias: &str) -> String {
    let own = format!("{alias}.scope_kind || ':' || {alias}.scope_id");
    match level {
        GroupLevel::City => "''".to_owned(),
        GroupLevel::Unit => own,
        GroupLevel::Institution => format!(
            "CASE WHEN {alias}.scope_kind = 'unit' AND u.institution_id IS NOT NULL \
             THEN 'institution:' || u.institution_id ELSE {own} END"
        ),
    }
}

/// The shared `FROM … WHERE …` of both queries, for table alias `a` of `table`.
fn from_where(sql: &mut Sql, q: &FactsQuery, table: &str) -> String {
    let indicators = sql.list(&q.indicators);
    let from = sql.param(q.years.0 * 100 + 1);
    let to = sql.param(q.years.1 * 100 + 12);
    // The unit is only needed to find a row's institution or programme; without it the
    // query reads the one table.
    let join = if q.level == GroupLevel::Institution || !q.programmes.is_empty() {
        "LEFT JOIN unit u ON a.scope_kind = 'unit' AND u.id = a.scope_id "
    } else {
        ""
    };
    let mut out = format!(
        "FROM {table} a {join}\
         WHERE a.indicator IN ({indicators}) AND a.period_end >= {from} AND a.period_end <= {to}"
    );
    out.push_str(&kinds(sql, q));
    if !q.programmes.is_empty() {
        let p1 = sql.list(&q.programmes);
        let p2 = sql.list(&q.programmes);
        out.push_str(&format!(
            " AND ((a.scope_kind = 'programme' AND a.scope_id IN ({p1})) OR u.programme_id IN ({p2}))"
        ));
    }
    out
}

/// The scope-kind filter of a query (empty when it keeps every kind).
fn kinds(sql: &mut Sql, q: &FactsQuery) -> String {
    if q.kinds.is_empty() {
        String::new()
    } else {
        format!(" AND a.scope_kind IN ({})", sql.list(&q.kinds))
    }
}

impl Store {
    /// The ambiguous targets of a comparison, one row each: those whose period ends in the
    /// asked years, and those read several ways whose period overlaps them.
    pub(crate) async fn caveats(&self, q: &FactsQuery) -> Result<Vec<CaveatRow>> {
        let backend = self.db.get_database_backend();
        let mut sql = Sql::new(backend == sea_orm::DatabaseBackend::Postgres);
        let k = key(q.level, "a");
        // Parameters bind in order of appearance: the text is built front to back.
        // `ambiguous = TRUE` is spelled as in the partial index `target_ambiguous`, so both
        // databases read the few ambiguous rows only.
        let indicators = sql.list(&q.indicators);
        let from = sql.param(q.years.0 * 100 + 1);
        let to = sql.param(q.years.1 * 100 + 12);
        let to_again = sql.param(q.years.1 * 100 + 12);
        let mut text = format!(
            "SELECT a.id AS id, a.indicator AS indicator, {k} AS scope, \
             a.period_start AS period_start, a.period_end AS period_end, \
             a.readings AS readings, a.note AS note, a.source_document AS source_document, \
             a.source_quote AS source_quote \
             FROM target a LEFT JOIN unit u ON a.scope_kind = 'unit' AND u.id = a.scope_id \
             WHERE a.indicator IN ({indicators}) AND a.ambiguous = TRUE \
             AND a.period_end >= {from} \
             AND (a.period_end <= {to} OR (a.readings IS NOT NULL AND a.period_start <= {to_again}))"
        );
        text.push_str(&kinds(&mut sql, q));
        if !q.programmes.is_empty() {
            let p1 = sql.list(&q.programmes);
            let p2 = sql.list(&q.programmes);
            text.push_str(&format!(
                " AND ((a.scope_kind = 'programme' AND a.scope_id IN ({p1})) OR u.programme_id IN ({p2}))"
            ));
        }
        text.push_str(" ORDER BY a.indicator, a.id");
        CaveatRow::find_by_statement(Statement::from_sql_and_values(backend, text, sql.values))
            .all(&self.db)
            .await
            .ctx("reading ambiguous targets")
    }

    /// `kind:id` → Chinese name of every programme, institution and unit (to label drill-down
    /// rows).
    pub async fn scope_names(&self) -> Result<std::collections::BTreeMap<String, String>> {
        use sea_orm::{EntityTrait, QuerySelect};

        use crate::entity::{component, institution, programme, unit};
        let mut out = std::collections::BTreeMap::new();
        let rows: Vec<(String, String)> = programme::Entity::find()
            .select_only()
            .columns([programme::Column::Id, programme::Column::NameZh])
            .into_tuple()
            .all(&self.db)
            .await
            .ctx("reading programme names")?;
        out.extend(
            rows.into_iter()
                .map(|(id, n)| (format!("programme:{id}"), n)),
        );
        let rows: Vec<(String, String)> = institution::Entity::find()
            .select_only()
            .columns([institution::Column::Id, institution::Column::NameZh])
            .into_tuple()
            .all(&self.db)
            .await
            .ctx("reading institution names")?;
        out.extend(
            rows.into_iter()
                .map(|(id, n)| (format!("institution:{id}"), n)),
        );
        let rows: Vec<(String, String)> = unit::Entity::find()
            .select_only()
            .columns([unit::Column::Id, unit::Column::NameZh])
            .into_tuple()
            .all(&self.db)
            .await
            .ctx("reading unit names")?;
        out.extend(rows.into_iter().map(|(id, n)| (format!("unit:{id}"), n)));
        let rows: Vec<(String, String)> = component::Entity::find()
            .select_only()
            .columns([component::Column::Id, component::Column::NameZh])
            .into_tuple()
            .all(&self.db)
            .await
            .ctx("reading component names")?;
        out.extend(
            rows.into_iter()
                .map(|(id, n)| (format!("component:{id}"), n)),
        );
        Ok(out)
    }

    /// The programme- and component-scoped targets of indicators that count units (`counted`:
    /// indicator code → unit kind, snake_case), whose period ends in `years`, each with the
    /// units of that kind named under its scope: a programme's units, or those of a component
    /// and every component below it. `programmes` (local ids) keeps only theirs when given.
    pub async fn named_units(
        &self,
        counted: &std::collections::BTreeMap<String, String>,
        years: (i32, i32),
        programmes: &[String],
    ) -> Result<Vec<NamedRow>> {
        use std::collections::{BTreeMap, BTreeSet};

        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

        use crate::entity::{component, programme, target, unit};
        if counted.is_empty() {
            return Ok(Vec::new());
        }
        let targets = target::Entity::find()
            .filter(target::Column::Indicator.is_in(counted.keys().cloned()))
            .filter(target::Column::ScopeKind.is_in(["programme", "component"]))
            .filter(target::Column::PeriodEnd.gte(years.0 * 100 + 1))
            .filter(target::Column::PeriodEnd.lte(years.1 * 100 + 12))
            .order_by_asc(target::Column::SortKey)
            .all(&self.db)
            .await
            .ctx("reading targets of counted units")?;
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let components = component::Entity::find()
            .all(&self.db)
            .await
            .ctx("reading components for counted units")?;
        let kinds: BTreeSet<&String> = counted.values().collect();
        let units = unit::Entity::find()
            .filter(unit::Column::Kind.is_in(kinds.into_iter().cloned()))
            .order_by_asc(unit::Column::SortKey)
            .all(&self.db)
            .await
            .ctx("reading counted units")?;
        let parent: BTreeMap<&str, Option<&str>> = components
            .iter()
            .map(|c| (c.id.as_str(), c.parent_id.as_deref()))
            .collect();
        let programme_of: BTreeMap<&str, &str> = components
            .iter()
            .map(|c| (c.id.as_str(), c.programme_id.as_str()))
            .collect();
        let mut out = Vec::new();
        for t in targets {
            let programme = if t.scope_kind == "programme" {
                Some(t.scope_id.as_str())
            } else {
                programme_of.get(t.scope_id.as_str()).copied()
            };
            if !programmes.is_empty()
                && !programme.is_some_and(|p| programmes.iter().any(|w| w == p))
            {
                continue;
            }
            let Some(kind) = counted.get(&t.indicator) else {
                continue;
            };
            let named = units
                .iter()
                .filter(|u| &u.kind == kind)
                .filter(|u| {
                    if t.scope_kind == "programme" {
                        u.programme_id == t.scope_id
                    } else {
                        below(&parent, u.component_id.as_deref(), &t.scope_id)
                    }
                })
                .map(|u| (u.id.clone(), u.name_zh.clone()))
                .collect();
            let scope_name = if t.scope_kind == "component" {
                components
                    .iter()
                    .find(|c| c.id == t.scope_id)
                    .map(|c| c.name_zh.clone())
            } else {
                programme::Entity::find_by_id(t.scope_id.clone())
                    .one(&self.db)
                    .await
                    .ctx("reading a programme's name")?
                    .map(|p| p.name_zh)
            };
            out.push(NamedRow {
                target: t,
                scope_name,
                units: named,
            });
        }
        Ok(out)
    }

    /// Grouped targets and actuals for a comparison, from this database.
    pub async fn comparison_facts(&self, q: &FactsQuery) -> Result<Facts> {
        if q.indicators.is_empty() {
            return Ok(Facts::default());
        }
        let backend = self.db.get_database_backend();
        let postgres = backend == sea_orm::DatabaseBackend::Postgres;

        let mut sql = Sql {
            postgres,
            values: Vec::new(),
        };
        let k = key(q.level, "a");
        // PostgreSQL refuses a constant in GROUP BY: the city level groups by nothing more.
        let group = if q.level == GroupLevel::City {
            String::new()
        } else {
            format!(", {k}")
        };
        let body = format!(
            "{} AND a.readings IS NULL",
            from_where(&mut sql, q, "target")
        );
        let targets_sql = format!(
            "SELECT a.indicator AS indicator, a.period_end / 100 AS year, {k} AS scope, \
             a.comparator AS comparator, \
             SUM(a.value) AS sum_value, MAX(a.value) AS max_value, \
             SUM(a.min_value) AS sum_min, MAX(a.min_value) AS max_min, \
             SUM(a.max_value) AS sum_max, MAX(a.max_value) AS max_max, COUNT(*) AS n, \
             MIN(a.value) AS least_value, MIN(a.min_value) AS least_min, \
             MIN(a.max_value) AS least_max, {TARGET_YEARS} {body} GROUP BY a.indicator, a.period_end / 100{group}, a.comparator"
        );
        let targets = TargetGroupRow::find_by_statement(Statement::from_sql_and_values(
            backend,
            targets_sql,
            sql.values,
        ))
        .all(&self.db)
        .await
        .ctx("grouping targets")?;

        let mut sql = Sql {
            postgres,
            values: Vec::new(),
        };
        let mut body = from_where(&mut sql, q, "actual");
        if !q.latest.is_empty() {
            let latest = sql.list(&q.latest);
            body.push_str(&format!(
                " AND (a.indicator NOT IN ({latest}) OR NOT EXISTS (SELECT 1 FROM actual b \
                 WHERE b.indicator = a.indicator AND b.scope_kind = a.scope_kind \
                 AND b.scope_id = a.scope_id AND b.period_end / 100 = a.period_end / 100 \
                 AND b.period_end > a.period_end))"
            ));
        }
        let actuals_sql = format!(
            "SELECT a.indicator AS indicator, a.period_end / 100 AS year, {k} AS scope, \
             SUM(a.value) AS sum_value, MAX(a.value) AS max_value, \
             MIN(a.value) AS least_value, COUNT(*) AS n \
             {body} GROUP BY a.indicator, a.period_end / 100{group}"
        );
        let actuals = ActualGroupRow::find_by_statement(Statement::from_sql_and_values(
            backend,
            actuals_sql,
            sql.values,
        ))
        .all(&self.db)
        .await
        .ctx("grouping actuals")?;
        let caveats = self.caveats(q).await?;
        Ok(Facts {
            targets,
            actuals,
            caveats,
        })
    }
}
