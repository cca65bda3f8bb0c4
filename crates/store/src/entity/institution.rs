//! `institution`.
use sea_orm::entity::prelude::*;

/// An institution.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "institution")]
pub struct Model {
    /// Local id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// GB/T 2260 region code.
    pub region: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Other names, as a JSON array of strings.
    pub aliases: String,
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
