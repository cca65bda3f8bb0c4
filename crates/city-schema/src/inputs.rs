//! Input types: filters and mutation inputs. Inputs carry global ids; [`local_id`] checks that
//! an id names a record this server owns before anything touches the store.

use async_graphql::{ID, InputObject};
use model::{EntityKind, GlobalId, RegionCode};

use crate::{
    enums,
    error::{GqlResult, invalid},
};

/// Resolves a global id of `kind` owned by `owner` to its local part.
pub(crate) fn local_id(
    field: &str,
    id: &ID,
    kind: EntityKind,
    owner: RegionCode,
) -> GqlResult<String> {
    let parsed =
        GlobalId::parse_as(id.as_str(), kind).map_err(|e| invalid(field, e.rule, e.message))?;
    if parsed.owner != owner {
        return Err(invalid(
            field,
            "WRONG_OWNER",
            format!(
                "`{}` belongs to region {}, this server owns {owner}",
                id.as_str(),
                parsed.owner
            ),
        ));
    }
    Ok(parsed.local)
}

fn opt_local(
    field: &str,
    id: &Option<ID>,
    kind: EntityKind,
    owner: RegionCode,
) -> GqlResult<Option<String>> {
    id.as_ref()
        .map(|i| local_id(field, i, kind, owner))
        .transpose()
}

pub(crate) fn period(field: &str, s: &str) -> GqlResult<model::Period> {
    s.parse()
        .map_err(|e: model::ValidationError| invalid(field, e.rule, e.message))
}

/// 单元筛选 — Which units to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct UnitFilterInput {
    /// 项目 — Only units of this programme.
    pub programme_id: Option<ID>,
    /// 机构 — Only units at this institution.
    pub institution_id: Option<ID>,
    /// 组成部分 — Only units of this component.
    pub component_id: Option<ID>,
    /// 类别 — Only units of this kind.
    pub kind: Option<enums::UnitKind>,
}

impl UnitFilterInput {
    pub(crate) fn into_store(self, owner: RegionCode) -> GqlResult<store::UnitFilter> {
        Ok(store::UnitFilter {
            programme: opt_local(
                "filter.programmeId",
                &self.programme_id,
                EntityKind::Programme,
                owner,
            )?,
            institution: opt_local(
                "filter.institutionId",
                &self.institution_id,
                EntityKind::Institution,
                owner,
            )?,
            component: opt_local(
                "filter.componentId",
                &self.component_id,
                EntityKind::Component,
                owner,
            )?,
            kind: self.kind.map(Into::into),
        })
    }
}

/// 计划筛选 — Which plan items to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct PlanItemFilterInput {
    /// 单元 — Only items of this unit.
    pub unit_id: Option<ID>,
    /// 项目 — Only items of units of this programme.
    pub programme_id: Option<ID>,
    /// 年度 — Only items whose period overlaps this year.
    pub year: Option<i32>,
    /// 类别 — Only items of this category.
    pub category: Option<enums::PlanCategory>,
    /// 存疑 — Only ambiguous (true) or only clear (false) items.
    pub ambiguous: Option<bool>,
}

impl PlanItemFilterInput {
    pub(crate) fn into_store(self, owner: RegionCode) -> GqlResult<store::PlanItemFilter> {
        Ok(store::PlanItemFilter {
            unit: opt_local("filter.unitId", &self.unit_id, EntityKind::Unit, owner)?,
            programme: opt_local(
                "filter.programmeId",
                &self.programme_id,
                EntityKind::Programme,
                owner,
            )?,
            year: self.year,
            category: self.category.map(Into::into),
            ambiguous: self.ambiguous,
        })
    }
}

/// 范围 — What a target or actual is about.
#[derive(InputObject, Debug, Clone)]
pub struct ScopeInput {
    /// 类别 — What kind of thing.
    pub kind: enums::ScopeKind,
    /// 标识 — Its global id, or the region code for a region.
    pub id: ID,
}

impl ScopeInput {
    pub(crate) fn into_model(self, field: &str, owner: RegionCode) -> GqlResult<model::Scope> {
        let kind: model::ScopeKind = self.kind.into();
        let entity = match kind {
            model::ScopeKind::Region => {
                let code: RegionCode = self
                    .id
                    .parse()
                    .map_err(|e: model::ValidationError| invalid(field, e.rule, e.message))?;
                // A city records for itself and its counties; the province for any region in it.
                let inside = if owner.is_province() {
                    code.province() == owner
                } else {
                    code.city() == owner
                };
                if !inside {
                    return Err(invalid(
                        field,
                        "WRONG_OWNER",
                        format!("region {code} is not inside {owner}"),
                    ));
                }
                return Ok(model::Scope {
                    kind,
                    id: code.to_string(),
                });
            }
            model::ScopeKind::Programme => EntityKind::Programme,
            model::ScopeKind::Component => EntityKind::Component,
            model::ScopeKind::Institution => EntityKind::Institution,
            model::ScopeKind::Unit => EntityKind::Unit,
        };
        Ok(model::Scope {
            kind,
            id: local_id(field, &self.id, entity, owner)?,
        })
    }
}

