//! A catalogue indicator may be a composite: computed from other indicators by a formula (a
//! sum, a difference or a ratio), kept as JSON of `model::Formula`. Reported indicators have
//! none. Existing catalogues also get two declarations corrected against the documents.

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
        .await?;
        // Declarations corrected against the documents: a building's planned beds are a
        // capacity stated once (a stock, not a flow), and the 同比增长 rates compound.
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE indicator SET aggregation = 'latest' WHERE code = 'planned_beds'",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE indicator SET aggregation = 'compound' WHERE code IN \
             ('outpatient_visits_yoy_growth', 'discharges_yoy_growth', 'surgeries_yoy_growth')",
        )
        .await?;
        Ok(())
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
