//! A replicated row read back into the model: the check the hub's sync door applies to every
//! pushed change and snapshot row, by the same rules the node's own write path applies.
//!
//! A row is accepted only when it is exactly the row a node's write would have stored for a
//! valid model value: its JSON has the entity's columns and no others, every closed set (scope
//! kind, comparator, unit kind, …) is one of the model's names as spelled by the model, every
//! derived column (period bounds, sort key) is what the model derives, and the value passes the
//! model's validation (text without control characters, bounded lengths and numbers). So
//! `"REGION"`, `"region "` or a scope id of `"+141000"` are not other spellings of a region:
//! they are not rows at all, and no spelling can get past the city boundary.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use model::{
    Actual, Comparator, Component, Document, Indicator, Institution, PlanItem, Programme,
    RegionCode, Scope, ScopeKind, Source, Target, TargetValue, Unit, ValidationError, Violations,
};
use sea_orm::TryIntoModel;

use crate::entity::{
    actual, component, document, indicator, institution, plan_item, programme, target, unit,
};

/// A replicated row as a model value.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A cited document.
    Document(Document),
    /// A catalogue indicator.
    Indicator(Indicator),
    /// A programme.
    Programme(Programme),
    /// A component of a programme.
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

impl Record {
    /// The record's key: its id, or an indicator's code.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Document(d) => Some(&d.id),
            Self::Indicator(i) => Some(&i.code),
            Self::Programme(p) => Some(&p.id),
            Self::Component(c) => Some(&c.id),
            Self::Institution(i) => Some(&i.id),
            Self::Unit(u) => Some(&u.id),
            Self::PlanItem(p) => p.id.as_deref(),
            Self::Target(t) => t.id.as_deref(),
            Self::Actual(a) => a.id.as_deref(),
        }
    }

    /// The region the record places itself in, with the field that says so: an institution's
    /// region, and the region a target or actual is about. Every other record is its
    /// database's own by construction (local ids).
    pub fn region(&self) -> Option<(&'static str, RegionCode)> {
        let region_of = |scope: &Scope| match scope.kind {
            // Parsed when the record was read: a region scope's id is a region code.
            ScopeKind::Region => scope.id.parse().ok().map(|r| ("scope_id", r)),
            _ => None,
        };
        match self {
            Self::Institution(i) => Some(("region", i.region)),
            Self::Target(t) => region_of(&t.scope),
            Self::Actual(a) => region_of(&a.scope),
            _ => None,
        }
    }
}

fn violation(field: &str, rule: &'static str, message: impl Into<String>) -> Violations {
    Violations(vec![ValidationError::new(field, rule, message)])
}

/// One of a closed set, spelled exactly as the model spells it.
fn closed<T: DeserializeOwned>(field: &str, s: &str) -> Result<T, Violations> {
    serde_json::from_value(Value::String(s.to_owned())).map_err(|_| {
        violation(
            field,
            "UNKNOWN_VALUE",
            format!("`{s}` is not one of the model's values"),
        )
    })
}

fn parsed<T: std::str::FromStr<Err = ValidationError>>(
    field: &str,
    s: &str,
) -> Result<T, Violations> {
    s.parse()
        .map_err(|e: ValidationError| violation(field, e.rule, e.message))
}

fn source(document: &Option<String>, quote: &Option<String>) -> Result<Option<Source>, Violations> {
    match (document, quote) {
        (None, None) => Ok(None),
        (Some(d), Some(q)) => Ok(Some(Source {
            document: d.clone(),
            quote: q.clone(),
        })),
        _ => Err(violation(
            "source_quote",
            "SHAPE",
            "a citation has both a document and a quote",
        )),
    }
}

