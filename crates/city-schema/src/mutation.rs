//! Mutations for city staff: create, replace and delete units, plan items, targets and actuals.
//! Every mutation validates first and writes in one transaction; a refused mutation writes
//! nothing and answers `VALIDATION_FAILED` with the offending field.

use async_graphql::{Context, ID, Object, SimpleObject};
use auth::WriteKind;
use model::EntityKind;

use crate::{
    access::writer,
    error::{GqlResult, StoreResultExt},
    inputs::{ActualInput, PlanItemInput, TargetInput, UnitInput, local_id},
    types::{Actual, PlanItem, Target, Unit, gid},
};

/// 已删除 — What a delete removed.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(shareable)]
pub struct Deleted {
    /// 全局标识 — Global id of the deleted record.
    pub id: ID,
    /// 版本 — Its version when deleted.
    pub version: i32,
}

/// 导入问题 — Something wrong with one cell, row or the table.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(shareable)]
pub struct ImportProblem {
    /// 行号 — 1-based line in the file (1 = header).
    pub line: i32,
    /// 列 — Column header (empty for the whole line).
    pub column: String,
    /// 规则 — Rule code (NOT_A_NUMBER, UNKNOWN_INDICATOR, UNIT_MISMATCH, OUT_OF_PERIOD …).
    pub rule: String,
    /// 说明 — Message.
    pub message: String,
}

/// 导入行 — One value the table holds, and what the import does with it.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(shareable)]
pub struct ImportRow {
    /// 行号 — Line in the file.
    pub line: i32,
    /// 指标 — Indicator code.
    pub indicator: String,
    /// 年份 — Year (the column).
    pub year: i32,
    /// 数值 — Value.
    pub value: f64,
    /// 操作 — CREATE, UPDATE (a new value for a recorded actual) or UNCHANGED.
    pub action: String,
}

/// 导入报告 — What an import did or, on a dry run, would do.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(shareable)]
pub struct ImportReport {
    /// 试运行 — True when nothing was meant to be written.
    pub dry_run: bool,
    /// 已提交 — True when the values were written (never on a dry run or with any problem).
    pub committed: bool,
    /// 写入条数 — Values written.
    pub written: i32,
    /// 行 — Every value read.
    pub rows: Vec<ImportRow>,
    /// 问题 — Every problem found; any problem means nothing was written.
    pub problems: Vec<ImportProblem>,
}

/// Most values one import may hold.
const MAX_IMPORT_VALUES: usize = 5_000;

/// Root mutations.
#[derive(Debug, Default)]
pub struct Mutation;

