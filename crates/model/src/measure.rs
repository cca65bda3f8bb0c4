//! Targets and actuals: values of a catalogue indicator for a scope (programme, component,
//! unit, institution or region) and a period. Targets keep the document's shape: an exact
//! value, a floor (以上), an approximate value (左右), a range (1-2), or, for a cell that
//! cannot be read without guessing, no value at all and a note.

use serde::{Deserialize, Serialize};

use crate::{Indicator, Period, Source, Violations};

/// What a target or actual is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// A whole programme.
    Programme,
    /// A component of a programme.
    Component,
    /// An institution.
    Institution,
    /// A unit.
    Unit,
    /// A region (a county, a city).
    Region,
}

impl ScopeKind {
    /// Snake-case name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Programme => "programme",
            Self::Component => "component",
            Self::Institution => "institution",
            Self::Unit => "unit",
            Self::Region => "region",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Programme,
            Self::Component,
            Self::Institution,
            Self::Unit,
            Self::Region,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The thing a value is about: a local id of the owning server, or a region code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// What kind of thing.
    pub kind: ScopeKind,
    /// Its local id (or region code for `Region`).
    pub id: String,
}

/// How a target's number is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    /// Exactly `value`.
    Exact,
    /// `value` or more (以上, 不少于, 达到 … 以上).
    AtLeast,
    /// `value` or less.
    AtMost,
    /// About `value` (左右).
    About,
    /// Between `min` and `max` inclusive (1-2, 150-200万).
    Range,
    /// The document's cell cannot be read without guessing; no number is stored.
    Unknown,
}

impl Comparator {
    /// Snake-case name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::AtLeast => "at_least",
            Self::AtMost => "at_most",
            Self::About => "about",
            Self::Range => "range",
            Self::Unknown => "unknown",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Exact,
            Self::AtLeast,
            Self::AtMost,
            Self::About,
            Self::Range,
            Self::Unknown,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// A target's number, in the document's shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetValue {
    /// How to read it.
    pub comparator: Comparator,
    /// The value, for every comparator but `Range` and `Unknown`.
    #[serde(default)]
    pub value: Option<f64>,
    /// Lower bound, for `Range`.
    #[serde(default)]
    pub min: Option<f64>,
    /// Upper bound, for `Range`.
    #[serde(default)]
    pub max: Option<f64>,
}

impl TargetValue {
    /// Checks that the right numbers are present for the comparator, and each suits the
    /// indicator.
    pub fn validate(&self, indicator: Option<&Indicator>) -> Violations {
        let mut v = Violations::new();
        match self.comparator {
            Comparator::Range => {
                v.check(
                    self.value.is_none(),
                    "value",
                    "SHAPE",
                    "a range has min and max, not value",
                );
                match (self.min, self.max) {
                    (Some(lo), Some(hi)) => v.check(
                        lo <= hi,
                        "max",
                        "RANGE_INVERTED",
                        "max must not be below min",
                    ),
                    _ => v.push("min", "SHAPE", "a range needs min and max"),
                }
            }
            Comparator::Unknown => v.check(
                self.value.is_none() && self.min.is_none() && self.max.is_none(),
                "value",
                "SHAPE",
                "an unknown value carries no number",
            ),
            _ => {
                v.check(self.value.is_some(), "value", "SHAPE", "value is required");
                v.check(
                    self.min.is_none() && self.max.is_none(),
                    "min",
                    "SHAPE",
                    "only a range has min and max",
                );
            }
        }
        for (field, x) in [("value", self.value), ("min", self.min), ("max", self.max)] {
            match (x, indicator) {
                (Some(x), Some(ind)) => ind.check_value(field, x, &mut v),
                (Some(x), None) => v.bounded_number(field, x),
                (None, _) => {}
            }
        }
        v
    }

    /// The single number a comparison may use as the target (midpoint of a range); `None` when
    /// the value is unknown.
    pub fn point(&self) -> Option<f64> {
        match self.comparator {
            Comparator::Range => Some((self.min? + self.max?) / 2.0),
            Comparator::Unknown => None,
            _ => self.value,
        }
    }
}

