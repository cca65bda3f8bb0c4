//! The comparison engine, in plain Rust: no server, no GraphQL context, no I/O. It folds each
//! region's facts (targets and actuals grouped by SQL) into cells per scope, indicator and
//! year; combines them across scopes and over the span by each indicator's declarations;
//! evaluates composites at every level from their operands' figures there; derives shares of
//! totals, paces and rankings; and builds the answer.
//!
//! Levels, from fine to coarse: a breakdown row (institution, unit, county …), a subtotal per
//! kind of scope, a region (city, or the province's own scope), and the total of the compared
//! regions. Every level is a map from (key, indicator) to [`Combined`] figures, so composites
//! and presentation are written once for all of them.

use std::collections::{BTreeMap, BTreeSet};

use model::{
    Aggregation, Comparator, Formula, Region, RegionCode, ScopeAggregation,
    compare::{
        Across, ActualSum, Bounds, TargetGroup, TargetSum, achievement, add_actuals, add_targets,
        combine_targets, pace_target, ratio_actuals, ratio_targets,
    },
};
use store::compare::Facts;

use super::{
    plan::{Plan, Semantics},
    types::{
        Breakdown, Caveat, Cell, CityComparison, CompareLevel, ComparedIndicator, Comparison,
        Figures, RankEntry, Ranking, SpanCell, Subtotal, TargetTotal,
    },
};
use crate::status::Freshness;

/// One region's facts, as the engine takes them.
#[derive(Debug, Clone)]
pub struct RegionFacts {
    /// The city, or the province for its own scope.
    pub region: &'static Region,
    /// Its grouped facts; `None` when the hub keeps no data for it.
    pub facts: Option<Facts>,
    /// For the province: its programme-wide facts (programme and component scopes, grouped at
    /// city level) — goals for the whole province, never added to the total.
    pub goals: Option<Facts>,
    /// For the province: the rest of its facts (institutions, units, regions, grouped at city
    /// level) — what it adds to the total. `None` for a city, whose whole facts count.
    pub contribution: Option<Facts>,
    /// Names of its scopes (`unit:…` → name), for breakdown rows.
    pub names: BTreeMap<String, String>,
    /// Its programme- and component-scoped targets of indicators that count units, with the
    /// units named under each.
    pub named: Vec<store::compare::NamedRow>,
    /// How fresh its data is.
    pub freshness: Freshness,
}

/// Figures of one indicator at one place (a year or a span, of a row, a region or a total),
/// combined but not yet presented.
#[derive(Debug, Clone, Default)]
struct Combined {
    target: Option<TargetSum>,
    actual: Option<ActualSum>,
    reports: u32,
    caveats: Vec<Caveat>,
    /// The years its targets run over (for a span's pace).
    target_years: Option<TargetYears>,
}

/// The years some targets run over: from the earliest start of their periods to the latest
/// year they are due — a range when a target's document gives its time as a range of years
/// (「通过 3—5 年」: due 3 to 5 years after its start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TargetYears {
    first: i32,
    due_min: i32,
    due_max: i32,
}

impl TargetYears {
    /// Both together: the earliest start and the latest due years.
    fn merge(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(a), Some(b)) => Some(Self {
                first: a.first.min(b.first),
                due_min: a.due_min.max(b.due_min),
                due_max: a.due_max.max(b.due_max),
            }),
            (a, b) => a.or(b),
        }
    }

    /// How many years, fewest and most.
    fn count(self) -> (i32, i32) {
        (self.due_min - self.first + 1, self.due_max - self.first + 1)
    }
}

impl Combined {
    fn is_empty(&self) -> bool {
        self.target.is_none() && self.actual.is_none() && self.caveats.is_empty()
    }

    fn add_caveats(&mut self, more: &[Caveat]) {
        for c in more {
            if !self.caveats.iter().any(|k| k.target == c.target) {
                self.caveats.push(c.clone());
            }
        }
    }
}

/// Figures keyed by a level's key and the indicator.
type Level<K> = BTreeMap<(K, String), Combined>;

/// Accumulates one scope's groups of one indicator and year.
#[derive(Debug, Clone, Default)]
struct CellAcc {
    targets: Vec<TargetGroup>,
    /// This year's share of amounts whose years are open (intervals over their readings): shown
    /// in the year's cell, and left out of a span, which counts each such amount once.
    open: Vec<TargetGroup>,
    actual: Option<ActualSum>,
    reports: u32,
    caveats: Vec<Caveat>,
    target_years: Option<TargetYears>,
}

impl CellAcc {
    fn add_actual(&mut self, a: ActualSum, how: ScopeAggregation, across: Across) {
        self.actual = Some(match self.actual {
            None => a,
            Some(held) => held.add(a, how, across),
        });
    }

