//! The roll-ups keep the smallest single target and report beside the largest, so a rate or
//! percentage of several scopes (never added) can be shown as the range its scopes span. The
//! roll-up version is bumped, so replicas rebuild them.

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RollupTarget {
    Table,
    LeastValue,
    LeastMin,
    LeastMax,
}

#[derive(DeriveIden)]
enum RollupActual {
    Table,
    LeastValue,
    LatestLeast,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [
            RollupTarget::LeastValue,
            RollupTarget::LeastMin,
            RollupTarget::LeastMax,
        ] {
            m.alter_table(
                Table::alter()
                    .table(RollupTarget::Table)
                    .add_column(double_null(column))
                    .to_owned(),
            )
            .await?;
        }
        for column in [RollupActual::LeastValue, RollupActual::LatestLeast] {
            m.alter_table(
                Table::alter()
                    .table(RollupActual::Table)
                    .add_column(double_null(column))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [RollupActual::LeastValue, RollupActual::LatestLeast] {
            m.alter_table(
                Table::alter()
                    .table(RollupActual::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        for column in [
            RollupTarget::LeastValue,
            RollupTarget::LeastMin,
            RollupTarget::LeastMax,
        ] {
            m.alter_table(
                Table::alter()
                    .table(RollupTarget::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