/// The entity row of `table` in `row`, with no column missing or extra.
fn row_of<M: DeserializeOwned + Serialize>(table: &str, row: &Value) -> Result<M, Violations> {
    let m: M = serde_json::from_value(row.clone())
        .map_err(|e| violation("payload", "BAD_PAYLOAD", format!("not a {table} row: {e}")))?;
    let back = serde_json::to_value(&m)
        .map_err(|e| violation("payload", "BAD_PAYLOAD", format!("not a {table} row: {e}")))?;
    if let (Some(given), Some(known)) = (row.as_object(), back.as_object())
        && let Some(extra) = given.keys().find(|k| !known.contains_key(*k))
    {
        return Err(violation(
            &format!("payload.{extra}"),
            "UNKNOWN_COLUMN",
            format!("`{extra}` is not a column of {table}"),
        ));
    }
    Ok(m)
}

/// `given` must be exactly `canonical`: the row the node's write path stores for the value.
fn same_row<M: Serialize>(table: &str, given: &M, canonical: &M) -> Result<(), Violations> {
    let (Ok(Value::Object(g)), Ok(Value::Object(c))) =
        (serde_json::to_value(given), serde_json::to_value(canonical))
    else {
        return Err(violation(
            "payload",
            "BAD_PAYLOAD",
            format!("a {table} row must be an object"),
        ));
    };
    match c.iter().find(|(k, v)| g.get(*k) != Some(*v)) {
        None => Ok(()),
        Some((column, expected)) => Err(violation(
            &format!("payload.{column}"),
            "NOT_CANONICAL",
            format!(
                "{table}.{column} is {}, but a node stores {expected} for this record",
                g.get(column).unwrap_or(&Value::Null)
            ),
        )),
    }
}

fn canonical<A: TryIntoModel<M>, M: sea_orm::ModelTrait>(active: A) -> Result<M, Violations> {
    active.try_into_model().map_err(|e| {
        violation(
            "payload",
            "BAD_PAYLOAD",
            format!("cannot rebuild the row: {e}"),
        )
    })
}

fn valid(v: Violations) -> Result<(), Violations> {
    v.into_result()
}

fn target_value(row: &target::Model) -> Result<TargetValue, Violations> {
    Ok(TargetValue {
        comparator: closed::<Comparator>("comparator", &row.comparator)?,
        value: row.value,
        min: row.min_value,
        max: row.max_value,
    })
}

/// A row read as a model value, and whether it is the row a node stores for that value.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The value.
    pub record: Record,
    /// `Err` naming the first column that differs from what a node's write path stores for
    /// `record` (a derived column such as a sort key or period bound, a spelling).
    pub canonical: Result<(), Violations>,
}

impl Checked {
    /// The record, when the row is canonical.
    pub fn into_canonical(self) -> Result<Record, Violations> {
        self.canonical.map(|()| self.record)
    }
}