/// A target value of an indicator for a scope and period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Local id; the seed loader numbers targets when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// Catalogue code.
    pub indicator: String,
    /// What it is about.
    pub scope: Scope,
    /// By when (a year, or the span it covers).
    pub period: Period,
    /// The number, in the document's shape.
    pub value: TargetValue,
    /// Unit of measure as entered; must match the indicator's when given.
    #[serde(default)]
    pub unit: Option<String>,
    /// The document's hedge word, kept: 力争, 左右, 以上 …
    #[serde(default)]
    pub qualifier: Option<String>,
    /// True when the document's cell cannot be read without guessing.
    #[serde(default)]
    pub ambiguous: bool,
    /// Why it is ambiguous, or any remark.
    #[serde(default)]
    pub note: Option<String>,
    /// Where it is stated.
    #[serde(default)]
    pub source: Option<Source>,
    /// When the document states the amount over a span but leaves open which years it falls
    /// in: every way of reading it, each a split of the whole amount by year. A comparison
    /// shows a year as the interval over the readings and the span as the exact amount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<Reading>,
    /// The published table the target is a row of, when a document publishes its targets as
    /// one table (山西白求恩医院's 主要指标): the table's id, shared by its rows.
    #[serde(default)]
    pub table: Option<String>,
    /// Its row in that table, from 1, in the document's order.
    #[serde(default)]
    pub table_row: Option<i32>,
    /// The time the document gives to reach it, when it states one as a number of years
    /// (「通过 3—5 年努力」): the target's pace is its amount over these years, a range when
    /// they are.
    #[serde(default)]
    pub duration: Option<Duration>,
}

/// A time to reach a target, in whole years, as the document gives it (`min == max` for one
/// number, `3..5` for 「3—5 年」).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Duration {
    /// Fewest years.
    pub min_years: i32,
    /// Most years.
    pub max_years: i32,
}

impl Duration {
    /// Checks the bounds against the target's period: at least a year, not inverted, and no
    /// longer than the period the target is stored over.
    fn validate(self, period: Period, v: &mut Violations) {
        v.check(
            self.min_years >= 1,
            "duration.minYears",
            "DURATION_BOUNDS",
            "a duration is at least one year",
        );
        v.check(
            self.min_years <= self.max_years,
            "duration.maxYears",
            "RANGE_INVERTED",
            "maxYears must not be below minYears",
        );
        let period_years = period.end.year - period.start.year + 1;
        v.check(
            self.max_years <= period_years,
            "duration.maxYears",
            "DURATION_OUTSIDE_PERIOD",
            format!("the target's period holds {period_years} year(s); store it over the longest reading of its duration"),
        );
    }
}

/// One reading of an amount whose years are open: how much of it falls in each year (years
/// not named get nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// Amount per year, in year order.
    pub years: Vec<YearAmount>,
}

/// Part of an amount falling in one year.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearAmount {
    /// The year.
    pub year: i32,
    /// The amount.
    pub value: f64,
}

/// Most readings of one amount.
pub const MAX_READINGS: usize = 16;

impl Reading {
    /// What this reading puts in the years `from..=to`.
    pub fn within(&self, from: i32, to: i32) -> f64 {
        self.years
            .iter()
            .filter(|y| (from..=to).contains(&y.year))
            .map(|y| y.value)
            .sum()
    }
}

/// The least and the most any reading puts in `from..=to`: the interval a comparison shows
/// for those years. `None` without readings.
pub fn share_of(readings: &[Reading], from: i32, to: i32) -> Option<(f64, f64)> {
    readings
        .iter()
        .map(|r| r.within(from, to))
        .fold(None, |acc, x| match acc {
            None => Some((x, x)),
            Some((lo, hi)) => Some((f64::min(lo, x), f64::max(hi, x))),
        })
}

