//! The indicator catalogue, owned by the province: what can be counted, in which unit of
//! measure, and how values combine over time and over scopes.

use serde::{Deserialize, Serialize};

use crate::Violations;

/// The kind of number an indicator takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// Whole counts (beds, people, papers); never negative.
    Integer,
    /// Amounts with decimals (funding in 万元, areas); never negative.
    Decimal,
    /// A percentage; may be negative (a fall).
    Percent,
}

/// How values of an indicator combine over time (the years of a span).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Add them up (beds added, funding).
    Sum,
    /// Average them (rates).
    Average,
    /// Take the latest (stock levels such as total beds).
    Latest,
    /// Take the largest.
    Max,
    /// Year-on-year rates (growth over the previous year, in %): a span compounds them,
    /// `(∏(1 + rᵢ/100) − 1) × 100`; several reports within one year are averaged.
    Compound,
}

/// How values of an indicator combine across scopes: units, institutions, components within a
/// city, and cities within the province.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeAggregation {
    /// Counts, stocks and money: add them up (beds, people, papers, 万元).
    Sum,
    /// Members of a population covered (counties of a city): within one city the scopes may
    /// cover the same members, so their union lies between the largest and the sum (capped
    /// at the city's population when known) and is given as that range; cities cover
    /// disjoint members, so across cities the ranges add up.
    Coverage,
    /// Rates and percentages: never added, and not averaged without a denominator. One scope
    /// shows its number; several show no combined number, only how many, the smallest and the
    /// largest (`NOT_ADDITIVE`).
    NotAdditive,
}

/// A catalogue entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Stable code, e.g. `beds_added`.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Unit of measure as written in the documents: 张, 名, 万元, %, 篇, 项, 个 …
    pub unit: String,
    /// The kind of number.
    pub value_type: ValueType,
    /// How values combine over time.
    pub aggregation: Aggregation,
    /// How values combine across scopes and cities.
    pub over_scopes: ScopeAggregation,
    /// Longer description in Chinese.
    #[serde(default)]
    pub description_zh: Option<String>,
    /// For a composite indicator: how it is computed from other catalogue indicators. A
    /// composite is never reported; comparisons evaluate it at every level.
    #[serde(default)]
    pub formula: Option<Formula>,
    /// For an indicator that counts units of one kind (领军专科 → specialties): the kind. A
    /// comparison then sets a programme's or component's target against the units named under
    /// it — what was named, next to what was planned and what was reported.
    #[serde(default)]
    pub counts_units: Option<crate::UnitKind>,
}

/// How a composite indicator is computed from other catalogue indicators, as DHIS2 indicators
/// are: evaluated after each operand has been combined (over scopes and over time) by its own
/// declaration, so a sum of ranges is a range, an at-least term makes the total at-least, and a
/// ratio is the ratio of its combined parts (never an average of ratios).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Formula {
    /// The terms added up (at least two; same unit of measure and over-time aggregation).
    Sum {
        /// Indicator codes.
        terms: Vec<String>,
    },
    /// `minuend` less `subtrahend` (same unit of measure and over-time aggregation).
    Difference {
        /// Indicator code taken from.
        minuend: String,
        /// Indicator code taken away.
        subtrahend: String,
    },
    /// `numerator` ÷ `denominator` × `scale` (100 for a percentage).
    Ratio {
        /// Indicator code above the line.
        numerator: String,
        /// Indicator code below the line.
        denominator: String,
        /// Factor applied to the quotient.
        scale: f64,
    },
}

impl Formula {
    /// The indicators the formula reads, each with its sign (+1 added, −1 taken away; a ratio's
    /// numerator is +1 and its denominator −1, as in an exponent).
    pub fn operands(&self) -> Vec<(&str, i8)> {
        match self {
            Self::Sum { terms } => terms.iter().map(|t| (t.as_str(), 1)).collect(),
            Self::Difference {
                minuend,
                subtrahend,
            } => vec![(minuend, 1), (subtrahend, -1)],
            Self::Ratio {
                numerator,
                denominator,
                ..
            } => vec![(numerator, 1), (denominator, -1)],
        }
    }

