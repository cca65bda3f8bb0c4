//! A target may carry the time its document gives to reach it, as a number of years or a range
//! of them (「通过 3—5 年努力」), and an indicator may declare that it counts units of one kind
//! (so a programme's planned count can be set against the units named under it); screening
//! and diagnosis rates combine over time as the last year's level. The target
//! roll-ups keep the years their targets run over (the roll-up version is bumped, so replicas
//! rebuild them).

// sea-orm-migration's trait is declared with an elided lifetime, so implementations must match it.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Target {
    Table,
    DurationMin,
    DurationMax,
}

#[derive(DeriveIden)]
enum RollupTarget {
    Table,
    FirstYear,
    DueMin,
    DueMax,
}

#[derive(DeriveIden)]
enum Indicator {
    Table,
    CountsUnits,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [Target::DurationMin, Target::DurationMax] {
            m.alter_table(
                Table::alter()
                    .table(Target::Table)
                    .add_column(integer_null(column))
                    .to_owned(),
            )
            .await?;
        }
        for column in [
            RollupTarget::FirstYear,
            RollupTarget::DueMin,
            RollupTarget::DueMax,
        ] {
            m.alter_table(
                Table::alter()
                    .table(RollupTarget::Table)
                    .add_column(integer_null(column))
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Indicator::Table)
                .add_column(string_null(Indicator::CountsUnits))
                .to_owned(),
        )
        .await?;
        // The seeded catalogue's counts of named units, for databases created before.
        let db = m.get_connection();
        for (kind, codes) in [
            (
                "specialty",
                "'leading_specialties', 'city_leading_specialties'",
            ),
            ("key_lab", "'key_medical_labs'"),
            ("workstation", "'academician_workstations'"),
        ] {
            db.execute_unprepared(&format!(
                "UPDATE indicator SET counts_units = '{kind}' WHERE code IN ({codes})"
            ))
            .await?;
        }
        // Screening and diagnosis rates are levels to reach: over a span, the last year's.
        db.execute_unprepared(
            "UPDATE indicator SET aggregation = 'latest' WHERE code IN \
             ('newborn_screening_rate', 'newborn_screening_accuracy', 'prenatal_diagnosis_rate', \
             'prenatal_diagnosis_accuracy', 'deafness_gene_screening_coverage')",
        )
        .await?;
        // The seeded targets whose documents give their time as 3—5 years.
        db.execute_unprepared(
            "UPDATE target SET duration_min = 3, duration_max = 5 WHERE id IN \
             ('lf-township-centres-standard', 'lf-community-centres-standard', 'rmc-phd-recruited')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Indicator::Table)
                .drop_column(Indicator::CountsUnits)
                .to_owned(),
        )
        .await?;
        for column in [
            RollupTarget::FirstYear,
            RollupTarget::DueMin,
            RollupTarget::DueMax,
        ] {
            m.alter_table(
                Table::alter()
                    .table(RollupTarget::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        for column in [Target::DurationMin, Target::DurationMax] {
            m.alter_table(
                Table::alter()
                    .table(Target::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
