//! Sync histories: which line of a city's changes a database holds.
//!
//! Sequence numbers alone cannot tell two lines apart: a node restored from a backup at seq
//! 338 numbers its next change 339 again, although the hub already applied another 339. So
//! every node database carries a **history id** (`meta.sync.history`, random, created on first
//! use and renewed when a database is restored or found diverged), and a replica records the
//! history it mirrors. Pushes carry the node's history; the hub refuses another one. Within
//! one history, the **digest of the change at the hub's cursor** tells whether the node still
//! holds what the hub applied ([`change_digest`]): a file copy restored over a node keeps its
//! history id, but its change at that sequence is a different change.

use sea_orm::{EntityTrait, TransactionTrait};
use sha2::{Digest, Sha256};

use crate::{Error, Result, Store, entity::change_log, error::DbContext};

/// The `meta` key of a database's history id.
pub const HISTORY: &str = "sync.history";

/// A fresh history id: 128 random bits, hex.
pub fn new_history_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Config(format!("no randomness for a history id: {e}")))?;
    Ok(crate::replica::hex(&bytes))
}

/// SHA-256 (hex) of one change as the change log stores it: node and replica compute the same
/// digest for the same change, on either backend.
pub fn change_digest(change: &change_log::Model) -> String {
    let json = serde_json::to_string(change).unwrap_or_default();
    crate::replica::hex(&Sha256::digest(json.as_bytes()))
}

impl Store {
    /// This node database's history id, created (once, atomically) on first use.
    pub async fn history(&self) -> Result<String> {
        if let Some(h) = self.meta(HISTORY).await? {
            return Ok(h);
        }
        // Two first callers at once (the pusher and a request) must get one id: the first
        // insert wins, the other does nothing, and both read what was stored.
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let row = crate::entity::meta::ActiveModel {
            key: sea_orm::Set(HISTORY.to_owned()),
            value: sea_orm::Set(new_history_id()?),
        };
        crate::entity::meta::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(crate::entity::meta::Column::Key)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .ctx("creating the history id")?;
        let id = crate::entity::meta::Entity::find_by_id(HISTORY.to_owned())
            .one(&txn)
            .await
            .ctx("reading the history id")?
            .map(|m| m.value)
            .ok_or_else(|| Error::Corrupt {
                kind: "meta",
                id: HISTORY.to_owned(),
                detail: "the history id vanished while it was created".to_owned(),
            })?;
        txn.commit().await.ctx("committing the history id")?;
        Ok(id)
    }

    /// Starts a new history for this database (restored from a backup, or found to differ
    /// from what the hub applied): from now on its changes cannot be mistaken for those of
    /// the database it was copied from.
    pub async fn renew_history(&self) -> Result<String> {
        let id = new_history_id()?;
        self.set_meta(HISTORY, &id).await?;
        tracing::warn!(city = %self.owner, history = %id, "started a new sync history");
        Ok(id)
    }

    /// The history a replica mirrors (`None` before its first push or snapshot of one).
    pub async fn held_history(&self) -> Result<Option<String>> {
        self.meta(HISTORY).await
    }

    /// The digest of the change at `seq` in this database's change log (`None` if absent).
    pub async fn change_digest_at(&self, seq: i64) -> Result<Option<String>> {
        Ok(change_log::Entity::find_by_id(seq)
            .one(&self.db)
            .await
            .ctx("reading a change")?
            .map(|c| change_digest(&c)))
    }
}