/// Root mutations.
#[Object(shareable)]
impl Mutation {
    /// 导入单元年度实绩表 — Records a unit's yearly table (CSV: `indicator,<year>,<year>…`, see
    /// `Unit.actualsCsv`). With `dryRun` (the default) nothing is written and the report lists
    /// every row's problems; without it the values are written in one transaction — all of
    /// them, or none when any value is refused.
    async fn import_unit_actuals(
        &self,
        ctx: &Context<'_>,
        unit_id: ID,
        csv: String,
        dry_run: Option<bool>,
    ) -> GqlResult<ImportReport> {
        let dry_run = dry_run.unwrap_or(true);
        let s = &writer(ctx, WriteKind::Record).await?;
        let local = local_id("unitId", &unit_id, EntityKind::Unit, s.owner())?;
        if s.unit(&local).await.gql()?.is_none() {
            return Err(crate::error::coded(
                crate::Code::NotFound,
                format!("unit `{}` not found", unit_id.as_str()),
            ));
        }
        let catalogue = s.indicators().await.gql()?;
        let (cells, table_problems) = crate::table::parse(&csv, &catalogue);
        if cells.len() > MAX_IMPORT_VALUES {
            return Err(crate::error::invalid(
                "csv",
                "TOO_MANY_VALUES",
                format!(
                    "{} values; at most {MAX_IMPORT_VALUES} per import",
                    cells.len()
                ),
            ));
        }
        let mut problems: Vec<ImportProblem> = table_problems
            .into_iter()
            .map(|p| ImportProblem {
                line: i32::try_from(p.line).unwrap_or(i32::MAX),
                column: p.column,
                rule: p.rule.to_owned(),
                message: p.message,
            })
            .collect();
        let mut actuals = Vec::with_capacity(cells.len());
        let mut kept = Vec::with_capacity(cells.len());
        for c in &cells {
            match model::Period::year(c.year) {
                Ok(period) => {
                    actuals.push(model::Actual {
                        id: None,
                        indicator: c.indicator.clone(),
                        scope: model::Scope {
                            kind: model::ScopeKind::Unit,
                            id: local.clone(),
                        },
                        period,
                        value: c.value,
                        unit: c.unit.clone(),
                        note: c.note.clone(),
                        source: None,
                    });
                    kept.push(c);
                }
                Err(e) => problems.push(ImportProblem {
                    line: i32::try_from(c.line).unwrap_or(i32::MAX),
                    column: c.year.to_string(),
                    rule: e.rule.to_owned(),
                    message: e.message,
                }),
            }
        }
        // Table problems force a dry run: every value is still checked, nothing is written.
        let outcome = s
            .import_actuals(&actuals, dry_run || !problems.is_empty())
            .await
            .gql()?;
        let mut rows = Vec::with_capacity(kept.len());
        for (c, r) in kept.iter().zip(&outcome.rows) {
            let line = i32::try_from(c.line).unwrap_or(i32::MAX);
            for v in &r.violations.0 {
                problems.push(ImportProblem {
                    line,
                    column: match v.field.as_str() {
                        "value" | "period" => c.year.to_string(),
                        other => other.to_owned(),
                    },
                    rule: v.rule.to_owned(),
                    message: v.message.clone(),
                });
            }
            rows.push(ImportRow {
                line,
                indicator: c.indicator.clone(),
                year: c.year,
                value: c.value,
                action: match r.action {
                    store::writes::ImportAction::Create => "CREATE",
                    store::writes::ImportAction::Update => "UPDATE",
                    store::writes::ImportAction::Unchanged => "UNCHANGED",
                }
                .to_owned(),
            });
        }
        problems.sort_by(|a, b| (a.line, &a.column).cmp(&(b.line, &b.column)));
        Ok(ImportReport {
            dry_run,
            committed: outcome.committed,
            written: i32::try_from(outcome.written).unwrap_or(i32::MAX),
            rows,
            problems,
        })
    }

    /// 新建单元 — Create a unit.
    async fn create_unit(&self, ctx: &Context<'_>, input: UnitInput) -> GqlResult<Unit> {
        let s = &writer(ctx, WriteKind::Administer).await?;
        let row = s.create_unit(input.into_model(s.owner())?).await.gql()?;
        Ok(Unit(row, s.owner()))
    }

    /// 修改单元 — Replace a unit; pass `expectedVersion` to refuse if someone else wrote first.
    async fn update_unit(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UnitInput,
        expected_version: Option<i32>,
    ) -> GqlResult<Unit> {
        let s = &writer(ctx, WriteKind::Administer).await?;
        let local = local_id("id", &id, EntityKind::Unit, s.owner())?;
        let row = s
            .update_unit(&local, input.into_model(s.owner())?, expected_version)
            .await
            .gql()?;
        Ok(Unit(row, s.owner()))
    }

