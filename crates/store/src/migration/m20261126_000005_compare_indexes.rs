//! Covering indexes for the comparison's grouped queries: the grouped columns and the summed
//! values are all in the index, so a comparison reads no table rows; the actual index also
//! serves the "latest report of the year" probe.

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Target {
    Table,
    Indicator,
    PeriodEnd,
    ScopeKind,
    ScopeId,
    Comparator,
    Value,
    MinValue,
    MaxValue,
}

#[derive(DeriveIden)]
enum Actual {
    Table,
    Indicator,
    ScopeKind,
    ScopeId,
    PeriodEnd,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_target_compare")
                .table(Target::Table)
                .col(Target::Indicator)
                .col(Target::PeriodEnd)
                .col(Target::ScopeKind)
                .col(Target::ScopeId)
                .col(Target::Comparator)
                .col(Target::Value)
                .col(Target::MinValue)
                .col(Target::MaxValue)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_actual_compare")
                .table(Actual::Table)
                .col(Actual::Indicator)
                .col(Actual::ScopeKind)
                .col(Actual::ScopeId)
                .col(Actual::PeriodEnd)
                .col(Actual::Value)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_actual_compare").to_owned())
            .await?;
        m.drop_index(Index::drop().name("idx_target_compare").to_owned())
            .await
    }
}
