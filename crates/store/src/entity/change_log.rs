//! `change_log`: the outbox. Every write appends its change here in the same transaction, with
//! a per-database, gap-free sequence number (`seq`); deletes are tombstones (`payload` null).
use sea_orm::entity::prelude::*;

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "change_log")]
pub struct Model {
    /// Gap-free sequence number, from 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// Table of the changed record (`unit`, `plan_item`, `target` …).
    pub entity: String,
    /// Local id (primary key) of the changed record.
    pub entity_id: String,
    /// `upsert` or `delete`.
    pub op: String,
    /// The record's version after the change (a tombstone carries the deleted version + 1).
    pub version: i32,
    /// The record as JSON after the change; null for a delete.
    pub payload: Option<String>,
    /// When it was recorded, milliseconds since the Unix epoch.
    pub recorded_at_ms: i64,
    /// Who made it (the caller's principal; `seed` for the seed import, `province` for the
    /// catalogue flowing down). Together with the previous change of the same record (its
    /// `before`), the change log is the audit trail.
    #[serde(default)]
    pub actor: Option<String>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