    /// 删除单元 — Delete a unit that has no plan items, targets or actuals.
    async fn delete_unit(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> GqlResult<Deleted> {
        let s = &writer(ctx, WriteKind::Administer).await?;
        let local = local_id("id", &id, EntityKind::Unit, s.owner())?;
        let row = s.delete_unit(&local, expected_version).await.gql()?;
        Ok(Deleted {
            id: gid(EntityKind::Unit, s.owner(), &row.id),
            version: row.version,
        })
    }

    /// 新建计划项 — Create a plan item.
    async fn create_plan_item(
        &self,
        ctx: &Context<'_>,
        input: PlanItemInput,
    ) -> GqlResult<PlanItem> {
        let s = &writer(ctx, WriteKind::Record).await?;
        let row = s
            .create_plan_item(input.into_model(s.owner())?)
            .await
            .gql()?;
        Ok(PlanItem(row, s.owner()))
    }

    /// 修改计划项 — Replace a plan item.
    async fn update_plan_item(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: PlanItemInput,
        expected_version: Option<i32>,
    ) -> GqlResult<PlanItem> {
        let s = &writer(ctx, WriteKind::Record).await?;
        let local = local_id("id", &id, EntityKind::PlanItem, s.owner())?;
        let row = s
            .update_plan_item(&local, input.into_model(s.owner())?, expected_version)
            .await
            .gql()?;
        Ok(PlanItem(row, s.owner()))
    }

    /// 删除计划项 — Delete a plan item.
    async fn delete_plan_item(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> GqlResult<Deleted> {
        let s = &writer(ctx, WriteKind::Administer).await?;
        let local = local_id("id", &id, EntityKind::PlanItem, s.owner())?;
        let row = s.delete_plan_item(&local, expected_version).await.gql()?;
        Ok(Deleted {
            id: gid(EntityKind::PlanItem, s.owner(), &row.id),
            version: row.version,
        })
    }

    /// 新建目标 — Create a target.
    async fn create_target(&self, ctx: &Context<'_>, input: TargetInput) -> GqlResult<Target> {
        let s = &writer(ctx, WriteKind::Record).await?;
        let row = s.create_target(input.into_model(s.owner())?).await.gql()?;
        Ok(Target(row, s.owner()))
    }

    /// 修改目标 — Replace a target.
    async fn update_target(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: TargetInput,
        expected_version: Option<i32>,
    ) -> GqlResult<Target> {
        let s = &writer(ctx, WriteKind::Record).await?;
        let local = local_id("id", &id, EntityKind::Target, s.owner())?;
        let row = s
            .update_target(&local, input.into_model(s.owner())?, expected_version)
            .await
            .gql()?;
        Ok(Target(row, s.owner()))
    }

    /// 删除目标 — Delete a target.
    async fn delete_target(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> GqlResult<Deleted> {
        let s = &writer(ctx, WriteKind::Administer).await?;
        let local = local_id("id", &id, EntityKind::Target, s.owner())?;
        let row = s.delete_target(&local, expected_version).await.gql()?;
        Ok(Deleted {
            id: gid(EntityKind::Target, s.owner(), &row.id),
            version: row.version,
        })
    }

    /// 填报实绩 — Record an actual.
    async fn create_actual(&self, ctx: &Context<'_>, input: ActualInput) -> GqlResult<Actual> {
        let s = &writer(ctx, WriteKind::Record).await?;
        let row = s.create_actual(input.into_model(s.owner())?).await.gql()?;
        Ok(Actual(row, s.owner()))
    }

    /// 修改实绩 — Replace an actual.
    async fn update_actual(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ActualInput,
        expected_version: Option<i32>,
    ) -> GqlResult<Actual> {
        let s = &writer(ctx, WriteKind::Record).await?;
        let local = local_id("id", &id, EntityKind::Actual, s.owner())?;
        let row = s
            .update_actual(&local, input.into_model(s.owner())?, expected_version)
            .await
            .gql()?;
        Ok(Actual(row, s.owner()))
    }

    /// 删除实绩 — Delete an actual.
    async fn delete_actual(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> GqlResult<Deleted> {
        let s = &writer(ctx, WriteKind::Administer).await?;
        let local = local_id("id", &id, EntityKind::Actual, s.owner())?;
        let row = s.delete_actual(&local, expected_version).await.gql()?;
        Ok(Deleted {
            id: gid(EntityKind::Actual, s.owner(), &row.id),
            version: row.version,
        })
    }
}
