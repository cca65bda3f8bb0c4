//! `target`.
use sea_orm::entity::prelude::*;

/// A target.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "target")]
pub struct Model {
    /// Local id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Indicator code.
    pub indicator: String,
    /// Scope kind (snake_case of `model::ScopeKind`).
    pub scope_kind: String,
    /// Scope id.
    pub scope_id: String,
    /// Canonical period text.
    pub period: String,
    /// First month as `YYYYMM`.
    pub period_start: i32,
    /// Last month as `YYYYMM`.
    pub period_end: i32,
    /// Comparator (snake_case of `model::Comparator`).
    pub comparator: String,
    /// Value.
    pub value: Option<f64>,
    /// Range lower bound.
    pub min_value: Option<f64>,
    /// Range upper bound.
    pub max_value: Option<f64>,
    /// Unit as entered.
    pub unit: Option<String>,
    /// Hedge word.
    pub qualifier: Option<String>,
    /// Cannot be read without guessing.
    pub ambiguous: bool,
    /// Remark.
    pub note: Option<String>,
    /// Cited document id.
    pub source_document: Option<String>,
    /// Quoted words.
    pub source_quote: Option<String>,
    /// The readings of an amount whose years are open (JSON list of `model::Reading`), or
    /// none. Left out of the row's JSON when none, so rows read the same as before it existed.
    #[sea_orm(column_type = "Text", nullable)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readings: Option<String>,
    /// The published table it is a row of (see `model::Target::table`).
    pub published_table: Option<String>,
    /// Its row in that table.
    pub table_row: Option<i32>,
    /// Fewest years the document gives to reach it (see `model::Target::duration`).
    pub duration_min: Option<i32>,
    /// Most years.
    pub duration_max: Option<i32>,
    /// List order and pagination key.
    #[sea_orm(unique)]
    pub sort_key: String,
    /// Bumped on every write.
    pub version: i32,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
