//! Combining targets and actuals for comparisons, without flattening the documents' shapes.
//!
//! A target is read as an interval with an "about" flag: `exact v` = [v, v], `about v` = [v, v]
//! approximately, `at_least v` = [v, ∞), `at_most v` = (−∞, v], `range a–b` = [a, b];
//! `unknown` carries no number and is counted, never guessed. Summing targets adds the
//! intervals; the result is read back as the narrowest comparator that says the same
//! (`exact 3 + at_least 2` = `at_least 5`, `exact 1 + range 1–2` = `range 2–3`). Targets that are
//! unknown are left out of the numbers and counted in [`TargetSum::unknown_terms`].

use serde::{Deserialize, Serialize};

use crate::{Comparator, ScopeAggregation, TargetValue};

/// Why a combination was not computed (a stable code, as the API reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotCombined {
    /// Rates and percentages of several scopes are never added, and not averaged without a
    /// denominator: each scope keeps its own number.
    NotAdditive,
    /// A ratio whose denominator is zero, or may be (a range or bound reaching zero).
    DenominatorZero,
}

impl NotCombined {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotAdditive => "NOT_ADDITIVE",
            Self::DenominatorZero => "DENOMINATOR_ZERO",
        }
    }
}

/// Several targets combined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetSum {
    /// How to read the combined number.
    pub comparator: Comparator,
    /// The number, for `exact`, `about`, `at_least`, `at_most`.
    pub value: Option<f64>,
    /// Lower bound, for `range`.
    pub min: Option<f64>,
    /// Upper bound, for `range`.
    pub max: Option<f64>,
    /// Targets combined (including unknown ones).
    pub terms: u32,
    /// Targets whose value the documents leave unknown (not in the numbers).
    pub unknown_terms: u32,
    /// Set when the targets were not combined into a number, and why.
    pub not_combined: Option<NotCombined>,
    /// The largest single target's number (its lower bound for a range), when not combined.
    pub largest: Option<f64>,
    /// The smallest single target's number (its lower bound for a range), when not combined.
    pub smallest: Option<f64>,
}

/// One group of same-comparator targets, pre-aggregated (e.g. by SQL): the sum (or average, or
/// maximum) of `value`, `min`, `max` over `count` targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetGroup {
    /// The comparator shared by the group.
    pub comparator: Comparator,
    /// Combined `value` (None when the group has none).
    pub value: Option<f64>,
    /// Combined `min`.
    pub min: Option<f64>,
    /// Combined `max`.
    pub max: Option<f64>,
    /// The largest `value`, `min` and `max` of a single target in the group.
    pub largest: Bounds,
    /// The smallest `value`, `min` and `max` of a single target in the group.
    pub smallest: Bounds,
    /// Targets in the group.
    pub count: u32,
}

/// The three numbers of a target (`value`, or `min` and `max` for a range).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bounds {
    /// `value`.
    pub value: Option<f64>,
    /// `min`.
    pub min: Option<f64>,
    /// `max`.
    pub max: Option<f64>,
}

impl From<&TargetValue> for TargetGroup {
    fn from(t: &TargetValue) -> Self {
        Self {
            comparator: t.comparator,
            value: t.value,
            min: t.min,
            max: t.max,
            largest: Bounds {
                value: t.value,
                min: t.min,
                max: t.max,
            },
            smallest: Bounds {
                value: t.value,
                min: t.min,
                max: t.max,
            },
            count: 1,
        }
    }
}

/// Bounds of an interval (`None` = unbounded) and whether it is approximate.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Interval {
    lo: Option<f64>,
    hi: Option<f64>,
    about: bool,
}

impl TargetGroup {
    /// The interval of the group's sum.
    fn interval(&self) -> Option<Interval> {
        interval_of(self.comparator, self.value, self.min, self.max)
    }

    /// The interval of the group's largest single target.
    fn largest_interval(&self) -> Option<Interval> {
        interval_of(
            self.comparator,
            self.largest.value,
            self.largest.min,
            self.largest.max,
        )
    }

    /// The interval of the group's smallest single target.
    fn smallest_interval(&self) -> Option<Interval> {
        interval_of(
            self.comparator,
            self.smallest.value,
            self.smallest.min,
            self.smallest.max,
        )
    }
}

fn interval_of(
    comparator: Comparator,
    value: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
) -> Option<Interval> {
    let (lo, hi, about) = match comparator {
        Comparator::Exact => (value, value, false),
        Comparator::About => (value, value, true),
        Comparator::AtLeast => (value, None, false),
        Comparator::AtMost => (None, value, false),
        Comparator::Range => (min, max, false),
        Comparator::Unknown => return None,
    };
    Some(Interval { lo, hi, about })
}

fn read_back(i: Interval, terms: u32, unknown_terms: u32) -> TargetSum {
    let (comparator, value, min, max) = match (i.lo, i.hi) {
        (Some(lo), Some(hi)) if (hi - lo).abs() < 1e-9 => (
            if i.about {
                Comparator::About
            } else {
                Comparator::Exact
            },
            Some(lo),
            None,
            None,
        ),
        (Some(lo), Some(hi)) => (Comparator::Range, None, Some(lo), Some(hi)),
        (Some(lo), None) => (Comparator::AtLeast, Some(lo), None, None),
        (None, Some(hi)) => (Comparator::AtMost, Some(hi), None, None),
        (None, None) => (Comparator::Unknown, None, None, None),
    };
    TargetSum {
        comparator,
        value,
        min,
        max,
        terms,
        unknown_terms,
        not_combined: None,
        largest: None,
        smallest: None,
    }
}