    /// Adds another scope's accumulated groups (a drill-down row into its region's total).
    fn absorb(&mut self, other: &Self, how: ScopeAggregation, across: Across) {
        self.targets.extend(other.targets.iter().copied());
        self.open.extend(other.open.iter().copied());
        if let Some(a) = other.actual {
            self.add_actual(a, how, across);
        }
        self.reports += other.reports;
        self.caveats.extend(other.caveats.iter().cloned());
        self.target_years = TargetYears::merge(self.target_years, other.target_years);
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

    fn combined(&self, how: ScopeAggregation, across: Across) -> Combined {
        Combined {
            target: self.target(true, how, across),
            actual: self.actual,
            reports: self.reports,
            caveats: self.caveats.clone(),
            target_years: self.target_years,
        }
    }
}

/// An amount whose years are open, as the span sees it: its readings and its period's years.
#[derive(Debug, Clone)]
struct OpenAmount {
    readings: Vec<model::Reading>,
    first: i32,
    last: i32,
}

/// One region's facts folded: cells keyed by scope, indicator and year (scope `""` is the
/// region itself), and the amounts whose years are open, by scope and indicator.
#[derive(Debug, Default)]
struct Folded {
    cells: BTreeMap<(String, String, i32), CellAcc>,
    open: BTreeMap<(String, String), Vec<OpenAmount>>,
}

/// The population a coverage within `region` is capped at (its counties, when known).
fn within(region: RegionCode) -> Across {
    Across::OneCity {
        population: model::region::counties_of(region).map(f64::from),
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
        smallest: Bounds { value, min, max },
        count: 1,
    }
}

/// One grouped actual row (one scope's year, or every scope of the region at region level) as
/// a combined actual: within the year by the indicator's over-time aggregation, and — when the
/// row spans several scopes — across them by its declaration.
fn actual_of(a: &store::compare::ActualGroupRow, how: Semantics, across: Across) -> ActualSum {
    let n = u32::try_from(a.n).unwrap_or(u32::MAX).max(1);
    let spans_scopes = a.scope.is_empty() && n > 1;
    match (how.over_scopes, spans_scopes) {
        (ScopeAggregation::NotAdditive, true) => ActualSum::one(a.max_value).add(
            ActualSum {
                scopes: n - 1,
                ..ActualSum::one(a.least_value)
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
                    smallest: a.least_value,
                    ..ActualSum::one(rest)
                },
                ScopeAggregation::Coverage,
                across,
            )
        }
        _ => {
            let value = match how.over_time {
                Aggregation::Max => a.max_value,
                Aggregation::Average | Aggregation::Compound => a.sum_value / f64::from(n),
                Aggregation::Sum | Aggregation::Latest => a.sum_value,
            };
            ActualSum {
                scopes: n,
                largest: a.max_value,
                smallest: a.least_value,
                ..ActualSum::one(value)
            }
        }
    }
}

