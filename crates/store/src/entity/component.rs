//! `component`: nodes of a programme's component tree.
use sea_orm::entity::prelude::*;

/// A component.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "component")]
pub struct Model {
    /// Local id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Programme id.
    pub programme_id: String,
    /// Parent component id.
    pub parent_id: Option<String>,
    /// Kind (snake_case of `model::ComponentKind`).
    pub kind: String,
    /// Position among siblings.
    pub ordinal: i32,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Description.
    pub description_zh: Option<String>,
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