fn check_readings(v: &mut Violations, t: &Target, indicator: Option<&Indicator>) {
    if t.readings.is_empty() {
        return;
    }
    let total = match (t.value.comparator, t.value.value) {
        (Comparator::Exact | Comparator::About, Some(total)) => Some(total),
        _ => None,
    };
    v.check(
        total.is_some(),
        "readings",
        "READINGS_NEED_TOTAL",
        "readings split one amount: the target must be exact (or about) with that amount",
    );
    v.check(
        t.ambiguous,
        "ambiguous",
        "READINGS_NOT_AMBIGUOUS",
        "a target read several ways is ambiguous: mark it and say why in its note",
    );
    v.check(
        (2..=MAX_READINGS).contains(&t.readings.len()),
        "readings",
        "READINGS_COUNT",
        format!("give between 2 and {MAX_READINGS} readings (one reading is a plain split: use yearly targets)"),
    );
    let (first, last) = (t.period.start.year, t.period.end.year);
    for (i, r) in t.readings.iter().enumerate() {
        let field = format!("readings[{i}]");
        v.check(
            !r.years.is_empty() && r.years.len() <= usize::try_from(last - first + 1).unwrap_or(0),
            &field,
            "READING_YEARS",
            format!("a reading names some of the years {first}..{last}, each once"),
        );
        for (j, y) in r.years.iter().enumerate() {
            let f = format!("{field}.years[{j}]");
            v.check(
                (first..=last).contains(&y.year),
                &format!("{f}.year"),
                "OUT_OF_PERIOD",
                format!("{} is outside the target's period {first}..{last}", y.year),
            );
            v.check(
                j == 0 || r.years[j - 1].year < y.year,
                &format!("{f}.year"),
                "READING_YEARS",
                "years in a reading are listed once each, in order",
            );
            match indicator {
                Some(ind) => ind.check_value(&format!("{f}.value"), y.value, v),
                None => v.bounded_number(&format!("{f}.value"), y.value),
            }
        }
        if let Some(total) = total {
            let sum: f64 = r.years.iter().map(|y| y.value).sum();
            v.check(
                (sum - total).abs() <= 1e-9 * total.abs().max(1.0),
                &field,
                "READING_TOTAL",
                format!("the reading's years add up to {sum}, not the target's {total}"),
            );
        }
    }
}

impl Target {
    /// Checks fields against the indicator and the programme's period (when known).
    pub fn validate(
        &self,
        indicator: Option<&Indicator>,
        programme_period: Option<Period>,
    ) -> Violations {
        let mut v = Violations::new();
        v.require_name("indicator", &self.indicator);
        v.require_name("scope.id", &self.scope.id);
        check_not_composite(&mut v, indicator);
        v.extend_prefixed("value", self.value.validate(indicator));
        v.optional_name("qualifier", self.qualifier.as_deref());
        v.optional_text("note", self.note.as_deref());
        v.optional_name("table", self.table.as_deref());
        v.check(
            self.table_row
                .is_none_or(|r| self.table.is_some() && (1..=1000).contains(&r)),
            "tableRow",
            "SHAPE",
            "a row number (1..1000) belongs to a table",
        );
        check_unit(&mut v, self.unit.as_deref(), indicator);
        check_period(&mut v, self.period, programme_period);
        v.check(
            !self.ambiguous || self.note.as_deref().is_some_and(|n| !n.trim().is_empty()),
            "note",
            "AMBIGUITY_UNEXPLAINED",
            "an ambiguous target must say why in its note",
        );
        v.check(
            self.value.comparator != crate::Comparator::Unknown || self.ambiguous,
            "ambiguous",
            "SHAPE",
            "a target without a number must be marked ambiguous",
        );
        if let Some(s) = &self.source {
            v.extend_prefixed("source", s.validate());
        }
        check_readings(&mut v, self, indicator);
        if let Some(d) = self.duration {
            d.validate(self.period, &mut v);
        }
        v
    }
}

/// A reported value of an indicator for a scope and period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actual {
    /// Local id; the seed loader numbers actuals when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// Catalogue code.
    pub indicator: String,
    /// What it is about.
    pub scope: Scope,
    /// The period it covers (a year, or a span such as `2019-01..2019-10`).
    pub period: Period,
    /// The value.
    pub value: f64,
    /// Unit of measure as entered; must match the indicator's when given.
    #[serde(default)]
    pub unit: Option<String>,
    /// Any remark (e.g. how the period was read).
    #[serde(default)]
    pub note: Option<String>,
    /// Where it is stated.
    #[serde(default)]
    pub source: Option<Source>,
}