/// Folds one region's facts into cells keyed by scope, indicator and year (`years`: the asked
/// ones, which an amount with open years is spread over).
fn fold(facts: &Facts, plan: &Plan, level: CompareLevel, region: RegionCode) -> Folded {
    let across = within(region);
    let years = plan.years;
    let mut folded = Folded::default();
    for c in &facts.caveats {
        let readings = match store::writes::readings_of(c.readings.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                // The record check refuses such rows; one that got in is shown, not used.
                tracing::warn!(%region, target = %c.id, error = %e, "a replicated target's readings cannot be read");
                Vec::new()
            }
        };
        let caveat = Caveat {
            target: async_graphql::ID(format!("Target:{region}:{}", c.id)),
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
            let acc = folded
                .cells
                .entry((c.scope.clone(), c.indicator.clone(), year))
                .or_default();
            if c.readings.is_some()
                && let Some((lo, hi)) = model::share_of(&readings, year, year)
            {
                acc.open.push(interval_group(lo, hi));
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
    for t in &facts.targets {
        let max = plan.semantics(&t.indicator).over_time == Aggregation::Max;
        let comparator = Comparator::parse(&t.comparator).unwrap_or(Comparator::Unknown);
        let pick = |sum: Option<f64>, mx: Option<f64>| if max { mx } else { sum };
        let acc = folded
            .cells
            .entry((t.scope.clone(), t.indicator.clone(), t.year))
            .or_default();
        if let (Some(first), Some(due_min), Some(due_max)) = (t.first_year, t.due_min, t.due_max) {
            let years = TargetYears {
                first,
                due_min,
                due_max,
            };
            acc.target_years = TargetYears::merge(acc.target_years, Some(years));
        }
        acc.targets.push(TargetGroup {
            comparator,
            value: pick(t.sum_value, t.max_value),
            min: pick(t.sum_min, t.max_min),
            max: pick(t.sum_max, t.max_max),
            largest: Bounds {
                value: t.max_value,
                min: t.max_min,
                max: t.max_max,
            },
            smallest: Bounds {
                value: t.least_value,
                min: t.least_min,
                max: t.least_max,
            },
            count: u32::try_from(t.n).unwrap_or(u32::MAX),
        });
    }
    for a in &facts.actuals {
        let sem = plan.semantics(&a.indicator);
        let acc = folded
            .cells
            .entry((a.scope.clone(), a.indicator.clone(), a.year))
            .or_default();
        acc.add_actual(actual_of(a, sem, across), sem.over_scopes, across);
        acc.reports += u32::try_from(a.n).unwrap_or(u32::MAX);
    }
    // At a drill-down level the SQL groups by scope: the region's own cells are its rows
    // combined.
    if level != CompareLevel::City {
        let mut region_cells: BTreeMap<(String, String, i32), CellAcc> = BTreeMap::new();
        for ((_, indicator, year), acc) in &folded.cells {
            region_cells
                .entry((String::new(), indicator.clone(), *year))
                .or_default()
                .absorb(acc, plan.semantics(indicator).over_scopes, across);
        }
        let mut region_open: BTreeMap<(String, String), Vec<OpenAmount>> = BTreeMap::new();
        for ((_, indicator), amounts) in &folded.open {
            region_open
                .entry((String::new(), indicator.clone()))
                .or_default()
                .extend(amounts.iter().cloned());
        }
        folded.cells.extend(region_cells);
        folded.open.extend(region_open);
    }
    folded
}

/// The kind of a scope key (`unit:…` → `unit`; a programme-level row has none: `programme`).
fn kind_of(scope: &str) -> &str {
    scope.split_once(':').map_or("programme", |(kind, _)| kind)
}

/// A region's breakdown regrouped by kind of scope (the scope of each cell becomes its kind),
/// and how many scopes each kind has.
fn by_kind(folded: &Folded, plan: &Plan, across: Across) -> (Folded, BTreeMap<String, usize>) {
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
            .absorb(acc, plan.semantics(indicator).over_scopes, across);
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

/// Every scope's yearly figures: ((scope, year), indicator) → combined.
fn yearly(folded: &Folded, plan: &Plan, across: Across) -> Level<(String, i32)> {
    folded
        .cells
        .iter()
        .map(|((scope, indicator, year), acc)| {
            let how = plan.semantics(indicator).over_scopes;
            (
                ((scope.clone(), *year), indicator.clone()),
                acc.combined(how, across),
            )
        })
        .collect()
}

/// Every scope's totals over `span`: (scope, indicator) → combined, from its yearly
/// accumulations and its amounts whose years are open (each counted once, as its share of
/// the span).
fn spans(folded: &Folded, span: (i32, i32), plan: &Plan, across: Across) -> Level<String> {
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
            let open = folded.open.get(&key).map_or(&[][..], Vec::as_slice);
            let total = span_of(span, &years, open, plan.semantics(&key.1), across);
            (key, total)
        })
        .collect()
}

fn span_of(
    span: (i32, i32),
    years: &[(i32, &CellAcc)],
    open: &[OpenAmount],
    how: Semantics,
    across: Across,
) -> Combined {
    let by_year: Vec<model::compare::YearFigures> = years
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
    let (target, actual) = model::compare::span_total(&by_year, how.over_time, &whole);
    let mut out = Combined {
        target,
        actual,
        reports: years.iter().map(|(_, a)| a.reports).sum(),
        caveats: Vec::new(),
        target_years: None,
    };
    for (_, acc) in years {
        out.add_caveats(&acc.caveats);
        out.target_years = TargetYears::merge(out.target_years, acc.target_years);
    }
    for o in open {
        if o.first <= span.1 && span.0 <= o.last {
            let whole = TargetYears {
                first: o.first,
                due_min: o.last,
                due_max: o.last,
            };
            out.target_years = TargetYears::merge(out.target_years, Some(whole));
        }
    }
    out
}

/// The regions' own figures combined into the total of the compared regions, per key.
fn total_of<K: Ord + Clone>(regions: &[(RegionCode, Level<K>)], plan: &Plan) -> Level<K> {
    let mut parts: BTreeMap<(K, String), Vec<&Combined>> = BTreeMap::new();
    for (_, level) in regions {
        for (key, c) in level {
            parts.entry(key.clone()).or_default().push(c);
        }
    }
    parts
        .into_iter()
        .map(|(key, cs)| {
            let how = plan.semantics(&key.1).over_scopes;
            let groups: Vec<TargetGroup> = cs
                .iter()
                .filter_map(|c| c.target.as_ref())
                .flat_map(model::compare::groups_of)
                .collect();
            let mut out = Combined {
                target: combine_targets(&groups, how, Across::Cities),
                ..Combined::default()
            };
            for c in &cs {
                if let Some(a) = c.actual {
                    out.actual = Some(match out.actual {
                        None => a,
                        Some(held) => held.add(a, how, Across::Cities),
                    });
                }
                out.reports += c.reports;
                out.add_caveats(&c.caveats);
                out.target_years = TargetYears::merge(out.target_years, c.target_years);
            }
            (key, out)
        })
        .collect()
}

/// Adds every composite's figures to a level, key by key, from its operands' figures there
/// (operands are evaluated before the composites that read them).
fn compose<K: Ord + Clone>(level: &mut Level<K>, plan: &Plan) {
    if plan.composites.is_empty() {
        return;
    }
    let keys: BTreeSet<K> = level.keys().map(|(k, _)| k.clone()).collect();
    for (code, formula) in &plan.composites {
        for k in &keys {
            let operands: Vec<(Option<&Combined>, i8)> = formula
                .operands()
                .into_iter()
                .map(|(c, sign)| (level.get(&(k.clone(), c.to_owned())), sign))
                .collect();
            if operands.iter().all(|(c, _)| c.is_none()) {
                continue;
            }
            let value = evaluate(formula, &operands);
            if !value.is_empty() {
                level.insert((k.clone(), code.clone()), value);
            }
        }
    }
}

/// A composite's figures from its operands' (each `None` where it has none).
fn evaluate(formula: &Formula, operands: &[(Option<&Combined>, i8)]) -> Combined {
    let mut out = Combined::default();
    for (c, _) in operands {
        if let Some(c) = c {
            out.reports += c.reports;
            out.add_caveats(&c.caveats);
            out.target_years = TargetYears::merge(out.target_years, c.target_years);
        }
    }
    match formula {
        Formula::Sum { .. } | Formula::Difference { .. } => {
            let targets: Vec<(TargetSum, i8)> = operands
                .iter()
                .filter_map(|(c, s)| c.and_then(|c| c.target).map(|t| (t, *s)))
                .collect();
            let actuals: Vec<(ActualSum, i8)> = operands
                .iter()
                .filter_map(|(c, s)| c.and_then(|c| c.actual).map(|a| (a, *s)))
                .collect();
            out.target = add_targets(&targets);
            out.actual = add_actuals(&actuals);
        }
        Formula::Ratio { scale, .. } => {
            let part = |i: usize| operands.get(i).and_then(|(c, _)| *c);
            let (num, den) = (part(0), part(1));
            out.target = num
                .and_then(|n| n.target)
                .zip(den.and_then(|d| d.target))
                .map(|(n, d)| ratio_targets(&n, &d, *scale));
            out.actual = num
                .and_then(|n| n.actual)
                .zip(den.and_then(|d| d.actual))
                .map(|(n, d)| ratio_actuals(&n, &d, *scale));
        }
    }
    out
}

/// `part ÷ whole` when both are one number and the whole is not zero.
fn share(part: Option<f64>, whole: Option<f64>) -> Option<f64> {
    match (part, whole) {
        (Some(p), Some(w)) if w.abs() > f64::EPSILON => Some(p / w),
        _ => None,
    }
}

fn exact(t: Option<&TargetSum>) -> Option<f64> {
    t.filter(|t| t.comparator == Comparator::Exact && t.not_combined.is_none())
        .and_then(|t| t.value)
}

/// Presents combined figures; `total` is the figures of the total this row belongs to (for
/// its shares), when the indicator adds up across scopes.
fn figures(c: &Combined, total: Option<&Combined>) -> Figures {
    let value = c.actual.and_then(|a| a.value);
    let rates = match (value, &c.target) {
        (Some(a), Some(t)) if t.not_combined.is_none() => achievement(a, t),
        _ => None,
    };
    let point = rates
        .filter(|(lo, hi)| (hi - lo).abs() < 1e-12)
        .map(|(r, _)| r);
    Figures {
        target: c.target.map(TargetTotal::from),
        actual: value,
        actual_min: c.actual.and_then(|a| a.min),
        actual_max: c.actual.and_then(|a| a.max),
        largest_actual: c.actual.map(|a| a.largest).filter(|v| v.is_finite()),
        smallest_actual: c.actual.map(|a| a.smallest).filter(|v| v.is_finite()),
        not_combined: c
            .actual
            .and_then(|a| a.not_combined)
            .map(|n| n.code().to_owned()),
        actual_reports: i32::try_from(c.reports).unwrap_or(i32::MAX),
        achievement_rate: point,
        achievement_rate_low: rates.map(|r| r.0),
        achievement_rate_high: rates.map(|r| r.1),
        ambiguous_terms: i32::try_from(c.caveats.len()).unwrap_or(i32::MAX),
        caveats: c.caveats.clone(),
        share_of_total: total.and_then(|t| share(value, t.actual.and_then(|a| a.value))),
        target_share_of_total: total
            .and_then(|t| share(exact(c.target.as_ref()), exact(t.target.as_ref()))),
    }
}

fn cell(indicator: &str, year: i32, c: &Combined, total: Option<&Combined>) -> Cell {
    Cell {
        indicator: indicator.to_owned(),
        year,
        figures: figures(c, total),
    }
}

fn span_cell(
    indicator: &str,
    span: (i32, i32),
    c: &Combined,
    total: Option<&Combined>,
    plan: &Plan,
) -> SpanCell {
    let over_time = plan.semantics(indicator).over_time;
    let years = span.1 - span.0 + 1;
    let per_year = over_time == Aggregation::Sum && years > 0;
    let factor = 1.0 / f64::from(years.max(1));
    let target_span = c.target_years.filter(|_| c.target.is_some());
    let target_years = target_span.map(TargetYears::count);
    SpanCell {
        indicator: indicator.to_owned(),
        from: span.0,
        to: span.1,
        over_time: over_time.into(),
        years,
        figures: figures(c, total),
        target_years_min: target_years.map(|y| y.0),
        target_years_max: target_years.map(|y| y.1),
        target_from: target_span.map(|y| y.first),
        target_to: target_span.map(|y| y.due_max),
        target_per_year: c
            .target
            .filter(|t| per_year && t.not_combined.is_none())
            .map(|t| {
                let (lo, hi) = target_years.unwrap_or((years, years));
                TargetTotal::from(pace_target(&t, lo, hi))
            }),
        actual_per_year: c
            .actual
            .and_then(|a| a.value)
            .filter(|_| per_year)
            .map(|v| v * factor),
        compounded_actual: c
            .actual
            .and_then(|a| a.value)
            .filter(|_| over_time == Aggregation::Compound),
    }
}

/// The total a row's shares are taken of: the same indicator at `total_key` of `totals`, for
/// indicators that add up across scopes.
fn total_for<'a, K: Ord + Clone>(
    plan: &Plan,
    indicator: &str,
    totals: Option<&'a Level<K>>,
    total_key: &K,
) -> Option<&'a Combined> {
    if !plan.is_additive(indicator) {
        return None;
    }
    totals?.get(&(total_key.clone(), indicator.to_owned()))
}

