//! Roll-ups of a replica's targets and actuals, so a city-level (or institution-level)
//! comparison reads a few rows per indicator and year instead of every report of the city.
//!
//! `rollup_target` and `rollup_actual` hold, per indicator × year × programme × drill-down group
//! (the institution of a unit, or the row's own scope when it has none), exactly the sums,
//! maxima and counts [`Store::comparison_facts`] computes — for actuals both over every report
//! and over each scope's latest report of the year (stocks), so the catalogue's aggregation is
//! chosen at read time and a catalogue change never invalidates them.
//!
//! They are maintained only where changes are applied, i.e. in the hub's replicas:
//! - [`Store::apply_changes`] recomputes, in the batch's transaction, every (indicator, year)
//!   the batch touches: the old and new indicator/year of each changed target or actual, and
//!   every indicator/year reported for a changed unit (its programme or institution may have
//!   moved);
//! - [`Store::restore_snapshot`] rebuilds them whole, in the snapshot's transaction;
//! - [`Store::ensure_rollups`] rebuilds them when `meta.rollup.version` is not current (a
//!   replica created before roll-ups existed, or after their definition changed).
//!
//! A node never maintains them: its comparison (if any) uses `comparison_facts`, the reference
//! these tables are tested against.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, Statement,
};

use crate::{
    Result, Store,
    compare::{
        ActualGroupRow, Facts, FactsQuery, GroupLevel, Sql, TARGET_YEARS, TargetGroupRow, key,
    },
    entity::{actual, change_log, meta, target},
    error::DbContext,
};

/// `meta` key recording which definition of the roll-ups a database holds.
pub const ROLLUP_VERSION_KEY: &str = "rollup.version";
/// The current definition; bump it when the roll-ups' SQL changes.
const ROLLUP_VERSION: &str = "4";

/// Indicators to recompute, with their years.
type Affected = BTreeMap<String, BTreeSet<i32>>;

/// Indicators per maintenance statement (each brings its years as parameters).
const INDICATORS_PER_STATEMENT: usize = 50;
/// Ids per lookup statement.
const IDS_PER_STATEMENT: usize = 500;

/// The programme a row belongs to: its own id for programme scope, its unit's programme for
/// unit scope, `''` otherwise (an institution-wide row belongs to no one programme).
const PROGRAMME_KEY: &str = "CASE WHEN a.scope_kind = 'programme' THEN a.scope_id \
     WHEN a.scope_kind = 'unit' AND u.programme_id IS NOT NULL THEN u.programme_id ELSE '' END";

const UNIT_JOIN: &str = "LEFT JOIN unit u ON a.scope_kind = 'unit' AND u.id = a.scope_id";

/// `WHERE` of the rows to (re)compute: every row, or those of the affected indicator/years.
fn rows_where(sql: &mut Sql, affected: Option<&[(&String, &BTreeSet<i32>)]>) -> String {
    let Some(affected) = affected else {
        return String::new();
    };
    let branches: Vec<String> = affected
        .iter()
        .map(|(indicator, years)| {
            let i = sql.param((*indicator).clone());
            let lo = sql.param(years.first().copied().unwrap_or(0) * 100 + 1);
            let hi = sql.param(years.last().copied().unwrap_or(0) * 100 + 12);
            let list = years
                .iter()
                .map(|y| sql.param(*y))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "(a.indicator = {i} AND a.period_end >= {lo} AND a.period_end <= {hi} \
                 AND a.period_end / 100 IN ({list}))"
            )
        })
        .collect();
    format!("WHERE ({})", branches.join(" OR "))
}

/// `WHERE` of the roll-up rows to drop before recomputing.
fn rollup_where(sql: &mut Sql, affected: Option<&[(&String, &BTreeSet<i32>)]>) -> String {
    let Some(affected) = affected else {
        return String::new();
    };
    let branches: Vec<String> = affected
        .iter()
        .map(|(indicator, years)| {
            let i = sql.param((*indicator).clone());
            let list = years
                .iter()
                .map(|y| sql.param(*y))
                .collect::<Vec<_>>()
                .join(", ");
            format!("(indicator = {i} AND year IN ({list}))")
        })
        .collect();
    format!("WHERE {}", branches.join(" OR "))
}

