//! `document`: source documents cited by seeded facts.
use sea_orm::entity::prelude::*;

/// A source document.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "document")]
pub struct Model {
    /// Local id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// 文号, if any.
    pub doc_number: Option<String>,
    /// Title.
    pub title: String,
    /// Issuing body.
    pub issuer: String,
    /// `YYYY-MM-DD`.
    pub issued_on: String,
    /// Original file name.
    pub file: String,
}

/// No relations are declared: queries join by id explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
