//! The comparison's answer types (GraphQL output objects and the question's inputs). They are
//! plain data: the engine builds them, the GraphQL layer returns them.

use async_graphql::{Enum, InputObject, SimpleObject};
use model::compare::TargetSum;

use crate::status::Freshness;

/// 年份区间 — Years to compare, inclusive.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct YearRange {
    /// 起始年 — First year.
    pub from: i32,
    /// 截止年 — Last year.
    pub to: i32,
}

/// 细分层级 — How far to drill down inside each city.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompareLevel {
    /// 城市 — City totals only.
    #[default]
    City,
    /// 机构 — Also per institution (units counted under their hospital).
    Institution,
    /// 建设单元 — Also per unit.
    Unit,
}

/// 目标汇总 — Targets combined without flattening: a sum of `at least` targets stays `at least`,
/// ranges stay ranges, unknown targets are counted, not guessed.
#[derive(SimpleObject, Debug, Clone)]
pub struct TargetTotal {
    /// 取值方式 — How to read the combined number.
    pub comparator: city_schema::enums::Comparator,
    /// 数值 — The number (all comparators but RANGE and UNKNOWN).
    pub value: Option<f64>,
    /// 下限 — Lower bound (RANGE).
    pub min: Option<f64>,
    /// 上限 — Upper bound (RANGE).
    pub max: Option<f64>,
    /// 目标数 — Targets combined.
    pub terms: i32,
    /// 未明确目标数 — Targets the documents leave unknown (not in the numbers).
    pub unknown_terms: i32,
    /// 未合并 — Why the targets were not combined into a number (`NOT_ADDITIVE`: rates and
    /// percentages of several scopes are never added); null when they were.
    pub not_combined: Option<String>,
    /// 最大单项 — The largest single target, when not combined.
    pub largest: Option<f64>,
    /// 最小单项 — The smallest single target, when not combined (with `largest`, the range
    /// the scopes' own targets span).
    pub smallest: Option<f64>,
}

impl From<TargetSum> for TargetTotal {
    fn from(t: TargetSum) -> Self {
        Self {
            comparator: t.comparator.into(),
            value: t.value,
            min: t.min,
            max: t.max,
            terms: i32::try_from(t.terms).unwrap_or(i32::MAX),
            unknown_terms: i32::try_from(t.unknown_terms).unwrap_or(i32::MAX),
            not_combined: t.not_combined.map(|n| n.code().to_owned()),
            largest: t.largest,
            smallest: t.smallest,
        }
    }
}

/// 对比单元格 — One indicator in one year: target, actual, achievement, share of the total.
#[derive(SimpleObject, Debug, Clone)]
pub struct Cell {
    /// 指标代码 — Indicator code.
    pub indicator: String,
    /// 年份 — The year the periods end in.
    pub year: i32,
    #[graphql(flatten)]
    pub figures: Figures,
}

/// 区间合计 — One indicator over the asked span of years, combined by its over-time
/// aggregation (`overTime`): a sum adds the years (an amount whose years are open counts once,
/// exactly, for the span), a stock takes its latest year, a maximum the largest, an average the
/// mean.
#[derive(SimpleObject, Debug, Clone)]
pub struct SpanCell {
    /// 指标代码 — Indicator code.
    pub indicator: String,
    /// 起始年 — The span's first year (the asked `from`, or the first year with data).
    pub from: i32,
    /// 截止年 — The span's last year (the asked `to`, or the last year with data).
    pub to: i32,
    /// 时间汇总方式 — How the years were combined.
    pub over_time: city_schema::enums::Aggregation,
    /// 年数 — Years in the span (`to − from + 1`).
    pub years: i32,
    #[graphql(flatten)]
    pub figures: Figures,
    /// 目标年数下限 — The years the span's targets run over: from the earliest start of their
    /// periods to the latest year they are due (`due − first + 1`; a target whose document
    /// gives its time as a range, 「通过 3—5 年」, is due after the fewest years here). This
    /// is not `years`: 136's goals set in 2018 for 2022 run 5 years even when the span asked
    /// is 2020–2022. Null when the cell has no target.
    pub target_years_min: Option<i32>,
    /// 目标年数上限 — The same, with every target due after the most years it may take.
    pub target_years_max: Option<i32>,
    /// 目标起始年 — The earliest year the span's targets start in (136's goals: 2018, whatever
    /// span is asked). Null when the cell has no target.
    pub target_from: Option<i32>,
    /// 目标截止年 — The latest year the span's targets may be due (each after the most years
    /// it may take). Null when the cell has no target.
    pub target_to: Option<i32>,
    /// 年均目标 — Pace: the span's target ÷ the years its targets run over
    /// (`targetYearsMin..targetYearsMax`), for an indicator added up over time
    /// (`overTime: SUM`). Over a range of years a number becomes a range,
    /// `[target ÷ targetYearsMax, target ÷ targetYearsMin]`; a range stays a range, an
    /// at-least stays at-least. Null for stocks, averages and maxima, whose span total is not a
    /// quantity spread over the years.
    pub target_per_year: Option<TargetTotal>,
    /// 年均实绩 — Pace: the span's actual ÷ `years`, for an indicator added up over time.
    pub actual_per_year: Option<f64>,
    /// 复合增长 — For a year-on-year rate (`overTime: COMPOUND`): the growth over the whole
    /// span from the years' reported rates, `(∏(1 + rᵢ/100) − 1) × 100` over the years with an
    /// actual. The span's `actual` is the same number.
    pub compounded_actual: Option<f64>,
}

