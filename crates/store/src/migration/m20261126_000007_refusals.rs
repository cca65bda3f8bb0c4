//! Refused write attempts (the audit of refusals): who tried what, when, and why it was refused.

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Refusal {
    Table,
    Id,
    AtMs,
    Actor,
    Operation,
    Target,
    Code,
    Message,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Refusal::Table)
                .col(big_pk_auto(Refusal::Id))
                .col(big_integer(Refusal::AtMs))
                .col(string(Refusal::Actor))
                .col(string(Refusal::Operation))
                .col(text(Refusal::Target))
                .col(string(Refusal::Code))
                .col(text(Refusal::Message))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Refusal::Table).to_owned())
            .await
    }
}
