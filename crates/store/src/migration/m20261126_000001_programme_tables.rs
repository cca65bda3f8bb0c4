//! The programme model's tables: documents, indicators, programmes, components, institutions,
//! units, plan items, targets, actuals, and `meta`.

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Meta {
    Table,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum Document {
    Table,
    Id,
    DocNumber,
    Title,
    Issuer,
    IssuedOn,
    File,
}

#[derive(DeriveIden)]
enum Indicator {
    Table,
    Code,
    NameZh,
    NameEn,
    Unit,
    ValueType,
    Aggregation,
    DescriptionZh,
    Version,
}

#[derive(DeriveIden)]
enum Programme {
    Table,
    Id,
    NameZh,
    NameEn,
    Issuer,
    DocNumber,
    IssuedOn,
    Period,
    PeriodStart,
    PeriodEnd,
    Relation,
    Parent,
    SummaryZh,
    SummaryEn,
    SourceDocument,
    SourceQuote,
    SortKey,
    Version,
}

#[derive(DeriveIden)]
enum Component {
    Table,
    Id,
    ProgrammeId,
    ParentId,
    Kind,
    Ordinal,
    NameZh,
    NameEn,
    DescriptionZh,
    SourceDocument,
    SourceQuote,
    SortKey,
    Version,
}

#[derive(DeriveIden)]
enum Institution {
    Table,
    Id,
    Region,
    NameZh,
    NameEn,
    Aliases,
    SourceDocument,
    SourceQuote,
    SortKey,
    Version,
}

#[derive(DeriveIden)]
enum Unit {
    Table,
    Id,
    ProgrammeId,
    ComponentId,
    InstitutionId,
    Kind,
    NameZh,
    NameEn,
    TargetLevel,
    TargetYear,
    SourceDocument,
    SourceQuote,
    SortKey,
    Version,
}

#[derive(DeriveIden)]
enum PlanItem {
    Table,
    Id,
    UnitId,
    Period,
    PeriodStart,
    PeriodEnd,
    Category,
    Text,
    Ambiguous,
    Note,
    SourceDocument,
    SourceQuote,
    SortKey,
    Version,
}

#[derive(DeriveIden)]
enum Target {
    Table,
    Id,
    Indicator,
    ScopeKind,
    ScopeId,
    Period,
    PeriodStart,
    PeriodEnd,
    Comparator,
    Value,
    MinValue,
    MaxValue,
    Unit,
    Qualifier,
    Ambiguous,
    Note,
    SourceDocument,
    SourceQuote,
    SortKey,
    Version,
}

#[derive(DeriveIden)]
enum Actual {
    Table,
    Id,
    Indicator,
    ScopeKind,
    ScopeId,
    Period,
    PeriodStart,
    PeriodEnd,
    Value,
    Unit,
    Note,
    SourceDocument,
    SourceQuote,
    SortKey,
    Version,
}

fn index(name: &str, table: impl IntoIden, cols: &[DynIden]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c.clone());
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Meta::Table)
                .col(string(Meta::Key).primary_key())
                .col(text(Meta::Value))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Document::Table)
                .col(string(Document::Id).primary_key())
                .col(string_null(Document::DocNumber))
                .col(text(Document::Title))
                .col(text(Document::Issuer))
                .col(string(Document::IssuedOn))
                .col(string(Document::File))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Indicator::Table)
                .col(string(Indicator::Code).primary_key())
                .col(text(Indicator::NameZh))
                .col(text(Indicator::NameEn))
                .col(string(Indicator::Unit))
                .col(string(Indicator::ValueType))
                .col(string(Indicator::Aggregation))
                .col(text_null(Indicator::DescriptionZh))
                .col(integer(Indicator::Version))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Programme::Table)
                .col(string(Programme::Id).primary_key())
                .col(text(Programme::NameZh))
                .col(text(Programme::NameEn))
                .col(text(Programme::Issuer))
                .col(string(Programme::DocNumber))
                .col(string(Programme::IssuedOn))
                .col(string(Programme::Period))
                .col(integer(Programme::PeriodStart))
                .col(integer(Programme::PeriodEnd))
                .col(string_null(Programme::Relation))
                .col(string_null(Programme::Parent))
                .col(text_null(Programme::SummaryZh))
                .col(text_null(Programme::SummaryEn))
                .col(string_null(Programme::SourceDocument))
                .col(text_null(Programme::SourceQuote))
                .col(string_uniq(Programme::SortKey))
                .col(integer(Programme::Version))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Component::Table)
                .col(string(Component::Id).primary_key())
                .col(string(Component::ProgrammeId))
                .col(string_null(Component::ParentId))
                .col(string(Component::Kind))
                .col(integer(Component::Ordinal))
                .col(text(Component::NameZh))
                .col(text(Component::NameEn))
                .col(text_null(Component::DescriptionZh))
                .col(string_null(Component::SourceDocument))
                .col(text_null(Component::SourceQuote))
                .col(string_uniq(Component::SortKey))
                .col(integer(Component::Version))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Institution::Table)
                .col(string(Institution::Id).primary_key())
                .col(string(Institution::Region))
                .col(text(Institution::NameZh))
                .col(text(Institution::NameEn))
                .col(text(Institution::Aliases))
                .col(string_null(Institution::SourceDocument))
                .col(text_null(Institution::SourceQuote))
                .col(string_uniq(Institution::SortKey))
                .col(integer(Institution::Version))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Unit::Table)
                .col(string(Unit::Id).primary_key())
                .col(string(Unit::ProgrammeId))
                .col(string_null(Unit::ComponentId))
                .col(string_null(Unit::InstitutionId))
                .col(string(Unit::Kind))
                .col(text(Unit::NameZh))
                .col(text(Unit::NameEn))
                .col(text_null(Unit::TargetLevel))
                .col(integer_null(Unit::TargetYear))
                .col(string_null(Unit::SourceDocument))
                .col(text_null(Unit::SourceQuote))
                .col(string_uniq(Unit::SortKey))
                .col(integer(Unit::Version))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PlanItem::Table)
                .col(string(PlanItem::Id).primary_key())
                .col(string(PlanItem::UnitId))
                .col(string(PlanItem::Period))
                .col(integer(PlanItem::PeriodStart))
                .col(integer(PlanItem::PeriodEnd))
                .col(string(PlanItem::Category))
                .col(text(PlanItem::Text))
                .col(boolean(PlanItem::Ambiguous))
                .col(text_null(PlanItem::Note))
                .col(string_null(PlanItem::SourceDocument))
                .col(text_null(PlanItem::SourceQuote))
                .col(string_uniq(PlanItem::SortKey))
                .col(integer(PlanItem::Version))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Target::Table)
                .col(string(Target::Id).primary_key())
                .col(string(Target::Indicator))
                .col(string(Target::ScopeKind))
                .col(string(Target::ScopeId))
                .col(string(Target::Period))
                .col(integer(Target::PeriodStart))
                .col(integer(Target::PeriodEnd))
                .col(string(Target::Comparator))
                .col(double_null(Target::Value))
                .col(double_null(Target::MinValue))
                .col(double_null(Target::MaxValue))
                .col(string_null(Target::Unit))
                .col(text_null(Target::Qualifier))
                .col(boolean(Target::Ambiguous))
                .col(text_null(Target::Note))
                .col(string_null(Target::SourceDocument))
                .col(text_null(Target::SourceQuote))
                .col(string_uniq(Target::SortKey))
                .col(integer(Target::Version))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Actual::Table)
                .col(string(Actual::Id).primary_key())
                .col(string(Actual::Indicator))
                .col(string(Actual::ScopeKind))
                .col(string(Actual::ScopeId))
                .col(string(Actual::Period))
                .col(integer(Actual::PeriodStart))
                .col(integer(Actual::PeriodEnd))
                .col(double(Actual::Value))
                .col(string_null(Actual::Unit))
                .col(text_null(Actual::Note))
                .col(string_null(Actual::SourceDocument))
                .col(text_null(Actual::SourceQuote))
                .col(string_uniq(Actual::SortKey))
                .col(integer(Actual::Version))
                .to_owned(),
        )
        .await?;
        for idx in [
            index(
                "idx_component_programme",
                Component::Table,
                &[Component::ProgrammeId.into_iden()],
            ),
            index(
                "idx_unit_programme",
                Unit::Table,
                &[Unit::ProgrammeId.into_iden()],
            ),
            index(
                "idx_unit_institution",
                Unit::Table,
                &[Unit::InstitutionId.into_iden()],
            ),
            index(
                "idx_plan_item_unit",
                PlanItem::Table,
                &[PlanItem::UnitId.into_iden()],
            ),
            index(
                "idx_target_scope",
                Target::Table,
                &[Target::ScopeKind.into_iden(), Target::ScopeId.into_iden()],
            ),
            index(
                "idx_target_indicator",
                Target::Table,
                &[Target::Indicator.into_iden()],
            ),
            index(
                "idx_actual_scope",
                Actual::Table,
                &[Actual::ScopeKind.into_iden(), Actual::ScopeId.into_iden()],
            ),
            index(
                "idx_actual_indicator",
                Actual::Table,
                &[Actual::Indicator.into_iden()],
            ),
        ] {
            m.create_index(idx).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Actual::Table.into_iden(),
            Target::Table.into_iden(),
            PlanItem::Table.into_iden(),
            Unit::Table.into_iden(),
            Institution::Table.into_iden(),
            Component::Table.into_iden(),
            Programme::Table.into_iden(),
            Indicator::Table.into_iden(),
            Document::Table.into_iden(),
            Meta::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
