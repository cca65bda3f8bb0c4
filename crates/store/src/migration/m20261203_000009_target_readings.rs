//! A target can carry the alternative readings of an amount whose years the document leaves
//! open (`readings`: JSON, a list of per-year splits of the target's value; null for the
//! usual target). Comparisons show such an amount as an interval per year and as the exact
//! amount over its span. A partial index over the (few) ambiguous targets lets a comparison
//! list them without reading every target of the asked indicators and years.

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Target {
    Table,
    Readings,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Target::Table)
                .add_column(text_null(Target::Readings))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX target_ambiguous ON target (indicator, period_end) WHERE ambiguous = TRUE",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX target_ambiguous")
            .await?;
        m.alter_table(
            Table::alter()
                .table(Target::Table)
                .drop_column(Target::Readings)
                .to_owned(),
        )
        .await
    }
}
