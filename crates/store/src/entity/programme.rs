//! `programme`.
use sea_orm::entity::prelude::*;

/// A programme.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "programme")]
pub struct Model {
    /// Local id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Issuing body.
    pub issuer: String,
    /// 文号.
    pub doc_number: String,
    /// `YYYY-MM-DD`.
    pub issued_on: String,
    /// Canonical period text.
    pub period: String,
    /// First month as `YYYYMM`.
    pub period_start: i32,
    /// Last month as `YYYYMM`.
    pub period_end: i32,
    /// `implements` or `follows`.
    pub relation: Option<String>,
    /// Global id of the parent programme.
    pub parent: Option<String>,
    /// Summary (zh).
    pub summary_zh: Option<String>,
    /// Summary (en).
    pub summary_en: Option<String>,
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
