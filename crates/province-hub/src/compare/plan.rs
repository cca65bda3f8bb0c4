//! The comparison's plan: the question checked against the catalogue and turned into what to
//! read and how to combine it. Pure: no database, no GraphQL context (the caller resolves who
//! may ask what, and supplies the catalogue and the replicated cities).

use std::collections::BTreeMap;

use model::{
    Aggregation, Formula, Indicator, Region, RegionCode, ScopeAggregation, ValidationError,
};

use super::types::CompareLevel;

/// At most this many indicators in one question.
pub const MAX_INDICATORS: usize = 50;

/// How one indicator combines: over time within a scope's year, and across scopes and cities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Semantics {
    /// Over the years of a span.
    pub over_time: Aggregation,
    /// Across scopes and cities.
    pub over_scopes: ScopeAggregation,
}

/// The question as asked (after access rules: city staff's cities are already their own).
#[derive(Debug, Clone)]
pub struct Question {
    /// Indicator codes, in the asked order.
    pub indicators: Vec<String>,
    /// Region codes (cities, or 140000 for the province's own scope); `None` = every
    /// replicated city.
    pub cities: Option<Vec<String>>,
    /// First and last year, inclusive; `None` = all years.
    pub years: Option<(i32, i32)>,
    /// Programme global ids to keep (empty = all).
    pub programmes: Vec<String>,
    /// How far to drill down.
    pub level: CompareLevel,
}

/// What to read and how to combine it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The asked indicators, in the asked order.
    pub asked: Vec<Indicator>,
    /// Every indicator taking part (asked, and the operands of asked composites, to any depth).
    pub how: BTreeMap<String, Semantics>,
    /// Composites taking part, operands before the composites that read them.
    pub composites: Vec<(String, Formula)>,
    /// Reported indicators to read from the databases.
    pub fetch: Vec<String>,
    /// Of `fetch`, the stocks (within a year only each scope's latest report counts).
    pub latest: Vec<String>,
    /// First and last year, inclusive.
    pub years: (i32, i32),
    /// The regions compared, in the asked order (cities, and the province when asked).
    pub regions: Vec<&'static Region>,
    /// Per region, the local ids of the programmes to keep.
    pub wanted: BTreeMap<RegionCode, Vec<String>>,
    /// True when programmes were named (a region with none of them contributes nothing).
    pub filtered: bool,
    /// How far to drill down.
    pub level: CompareLevel,
    /// Of the asked indicators, those that count units: code → unit kind (snake_case).
    pub counted: BTreeMap<String, String>,
}

impl Plan {
    /// How `indicator` combines (every indicator of the plan has an entry).
    pub fn semantics(&self, indicator: &str) -> Semantics {
        self.how.get(indicator).copied().unwrap_or(Semantics {
            over_time: Aggregation::Sum,
            over_scopes: ScopeAggregation::Sum,
        })
    }

    /// True when `indicator` is one of the asked ones (and so is shown).
    pub fn is_asked(&self, indicator: &str) -> bool {
        self.asked.iter().any(|i| i.code == indicator)
    }

    /// True when values of `indicator` add up across scopes (its shares of a total mean
    /// something): declared `sum`, and not a ratio.
    pub fn is_additive(&self, indicator: &str) -> bool {
        self.semantics(indicator).over_scopes == ScopeAggregation::Sum
            && !self
                .composites
                .iter()
                .any(|(c, f)| c == indicator && matches!(f, Formula::Ratio { .. }))
    }

    /// A key naming the question exactly (for the comparison cache).
    pub fn key(&self) -> String {
        let codes: Vec<&str> = self.asked.iter().map(|i| i.code.as_str()).collect();
        let regions: Vec<String> = self.regions.iter().map(|r| r.code.to_string()).collect();
        // The semantics and formulas are part of the question: a catalogue entry redefined
        // changes the answer.
        format!(
            "{codes:?}|{:?}|{regions:?}|{:?}|{}|{:?}|{:?}|{:?}|{:?}",
            self.years,
            self.wanted,
            self.filtered,
            self.level,
            self.how,
            self.composites,
            self.counted
        )
    }
}