/// How the scopes being combined relate: scopes of one city (which may cover the same members
/// of a population), or cities (which never do).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Across {
    /// Units, institutions, components of one city; the city's population (its counties) when
    /// known caps a coverage.
    OneCity {
        /// Members of the population a coverage can reach at most.
        population: Option<f64>,
    },
    /// Whole cities (their own totals).
    Cities,
}

/// Combines target groups across scopes by the indicator's `how`:
/// - `Sum`: the intervals add up;
/// - `Coverage`: within one city the union of what each scope covers lies between the largest
///   single target and the sum, capped at the population (so four centre types each covering
///   all 17 counties cover exactly 17); across cities the ranges add up;
/// - `NotAdditive`: one known target keeps its number; several are not combined
///   ([`NotCombined::NotAdditive`], with the count, the largest and the smallest).
///
/// `None` when there are no targets.
pub fn combine_targets(
    groups: &[TargetGroup],
    how: ScopeAggregation,
    across: Across,
) -> Option<TargetSum> {
    let terms: u32 = groups.iter().map(|g| g.count).sum();
    if terms == 0 {
        return None;
    }
    let unknown_terms: u32 = groups
        .iter()
        .filter(|g| g.comparator == Comparator::Unknown)
        .map(|g| g.count)
        .sum();
    let known: Vec<&TargetGroup> = groups
        .iter()
        .filter(|g| g.comparator != Comparator::Unknown)
        .collect();
    let nothing = Interval {
        lo: None,
        hi: None,
        about: false,
    };
    if known.is_empty() {
        return Some(read_back(nothing, terms, unknown_terms));
    }
    let known_terms: u32 = known.iter().map(|g| g.count).sum();
    if how == ScopeAggregation::NotAdditive && known_terms > 1 {
        let number = |i: Option<Interval>| i.and_then(|i| i.lo.or(i.hi));
        let largest = known
            .iter()
            .filter_map(|g| number(g.largest_interval()))
            .reduce(f64::max);
        let smallest = known
            .iter()
            .filter_map(|g| number(g.smallest_interval()))
            .reduce(f64::min);
        return Some(TargetSum {
            not_combined: Some(NotCombined::NotAdditive),
            largest,
            smallest,
            ..read_back(nothing, terms, unknown_terms)
        });
    }
    let sums: Vec<Interval> = known.iter().filter_map(|g| g.interval()).collect();
    let about = sums.iter().any(|i| i.about);
    let add = |pick: fn(&Interval) -> Option<f64>| -> Option<f64> {
        sums.iter().map(pick).sum::<Option<f64>>()
    };
    let (lo, hi) = match (how, across) {
        (ScopeAggregation::Coverage, Across::OneCity { population }) => {
            // The union: at least the largest single coverage, at most all of them together,
            // never more than the population.
            let lo = known
                .iter()
                .filter_map(|g| g.largest_interval())
                .map(|i| i.lo)
                .collect::<Option<Vec<f64>>>()
                .and_then(|v| v.into_iter().reduce(f64::max));
            let hi = match (add(|i| i.hi).filter(|_| unknown_terms == 0), population) {
                (Some(h), Some(p)) => Some(h.min(p)),
                (h, p) => h.or(p),
            };
            (lo, hi)
        }
        // Sums and coverage across cities (disjoint members): a term whose number the
        // documents leave unknown adds something not negative, so the sum is at least the
        // known terms' and has no upper bound.
        (ScopeAggregation::Sum | ScopeAggregation::Coverage, _) => {
            (add(|i| i.lo), add(|i| i.hi).filter(|_| unknown_terms == 0))
        }
        // One rate alone.
        _ => (add(|i| i.lo), add(|i| i.hi)),
    };
    Some(read_back(Interval { lo, hi, about }, terms, unknown_terms))
}

/// Several actuals of one indicator combined across scopes by `how`: `Sum` adds; `Coverage`
/// within a city gives the union's bounds (largest, sum capped at the population), across
/// cities adds; `NotAdditive` keeps a single report's number and combines none of several.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActualSum {
    /// The one number, when there is one.
    pub value: Option<f64>,
    /// Lower bound, when the combination is a range (a coverage's union).
    pub min: Option<f64>,
    /// Upper bound, when the combination is a range.
    pub max: Option<f64>,
    /// The largest single report.
    pub largest: f64,
    /// The smallest single report.
    pub smallest: f64,
    /// Scopes (or cities) combined.
    pub scopes: u32,
    /// Set when not combined, and why.
    pub not_combined: Option<NotCombined>,
}

impl ActualSum {
    /// One scope's actual.
    pub fn one(value: f64) -> Self {
        Self {
            value: Some(value),
            min: None,
            max: None,
            largest: value,
            smallest: value,
            scopes: 1,
            not_combined: None,
        }
    }

    /// Adds another scope's (or city's) combined actual.
    pub fn add(self, other: Self, how: ScopeAggregation, across: Across) -> Self {
        let scopes = self.scopes + other.scopes;
        let largest = self.largest.max(other.largest);
        let smallest = self.smallest.min(other.smallest);
        let lo = |a: &Self| a.value.or(a.min);
        let hi = |a: &Self| a.value.or(a.max);
        match (how, across) {
            (ScopeAggregation::NotAdditive, _) => Self {
                value: None,
                min: None,
                max: None,
                largest,
                smallest,
                scopes,
                not_combined: Some(NotCombined::NotAdditive),
            },
            (ScopeAggregation::Coverage, Across::OneCity { population }) => {
                let sum = hi(&self).zip(hi(&other)).map(|(a, b)| a + b);
                let max = match (sum, population) {
                    (Some(s), Some(p)) => Some(s.min(p)),
                    (s, p) => s.or(p),
                };
                let min = lo(&self).zip(lo(&other)).map(|(a, b)| a.max(b));
                range(min, max, (smallest, largest), scopes)
            }
            _ => range(
                lo(&self).zip(lo(&other)).map(|(a, b)| a + b),
                hi(&self).zip(hi(&other)).map(|(a, b)| a + b),
                (smallest, largest),
                scopes,
            ),
        }
    }
}