/// Reads one row of `table` (a change's payload or a snapshot row) as the model value it
/// stores, or says which rule it breaks. See the module documentation. The region a record
/// claims ([`Record::region`]) can be checked before [`Checked::canonical`], so a foreign
/// record is refused as foreign even when its derived columns are also off.
pub fn read(table: &str, row: &Value) -> Result<Checked, Violations> {
    use crate::writes as w;
    match table {
        "document" => {
            let m: document::Model = row_of(table, row)?;
            let d = Document {
                id: m.id.clone(),
                doc_number: m.doc_number.clone(),
                title: m.title.clone(),
                issuer: m.issuer.clone(),
                issued_on: m.issued_on.clone(),
                file: m.file.clone(),
            };
            valid(d.validate())?;
            let canonical = canonical(w::document_row(&d)).and_then(|c| same_row(table, &m, &c));
            Ok(Checked {
                record: Record::Document(d),
                canonical,
            })
        }
        "indicator" => {
            let m: indicator::Model = row_of(table, row)?;
            let i = Indicator {
                code: m.code.clone(),
                name_zh: m.name_zh.clone(),
                name_en: m.name_en.clone(),
                unit: m.unit.clone(),
                value_type: closed("value_type", &m.value_type)?,
                aggregation: closed("aggregation", &m.aggregation)?,
                over_scopes: closed("over_scopes", &m.over_scopes)?,
                description_zh: m.description_zh.clone(),
                formula: m
                    .formula
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|e| violation("formula", "UNKNOWN_VALUE", format!("{e}")))?,
                counts_units: m
                    .counts_units
                    .as_deref()
                    .map(|k| closed("counts_units", k))
                    .transpose()?,
            };
            valid(i.validate())?;
            let canonical =
                canonical(w::indicator_row(&i, m.version)).and_then(|c| same_row(table, &m, &c));
            Ok(Checked {
                record: Record::Indicator(i),
                canonical,
            })
        }
        "programme" => {
            let m: programme::Model = row_of(table, row)?;
            let p = Programme {
                id: m.id.clone(),
                name_zh: m.name_zh.clone(),
                name_en: m.name_en.clone(),
                issuer: m.issuer.clone(),
                doc_number: m.doc_number.clone(),
                issued_on: m.issued_on.clone(),
                period: parsed("period", &m.period)?,
                relation: m
                    .relation
                    .as_deref()
                    .map(|r| closed("relation", r))
                    .transpose()?,
                parent: m.parent.clone(),
                summary_zh: m.summary_zh.clone(),
                summary_en: m.summary_en.clone(),
                note: m.note.clone(),
                source: source(&m.source_document, &m.source_quote)?.ok_or_else(|| {
                    violation(
                        "source_document",
                        "REQUIRED",
                        "a programme cites its document",
                    )
                })?,
            };
            valid(p.validate())?;
            let canonical =
                canonical(w::programme_row(&p, m.version)).and_then(|c| same_row(table, &m, &c));
            Ok(Checked {
                record: Record::Programme(p),
                canonical,
            })
        }
        "component" => {
            let m: component::Model = row_of(table, row)?;
            let c = Component {
                id: m.id.clone(),
                programme: m.programme_id.clone(),
                parent: m.parent_id.clone(),
                kind: closed("kind", &m.kind)?,
                ordinal: m.ordinal,
                name_zh: m.name_zh.clone(),
                name_en: m.name_en.clone(),
                description_zh: m.description_zh.clone(),
                source: source(&m.source_document, &m.source_quote)?,
            };
            valid(c.validate())?;
            let canonical =
                canonical(w::component_row(&c, m.version)).and_then(|c| same_row(table, &m, &c));
            Ok(Checked {
                record: Record::Component(c),
                canonical,
            })
        }
        "institution" => {
            let m: institution::Model = row_of(table, row)?;
            let aliases: Vec<String> = serde_json::from_str(&m.aliases).map_err(|_| {
                violation("aliases", "BAD_PAYLOAD", "aliases are a JSON list of names")
            })?;
            let i = Institution {
                id: m.id.clone(),
                region: parsed("region", &m.region)?,
                name_zh: m.name_zh.clone(),
                name_en: m.name_en.clone(),
                aliases,
                source: source(&m.source_document, &m.source_quote)?,
            };
            valid(i.validate())?;
            let canonical =
                canonical(w::institution_row(&i, m.version)).and_then(|c| same_row(table, &m, &c));
            Ok(Checked {
                record: Record::Institution(i),
                canonical,
            })
        }
        "unit" => {
            let m: unit::Model = row_of(table, row)?;
            let u = Unit {
                id: m.id.clone(),
                programme: m.programme_id.clone(),
                component: m.component_id.clone(),
                institution: m.institution_id.clone(),
                kind: closed("kind", &m.kind)?,
                name_zh: m.name_zh.clone(),
                name_en: m.name_en.clone(),
                target_level: m.target_level.clone(),
                target_year: m.target_year,
                milestones: w::milestones_of(m.milestones.as_deref()).map_err(|e| {
                    violation(
                        "milestones",
                        "BAD_PAYLOAD",
                        format!("not a list of milestones: {e}"),
                    )
                })?,
                note: m.note.clone(),
                source: source(&m.source_document, &m.source_quote)?,
            };
            valid(u.validate(None))?;
            let canonical =
                canonical(w::unit_row(&u, m.version)).and_then(|c| same_row(table, &m, &c));
            Ok(Checked {
                record: Record::Unit(u),
                canonical,
            })
        }
        "plan_item" => {
            let m: plan_item::Model = row_of(table, row)?;
            let p = PlanItem {
                id: Some(m.id.clone()),
                unit: m.unit_id.clone(),
                period: parsed("period", &m.period)?,
                category: closed("category", &m.category)?,
                text: m.text.clone(),
                ambiguous: m.ambiguous,
                note: m.note.clone(),
                source: source(&m.source_document, &m.source_quote)?,
            };
            valid(p.validate(None))?;
            let canonical = canonical(w::plan_item_row(&m.id, &p, m.version))
                .and_then(|c| same_row(table, &m, &c));
            Ok(Checked {
                record: Record::PlanItem(p),
                canonical,
            })
        }
        "target" => {
            let m: target::Model = row_of(table, row)?;
            let t = Target {
                id: Some(m.id.clone()),
                indicator: m.indicator.clone(),
                scope: scope(&m.scope_kind, &m.scope_id)?,
                period: parsed("period", &m.period)?,
                value: target_value(&m)?,
                unit: m.unit.clone(),
                qualifier: m.qualifier.clone(),
                ambiguous: m.ambiguous,
                note: m.note.clone(),
                source: source(&m.source_document, &m.source_quote)?,
                readings: w::readings_of(m.readings.as_deref()).map_err(|e| {
                    violation(
                        "readings",
                        "BAD_PAYLOAD",
                        format!("not a list of readings: {e}"),
                    )
                })?,
                table: m.published_table.clone(),
                table_row: m.table_row,
                duration: w::duration_of(m.duration_min, m.duration_max)
                    .map_err(|e| violation("duration", "SHAPE", e))?,
            };
            valid(t.validate(None, None))?;
            let canonical = canonical(w::target_row(&m.id, &t, m.version))
                .and_then(|c| same_row(table, &m, &c));
            Ok(Checked {
                record: Record::Target(t),
                canonical,
            })
        }
        "actual" => {
            let m: actual::Model = row_of(table, row)?;
            let a = Actual {
                id: Some(m.id.clone()),
                indicator: m.indicator.clone(),
                scope: scope(&m.scope_kind, &m.scope_id)?,
                period: parsed("period", &m.period)?,
                value: m.value,
                unit: m.unit.clone(),
                note: m.note.clone(),
                source: source(&m.source_document, &m.source_quote)?,
            };
            valid(a.validate(None, None))?;
            let canonical = canonical(w::actual_row(&m.id, &a, m.version))
                .and_then(|c| same_row(table, &m, &c));
            Ok(Checked {
                record: Record::Actual(a),
                canonical,
            })
        }
        other => Err(violation(
            "entity",
            "UNKNOWN_ENTITY",
            format!("`{other}` is not a replicated table"),
        )),
    }
}