/// Checks `q` against `catalogue` and makes the plan. `replicated` lists the cities the hub
/// keeps replicas of (the default when no city is named).
pub fn plan(
    q: &Question,
    catalogue: &BTreeMap<String, Indicator>,
    replicated: &[RegionCode],
) -> Result<Plan, ValidationError> {
    if q.indicators.is_empty() || q.indicators.len() > MAX_INDICATORS {
        return Err(ValidationError::new(
            "indicators",
            "COUNT",
            format!("name between 1 and {MAX_INDICATORS} indicators"),
        ));
    }
    let mut asked: Vec<Indicator> = Vec::new();
    for (i, code) in q.indicators.iter().enumerate() {
        let Some(ind) = catalogue.get(code) else {
            return Err(ValidationError::new(
                format!("indicators[{i}]"),
                "UNKNOWN_INDICATOR",
                format!("`{code}` is not in the province's catalogue"),
            ));
        };
        if !asked.iter().any(|a| a.code == *code) {
            asked.push(ind.clone());
        }
    }
    let years = q.years.unwrap_or((1900, 2999));
    if years.0 > years.1 {
        return Err(ValidationError::new(
            "years",
            "RANGE_INVERTED",
            "`from` must not be after `to`",
        ));
    }

    // Composites expand into their operands, to any depth; operands come first.
    let mut how = BTreeMap::new();
    let mut composites = Vec::new();
    let mut fetch = Vec::new();
    for ind in &asked {
        expand(ind, catalogue, &mut how, &mut composites, &mut fetch, 0)?;
    }
    let latest = fetch
        .iter()
        .filter(|c| {
            how.get(*c)
                .is_some_and(|s: &Semantics| s.over_time == Aggregation::Latest)
        })
        .cloned()
        .collect();

    let regions: Vec<&'static Region> = match &q.cities {
        Some(codes) => parse_regions(codes)?,
        None => replicated
            .iter()
            .filter_map(|c| model::region::region(*c))
            .collect(),
    };
    let mut wanted: BTreeMap<RegionCode, Vec<String>> = BTreeMap::new();
    for (i, p) in q.programmes.iter().enumerate() {
        let gid: model::GlobalId = p.parse().map_err(|e: ValidationError| ValidationError {
            field: format!("programmes[{i}]"),
            ..e
        })?;
        wanted
            .entry(gid.owner.city())
            .or_default()
            .push(gid.local.clone());
    }
    let counted = asked
        .iter()
        .filter_map(|i| {
            let kind = serde_json::to_value(i.counts_units?).ok()?;
            Some((i.code.clone(), kind.as_str()?.to_owned()))
        })
        .collect();
    Ok(Plan {
        counted,
        asked,
        how,
        composites,
        fetch,
        latest,
        years,
        regions,
        wanted,
        filtered: !q.programmes.is_empty(),
        level: q.level,
    })
}

fn expand(
    ind: &Indicator,
    catalogue: &BTreeMap<String, Indicator>,
    how: &mut BTreeMap<String, Semantics>,
    composites: &mut Vec<(String, Formula)>,
    fetch: &mut Vec<String>,
    depth: u32,
) -> Result<(), ValidationError> {
    if how.contains_key(&ind.code) {
        return Ok(());
    }
    // The catalogue refuses cycles when an entry is written; this guards a stored one.
    if depth > 16 {
        return Err(ValidationError::new(
            "indicators",
            "COMPOSITE_CYCLE",
            format!("`{}` is computed from itself", ind.code),
        ));
    }
    match &ind.formula {
        None => fetch.push(ind.code.clone()),
        Some(f) => {
            for (code, _) in f.operands() {
                let Some(operand) = catalogue.get(code) else {
                    return Err(ValidationError::new(
                        "indicators",
                        "UNKNOWN_INDICATOR",
                        format!(
                            "composite `{}` reads `{code}`, which is not in the catalogue",
                            ind.code
                        ),
                    ));
                };
                expand(operand, catalogue, how, composites, fetch, depth + 1)?;
            }
            composites.push((ind.code.clone(), f.clone()));
        }
    }
    how.insert(
        ind.code.clone(),
        Semantics {
            over_time: ind.aggregation,
            over_scopes: ind.over_scopes,
        },
    );
    Ok(())
}