/// `[min, max]` read back as one number when the bounds meet; `(smallest, largest)`: the
/// single reports' extremes.
fn range(
    min: Option<f64>,
    max: Option<f64>,
    (smallest, largest): (f64, f64),
    scopes: u32,
) -> ActualSum {
    let value = match (min, max) {
        (Some(a), Some(b)) if (a - b).abs() < 1e-9 => Some(a),
        _ => None,
    };
    ActualSum {
        value,
        min: value.is_none().then_some(min).flatten(),
        max: value.is_none().then_some(max).flatten(),
        largest,
        smallest,
        scopes,
        not_combined: None,
    }
}

/// Actual ÷ target. For a range, the rate against each bound (`(actual ÷ max, actual ÷ min)`,
/// low first); otherwise the same number twice. `None` when the target has no usable number or
/// it is zero.
pub fn achievement(actual: f64, target: &TargetSum) -> Option<(f64, f64)> {
    let rate = |t: f64| (t.abs() > f64::EPSILON).then(|| actual / t);
    match target.comparator {
        Comparator::Range => Some((rate(target.max?)?, rate(target.min?)?)),
        Comparator::Unknown => None,
        _ => rate(target.value?).map(|r| (r, r)),
    }
}

/// `−t`: bounds negated and swapped (`at least v` becomes `at most −v`), for a difference.
pub fn negate_target(t: &TargetSum) -> TargetSum {
    let (comparator, value, min, max) = match t.comparator {
        Comparator::AtLeast => (Comparator::AtMost, t.value.map(|v| -v), None, None),
        Comparator::AtMost => (Comparator::AtLeast, t.value.map(|v| -v), None, None),
        Comparator::Range => (
            Comparator::Range,
            None,
            t.max.map(|v| -v),
            t.min.map(|v| -v),
        ),
        c => (c, t.value.map(|v| -v), None, None),
    };
    TargetSum {
        comparator,
        value,
        min,
        max,
        largest: t.smallest.map(|v| -v),
        smallest: t.largest.map(|v| -v),
        ..*t
    }
}

impl ActualSum {
    /// `−a`, for a difference (`largest` and `smallest` keep the operand's single reports).
    pub fn negate(self) -> Self {
        Self {
            value: self.value.map(|v| -v),
            min: self.max.map(|v| -v),
            max: self.min.map(|v| -v),
            ..self
        }
    }

    fn bounds(&self) -> (Option<f64>, Option<f64>) {
        (self.value.or(self.min), self.value.or(self.max))
    }
}

/// Terms of a sum (each with its sign) added up, keeping their shapes: used for composite
/// indicators, whose terms have each been combined by their own declarations first.
pub fn add_targets(terms: &[(TargetSum, i8)]) -> Option<TargetSum> {
    if let Some((t, _)) = terms.iter().find(|(t, _)| t.not_combined.is_some()) {
        return Some(TargetSum {
            terms: terms.iter().map(|(t, _)| t.terms).sum(),
            unknown_terms: terms.iter().map(|(t, _)| t.unknown_terms).sum(),
            ..*t
        });
    }
    // An unknown term taken away may take away anything not negative: it opens the lower
    // bound, where an unknown term added opens the upper one.
    let mut taken_unknown = 0;
    let mut groups: Vec<TargetGroup> = Vec::new();
    for (t, sign) in terms {
        if *sign < 0 {
            for g in groups_of(&negate_target(t)) {
                if g.comparator == Comparator::Unknown {
                    taken_unknown += g.count;
                } else {
                    groups.push(g);
                }
            }
        } else {
            groups.extend(groups_of(t));
        }
    }
    let sum = combine_targets(&groups, ScopeAggregation::Sum, Across::Cities);
    if taken_unknown == 0 {
        return sum;
    }
    let (i, terms, unknown_terms) = match &sum {
        Some(t) => (
            interval_of(t.comparator, t.value, t.min, t.max),
            t.terms,
            t.unknown_terms,
        ),
        None => (None, 0, 0),
    };
    let hi = i.as_ref().and_then(|i| i.hi);
    Some(read_back(
        Interval {
            lo: None,
            hi,
            about: i.is_some_and(|i| i.about),
        },
        terms + taken_unknown,
        unknown_terms + taken_unknown,
    ))
}

/// Actuals of a sum's terms (each with its sign) added up; a term not combined leaves the sum
/// not combined.
pub fn add_actuals(terms: &[(ActualSum, i8)]) -> Option<ActualSum> {
    terms
        .iter()
        .map(|(a, sign)| if *sign < 0 { a.negate() } else { *a })
        .reduce(|a, b| {
            if a.not_combined.is_some() || b.not_combined.is_some() {
                ActualSum {
                    value: None,
                    min: None,
                    max: None,
                    not_combined: a.not_combined.or(b.not_combined),
                    largest: a.largest.max(b.largest),
                    smallest: a.smallest.min(b.smallest),
                    scopes: a.scopes.max(b.scopes),
                }
            } else {
                ActualSum {
                    scopes: a.scopes.max(b.scopes),
                    ..a.add(b, ScopeAggregation::Sum, Across::Cities)
                }
            }
        })
}