/// The numbers of a cell, for a year or a span.
#[derive(SimpleObject, Debug, Clone)]
pub struct Figures {
    /// 目标 — Targets combined (null when there are none).
    pub target: Option<TargetTotal>,
    /// 实绩 — Actuals combined by the indicator's aggregation (null when none reported, when
    /// they combine into a range — see `actualMin`/`actualMax` — or when they are not
    /// combined — see `notCombined`).
    pub actual: Option<f64>,
    /// 实绩下限 — When the actuals combine into a range (a coverage's union within a city:
    /// at least the largest scope's), its lower bound.
    pub actual_min: Option<f64>,
    /// 实绩上限 — The range's upper bound (the sum, capped at the population).
    pub actual_max: Option<f64>,
    /// 最大单项实绩 — The largest single scope's actual.
    pub largest_actual: Option<f64>,
    /// 最小单项实绩 — The smallest single scope's actual (with `largestActual`, the range the
    /// scopes' actuals span when they are not combined).
    pub smallest_actual: Option<f64>,
    /// 未合并 — `NOT_ADDITIVE` when the actuals are rates or percentages of several scopes,
    /// which are never added (each scope keeps its number: see the breakdown); null otherwise.
    pub not_combined: Option<String>,
    /// 实绩条数 — Reports combined.
    pub actual_reports: i32,
    /// 完成率 — Actual ÷ target, when the target is one number.
    pub achievement_rate: Option<f64>,
    /// 完成率下限 — Actual ÷ the target's upper bound (for a range; else the same as the rate).
    pub achievement_rate_low: Option<f64>,
    /// 完成率上限 — Actual ÷ the target's lower bound (for a range; else the same as the rate).
    pub achievement_rate_high: Option<f64>,
    /// 存疑目标数 — Targets in this cell that the documents leave ambiguous (an amount whose
    /// years are open counts in every year it may fall in); see `caveats`.
    pub ambiguous_terms: i32,
    /// 存疑说明 — Each ambiguous target of the cell, with its note and source.
    pub caveats: Vec<Caveat>,
    /// 实绩占比 — This row's actual ÷ the actual of the total it belongs to (a breakdown row's
    /// city, a city's province total), for indicators added up across scopes when both are one
    /// number; null otherwise (rates, coverages, ranges).
    pub share_of_total: Option<f64>,
    /// 目标占比 — This row's target ÷ its total's target, under the same conditions, when
    /// both targets are exact numbers.
    pub target_share_of_total: Option<f64>,
}

/// 存疑说明 — Why a target in a cell cannot be read without guessing, and where it is stated.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct Caveat {
    /// 目标 — Global id of the target.
    pub target: async_graphql::ID,
    /// 年份未定 — True when the document gives the amount over its period but leaves open
    /// which years it falls in: each year shows the interval over its readings (see the
    /// target's `readings`), while the whole period's total is exact.
    pub open_years: bool,
    /// 备注 — The note.
    pub note: Option<String>,
    /// 文件 — The cited document's id.
    pub document: Option<String>,
    /// 原文 — The quoted words.
    pub quote: Option<String>,
}

