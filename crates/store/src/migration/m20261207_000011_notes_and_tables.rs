//! Programmes and units carry a note: the document's wording, or a question it leaves open
//! (such as the 136 programme's end year, which the opinion never states). Targets may be rows
//! of a table a document publishes (its id and the row number).

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Programme {
    Table,
    Note,
}

#[derive(DeriveIden)]
enum Unit {
    Table,
    Note,
}

#[derive(DeriveIden)]
enum Target {
    Table,
    PublishedTable,
    TableRow,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Programme::Table)
                .add_column(text_null(Programme::Note))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Unit::Table)
                .add_column(text_null(Unit::Note))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Target::Table)
                .add_column(string_null(Target::PublishedTable))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Target::Table)
                .add_column(integer_null(Target::TableRow))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [Target::PublishedTable, Target::TableRow] {
            m.alter_table(
                Table::alter()
                    .table(Target::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Unit::Table)
                .drop_column(Unit::Note)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Programme::Table)
                .drop_column(Programme::Note)
                .to_owned(),
        )
        .await
    }
}
