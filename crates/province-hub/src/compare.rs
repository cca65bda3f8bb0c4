//! `compare`: the province leaders' question — how do the cities compare on X, by year, against
//! their targets — answered from the hub's replicas with SQL (one grouped query per city
//! replica, all in parallel), merged here into per-city cells, drill-down, province totals and
//! rankings. Every city's numbers come with the freshness of its replica.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use futures_util::future::join_all;
use model::{
    Aggregation, Comparator, RegionCode, ScopeAggregation,
    compare::{Across, ActualSum, Bounds, TargetGroup, TargetSum, achievement, combine_targets},
};
use store::compare::{Facts, FactsQuery, GroupLevel};

use crate::{
    cities::Cities,
    status::{AnsweredBy, Freshness, freshness},
};

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
        }
    }
}

/// 对比单元格 — One indicator in one year: target, actual, achievement.
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
    #[graphql(flatten)]
    pub figures: Figures,
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
    /// 新鲜度 — Which replica state answered, and how fresh it is.
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
    /// 全省合计 — Cities combined per indicator and year (by each indicator's aggregation across scopes).
    pub province_totals: Vec<Cell>,
    /// 全省区间合计 — Cities combined per indicator over the span of years.
    pub province_spans: Vec<SpanCell>,
    /// 排名 — Per indicator and year.
    pub rankings: Vec<Ranking>,
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

/// Recent comparisons, keyed by the question and the generation (changes applied, snapshots
/// taken) of every city asked about: a replica that applies a change or is rebuilt changes the
/// key, so a hit is exactly as fresh as a recomputation. Each city's `freshness` is refreshed on every hit.
pub type CompareCache = crate::kept::Kept<String, Comparison>;

/// How one indicator combines: over time within a scope's year, and across scopes and cities.
#[derive(Debug, Clone, Copy)]
struct Semantics {
    over_time: Aggregation,
    over_scopes: ScopeAggregation,
}

impl Default for Semantics {
    fn default() -> Self {
        Self {
            over_time: Aggregation::Sum,
            over_scopes: ScopeAggregation::Sum,
        }
    }
}

type Catalogue = BTreeMap<String, Semantics>;

fn semantics(how: &Catalogue, indicator: &str) -> Semantics {
    how.get(indicator).copied().unwrap_or_default()
}

/// Accumulates groups into cells.
#[derive(Default)]
struct CellAcc {
    targets: Vec<TargetGroup>,
    /// This year's share of amounts whose years are open (intervals over their readings): shown
    /// in the year's cell, and left out of a span, which counts each such amount once.
    open: Vec<TargetGroup>,
    actual: Option<ActualSum>,
    reports: u32,
    caveats: Vec<Caveat>,
}

impl CellAcc {
    fn add_actual(&mut self, a: ActualSum, how: ScopeAggregation, across: Across) {
        self.actual = Some(match self.actual {
            None => a,
            Some(held) => held.add(a, how, across),
        });
    }

    /// Adds another scope's accumulated groups (a drill-down row into its city's total).
    fn absorb(&mut self, other: &Self, how: ScopeAggregation, across: Across) {
        self.targets.extend(other.targets.iter().copied());
        self.open.extend(other.open.iter().copied());
        if let Some(a) = other.actual {
            self.add_actual(a, how, across);
        }
        self.reports += other.reports;
        self.caveats.extend(other.caveats.iter().cloned());
    }

    /// The year's targets combined, with or without the open amounts' shares.
    fn target(&self, with_open: bool, how: ScopeAggregation, across: Across) -> Option<TargetSum> {
        if with_open && !self.open.is_empty() {
            let all: Vec<TargetGroup> = self.targets.iter().chain(&self.open).copied().collect();
            combine_targets(&all, how, across)
        } else {
            combine_targets(&self.targets, how, across)
        }
    }
}