async fn run(txn: &impl ConnectionTrait, sql: Sql, text: String, what: &'static str) -> Result<()> {
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        text,
        sql.values,
    ))
    .await
    .ctx(what)?;
    Ok(())
}

/// Drops and recomputes the roll-up rows of `affected` (all rows when `None`).
async fn recompute(
    txn: &DatabaseTransaction,
    affected: Option<&[(&String, &BTreeSet<i32>)]>,
) -> Result<()> {
    let postgres = txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let group = key(GroupLevel::Institution, "a");
    for table in ["rollup_target", "rollup_actual"] {
        let mut sql = Sql::new(postgres);
        let w = rollup_where(&mut sql, affected);
        run(
            txn,
            sql,
            format!("DELETE FROM {table} {w}"),
            "dropping stale roll-ups",
        )
        .await?;
    }

    // A target read several ways has open years: it belongs to no one year's roll-up.
    let mut sql = Sql::new(postgres);
    let w = match rows_where(&mut sql, affected) {
        w if w.is_empty() => "WHERE a.readings IS NULL".to_owned(),
        w => format!("{w} AND a.readings IS NULL"),
    };
    let text = format!(
        "INSERT INTO rollup_target (indicator, year, programme, grp, comparator, sum_value, \
         max_value, sum_min, max_min, sum_max, max_max, n, least_value, least_min, least_max, \
         first_year, due_min, due_max) \
         SELECT a.indicator, a.period_end / 100, {PROGRAMME_KEY}, {group}, a.comparator, \
         SUM(a.value), MAX(a.value), SUM(a.min_value), MAX(a.min_value), SUM(a.max_value), \
         MAX(a.max_value), COUNT(*), MIN(a.value), MIN(a.min_value), MIN(a.max_value), \
         {TARGET_YEARS} \
         FROM target a {UNIT_JOIN} {w} GROUP BY 1, 2, 3, 4, 5"
    );
    run(txn, sql, text, "rolling up targets").await?;

    // `last`: no later report of the same indicator and scope in the same year.
    let mut sql = Sql::new(postgres);
    let w = rows_where(&mut sql, affected);
    let text = format!(
        "INSERT INTO rollup_actual (indicator, year, programme, grp, sum_value, max_value, \
         least_value, n, latest_sum, latest_max, latest_least, latest_n) \
         SELECT a.indicator, a.period_end / 100, {PROGRAMME_KEY}, {group}, \
         SUM(a.value), MAX(a.value), MIN(a.value), COUNT(*), \
         SUM(CASE WHEN a.last = 1 THEN a.value ELSE 0 END), \
         MAX(CASE WHEN a.last = 1 THEN a.value END), \
         MIN(CASE WHEN a.last = 1 THEN a.value END), \
         SUM(a.last) \
         FROM (SELECT a.indicator, a.scope_kind, a.scope_id, a.period_end, a.value, \
               CASE WHEN EXISTS (SELECT 1 FROM actual b WHERE b.indicator = a.indicator \
                   AND b.scope_kind = a.scope_kind AND b.scope_id = a.scope_id \
                   AND b.period_end / 100 = a.period_end / 100 \
                   AND b.period_end > a.period_end) THEN 0 ELSE 1 END AS last \
               FROM actual a {w}) a {UNIT_JOIN} GROUP BY 1, 2, 3, 4"
    );
    run(txn, sql, text, "rolling up actuals").await
}

async fn recompute_affected(txn: &DatabaseTransaction, affected: &Affected) -> Result<()> {
    let all: Vec<(&String, &BTreeSet<i32>)> =
        affected.iter().filter(|(_, y)| !y.is_empty()).collect();
    for chunk in all.chunks(INDICATORS_PER_STATEMENT) {
        recompute(txn, Some(chunk)).await?;
    }
    Ok(())
}

/// Rebuilds every roll-up row and records the definition, inside `txn`.
pub(crate) async fn rebuild(txn: &DatabaseTransaction) -> Result<()> {
    recompute(txn, None).await?;
    crate::writes::set_meta(txn, ROLLUP_VERSION_KEY, ROLLUP_VERSION).await
}

/// What a batch of changes touches, gathered before it is applied (the old rows are still
/// there) and recomputed after.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    affected: Affected,
    units: BTreeSet<String>,
}

