//! The change log doubles as the audit trail: who made each change (`actor`), and an index to
//! walk one record's history (`before` of a change is the previous change's payload).

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum ChangeLog {
    Table,
    Actor,
    Entity,
    EntityId,
    Seq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ChangeLog::Table)
                .add_column(string_null(ChangeLog::Actor))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("change_log_record")
                .table(ChangeLog::Table)
                .col(ChangeLog::Entity)
                .col(ChangeLog::EntityId)
                .col(ChangeLog::Seq)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("change_log_record").to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(ChangeLog::Table)
                .drop_column(ChangeLog::Actor)
                .to_owned(),
        )
        .await
    }
}