/// 目标/实绩筛选 — Which targets or actuals to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct MeasureFilterInput {
    /// 指标代码 — Only values of this indicator.
    pub indicator: Option<String>,
    /// 年度 — Only values whose period overlaps this year.
    pub year: Option<i32>,
    /// 范围 — Only values for this scope (ignored where the field is already scoped).
    pub scope: Option<ScopeInput>,
    /// 发布表 — Only the rows of this published table (targets only; actuals ignore it).
    pub table: Option<String>,
}

impl MeasureFilterInput {
    pub(crate) fn into_store(self, owner: RegionCode) -> GqlResult<store::MeasureFilter> {
        Ok(store::MeasureFilter {
            indicator: self.indicator,
            year: self.year,
            scope: self
                .scope
                .map(|s| s.into_model("filter.scope.id", owner))
                .transpose()?,
            table: self.table,
        })
    }
}

/// 单元输入 — A unit to create or replace.
#[derive(InputObject, Debug, Clone)]
pub struct UnitInput {
    /// 本地标识 — Local id slug for a new unit; derived from `nameEn` when absent. Ignored on update.
    pub local_id: Option<String>,
    /// 项目 — The programme it is built under.
    pub programme_id: ID,
    /// 组成部分 — The component it belongs to.
    pub component_id: Option<ID>,
    /// 机构 — The institution.
    pub institution_id: Option<ID>,
    /// 类别 — What kind of unit.
    pub kind: enums::UnitKind,
    /// 中文名称 — Chinese name.
    pub name_zh: String,
    /// 英文名称 — English name.
    pub name_en: String,
    /// 建设目标水平 — The level it aims for.
    pub target_level: Option<String>,
    /// 目标年份 — By when.
    pub target_year: Option<i32>,
    /// 阶段目标 — Steps on the way to the target level, in strictly rising years before
    /// `targetYear` and inside the programme's period.
    pub milestones: Option<Vec<MilestoneInput>>,
    /// 备注 — A note on the document's wording or an open question.
    pub note: Option<String>,
}

/// 阶段目标输入 — A level a unit should reach by a year.
#[derive(InputObject, Debug, Clone)]
pub struct MilestoneInput {
    /// 年份 — By the end of this year.
    pub year: i32,
    /// 水平 — The level, in the document's words.
    pub level: String,
}

impl UnitInput {
    pub(crate) fn into_model(self, owner: RegionCode) -> GqlResult<model::Unit> {
        Ok(model::Unit {
            id: self.local_id.unwrap_or_default(),
            programme: local_id(
                "programmeId",
                &self.programme_id,
                EntityKind::Programme,
                owner,
            )?,
            component: opt_local(
                "componentId",
                &self.component_id,
                EntityKind::Component,
                owner,
            )?,
            institution: opt_local(
                "institutionId",
                &self.institution_id,
                EntityKind::Institution,
                owner,
            )?,
            kind: self.kind.into(),
            name_zh: self.name_zh,
            name_en: self.name_en,
            target_level: self.target_level,
            target_year: self.target_year,
            milestones: self
                .milestones
                .unwrap_or_default()
                .into_iter()
                .map(|m| model::Milestone {
                    year: m.year,
                    level: m.level,
                })
                .collect(),
            note: self.note,
            source: None,
        })
    }
}

/// 计划项输入 — A plan item to create or replace.
#[derive(InputObject, Debug, Clone)]
pub struct PlanItemInput {
    /// 单元 — The unit.
    pub unit_id: ID,
    /// 期间 — A year (`2021`) or a span (`2020..2022`).
    pub period: String,
    /// 类别 — The table row.
    pub category: enums::PlanCategory,
    /// 内容 — The task, as written.
    pub text: String,
    /// 存疑 — True when the text cannot be read without guessing; then `note` must say why.
    #[graphql(default)]
    pub ambiguous: bool,
    /// 备注 — Remark.
    pub note: Option<String>,
}

impl PlanItemInput {
    pub(crate) fn into_model(self, owner: RegionCode) -> GqlResult<model::PlanItem> {
        Ok(model::PlanItem {
            id: None,
            unit: local_id("unitId", &self.unit_id, EntityKind::Unit, owner)?,
            period: period("period", &self.period)?,
            category: self.category.into(),
            text: self.text,
            ambiguous: self.ambiguous,
            note: self.note,
            source: None,
        })
    }
}

