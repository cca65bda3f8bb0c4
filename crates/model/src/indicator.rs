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