/// Interval quotient `[a, b] ÷ [c, d] × scale` for a non-negative numerator: `None` bounds are
/// unbounded. `Err` when the denominator may be zero (or below).
fn divide(
    (a, b): (Option<f64>, Option<f64>),
    (c, d): (Option<f64>, Option<f64>),
    scale: f64,
) -> Result<(Option<f64>, Option<f64>), NotCombined> {
    let c = c.filter(|c| *c > 0.0).ok_or(NotCombined::DenominatorZero)?;
    let lo = match (a, d) {
        (Some(a), Some(d)) => Some(a / d * scale),
        (Some(a), None) if a >= 0.0 => Some(0.0),
        _ => None,
    };
    Ok((lo, b.map(|b| b / c * scale)))
}

/// A ratio of two combined targets (a composite ratio at one level): the interval of the
/// quotient, read back as the narrowest comparator. Not combined when an operand was not,
/// or the denominator may be zero.
pub fn ratio_targets(num: &TargetSum, den: &TargetSum, scale: f64) -> TargetSum {
    let terms = num.terms + den.terms;
    let unknown_terms = num.unknown_terms + den.unknown_terms;
    let refused = |why| TargetSum {
        comparator: Comparator::Unknown,
        value: None,
        min: None,
        max: None,
        terms,
        unknown_terms,
        not_combined: Some(why),
        largest: None,
        smallest: None,
    };
    if let Some(why) = num.not_combined.or(den.not_combined) {
        return refused(why);
    }
    let (Some(n), Some(d)) = (
        interval_of(num.comparator, num.value, num.min, num.max),
        interval_of(den.comparator, den.value, den.min, den.max),
    ) else {
        return read_back(
            Interval {
                lo: None,
                hi: None,
                about: false,
            },
            terms,
            unknown_terms,
        );
    };
    match divide((n.lo, n.hi), (d.lo, d.hi), scale) {
        Ok((lo, hi)) => read_back(
            Interval {
                lo,
                hi,
                about: n.about || d.about,
            },
            terms,
            unknown_terms,
        ),
        Err(why) => refused(why),
    }
}

/// A ratio of two combined actuals: not combined when an operand was not, or when the
/// denominator may be zero (`DENOMINATOR_ZERO`). A ratio has no single largest report: its
/// `largest` and `smallest` are the ratio's own bounds (NaN when not combined).
pub fn ratio_actuals(num: &ActualSum, den: &ActualSum, scale: f64) -> ActualSum {
    let scopes = num.scopes.max(den.scopes);
    let quotient = match num.not_combined.or(den.not_combined) {
        Some(why) => Err(why),
        None => divide(num.bounds(), den.bounds(), scale),
    };
    match quotient {
        Ok((lo, hi)) => {
            let r = range(lo, hi, (f64::NAN, f64::NAN), scopes);
            ActualSum {
                largest: r.value.or(r.max).unwrap_or(f64::NAN),
                smallest: r.value.or(r.min).unwrap_or(f64::NAN),
                ..r
            }
        }
        Err(why) => ActualSum {
            not_combined: Some(why),
            value: None,
            min: None,
            max: None,
            largest: f64::NAN,
            smallest: f64::NAN,
            scopes,
        },
    }
}

/// `t × factor` for a positive factor (a pace: a span's target per year), keeping its shape.
pub fn scale_target(t: &TargetSum, factor: f64) -> TargetSum {
    let f = |v: Option<f64>| v.map(|v| v * factor);
    TargetSum {
        value: f(t.value),
        min: f(t.min),
        max: f(t.max),
        largest: f(t.largest),
        smallest: f(t.smallest),
        ..*t
    }
}

/// A pace: `t` spread over `years_min..=years_max` years (a range of years when the document
/// gives its time as one, 「3—5 年」), read back as the narrowest comparator — a number over
/// a range of years becomes a range, `[value ÷ most years, value ÷ fewest years]`, and an
/// at-least stays at-least. `t` itself when it was not combined or the years are not positive.
pub fn pace_target(t: &TargetSum, years_min: i32, years_max: i32) -> TargetSum {
    if t.not_combined.is_some() || years_min < 1 || years_max < years_min {
        return *t;
    }
    let Some(i) = interval_of(t.comparator, t.value, t.min, t.max) else {
        return *t;
    };
    let years = (Some(f64::from(years_min)), Some(f64::from(years_max)));
    match divide((i.lo, i.hi), years, 1.0) {
        Ok((lo, hi)) => TargetSum {
            largest: t.largest.map(|l| l / f64::from(years_max)),
            smallest: t.smallest.map(|l| l / f64::from(years_max)),
            ..read_back(
                Interval {
                    lo,
                    hi,
                    about: i.about,
                },
                t.terms,
                t.unknown_terms,
            )
        },
        Err(_) => *t,
    }
}

/// Year-on-year rates compounded over the years, `(∏(1 + rᵢ/100) − 1) × 100`; `None` for none.
pub fn compound(rates: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut any = false;
    let product = rates.into_iter().fold(1.0, |p, r| {
        any = true;
        p * (1.0 + r / 100.0)
    });
    any.then_some((product - 1.0) * 100.0)
}

/// One year of one scope's combined figures (a comparison cell).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearFigures {
    /// The year.
    pub year: i32,
    /// Its targets combined across scopes (without amounts whose years are open: those count
    /// once for the whole span, see [`span_total`]).
    pub target: Option<TargetSum>,
    /// Its actuals combined across scopes.
    pub actual: Option<ActualSum>,
}

