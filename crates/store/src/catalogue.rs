//! Metadata flowing down: the province's indicator catalogue and the province programme and
//! components that city programmes refer to travel from the hub's change log to every node.
//!
//! The hub serves its own change log filtered to [`CATALOGUE_ENTITIES`]
//! ([`Store::catalogue_after`]); a node applies a page in one transaction with its cursor
//! (`meta.sync.catalogue_seq`, [`Store::apply_catalogue`]). Indicators land in the node's own
//! `indicator` table — the catalogue its targets are validated against — as ordinary writes
//! with change records, so they flow back up and the replica stays identical to the node.
//! Province programmes and components land in `upstream`. A record is replaced only by a
//! newer version, so re-applying a page is a no-op.

use sea_orm::{
    ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};

use crate::{
    Result, Store,
    changes::{self, Op},
    entity::{actual, change_log, indicator, target, upstream},
    error::DbContext,
    replica::{read_seq_meta, upsert},
};

/// The entities that flow down.
pub const CATALOGUE_ENTITIES: &[&str] = &["indicator", "programme", "component"];

/// The `meta` key of a node's catalogue cursor (the hub's sequence it has read up to).
pub const CATALOGUE_SEQ: &str = "sync.catalogue_seq";

/// One page of the hub's catalogue changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CataloguePage {
    /// The hub's log was read up to here (the node's next cursor).
    pub scanned_to: i64,
    /// The hub's last sequence: more pages follow while `scanned_to < hub_seq`.
    pub hub_seq: i64,
    /// The catalogue changes among them, oldest first.
    pub changes: Vec<change_log::Model>,
}

/// What [`Store::apply_catalogue`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueApplied {
    /// Records written (newer versions).
    pub written: u64,
    /// Records left alone (same or older version, or a deleted indicator still in use).
    pub unchanged: u64,
    /// The cursor after the call.
    pub catalogue_seq: i64,
}

impl Store {
    /// (Hub) Catalogue changes after `after`, reading at most `limit` entries of the log.
    pub async fn catalogue_after(&self, after: i64, limit: u64) -> Result<CataloguePage> {
        let scanned = self.changes_after(after, limit).await?;
        let hub_seq = self.last_seq().await?;
        let scanned_to = scanned.last().map_or(after, |c| c.seq);
        Ok(CataloguePage {
            scanned_to,
            hub_seq,
            changes: scanned
                .into_iter()
                .filter(|c| CATALOGUE_ENTITIES.contains(&c.entity.as_str()))
                .collect(),
        })
    }

    /// (Node) The hub sequence this node has read the catalogue up to.
    pub async fn catalogue_seq(&self) -> Result<i64> {
        read_seq_meta(&self.db, CATALOGUE_SEQ).await
    }

    /// (Node) Applies a page of the province's catalogue in one transaction with the cursor.
    pub async fn apply_catalogue(&self, page: &CataloguePage) -> Result<CatalogueApplied> {
        let txn = self.begin().await?;
        let cursor = read_seq_meta(&txn, CATALOGUE_SEQ).await?;
        let mut out = CatalogueApplied {
            catalogue_seq: cursor.max(page.scanned_to),
            ..CatalogueApplied::default()
        };
        if page.scanned_to <= cursor {
            return Ok(out);
        }
        for (i, c) in page
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.seq > cursor)
        {
            let at = format!("changes[{i}]");
            let written = match (c.entity.as_str(), c.payload.as_deref()) {
                ("indicator", Some(payload)) => {
                    let current = indicator::Entity::find_by_id(c.entity_id.clone())
                        .one(&txn)
                        .await
                        .ctx("reading an indicator")?;
                    if current.is_some_and(|m| m.version >= c.version) {
                        false
                    } else {
                        upsert::<indicator::Entity>(&txn, payload, &at).await?;
                        let row: indicator::Model =
                            serde_json::from_str(payload).map_err(|e| crate::Error::Corrupt {
                                kind: "indicator",
                                id: c.entity_id.clone(),
                                detail: e.to_string(),
                            })?;
                        changes::record(
                            &txn,
                            Some("province"),
                            "indicator",
                            &row.code,
                            Op::Upsert,
                            row.version,
                            Some(&row),
                        )
                        .await?;
                        true
                    }
                }
                ("indicator", None) => {
                    let in_use = target::Entity::find()
                        .filter(target::Column::Indicator.eq(c.entity_id.clone()))
                        .count(&txn)
                        .await
                        .ctx("counting targets")?
                        + actual::Entity::find()
                            .filter(actual::Column::Indicator.eq(c.entity_id.clone()))
                            .count(&txn)
                            .await
                            .ctx("counting actuals")?;
                    let exists = indicator::Entity::find_by_id(c.entity_id.clone())
                        .one(&txn)
                        .await
                        .ctx("reading an indicator")?
                        .is_some();
                    if in_use > 0 {
                        tracing::warn!(code = %c.entity_id, in_use, "the province retired an indicator this city still uses; kept");
                    }
                    if exists && in_use == 0 {
                        indicator::Entity::delete_by_id(c.entity_id.clone())
                            .exec(&txn)
                            .await
                            .ctx("deleting an indicator")?;
                        changes::record(
                            &txn,
                            Some("province"),
                            "indicator",
                            &c.entity_id,
                            Op::Delete,
                            c.version,
                            None::<&()>,
                        )
                        .await?;
                        true
                    } else {
                        false
                    }
                }
                (entity @ ("programme" | "component"), payload) => {
                    let key = (entity.to_owned(), c.entity_id.clone());
                    let current = upstream::Entity::find_by_id(key.clone())
                        .one(&txn)
                        .await
                        .ctx("reading an upstream record")?;
                    if current.as_ref().is_some_and(|m| m.version >= c.version) {
                        false
                    } else if let Some(payload) = payload {
                        let row = upstream::Model {
                            entity: key.0,
                            entity_id: key.1,
                            version: c.version,
                            payload: payload.to_owned(),
                        };
                        upstream::Entity::insert(row.into_active_model())
                            .on_conflict(
                                OnConflict::columns([
                                    upstream::Column::Entity,
                                    upstream::Column::EntityId,
                                ])
                                .update_columns([
                                    upstream::Column::Version,
                                    upstream::Column::Payload,
                                ])
                                .to_owned(),
                            )
                            .exec_without_returning(&txn)
                            .await
                            .ctx("writing an upstream record")?;
                        true
                    } else {
                        upstream::Entity::delete_by_id(key)
                            .exec(&txn)
                            .await
                            .ctx("deleting an upstream record")?;
                        current.is_some()
                    }
                }
                _ => false,
            };
            if written {
                out.written += 1;
            } else {
                out.unchanged += 1;
            }
        }
        crate::writes::set_meta(&txn, CATALOGUE_SEQ, &page.scanned_to.to_string()).await?;
        txn.commit().await.ctx("committing the catalogue")?;
        Ok(out)
    }

    /// (Node) The province records kept in `upstream` (`programme` or `component`).
    pub async fn upstream(&self, entity: &str) -> Result<Vec<upstream::Model>> {
        upstream::Entity::find()
            .filter(upstream::Column::Entity.eq(entity))
            .all(&self.db)
            .await
            .ctx("reading upstream records")
    }
}
