//! Sync's database side: applying a city's changes to the hub's replica of that city, the
//! snapshot a node hands over to (re)build a replica, and per-table digests to compare the two.
//!
//! A replica is an ordinary [`Store`] (same migrations, same tables) owned by the city it
//! mirrors, so the hub answers replica queries with the very code a node answers with. It never
//! writes change records of its own: its `change_log` holds the city's changes as applied (the
//! city's audit trail, travelling with its data), and its cursor (`meta.sync.applied_seq`) is
//! the last city sequence number applied, advanced in the same transaction as the rows.
//!
//! Invariants of [`Store::apply_changes`]:
//! - a batch is applied whole or not at all (one transaction, cursor included);
//! - changes at or below the cursor are skipped (a re-sent batch is a no-op);
//! - the first change above the cursor must be `cursor + 1` ([`Error::Gap`] otherwise, nothing
//!   written) and the batch must be contiguous.

use std::collections::BTreeMap;

use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IdenStatic,
    IntoActiveModel, IsolationLevel, Iterable, PrimaryKeyToColumn, QueryFilter, TransactionTrait,
    sea_query::OnConflict,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::{
    Error, Result, Store,
    entity::{
        actual, change_log, change_seq, component, document, indicator, institution, plan_item,
        programme, target, unit,
    },
    error::DbContext,
};

/// The replicated tables, in the order a snapshot is written.
pub const TABLES: &[&str] = &[
    "document",
    "indicator",
    "programme",
    "component",
    "institution",
    "unit",
    "plan_item",
    "target",
    "actual",
];

/// Tables `digests` covers: the replicated tables and the change log (the audit trail).
fn digested() -> impl Iterator<Item = &'static str> {
    TABLES.iter().copied().chain(["change_log"])
}

/// The `meta` key of a replica's cursor.
pub const APPLIED_SEQ: &str = "sync.applied_seq";

/// The `meta` key under which the hubs keep what they know of the city's node (the last
/// report, errors, counts; its form is the sync crate's), so every hub serving this replica
/// database reads the same.
pub const SYNC_STATUS: &str = "sync.status";

/// Runs `$f::<Entity>($args)` for the table named `$table`.
macro_rules! per_table {
    ($table:expr, $f:ident ( $($arg:expr),* )) => {
        match $table {
            "document" => $f::<document::Entity>($($arg),*).await,
            "indicator" => $f::<indicator::Entity>($($arg),*).await,
            "programme" => $f::<programme::Entity>($($arg),*).await,
            "component" => $f::<component::Entity>($($arg),*).await,
            "institution" => $f::<institution::Entity>($($arg),*).await,
            "unit" => $f::<unit::Entity>($($arg),*).await,
            "plan_item" => $f::<plan_item::Entity>($($arg),*).await,
            "target" => $f::<target::Entity>($($arg),*).await,
            "actual" => $f::<actual::Entity>($($arg),*).await,
            "change_log" => $f::<change_log::Entity>($($arg),*).await,
            other => Err(unknown_table(other)),
        }
    };
}

fn unknown_table(name: &str) -> Error {
    Error::Invalid(model::Violations(vec![model::ValidationError::new(
        "entity",
        "UNKNOWN_ENTITY",
        format!("`{name}` is not a replicated table"),
    )]))
}

fn malformed(field: String, rule: &'static str, message: String) -> Error {
    Error::Invalid(model::Violations(vec![model::ValidationError::new(
        field, rule, message,
    )]))
}

/// What [`Store::apply_changes`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Changes written by this call.
    pub applied: u64,
    /// Changes skipped because the replica already had them.
    pub skipped: u64,
    /// The cursor after the call.
    pub applied_seq: i64,
}

/// Test hook: make [`Store::apply_changes`] fail inside its transaction after this many rows,
/// as a crash between two statements would.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrashAfter(pub Option<usize>);

/// Every replicated row of a city at one sequence number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The city's last sequence number when the snapshot was read.
    pub seq: i64,
    /// Rows per table, as JSON objects (the entity's columns).
    pub tables: BTreeMap<String, Vec<serde_json::Value>>,
    /// The change log up to `seq`: the city's audit trail travels with its data.
    #[serde(default)]
    pub log: Vec<change_log::Model>,
    /// The node's history id (`crate::history`); the replica takes it on.
    #[serde(default)]
    pub history: Option<String>,
}

impl Snapshot {
    /// Number of rows in all tables.
    pub fn rows(&self) -> usize {
        self.tables.values().map(Vec::len).sum()
    }
}