/// The figures of a cell from its combined target and actual.
fn figures(
    target: Option<TargetSum>,
    actual: Option<ActualSum>,
    reports: u32,
    caveats: Vec<Caveat>,
) -> Figures {
    let value = actual.and_then(|a| a.value);
    let rates = match (value, &target) {
        (Some(a), Some(t)) if t.not_combined.is_none() => achievement(a, t),
        _ => None,
    };
    let point = rates
        .filter(|(lo, hi)| (hi - lo).abs() < 1e-12)
        .map(|(r, _)| r);
    Figures {
        target: target.map(TargetTotal::from),
        actual: value,
        actual_min: actual.and_then(|a| a.min),
        actual_max: actual.and_then(|a| a.max),
        largest_actual: actual.map(|a| a.largest),
        not_combined: actual
            .and_then(|a| a.not_combined)
            .map(|n| n.code().to_owned()),
        actual_reports: i32::try_from(reports).unwrap_or(i32::MAX),
        achievement_rate: point,
        achievement_rate_low: rates.map(|r| r.0),
        achievement_rate_high: rates.map(|r| r.1),
        ambiguous_terms: i32::try_from(caveats.len()).unwrap_or(i32::MAX),
        caveats,
    }
}

fn cell(indicator: &str, year: i32, acc: &CellAcc, how: Semantics, across: Across) -> Cell {
    Cell {
        indicator: indicator.to_owned(),
        year,
        figures: figures(
            acc.target(true, how.over_scopes, across),
            acc.actual,
            acc.reports,
            acc.caveats.clone(),
        ),
    }
}

/// An amount whose years are open, as the span sees it: its readings and its period's years.
#[derive(Debug, Clone)]
struct OpenAmount {
    readings: Vec<model::Reading>,
    first: i32,
    last: i32,
}

/// One scope's total of one indicator over a span, before it is shown.
#[derive(Debug, Clone, Default)]
struct SpanAcc {
    target: Option<TargetSum>,
    actual: Option<ActualSum>,
    reports: u32,
    caveats: Vec<Caveat>,
}

impl SpanAcc {
    fn cell(self, indicator: &str, span: (i32, i32), how: Semantics) -> SpanCell {
        SpanCell {
            indicator: indicator.to_owned(),
            from: span.0,
            to: span.1,
            over_time: how.over_time.into(),
            figures: figures(self.target, self.actual, self.reports, self.caveats),
        }
    }

    /// The cities' spans combined into the province's, across cities by `how`.
    fn province(cities: &[&Self], how: ScopeAggregation) -> Self {
        let groups: Vec<TargetGroup> = cities
            .iter()
            .filter_map(|c| c.target.as_ref())
            .flat_map(model::compare::groups_of)
            .collect();
        let mut out = Self {
            target: combine_targets(&groups, how, Across::Cities),
            ..Self::default()
        };
        for c in cities {
            if let Some(a) = c.actual {
                out.actual = Some(match out.actual {
                    None => a,
                    Some(held) => held.add(a, how, Across::Cities),
                });
            }
            out.reports += c.reports;
            out.caveats.extend(c.caveats.iter().cloned());
        }
        out
    }
}

/// One scope's total of one indicator over `span`, from its yearly accumulations (`years`,
/// ascending) and its amounts whose years are open (each counted once, as its share of the
/// span).
fn span_acc(
    span: (i32, i32),
    years: &[(i32, &CellAcc)],
    open: &[OpenAmount],
    how: Semantics,
    across: Across,
) -> SpanAcc {
    let figures_by_year: Vec<model::compare::YearFigures> = years
        .iter()
        .map(|(year, acc)| model::compare::YearFigures {
            year: *year,
            target: acc.target(false, how.over_scopes, across),
            actual: acc.actual,
        })
        .collect();
    let whole: Vec<TargetGroup> = open
        .iter()
        .filter_map(|o| {
            let (from, to) = (span.0.max(o.first), span.1.min(o.last));
            (from <= to)
                .then(|| model::share_of(&o.readings, from, to))
                .flatten()
        })
        .map(|(lo, hi)| interval_group(lo, hi))
        .collect();
    let (target, actual) = model::compare::span_total(&figures_by_year, how.over_time, &whole);
    let mut caveats: Vec<Caveat> = Vec::new();
    for (_, acc) in years {
        for c in &acc.caveats {
            if !caveats.iter().any(|k| k.target == c.target) {
                caveats.push(c.clone());
            }
        }
    }
    SpanAcc {
        target,
        actual,
        reports: years.iter().map(|(_, a)| a.reports).sum(),
        caveats,
    }
}