/// 目标输入 — A target to create or replace.
#[derive(InputObject, Debug, Clone)]
pub struct TargetInput {
    /// 指标代码 — Catalogue code.
    pub indicator: String,
    /// 范围 — What it is about.
    pub scope: ScopeInput,
    /// 期间 — By when: a year, or a span.
    pub period: String,
    /// 取值方式 — How to read the number.
    pub comparator: enums::Comparator,
    /// 数值 — The value (all comparators but RANGE and UNKNOWN).
    pub value: Option<f64>,
    /// 下限 — Lower bound (RANGE).
    pub min: Option<f64>,
    /// 上限 — Upper bound (RANGE).
    pub max: Option<f64>,
    /// 计量单位 — Unit of measure; must match the indicator's.
    pub unit: Option<String>,
    /// 限定词 — Hedge word (力争, 左右 …).
    pub qualifier: Option<String>,
    /// 存疑 — True when the number cannot be read without guessing.
    #[graphql(default)]
    pub ambiguous: bool,
    /// 备注 — Remark.
    pub note: Option<String>,
    /// 多种读法 — When the document gives the amount over the period but leaves open which
    /// years it falls in: every way of reading it, each a split of `value` by year (the
    /// target must be EXACT or ABOUT, and ambiguous with a note).
    #[graphql(default)]
    pub readings: Vec<ReadingInput>,
    /// 发布表 — The published table the target is a row of (e.g. a plan's 主要指标 table).
    pub table: Option<String>,
    /// 表中行号 — Its row in that table, from 1.
    pub table_row: Option<i32>,
    /// 完成时限 — The time the document gives to reach it, in years (「通过 3—5 年努力」:
    /// 3 to 5); the target's period must hold the longest reading.
    pub duration: Option<DurationInput>,
}

/// 时限输入 — A time to reach a target, in whole years.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct DurationInput {
    /// 最少年数 — Fewest years.
    pub min_years: i32,
    /// 最多年数 — Most years (the same as `minYears` for one number).
    pub max_years: i32,
}

/// 读法输入 — One way to read an amount whose years are open.
#[derive(InputObject, Debug, Clone)]
pub struct ReadingInput {
    /// 分年数额 — The amount per year, in year order (years not named get nothing).
    pub years: Vec<YearAmountInput>,
}

/// 年度数额输入 — Part of an amount falling in one year.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct YearAmountInput {
    /// 年份 — The year.
    pub year: i32,
    /// 数额 — The amount.
    pub value: f64,
}

impl TargetInput {
    pub(crate) fn into_model(self, owner: RegionCode) -> GqlResult<model::Target> {
        Ok(model::Target {
            id: None,
            indicator: self.indicator,
            scope: self.scope.into_model("scope.id", owner)?,
            period: period("period", &self.period)?,
            value: model::TargetValue {
                comparator: self.comparator.into(),
                value: self.value,
                min: self.min,
                max: self.max,
            },
            unit: self.unit,
            qualifier: self.qualifier,
            ambiguous: self.ambiguous,
            note: self.note,
            source: None,
            readings: self
                .readings
                .into_iter()
                .map(|r| model::Reading {
                    years: r
                        .years
                        .into_iter()
                        .map(|y| model::YearAmount {
                            year: y.year,
                            value: y.value,
                        })
                        .collect(),
                })
                .collect(),
            table: self.table,
            table_row: self.table_row,
            duration: self.duration.map(|d| model::Duration {
                min_years: d.min_years,
                max_years: d.max_years,
            }),
        })
    }
}

/// 实绩输入 — An actual to record or replace.
#[derive(InputObject, Debug, Clone)]
pub struct ActualInput {
    /// 指标代码 — Catalogue code.
    pub indicator: String,
    /// 范围 — What it is about.
    pub scope: ScopeInput,
    /// 期间 — The period it covers: a year, a month, or a span (`2019-01..2019-10`).
    pub period: String,
    /// 数值 — The value.
    pub value: f64,
    /// 计量单位 — Unit of measure; must match the indicator's.
    pub unit: Option<String>,
    /// 备注 — Remark.
    pub note: Option<String>,
}

impl ActualInput {
    pub(crate) fn into_model(self, owner: RegionCode) -> GqlResult<model::Actual> {
        Ok(model::Actual {
            id: None,
            indicator: self.indicator,
            scope: self.scope.into_model("scope.id", owner)?,
            period: period("period", &self.period)?,
            value: self.value,
            unit: self.unit,
            note: self.note,
            source: None,
        })
    }
}
