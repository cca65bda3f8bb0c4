//! Migrations, run explicitly at server start ([`crate::Store::connect`]). One file per
//! migration, named `mYYYYMMDD_HHMMSS_name.rs` (sea-orm names the migration after its file).
//! Migrations never change once released; a schema change is a new file.

use sea_orm_migration::prelude::*;

mod m20261126_000001_programme_tables;
mod m20261126_000002_change_log;
mod m20261126_000003_upstream;
mod m20261126_000004_change_actor;
mod m20261126_000005_compare_indexes;
mod m20261126_000006_rollups;
mod m20261126_000007_refusals;
mod m20261202_000008_indicator_over_scopes;
mod m20261203_000009_target_readings;
mod m20261206_000010_indicator_formula;
mod m20261207_000011_notes_and_tables;
mod m20261207_000012_durations_and_counted_units;
mod m20261208_000013_rollup_extremes;
mod m20261209_000014_unit_milestones;

/// All migrations, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_programme_tables::Migration),
            Box::new(m20261126_000002_change_log::Migration),
            Box::new(m20261126_000003_upstream::Migration),
            Box::new(m20261126_000004_change_actor::Migration),
            Box::new(m20261126_000005_compare_indexes::Migration),
            Box::new(m20261126_000006_rollups::Migration),
            Box::new(m20261126_000007_refusals::Migration),
            Box::new(m20261202_000008_indicator_over_scopes::Migration),
            Box::new(m20261203_000009_target_readings::Migration),
            Box::new(m20261206_000010_indicator_formula::Migration),
            Box::new(m20261207_000011_notes_and_tables::Migration),
            Box::new(m20261207_000012_durations_and_counted_units::Migration),
            Box::new(m20261208_000013_rollup_extremes::Migration),
            Box::new(m20261209_000014_unit_milestones::Migration),
        ]
    }
}
