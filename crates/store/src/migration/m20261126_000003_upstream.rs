//! `upstream`: a node's copy of the province records its programmes refer to (the 136
//! programme and its components), as they flow down from the hub.

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Upstream {
    Table,
    Entity,
    EntityId,
    Version,
    Payload,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Upstream::Table)
                .col(string(Upstream::Entity))
                .col(string(Upstream::EntityId))
                .col(integer(Upstream::Version))
                .col(text(Upstream::Payload))
                .primary_key(
                    Index::create()
                        .col(Upstream::Entity)
                        .col(Upstream::EntityId),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Upstream::Table).to_owned())
            .await
    }
}