    /// Checks the formula against the catalogue it lives in (`lookup` finds an entry by code;
    /// `this` is the composite being defined): every operand exists, none is the composite
    /// itself or reaches it through other composites, added operands share a unit of measure
    /// and an over-time aggregation, no operand is a rate that must not be added or divided,
    /// and the composite's own declarations follow from its operands.
    pub fn validate<'a>(
        &self,
        this: &Indicator,
        lookup: &dyn Fn(&str) -> Option<&'a Indicator>,
    ) -> Violations {
        let mut v = Violations::new();
        let mut operands = Vec::new();
        for (i, (code, _)) in self.operands().into_iter().enumerate() {
            let field = format!("formula.operands[{i}]");
            if code == this.code {
                v.push(
                    field,
                    "COMPOSITE_CYCLE",
                    format!("`{code}` cannot be its own operand"),
                );
                continue;
            }
            let Some(ind) = lookup(code) else {
                v.push(
                    field,
                    "UNKNOWN_INDICATOR",
                    format!("`{code}` is not in the province's catalogue"),
                );
                continue;
            };
            if reaches(ind, &this.code, lookup, 0) {
                v.push(
                    field.clone(),
                    "COMPOSITE_CYCLE",
                    format!("`{code}` is computed from `{}` itself", this.code),
                );
            }
            if ind.over_scopes == ScopeAggregation::NotAdditive {
                v.push(
                    field.clone(),
                    "NOT_ADDITIVE",
                    format!(
                        "`{code}` is a rate or percentage: it is never added, and a ratio of it \
                         has no denominator"
                    ),
                );
            }
            operands.push((field, ind));
        }
        let Some((_, first)) = operands.first() else {
            return v;
        };
        let (first_unit, first_time) = (first.unit.clone(), first.aggregation);
        for (field, ind) in &operands[1..] {
            if !matches!(self, Self::Ratio { .. }) && ind.unit != first_unit {
                v.push(
                    field.clone(),
                    "UNIT_MISMATCH",
                    format!(
                        "`{}` is measured in {}, `{}` in {first_unit}: they cannot be added",
                        ind.code, ind.unit, first.code
                    ),
                );
            }
            if ind.aggregation != first_time {
                v.push(
                    field.clone(),
                    "AGGREGATION_MISMATCH",
                    format!(
                        "`{}` combines over time as {:?}, `{}` as {first_time:?}",
                        ind.code, ind.aggregation, first.code
                    ),
                );
            }
        }
        v.check(
            this.aggregation == first_time,
            "aggregation",
            "AGGREGATION_MISMATCH",
            format!("a composite combines over time as its operands do ({first_time:?})"),
        );
        match self {
            Self::Ratio { .. } => v.check(
                this.over_scopes == ScopeAggregation::NotAdditive,
                "overScopes",
                "NOT_ADDITIVE",
                "a ratio is never added across scopes (it is recomputed from its parts): \
                 declare not_additive",
            ),
            _ => {
                v.check(
                    this.unit == first_unit,
                    "unit",
                    "UNIT_MISMATCH",
                    format!("a sum or difference is measured as its terms ({first_unit})"),
                );
                v.check(
                    this.over_scopes == ScopeAggregation::Sum,
                    "overScopes",
                    "COMPOSITE_SHAPE",
                    "a sum or difference adds up across scopes: declare sum",
                );
            }
        }
        v
    }
}

/// True when `ind` is `target` or is computed (directly or through other composites) from it.
fn reaches<'a>(
    ind: &Indicator,
    target: &str,
    lookup: &dyn Fn(&str) -> Option<&'a Indicator>,
    depth: u32,
) -> bool {
    if ind.code == target {
        return true;
    }
    // The catalogue is small; the bound only guards against a cycle already stored.
    if depth > 16 {
        return true;
    }
    ind.formula.as_ref().is_some_and(|f| {
        f.operands()
            .into_iter()
            .any(|(code, _)| lookup(code).is_some_and(|o| reaches(o, target, lookup, depth + 1)))
    })
}

