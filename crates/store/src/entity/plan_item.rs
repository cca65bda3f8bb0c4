//! `plan_item`: cells of yearly task tables.
use sea_orm::entity::prelude::*;

/// A plan item.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "plan_item")]
pub struct Model {
    /// Local id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Unit id.
    pub unit_id: String,
    /// Canonical period text.
    pub period: String,
    /// First month as `YYYYMM`.
    pub period_start: i32,
    /// Last month as `YYYYMM`.
    pub period_end: i32,
    /// Category (snake_case of `model::PlanCategory`).
    pub category: String,
    /// The cell's text, verbatim.
    pub text: String,
    /// True when the cell cannot be read without guessing.
    pub ambiguous: bool,
    /// Why, or any remark.
    pub note: Option<String>,
    /// Cited document id.
    pub source_document: Option<String>,
    /// Quoted words.
    pub source_quote: Option<String>,
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