/// The total over a span of years of one scope's yearly figures, by the indicator's over-time
/// aggregation `over_time`:
/// - `Sum`: the years' intervals add up, and `whole` — targets given for the span as a whole
///   (an amount whose years the document leaves open, as its share of the span) — is added once,
///   so an amount of 1000 over 2020–2022 stays exactly 1000 over the span even though each of
///   its years is only a range;
/// - `Latest`: the last year with a target, and the last year with an actual;
/// - `Max`: the largest (for intervals: the largest lower and the largest upper bound);
/// - `Average`: the mean over the years that have one (bounds averaged alike);
/// - `Compound`: year-on-year rates compounded over the years that have one, bound by bound.
///
/// A year whose figures were not combined (`NOT_ADDITIVE`) makes the span not combined too.
/// `years` must be in ascending order.
pub fn span_total(
    years: &[YearFigures],
    over_time: crate::Aggregation,
    whole: &[TargetGroup],
) -> (Option<TargetSum>, Option<ActualSum>) {
    use crate::Aggregation;
    let targets: Vec<&TargetSum> = years.iter().filter_map(|y| y.target.as_ref()).collect();
    let actuals: Vec<&ActualSum> = years.iter().filter_map(|y| y.actual.as_ref()).collect();
    let target = match over_time {
        Aggregation::Sum => {
            let mut groups: Vec<TargetGroup> = whole.to_vec();
            let mut refused = None;
            for t in &targets {
                if t.not_combined.is_some() {
                    refused = Some(**t);
                }
                groups.extend(groups_of(t));
            }
            match refused {
                Some(t) => Some(TargetSum {
                    terms: groups.iter().map(|g| g.count).sum(),
                    ..t
                }),
                None => combine_targets(&groups, ScopeAggregation::Sum, Across::Cities),
            }
        }
        Aggregation::Latest => targets.last().map(|t| **t),
        Aggregation::Max | Aggregation::Average | Aggregation::Compound => {
            fold_targets(&targets, over_time)
        }
    };
    let actual = match over_time {
        Aggregation::Sum => actuals.iter().copied().copied().reduce(|a, b| {
            if a.not_combined.is_some() || b.not_combined.is_some() {
                ActualSum {
                    not_combined: a.not_combined.or(b.not_combined),
                    value: None,
                    min: None,
                    max: None,
                    largest: a.largest.max(b.largest),
                    smallest: a.smallest.min(b.smallest),
                    scopes: a.scopes.max(b.scopes),
                }
            } else {
                let sum = a.add(b, ScopeAggregation::Sum, Across::Cities);
                ActualSum {
                    scopes: a.scopes.max(b.scopes),
                    ..sum
                }
            }
        }),
        Aggregation::Latest => actuals.last().map(|a| **a),
        Aggregation::Max | Aggregation::Average | Aggregation::Compound => {
            fold_actuals(&actuals, over_time)
        }
    };
    (target, actual)
}

/// A combined target as groups of a further sum: its known part with its shape, and its
/// unknown terms (counted, never numbered).
pub fn groups_of(t: &TargetSum) -> Vec<TargetGroup> {
    let mut out = Vec::new();
    let known = t.terms.saturating_sub(t.unknown_terms);
    if known > 0 && t.comparator != Comparator::Unknown {
        let (value, min, max) = match t.not_combined {
            Some(_) => (t.largest, None, None),
            None => (t.value, t.min, t.max),
        };
        let comparator = if t.not_combined.is_some() {
            Comparator::Exact
        } else {
            t.comparator
        };
        out.push(TargetGroup {
            comparator,
            value,
            min,
            max,
            largest: Bounds { value, min, max },
            smallest: Bounds { value, min, max },
            count: known,
        });
    }
    if t.unknown_terms > 0 {
        out.push(TargetGroup {
            comparator: Comparator::Unknown,
            value: None,
            min: None,
            max: None,
            largest: Bounds::default(),
            smallest: Bounds::default(),
            count: t.unknown_terms,
        });
    }
    out
}

/// The largest or the mean of the years' targets, bound by bound.
fn fold_targets(targets: &[&TargetSum], how: crate::Aggregation) -> Option<TargetSum> {
    if targets.is_empty() {
        return None;
    }
    let terms = targets.iter().map(|t| t.terms).sum();
    let unknown_terms = targets.iter().map(|t| t.unknown_terms).sum();
    if let Some(t) = targets.iter().find(|t| t.not_combined.is_some()) {
        return Some(TargetSum {
            terms,
            unknown_terms,
            ..**t
        });
    }
    let intervals: Vec<Interval> = targets
        .iter()
        .filter_map(|t| interval_of(t.comparator, t.value, t.min, t.max))
        .collect();
    let about = intervals.iter().any(|i| i.about);
    let bound = |pick: fn(&Interval) -> Option<f64>| -> Option<f64> {
        let all: Option<Vec<f64>> = intervals.iter().map(pick).collect();
        let all = all?;
        match how {
            crate::Aggregation::Max => all.into_iter().reduce(f64::max),
            crate::Aggregation::Compound => compound(all),
            _ => (!all.is_empty()).then(|| all.iter().sum::<f64>() / all.len() as f64),
        }
    };
    let i = Interval {
        lo: bound(|i| i.lo),
        hi: bound(|i| i.hi),
        about,
    };
    Some(read_back(i, terms, unknown_terms))
}

