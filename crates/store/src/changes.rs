//! The outbox. Every write appends one change record in its own transaction
//! ([`record`]); the node's pusher reads them in order ([`Store::changes_after`]).
//!
//! Invariants: `seq` starts at 1 and has no gaps (the counter row is bumped inside the writing
//! transaction, so a rolled-back write gives its number back and concurrent writers queue on
//! the row); a change carries the record's version after the write; a delete is a tombstone
//! (`op = "delete"`, no payload, version = deleted version + 1).

use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};

use crate::{
    Result, Store,
    entity::{change_log, change_seq},
    error::DbContext,
};

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Created or replaced; the payload is the record after the write.
    Upsert,
    /// Deleted; a tombstone without payload.
    Delete,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Upsert => "upsert",
            Self::Delete => "delete",
        }
    }
}

/// Takes the writers' lock inside `txn` without changing anything (see `Store::begin`).
pub(crate) async fn lock_writers<C: ConnectionTrait>(txn: &C) -> Result<()> {
    change_seq::Entity::update_many()
        .col_expr(
            change_seq::Column::LastSeq,
            Expr::col(change_seq::Column::LastSeq),
        )
        .filter(change_seq::Column::Id.eq(1))
        .exec(txn)
        .await
        .ctx("taking the writers' lock")?;
    Ok(())
}

/// Appends one change inside the caller's transaction and returns its sequence number.
pub(crate) async fn record<C: ConnectionTrait, R: serde::Serialize>(
    txn: &C,
    actor: Option<&str>,
    entity: &'static str,
    id: &str,
    op: Op,
    version: i32,
    row: Option<&R>,
) -> Result<i64> {
    change_seq::Entity::update_many()
        .col_expr(
            change_seq::Column::LastSeq,
            Expr::col(change_seq::Column::LastSeq).add(1),
        )
        .filter(change_seq::Column::Id.eq(1))
        .exec(txn)
        .await
        .ctx("advancing the change sequence")?;
    let seq = change_seq::Entity::find_by_id(1)
        .one(txn)
        .await
        .ctx("reading the change sequence")?
        .map(|r| r.last_seq)
        .ok_or_else(|| crate::Error::Corrupt {
            kind: "change_seq",
            id: "1".into(),
            detail: "missing counter row".into(),
        })?;
    let payload =
        row.map(serde_json::to_string)
            .transpose()
            .map_err(|e| crate::Error::Corrupt {
                kind: entity,
                id: id.to_owned(),
                detail: format!("cannot serialise: {e}"),
            })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    change_log::ActiveModel {
        seq: Set(seq),
        entity: Set(entity.to_owned()),
        entity_id: Set(id.to_owned()),
        op: Set(op.as_str().to_owned()),
        version: Set(version),
        payload: Set(payload),
        recorded_at_ms: Set(i64::try_from(now).unwrap_or(i64::MAX)),
        actor: Set(actor.map(str::to_owned)),
    }
    .insert(txn)
    .await
    .ctx("appending to the change log")?;
    Ok(seq)
}

/// One entry of the audit trail: a change and the record as it was before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The change (who, when, what, the record after).
    pub change: change_log::Model,
    /// The record before the change (the previous change's payload), if there was one.
    pub before: Option<String>,
}

impl Store {
    /// The audit trail, oldest first: changes with `seq > after`, optionally of one table or one
    /// record (`entity` + `entity_id`), at most `limit`, each with the record before it.
    pub async fn audit_trail(
        &self,
        entity: Option<&str>,
        entity_id: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<AuditEntry>> {
        let mut q = change_log::Entity::find().filter(change_log::Column::Seq.gt(after));
        if let Some(e) = entity {
            q = q.filter(change_log::Column::Entity.eq(e));
        }
        if let Some(id) = entity_id {
            q = q.filter(change_log::Column::EntityId.eq(id));
        }
        let changes = q
            .order_by_asc(change_log::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await
            .ctx("reading the audit trail")?;
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let before = change_log::Entity::find()
                .filter(change_log::Column::Entity.eq(change.entity.clone()))
                .filter(change_log::Column::EntityId.eq(change.entity_id.clone()))
                .filter(change_log::Column::Seq.lt(change.seq))
                .order_by_desc(change_log::Column::Seq)
                .one(&self.db)
                .await
                .ctx("reading a record's previous change")?
                .and_then(|c| c.payload);
            out.push(AuditEntry { change, before });
        }
        Ok(out)
    }

    /// Changes with `seq > after`, oldest first, at most `limit`.
    pub async fn changes_after(&self, after: i64, limit: u64) -> Result<Vec<change_log::Model>> {
        change_log::Entity::find()
            .filter(change_log::Column::Seq.gt(after))
            .order_by_asc(change_log::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await
            .ctx("reading the change log")
    }

    /// The last sequence number handed out (0 before any change).
    pub async fn last_seq(&self) -> Result<i64> {
        Ok(change_seq::Entity::find_by_id(1)
            .one(&self.db)
            .await
            .ctx("reading the change sequence")?
            .map_or(0, |r| r.last_seq))
    }
}
