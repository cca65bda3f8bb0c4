//! A unit can carry the steps its document names on the way to its target level
//! (`milestones`: JSON, a list of `{year, level}` in year order; null when there are none).

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Unit {
    Table,
    Milestones,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Unit::Table)
                .add_column(text_null(Unit::Milestones))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Unit::Table)
                .drop_column(Unit::Milestones)
                .to_owned(),
        )
        .await
    }
}