/// `[lo, hi]` as one target group (exact when the bounds meet).
fn interval_group(lo: f64, hi: f64) -> TargetGroup {
    let (comparator, value, min, max) = if (hi - lo).abs() < 1e-9 {
        (Comparator::Exact, Some(lo), None, None)
    } else {
        (Comparator::Range, None, Some(lo), Some(hi))
    };
    TargetGroup {
        comparator,
        value,
        min,
        max,
        largest: Bounds { value, min, max },
        count: 1,
    }
}

/// The kind of a scope key (`unit:…` → `unit`; a programme-level row has none: `programme`).
fn kind_of(scope: &str) -> &str {
    scope.split_once(':').map_or("programme", |(kind, _)| kind)
}

/// A city's breakdown regrouped by kind of scope (the scope of each cell becomes its kind), and
/// how many scopes each kind has.
fn by_kind(folded: &Folded, how: &Catalogue, across: Across) -> (Folded, BTreeMap<String, usize>) {
    let mut out = Folded::default();
    let mut scopes: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for ((scope, indicator, year), acc) in &folded.cells {
        if scope.is_empty() {
            continue;
        }
        let kind = kind_of(scope).to_owned();
        scopes.entry(kind.clone()).or_default().insert(scope);
        out.cells
            .entry((kind, indicator.clone(), *year))
            .or_default()
            .absorb(acc, semantics(how, indicator).over_scopes, across);
    }
    for ((scope, indicator), amounts) in &folded.open {
        if scope.is_empty() {
            continue;
        }
        out.open
            .entry((kind_of(scope).to_owned(), indicator.clone()))
            .or_default()
            .extend(amounts.iter().cloned());
    }
    let counts = scopes.into_iter().map(|(k, s)| (k, s.len())).collect();
    (out, counts)
}

/// Every scope's spans of one city: one per (scope, indicator) with data in `span`.
fn spans_of(
    folded: &Folded,
    span: (i32, i32),
    how: &Catalogue,
    across: Across,
) -> BTreeMap<(String, String), SpanAcc> {
    let mut by_scope: BTreeMap<(String, String), Vec<(i32, &CellAcc)>> = BTreeMap::new();
    for ((scope, indicator, year), acc) in &folded.cells {
        if (span.0..=span.1).contains(year) {
            by_scope
                .entry((scope.clone(), indicator.clone()))
                .or_default()
                .push((*year, acc));
        }
    }
    by_scope
        .into_iter()
        .map(|(key, years)| {
            let opens = folded.open.get(&key).map_or(&[][..], Vec::as_slice);
            let acc = span_acc(span, &years, opens, semantics(how, &key.1), across);
            (key, acc)
        })
        .collect()
}

type Key = (String, String, i32); // (scope, indicator, year)

/// One grouped actual row (one scope's year, or every scope of the city at city level) as a
/// combined actual: over time by the indicator's aggregation, and — when the row spans several
/// scopes — across them by its declaration.
fn actual_of(a: &store::compare::ActualGroupRow, how: Semantics, across: Across) -> ActualSum {
    let n = u32::try_from(a.n).unwrap_or(u32::MAX).max(1);
    let spans_scopes = a.scope.is_empty() && n > 1;
    match (how.over_scopes, spans_scopes) {
        (ScopeAggregation::NotAdditive, true) => ActualSum::one(a.max_value).add(
            ActualSum {
                scopes: n - 1,
                ..ActualSum::one(a.max_value)
            },
            ScopeAggregation::NotAdditive,
            across,
        ),
        (ScopeAggregation::Coverage, true) => {
            // The union of the scopes' coverage: the largest, up to the sum.
            let rest = a.sum_value - a.max_value;
            ActualSum::one(a.max_value).add(
                ActualSum {
                    scopes: n - 1,
                    ..ActualSum::one(rest)
                },
                ScopeAggregation::Coverage,
                across,
            )
        }
        _ => {
            let value = match how.over_time {
                Aggregation::Max => a.max_value,
                Aggregation::Average => a.sum_value / f64::from(n),
                _ => a.sum_value,
            };
            ActualSum {
                scopes: n,
                largest: a.max_value,
                ..ActualSum::one(value)
            }
        }
    }
}

