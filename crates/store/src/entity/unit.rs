//! `unit`.
use sea_orm::entity::prelude::*;

/// A unit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "unit")]
pub struct Model {
    /// Local id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Programme id.
    pub programme_id: String,
    /// Component id.
    pub component_id: Option<String>,
    /// Institution id.
    pub institution_id: Option<String>,
    /// Kind (snake_case of `model::UnitKind`).
    pub kind: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Target level in the document's words.
    pub target_level: Option<String>,
    /// Target year.
    pub target_year: Option<i32>,
    /// Steps on the way to the target level (JSON list of `model::Milestone`), or none.
    #[sea_orm(column_type = "Text", nullable)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestones: Option<String>,
    /// A note on the document's wording or an open question.
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