/// One table's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDigest {
    /// Table name.
    pub table: String,
    /// Row count.
    pub rows: u64,
    /// SHA-256 (hex) over the rows' `id` and row hash, in id order.
    pub sha256: String,
}

/// Per-table digests of a database, read in one transaction, with the sequence number they
/// reflect (the node's last sequence, or the replica's cursor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    /// Last change sequence (node) or applied sequence (replica).
    pub seq: i64,
    /// One per replicated table, in [`TABLES`] order.
    pub tables: Vec<TableDigest>,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn pk_column<E: EntityTrait>() -> Result<E::Column> {
    E::PrimaryKey::iter()
        .next()
        .map(PrimaryKeyToColumn::into_column)
        .ok_or_else(|| Error::Config("table without a primary key".into()))
}

pub(crate) async fn upsert<E>(txn: &DatabaseTransaction, payload: &str, at: &str) -> Result<()>
where
    E: EntityTrait,
    E::Model: DeserializeOwned + IntoActiveModel<E::ActiveModel>,
{
    let row: E::Model = serde_json::from_str(payload).map_err(|e| {
        malformed(
            format!("{at}.payload"),
            "BAD_PAYLOAD",
            format!("not a {} row: {e}", E::default().table_name()),
        )
    })?;
    let pk = pk_column::<E>()?;
    let others: Vec<E::Column> = E::Column::iter()
        .filter(|c| c.as_str() != pk.as_str())
        .collect();
    E::insert(row.into_active_model())
        .on_conflict(OnConflict::column(pk).update_columns(others).to_owned())
        .exec_without_returning(txn)
        .await
        .ctx("applying an upsert")?;
    Ok(())
}

/// One change of a run, with its position in the pushed batch (for error fields).
struct Row<'a> {
    change: &'a change_log::Model,
    index: usize,
}

/// Rows per multi-row statement (PostgreSQL allows 65 535 bind parameters).
const ROWS_PER_STATEMENT: usize = 200;