/// One region's answer, before shares of the province total are known.
struct RegionAnswer {
    region: &'static Region,
    freshness: Freshness,
    /// (year, indicator) → the region's own figures.
    own: Level<i32>,
    /// (indicator) → the region's own span.
    own_span: Level<()>,
    /// The province's goals, by year and over the span (empty for a city).
    goals: (Level<i32>, Level<()>),
    breakdown: Vec<Breakdown>,
    subtotals: Vec<Subtotal>,
}

/// Builds the answer to `plan` from each region's facts.
pub fn compare(plan: &Plan, regions: Vec<RegionFacts>) -> Comparison {
    // Every region folded first: the span is the asked years narrowed to those with data
    // anywhere, the same for every region.
    let mut folded = Vec::new();
    let mut all_years = BTreeSet::new();
    let named = regions
        .iter()
        .flat_map(|r| super::named::counts(r.region, &r.named))
        .collect();
    for r in regions {
        let f = r
            .facts
            .as_ref()
            .map(|facts| fold(facts, plan, plan.level, r.region.code))
            .unwrap_or_default();
        for extra in [&r.goals, &r.contribution].into_iter().flatten() {
            all_years.extend(extra.targets.iter().map(|t| t.year));
            all_years.extend(extra.actuals.iter().map(|a| a.year));
        }
        all_years.extend(f.cells.keys().map(|(_, _, y)| *y));
        folded.push((r, f));
    }
    let span = all_years
        .first()
        .zip(all_years.last())
        .map(|(first, last)| ((*first).max(plan.years.0), (*last).min(plan.years.1)));

    let answers: Vec<RegionAnswer> = folded
        .into_iter()
        .map(|(r, f)| region_answer(plan, r, &f, span))
        .collect();

    // The total of the compared regions, from what each adds to it.
    let by_region: Vec<(RegionCode, Level<i32>)> = answers
        .iter()
        .map(|a| (a.region.code, strip(&a.own, plan)))
        .collect();
    let mut total = total_of(&by_region, plan);
    compose(&mut total, plan);
    let span_parts: Vec<(RegionCode, Level<()>)> = answers
        .iter()
        .map(|a| (a.region.code, strip(&a.own_span, plan)))
        .collect();
    let mut total_span = total_of(&span_parts, plan);
    compose(&mut total_span, plan);
    // The province's goals, each set against the total's actual.
    let mut province_goals = Vec::new();
    let mut province_goal_spans = Vec::new();
    for a in &answers {
        for ((year, ind), goal) in shown(&a.goals.0, plan) {
            let c = against(goal, total.get(&(*year, ind.clone())));
            province_goals.push(cell(ind, *year, &c, None));
        }
        if let Some(span) = span {
            for (((), ind), goal) in shown(&a.goals.1, plan) {
                let c = against(goal, total_span.get(&((), ind.clone())));
                province_goal_spans.push(span_cell(ind, span, &c, None, plan));
            }
        }
    }

    let mut cities = Vec::new();
    for a in answers {
        let is_province = a.region.code == model::region::SHANXI;
        let cells = shown(&a.own, plan)
            .map(|((year, ind), c)| cell(ind, *year, c, total_for(plan, ind, Some(&total), year)))
            .collect();
        let spans = match span {
            Some(span) => shown(&a.own_span, plan)
                .map(|(((), ind), c)| {
                    span_cell(
                        ind,
                        span,
                        c,
                        total_for(plan, ind, Some(&total_span), &()),
                        plan,
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        cities.push(CityComparison {
            code: a.region.code.to_string(),
            name_zh: a.region.name_zh.to_owned(),
            name_en: a.region.name_en.to_owned(),
            is_province,
            freshness: a.freshness,
            cells,
            spans,
            breakdown: a.breakdown,
            subtotals: a.subtotals,
        });
    }
    let province_totals = shown(&total, plan)
        .map(|((year, ind), c)| cell(ind, *year, c, None))
        .collect();
    let province_spans = match span {
        Some(span) => shown(&total_span, plan)
            .map(|(((), ind), c)| span_cell(ind, span, c, None, plan))
            .collect(),
        None => Vec::new(),
    };
    let rankings = rankings(plan, &cities, &all_years);
    Comparison {
        indicators: plan
            .asked
            .iter()
            .map(|m| ComparedIndicator {
                code: m.code.clone(),
                name_zh: m.name_zh.clone(),
                name_en: m.name_en.clone(),
                unit: m.unit.clone(),
                aggregation: m.aggregation.into(),
                aggregation_over_scopes: m.over_scopes.into(),
                formula: m
                    .formula
                    .as_ref()
                    .map(city_schema::types::IndicatorFormula::from),
            })
            .collect(),
        years: all_years.into_iter().collect(),
        totals_include: cities.iter().map(|c| c.code.clone()).collect(),
        province_goals,
        province_goal_spans,
        cities,
        province_totals,
        province_spans,
        rankings,
        named,
    }
}

/// A goal's targets with the total's actual (and both's caveats).
fn against(goal: &Combined, total: Option<&Combined>) -> Combined {
    let mut out = Combined {
        target: goal.target,
        actual: total.and_then(|t| t.actual),
        reports: total.map_or(0, |t| t.reports),
        caveats: goal.caveats.clone(),
        target_years: goal.target_years,
    };
    if let Some(t) = total {
        out.add_caveats(&t.caveats);
    }
    out
}

/// A region's facts grouped at city level, by year and over the span, composites evaluated.
fn region_level(
    facts: Option<&Facts>,
    plan: &Plan,
    region: RegionCode,
    span: Option<(i32, i32)>,
) -> (Level<i32>, Level<()>) {
    let Some(facts) = facts else {
        return (BTreeMap::new(), BTreeMap::new());
    };
    let across = within(region);
    let folded = fold(facts, plan, CompareLevel::City, region);
    let mut years: Level<i32> = yearly(&folded, plan, across)
        .into_iter()
        .map(|(((_, year), ind), c)| ((year, ind), c))
        .collect();
    compose(&mut years, plan);
    let mut spans_: Level<()> = span
        .map_or_else(BTreeMap::new, |s| spans(&folded, s, plan, across))
        .into_iter()
        .map(|((_, ind), c)| (((), ind), c))
        .collect();
    compose(&mut spans_, plan);
    (years, spans_)
}

/// A level without its composites (the total recomputes them from its operands).
fn strip<K: Ord + Clone>(level: &Level<K>, plan: &Plan) -> Level<K> {
    level
        .iter()
        .filter(|((_, ind), _)| !plan.composites.iter().any(|(c, _)| c == ind))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The asked indicators' entries of a level, ordered by indicator code, then key.
fn shown<'a, K: Ord + Clone + 'a>(
    level: &'a Level<K>,
    plan: &'a Plan,
) -> impl Iterator<Item = (&'a (K, String), &'a Combined)> + 'a {
    let mut rows: Vec<(&(K, String), &Combined)> = level
        .iter()
        .filter(|((_, ind), _)| plan.is_asked(ind))
        .collect();
    rows.sort_by(|a, b| (&a.0.1, &a.0.0).cmp(&(&b.0.1, &b.0.0)));
    rows.into_iter()
}

fn region_answer(
    plan: &Plan,
    r: RegionFacts,
    folded: &Folded,
    span: Option<(i32, i32)>,
) -> RegionAnswer {
    let across = within(r.region.code);
    let code = r.region.code;

    // Rows and the region itself, by year and over the span.
    let mut rows = yearly(folded, plan, across);
    compose(&mut rows, plan);
    let mut row_spans = span.map_or_else(BTreeMap::new, |s| spans(folded, s, plan, across));
    compose(&mut row_spans, plan);
    // A region's own figures: a city's rows combined; the province's, what it adds to the
    // total (its programme-wide goals are apart, in `goals`, never added to anything).
    let (own, own_span): (Level<i32>, Level<()>) = match &r.contribution {
        Some(facts) => region_level(Some(facts), plan, code, span),
        None => (
            rows.iter()
                .filter(|(((scope, _), _), _)| scope.is_empty())
                .map(|(((_, year), ind), c)| ((*year, ind.clone()), c.clone()))
                .collect(),
            row_spans
                .iter()
                .filter(|((scope, _), _)| scope.is_empty())
                .map(|((_, ind), c)| (((), ind.clone()), c.clone()))
                .collect(),
        ),
    };

    // Breakdown rows, each with its share of the region.
    let mut breakdown: BTreeMap<String, (Vec<Cell>, Vec<SpanCell>)> = BTreeMap::new();
    for (((scope, year), ind), c) in shown(&rows, plan) {
        if !scope.is_empty() {
            let total = total_for(plan, ind, Some(&own), year);
            breakdown
                .entry(scope.clone())
                .or_default()
                .0
                .push(cell(ind, *year, c, total));
        }
    }
    if let Some(span) = span {
        for ((scope, ind), c) in shown(&row_spans, plan) {
            if !scope.is_empty() {
                let total = total_for(plan, ind, Some(&own_span), &());
                breakdown
                    .entry(scope.clone())
                    .or_default()
                    .1
                    .push(span_cell(ind, span, c, total, plan));
            }
        }
    }

    // Subtotals per kind of scope.
    let (kinds, kind_scopes) = by_kind(folded, plan, across);
    let mut kind_years = yearly(&kinds, plan, across);
    compose(&mut kind_years, plan);
    let mut kind_spans = span.map_or_else(BTreeMap::new, |s| spans(&kinds, s, plan, across));
    compose(&mut kind_spans, plan);
    let subtotals = kind_scopes
        .iter()
        .map(|(kind, n)| Subtotal {
            kind: kind.to_ascii_uppercase(),
            scopes: i32::try_from(*n).unwrap_or(i32::MAX),
            cells: shown(&kind_years, plan)
                .filter(|(((k, _), _), _)| k == kind)
                .map(|(((_, year), ind), c)| {
                    cell(ind, *year, c, total_for(plan, ind, Some(&own), year))
                })
                .collect(),
            spans: match span {
                Some(span) => shown(&kind_spans, plan)
                    .filter(|((k, _), _)| k == kind)
                    .map(|((_, ind), c)| {
                        let total = total_for(plan, ind, Some(&own_span), &());
                        span_cell(ind, span, c, total, plan)
                    })
                    .collect(),
                None => Vec::new(),
            },
        })
        .collect();

    let goals = region_level(r.goals.as_ref(), plan, code, span);
    RegionAnswer {
        region: r.region,
        freshness: r.freshness,
        own,
        own_span,
        goals,
        breakdown: breakdown
            .into_iter()
            .map(|(scope, (cells, spans))| {
                let (kind, id) = global_id(code, &scope);
                // Counties and districts are named by the region table, not the replica.
                let name_zh = r.names.get(&scope).cloned().or_else(|| {
                    scope
                        .strip_prefix("region:")
                        .and_then(|c| c.parse::<RegionCode>().ok())
                        .and_then(model::region::region)
                        .map(|r| r.name_zh.to_owned())
                });
                Breakdown {
                    kind,
                    id,
                    name_zh,
                    cells,
                    spans,
                }
            })
            .collect(),
        subtotals,
    }
}

/// A scope key as its kind and global id.
fn global_id(region: RegionCode, scope: &str) -> (String, String) {
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
        format!("{entity}:{region}:{local}"),
    )
}

/// Cities ranked per asked indicator and year by their actual (largest first; ties share a
/// rank; cities without an actual last). The province's own scope is not ranked.
fn rankings(plan: &Plan, cities: &[CityComparison], years: &BTreeSet<i32>) -> Vec<Ranking> {
    let mut out = Vec::new();
    for ind in &plan.asked {
        for year in years {
            let mut entries: Vec<RankEntry> = cities
                .iter()
                .filter(|c| !c.is_province)
                .map(|c| {
                    let found = c
                        .cells
                        .iter()
                        .find(|x| x.indicator == ind.code && x.year == *year);
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
            out.push(Ranking {
                indicator: ind.code.clone(),
                year: *year,
                entries,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use model::{Aggregation, Formula, Indicator, ScopeAggregation, ValueType};
    use proptest::prelude::*;
    use store::compare::{ActualGroupRow, Facts, TargetGroupRow};

    use super::*;
    use crate::{
        compare::plan::{Question, plan},
        status::{AnsweredBy, freshness},
    };

    fn indicator(code: &str, over_scopes: ScopeAggregation, formula: Option<Formula>) -> Indicator {
        let percent = over_scopes == ScopeAggregation::NotAdditive && formula.is_none();
        Indicator {
            code: code.into(),
            name_zh: code.into(),
            name_en: code.into(),
            unit: if percent { "%" } else { "张" }.into(),
            value_type: if percent {
                ValueType::Percent
            } else {
                ValueType::Integer
            },
            aggregation: Aggregation::Sum,
            over_scopes,
            description_zh: None,
            formula,
            counts_units: None,
        }
    }

    fn catalogue() -> BTreeMap<String, Indicator> {
        [
            indicator("a", ScopeAggregation::Sum, None),
            indicator("b", ScopeAggregation::Sum, None),
            indicator("rate", ScopeAggregation::NotAdditive, None),
            indicator(
                "ab",
                ScopeAggregation::Sum,
                Some(Formula::Sum {
                    terms: vec!["a".into(), "b".into()],
                }),
            ),
            indicator(
                "a_per_b",
                ScopeAggregation::NotAdditive,
                Some(Formula::Ratio {
                    numerator: "a".into(),
                    denominator: "b".into(),
                    scale: 100.0,
                }),
            ),
        ]
        .into_iter()
        .map(|i| (i.code.clone(), i))
        .collect()
    }

    /// One row of facts: (indicator, unit index, year, target, actual).
    type Row = (usize, usize, i32, Option<u32>, Option<u32>);

    fn rows() -> impl Strategy<Value = Vec<Row>> {
        prop::collection::vec(
            (
                0usize..3,
                0usize..4,
                2020i32..2023,
                prop::option::of(0u32..500),
                prop::option::of(1u32..500),
            ),
            1..40,
        )
    }

    /// The rows as the unit-level SQL would group them (one group per unit, indicator and year).
    fn facts(rows: &[Row]) -> Facts {
        let codes = ["a", "b", "rate"];
        /// Sum, largest, smallest and count of one group.
        type Group = (f64, f64, f64, i64);
        let mut targets: BTreeMap<(String, i32, String), Group> = BTreeMap::new();
        let mut actuals: BTreeMap<(String, i32, String), Group> = BTreeMap::new();
        for (i, unit, year, target, actual) in rows {
            let key = (codes[*i].to_owned(), *year, format!("unit:u{unit}"));
            if let Some(t) = target {
                let e = targets
                    .entry(key.clone())
                    .or_insert((0.0, 0.0, f64::MAX, 0));
                e.0 += f64::from(*t);
                e.1 = e.1.max(f64::from(*t));
                e.2 = e.2.min(f64::from(*t));
                e.3 += 1;
            }
            if let Some(a) = actual {
                let e = actuals.entry(key).or_insert((0.0, 0.0, f64::MAX, 0));
                e.0 += f64::from(*a);
                e.1 = e.1.max(f64::from(*a));
                e.2 = e.2.min(f64::from(*a));
                e.3 += 1;
            }
        }
        Facts {
            targets: targets
                .into_iter()
                .map(
                    |((indicator, year, scope), (sum, max, least, n))| TargetGroupRow {
                        indicator,
                        year,
                        scope,
                        comparator: "exact".into(),
                        sum_value: Some(sum),
                        max_value: Some(max),
                        sum_min: None,
                        max_min: None,
                        sum_max: None,
                        max_max: None,
                        least_value: Some(least),
                        least_min: None,
                        least_max: None,
                        n,
                        first_year: Some(year),
                        due_min: Some(year),
                        due_max: Some(year),
                    },
                )
                .collect(),
            actuals: actuals
                .into_iter()
                .map(
                    |((indicator, year, scope), (sum, max, least, n))| ActualGroupRow {
                        indicator,
                        year,
                        scope,
                        sum_value: sum,
                        max_value: max,
                        least_value: least,
                        n,
                    },
                )
                .collect(),
            caveats: Vec::new(),
        }
    }

    fn answer(rows: &[Row]) -> Comparison {
        let q = Question {
            indicators: ["a", "b", "rate", "ab", "a_per_b"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            cities: Some(vec!["140800".into()]),
            years: None,
            programmes: Vec::new(),
            level: CompareLevel::Unit,
        };
        let p = plan(&q, &catalogue(), &[]).unwrap();
        let region = model::region::region(model::region::YUNCHENG).unwrap();
        compare(
            &p,
            vec![RegionFacts {
                region,
                facts: Some(facts(rows)),
                goals: None,
                contribution: None,
                names: BTreeMap::new(),
                named: Vec::new(),
                freshness: freshness(AnsweredBy::Replica, None, false, None),
            }],
        )
    }

    proptest! {
        /// For an additive indicator the city's cell is the sum of its breakdown rows, and the
        /// province total (one city) is the city's; a rate of several units is never summed;
        /// a composite sum is its operands' sum and a ratio the ratio of its parts' sums.
        #[test]
        fn totals_are_their_breakdowns_and_rates_are_never_summed(rows in rows()) {
            let cmp = answer(&rows);
            let city = &cmp.cities[0];
            let find = |cells: &[Cell], code: &str, year: i32| {
                cells.iter().find(|c| c.indicator == code && c.year == year).cloned()
            };
            for c in &city.cells {
                let rows_of: Vec<&Cell> = city
                    .breakdown
                    .iter()
                    .flat_map(|b| b.cells.iter())
                    .filter(|r| r.indicator == c.indicator && r.year == c.year)
                    .collect();
                match c.indicator.as_str() {
                    "a" | "b" => {
                        let t: f64 = rows_of
                            .iter()
                            .filter_map(|r| r.figures.target.as_ref().and_then(|t| t.value))
                            .sum();
                        let a: Option<f64> = rows_of
                            .iter()
                            .filter_map(|r| r.figures.actual)
                            .reduce(|x, y| x + y);
                        if c.figures.target.is_some() {
                            prop_assert_eq!(c.figures.target.as_ref().and_then(|t| t.value), Some(t));
                        }
                        prop_assert_eq!(c.figures.actual, a);
                        if let (Some(part), Some(whole)) = (rows_of.first(), c.figures.actual)
                            && let Some(p) = part.figures.actual
                        {
                            prop_assert_eq!(part.figures.share_of_total, Some(p / whole));
                        }
                    }
                    "rate" => {
                        let reporting = rows_of.iter().filter(|r| r.figures.actual.is_some()).count();
                        if reporting > 1 {
                            prop_assert_eq!(c.figures.actual, None);
                            prop_assert_eq!(c.figures.not_combined.as_deref(), Some("NOT_ADDITIVE"));
                            prop_assert_eq!(c.figures.share_of_total, None);
                        }
                    }
                    "ab" => {
                        let a = find(&city.cells, "a", c.year).and_then(|x| x.figures.actual);
                        let b = find(&city.cells, "b", c.year).and_then(|x| x.figures.actual);
                        let sum = match (a, b) {
                            (Some(x), Some(y)) => Some(x + y),
                            (x, y) => x.or(y),
                        };
                        prop_assert_eq!(c.figures.actual, sum);
                    }
                    "a_per_b" => {
                        let a = find(&city.cells, "a", c.year).and_then(|x| x.figures.actual);
                        let b = find(&city.cells, "b", c.year).and_then(|x| x.figures.actual);
                        if let (Some(x), Some(y)) = (a, b) {
                            let r = c.figures.actual.unwrap();
                            prop_assert!((r - x / y * 100.0).abs() < 1e-9);
                        }
                    }
                    _ => {}
                }
            }
            // One city: the province's cells are the city's.
            for t in &cmp.province_totals {
                let c = find(&city.cells, &t.indicator, t.year);
                prop_assert_eq!(t.figures.actual, c.and_then(|c| c.figures.actual));
            }
        }

        /// The interval a year of an open amount shows contains what every reading puts there.
        #[test]
        fn an_interval_contains_every_reading(
            splits in prop::collection::vec(prop::collection::vec(0u32..1000, 3), 1..6),
        ) {
            let readings: Vec<model::Reading> = splits
                .iter()
                .map(|s| model::Reading {
                    years: s
                        .iter()
                        .zip(2020..)
                        .map(|(v, year)| model::measure::YearAmount { year, value: f64::from(*v) })
                        .collect(),
                })
                .collect();
            for year in 2020..2023 {
                let (lo, hi) = model::share_of(&readings, year, year).unwrap();
                for r in &readings {
                    let x = r.within(year, year);
                    prop_assert!(lo <= x && x <= hi);
                }
            }
        }
    }
}