impl Actual {
    /// Checks fields against the indicator and the programme's period (when known).
    pub fn validate(
        &self,
        indicator: Option<&Indicator>,
        programme_period: Option<Period>,
    ) -> Violations {
        let mut v = Violations::new();
        v.require_name("indicator", &self.indicator);
        v.require_name("scope.id", &self.scope.id);
        check_not_composite(&mut v, indicator);
        match indicator {
            Some(ind) => ind.check_value("value", self.value, &mut v),
            None => v.bounded_number("value", self.value),
        }
        v.optional_text("note", self.note.as_deref());
        check_unit(&mut v, self.unit.as_deref(), indicator);
        check_period(&mut v, self.period, programme_period);
        if let Some(s) = &self.source {
            v.extend_prefixed("source", s.validate());
        }
        v
    }
}

/// A composite indicator is computed from its operands, never set or reported itself.
fn check_not_composite(v: &mut Violations, indicator: Option<&Indicator>) {
    if let Some(ind) = indicator {
        v.check(
            ind.formula.is_none(),
            "indicator",
            "COMPOSITE_NOT_REPORTED",
            format!(
                "{} is computed from other indicators: set or report those instead",
                ind.code
            ),
        );
    }
}

fn check_unit(v: &mut Violations, unit: Option<&str>, indicator: Option<&Indicator>) {
    v.optional_name("unit", unit);
    if let (Some(unit), Some(ind)) = (unit, indicator) {
        v.check(
            unit == ind.unit,
            "unit",
            "UNIT_MISMATCH",
            format!("{} is measured in {}, not {unit}", ind.code, ind.unit),
        );
    }
}