/// A scope: its kind one of the model's, and a region scope's id a region code.
fn scope(kind: &str, id: &str) -> Result<Scope, Violations> {
    let kind: ScopeKind = closed("scope_kind", kind)?;
    if kind == ScopeKind::Region {
        parsed::<RegionCode>("scope_id", id)?;
    }
    Ok(Scope {
        kind,
        id: id.to_owned(),
    })
}

/// Reads one change of a city's log: its own fields (a replicated table, `upsert` with the
/// row or `delete` without one, an id and actor without control characters) and, for an
/// upsert, its row by [`read`], which must be the record the change names. `Ok(None)` for a
/// tombstone.
pub fn read_change(
    change: &crate::entity::change_log::Model,
) -> Result<Option<Checked>, Violations> {
    let mut v = Violations::new();
    v.require_name("entity_id", &change.entity_id);
    v.optional_name("actor", change.actor.as_deref());
    v.check(
        change.seq >= 1,
        "seq",
        "OUT_OF_RANGE",
        "sequence numbers start at 1",
    );
    v.into_result()?;
    if !crate::replica::TABLES.contains(&change.entity.as_str()) {
        return Err(violation(
            "entity",
            "UNKNOWN_ENTITY",
            format!("`{}` is not a replicated table", change.entity),
        ));
    }
    let payload = match (change.op.as_str(), change.payload.as_deref()) {
        ("delete", None) => return Ok(None),
        ("upsert", Some(p)) => p,
        (op, _) => {
            return Err(violation(
                "op",
                "BAD_OP",
                format!("`{op}` with this payload is not a change"),
            ));
        }
    };
    let row: Value = serde_json::from_str(payload)
        .map_err(|e| violation("payload", "BAD_PAYLOAD", format!("not JSON: {e}")))?;
    let checked = read(&change.entity, &row)?;
    if checked.record.key() != Some(change.entity_id.as_str()) {
        let key = if change.entity == "indicator" {
            "code"
        } else {
            "id"
        };
        return Err(violation(
            &format!("payload.{key}"),
            "ID_MISMATCH",
            format!("the payload is not the record `{}`", change.entity_id),
        ));
    }
    Ok(Some(checked))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // in tests a panic is the failure report

    use super::*;
    use model::{Period, region::LINFEN};
    use proptest::prelude::*;

    fn target(kind: ScopeKind, id: &str) -> Value {
        let t = Target {
            id: Some("t1".into()),
            indicator: "beds_added".into(),
            scope: Scope {
                kind,
                id: id.into(),
            },
            period: Period::year(2021).unwrap(),
            value: TargetValue {
                comparator: Comparator::AtLeast,
                value: Some(8.0),
                min: None,
                max: None,
            },
            unit: Some("张".into()),
            qualifier: None,
            ambiguous: false,
            note: Some("第一年".into()),
            source: None,
            readings: Vec::new(),
            table: None,
            table_row: None,
            duration: None,
        };
        serde_json::to_value(
            crate::writes::target_row("t1", &t, 3)
                .try_into_model()
                .unwrap(),
        )
        .unwrap()
    }

    fn accepted(table: &str, row: &Value) -> Option<Record> {
        read(table, row).ok()?.into_canonical().ok()
    }

    #[test]
    fn a_canonical_row_reads_back_as_its_record_and_names_its_region() {
        let row = target(ScopeKind::Region, "141000");
        let rec = accepted("target", &row).expect("canonical");
        assert_eq!(rec.key(), Some("t1"));
        assert_eq!(rec.region(), Some(("scope_id", LINFEN)));
        let unit_scope = target(ScopeKind::Unit, "cardiology");
        assert_eq!(accepted("target", &unit_scope).unwrap().region(), None);
    }

    #[test]
    fn extra_columns_derived_columns_and_foreign_spellings_are_not_rows() {
        let row = target(ScopeKind::Unit, "cardiology");
        let rule = |row: &Value| match read("target", row) {
            Err(v) => v.0[0].rule,
            Ok(c) => c.canonical.err().map_or("ACCEPTED", |v| v.0[0].rule),
        };
        let with = |k: &str, v: Value| {
            let mut r = row.clone();
            r[k] = v;
            r
        };
        assert_eq!(rule(&row), "ACCEPTED");
        assert_eq!(
            rule(&with("owner", Value::from("141000"))),
            "UNKNOWN_COLUMN"
        );
        assert_eq!(
            rule(&with("period_start", Value::from(199_001))),
            "NOT_CANONICAL"
        );
        assert_eq!(rule(&with("sort_key", Value::from("x"))), "NOT_CANONICAL");
        assert_eq!(rule(&with("period", Value::from(" 2021"))), "NOT_CANONICAL");
        assert_eq!(
            rule(&with("comparator", Value::from("AT_LEAST"))),
            "UNKNOWN_VALUE"
        );
        assert_eq!(
            rule(&with("note", Value::from("a\u{0}b"))),
            "CONTROL_CHARACTER"
        );
        assert_eq!(rule(&with("value", Value::from(1e308))), "OUT_OF_RANGE");
        let mut missing = row.clone();
        missing.as_object_mut().unwrap().remove("scope_id");
        assert_eq!(rule(&missing), "BAD_PAYLOAD");
        // Readings are read into the model and checked like the rest: an unreadable list, a
        // reading that does not add up, or the right numbers spelled another way.
        assert_eq!(
            rule(&with("readings", Value::from("[{\"years\": 1}]"))),
            "BAD_PAYLOAD"
        );
        let ambiguous = |readings: &str| {
            let mut r = with("comparator", Value::from("exact"));
            r["ambiguous"] = Value::from(true);
            r["period"] = Value::from("2020..2022");
            r["period_start"] = Value::from(202_001);
            r["period_end"] = Value::from(202_212);
            r["value"] = Value::from(1000.0);
            r["readings"] = Value::from(readings);
            let t: target::Model = serde_json::from_value(r.clone()).unwrap();
            r["sort_key"] = Value::from(crate::writes::measure_sort_key(
                ScopeKind::Unit,
                "cardiology",
                "beds_added",
                "2020..2022".parse().unwrap(),
                &t.id,
            ));
            r
        };
        let good = r#"[{"years":[{"year":2020,"value":700.0},{"year":2021,"value":300.0}]},{"years":[{"year":2021,"value":700.0},{"year":2022,"value":300.0}]}]"#;
        assert_eq!(rule(&ambiguous(good)), "ACCEPTED");
        assert_eq!(
            rule(&ambiguous(&good.replace("300.0}]}]", "200.0}]}]"))),
            "READING_TOTAL"
        );
        assert_eq!(rule(&ambiguous(&good.replace(",", ", "))), "NOT_CANONICAL");
    }

    #[test]
    fn a_units_milestones_are_read_and_checked_like_the_rest_of_it() {
        let u = Unit {
            id: "centre".into(),
            programme: "p".into(),
            component: None,
            institution: None,
            kind: model::UnitKind::Centre,
            name_zh: "器官移植中心".into(),
            name_en: "Organ Transplantation Centre".into(),
            target_level: Some("全国知名水平".into()),
            target_year: Some(2024),
            milestones: vec![
                model::Milestone {
                    year: 2020,
                    level: "全面开展中心工作".into(),
                },
                model::Milestone {
                    year: 2022,
                    level: "省内领先".into(),
                },
            ],
            note: None,
            source: None,
        };
        let row =
            serde_json::to_value(crate::writes::unit_row(&u, 1).try_into_model().unwrap()).unwrap();
        let rule = |row: &Value| match read("unit", row) {
            Err(v) => v.0[0].rule,
            Ok(c) => c.canonical.err().map_or("ACCEPTED", |v| v.0[0].rule),
        };
        let with = |milestones: &str| {
            let mut r = row.clone();
            r["milestones"] = Value::from(milestones);
            r
        };
        assert_eq!(rule(&row), "ACCEPTED");
        match accepted("unit", &row) {
            Some(Record::Unit(back)) => assert_eq!(back, u),
            other => panic!("not the unit: {other:?}"),
        }
        let good = row["milestones"].as_str().unwrap().to_owned();
        assert_eq!(rule(&with("[{\"year\": \"2020\"}]")), "BAD_PAYLOAD");
        assert_eq!(
            rule(&with(&good.replace("2022", "2020"))),
            "MILESTONES_NOT_IN_ORDER"
        );
        assert_eq!(rule(&with(&good.replace(",", ", "))), "NOT_CANONICAL");
        // A unit without milestones leaves the column out, as rows did before it existed.
        let mut plain = u.clone();
        plain.milestones.clear();
        let plain =
            serde_json::to_value(crate::writes::unit_row(&plain, 1).try_into_model().unwrap())
                .unwrap();
        assert!(plain.get("milestones").is_none(), "{plain}");
        assert_eq!(rule(&plain), "ACCEPTED");
    }

    /// Spellings near the real ones: case changes, padding, look-alikes, control and format
    /// characters, and anything at all.
    fn spelling(real: &'static [&'static str]) -> impl Strategy<Value = String> {
        let near = (
            proptest::sample::select(real),
            proptest::sample::select(
                &[
                    "", " ", "\t", "\n", "\u{0}", "\u{200b}", "\u{feff}", "\u{3000}", "+", "0",
                ][..],
            ),
            proptest::sample::select(&["", " ", "\u{0}", "\u{200b}", "\r\n", "0", "s"][..]),
            0..4u8,
        )
            .prop_map(|(r, pre, post, case)| {
                let body = match case {
                    0 => r.to_owned(),
                    1 => r.to_uppercase(),
                    2 => {
                        let mut c = r.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect())
                            .unwrap_or_default()
                    }
                    _ => r
                        .chars()
                        .map(|c| {
                            // Full-width forms of ASCII letters and digits.
                            if c.is_ascii_alphanumeric() {
                                char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c)
                            } else {
                                c
                            }
                        })
                        .collect(),
                };
                format!("{pre}{body}{post}")
            });
        prop_oneof![near, ".{0,12}"]
    }

    const KINDS: &[&str] = &["programme", "component", "institution", "unit", "region"];
    const REGIONS: &[&str] = &["141000", "140800", "141021", "140000"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever spelling of a scope kind and scope id a pushed target carries, the record
        /// check accepts it only when it is the model's own spelling, and a region it accepts
        /// is exactly the code written.
        #[test]
        fn only_the_models_own_spelling_of_a_scope_is_accepted(
            kind in spelling(KINDS),
            id in spelling(REGIONS),
        ) {
            // The row a node would store for the scope as it reads (when it reads at all),
            // then the generated spelling written over it: only the identity passes.
            let base = target(ScopeKind::parse(&kind).unwrap_or(ScopeKind::Region), "141000");
            let mut row = base.clone();
            row["scope_kind"] = Value::from(kind.clone());
            row["scope_id"] = Value::from(id.clone());
            if let Some(rec) = accepted("target", &row) {
                prop_assert!(KINDS.contains(&kind.as_str()), "kind {kind:?} accepted");
                let Record::Target(t) = &rec else { panic!("a target") };
                prop_assert_eq!(t.scope.kind.as_str(), kind.as_str());
                prop_assert_eq!(&t.scope.id, &id);
                if let Some((_, region)) = rec.region() {
                    prop_assert_eq!(region.to_string(), id.clone());
                    prop_assert!(REGIONS.contains(&id.as_str()));
                }
                prop_assert_eq!(
                    serde_json::to_value(crate::writes::target_row("t1", t, 3).try_into_model().unwrap()).unwrap(),
                    row,
                    "an accepted row is the canonical row of its record"
                );
            }
        }

        /// Control characters anywhere in a name are refused; a name without them is kept
        /// byte for byte.
        #[test]
        fn names_with_control_characters_are_never_accepted(name in "\\PC{0,5}[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]?\\PC{0,5}") {
            let i = Institution {
                id: "hosp".into(),
                region: model::region::YUNCHENG,
                name_zh: "医院".into(),
                name_en: "Hospital".into(),
                aliases: vec![],
                source: None,
            };
            let mut row = serde_json::to_value(
                crate::writes::institution_row(&i, 1).try_into_model().unwrap(),
            )
            .unwrap();
            row["name_zh"] = Value::from(name.clone());
            let ok = accepted("institution", &row).is_some();
            prop_assert_eq!(ok, !name.chars().any(char::is_control) && !name.trim().is_empty());
        }
    }
}
