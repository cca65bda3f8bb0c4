//! Writes. Each public write validates its input (the model's rules plus the rows it refers
//! to), then commits in one transaction; on any error nothing is written. Updates replace the
//! whole record and may carry the version the caller read (optimistic concurrency). Deletes
//! refuse while other records still refer to the target.
//!
//! [`Store::import`] bulk-loads already-checked records (the seed) in one transaction.

use std::collections::BTreeMap;

use model::{
    Actual, Comparator, Component, Document, Indicator, Institution, PlanCategory, PlanItem,
    Programme, ScopeKind, Target, Unit, UnitKind, Violations,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, Set, TransactionTrait,
};

use crate::{
    Error, Result, Store,
    changes::{self, Op},
    entity::{
        actual, component, document, indicator, institution, meta, plan_item, programme, target,
        unit,
    },
    error::DbContext,
    yyyymm,
};

/// What [`Store::import_actuals`] does (or, on a dry run, would do) with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportAction {
    /// A new actual.
    Create,
    /// A new value for an actual already recorded for the same indicator, scope and period.
    Update,
    /// The same value is already recorded.
    Unchanged,
}

/// One row's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRowOutcome {
    /// What it does.
    pub action: ImportAction,
    /// Why it is refused (empty when it is fine).
    pub violations: Violations,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOutcome {
    /// Per row, in input order.
    pub rows: Vec<ImportRowOutcome>,
    /// Rows written (0 on a dry run or when any row is refused).
    pub written: usize,
    /// True when the import was committed.
    pub committed: bool,
}

/// A row with a version (bumped on every write).
pub(crate) trait Versioned {
    /// The stored version.
    fn version(&self) -> i32;
}

macro_rules! versioned {
    ($($m:path),*) => {$(impl Versioned for $m { fn version(&self) -> i32 { self.version } })*};
}
versioned!(unit::Model, plan_item::Model, target::Model, actual::Model);

/// Records to load in one transaction (see [`Store::import`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportBatch<'a> {
    /// Source documents.
    pub documents: &'a [Document],
    /// Catalogue entries.
    pub indicators: &'a [Indicator],
    /// Programmes.
    pub programmes: &'a [Programme],
    /// Components.
    pub components: &'a [Component],
    /// Institutions.
    pub institutions: &'a [Institution],
    /// Units.
    pub units: &'a [Unit],
    /// Plan items (ids filled in).
    pub plan_items: &'a [PlanItem],
    /// Targets (ids filled in).
    pub targets: &'a [Target],
    /// Actuals (ids filled in).
    pub actuals: &'a [Actual],
}

pub(crate) fn unit_kind_str(k: UnitKind) -> &'static str {
    match k {
        UnitKind::Specialty => "specialty",
        UnitKind::KeyLab => "key_lab",
        UnitKind::Centre => "centre",
        UnitKind::Team => "team",
        UnitKind::Workstation => "workstation",
    }
}

/// Snake-case text of a serde enum (our enums serialise as plain strings).
fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Turns free text into a local-id slug: `Cardiology (Central)` → `cardiology-central`.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let out: String = out.chars().take(60).collect();
    if out.is_empty() {
        "item".to_owned()
    } else {
        out
    }
}

fn source_cols(s: &Option<model::Source>) -> (Option<String>, Option<String>) {
    match s {
        Some(s) => (Some(s.document.clone()), Some(s.quote.clone())),
        None => (None, None),
    }
}

pub(crate) fn document_row(d: &model::Document) -> document::ActiveModel {
    document::ActiveModel {
        id: Set(d.id.clone()),
        doc_number: Set(d.doc_number.clone()),
        title: Set(d.title.clone()),
        issuer: Set(d.issuer.clone()),
        issued_on: Set(d.issued_on.clone()),
        file: Set(d.file.clone()),
    }
}

pub(crate) fn programme_row(p: &Programme, version: i32) -> programme::ActiveModel {
    programme::ActiveModel {
        id: Set(p.id.clone()),
        name_zh: Set(p.name_zh.clone()),
        name_en: Set(p.name_en.clone()),
        issuer: Set(p.issuer.clone()),
        doc_number: Set(p.doc_number.clone()),
        issued_on: Set(p.issued_on.clone()),
        period: Set(p.period.to_string()),
        period_start: Set(yyyymm(p.period.start)),
        period_end: Set(yyyymm(p.period.end)),
        relation: Set(p.relation.as_ref().map(enum_str)),
        parent: Set(p.parent.clone()),
        summary_zh: Set(p.summary_zh.clone()),
        summary_en: Set(p.summary_en.clone()),
        note: Set(p.note.clone()),
        source_document: Set(Some(p.source.document.clone())),
        source_quote: Set(Some(p.source.quote.clone())),
        sort_key: Set(format!("{}|{}", yyyymm(p.period.start), p.id)),
        version: Set(version),
    }
}

pub(crate) fn component_row(c: &Component, version: i32) -> component::ActiveModel {
    let (sd, sq) = source_cols(&c.source);
    component::ActiveModel {
        id: Set(c.id.clone()),
        programme_id: Set(c.programme.clone()),
        parent_id: Set(c.parent.clone()),
        kind: Set(enum_str(&c.kind)),
        ordinal: Set(c.ordinal),
        name_zh: Set(c.name_zh.clone()),
        name_en: Set(c.name_en.clone()),
        description_zh: Set(c.description_zh.clone()),
        source_document: Set(sd),
        source_quote: Set(sq),
        sort_key: Set(format!("{}|{:04}|{}", c.programme, c.ordinal, c.id)),
        version: Set(version),
    }
}