/// A target read several ways, as one year's group: the interval over its readings.
fn open_year_group(readings: &[model::Reading], year: i32) -> Option<TargetGroup> {
    let (lo, hi) = model::share_of(readings, year, year)?;
    Some(interval_group(lo, hi))
}

/// One city's facts folded: cells keyed by scope, indicator and year, and the amounts whose
/// years are open, by scope and indicator.
#[derive(Default)]
struct Folded {
    cells: BTreeMap<Key, CellAcc>,
    open: BTreeMap<(String, String), Vec<OpenAmount>>,
}

/// Folds one city's facts into cells keyed by scope, indicator and year (`years`: the asked
/// ones, which an amount with open years is spread over).
fn fold(
    facts: &Facts,
    how: &Catalogue,
    across: Across,
    city: RegionCode,
    years: (i32, i32),
) -> Folded {
    let mut folded = Folded::default();
    let out = &mut folded.cells;
    for c in &facts.caveats {
        let readings = match store::writes::readings_of(c.readings.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                // The record check refuses such rows; one that got in is shown, not used.
                tracing::warn!(%city, target = %c.id, error = %e, "a replicated target's readings cannot be read");
                Vec::new()
            }
        };
        let caveat = Caveat {
            target: async_graphql::ID(format!("Target:{city}:{}", c.id)),
            open_years: !readings.is_empty(),
            note: c.note.clone(),
            document: c.source_document.clone(),
            quote: c.source_quote.clone(),
        };
        let (first, last) = if c.readings.is_some() {
            (
                (c.period_start / 100).max(years.0),
                (c.period_end / 100).min(years.1),
            )
        } else {
            (c.period_end / 100, c.period_end / 100)
        };
        for year in first..=last {
            let acc = out
                .entry((c.scope.clone(), c.indicator.clone(), year))
                .or_default();
            if c.readings.is_some() {
                acc.open.extend(open_year_group(&readings, year));
            }
            acc.caveats.push(caveat.clone());
        }
        if c.readings.is_some() && !readings.is_empty() {
            folded
                .open
                .entry((c.scope.clone(), c.indicator.clone()))
                .or_default()
                .push(OpenAmount {
                    readings,
                    first: c.period_start / 100,
                    last: c.period_end / 100,
                });
        }
    }
    let out = &mut folded.cells;
    for t in &facts.targets {
        let sem = semantics(how, &t.indicator);
        let max = sem.over_time == Aggregation::Max;
        let comparator = Comparator::parse(&t.comparator).unwrap_or(Comparator::Unknown);
        let pick = |sum: Option<f64>, mx: Option<f64>| if max { mx } else { sum };
        out.entry((t.scope.clone(), t.indicator.clone(), t.year))
            .or_default()
            .targets
            .push(TargetGroup {
                comparator,
                value: pick(t.sum_value, t.max_value),
                min: pick(t.sum_min, t.max_min),
                max: pick(t.sum_max, t.max_max),
                largest: Bounds {
                    value: t.max_value,
                    min: t.max_min,
                    max: t.max_max,
                },
                count: u32::try_from(t.n).unwrap_or(u32::MAX),
            });
    }
    for a in &facts.actuals {
        let sem = semantics(how, &a.indicator);
        let acc = out
            .entry((a.scope.clone(), a.indicator.clone(), a.year))
            .or_default();
        acc.add_actual(actual_of(a, sem, across), sem.over_scopes, across);
        acc.reports += u32::try_from(a.n).unwrap_or(u32::MAX);
    }
    folded
}