impl Touched {
    /// Reads the old indicator/year of every target and actual `changes` name and the new ones
    /// from their payloads; remembers changed units.
    pub(crate) async fn before(
        txn: &DatabaseTransaction,
        changes: &[&change_log::Model],
    ) -> Result<Self> {
        let mut out = Self::default();
        let mut targets = Vec::new();
        let mut actuals = Vec::new();
        for c in changes {
            match c.entity.as_str() {
                "target" => targets.push(c.entity_id.clone()),
                "actual" => actuals.push(c.entity_id.clone()),
                "unit" => {
                    out.units.insert(c.entity_id.clone());
                    continue;
                }
                _ => continue,
            }
            // The new side; a payload that does not parse fails the apply itself.
            if let Some(row) = c
                .payload
                .as_deref()
                .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
                && let (Some(i), Some(end)) = (
                    row.get("indicator").and_then(|v| v.as_str()),
                    row.get("period_end").and_then(serde_json::Value::as_i64),
                )
                && let Ok(end) = i32::try_from(end)
            {
                out.add(i, end / 100);
            }
        }
        out.add_stored::<target::Entity>(
            txn,
            &targets,
            [
                target::Column::Id,
                target::Column::Indicator,
                target::Column::PeriodEnd,
            ],
            "reading the targets a batch changes",
        )
        .await?;
        out.add_stored::<actual::Entity>(
            txn,
            &actuals,
            [
                actual::Column::Id,
                actual::Column::Indicator,
                actual::Column::PeriodEnd,
            ],
            "reading the actuals a batch changes",
        )
        .await?;
        Ok(out)
    }

    /// Adds the (indicator, year) the stored rows `ids` of `E` have now (before the batch
    /// writes them). `columns`: id, indicator, period end.
    async fn add_stored<E: EntityTrait>(
        &mut self,
        txn: &DatabaseTransaction,
        ids: &[String],
        [id, indicator, period_end]: [E::Column; 3],
        what: &'static str,
    ) -> Result<()> {
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let old: Vec<(String, i32)> = E::find()
                .select_only()
                .columns([indicator, period_end])
                .filter(id.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(txn)
                .await
                .ctx(what)?;
            for (i, end) in old {
                self.add(&i, end / 100);
            }
        }
        Ok(())
    }

    fn add(&mut self, indicator: &str, year: i32) {
        self.affected
            .entry(indicator.to_owned())
            .or_default()
            .insert(year);
    }

