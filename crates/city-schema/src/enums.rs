//! GraphQL enums mirroring the model's (`remote` derives the conversions both ways).

use async_graphql::Enum;
use serde::de::DeserializeOwned;

use crate::error::{Code, GqlResult, coded};

/// 单位类别 — What kind of unit.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "model::UnitKind")]
pub enum UnitKind {
    /// 临床专科 — A clinical specialty.
    Specialty,
    /// 重点实验室 — A key laboratory.
    KeyLab,
    /// 中心 — A treatment or regional centre.
    Centre,
    /// 团队 — A team.
    Team,
    /// 工作站 — A workstation (academician, PhD, famous doctor).
    Workstation,
}

/// 计划类别 — The row of a yearly task table.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "model::PlanCategory")]
pub enum PlanCategory {
    /// 增加床位 — Beds.
    Beds,
    /// 人才引进 — Talent.
    Talent,
    /// 医疗技术 — Technology and equipment.
    Technology,
    /// 科研论文 — Research and papers.
    Research,
    /// 中心实验室 — Laboratories.
    Lab,
    /// 学术交流 — Academic exchange.
    Exchange,
    /// 建设成效 — Expected outcomes.
    Outcome,
    /// 投入资金（万元） — Funding, in 10,000 yuan.
    Funding,
}

/// 目标取值方式 — How a target's number is to be read.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "model::Comparator")]
pub enum Comparator {
    /// 精确值 — Exactly `value`.
    Exact,
    /// 以上 — `value` or more.
    AtLeast,
    /// 以下 — `value` or less.
    AtMost,
    /// 左右 — About `value`.
    About,
    /// 区间 — Between `min` and `max`.
    Range,
    /// 无法确定 — The document cannot be read without guessing; see `note`.
    Unknown,
}

/// 范围类别 — What a target or actual is about.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "model::ScopeKind")]
pub enum ScopeKind {
    /// 项目 — A programme.
    Programme,
    /// 组成部分 — A component.
    Component,
    /// 机构 — An institution.
    Institution,
    /// 建设单元 — A unit.
    Unit,
    /// 行政区 — A region.
    Region,
}

/// 数值类型 — The kind of number an indicator takes.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "model::ValueType")]
pub enum ValueType {
    /// 整数 — Whole counts.
    Integer,
    /// 小数 — Amounts with decimals.
    Decimal,
    /// 百分比 — A percentage.
    Percent,
}

/// 跨范围汇总方式 — How values combine across scopes (units, institutions, components) and
/// cities.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "model::ScopeAggregation")]
pub enum ScopeAggregation {
    /// 求和 — Counts, stocks, money: add up.
    Sum,
    /// 覆盖 — Members of a population covered (counties of a city): within a city the union,
    /// between the largest and the sum capped at the population, given as a range; across
    /// cities added up.
    Coverage,
    /// 不可加 — Rates and percentages: never added; several scopes are not combined
    /// (`notCombined: NOT_ADDITIVE`), each keeps its own number.
    NotAdditive,
}

/// 汇总方式 — How values combine over time.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "model::Aggregation")]
pub enum Aggregation {
    /// 求和 — Add up.
    Sum,
    /// 平均 — Average.
    Average,
    /// 取最新 — Take the latest.
    Latest,
    /// 取最大 — Take the largest.
    Max,
    /// 复合 — Year-on-year rates: a span compounds them, `(∏(1 + rᵢ/100) − 1) × 100`.
    Compound,
}

/// 组合公式类型 — How a composite indicator combines its operands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum FormulaKind {
    /// 求和 — The terms added up.
    Sum,
    /// 求差 — The first less the second.
    Difference,
    /// 比值 — The first divided by the second, times a factor.
    Ratio,
}

/// 组成部分类别 — What a programme component is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "model::ComponentKind")]
pub enum ComponentKind {
    /// 主线 — The main line.
    MainLine,
    /// 重点建设 — A key construction (pillar).
    Pillar,
    /// 基础项目 — A base project.
    BaseProject,
    /// 战略 — A strategy.
    Strategy,
    /// 工程 — An engineering project.
    Project,
    /// 任务 — A task.
    Task,
}

/// 与上级项目的关系 — How a programme relates to its parent.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "model::Relation")]
pub enum Relation {
    /// 承接 — Takes up (implements) the parent.
    Implements,
    /// 根据 — Is made according to the parent.
    Follows,
}

/// 行政级别 — Administrative level.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "model::RegionLevel")]
pub enum RegionLevel {
    /// 省 — Province.
    Province,
    /// 地级市 — Prefecture-level city.
    City,
    /// 县级 — County-level division.
    County,
}

/// Parses a stored snake_case enum value into the model's enum; a bad value is a corrupt row.
pub(crate) fn parse_stored<T: DeserializeOwned>(what: &str, s: &str) -> GqlResult<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| {
        tracing::error!(what, value = s, error = %e, "corrupt enum value in the database");
        coded(Code::Internal, "internal error")
    })
}

/// 一致性 — Where the hub answers a city's part from (at a city node, the node's own data is
/// always current and this is ignored).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Consistency {
    /// 实时 — Always ask the city's node; fail with the node's error when it cannot answer.
    Live,
    /// 副本 — Always answer from the hub's replica of the city.
    Replica,
    /// 自动 — From the replica when it has applied everything the node has committed; live
    /// otherwise; from the replica, marked stale, when the node cannot be reached.
    #[default]
    Auto,
}