/// The population a coverage within `city` is capped at (its counties, when known).
fn within(city: RegionCode) -> Across {
    Across::OneCity {
        population: model::region::counties_of(city).map(f64::from),
    }
}

/// Province totals: the cities' cells combined (targets through their combined shapes).
fn totals(
    per_city: &[(RegionCode, BTreeMap<Key, CellAcc>)],
    how: &Catalogue,
) -> BTreeMap<(String, i32), CellAcc> {
    let mut out: BTreeMap<(String, i32), CellAcc> = BTreeMap::new();
    for (city, cells) in per_city {
        for ((scope, indicator, year), acc) in cells {
            if !scope.is_empty() {
                continue;
            }
            let sem = semantics(how, indicator);
            let total = out.entry((indicator.clone(), *year)).or_default();
            if let Some(t) = combine_targets(&acc.targets, sem.over_scopes, within(*city)) {
                total.targets.extend(model::compare::groups_of(&t));
            }
            if let Some(t) = combine_targets(&acc.open, sem.over_scopes, within(*city)) {
                total.open.extend(model::compare::groups_of(&t));
            }
            if let Some(a) = acc.actual {
                total.add_actual(a, sem.over_scopes, Across::Cities);
            }
            total.reports += acc.reports;
            total.caveats.extend(acc.caveats.iter().cloned());
        }
    }
    out
}

fn global_id(city: RegionCode, scope: &str) -> (String, String) {
    let (kind, local) = scope.split_once(':').unwrap_or(("programme", scope));
    let entity = match kind {
        "unit" => "Unit",
        "institution" => "Institution",
        "programme" => "Programme",
        "component" => "Component",
        _ => "Region",
    };
    (
        kind.to_ascii_uppercase(),
        format!("{entity}:{city}:{local}"),
    )
}

/// The hub's comparison queries.
#[derive(Debug, Default)]
pub struct CompareQuery;