pub(crate) fn institution_row(i: &Institution, version: i32) -> institution::ActiveModel {
    let (sd, sq) = source_cols(&i.source);
    institution::ActiveModel {
        id: Set(i.id.clone()),
        region: Set(i.region.to_string()),
        name_zh: Set(i.name_zh.clone()),
        name_en: Set(i.name_en.clone()),
        aliases: Set(serde_json::to_string(&i.aliases).unwrap_or_else(|_| "[]".to_owned())),
        source_document: Set(sd),
        source_quote: Set(sq),
        sort_key: Set(format!("{}|{}", i.region, i.id)),
        version: Set(version),
    }
}

pub(crate) fn indicator_row(i: &Indicator, version: i32) -> indicator::ActiveModel {
    indicator::ActiveModel {
        code: Set(i.code.clone()),
        name_zh: Set(i.name_zh.clone()),
        name_en: Set(i.name_en.clone()),
        unit: Set(i.unit.clone()),
        value_type: Set(enum_str(&i.value_type)),
        aggregation: Set(enum_str(&i.aggregation)),
        over_scopes: Set(enum_str(&i.over_scopes)),
        description_zh: Set(i.description_zh.clone()),
        formula: Set(i
            .formula
            .as_ref()
            .and_then(|f| serde_json::to_string(f).ok())),
        counts_units: Set(i.counts_units.as_ref().map(enum_str)),
        version: Set(version),
    }
}

pub(crate) fn unit_row(u: &Unit, version: i32) -> unit::ActiveModel {
    let (sd, sq) = source_cols(&u.source);
    unit::ActiveModel {
        id: Set(u.id.clone()),
        programme_id: Set(u.programme.clone()),
        component_id: Set(u.component.clone()),
        institution_id: Set(u.institution.clone()),
        kind: Set(unit_kind_str(u.kind).to_owned()),
        name_zh: Set(u.name_zh.clone()),
        name_en: Set(u.name_en.clone()),
        target_level: Set(u.target_level.clone()),
        target_year: Set(u.target_year),
        milestones: Set(milestones_col(&u.milestones)),
        note: Set(u.note.clone()),
        source_document: Set(sd),
        source_quote: Set(sq),
        sort_key: Set(format!("{}|{}", u.programme, u.id)),
        version: Set(version),
    }
}

pub(crate) fn plan_item_row(id: &str, p: &PlanItem, version: i32) -> plan_item::ActiveModel {
    let (sd, sq) = source_cols(&p.source);
    let ordinal = PlanCategory::ALL
        .iter()
        .position(|c| *c == p.category)
        .unwrap_or(0);
    plan_item::ActiveModel {
        id: Set(id.to_owned()),
        unit_id: Set(p.unit.clone()),
        period: Set(p.period.to_string()),
        period_start: Set(yyyymm(p.period.start)),
        period_end: Set(yyyymm(p.period.end)),
        category: Set(p.category.as_str().to_owned()),
        text: Set(p.text.clone()),
        ambiguous: Set(p.ambiguous),
        note: Set(p.note.clone()),
        source_document: Set(sd),
        source_quote: Set(sq),
        sort_key: Set(format!(
            "{}|{}|{}|{ordinal:02}|{id}",
            p.unit,
            yyyymm(p.period.start),
            yyyymm(p.period.end)
        )),
        version: Set(version),
    }
}

pub(crate) fn measure_sort_key(
    kind: ScopeKind,
    scope: &str,
    indicator: &str,
    period: model::Period,
    id: &str,
) -> String {
    format!(
        "{}|{scope}|{indicator}|{}|{}|{id}",
        kind.as_str(),
        yyyymm(period.start),
        yyyymm(period.end)
    )
}

/// The `milestones` column: canonical JSON of a unit's milestones, none when there are none.
pub(crate) fn milestones_col(milestones: &[model::Milestone]) -> Option<String> {
    if milestones.is_empty() {
        return None;
    }
    // Serialising plain structs of a number and a string cannot fail.
    serde_json::to_string(milestones).ok()
}

/// The milestones stored in a `milestones` column.
pub fn milestones_of(
    col: Option<&str>,
) -> std::result::Result<Vec<model::Milestone>, serde_json::Error> {
    col.map_or(Ok(Vec::new()), serde_json::from_str)
}

/// The `readings` column: canonical JSON of the readings, none when there are none.
pub(crate) fn readings_col(readings: &[model::Reading]) -> Option<String> {
    if readings.is_empty() {
        return None;
    }
    // Serialising plain structs of numbers cannot fail.
    serde_json::to_string(readings).ok()
}

/// The readings stored in a `readings` column.
pub fn readings_of(
    col: Option<&str>,
) -> std::result::Result<Vec<model::Reading>, serde_json::Error> {
    col.map_or(Ok(Vec::new()), serde_json::from_str)
}

pub(crate) fn target_row(id: &str, t: &Target, version: i32) -> target::ActiveModel {
    let (sd, sq) = source_cols(&t.source);
    target::ActiveModel {
        id: Set(id.to_owned()),
        indicator: Set(t.indicator.clone()),
        scope_kind: Set(t.scope.kind.as_str().to_owned()),
        scope_id: Set(t.scope.id.clone()),
        period: Set(t.period.to_string()),
        period_start: Set(yyyymm(t.period.start)),
        period_end: Set(yyyymm(t.period.end)),
        comparator: Set(t.value.comparator.as_str().to_owned()),
        value: Set(t.value.value),
        min_value: Set(t.value.min),
        max_value: Set(t.value.max),
        unit: Set(t.unit.clone()),
        qualifier: Set(t.qualifier.clone()),
        ambiguous: Set(t.ambiguous),
        note: Set(t.note.clone()),
        source_document: Set(sd),
        source_quote: Set(sq),
        readings: Set(readings_col(&t.readings)),
        published_table: Set(t.table.clone()),
        table_row: Set(t.table_row),
        duration_min: Set(t.duration.map(|d| d.min_years)),
        duration_max: Set(t.duration.map(|d| d.max_years)),
        sort_key: Set(measure_sort_key(
            t.scope.kind,
            &t.scope.id,
            &t.indicator,
            t.period,
            id,
        )),
        version: Set(version),
    }
}

