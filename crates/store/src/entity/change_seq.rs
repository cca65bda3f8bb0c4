//! `change_seq`: the single counter row behind `change_log.seq`. It is incremented with an
//! atomic `UPDATE … SET last_seq = last_seq + 1` inside the writing transaction, so concurrent
//! writers serialise on it and a rolled-back write gives its number back: no gaps.
use sea_orm::entity::prelude::*;

/// The counter.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_seq")]
pub struct Model {
    /// Always 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// The last sequence number handed out (0 before the first change).
    pub last_seq: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