#[Object]
impl CompareQuery {
    /// 城市对比 — How the cities compare on `indicators`, by year, against their targets:
    /// answered from the hub's replicas with SQL (`cities`: default every replicated city;
    /// `years`: default all; `programmes`: global ids, default all; `level`: drill-down).
    /// City staff compare their own city only (`FORBIDDEN` for another).
    #[graphql(guard = "city_schema::access::Private")]
    async fn compare(
        &self,
        ctx: &Context<'_>,
        indicators: Vec<String>,
        cities: Option<Vec<String>>,
        years: Option<YearRange>,
        programmes: Option<Vec<async_graphql::ID>>,
        level: Option<CompareLevel>,
    ) -> async_graphql::Result<Comparison> {
        let level = level.unwrap_or_default();
        let d = ctx.data::<Cities>()?;
        let province = ctx.data::<store::Store>()?;
        if indicators.is_empty() || indicators.len() > 50 {
            return Err(city_schema::error::invalid(
                "indicators",
                "COUNT",
                "name between 1 and 50 indicators",
            ));
        }
        let mut catalogue = Vec::new();
        for (i, code) in indicators.iter().enumerate() {
            match province
                .indicator(code)
                .await
                .map_err(city_schema::error::from_store)?
            {
                Some(m) => catalogue.push(m),
                None => {
                    return Err(city_schema::error::invalid(
                        &format!("indicators[{i}]"),
                        "UNKNOWN_INDICATOR",
                        format!("`{code}` is not in the province's catalogue"),
                    ));
                }
            }
        }
        let years = years.map_or((1900, 2999), |y| (y.from, y.to));
        if years.0 > years.1 {
            return Err(city_schema::error::invalid(
                "years",
                "RANGE_INVERTED",
                "`from` must not be after `to`",
            ));
        }
        let mut how: Catalogue = BTreeMap::new();
        for m in &catalogue {
            let i = store::writes::indicator_model(m).map_err(city_schema::error::from_store)?;
            how.insert(
                m.code.clone(),
                Semantics {
                    over_time: i.aggregation,
                    over_scopes: i.over_scopes,
                },
            );
        }
        let latest: Vec<String> = how
            .iter()
            .filter(|(_, s)| s.over_time == Aggregation::Latest)
            .map(|(c, _)| c.clone())
            .collect();
        let own = city_schema::access::access(ctx).principal.city();
        let cities = match (cities, own) {
            (None, Some(own)) => Some(vec![own.to_string()]),
            (Some(asked), Some(own)) if asked.iter().any(|c| *c != own.to_string()) => {
                return Err(city_schema::access::refused(&auth::Refusal {
                    code: codes::Code::Forbidden,
                    message: format!("city staff of {own} compare their own city only"),
                }));
            }
            (cities, _) => cities,
        };
        let regions: Vec<&'static model::Region> = match cities {
            Some(codes) => crate::cities::parse_cities(&codes)?,
            None => d
                .replicas
                .keys()
                .filter_map(|c| model::region::region(*c))
                .collect(),
        };
        let mut wanted: BTreeMap<RegionCode, Vec<String>> = BTreeMap::new();
        let filtered = programmes.as_ref().is_some_and(|p| !p.is_empty());
        for (i, p) in programmes.iter().flatten().enumerate() {
            let gid: model::GlobalId = p.parse().map_err(|e: model::ValidationError| {
                city_schema::error::invalid(&format!("programmes[{i}]"), e.rule, e.message)
            })?;
            wanted
                .entry(gid.owner.city())
                .or_default()
                .push(gid.local.clone());
        }
        let store_level = match level {
            CompareLevel::City => GroupLevel::City,
            CompareLevel::Institution => GroupLevel::Institution,
            CompareLevel::Unit => GroupLevel::Unit,
        };
        let fresh_now = |code: RegionCode| match d.replicas.get(&code) {
            Some(v) => freshness(
                AnsweredBy::Replica,
                Some(&v.replica),
                !v.replica.is_current(d.fresh),
                None,
            ),
            None => freshness(
                AnsweredBy::None,
                None,
                false,
                Some(format!("the hub keeps no replica of {code}")),
            ),
        };
        let key = format!(
            "{indicators:?}|{years:?}|{wanted:?}|{filtered}|{level:?}|{}",
            regions
                .iter()
                .map(|r| {
                    let (applied, snapshots) = d
                        .replicas
                        .get(&r.code)
                        .map_or((-1, 0), |v| v.replica.generation());
                    format!("{}={applied}/{snapshots}", r.code)
                })
                .collect::<Vec<_>>()
                .join(",")
        );
        let cached = d.compare_cache.get(&key);
        metrics::counter!("xingyi_compare_cache_total", "result" => if cached.is_some() { "hit" } else { "miss" })
            .increment(1);
        if let Some(mut hit) = cached {
            for c in &mut hit.cities {
                if let Ok(code) = c.code.parse::<RegionCode>() {
                    c.freshness = fresh_now(code);
                }
            }
            return Ok(hit);
        }
        let results = join_all(regions.iter().map(|r| {
            let view = d.replicas.get(&r.code);
            let query = FactsQuery {
                indicators: indicators.clone(),
                years,
                programmes: wanted.get(&r.code).cloned().unwrap_or_default(),
                latest: latest.clone(),
                level: store_level,
            };
            let skip = filtered && query.programmes.is_empty();
            async move {
                match view {
                    None => Ok(None),
                    Some(_) if skip => Ok(Some(Facts::default())),
                    Some(v) => v.replica.store.rollup_facts(&query).await.map(Some),
                }
            }
        }))
        .await;

