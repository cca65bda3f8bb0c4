//! A catalogue indicator may be a composite: computed from other indicators by a formula (a
//! sum, a difference or a ratio), kept as JSON of `model::Formula`. Reported indicators have
//! none.

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Indicator {
    Table,
    Formula,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Indicator::Table)
                .add_column(text_null(Indicator::Formula))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Indicator::Table)
                .drop_column(Indicator::Formula)
                .to_owned(),
        )
        .await
    }
}