/// The largest or the mean of the years' actuals, bound by bound.
fn fold_actuals(actuals: &[&ActualSum], how: crate::Aggregation) -> Option<ActualSum> {
    if actuals.is_empty() {
        return None;
    }
    let largest = actuals.iter().map(|a| a.largest).fold(f64::MIN, f64::max);
    let smallest = actuals.iter().map(|a| a.smallest).fold(f64::MAX, f64::min);
    let scopes = actuals.iter().map(|a| a.scopes).max().unwrap_or(1);
    if let Some(a) = actuals.iter().find(|a| a.not_combined.is_some()) {
        return Some(ActualSum {
            largest,
            smallest,
            scopes,
            ..**a
        });
    }
    let bound = |pick: fn(&ActualSum) -> Option<f64>| -> Option<f64> {
        let all: Option<Vec<f64>> = actuals.iter().map(|a| pick(a)).collect();
        let all = all?;
        match how {
            crate::Aggregation::Max => all.into_iter().reduce(f64::max),
            crate::Aggregation::Compound => compound(all),
            _ => (!all.is_empty()).then(|| all.iter().sum::<f64>() / all.len() as f64),
        }
    };
    Some(range(
        bound(|a| a.value.or(a.min)),
        bound(|a| a.value.or(a.max)),
        (smallest, largest),
        scopes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(
        comparator: Comparator,
        value: Option<f64>,
        min: Option<f64>,
        max: Option<f64>,
    ) -> TargetGroup {
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

    #[test]
    fn an_unknown_term_leaves_a_sum_at_least_the_known_and_a_difference_at_most() {
        let unknown = g(Comparator::Unknown, None, None, None);
        let seventeen = g(Comparator::Exact, Some(17.0), None, None);
        // 临汾's county centres: 17 + 17 + 17 known, three types not numbered.
        let s = sum_of(&[seventeen, seventeen, seventeen, unknown, unknown, unknown]);
        assert_eq!(
            (s.comparator, s.value, s.terms, s.unknown_terms),
            (Comparator::AtLeast, Some(51.0), 6, 3)
        );
        // A coverage within a city stays capped by its population.
        let c = combine_targets(
            &[seventeen, unknown],
            ScopeAggregation::Coverage,
            Across::OneCity {
                population: Some(17.0),
            },
        )
        .unwrap();
        assert_eq!(
            (c.comparator, c.value, c.min, c.max),
            (Comparator::Exact, Some(17.0), None, None)
        );
        // A rate alone is not bounded by an unknown one.
        let r = combine_targets(
            &[g(Comparator::Exact, Some(90.0), None, None), unknown],
            ScopeAggregation::NotAdditive,
            Across::Cities,
        )
        .unwrap();
        assert_eq!((r.comparator, r.value), (Comparator::Exact, Some(90.0)));
        // Ten less an unknown amount is at most ten.
        let ten = sum_of(&[g(Comparator::Exact, Some(10.0), None, None)]);
        let d = add_targets(&[(ten, 1), (sum_of(&[unknown]), -1)]).unwrap();
        assert_eq!(
            (d.comparator, d.value, d.terms, d.unknown_terms),
            (Comparator::AtMost, Some(10.0), 2, 1)
        );
    }

    #[test]
    fn composites_keep_shapes_and_refuse_a_zero_denominator() {
        let one = |c, v, lo, hi| sum_of(&[g(c, v, lo, hi)]);
        // 136: at least 5 of about 10 leading specialties → at least 50 %.
        let share = ratio_targets(
            &one(Comparator::AtLeast, Some(5.0), None, None),
            &one(Comparator::About, Some(10.0), None, None),
            100.0,
        );
        assert_eq!(
            (share.comparator, share.value),
            (Comparator::AtLeast, Some(50.0))
        );
        let zero = ratio_targets(
            &one(Comparator::Exact, Some(5.0), None, None),
            &one(Comparator::Range, None, Some(0.0), Some(3.0)),
            1.0,
        );
        assert_eq!(zero.not_combined, Some(NotCombined::DenominatorZero));
        let a = ratio_actuals(&ActualSum::one(3.0), &ActualSum::one(0.0), 1.0);
        assert_eq!(
            (a.value, a.not_combined),
            (None, Some(NotCombined::DenominatorZero))
        );
        assert_eq!(
            ratio_actuals(&ActualSum::one(3.0), &ActualSum::one(4.0), 100.0).value,
            Some(75.0)
        );
        // A difference: 10 less a range 2–3 is the range 7–8; less an at-least is an at-most.
        let ten = one(Comparator::Exact, Some(10.0), None, None);
        let d = add_targets(&[
            (ten, 1),
            (one(Comparator::Range, None, Some(2.0), Some(3.0)), -1),
        ])
        .unwrap();
        assert_eq!(
            (d.comparator, d.min, d.max),
            (Comparator::Range, Some(7.0), Some(8.0))
        );
        let d = add_targets(&[
            (ten, 1),
            (one(Comparator::AtLeast, Some(4.0), None, None), -1),
        ])
        .unwrap();
        assert_eq!((d.comparator, d.value), (Comparator::AtMost, Some(6.0)));
        let a = add_actuals(&[(ActualSum::one(10.0), 1), (ActualSum::one(4.0), -1)]).unwrap();
        assert_eq!(a.value, Some(6.0));
        // Two years of 10 % growth compound to 21 %.
        assert!((compound([10.0, 10.0]).unwrap() - 21.0).abs() < 1e-9);
        assert_eq!(compound([]), None);
        // A pace keeps the shape.
        let r = scale_target(
            &one(Comparator::Range, None, Some(3.0), Some(6.0)),
            1.0 / 3.0,
        );
        assert_eq!((r.min, r.max), (Some(1.0), Some(2.0)));
    }

    #[test]
    fn sums_keep_the_documents_shapes() {
        let exact = |v| g(Comparator::Exact, Some(v), None, None);
        let s = combine_targets(
            &[exact(3.0), exact(4.0)],
            ScopeAggregation::Sum,
            Across::Cities,
        )
        .unwrap();
        assert_eq!(
            (s.comparator, s.value, s.terms),
            (Comparator::Exact, Some(7.0), 2)
        );
        let s = combine_targets(
            &[exact(3.0), g(Comparator::AtLeast, Some(2.0), None, None)],
            ScopeAggregation::Sum,
            Across::Cities,
        )
        .unwrap();
        assert_eq!((s.comparator, s.value), (Comparator::AtLeast, Some(5.0)));
        let s = combine_targets(
            &[exact(1.0), g(Comparator::Range, None, Some(1.0), Some(2.0))],
            ScopeAggregation::Sum,
            Across::Cities,
        )
        .unwrap();
        assert_eq!(
            (s.comparator, s.min, s.max),
            (Comparator::Range, Some(2.0), Some(3.0))
        );
        let s = combine_targets(
            &[exact(10.0), g(Comparator::About, Some(10.0), None, None)],
            ScopeAggregation::Sum,
            Across::Cities,
        )
        .unwrap();
        assert_eq!((s.comparator, s.value), (Comparator::About, Some(20.0)));
        let s = combine_targets(
            &[
                g(Comparator::AtLeast, Some(1.0), None, None),
                g(Comparator::AtMost, Some(5.0), None, None),
            ],
            ScopeAggregation::Sum,
            Across::Cities,
        )
        .unwrap();
        assert_eq!(
            s.comparator,
            Comparator::Unknown,
            "no bound is known on either side"
        );
    }

    #[test]
    fn unknown_targets_are_counted_not_guessed() {
        let s = combine_targets(
            &[
                g(Comparator::Exact, Some(5.0), None, None),
                TargetGroup {
                    count: 2,
                    ..g(Comparator::Unknown, None, None, None)
                },
            ],
            ScopeAggregation::Sum,
            Across::Cities,
        )
        .unwrap();
        assert_eq!((s.value, s.terms, s.unknown_terms), (Some(5.0), 3, 2));
        let only = combine_targets(
            &[g(Comparator::Unknown, None, None, None)],
            ScopeAggregation::Sum,
            Across::Cities,
        )
        .unwrap();
        assert_eq!(only.comparator, Comparator::Unknown);
        assert!(combine_targets(&[], ScopeAggregation::Sum, Across::Cities).is_none());
    }

    #[test]
    fn achievement_is_actual_over_target_and_a_pair_for_ranges() {
        let exact = combine_targets(
            &[g(Comparator::Exact, Some(50.0), None, None)],
            ScopeAggregation::Sum,
            Across::Cities,
        )
        .unwrap();
        assert_eq!(achievement(40.0, &exact), Some((0.8, 0.8)));
        let range = combine_targets(
            &[g(Comparator::Range, None, Some(100.0), Some(200.0))],
            ScopeAggregation::Sum,
            Across::Cities,
        )
        .unwrap();
        assert_eq!(achievement(150.0, &range), Some((0.75, 1.5)));
        let zero = combine_targets(
            &[g(Comparator::Exact, Some(0.0), None, None)],
            ScopeAggregation::Sum,
            Across::Cities,
        )
        .unwrap();
        assert_eq!(achievement(3.0, &zero), None);
    }

    #[test]
    fn coverage_within_a_city_is_the_union_and_across_cities_adds_up() {
        // Four centre types, each covering all 17 counties of the city: 17 counties, not 68.
        let seventeen = TargetGroup {
            count: 4,
            value: Some(68.0),
            ..g(Comparator::Exact, Some(17.0), None, None)
        };
        let city = Across::OneCity {
            population: Some(17.0),
        };
        let s = combine_targets(&[seventeen], ScopeAggregation::Coverage, city).unwrap();
        assert_eq!(
            (s.comparator, s.value, s.terms),
            (Comparator::Exact, Some(17.0), 4)
        );
        // Without a known population the union is carried as a range, never guessed.
        let open = Across::OneCity { population: None };
        let s = combine_targets(&[seventeen], ScopeAggregation::Coverage, open).unwrap();
        assert_eq!(
            (s.comparator, s.min, s.max),
            (Comparator::Range, Some(17.0), Some(68.0))
        );
        // Two cities' coverages are disjoint: they add up.
        let s = combine_targets(
            &[
                g(Comparator::Exact, Some(17.0), None, None),
                g(Comparator::Exact, Some(13.0), None, None),
            ],
            ScopeAggregation::Coverage,
            Across::Cities,
        )
        .unwrap();
        assert_eq!(s.value, Some(30.0));
        // Actuals follow the same rules.
        let a = ActualSum::one(17.0)
            .add(ActualSum::one(17.0), ScopeAggregation::Coverage, city)
            .add(ActualSum::one(10.0), ScopeAggregation::Coverage, city);
        assert_eq!((a.value, a.scopes), (Some(17.0), 3));
        let a = ActualSum::one(9.0).add(ActualSum::one(5.0), ScopeAggregation::Coverage, open);
        assert_eq!((a.value, a.min, a.max), (None, Some(9.0), Some(14.0)));
    }

    #[test]
    fn rates_and_percentages_are_never_added() {
        let ninety = g(Comparator::Exact, Some(90.0), None, None);
        let one =
            combine_targets(&[ninety], ScopeAggregation::NotAdditive, Across::Cities).unwrap();
        assert_eq!(
            (one.value, one.not_combined),
            (Some(90.0), None),
            "one scope keeps its number"
        );
        let two = combine_targets(
            &[ninety, g(Comparator::AtLeast, Some(80.0), None, None)],
            ScopeAggregation::NotAdditive,
            Across::Cities,
        )
        .unwrap();
        assert_eq!(
            (
                two.value,
                two.min,
                two.max,
                two.not_combined,
                two.largest,
                two.terms
            ),
            (
                None,
                None,
                None,
                Some(NotCombined::NotAdditive),
                Some(90.0),
                2
            ),
            "two cities at 90 % are not 180 %"
        );
        let a = ActualSum::one(90.0).add(
            ActualSum::one(85.0),
            ScopeAggregation::NotAdditive,
            Across::Cities,
        );
        assert_eq!(
            (a.value, a.not_combined, a.largest, a.smallest, a.scopes),
            (None, Some(NotCombined::NotAdditive), 90.0, 85.0, 2)
        );
        assert_eq!(
            two.smallest,
            Some(80.0),
            "each scope's own number is still shown"
        );
        // Groups of several targets each (as the grouped SQL gives them) keep their extremes.
        let pair = TargetGroup {
            count: 2,
            value: None,
            min: Some(165.0),
            max: Some(198.0),
            largest: Bounds {
                value: None,
                min: Some(95.0),
                max: Some(99.0),
            },
            smallest: Bounds {
                value: None,
                min: Some(70.0),
                max: Some(99.0),
            },
            ..g(Comparator::Range, None, None, None)
        };
        let all = combine_targets(
            &[ninety, pair],
            ScopeAggregation::NotAdditive,
            Across::Cities,
        )
        .unwrap();
        assert_eq!(
            (all.largest, all.smallest, all.terms),
            (Some(95.0), Some(70.0), 3)
        );
        // A difference swaps them.
        let negated = negate_target(&all);
        assert_eq!(
            (negated.largest, negated.smallest),
            (Some(-70.0), Some(-95.0))
        );
    }

    fn year(y: i32, target: Option<TargetSum>, actual: Option<f64>) -> YearFigures {
        YearFigures {
            year: y,
            target,
            actual: actual.map(ActualSum::one),
        }
    }

    fn sum_of(groups: &[TargetGroup]) -> TargetSum {
        combine_targets(groups, ScopeAggregation::Sum, Across::Cities).unwrap()
    }

    #[test]
    fn a_span_adds_its_years_and_counts_an_open_amount_once() {
        let exact = |v| g(Comparator::Exact, Some(v), None, None);
        let years = [
            year(2020, Some(sum_of(&[exact(927.0)])), Some(900.0)),
            year(2021, Some(sum_of(&[exact(1030.0)])), Some(1000.0)),
            year(2022, Some(sum_of(&[exact(43.0)])), None),
        ];
        // 1000 whose split over the three years is open: each year alone is a range, the span
        // holds it exactly.
        let (t, a) = span_total(&years, crate::Aggregation::Sum, &[exact(1000.0)]);
        let t = t.unwrap();
        assert_eq!(
            (t.comparator, t.value, t.terms),
            (Comparator::Exact, Some(3000.0), 4)
        );
        assert_eq!(a.unwrap().value, Some(1900.0));
        // A range and an at-least year keep their shapes.
        let years = [
            year(
                2020,
                Some(sum_of(&[g(Comparator::Range, None, Some(1.0), Some(2.0))])),
                None,
            ),
            year(
                2021,
                Some(sum_of(&[g(Comparator::AtLeast, Some(5.0), None, None)])),
                None,
            ),
        ];
        let t = span_total(&years, crate::Aggregation::Sum, &[]).0.unwrap();
        assert_eq!((t.comparator, t.value), (Comparator::AtLeast, Some(6.0)));
    }

    #[test]
    fn a_span_of_a_stock_takes_its_latest_and_a_maximum_takes_the_largest_bounds() {
        let years = [
            year(
                2020,
                Some(sum_of(&[g(Comparator::Exact, Some(500.0), None, None)])),
                Some(480.0),
            ),
            year(
                2021,
                Some(sum_of(&[g(
                    Comparator::Range,
                    None,
                    Some(600.0),
                    Some(700.0),
                )])),
                Some(650.0),
            ),
            year(2022, None, Some(640.0)),
        ];
        let (t, a) = span_total(&years, crate::Aggregation::Latest, &[]);
        assert_eq!(t.unwrap().min, Some(600.0), "the last year with a target");
        assert_eq!(
            a.unwrap().value,
            Some(640.0),
            "the last year with an actual"
        );
        let (t, a) = span_total(&years, crate::Aggregation::Max, &[]);
        let t = t.unwrap();
        assert_eq!(
            (t.comparator, t.min, t.max),
            (Comparator::Range, Some(600.0), Some(700.0))
        );
        assert_eq!(a.unwrap().value, Some(650.0));
        let (t, a) = span_total(&years, crate::Aggregation::Average, &[]);
        let t = t.unwrap();
        assert_eq!((t.min, t.max), (Some(550.0), Some(600.0)));
        assert_eq!(a.unwrap().value, Some((480.0 + 650.0 + 640.0) / 3.0));
    }

    #[test]
    fn a_year_not_combined_leaves_the_span_not_combined() {
        let rate = |v| g(Comparator::Exact, Some(v), None, None);
        let refused = combine_targets(
            &[rate(90.0), rate(80.0)],
            ScopeAggregation::NotAdditive,
            Across::Cities,
        )
        .unwrap();
        let years = [
            year(2020, Some(refused), None),
            year(2021, Some(sum_of(&[rate(95.0)])), None),
        ];
        for how in [
            crate::Aggregation::Sum,
            crate::Aggregation::Max,
            crate::Aggregation::Average,
        ] {
            let t = span_total(&years, how, &[]).0.unwrap();
            assert_eq!(t.not_combined, Some(NotCombined::NotAdditive), "{how:?}");
            assert_eq!(t.value, None, "{how:?}");
        }
        let mut two = ActualSum::one(90.0);
        two = two.add(
            ActualSum::one(80.0),
            ScopeAggregation::NotAdditive,
            Across::Cities,
        );
        let years = [
            YearFigures {
                year: 2020,
                target: None,
                actual: Some(two),
            },
            year(2021, None, Some(95.0)),
        ];
        let a = span_total(&years, crate::Aggregation::Sum, &[]).1.unwrap();
        assert_eq!(
            (a.value, a.not_combined),
            (None, Some(NotCombined::NotAdditive))
        );
    }
}
