//! Every indicator declares how it combines across scopes (`over_scopes`: `sum`, `coverage`,
//! `not_additive`), next to how it combines over time (`aggregation`). Existing catalogues get
//! the declarations the province's seed makes: percentages are never added, the counties a
//! centre type covers are a coverage, everything else adds up.

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Indicator {
    Table,
    OverScopes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Indicator::Table)
                .add_column(string(Indicator::OverScopes).default("sum"))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE indicator SET over_scopes = 'not_additive' WHERE value_type = 'percent'",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE indicator SET over_scopes = 'coverage' WHERE code = 'counties_covered'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Indicator::Table)
                .drop_column(Indicator::OverScopes)
                .to_owned(),
        )
        .await
    }
}
