//! The outbox: `change_log` and its counter `change_seq` (one row, `last_seq = 0`).

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum ChangeLog {
    Table,
    Seq,
    Entity,
    EntityId,
    Op,
    Version,
    Payload,
    RecordedAtMs,
}

#[derive(DeriveIden)]
enum ChangeSeq {
    Table,
    Id,
    LastSeq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ChangeLog::Table)
                .col(big_integer(ChangeLog::Seq).primary_key())
                .col(string(ChangeLog::Entity))
                .col(string(ChangeLog::EntityId))
                .col(string(ChangeLog::Op))
                .col(integer(ChangeLog::Version))
                .col(text_null(ChangeLog::Payload))
                .col(big_integer(ChangeLog::RecordedAtMs))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ChangeSeq::Table)
                .col(integer(ChangeSeq::Id).primary_key())
                .col(big_integer(ChangeSeq::LastSeq))
                .to_owned(),
        )
        .await?;
        let mut seed = Query::insert();
        seed.into_table(ChangeSeq::Table)
            .columns([ChangeSeq::Id, ChangeSeq::LastSeq]);
        seed.values([1.into(), 0i64.into()])
            .map_err(|e| DbErr::Custom(format!("seeding change_seq: {e}")))?;
        m.exec_stmt(seed).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ChangeSeq::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ChangeLog::Table).to_owned())
            .await
    }
}