        // Every city folded first: the span is the asked years narrowed to those with data
        // anywhere, the same for every city.
        let mut folded_cities = Vec::new();
        let mut all_years = BTreeSet::new();
        for (region, result) in regions.iter().zip(results) {
            let facts = match result {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!(city = %region.code, error = %e, "comparison query failed");
                    return Err(city_schema::error::from_store(e));
                }
            };
            let across = within(region.code);
            let mut folded = facts
                .as_ref()
                .map(|f| fold(f, &how, across, region.code, years))
                .unwrap_or_default();
            all_years.extend(folded.cells.keys().map(|(_, _, y)| *y));
            // Drill-down levels: the city totals are the breakdown combined.
            if level != CompareLevel::City {
                let mut city_level: BTreeMap<Key, CellAcc> = BTreeMap::new();
                for ((_, indicator, year), acc) in &folded.cells {
                    let sem = semantics(&how, indicator);
                    city_level
                        .entry((String::new(), indicator.clone(), *year))
                        .or_default()
                        .absorb(acc, sem.over_scopes, across);
                }
                let mut city_open: BTreeMap<(String, String), Vec<OpenAmount>> = BTreeMap::new();
                for ((_, indicator), amounts) in &folded.open {
                    city_open
                        .entry((String::new(), indicator.clone()))
                        .or_default()
                        .extend(amounts.iter().cloned());
                }
                folded.cells.extend(city_level);
                folded.open.extend(city_open);
            }
            folded_cities.push((*region, folded));
        }
        let span = all_years
            .first()
            .zip(all_years.last())
            .map(|(first, last)| ((*first).max(years.0), (*last).min(years.1)));

        let mut per_city = Vec::new();
        let mut city_spans: Vec<BTreeMap<(String, String), SpanAcc>> = Vec::new();
        let mut out_cities = Vec::new();
        for (region, folded) in folded_cities {
            let view = d.replicas.get(&region.code);
            let across = within(region.code);
            let names = match (view, level) {
                (Some(v), CompareLevel::Institution | CompareLevel::Unit) => v
                    .replica
                    .store
                    .scope_names()
                    .await
                    .map_err(city_schema::error::from_store)?,
                _ => BTreeMap::new(),
            };
            let spans =
                span.map_or_else(BTreeMap::new, |span| spans_of(&folded, span, &how, across));
            let (kinds, kind_scopes) = by_kind(&folded, &how, across);
            let kind_spans =
                span.map_or_else(BTreeMap::new, |span| spans_of(&kinds, span, &how, across));
            let mut subtotals: BTreeMap<String, Subtotal> = kind_scopes
                .iter()
                .map(|(kind, n)| {
                    (
                        kind.clone(),
                        Subtotal {
                            kind: kind.to_ascii_uppercase(),
                            scopes: i32::try_from(*n).unwrap_or(i32::MAX),
                            cells: Vec::new(),
                            spans: Vec::new(),
                        },
                    )
                })
                .collect();
            for ((kind, indicator, year), acc) in &kinds.cells {
                if let Some(t) = subtotals.get_mut(kind) {
                    t.cells.push(cell(
                        indicator,
                        *year,
                        acc,
                        semantics(&how, indicator),
                        across,
                    ));
                }
            }
            if let Some(span) = span {
                for ((kind, indicator), acc) in kind_spans {
                    if let Some(t) = subtotals.get_mut(&kind) {
                        t.spans
                            .push(acc.cell(&indicator, span, semantics(&how, &indicator)));
                    }
                }
            }
            let mut cells = Vec::new();
            let mut breakdown: BTreeMap<String, (Vec<Cell>, Vec<SpanCell>)> = BTreeMap::new();
            for ((scope, indicator, year), acc) in &folded.cells {
                let c = cell(indicator, *year, acc, semantics(&how, indicator), across);
                if scope.is_empty() {
                    cells.push(c);
                } else {
                    breakdown.entry(scope.clone()).or_default().0.push(c);
                }
            }
            let mut city_span_cells = Vec::new();
            if let Some(span) = span {
                for ((scope, indicator), acc) in &spans {
                    let c = acc
                        .clone()
                        .cell(indicator, span, semantics(&how, indicator));
                    if scope.is_empty() {
                        city_span_cells.push(c);
                    } else {
                        breakdown.entry(scope.clone()).or_default().1.push(c);
                    }
                }
            }
            let city_level: BTreeMap<Key, CellAcc> = folded
                .cells
                .into_iter()
                .filter(|((scope, _, _), _)| scope.is_empty())
                .collect();
            per_city.push((region.code, city_level));
            city_spans.push(
                spans
                    .into_iter()
                    .filter(|((scope, _), _)| scope.is_empty())
                    .collect(),
            );
            out_cities.push(CityComparison {
                code: region.code.to_string(),
                name_zh: region.name_zh.to_owned(),
                name_en: region.name_en.to_owned(),
                freshness: fresh_now(region.code),
                cells,
                spans: city_span_cells,
                breakdown: breakdown
                    .into_iter()
                    .map(|(scope, (cells, spans))| {
                        let (kind, id) = global_id(region.code, &scope);
                        // Counties and districts are named by the region table, not the replica.
                        let name_zh = names.get(&scope).cloned().or_else(|| {
                            scope
                                .strip_prefix("region:")
                                .and_then(|code| code.parse::<RegionCode>().ok())
                                .and_then(model::region::region)
                                .map(|r| r.name_zh.to_owned())
                        });
                        Breakdown {
                            kind,
                            name_zh,
                            id,
                            cells,
                            spans,
                        }
                    })
                    .collect(),
                subtotals: subtotals.into_values().collect(),
            });
        }

        let province_totals: Vec<Cell> = totals(&per_city, &how)
            .iter()
            .map(|((i, y), acc)| cell(i, *y, acc, semantics(&how, i), Across::Cities))
            .collect();
        let mut province_spans = Vec::new();
        if let Some(span) = span {
            for code in &indicators {
                let sem = semantics(&how, code);
                let of_cities: Vec<&SpanAcc> = city_spans
                    .iter()
                    .filter_map(|m| m.get(&(String::new(), code.clone())))
                    .collect();
                if !of_cities.is_empty() {
                    province_spans
                        .push(SpanAcc::province(&of_cities, sem.over_scopes).cell(code, span, sem));
                }
            }
        }
        let mut rankings = Vec::new();
        for code in &indicators {
            for year in &all_years {
                let mut entries: Vec<RankEntry> = out_cities
                    .iter()
                    .map(|c| {
                        let found = c
                            .cells
                            .iter()
                            .find(|x| x.indicator == *code && x.year == *year);
                        RankEntry {
                            rank: None,
                            code: c.code.clone(),
                            name_zh: c.name_zh.clone(),
                            actual: found.and_then(|x| x.figures.actual),
                            achievement_rate: found.and_then(|x| x.figures.achievement_rate),
                        }
                    })
                    .collect();
                entries.sort_by(|a, b| match (a.actual, b.actual) {
                    (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.code.cmp(&b.code)),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => a.code.cmp(&b.code),
                });
                let mut rank = 0;
                let mut previous: Option<f64> = None;
                for (i, e) in entries.iter_mut().enumerate() {
                    if let Some(a) = e.actual {
                        if previous != Some(a) {
                            rank = i32::try_from(i + 1).unwrap_or(i32::MAX);
                            previous = Some(a);
                        }
                        e.rank = Some(rank);
                    }
                }
                rankings.push(Ranking {
                    indicator: code.clone(),
                    year: *year,
                    entries,
                });
            }
        }
        let comparison = Comparison {
            indicators: catalogue
                .iter()
                .map(|m| {
                    let sem = semantics(&how, &m.code);
                    ComparedIndicator {
                        code: m.code.clone(),
                        name_zh: m.name_zh.clone(),
                        name_en: m.name_en.clone(),
                        unit: m.unit.clone(),
                        aggregation: sem.over_time.into(),
                        aggregation_over_scopes: sem.over_scopes.into(),
                    }
                })
                .collect(),
            years: all_years.into_iter().collect(),
            cities: out_cities,
            province_totals,
            province_spans,
            rankings,
        };
        d.compare_cache.put(key, comparison.clone());
        Ok(comparison)
    }

    /// 派生指标 — Indicators computed from others (shown on every comparison cell).
    async fn derived_indicators(&self) -> Vec<DerivedIndicator> {
        vec![DerivedIndicator {
            code: "achievement_rate".into(),
            name_zh: "完成率".into(),
            name_en: "Achievement rate".into(),
            formula: "actual ÷ target; for a target range, actual ÷ max (low) and actual ÷ min (high); none for unknown targets".into(),
        }]
    }
}