pub(crate) fn actual_row(id: &str, a: &Actual, version: i32) -> actual::ActiveModel {
    let (sd, sq) = source_cols(&a.source);
    actual::ActiveModel {
        id: Set(id.to_owned()),
        indicator: Set(a.indicator.clone()),
        scope_kind: Set(a.scope.kind.as_str().to_owned()),
        scope_id: Set(a.scope.id.clone()),
        period: Set(a.period.to_string()),
        period_start: Set(yyyymm(a.period.start)),
        period_end: Set(yyyymm(a.period.end)),
        value: Set(a.value),
        unit: Set(a.unit.clone()),
        note: Set(a.note.clone()),
        source_document: Set(sd),
        source_quote: Set(sq),
        sort_key: Set(measure_sort_key(
            a.scope.kind,
            &a.scope.id,
            &a.indicator,
            a.period,
            id,
        )),
        version: Set(version),
    }
}

/// The model value of a stored indicator.
pub fn indicator_model(m: &indicator::Model) -> Result<Indicator> {
    fn parse<T: serde::de::DeserializeOwned>(
        m: &indicator::Model,
        field: &str,
        v: &str,
    ) -> Result<T> {
        serde_json::from_value(serde_json::Value::String(v.to_owned())).map_err(|e| {
            Error::Corrupt {
                kind: "indicator",
                id: m.code.clone(),
                detail: format!("{field}: {e}"),
            }
        })
    }
    Ok(Indicator {
        code: m.code.clone(),
        name_zh: m.name_zh.clone(),
        name_en: m.name_en.clone(),
        unit: m.unit.clone(),
        value_type: parse(m, "value_type", &m.value_type)?,
        aggregation: parse(m, "aggregation", &m.aggregation)?,
        over_scopes: parse(m, "over_scopes", &m.over_scopes)?,
        description_zh: m.description_zh.clone(),
        formula: formula_of(&m.code, m.formula.as_deref())?,
        counts_units: m
            .counts_units
            .as_deref()
            .map(|k| parse(m, "counts_units", k))
            .transpose()?,
    })
}

/// A target's stored duration read back: both bounds or neither.
pub fn duration_of(
    min: Option<i32>,
    max: Option<i32>,
) -> std::result::Result<Option<model::Duration>, String> {
    match (min, max) {
        (Some(min_years), Some(max_years)) => Ok(Some(model::Duration {
            min_years,
            max_years,
        })),
        (None, None) => Ok(None),
        _ => Err("a duration has both bounds or neither".to_owned()),
    }
}

/// A stored formula read back (`None` for a reported indicator).
pub fn formula_of(code: &str, json: Option<&str>) -> Result<Option<model::Formula>> {
    json.map(|j| {
        serde_json::from_str(j).map_err(|e| Error::Corrupt {
            kind: "indicator",
            id: code.to_owned(),
            detail: format!("formula: {e}"),
        })
    })
    .transpose()
}

pub(crate) async fn set_meta(db: &impl ConnectionTrait, key: &str, value: &str) -> Result<()> {
    let row = meta::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value.to_owned()),
    };
    meta::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(meta::Column::Key)
                .update_column(meta::Column::Value)
                .to_owned(),
        )
        .exec(db)
        .await
        .ctx("writing meta")?;
    Ok(())
}

/// Picks `base`, or `base-2`, `base-3` … whichever is free in `E`'s id column.
async fn fresh_id<E>(txn: &DatabaseTransaction, base: &str, id_col: E::Column) -> Result<String>
where
    E: EntityTrait,
    E::Model: Sync,
{
    for n in 1..1000 {
        let candidate = if n == 1 {
            base.to_owned()
        } else {
            format!("{base}-{n}")
        };
        let taken = E::find()
            .filter(id_col.eq(candidate.as_str()))
            .count(txn)
            .await
            .ctx("checking an id")?;
        if taken == 0 {
            return Ok(candidate);
        }
    }
    Err(Error::Conflict {
        kind: "record",
        id: base.to_owned(),
    })
}

/// The programme period a unit's dates must lie in; records a violation if the programme is
/// missing.
async fn programme_period(
    txn: &DatabaseTransaction,
    id: &str,
    field: &str,
    v: &mut Violations,
) -> Result<Option<model::Period>> {
    let Some(p) = programme::Entity::find_by_id(id.to_owned())
        .one(txn)
        .await
        .ctx("reading a programme")?
    else {
        v.push(
            field,
            "UNKNOWN_REFERENCE",
            format!("programme `{id}` does not exist"),
        );
        return Ok(None);
    };
    Ok(p.period.parse().ok())
}

async fn exists<E>(txn: &DatabaseTransaction, id: &str) -> Result<bool>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    Ok(E::find_by_id(id.to_owned())
        .one(txn)
        .await
        .ctx("checking a reference")?
        .is_some())
}