/// 细分 — One institution or unit (or a programme-level row that cannot be split).
#[derive(SimpleObject, Debug, Clone)]
pub struct Breakdown {
    /// 范围类别 — INSTITUTION, UNIT or PROGRAMME.
    pub kind: String,
    /// 全局标识 — Global id of the institution, unit or programme.
    pub id: String,
    /// 名称 — Its Chinese name, when the replica has it.
    pub name_zh: Option<String>,
    /// 单元格 — Its cells.
    pub cells: Vec<Cell>,
    /// 区间合计 — Its totals over the span, one per indicator.
    pub spans: Vec<SpanCell>,
}

/// 分类小计 — A city's scopes of one kind combined (its counties, its hospitals, its units …),
/// by each indicator's aggregation across scopes.
#[derive(SimpleObject, Debug, Clone)]
pub struct Subtotal {
    /// 范围类别 — REGION, INSTITUTION, UNIT, COMPONENT or PROGRAMME.
    pub kind: String,
    /// 范围数 — Scopes of this kind in the breakdown.
    pub scopes: i32,
    /// 单元格 — Per indicator and year.
    pub cells: Vec<Cell>,
    /// 区间合计 — Per indicator, over the span.
    pub spans: Vec<SpanCell>,
}

/// 城市对比 — One city's side of the comparison.
#[derive(SimpleObject, Debug, Clone)]
pub struct CityComparison {
    /// 行政区划代码 — City code.
    pub code: String,
    /// 中文名称 — Chinese name.
    pub name_zh: String,
    /// 英文名称 — English name.
    pub name_en: String,
    /// 省本级 — True for the province's own scope (140000: the institutions and units the
    /// province runs itself, from the hub's own database); false for a city. The province's
    /// cells and spans are what it adds to the total; the targets it sets on its programmes
    /// and their components are goals for the whole province, in `provinceGoals` (and as rows
    /// of its breakdown), never in its cells.
    pub is_province: bool,
    /// 新鲜度 — Which replica state answered, and how fresh it is (the province's own scope is
    /// answered by the hub's database: always current).
    pub freshness: Freshness,
    /// 单元格 — Per indicator and year (the time series).
    pub cells: Vec<Cell>,
    /// 区间合计 — Per indicator, over the span of years.
    pub spans: Vec<SpanCell>,
    /// 细分 — Per institution or unit (empty at level CITY).
    pub breakdown: Vec<Breakdown>,
    /// 分类小计 — The breakdown combined per kind of scope (empty at level CITY).
    pub subtotals: Vec<Subtotal>,
}

/// 排名条目 — One city's place.
#[derive(SimpleObject, Debug, Clone)]
pub struct RankEntry {
    /// 名次 — 1 for the largest actual; ties share a rank; null without an actual.
    pub rank: Option<i32>,
    /// 城市代码 — City code.
    pub code: String,
    /// 城市 — Chinese name.
    pub name_zh: String,
    /// 实绩 — The actual.
    pub actual: Option<f64>,
    /// 完成率 — Achievement rate (when the target is one number).
    pub achievement_rate: Option<f64>,
}

/// 排名 — Cities ordered by their actual for one indicator and year.
#[derive(SimpleObject, Debug, Clone)]
pub struct Ranking {
    /// 指标代码 — Indicator code.
    pub indicator: String,
    /// 年份 — Year.
    pub year: i32,
    /// 条目 — Cities, best first; cities without an actual last.
    pub entries: Vec<RankEntry>,
}

/// 对比指标 — A catalogue indicator as the comparison uses it.
#[derive(SimpleObject, Debug, Clone)]
pub struct ComparedIndicator {
    /// 指标代码 — Code.
    pub code: String,
    /// 中文名称 — Chinese name.
    pub name_zh: String,
    /// 英文名称 — English name.
    pub name_en: String,
    /// 计量单位 — Unit of measure.
    pub unit: String,
    /// 汇总方式（跨年） — Over time.
    pub aggregation: city_schema::enums::Aggregation,
    /// 汇总方式（跨范围） — Across scopes and cities, as the catalogue declares it.
    pub aggregation_over_scopes: city_schema::enums::ScopeAggregation,
    /// 组合公式 — For a composite, how it is computed from other indicators (evaluated at every
    /// level: each row, subtotal and total is computed from its operands' figures there).
    pub formula: Option<city_schema::types::IndicatorFormula>,
}