impl Indicator {
    /// Checks fields.
    pub fn validate(&self) -> Violations {
        let mut v = Violations::new();
        v.check(
            !self.code.is_empty()
                && self.code.len() <= 64
                && self
                    .code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "code",
            "BAD_CODE",
            "must be snake_case ASCII, at most 64 characters",
        );
        v.require_name("nameZh", &self.name_zh);
        v.require_name("nameEn", &self.name_en);
        v.require_name("unit", &self.unit);
        v.optional_text("descriptionZh", self.description_zh.as_deref());
        v.check(
            self.counts_units.is_none()
                || (self.value_type == ValueType::Integer && self.formula.is_none()),
            "countsUnits",
            "COUNTS_UNITS_SHAPE",
            "only a reported whole-number indicator counts units",
        );
        match &self.formula {
            Some(Formula::Sum { terms }) => {
                v.check(
                    (2..=20).contains(&terms.len()),
                    "formula.terms",
                    "COMPOSITE_SHAPE",
                    "a sum names between 2 and 20 terms",
                );
                let mut seen = std::collections::BTreeSet::new();
                for (i, t) in terms.iter().enumerate() {
                    v.check(
                        seen.insert(t.as_str()),
                        &format!("formula.terms[{i}]"),
                        "COMPOSITE_SHAPE",
                        format!("`{t}` is named twice"),
                    );
                }
            }
            Some(Formula::Difference {
                minuend,
                subtrahend,
            }) => v.check(
                minuend != subtrahend,
                "formula.subtrahend",
                "COMPOSITE_SHAPE",
                "a difference of an indicator with itself is always zero",
            ),
            Some(Formula::Ratio {
                numerator,
                denominator,
                scale,
            }) => {
                v.check(
                    numerator != denominator,
                    "formula.denominator",
                    "COMPOSITE_SHAPE",
                    "a ratio of an indicator to itself is always one",
                );
                v.check(
                    scale.is_finite() && *scale > 0.0 && *scale <= 1e6,
                    "formula.scale",
                    "COMPOSITE_SHAPE",
                    "the scale is a positive number (100 for a percentage)",
                );
            }
            None => {}
        }
        if let Some(f) = &self.formula {
            for (i, (code, _)) in f.operands().into_iter().enumerate() {
                v.check(
                    code != self.code,
                    &format!("formula.operands[{i}]"),
                    "COMPOSITE_CYCLE",
                    format!("`{code}` cannot be its own operand"),
                );
            }
        }
        v.check(
            self.value_type != ValueType::Percent || self.unit == "%",
            "unit",
            "UNIT_MISMATCH",
            "a percent indicator is measured in %",
        );
        v.check(
            self.value_type != ValueType::Percent
                || self.over_scopes == ScopeAggregation::NotAdditive,
            "overScopes",
            "NOT_ADDITIVE",
            "percentages are never added across scopes: declare not_additive",
        );
        v
    }

    /// Checks one value against the indicator's type (finite and within
    /// [`crate::error::MAX_MAGNITUDE`] first).
    pub fn check_value(&self, field: &str, value: f64, v: &mut Violations) {
        let before = v.0.len();
        v.bounded_number(field, value);
        if v.0.len() > before {
            return;
        }
        match self.value_type {
            ValueType::Integer => {
                v.check(
                    value >= 0.0,
                    field,
                    "NEGATIVE",
                    format!("{} cannot be negative", self.code),
                );
                v.check(
                    value.fract() == 0.0,
                    field,
                    "NOT_AN_INTEGER",
                    format!("{} counts whole {}", self.code, self.unit),
                );
            }
            ValueType::Decimal => {
                v.check(
                    value >= 0.0,
                    field,
                    "NEGATIVE",
                    format!("{} cannot be negative", self.code),
                );
            }
            ValueType::Percent => {
                v.check(
                    (-100.0..=10_000.0).contains(&value),
                    field,
                    "OUT_OF_RANGE",
                    "a percentage must lie in -100..10000",
                );
            }
        }
    }
}