/// Checks everything a unit refers to, and the model's rules.
async fn check_unit(txn: &DatabaseTransaction, u: &Unit) -> Result<()> {
    let mut v = Violations::new();
    let period = programme_period(txn, &u.programme, "programme", &mut v).await?;
    if let Some(c) = &u.component {
        match component::Entity::find_by_id(c.clone())
            .one(txn)
            .await
            .ctx("reading a component")?
        {
            None => v.push(
                "component",
                "UNKNOWN_REFERENCE",
                format!("component `{c}` does not exist"),
            ),
            Some(row) if row.programme_id != u.programme => v.push(
                "component",
                "WRONG_PROGRAMME",
                format!("component `{c}` belongs to another programme"),
            ),
            Some(_) => {}
        }
    }
    if let Some(i) = &u.institution
        && !exists::<institution::Entity>(txn, i).await?
    {
        v.push(
            "institution",
            "UNKNOWN_REFERENCE",
            format!("institution `{i}` does not exist"),
        );
    }
    let mut own = u.validate(period);
    own.0.retain(|e| e.field != "id");
    v.0.extend(own.0);
    v.into_result().map_err(Error::Invalid)
}

async fn check_plan_item(txn: &DatabaseTransaction, p: &PlanItem) -> Result<()> {
    let mut v = Violations::new();
    let period = match unit::Entity::find_by_id(p.unit.clone())
        .one(txn)
        .await
        .ctx("reading a unit")?
    {
        None => {
            v.push(
                "unit",
                "UNKNOWN_REFERENCE",
                format!("unit `{}` does not exist", p.unit),
            );
            None
        }
        Some(u) => programme_period(txn, &u.programme_id, "unit", &mut v).await?,
    };
    v.0.extend(p.validate(period).0);
    v.into_result().map_err(Error::Invalid)
}

/// Resolves a measure's indicator and scope, returning the programme period its dates must
/// lie in (for programme and unit scopes).
async fn check_measure_refs(
    txn: &DatabaseTransaction,
    indicator_code: &str,
    scope: &model::Scope,
    v: &mut Violations,
) -> Result<(Option<Indicator>, Option<model::Period>)> {
    let ind = match indicator::Entity::find_by_id(indicator_code.to_owned())
        .one(txn)
        .await
        .ctx("reading an indicator")?
    {
        None => {
            v.push(
                "indicator",
                "UNKNOWN_REFERENCE",
                format!("indicator `{indicator_code}` is not in the catalogue"),
            );
            None
        }
        Some(m) => Some(indicator_model(&m)?),
    };
    let id = scope.id.as_str();
    let period = match scope.kind {
        ScopeKind::Programme => programme_period(txn, id, "scope.id", v).await?,
        ScopeKind::Unit => match unit::Entity::find_by_id(id.to_owned())
            .one(txn)
            .await
            .ctx("reading a unit")?
        {
            None => {
                v.push(
                    "scope.id",
                    "UNKNOWN_REFERENCE",
                    format!("unit `{id}` does not exist"),
                );
                None
            }
            Some(u) => programme_period(txn, &u.programme_id, "scope.id", v).await?,
        },
        ScopeKind::Component => {
            if !exists::<component::Entity>(txn, id).await? {
                v.push(
                    "scope.id",
                    "UNKNOWN_REFERENCE",
                    format!("component `{id}` does not exist"),
                );
            }
            None
        }
        ScopeKind::Institution => {
            if !exists::<institution::Entity>(txn, id).await? {
                v.push(
                    "scope.id",
                    "UNKNOWN_REFERENCE",
                    format!("institution `{id}` does not exist"),
                );
            }
            None
        }
        ScopeKind::Region => {
            if id
                .parse::<model::RegionCode>()
                .ok()
                .and_then(model::region::region)
                .is_none()
            {
                v.push(
                    "scope.id",
                    "UNKNOWN_REFERENCE",
                    format!("region `{id}` is not known"),
                );
            }
            None
        }
    };
    Ok((ind, period))
}

async fn check_target(txn: &DatabaseTransaction, t: &Target) -> Result<()> {
    let mut v = Violations::new();
    let (ind, period) = check_measure_refs(txn, &t.indicator, &t.scope, &mut v).await?;
    v.0.extend(t.validate(ind.as_ref(), period).0);
    v.into_result().map_err(Error::Invalid)
}

/// Checks an entry against the catalogue it joins: a composite's operands exist and fit it,
/// and no composite already computed from this indicator is broken by the change (its operands
/// must keep their unit of measure, aggregation and additivity, and never come to include it).
async fn check_catalogue_entry(txn: &DatabaseTransaction, i: &Indicator) -> Result<()> {
    let rows = indicator::Entity::find()
        .all(txn)
        .await
        .ctx("reading the catalogue")?;
    let mut catalogue = BTreeMap::new();
    for m in &rows {
        catalogue.insert(m.code.clone(), indicator_model(m)?);
    }
    catalogue.insert(i.code.clone(), i.clone());
    let lookup = |code: &str| catalogue.get(code);
    let mut v = Violations::new();
    for entry in catalogue.values() {
        let Some(f) = &entry.formula else { continue };
        let touches = entry.code == i.code || f.operands().iter().any(|(c, _)| *c == i.code);
        if !touches {
            continue;
        }
        for mut e in f.validate(entry, &lookup).0 {
            if entry.code != i.code {
                e.message = format!("composite `{}` would break: {}", entry.code, e.message);
            }
            v.0.push(e);
        }
    }
    v.into_result().map_err(Error::Invalid)
}

async fn check_actual(txn: &DatabaseTransaction, a: &Actual) -> Result<()> {
    let mut v = Violations::new();
    let (ind, period) = check_measure_refs(txn, &a.indicator, &a.scope, &mut v).await?;
    v.0.extend(a.validate(ind.as_ref(), period).0);
    v.into_result().map_err(Error::Invalid)
}

