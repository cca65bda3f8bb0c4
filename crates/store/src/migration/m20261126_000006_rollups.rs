//! Roll-ups for the hub's comparison: per indicator × year × programme × drill-down group, the
//! sums, maxima and counts the comparison would otherwise compute from every target and actual
//! of a city. Maintained only in the hub's replicas (see `crate::rollup`); a node's tables stay
//! empty.

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RollupTarget {
    Table,
    Indicator,
    Year,
    Programme,
    Grp,
    Comparator,
    SumValue,
    MaxValue,
    SumMin,
    MaxMin,
    SumMax,
    MaxMax,
    N,
}

#[derive(DeriveIden)]
enum RollupActual {
    Table,
    Indicator,
    Year,
    Programme,
    Grp,
    SumValue,
    MaxValue,
    N,
    LatestSum,
    LatestMax,
    LatestN,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RollupTarget::Table)
                .col(string(RollupTarget::Indicator))
                .col(integer(RollupTarget::Year))
                .col(string(RollupTarget::Programme))
                .col(string(RollupTarget::Grp))
                .col(string(RollupTarget::Comparator))
                .col(double_null(RollupTarget::SumValue))
                .col(double_null(RollupTarget::MaxValue))
                .col(double_null(RollupTarget::SumMin))
                .col(double_null(RollupTarget::MaxMin))
                .col(double_null(RollupTarget::SumMax))
                .col(double_null(RollupTarget::MaxMax))
                .col(big_integer(RollupTarget::N))
                .primary_key(
                    Index::create()
                        .col(RollupTarget::Indicator)
                        .col(RollupTarget::Year)
                        .col(RollupTarget::Programme)
                        .col(RollupTarget::Grp)
                        .col(RollupTarget::Comparator),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RollupActual::Table)
                .col(string(RollupActual::Indicator))
                .col(integer(RollupActual::Year))
                .col(string(RollupActual::Programme))
                .col(string(RollupActual::Grp))
                .col(double(RollupActual::SumValue))
                .col(double(RollupActual::MaxValue))
                .col(big_integer(RollupActual::N))
                .col(double(RollupActual::LatestSum))
                .col(double(RollupActual::LatestMax))
                .col(big_integer(RollupActual::LatestN))
                .primary_key(
                    Index::create()
                        .col(RollupActual::Indicator)
                        .col(RollupActual::Year)
                        .col(RollupActual::Programme)
                        .col(RollupActual::Grp),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RollupActual::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(RollupTarget::Table).to_owned())
            .await
    }
}