/// Upserts a run of changes to one table: the last version of each id, many rows per
/// statement. A statement the database refuses (a unique `sort_key` that only clears later
/// in the same statement) is rolled back to its savepoint and replayed row by row in log order.
async fn upsert_run<E>(txn: &DatabaseTransaction, run: &[Row<'_>]) -> Result<()>
where
    E: EntityTrait,
    E::Model: DeserializeOwned + IntoActiveModel<E::ActiveModel>,
{
    let table = E::default().table_name();
    // The last change of each id wins; keep log order among the survivors.
    let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (k, r) in run.iter().enumerate() {
        last.insert(r.change.entity_id.as_str(), k);
    }
    let survivors: Vec<&Row<'_>> = run
        .iter()
        .enumerate()
        .filter(|(k, r)| last.get(r.change.entity_id.as_str()) == Some(k))
        .map(|(_, r)| r)
        .collect();
    let pk = pk_column::<E>()?;
    let others: Vec<E::Column> = E::Column::iter()
        .filter(|c| c.as_str() != pk.as_str())
        .collect();
    for chunk in survivors.chunks(ROWS_PER_STATEMENT) {
        let mut models = Vec::with_capacity(chunk.len());
        for r in chunk {
            let payload = r.change.payload.as_deref().unwrap_or_default();
            let m: E::Model = serde_json::from_str(payload).map_err(|e| {
                malformed(
                    format!("changes[{}].payload", r.index),
                    "BAD_PAYLOAD",
                    format!("not a {table} row: {e}"),
                )
            })?;
            models.push(m.into_active_model());
        }
        let savepoint = txn.begin().await.ctx("starting a savepoint")?;
        let many = E::insert_many(models)
            .on_conflict(
                OnConflict::column(pk)
                    .update_columns(others.clone())
                    .to_owned(),
            )
            .exec_without_returning(&savepoint)
            .await;
        match many {
            Ok(_) => savepoint.commit().await.ctx("releasing a savepoint")?,
            Err(e) => {
                savepoint
                    .rollback()
                    .await
                    .ctx("rolling back to a savepoint")?;
                tracing::debug!(table, error = %e, "multi-row upsert refused; replaying row by row");
                for r in run.iter().filter(|r| {
                    chunk
                        .iter()
                        .any(|c| c.change.entity_id == r.change.entity_id)
                }) {
                    let at = format!("changes[{}]", r.index);
                    upsert::<E>(txn, r.change.payload.as_deref().unwrap_or_default(), &at).await?;
                }
            }
        }
    }
    Ok(())
}

/// Deletes a run of tombstoned ids from one table.
async fn delete_run<E: EntityTrait>(txn: &DatabaseTransaction, run: &[Row<'_>]) -> Result<()> {
    let pk = pk_column::<E>()?;
    for chunk in run.chunks(ROWS_PER_STATEMENT * 5) {
        E::delete_many()
            .filter(pk.is_in(chunk.iter().map(|r| r.change.entity_id.clone())))
            .exec(txn)
            .await
            .ctx("applying deletes")?;
    }
    Ok(())
}

async fn clear<E: EntityTrait>(txn: &DatabaseTransaction) -> Result<()> {
    E::delete_many()
        .exec(txn)
        .await
        .ctx("clearing a replica table")?;
    Ok(())
}

async fn insert_rows<E>(txn: &DatabaseTransaction, rows: &[serde_json::Value]) -> Result<()>
where
    E: EntityTrait,
    E::Model: DeserializeOwned + IntoActiveModel<E::ActiveModel>,
{
    let table = E::default().table_name();
    // Bounded statements: PostgreSQL allows 65 535 bind parameters per statement.
    for (chunk_no, chunk) in rows.chunks(200).enumerate() {
        let mut models = Vec::with_capacity(chunk.len());
        for (i, r) in chunk.iter().enumerate() {
            let m: E::Model = serde_json::from_value(r.clone()).map_err(|e| {
                malformed(
                    format!("tables.{table}[{}]", chunk_no * 200 + i),
                    "BAD_PAYLOAD",
                    format!("not a {table} row: {e}"),
                )
            })?;
            models.push(m.into_active_model());
        }
        E::insert_many(models)
            .exec_without_returning(txn)
            .await
            .ctx("writing snapshot rows")?;
    }
    Ok(())
}

/// `(id, row hash)` of every row of one table, sorted by id bytes (not by the database's
/// collation, which differs between PostgreSQL and SQLite).
async fn row_hashes_of<E>(db: &impl ConnectionTrait) -> Result<Vec<(String, String)>>
where
    E: EntityTrait,
    E::Model: Serialize,
{
    let pk = pk_column::<E>()?.as_str();
    let rows = E::find().all(db).await.ctx("reading rows to digest")?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let json = serde_json::to_value(&row).map_err(|e| Error::Corrupt {
            kind: "row",
            id: String::new(),
            detail: format!("cannot serialise: {e}"),
        })?;
        let id = match json.get(pk) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => format!("{other:0>20}"),
            None => String::new(),
        };
        let hash = hex(&Sha256::digest(json.to_string().as_bytes()));
        out.push((id, hash));
    }
    out.sort_unstable();
    Ok(out)
}

async fn rows_of<E>(db: &impl ConnectionTrait) -> Result<Vec<serde_json::Value>>
where
    E: EntityTrait,
    E::Model: Serialize,
{
    let rows = E::find().all(db).await.ctx("reading rows for a snapshot")?;
    rows.iter()
        .map(|r| {
            serde_json::to_value(r).map_err(|e| Error::Corrupt {
                kind: "row",
                id: String::new(),
                detail: format!("cannot serialise: {e}"),
            })
        })
        .collect()
}

fn digest_of(table: &str, hashes: &[(String, String)]) -> TableDigest {
    let mut h = Sha256::new();
    for (id, row) in hashes {
        h.update(id.as_bytes());
        h.update([0]);
        h.update(row.as_bytes());
        h.update([b'\n']);
    }
    TableDigest {
        table: table.to_owned(),
        rows: hashes.len() as u64,
        sha256: hex(&h.finalize()),
    }
}

/// A `meta` value read in a transaction.
pub(crate) async fn read_meta(txn: &impl ConnectionTrait, key: &str) -> Result<Option<String>> {
    Ok(crate::entity::meta::Entity::find_by_id(key.to_owned())
        .one(txn)
        .await
        .ctx("reading meta")?
        .map(|m| m.value))
}

/// A sequence number kept in `meta` under `key` (0 when absent).
pub(crate) async fn read_seq_meta(txn: &impl ConnectionTrait, key: &str) -> Result<i64> {
    let row = crate::entity::meta::Entity::find_by_id(key.to_owned())
        .one(txn)
        .await
        .ctx("reading a sync cursor")?;
    match row {
        None => Ok(0),
        Some(m) => m.value.parse().map_err(|_| Error::Corrupt {
            kind: "meta",
            id: key.to_owned(),
            detail: format!("`{}` is not a sequence number", m.value),
        }),
    }
}

async fn read_applied(txn: &impl ConnectionTrait) -> Result<i64> {
    read_seq_meta(txn, APPLIED_SEQ).await
}

impl Store {
    /// A read-only transaction that sees one consistent state of the database.
    async fn consistent_read(&self) -> Result<DatabaseTransaction> {
        let isolation = match self.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => Some(IsolationLevel::RepeatableRead),
            _ => None,
        };
        let access = match self.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => Some(AccessMode::ReadOnly),
            _ => None,
        };
        self.db
            .begin_with_config(isolation, access)
            .await
            .ctx("starting a read transaction")
    }

    /// The replica's cursor: the last city sequence number applied (0 when empty).
    pub async fn applied_seq(&self) -> Result<i64> {
        read_applied(&self.db).await
    }

    /// The replica's cursor and the hubs' shared sync status ([`SYNC_STATUS`]), in one read.
    pub async fn sync_meta(&self) -> Result<(i64, Option<String>)> {
        let rows = crate::entity::meta::Entity::find()
            .filter(crate::entity::meta::Column::Key.is_in([APPLIED_SEQ, SYNC_STATUS]))
            .all(&self.db)
            .await
            .ctx("reading the sync state")?;
        let mut applied = 0;
        let mut status = None;
        for m in rows {
            if m.key == APPLIED_SEQ {
                applied = m.value.parse().map_err(|_| Error::Corrupt {
                    kind: "meta",
                    id: APPLIED_SEQ.to_owned(),
                    detail: format!("`{}` is not a sequence number", m.value),
                })?;
            } else {
                status = Some(m.value);
            }
        }
        Ok((applied, status))
    }

    /// Replaces `meta[key]` with `f(current value)` under the writers' lock, so updates from
    /// several servers on one database (two hubs) never overwrite each other; returns the
    /// value written.
    pub async fn update_meta(
        &self,
        key: &str,
        f: impl FnOnce(Option<String>) -> String,
    ) -> Result<String> {
        let txn = self.begin().await?;
        let value = f(read_meta(&txn, key).await?);
        crate::writes::set_meta(&txn, key, &value).await?;
        txn.commit().await.ctx("committing meta")?;
        Ok(value)
    }

    /// Applies a city's changes (oldest first) to this replica in one transaction together with
    /// the cursor. See the module documentation for the rules.
    pub async fn apply_changes(
        &self,
        changes: &[change_log::Model],
        history: Option<&str>,
        crash: CrashAfter,
    ) -> Result<Applied> {
        let txn = self.begin().await?;
        // One history per replica: a replica that mirrors none yet takes the pushed one.
        if let Some(pushed) = history {
            match crate::replica::read_meta(&txn, crate::history::HISTORY).await? {
                Some(held) if held != pushed => {
                    return Err(Error::History {
                        replica: held,
                        pushed: pushed.to_owned(),
                    });
                }
                Some(_) => {}
                None => crate::writes::set_meta(&txn, crate::history::HISTORY, pushed).await?,
            }
        }
        let cursor = read_applied(&txn).await?;
        let fresh: Vec<&change_log::Model> = changes.iter().filter(|c| c.seq > cursor).collect();
        let skipped = (changes.len() - fresh.len()) as u64;
        let Some(first) = fresh.first() else {
            txn.commit().await.ctx("committing a history")?;
            return Ok(Applied {
                applied: 0,
                skipped,
                applied_seq: cursor,
            });
        };
        if first.seq != cursor + 1 {
            return Err(Error::Gap {
                expected: cursor + 1,
                got: first.seq,
            });
        }
        // Check the whole batch before writing anything.
        let mut expected = cursor + 1;
        for (n, c) in fresh.iter().enumerate() {
            let at = format!("changes[{}]", skipped as usize + n);
            if c.seq != expected {
                return Err(malformed(
                    format!("{at}.seq"),
                    "NOT_CONTIGUOUS",
                    format!("expected sequence {expected}, got {}", c.seq),
                ));
            }
            if !TABLES.contains(&c.entity.as_str()) {
                return Err(malformed(
                    format!("{at}.entity"),
                    "UNKNOWN_ENTITY",
                    format!("`{}` is not a replicated table", c.entity),
                ));
            }
            if !matches!(
                (c.op.as_str(), c.payload.is_some()),
                ("upsert", true) | ("delete", false)
            ) {
                return Err(malformed(
                    format!("{at}.op"),
                    "BAD_OP",
                    format!("`{}` with this payload is not a change", c.op),
                ));
            }
            expected += 1;
        }
        // What the roll-ups must recompute, read while the old rows are still there.
        let touched = crate::rollup::Touched::before(&txn, &fresh).await?;
        // Then write it run by run: consecutive changes to one table with one operation go in
        // as few statements as possible, in log order.
        let mut i = 0;
        while i < fresh.len() {
            let (entity, op) = (fresh[i].entity.as_str(), fresh[i].op.as_str());
            let mut j = i + 1;
            while j < fresh.len() && fresh[j].entity == entity && fresh[j].op == op {
                j += 1;
            }
            let mut run: Vec<Row<'_>> = fresh[i..j]
                .iter()
                .enumerate()
                .map(|(k, c)| Row {
                    change: c,
                    index: skipped as usize + i + k,
                })
                .collect();
            let crashed = crash.0.filter(|n| (i..j).contains(n));
            if let Some(n) = crashed {
                run.truncate(n - i);
            }
            if !run.is_empty() {
                if op == "upsert" {
                    per_table!(entity, upsert_run(&txn, &run))?;
                } else {
                    per_table!(entity, delete_run(&txn, &run))?;
                }
            }
            if let Some(n) = crashed {
                // Dropping the transaction rolls back what this call wrote.
                return Err(Error::Interrupted(format!(
                    "simulated crash after {n} applied row(s)"
                )));
            }
            i = j;
        }
        touched.recompute(&txn).await?;
        // The audit trail: the changes themselves, as the node recorded them.
        for chunk in fresh.chunks(ROWS_PER_STATEMENT) {
            change_log::Entity::insert_many(
                chunk
                    .iter()
                    .map(|c| (*c).clone().into_active_model())
                    .collect::<Vec<_>>(),
            )
            .exec_without_returning(&txn)
            .await
            .ctx("recording applied changes")?;
        }
        let applied_seq = expected - 1;
        crate::writes::set_meta(&txn, APPLIED_SEQ, &applied_seq.to_string()).await?;
        txn.commit().await.ctx("committing a batch")?;
        Ok(Applied {
            applied: fresh.len() as u64,
            skipped,
            applied_seq,
        })
    }

    /// Every replicated row and the last sequence number, read in one consistent transaction:
    /// a node's own last sequence, or a replica's cursor (a replica numbers no changes of its
    /// own, so the hub's copy of a city can be handed back to rebuild the city's node).
    pub async fn snapshot(&self) -> Result<Snapshot> {
        let txn = self.consistent_read().await?;
        let last = change_seq::Entity::find_by_id(1)
            .one(&txn)
            .await
            .ctx("reading the change sequence")?
            .map_or(0, |r| r.last_seq);
        let seq = last.max(read_applied(&txn).await?);
        let mut tables = BTreeMap::new();
        for table in TABLES {
            let rows = per_table!(*table, rows_of(&txn))?;
            tables.insert((*table).to_owned(), rows);
        }
        let log = change_log::Entity::find()
            .filter(change_log::Column::Seq.lte(seq))
            .all(&txn)
            .await
            .ctx("reading the change log for a snapshot")?;
        let history = read_meta(&txn, crate::history::HISTORY).await?;
        txn.commit().await.ctx("ending a read transaction")?;
        Ok(Snapshot {
            seq,
            tables,
            log,
            history,
        })
    }

    /// Replaces this replica's rows with `snapshot` and sets the cursor to its sequence, in one
    /// transaction.
    pub async fn restore_snapshot(&self, snapshot: &Snapshot) -> Result<Applied> {
        for name in snapshot.tables.keys() {
            if !TABLES.contains(&name.as_str()) {
                return Err(unknown_table(name));
            }
        }
        let txn = self.begin().await?;
        for table in TABLES.iter().rev() {
            per_table!(*table, clear(&txn))?;
        }
        let mut applied = 0u64;
        for table in TABLES {
            if let Some(rows) = snapshot.tables.get(*table) {
                per_table!(*table, insert_rows(&txn, rows))?;
                applied += rows.len() as u64;
            }
        }
        crate::rollup::rebuild(&txn).await?;
        change_log::Entity::delete_many()
            .exec(&txn)
            .await
            .ctx("clearing the replica's change log")?;
        for chunk in snapshot.log.chunks(ROWS_PER_STATEMENT) {
            change_log::Entity::insert_many(
                chunk
                    .iter()
                    .map(|c| c.clone().into_active_model())
                    .collect::<Vec<_>>(),
            )
            .exec_without_returning(&txn)
            .await
            .ctx("writing the snapshot's change log")?;
        }
        crate::writes::set_meta(&txn, APPLIED_SEQ, &snapshot.seq.to_string()).await?;
        if let Some(h) = &snapshot.history {
            crate::writes::set_meta(&txn, crate::history::HISTORY, h).await?;
        }
        txn.commit().await.ctx("committing a snapshot")?;
        Ok(Applied {
            applied,
            skipped: 0,
            applied_seq: snapshot.seq,
        })
    }

    /// Rebuilds this **node** database from the hub's copy of its city (a snapshot of the
    /// replica): the rows, the change log (the audit trail), the sequence (new writes continue
    /// after it), the seed marker (the seed is in the rows already) and a new sync history —
    /// the rebuilt database is a new line of the city's changes, and the hub's replica is
    /// replaced by its snapshot at the first push. A database that already holds changes is
    /// refused unless `replace` is set. Returns the new history id.
    pub async fn restore_node(&self, snapshot: &Snapshot, replace: bool) -> Result<String> {
        let last = self.last_seq().await?;
        if last > 0 && !replace {
            return Err(Error::Invalid(model::Violations(vec![
                model::ValidationError::new(
                    "database",
                    "NOT_EMPTY",
                    format!(
                        "this node database already holds {last} changes (NOT_EMPTY): restore into a new database, or pass --replace to overwrite it"
                    ),
                ),
            ])));
        }
        self.restore_snapshot(&Snapshot {
            history: None,
            ..snapshot.clone()
        })
        .await?;
        let txn = self.begin().await?;
        let counter = change_seq::ActiveModel {
            id: sea_orm::Set(1),
            last_seq: sea_orm::Set(snapshot.seq),
        };
        change_seq::Entity::insert(counter)
            .on_conflict(
                OnConflict::column(change_seq::Column::Id)
                    .update_column(change_seq::Column::LastSeq)
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .ctx("setting the change sequence")?;
        crate::entity::meta::Entity::delete_by_id(APPLIED_SEQ.to_owned())
            .exec(&txn)
            .await
            .ctx("clearing a replica cursor")?;
        crate::writes::set_meta(&txn, "seed", "restored from the hub's replica").await?;
        txn.commit().await.ctx("committing a restored node")?;
        self.renew_history().await
    }

    /// Refreshes the planner's statistics and (PostgreSQL) the visibility map after a bulk
    /// load, so index-only scans stay index-only: `VACUUM ANALYZE` of the replicated tables on
    /// PostgreSQL, `ANALYZE` on SQLite. Runs outside any transaction.
    pub async fn maintain(&self) -> Result<()> {
        let sql = match self.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => format!(
                "VACUUM ANALYZE {}",
                digested()
                    .chain(["rollup_target", "rollup_actual"])
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "ANALYZE".to_owned(),
        };
        self.db
            .execute_unprepared(&sql)
            .await
            .ctx("refreshing statistics")?;
        Ok(())
    }

    /// Per-table digests, read in one consistent transaction. `seq` is the last change sequence
    /// on a node and the applied cursor on a replica (whichever is larger is what the rows
    /// reflect: a node has no cursor, a replica no change log).
    pub async fn digests(&self) -> Result<Digests> {
        let txn = self.consistent_read().await?;
        let last = change_seq::Entity::find_by_id(1)
            .one(&txn)
            .await
            .ctx("reading the change sequence")?
            .map_or(0, |r| r.last_seq);
        let applied = read_applied(&txn).await?;
        let mut tables = Vec::with_capacity(TABLES.len() + 1);
        for table in digested() {
            let hashes = per_table!(table, row_hashes_of(&txn))?;
            tables.push(digest_of(table, &hashes));
        }
        txn.commit().await.ctx("ending a read transaction")?;
        Ok(Digests {
            seq: last.max(applied),
            tables,
        })
    }

    /// `(id, row hash)` of every row of `table`, sorted by id: what `verify` compares to name
    /// the rows that differ.
    pub async fn row_hashes(&self, table: &str) -> Result<Vec<(String, String)>> {
        per_table!(table, row_hashes_of(&self.db))
    }
}