    /// After the batch's rows are written: adds what changed units carry, recomputes.
    pub(crate) async fn recompute(mut self, txn: &DatabaseTransaction) -> Result<()> {
        let units: Vec<String> = self.units.iter().cloned().collect();
        for chunk in units.chunks(IDS_PER_STATEMENT) {
            let rows: Vec<(String, i32)> = target::Entity::find()
                .select_only()
                .columns([target::Column::Indicator, target::Column::PeriodEnd])
                .filter(target::Column::ScopeKind.eq("unit"))
                .filter(target::Column::ScopeId.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(txn)
                .await
                .ctx("reading the targets of changed units")?;
            let more: Vec<(String, i32)> = actual::Entity::find()
                .select_only()
                .columns([actual::Column::Indicator, actual::Column::PeriodEnd])
                .filter(actual::Column::ScopeKind.eq("unit"))
                .filter(actual::Column::ScopeId.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(txn)
                .await
                .ctx("reading the actuals of changed units")?;
            for (i, end) in rows.into_iter().chain(more) {
                self.add(&i, end / 100);
            }
        }
        recompute_affected(txn, &self.affected).await
    }
}

impl Store {
    /// Rebuilds the roll-ups unless they are current; returns whether it rebuilt. The hub calls
    /// it on every replica at start.
    pub async fn ensure_rollups(&self) -> Result<bool> {
        let current = meta::Entity::find_by_id(ROLLUP_VERSION_KEY.to_owned())
            .one(&self.db)
            .await
            .ctx("reading the roll-up version")?;
        if current.is_some_and(|m| m.value == ROLLUP_VERSION) {
            return Ok(false);
        }
        let txn = self.begin().await?;
        rebuild(&txn).await?;
        txn.commit().await.ctx("committing rebuilt roll-ups")?;
        Ok(true)
    }

    /// The same groups as [`Store::comparison_facts`], read from the roll-ups (city and
    /// institution level; the unit level reads the rows themselves). Only meaningful on a
    /// store whose roll-ups are maintained — a replica.
    pub async fn rollup_facts(&self, q: &FactsQuery) -> Result<Facts> {
        // The roll-ups keep no scope kinds: a query by kind reads the rows themselves.
        if q.level == GroupLevel::Unit || !q.kinds.is_empty() {
            return self.comparison_facts(q).await;
        }
        if q.indicators.is_empty() {
            return Ok(Facts::default());
        }
        let backend = self.db.get_database_backend();
        let postgres = backend == sea_orm::DatabaseBackend::Postgres;
        let (scope, group) = if q.level == GroupLevel::City {
            ("''", "")
        } else {
            ("grp", ", grp")
        };
        let filter = |sql: &mut Sql| {
            let indicators = sql.list(&q.indicators);
            let from = sql.param(q.years.0);
            let to = sql.param(q.years.1);
            let mut w =
                format!("WHERE indicator IN ({indicators}) AND year >= {from} AND year <= {to}");
            if !q.programmes.is_empty() {
                let p = sql.list(&q.programmes);
                w.push_str(&format!(" AND programme IN ({p})"));
            }
            w
        };

        let mut sql = Sql::new(postgres);
        let w = filter(&mut sql);
        let text = format!(
            "SELECT indicator, year, {scope} AS scope, comparator, \
             SUM(sum_value) AS sum_value, MAX(max_value) AS max_value, \
             SUM(sum_min) AS sum_min, MAX(max_min) AS max_min, \
             SUM(sum_max) AS sum_max, MAX(max_max) AS max_max, CAST(SUM(n) AS BIGINT) AS n, \
             MIN(least_value) AS least_value, MIN(least_min) AS least_min, \
             MIN(least_max) AS least_max, MIN(first_year) AS first_year, MAX(due_min) AS due_min, MAX(due_max) AS due_max \
             FROM rollup_target {w} GROUP BY indicator, year{group}, comparator"
        );
        let targets = TargetGroupRow::find_by_statement(Statement::from_sql_and_values(
            backend, text, sql.values,
        ))
        .all(&self.db);

        // `?` parameters bind in order of appearance: the text is built front to back.
        let mut sql = Sql::new(postgres);
        let text = if q.latest.is_empty() {
            let w = filter(&mut sql);
            format!(
                "SELECT indicator, year, {scope} AS scope, SUM(sum_value) AS sum_value, \
                 MAX(max_value) AS max_value, MIN(least_value) AS least_value, \
                 CAST(SUM(n) AS BIGINT) AS n \
                 FROM rollup_actual {w} GROUP BY indicator, year{group}"
            )
        } else {
            let l1 = sql.list(&q.latest);
            let l2 = sql.list(&q.latest);
            let l4 = sql.list(&q.latest);
            let l3 = sql.list(&q.latest);
            let w = filter(&mut sql);
            format!(
                "SELECT indicator, year, {scope} AS scope, \
                 SUM(CASE WHEN indicator IN ({l1}) THEN latest_sum ELSE sum_value END) AS sum_value, \
                 MAX(CASE WHEN indicator IN ({l2}) THEN latest_max ELSE max_value END) AS max_value, \
                 MIN(CASE WHEN indicator IN ({l4}) THEN latest_least ELSE least_value END) \
                 AS least_value, \
                 CAST(SUM(CASE WHEN indicator IN ({l3}) THEN latest_n ELSE n END) AS BIGINT) AS n \
                 FROM rollup_actual {w} GROUP BY indicator, year{group}"
            )
        };
        let actuals = ActualGroupRow::find_by_statement(Statement::from_sql_and_values(
            backend, text, sql.values,
        ))
        .all(&self.db);
        // The three reads go out at once, each on a connection of its own: a request waits
        // for the slowest, not for their sum.
        let (targets, actuals, caveats) = tokio::join!(targets, actuals, self.caveats(q));
        let targets = targets.ctx("reading target roll-ups")?;
        let actuals = actuals.ctx("reading actual roll-ups")?;
        let caveats = caveats?;
        Ok(Facts {
            targets,
            actuals,
            caveats,
        })
    }
}