fn check_period(v: &mut Violations, period: Period, programme_period: Option<Period>) {
    if let Some(p) = programme_period {
        v.check(
            p.contains(&period),
            "period",
            "OUT_OF_PERIOD",
            format!("{period} is outside the programme period {p}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Aggregation, ValueType};

    fn beds() -> Indicator {
        Indicator {
            code: "beds_added".into(),
            name_zh: "新增床位".into(),
            name_en: "Beds added".into(),
            unit: "张".into(),
            value_type: ValueType::Integer,
            aggregation: Aggregation::Sum,
            over_scopes: crate::ScopeAggregation::Sum,
            description_zh: None,
            formula: None,
            counts_units: None,
        }
    }

    fn target(value: TargetValue) -> Target {
        Target {
            id: None,
            indicator: "beds_added".into(),
            scope: Scope {
                kind: ScopeKind::Unit,
                id: "cardiology".into(),
            },
            period: "2020".parse().unwrap(),
            value,
            unit: None,
            qualifier: None,
            ambiguous: false,
            note: None,
            source: None,
            readings: Vec::new(),
            table: None,
            table_row: None,
            duration: None,
        }
    }

    fn exact(x: f64) -> TargetValue {
        TargetValue {
            comparator: Comparator::Exact,
            value: Some(x),
            min: None,
            max: None,
        }
    }

    fn rules(v: &Violations) -> Vec<(&str, &str)> {
        v.0.iter().map(|e| (e.field.as_str(), e.rule)).collect()
    }

    fn reading(years: &[(i32, f64)]) -> Reading {
        Reading {
            years: years
                .iter()
                .map(|&(year, value)| YearAmount { year, value })
                .collect(),
        }
    }

    /// 神经外科's funding row, "700 300" under the columns 2020 2021 2022: the two amounts in
    /// order, in two of the three years.
    fn open_years() -> Target {
        let mut t = target(exact(1000.0));
        t.indicator = "funding".into();
        t.period = "2020..2022".parse().unwrap();
        t.ambiguous = true;
        t.note = Some("which years the two amounts fall in is not stated".into());
        t.readings = vec![
            reading(&[(2020, 700.0), (2021, 300.0)]),
            reading(&[(2020, 700.0), (2022, 300.0)]),
            reading(&[(2021, 700.0), (2022, 300.0)]),
        ];
        t
    }

    #[test]
    fn an_amount_with_open_years_is_an_interval_per_year_and_exact_over_its_span() {
        let t = open_years();
        assert!(
            t.validate(None, None).is_empty(),
            "{:?}",
            t.validate(None, None)
        );
        assert_eq!(share_of(&t.readings, 2020, 2020), Some((0.0, 700.0)));
        assert_eq!(share_of(&t.readings, 2021, 2021), Some((0.0, 700.0)));
        assert_eq!(share_of(&t.readings, 2022, 2022), Some((0.0, 300.0)));
        assert_eq!(share_of(&t.readings, 2020, 2021), Some((700.0, 1000.0)));
        assert_eq!(share_of(&t.readings, 2020, 2022), Some((1000.0, 1000.0)));
        assert_eq!(share_of(&t.readings, 2019, 2030), Some((1000.0, 1000.0)));
        assert_eq!(share_of(&[], 2020, 2022), None);
    }

    #[test]
    fn readings_must_split_the_whole_amount_inside_the_period() {
        let mut t = open_years();
        t.readings[0] = reading(&[(2020, 700.0), (2021, 200.0)]);
        t.readings[1] = reading(&[(2023, 1000.0)]);
        t.readings[2] = reading(&[(2022, 500.0), (2021, 500.0)]);
        assert_eq!(
            rules(&t.validate(None, None)),
            [
                ("readings[0]", "READING_TOTAL"),
                ("readings[1].years[0].year", "OUT_OF_PERIOD"),
                ("readings[2].years[1].year", "READING_YEARS"),
            ]
        );
        let mut t = open_years();
        t.ambiguous = false;
        t.value = TargetValue {
            comparator: Comparator::AtLeast,
            ..exact(1000.0)
        };
        t.readings.truncate(1);
        assert_eq!(
            rules(&t.validate(None, None)),
            [
                ("readings", "READINGS_NEED_TOTAL"),
                ("ambiguous", "READINGS_NOT_AMBIGUOUS"),
                ("readings", "READINGS_COUNT"),
            ]
        );
    }

    #[test]
    fn a_valid_target_passes() {
        let p: Period = "2020..2022".parse().unwrap();
        assert!(
            target(exact(50.0))
                .validate(Some(&beds()), Some(p))
                .is_empty()
        );
    }

    #[test]
    fn counts_are_non_negative_whole_numbers() {
        assert_eq!(
            rules(&target(exact(-1.0)).validate(Some(&beds()), None)),
            [("value.value", "NEGATIVE")]
        );
        assert_eq!(
            rules(&target(exact(1.5)).validate(Some(&beds()), None)),
            [("value.value", "NOT_AN_INTEGER")]
        );
    }

    #[test]
    fn unit_must_match_indicator() {
        let mut t = target(exact(5.0));
        t.unit = Some("名".into());
        assert_eq!(
            rules(&t.validate(Some(&beds()), None)),
            [("unit", "UNIT_MISMATCH")]
        );
    }

    #[test]
    fn period_inside_programme() {
        let mut t = target(exact(5.0));
        t.period = "2023".parse().unwrap();
        let p: Period = "2020..2022".parse().unwrap();
        assert_eq!(
            rules(&t.validate(Some(&beds()), Some(p))),
            [("period", "OUT_OF_PERIOD")]
        );
    }

    #[test]
    fn ranges_and_unknowns_keep_their_shape() {
        let range = TargetValue {
            comparator: Comparator::Range,
            value: None,
            min: Some(2.0),
            max: Some(1.0),
        };
        assert_eq!(
            rules(&target(range).validate(None, None)),
            [("value.max", "RANGE_INVERTED")]
        );
        let ok = TargetValue {
            comparator: Comparator::Range,
            value: None,
            min: Some(1.0),
            max: Some(2.0),
        };
        assert_eq!(ok.point(), Some(1.5));
        let unknown = TargetValue {
            comparator: Comparator::Unknown,
            value: None,
            min: None,
            max: None,
        };
        let mut t = target(unknown);
        assert_eq!(rules(&t.validate(None, None)), [("ambiguous", "SHAPE")]);
        t.ambiguous = true;
        t.note = Some("two numbers under three columns".into());
        assert!(t.validate(None, None).is_empty());
        assert_eq!(unknown.point(), None);
    }

    #[test]
    fn actuals_check_value_type() {
        let a = Actual {
            id: None,
            indicator: "beds_added".into(),
            scope: Scope {
                kind: ScopeKind::Unit,
                id: "x".into(),
            },
            period: "2019-01..2019-10".parse().unwrap(),
            value: f64::NAN,
            unit: None,
            note: None,
            source: None,
        };
        assert_eq!(
            rules(&a.validate(Some(&beds()), None)),
            [("value", "NOT_A_NUMBER")]
        );
    }
}
