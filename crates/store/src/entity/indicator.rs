//! `indicator`: the catalogue (owned by the province).
use sea_orm::entity::prelude::*;

/// A catalogue entry.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "indicator")]
pub struct Model {
    /// Stable code (the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Unit of measure.
    pub unit: String,
    /// `integer`, `decimal` or `percent`.
    pub value_type: String,
    /// `sum`, `average`, `latest` or `max`.
    pub aggregation: String,
    /// `sum`, `coverage` or `not_additive` (snake_case of `model::ScopeAggregation`).
    pub over_scopes: String,
    /// Description.
    pub description_zh: Option<String>,
    /// A composite's formula (JSON of `model::Formula`); null for a reported indicator.
    pub formula: Option<String>,
    /// The kind of unit it counts (snake_case of `model::UnitKind`), if any.
    pub counts_units: Option<String>,
    /// Bumped on every write.
    pub version: i32,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
