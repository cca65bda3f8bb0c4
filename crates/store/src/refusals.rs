//! Refused write attempts: recorded by the GraphQL layer and the sync endpoint, read by admins.

use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder, QuerySelect};

use crate::{Result, Store, entity::refusal, error::DbContext};

/// The longest `target` kept (arguments can be a whole CSV table).
const TARGET_CHARS: usize = 500;

/// One refused attempt, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefusal<'a> {
    /// Who.
    pub actor: &'a str,
    /// What was attempted.
    pub operation: &'a str,
    /// On what.
    pub target: &'a str,
    /// `UNAUTHENTICATED` / `FORBIDDEN`.
    pub code: &'a str,
    /// Why.
    pub message: &'a str,
}

impl Store {
    /// Records a refused attempt (its own transaction: nothing else was written).
    pub async fn record_refusal(&self, r: NewRefusal<'_>) -> Result<()> {
        let target: String = if r.target.chars().count() > TARGET_CHARS {
            r.target.chars().take(TARGET_CHARS).chain(['…']).collect()
        } else {
            r.target.to_owned()
        };
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        refusal::Entity::insert(refusal::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            at_ms: Set(at_ms),
            actor: Set(r.actor.to_owned()),
            operation: Set(r.operation.to_owned()),
            target: Set(target),
            code: Set(r.code.to_owned()),
            message: Set(r.message.to_owned()),
        })
        .exec_without_returning(&self.db)
        .await
        .ctx("recording a refused attempt")?;
        Ok(())
    }

    /// The latest `limit` refused attempts, newest first.
    pub async fn refusals(&self, limit: u64) -> Result<Vec<refusal::Model>> {
        refusal::Entity::find()
            .order_by_desc(refusal::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .ctx("reading refused attempts")
    }
}