/// 城市对比结果 — The comparison.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Comparison {
    /// 指标 — The indicators compared.
    pub indicators: Vec<ComparedIndicator>,
    /// 年份 — The years that have any data, ascending.
    pub years: Vec<i32>,
    /// 城市 — Each city's cells.
    pub cities: Vec<CityComparison>,
    /// 全省合计 — The compared regions combined per indicator and year (by each indicator's
    /// aggregation across scopes): the cities, plus — when 140000 is compared — the
    /// province's own institutions and units (see `totalsInclude`). The province's
    /// programme-wide targets are goals for all of these together, so they are never added
    /// in: see `provinceGoals`.
    pub province_totals: Vec<Cell>,
    /// 全省区间合计 — The same scopes combined per indicator over the span of years.
    pub province_spans: Vec<SpanCell>,
    /// 合计范围 — The region codes combined into `provinceTotals` and `provinceSpans`, in
    /// order (140000 when the province's own scope takes part).
    pub totals_include: Vec<String>,
    /// 全省目标 — When 140000 is compared: the targets the province sets on its own
    /// programmes and their components (such as the 136 programme's), which are goals for the
    /// whole province, set against `provinceTotals`' actual (each cell's `actual` and
    /// achievement are the total's). Empty otherwise.
    pub province_goals: Vec<Cell>,
    /// 全省目标区间 — The same goals over the span, against `provinceSpans`' actual.
    pub province_goal_spans: Vec<SpanCell>,
    /// 排名 — Per indicator and year (cities only: the province's own scope is not ranked).
    pub rankings: Vec<Ranking>,
    /// 已命名对计划 — For the asked indicators that count units (`Indicator.countsUnits`):
    /// every programme's or component's target of them in the compared regions, set against
    /// the units of that kind the region has named under that programme or component (136's
    /// ≈10 leading specialties against the specialties named under 领军临床专科).
    pub named: Vec<NamedCount>,
}

/// 已命名对计划 — One planned count of units (a programme's or component's target of an
/// indicator that counts units) against the units named under its scope.
#[derive(SimpleObject, Debug, Clone)]
pub struct NamedCount {
    /// 地区代码 — The region whose target and units these are (140000 for the province).
    pub region: String,
    /// 指标代码 — Indicator code.
    pub indicator: String,
    /// 目标 — The target's global id.
    pub target_id: async_graphql::ID,
    /// 范围 — The programme's or component's global id.
    pub scope: async_graphql::ID,
    /// 范围名称 — Its Chinese name.
    pub scope_name_zh: Option<String>,
    /// 期间 — The target's period.
    pub period: String,
    /// 计划数 — The planned count, in the document's shape.
    pub target: TargetTotal,
    /// 已命名数 — Units of the indicator's kind named under the scope (for a component, under
    /// it or any component below it).
    pub named: i32,
    /// 已命名单位 — Those units: global id and Chinese name, in list order.
    pub units: Vec<NamedUnit>,
    /// 命名率下限 — `named ÷ planned`: ÷ the upper bound for a range, ÷ the number otherwise
    /// (about, at least, at most); null when the plan gives no number.
    pub named_rate_low: Option<f64>,
    /// 命名率上限 — `named ÷ planned`: ÷ the lower bound for a range, else the same as
    /// `namedRateLow`.
    pub named_rate_high: Option<f64>,
}

/// 已命名单位 — A unit named under a programme or component.
#[derive(SimpleObject, Debug, Clone)]
pub struct NamedUnit {
    /// 全局 ID — `Unit:<region>:<id>`.
    pub id: async_graphql::ID,
    /// 中文名称 — Chinese name.
    pub name_zh: String,
}

/// 派生指标 — An indicator computed from others.
#[derive(SimpleObject, Debug, Clone)]
pub struct DerivedIndicator {
    /// 代码 — Code.
    pub code: String,
    /// 中文名称 — Chinese name.
    pub name_zh: String,
    /// 英文名称 — English name.
    pub name_en: String,
    /// 公式 — How it is computed.
    pub formula: String,
}