fn check_version(kind: &'static str, id: &str, expected: Option<i32>, current: i32) -> Result<()> {
    match expected {
        Some(e) if e != current => Err(Error::Stale {
            kind,
            id: id.to_owned(),
            expected: e,
            current,
        }),
        _ => Ok(()),
    }
}

impl Store {
    /// Starts a write transaction and takes the writers' lock first: a no-op update of the
    /// change-sequence row. On SQLite this makes the transaction a writer before it reads (a
    /// reader upgrading to writer mid-transaction fails with SQLITE_BUSY instead of waiting);
    /// on PostgreSQL it queues writers on the row. Either way writers run one at a time, which
    /// is what a gap-free change sequence needs.
    pub(crate) async fn begin(&self) -> Result<DatabaseTransaction> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        crate::changes::lock_writers(&txn).await?;
        Ok(txn)
    }

    /// Deletes a record nothing else refers to, checking the caller's version, and appends its
    /// tombstone to the change log in the same transaction.
    async fn delete_versioned<E>(
        &self,
        id: &str,
        expected_version: Option<i32>,
        kind: &'static str,
        table: &'static str,
    ) -> Result<E::Model>
    where
        E: EntityTrait,
        E::Model: Versioned + Sync,
        <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
    {
        let txn = self.begin().await?;
        let Some(current) = E::find_by_id(id.to_owned())
            .one(&txn)
            .await
            .ctx("reading a record to delete")?
        else {
            return Err(Error::NotFound {
                kind,
                id: id.to_owned(),
            });
        };
        check_version(kind, id, expected_version, current.version())?;
        E::delete_by_id(id.to_owned())
            .exec(&txn)
            .await
            .ctx("deleting a record")?;
        changes::record(
            &txn,
            self.actor.as_deref(),
            table,
            id,
            Op::Delete,
            current.version() + 1,
            None::<&()>,
        )
        .await?;
        txn.commit().await.ctx("committing a delete")?;
        Ok(current)
    }

    /// Creates a unit; an empty `id` gets a slug of its English name.
    pub async fn create_unit(&self, mut u: Unit) -> Result<unit::Model> {
        let txn = self.begin().await?;
        check_unit(&txn, &u).await?;
        if u.id.is_empty() {
            u.id = fresh_id::<unit::Entity>(&txn, &slugify(&u.name_en), unit::Column::Id).await?;
        } else if !model::id::valid_local_id(&u.id) {
            return Err(Error::Invalid(Violations(vec![
                model::ValidationError::new("id", "BAD_ID", "must be a local id slug"),
            ])));
        } else if exists::<unit::Entity>(&txn, &u.id).await? {
            return Err(Error::Conflict {
                kind: "unit",
                id: u.id,
            });
        }
        let row = unit_row(&u, 1).insert(&txn).await.ctx("inserting a unit")?;
        changes::record(
            &txn,
            self.actor.as_deref(),
            "unit",
            &row.id,
            Op::Upsert,
            row.version,
            Some(&row),
        )
        .await?;
        txn.commit().await.ctx("committing a unit")?;
        Ok(row)
    }

    /// Replaces a unit.
    pub async fn update_unit(
        &self,
        id: &str,
        mut u: Unit,
        expected_version: Option<i32>,
    ) -> Result<unit::Model> {
        let txn = self.begin().await?;
        let current = unit::Entity::find_by_id(id.to_owned())
            .one(&txn)
            .await
            .ctx("reading a unit")?;
        let Some(current) = current else {
            return Err(Error::NotFound {
                kind: "unit",
                id: id.to_owned(),
            });
        };
        check_version("unit", id, expected_version, current.version)?;
        u.id = id.to_owned();
        check_unit(&txn, &u).await?;
        let row = unit_row(&u, current.version + 1)
            .update(&txn)
            .await
            .ctx("updating a unit")?;
        changes::record(
            &txn,
            self.actor.as_deref(),
            "unit",
            &row.id,
            Op::Upsert,
            row.version,
            Some(&row),
        )
        .await?;
        txn.commit().await.ctx("committing a unit")?;
        Ok(row)
    }

    /// Deletes a unit that nothing refers to any more.
    pub async fn delete_unit(
        &self,
        id: &str,
        expected_version: Option<i32>,
    ) -> Result<unit::Model> {
        let txn = self.begin().await?;
        let Some(current) = unit::Entity::find_by_id(id.to_owned())
            .one(&txn)
            .await
            .ctx("reading a unit")?
        else {
            return Err(Error::NotFound {
                kind: "unit",
                id: id.to_owned(),
            });
        };
        check_version("unit", id, expected_version, current.version)?;
        let items = plan_item::Entity::find()
            .filter(plan_item::Column::UnitId.eq(id))
            .count(&txn)
            .await
            .ctx("counting plan items")?;
        let targets = target::Entity::find()
            .filter(target::Column::ScopeKind.eq("unit"))
            .filter(target::Column::ScopeId.eq(id))
            .count(&txn)
            .await
            .ctx("counting targets")?;
        let actuals = actual::Entity::find()
            .filter(actual::Column::ScopeKind.eq("unit"))
            .filter(actual::Column::ScopeId.eq(id))
            .count(&txn)
            .await
            .ctx("counting actuals")?;
        if items + targets + actuals > 0 {
            return Err(Error::Invalid(Violations(vec![
                model::ValidationError::new(
                    "id",
                    "HAS_DEPENDENTS",
                    format!(
                        "unit `{id}` still has {items} plan item(s), {targets} target(s) and {actuals} actual(s); delete them first"
                    ),
                ),
            ])));
        }
        unit::Entity::delete_by_id(id.to_owned())
            .exec(&txn)
            .await
            .ctx("deleting a unit")?;
        changes::record(
            &txn,
            self.actor.as_deref(),
            "unit",
            id,
            Op::Delete,
            current.version + 1,
            None::<&()>,
        )
        .await?;
        txn.commit().await.ctx("committing a delete")?;
        Ok(current)
    }

    /// Creates or replaces a catalogue indicator (the province owns the catalogue; it flows
    /// down to every node). Pass `expected_version` to refuse if someone else wrote first.
    pub async fn put_indicator(
        &self,
        i: Indicator,
        expected_version: Option<i32>,
    ) -> Result<indicator::Model> {
        let v = i.validate();
        if !v.is_empty() {
            return Err(Error::Invalid(v));
        }
        let txn = self.begin().await?;
        check_catalogue_entry(&txn, &i).await?;
        let current = indicator::Entity::find_by_id(i.code.clone())
            .one(&txn)
            .await
            .ctx("reading an indicator")?;
        let row = match current {
            Some(c) => {
                check_version("indicator", &i.code, expected_version, c.version)?;
                indicator_row(&i, c.version + 1)
                    .update(&txn)
                    .await
                    .ctx("updating an indicator")?
            }
            None => indicator_row(&i, 1)
                .insert(&txn)
                .await
                .ctx("creating an indicator")?,
        };
        changes::record(
            &txn,
            self.actor.as_deref(),
            "indicator",
            &row.code,
            Op::Upsert,
            row.version,
            Some(&row),
        )
        .await?;
        txn.commit().await.ctx("committing an indicator")?;
        Ok(row)
    }

    /// Creates a plan item; without an id it gets `{unit}-{period}-{category}`.
    pub async fn create_plan_item(&self, p: PlanItem) -> Result<plan_item::Model> {
        let txn = self.begin().await?;
        check_plan_item(&txn, &p).await?;
        let id = match &p.id {
            Some(id) if !model::id::valid_local_id(id) => {
                return Err(Error::Invalid(Violations(vec![
                    model::ValidationError::new("id", "BAD_ID", "must be a local id slug"),
                ])));
            }
            Some(id) if exists::<plan_item::Entity>(&txn, id).await? => {
                return Err(Error::Conflict {
                    kind: "plan item",
                    id: id.clone(),
                });
            }
            Some(id) => id.clone(),
            None => {
                fresh_id::<plan_item::Entity>(&txn, &p.derived_id(), plan_item::Column::Id).await?
            }
        };
        let row = plan_item_row(&id, &p, 1)
            .insert(&txn)
            .await
            .ctx("inserting a plan item")?;
        changes::record(
            &txn,
            self.actor.as_deref(),
            "plan_item",
            &row.id,
            Op::Upsert,
            row.version,
            Some(&row),
        )
        .await?;
        txn.commit().await.ctx("committing a plan item")?;
        Ok(row)
    }

    /// Replaces a plan item.
    pub async fn update_plan_item(
        &self,
        id: &str,
        p: PlanItem,
        expected_version: Option<i32>,
    ) -> Result<plan_item::Model> {
        let txn = self.begin().await?;
        let Some(current) = plan_item::Entity::find_by_id(id.to_owned())
            .one(&txn)
            .await
            .ctx("reading a plan item")?
        else {
            return Err(Error::NotFound {
                kind: "plan item",
                id: id.to_owned(),
            });
        };
        check_version("plan item", id, expected_version, current.version)?;
        check_plan_item(&txn, &p).await?;
        let row = plan_item_row(id, &p, current.version + 1)
            .update(&txn)
            .await
            .ctx("updating a plan item")?;
        changes::record(
            &txn,
            self.actor.as_deref(),
            "plan_item",
            &row.id,
            Op::Upsert,
            row.version,
            Some(&row),
        )
        .await?;
        txn.commit().await.ctx("committing a plan item")?;
        Ok(row)
    }

    /// Deletes a plan item.
    pub async fn delete_plan_item(
        &self,
        id: &str,
        expected_version: Option<i32>,
    ) -> Result<plan_item::Model> {
        self.delete_versioned::<plan_item::Entity>(id, expected_version, "plan item", "plan_item")
            .await
    }

    /// Creates a target; without an id it gets `{scope}-{indicator}-{period}`.
    pub async fn create_target(&self, t: Target) -> Result<target::Model> {
        let txn = self.begin().await?;
        check_target(&txn, &t).await?;
        let id = new_measure_id::<target::Entity>(
            &txn,
            t.id.as_deref(),
            &t.scope,
            &t.indicator,
            t.period,
            target::Column::Id,
            "target",
        )
        .await?;
        let row = target_row(&id, &t, 1)
            .insert(&txn)
            .await
            .ctx("inserting a target")?;
        changes::record(
            &txn,
            self.actor.as_deref(),
            "target",
            &row.id,
            Op::Upsert,
            row.version,
            Some(&row),
        )
        .await?;
        txn.commit().await.ctx("committing a target")?;
        Ok(row)
    }

    /// Replaces a target.
    pub async fn update_target(
        &self,
        id: &str,
        t: Target,
        expected_version: Option<i32>,
    ) -> Result<target::Model> {
        let txn = self.begin().await?;
        let Some(current) = target::Entity::find_by_id(id.to_owned())
            .one(&txn)
            .await
            .ctx("reading a target")?
        else {
            return Err(Error::NotFound {
                kind: "target",
                id: id.to_owned(),
            });
        };
        check_version("target", id, expected_version, current.version)?;
        check_target(&txn, &t).await?;
        let row = target_row(id, &t, current.version + 1)
            .update(&txn)
            .await
            .ctx("updating a target")?;
        changes::record(
            &txn,
            self.actor.as_deref(),
            "target",
            &row.id,
            Op::Upsert,
            row.version,
            Some(&row),
        )
        .await?;
        txn.commit().await.ctx("committing a target")?;
        Ok(row)
    }

    /// Deletes a target.
    pub async fn delete_target(
        &self,
        id: &str,
        expected_version: Option<i32>,
    ) -> Result<target::Model> {
        self.delete_versioned::<target::Entity>(id, expected_version, "target", "target")
            .await
    }

    /// Records an actual; without an id it gets `{scope}-{indicator}-{period}`.
    pub async fn create_actual(&self, a: Actual) -> Result<actual::Model> {
        let txn = self.begin().await?;
        check_actual(&txn, &a).await?;
        let id = new_measure_id::<actual::Entity>(
            &txn,
            a.id.as_deref(),
            &a.scope,
            &a.indicator,
            a.period,
            actual::Column::Id,
            "actual",
        )
        .await?;
        let row = actual_row(&id, &a, 1)
            .insert(&txn)
            .await
            .ctx("inserting an actual")?;
        changes::record(
            &txn,
            self.actor.as_deref(),
            "actual",
            &row.id,
            Op::Upsert,
            row.version,
            Some(&row),
        )
        .await?;
        txn.commit().await.ctx("committing an actual")?;
        Ok(row)
    }

    /// Records many actuals at once (a unit's yearly table): each row creates an actual, or
    /// replaces the value of the one already recorded for the same indicator, scope and period.
    /// Every row is checked first, in one transaction; if any row is refused, or `dry_run` is
    /// set, nothing is written and the outcome lists every row's problems.
    pub async fn import_actuals(&self, rows: &[Actual], dry_run: bool) -> Result<ImportOutcome> {
        let txn = self.begin().await?;
        let mut outcome = ImportOutcome {
            rows: Vec::with_capacity(rows.len()),
            written: 0,
            committed: false,
        };
        let mut plans = Vec::with_capacity(rows.len());
        for a in rows {
            let violations = match check_actual(&txn, a).await {
                Ok(()) => Violations::new(),
                Err(Error::Invalid(v)) => v,
                Err(e) => return Err(e),
            };
            let existing = actual::Entity::find()
                .filter(actual::Column::Indicator.eq(a.indicator.clone()))
                .filter(actual::Column::ScopeKind.eq(a.scope.kind.as_str()))
                .filter(actual::Column::ScopeId.eq(a.scope.id.clone()))
                .filter(actual::Column::Period.eq(a.period.to_string()))
                .one(&txn)
                .await
                .ctx("looking up an actual")?;
            let action = match &existing {
                None => ImportAction::Create,
                Some(e) if e.value == a.value && e.unit == a.unit && e.note == a.note => {
                    ImportAction::Unchanged
                }
                Some(_) => ImportAction::Update,
            };
            outcome.rows.push(ImportRowOutcome { action, violations });
            plans.push(existing);
        }
        if dry_run || outcome.rows.iter().any(|r| !r.violations.is_empty()) {
            return Ok(outcome);
        }
        for ((a, existing), row) in rows.iter().zip(plans).zip(&outcome.rows) {
            let written = match (row.action, existing) {
                (ImportAction::Unchanged, _) => continue,
                (_, Some(current)) => actual_row(&current.id, a, current.version + 1)
                    .update(&txn)
                    .await
                    .ctx("updating an actual")?,
                (_, None) => {
                    let id = new_measure_id::<actual::Entity>(
                        &txn,
                        a.id.as_deref(),
                        &a.scope,
                        &a.indicator,
                        a.period,
                        actual::Column::Id,
                        "actual",
                    )
                    .await?;
                    actual_row(&id, a, 1)
                        .insert(&txn)
                        .await
                        .ctx("inserting an actual")?
                }
            };
            changes::record(
                &txn,
                self.actor.as_deref(),
                "actual",
                &written.id,
                Op::Upsert,
                written.version,
                Some(&written),
            )
            .await?;
            outcome.written += 1;
        }
        txn.commit().await.ctx("committing an import")?;
        outcome.committed = true;
        Ok(outcome)
    }

    /// Replaces an actual.
    pub async fn update_actual(
        &self,
        id: &str,
        a: Actual,
        expected_version: Option<i32>,
    ) -> Result<actual::Model> {
        let txn = self.begin().await?;
        let Some(current) = actual::Entity::find_by_id(id.to_owned())
            .one(&txn)
            .await
            .ctx("reading an actual")?
        else {
            return Err(Error::NotFound {
                kind: "actual",
                id: id.to_owned(),
            });
        };
        check_version("actual", id, expected_version, current.version)?;
        check_actual(&txn, &a).await?;
        let row = actual_row(id, &a, current.version + 1)
            .update(&txn)
            .await
            .ctx("updating an actual")?;
        changes::record(
            &txn,
            self.actor.as_deref(),
            "actual",
            &row.id,
            Op::Upsert,
            row.version,
            Some(&row),
        )
        .await?;
        txn.commit().await.ctx("committing an actual")?;
        Ok(row)
    }

    /// Deletes an actual.
    pub async fn delete_actual(
        &self,
        id: &str,
        expected_version: Option<i32>,
    ) -> Result<actual::Model> {
        self.delete_versioned::<actual::Entity>(id, expected_version, "actual", "actual")
            .await
    }

    /// Loads already-checked records in one transaction and sets `meta[marker.0] = marker.1`
    /// in the same transaction, so a crash never leaves a half-loaded seed marked as done.
    /// Returns false, having written nothing, when the marker is already set.
    pub async fn import(&self, batch: ImportBatch<'_>, marker: (&str, &str)) -> Result<bool> {
        let txn = self.begin().await?;
        // Checked under the writers' lock: of two servers importing into one database at
        // once, the second finds the first's marker and writes nothing.
        if crate::replica::read_meta(&txn, marker.0).await?.is_some() {
            return Ok(false);
        }
        for d in batch.documents {
            let m = document_row(d)
                .insert(&txn)
                .await
                .ctx("importing a document")?;
            changes::record(
                &txn,
                self.actor.as_deref(),
                "document",
                &m.id,
                Op::Upsert,
                1,
                Some(&m),
            )
            .await?;
        }
        for i in batch.indicators {
            let m = indicator_row(i, 1)
                .insert(&txn)
                .await
                .ctx("importing an indicator")?;
            changes::record(
                &txn,
                self.actor.as_deref(),
                "indicator",
                &m.code,
                Op::Upsert,
                m.version,
                Some(&m),
            )
            .await?;
        }
        for p in batch.programmes {
            let m = programme_row(p, 1)
                .insert(&txn)
                .await
                .ctx("importing a programme")?;
            changes::record(
                &txn,
                self.actor.as_deref(),
                "programme",
                &m.id,
                Op::Upsert,
                m.version,
                Some(&m),
            )
            .await?;
        }
        for c in batch.components {
            let m = component_row(c, 1)
                .insert(&txn)
                .await
                .ctx("importing a component")?;
            changes::record(
                &txn,
                self.actor.as_deref(),
                "component",
                &m.id,
                Op::Upsert,
                m.version,
                Some(&m),
            )
            .await?;
        }
        for i in batch.institutions {
            let m = institution_row(i, 1)
                .insert(&txn)
                .await
                .ctx("importing an institution")?;
            changes::record(
                &txn,
                self.actor.as_deref(),
                "institution",
                &m.id,
                Op::Upsert,
                m.version,
                Some(&m),
            )
            .await?;
        }
        for u in batch.units {
            let m = unit_row(u, 1).insert(&txn).await.ctx("importing a unit")?;
            changes::record(
                &txn,
                self.actor.as_deref(),
                "unit",
                &m.id,
                Op::Upsert,
                m.version,
                Some(&m),
            )
            .await?;
        }
        for p in batch.plan_items {
            let id = p.id.clone().unwrap_or_else(|| p.derived_id());
            let m = plan_item_row(&id, p, 1)
                .insert(&txn)
                .await
                .ctx("importing a plan item")?;
            changes::record(
                &txn,
                self.actor.as_deref(),
                "plan_item",
                &m.id,
                Op::Upsert,
                m.version,
                Some(&m),
            )
            .await?;
        }
        for t in batch.targets {
            let id =
                t.id.clone()
                    .ok_or_else(|| Error::Config("imported targets need ids".into()))?;
            let m = target_row(&id, t, 1)
                .insert(&txn)
                .await
                .ctx("importing a target")?;
            changes::record(
                &txn,
                self.actor.as_deref(),
                "target",
                &m.id,
                Op::Upsert,
                m.version,
                Some(&m),
            )
            .await?;
        }
        for a in batch.actuals {
            let id =
                a.id.clone()
                    .ok_or_else(|| Error::Config("imported actuals need ids".into()))?;
            let m = actual_row(&id, a, 1)
                .insert(&txn)
                .await
                .ctx("importing an actual")?;
            changes::record(
                &txn,
                self.actor.as_deref(),
                "actual",
                &m.id,
                Op::Upsert,
                m.version,
                Some(&m),
            )
            .await?;
        }
        set_meta(&txn, marker.0, marker.1).await?;
        txn.commit().await.ctx("committing an import")?;
        Ok(true)
    }
}

