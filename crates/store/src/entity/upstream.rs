//! `upstream`: province records (programme, component) a node keeps because its own
//! programmes refer to them. Written only by the catalogue flowing down from the hub.
use sea_orm::entity::prelude::*;

/// One province record.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "upstream")]
pub struct Model {
    /// `programme` or `component`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub entity: String,
    /// The province's local id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub entity_id: String,
    /// The province's version of it.
    pub version: i32,
    /// The province's row as JSON.
    pub payload: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
