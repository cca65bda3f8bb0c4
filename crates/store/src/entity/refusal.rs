//! `refusal`: write attempts that were refused (who, when, what, why) — the other half of the
//! audit trail. Local to each server; never replicated (a refused write changed nothing).
use sea_orm::entity::prelude::*;

/// One refused attempt.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refusal")]
pub struct Model {
    /// Order of recording.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// When (milliseconds since the epoch).
    pub at_ms: i64,
    /// Who (`anonymous` or `<role>:<sub>`).
    pub actor: String,
    /// What was attempted (`createActual`, `sync.push` …).
    pub operation: String,
    /// On what (arguments, abbreviated; the city for sync).
    pub target: String,
    /// `UNAUTHENTICATED` or `FORBIDDEN`.
    pub code: String,
    /// Why.
    pub message: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
