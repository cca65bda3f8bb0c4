//! Combining targets and actuals for comparisons, without flattening the documents' shapes.
//!
//! A target is read as an interval with an "about" flag: `exact v` = [v, v], `about v` = [v, v]
//! approximately, `at_least v` = [v, ∞), `at_most v` = (−∞, v], `range a–b` = [a, b];
//! `unknown` carries no number and is counted, never guessed. Summing targets adds the
//! intervals; the result is read back as the narrowest comparator that says the same
//! (`exact 3 + at_least 2` = `at_least 5`, `exact 1 + range 1–2` = `range 2–3`). Targets that are
//! unknown are left out of the numbers and counted in [`TargetSum::unknown_terms`].

use serde::{Deserialize, Serialize};

use crate::{Aggregation, Comparator, TargetValue};

/// How values combine across scopes (hospitals, units, cities). A stock taken at the latest
/// date over time (total beds) still adds up across hospitals.
pub fn over_scopes(over_time: Aggregation) -> Aggregation {
    match over_time {
        Aggregation::Latest => Aggregation::Sum,
        other => other,
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
    /// Targets in the group.
    pub count: u32,
}

impl From<&TargetValue> for TargetGroup {
    fn from(t: &TargetValue) -> Self {
        Self {
            comparator: t.comparator,
            value: t.value,
            min: t.min,
            max: t.max,
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
    fn interval(&self) -> Option<Interval> {
        let (lo, hi, about) = match self.comparator {
            Comparator::Exact => (self.value, self.value, false),
            Comparator::About => (self.value, self.value, true),
            Comparator::AtLeast => (self.value, None, false),
            Comparator::AtMost => (None, self.value, false),
            Comparator::Range => (self.min, self.max, false),
            Comparator::Unknown => return None,
        };
        Some(Interval { lo, hi, about })
    }
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
    }
}

/// Combines target groups by `how` (`Sum` and `Latest` add up, `Max` takes the largest bounds,
/// `Average` averages them over the known targets). `None` when there are no targets.
pub fn combine_targets(groups: &[TargetGroup], how: Aggregation) -> Option<TargetSum> {
    let terms: u32 = groups.iter().map(|g| g.count).sum();
    if terms == 0 {
        return None;
    }
    let unknown_terms: u32 = groups
        .iter()
        .filter(|g| g.comparator == Comparator::Unknown)
        .map(|g| g.count)
        .sum();
    let known: Vec<(Interval, u32)> = groups
        .iter()
        .filter_map(|g| g.interval().map(|i| (i, g.count)))
        .collect();
    if known.is_empty() {
        return Some(read_back(
            Interval {
                lo: None,
                hi: None,
                about: false,
            },
            terms,
            unknown_terms,
        ));
    }
    let about = known.iter().any(|(i, _)| i.about);
    let bound = |pick: fn(&Interval) -> Option<f64>| -> Option<f64> {
        let values: Option<Vec<f64>> = known.iter().map(|(i, _)| pick(i)).collect();
        let values = values?;
        match over_scopes(how) {
            Aggregation::Max => values.into_iter().reduce(f64::max),
            Aggregation::Average => {
                let n: u32 = known.iter().map(|(_, c)| *c).sum();
                Some(values.iter().sum::<f64>() / f64::from(n.max(1)))
            }
            // Sum (Latest adds up across scopes): groups already hold sums.
            _ => Some(values.iter().sum()),
        }
    };
    Some(read_back(
        Interval {
            lo: bound(|i| i.lo),
            hi: bound(|i| i.hi),
            about,
        },
        terms,
        unknown_terms,
    ))
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
            count: 1,
        }
    }

    #[test]
    fn sums_keep_the_documents_shapes() {
        let exact = |v| g(Comparator::Exact, Some(v), None, None);
        let s = combine_targets(&[exact(3.0), exact(4.0)], Aggregation::Sum).unwrap();
        assert_eq!(
            (s.comparator, s.value, s.terms),
            (Comparator::Exact, Some(7.0), 2)
        );
        let s = combine_targets(
            &[exact(3.0), g(Comparator::AtLeast, Some(2.0), None, None)],
            Aggregation::Sum,
        )
        .unwrap();
        assert_eq!((s.comparator, s.value), (Comparator::AtLeast, Some(5.0)));
        let s = combine_targets(
            &[exact(1.0), g(Comparator::Range, None, Some(1.0), Some(2.0))],
            Aggregation::Sum,
        )
        .unwrap();
        assert_eq!(
            (s.comparator, s.min, s.max),
            (Comparator::Range, Some(2.0), Some(3.0))
        );
        let s = combine_targets(
            &[exact(10.0), g(Comparator::About, Some(10.0), None, None)],
            Aggregation::Sum,
        )
        .unwrap();
        assert_eq!((s.comparator, s.value), (Comparator::About, Some(20.0)));
        let s = combine_targets(
            &[
                g(Comparator::AtLeast, Some(1.0), None, None),
                g(Comparator::AtMost, Some(5.0), None, None),
            ],
            Aggregation::Sum,
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
            Aggregation::Sum,
        )
        .unwrap();
        assert_eq!((s.value, s.terms, s.unknown_terms), (Some(5.0), 3, 2));
        let only = combine_targets(
            &[g(Comparator::Unknown, None, None, None)],
            Aggregation::Sum,
        )
        .unwrap();
        assert_eq!(only.comparator, Comparator::Unknown);
        assert!(combine_targets(&[], Aggregation::Sum).is_none());
    }

    #[test]
    fn achievement_is_actual_over_target_and_a_pair_for_ranges() {
        let exact = combine_targets(
            &[g(Comparator::Exact, Some(50.0), None, None)],
            Aggregation::Sum,
        )
        .unwrap();
        assert_eq!(achievement(40.0, &exact), Some((0.8, 0.8)));
        let range = combine_targets(
            &[g(Comparator::Range, None, Some(100.0), Some(200.0))],
            Aggregation::Sum,
        )
        .unwrap();
        assert_eq!(achievement(150.0, &range), Some((0.75, 1.5)));
        let zero = combine_targets(
            &[g(Comparator::Exact, Some(0.0), None, None)],
            Aggregation::Sum,
        )
        .unwrap();
        assert_eq!(achievement(3.0, &zero), None);
    }

    #[test]
    fn stocks_add_up_across_scopes() {
        assert_eq!(over_scopes(Aggregation::Latest), Aggregation::Sum);
        assert_eq!(over_scopes(Aggregation::Average), Aggregation::Average);
    }
}