/// The id a new target or actual gets: the caller's (checked), or a readable derived one.
async fn new_measure_id<E>(
    txn: &DatabaseTransaction,
    given: Option<&str>,
    scope: &model::Scope,
    indicator: &str,
    period: model::Period,
    id_col: E::Column,
    kind: &'static str,
) -> Result<String>
where
    E: EntityTrait,
    E::Model: Sync,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    match given {
        Some(id) if !model::id::valid_local_id(id) => Err(Error::Invalid(Violations(vec![
            model::ValidationError::new("id", "BAD_ID", "must be a local id slug"),
        ]))),
        Some(id) if exists::<E>(txn, id).await? => Err(Error::Conflict {
            kind,
            id: id.to_owned(),
        }),
        Some(id) => Ok(id.to_owned()),
        None => fresh_id::<E>(txn, &derived_measure_id(scope, indicator, period), id_col).await,
    }
}

/// `{scope}-{indicator}-{period}` as a local-id slug.
pub fn derived_measure_id(scope: &model::Scope, indicator: &str, period: model::Period) -> String {
    let base = format!(
        "{}-{}-{}",
        scope.id,
        indicator.replace('_', "-"),
        period.to_string().replace("..", "-")
    );
    base.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .map(|c| c.to_ascii_lowercase())
        .take(80)
        .collect()
}

/// Reads a stored comparator; unknown text means a corrupt row.
pub fn comparator_of(row: &target::Model) -> Result<Comparator> {
    Comparator::parse(&row.comparator).ok_or_else(|| Error::Corrupt {
        kind: "target",
        id: row.id.clone(),
        detail: format!("comparator `{}`", row.comparator),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            slugify("Cardiology (Central Hospital)"),
            "cardiology-central-hospital"
        );
        assert_eq!(slugify("心血管内科"), "item");
        assert!(model::id::valid_local_id(&slugify(
            &"A very long name ".repeat(10)
        )));
    }
}