/// Region codes as compared regions: a city of Shanxi, or the province itself (its own
/// scope); each once, in the order first asked.
fn parse_regions(codes: &[String]) -> Result<Vec<&'static Region>, ValidationError> {
    let mut out: Vec<&'static Region> = Vec::new();
    for (i, c) in codes.iter().enumerate() {
        let code: RegionCode = c.parse().map_err(|e: ValidationError| ValidationError {
            field: format!("cities[{i}]"),
            ..e
        })?;
        let region = model::region::region(code)
            .filter(|r| r.level == model::RegionLevel::City || code == model::region::SHANXI)
            .ok_or_else(|| {
                ValidationError::new(
                    format!("cities[{i}]"),
                    "NOT_A_CITY",
                    format!("{code} is neither a city of Shanxi nor the province (140000)"),
                )
            })?;
        if !out.iter().any(|r| r.code == region.code) {
            out.push(region);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indicator(code: &str, unit: &str, formula: Option<Formula>) -> Indicator {
        Indicator {
            code: code.into(),
            name_zh: code.into(),
            name_en: code.into(),
            unit: unit.into(),
            value_type: model::ValueType::Integer,
            aggregation: Aggregation::Sum,
            over_scopes: ScopeAggregation::Sum,
            description_zh: None,
            formula,
            counts_units: None,
        }
    }

    fn catalogue(entries: Vec<Indicator>) -> BTreeMap<String, Indicator> {
        entries.into_iter().map(|i| (i.code.clone(), i)).collect()
    }

    fn question(indicators: &[&str]) -> Question {
        Question {
            indicators: indicators.iter().map(|s| (*s).to_owned()).collect(),
            cities: None,
            years: None,
            programmes: Vec::new(),
            level: CompareLevel::City,
        }
    }

    #[test]
    fn a_composite_reads_its_operands_to_any_depth_operands_first() {
        let c = catalogue(vec![
            indicator("a", "张", None),
            indicator("b", "张", None),
            indicator("c", "张", None),
            indicator(
                "ab",
                "张",
                Some(Formula::Sum {
                    terms: vec!["a".into(), "b".into()],
                }),
            ),
            indicator(
                "abc",
                "张",
                Some(Formula::Sum {
                    terms: vec!["ab".into(), "c".into()],
                }),
            ),
        ]);
        let p = plan(&question(&["abc", "a"]), &c, &[]).unwrap();
        assert_eq!(p.fetch, ["a", "b", "c"]);
        let order: Vec<&str> = p.composites.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(order, ["ab", "abc"]);
        assert!(p.is_asked("abc") && p.is_asked("a") && !p.is_asked("ab"));
    }

    #[test]
    fn bad_questions_get_stable_codes() {
        let c = catalogue(vec![indicator("a", "张", None)]);
        let rule = |q: Question| plan(&q, &c, &[]).unwrap_err().rule;
        assert_eq!(rule(question(&[])), "COUNT");
        assert_eq!(rule(question(&["nope"])), "UNKNOWN_INDICATOR");
        assert_eq!(
            rule(Question {
                years: Some((2022, 2020)),
                ..question(&["a"])
            }),
            "RANGE_INVERTED"
        );
        assert_eq!(
            rule(Question {
                cities: Some(vec!["141002".into()]),
                ..question(&["a"])
            }),
            "NOT_A_CITY"
        );
        // The province is a scope like any city.
        let p = plan(
            &Question {
                cities: Some(vec!["140000".into(), "140800".into(), "140000".into()]),
                ..question(&["a"])
            },
            &c,
            &[],
        )
        .unwrap();
        let codes: Vec<u32> = p.regions.iter().map(|r| r.code.get()).collect();
        assert_eq!(codes, [140000, 140800]);
        // A stored cycle (the catalogue refuses one when written) is named, not followed.
        let looped = catalogue(vec![
            indicator("a", "张", None),
            indicator(
                "x",
                "张",
                Some(Formula::Sum {
                    terms: vec!["y".into(), "a".into()],
                }),
            ),
            indicator(
                "y",
                "张",
                Some(Formula::Sum {
                    terms: vec!["x".into(), "a".into()],
                }),
            ),
        ]);
        assert_eq!(
            plan(&question(&["x"]), &looped, &[]).unwrap_err().rule,
            "COMPOSITE_CYCLE"
        );
    }
}
