//! Seed data: every fact xingyi ships, transcribed from the five source documents into
//! reviewable TOML files (`data/*.toml`), each value citing its document and quoting it.
//!
//! The files and the original texts (`sources/*.txt`) are compiled into the binary, so a fresh
//! `xingyi local` needs nothing beside it. [`SeedFile::check`] enforces what a reviewer would:
//! every reference resolves, every entity validates, every quote is found verbatim in its
//! document, and every number of a target or actual appears in its quote — so no number can be
//! invented without a test failing.
//!
//! # Layout
//! - [`SeedFile`]: one file = everything one server owns (province hub, or one city node).
//! - [`check`](SeedFile::check): the fidelity rules above.
//! - [`province`], [`for_region`]: the embedded files.
//! - [`load`]: loading a server's seed into its store on first start.
//! - [`numerals`]: numbers written in Chinese numerals (百名, 一个, 百分之八十), which the
//!   fidelity check reads as well as digits.

pub mod load;
pub mod numerals;

use std::collections::{BTreeMap, HashSet};

use model::{
    Actual, Component, Document, Indicator, Institution, PlanItem, Programme, RegionCode,
    ScopeKind, Target, Unit, source::normalise,
};
use serde::Deserialize;

/// Everything one server owns, as transcribed from the documents.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    /// The region whose server owns these records.
    pub owner: RegionCode,
    /// Source documents cited below.
    #[serde(default)]
    pub documents: Vec<Document>,
    /// Indicator catalogue entries (province file only).
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// Programmes.
    #[serde(default)]
    pub programmes: Vec<Programme>,
    /// Components of the programmes.
    #[serde(default)]
    pub components: Vec<Component>,
    /// Institutions.
    #[serde(default)]
    pub institutions: Vec<Institution>,
    /// Units.
    #[serde(default)]
    pub units: Vec<Unit>,
    /// Yearly plan items.
    #[serde(default)]
    pub plan_items: Vec<PlanItem>,
    /// Targets.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Actuals.
    #[serde(default)]
    pub actuals: Vec<Actual>,
}

/// Why a seed file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TOML does not parse or does not match the model.
    #[error("seed file {file} does not parse")]
    Parse {
        /// Which file.
        file: &'static str,
        /// The parser's error.
        #[source]
        source: toml::de::Error,
    },
    /// The file parses but breaks fidelity rules.
    #[error("seed file for {owner} breaks {} rule(s):\n{}", .problems.len(), .problems.join("\n"))]
    Invalid {
        /// Owner of the file.
        owner: RegionCode,
        /// One line per problem.
        problems: Vec<String>,
    },
}

/// The embedded source documents, by file name.
pub static SOURCES: &[(&str, &str)] = &[
    (
        "000_dfa8a82774f70731.txt",
        include_str!("../sources/000_dfa8a82774f70731.txt"),
    ),
    (
        "001_e6a85d9cf3d697fa.txt",
        include_str!("../sources/001_e6a85d9cf3d697fa.txt"),
    ),
    (
        "002_1419e6c5d61b6d51.txt",
        include_str!("../sources/002_1419e6c5d61b6d51.txt"),
    ),
    (
        "003_705c365a090a453e.txt",
        include_str!("../sources/003_705c365a090a453e.txt"),
    ),
    (
        "004_a31d24ebf5ad9bbd.txt",
        include_str!("../sources/004_a31d24ebf5ad9bbd.txt"),
    ),
];

const PROVINCE: (&str, &str) = ("province.toml", include_str!("../data/province.toml"));
const CITIES: &[(&str, &str)] = &[
    ("yuncheng.toml", include_str!("../data/yuncheng.toml")),
    ("linfen.toml", include_str!("../data/linfen.toml")),
];

/// The text of an embedded source document.
pub fn source_text(file: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(f, _)| *f == file).map(|(_, t)| *t)
}

fn parse(file: &'static str, text: &str) -> Result<SeedFile, Error> {
    toml::from_str(text).map_err(|source| Error::Parse { file, source })
}

/// The province hub's seed.
pub fn province() -> Result<SeedFile, Error> {
    parse(PROVINCE.0, PROVINCE.1)
}

/// The seed of the server owning `owner`: the province file for 140000, a city file for a city
/// with documents, and `None` for a city without any.
pub fn for_region(owner: RegionCode) -> Result<Option<SeedFile>, Error> {
    if owner == model::region::SHANXI {
        return province().map(Some);
    }
    for (file, text) in CITIES {
        let seed = parse(file, text)?;
        if seed.owner == owner {
            return Ok(Some(seed));
        }
    }
    Ok(None)
}

/// Every embedded seed file, province first.
pub fn all() -> Result<Vec<SeedFile>, Error> {
    let mut out = vec![province()?];
    for (file, text) in CITIES {
        out.push(parse(file, text)?);
    }
    Ok(out)
}

/// True when `quote` writes `x`: as a whole number in digits (`20` does not write `2`), or in
/// Chinese numerals as a count (百名, 一个, 百分之八十 — see [`numerals`]).
fn appears(x: f64, quote: &str) -> bool {
    digit_numbers(quote).iter().any(|n| (n - x).abs() < 1e-9)
        || numerals::chinese_numbers(&normalise(quote))
            .iter()
            .any(|n| (n - x).abs() < 1e-9)
}

/// True when `x` is 100 (per cent) and `quote` says "all" (所有, 全部): 「全市所有县级及县级以上
/// 中医医院…设立“治未病”科」 is a share of 100 % written without a digit. Only for percentages,
/// so "all" never stands for a count.
fn all_of(x: f64, quote: &str) -> bool {
    (x - 100.0).abs() < 1e-9 && (quote.contains("所有") || quote.contains("全部"))
}

/// The numbers written in digits in `text`, each read whole (`13.36`, `2020`); whitespace
/// separates numbers (「700 300」 is two).
fn digit_numbers(text: &str) -> Vec<f64> {
    let mut out = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, out: &mut Vec<f64>| {
        let t = current.trim_end_matches('.');
        if let Ok(n) = t.parse::<f64>() {
            out.push(n);
        }
        current.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || (c == '.' && !current.is_empty() && !current.contains('.')) {
            current.push(c);
        } else {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

impl SeedFile {
    /// Checks the file against the model's rules, its own references, the province catalogue
    /// (`catalogue`; pass the province file's indicators) and the source texts.
    pub fn check(&self, catalogue: &[Indicator]) -> Result<(), Error> {
        let mut p = Vec::new();
        let indicators: BTreeMap<&str, &Indicator> = catalogue
            .iter()
            .chain(&self.indicators)
            .map(|i| (i.code.as_str(), i))
            .collect();
        let docs: BTreeMap<&str, &Document> =
            self.documents.iter().map(|d| (d.id.as_str(), d)).collect();
        let programmes: BTreeMap<&str, &Programme> =
            self.programmes.iter().map(|x| (x.id.as_str(), x)).collect();
        let components: HashSet<&str> = self.components.iter().map(|x| x.id.as_str()).collect();
        let institutions: HashSet<&str> = self.institutions.iter().map(|x| x.id.as_str()).collect();
        let units: BTreeMap<&str, &Unit> = self.units.iter().map(|x| (x.id.as_str(), x)).collect();

        let mut ids = HashSet::new();
        let mut unique = |kind: &str, id: &str, p: &mut Vec<String>| {
            if !ids.insert(format!("{kind}:{id}")) {
                p.push(format!("duplicate {kind} id `{id}`"));
            }
        };
        let report = |what: String, v: model::Violations, p: &mut Vec<String>| {
            if !v.is_empty() {
                p.push(format!("{what}: {v}"));
            }
        };
        let cite = |what: &str, doc: &str, quote: &str, p: &mut Vec<String>| match docs.get(doc) {
            None => p.push(format!("{what}: unknown document `{doc}`")),
            Some(d) => match source_text(&d.file) {
                None => p.push(format!(
                    "{what}: document `{doc}` names missing file {}",
                    d.file
                )),
                Some(text) if !normalise(text).contains(&normalise(quote)) => {
                    p.push(format!("{what}: quote not found in {}: «{quote}»", d.file))
                }
                Some(_) => {}
            },
        };

        for d in &self.documents {
            unique("document", &d.id, &mut p);
            report(format!("document {}", d.id), d.validate(), &mut p);
        }
        for i in &self.indicators {
            unique("indicator", &i.code, &mut p);
            report(format!("indicator {}", i.code), i.validate(), &mut p);
            if let Some(f) = &i.formula {
                let lookup = |code: &str| indicators.get(code).copied();
                report(
                    format!("composite {}", i.code),
                    f.validate(i, &lookup),
                    &mut p,
                );
            }
        }
        for x in &self.programmes {
            unique("programme", &x.id, &mut p);
            report(format!("programme {}", x.id), x.validate(), &mut p);
            cite(
                &format!("programme {}", x.id),
                &x.source.document,
                &x.source.quote,
                &mut p,
            );
        }
        for x in &self.components {
            unique("component", &x.id, &mut p);
            report(format!("component {}", x.id), x.validate(), &mut p);
            if !programmes.contains_key(x.programme.as_str()) {
                p.push(format!(
                    "component {}: unknown programme `{}`",
                    x.id, x.programme
                ));
            }
            if let Some(parent) = &x.parent
                && !components.contains(parent.as_str())
            {
                p.push(format!("component {}: unknown parent `{parent}`", x.id));
            }
            if let Some(s) = &x.source {
                cite(
                    &format!("component {}", x.id),
                    &s.document,
                    &s.quote,
                    &mut p,
                );
            }
        }
        for x in &self.institutions {
            unique("institution", &x.id, &mut p);
            report(format!("institution {}", x.id), x.validate(), &mut p);
            if x.region.city() != self.owner.city() && !self.owner.is_province() {
                p.push(format!(
                    "institution {}: region {} is outside owner {}",
                    x.id, x.region, self.owner
                ));
            }
            if let Some(s) = &x.source {
                cite(
                    &format!("institution {}", x.id),
                    &s.document,
                    &s.quote,
                    &mut p,
                );
            }
        }
        for x in &self.units {
            unique("unit", &x.id, &mut p);
            let period = programmes.get(x.programme.as_str()).map(|pr| pr.period);
            if period.is_none() {
                p.push(format!(
                    "unit {}: unknown programme `{}`",
                    x.id, x.programme
                ));
            }
            report(format!("unit {}", x.id), x.validate(period), &mut p);
            if let Some(c) = &x.component
                && !components.contains(c.as_str())
            {
                p.push(format!("unit {}: unknown component `{c}`", x.id));
            }
            if let Some(i) = &x.institution
                && !institutions.contains(i.as_str())
            {
                p.push(format!("unit {}: unknown institution `{i}`", x.id));
            }
            if let Some(s) = &x.source {
                cite(&format!("unit {}", x.id), &s.document, &s.quote, &mut p);
            }
            // A milestone's level is the document's words, like a target level.
            let levels = x.milestones.iter().map(|m| m.level.as_str());
            for level in levels.chain(
                x.target_level
                    .as_deref()
                    .filter(|_| !x.milestones.is_empty()),
            ) {
                match &x.source {
                    Some(s) if s.quote.contains(level) => {}
                    Some(s) => p.push(format!(
                        "unit {}: level «{level}» does not appear in its quote «{}»",
                        x.id, s.quote
                    )),
                    None => p.push(format!("unit {}: milestones need a source", x.id)),
                }
            }
        }
        for x in &self.plan_items {
            let id = x.id.clone().unwrap_or_else(|| x.derived_id());
            unique("plan item", &id, &mut p);
            let unit = units.get(x.unit.as_str());
            let programme = unit.and_then(|u| programmes.get(u.programme.as_str()));
            if unit.is_none() {
                p.push(format!("plan item {id}: unknown unit `{}`", x.unit));
            }
            report(
                format!("plan item {id}"),
                x.validate(programme.map(|pr| pr.period)),
                &mut p,
            );
            match (&x.source, programme) {
                (Some(s), _) => cite(&format!("plan item {id}"), &s.document, &s.quote, &mut p),
                (None, Some(pr)) => cite(
                    &format!("plan item {id}"),
                    &pr.source.document,
                    &x.text,
                    &mut p,
                ),
                (None, None) => {}
            }
        }
        let scope_period = |kind: ScopeKind, id: &str, what: &str, p: &mut Vec<String>| {
            let known = match kind {
                ScopeKind::Programme => programmes.contains_key(id),
                ScopeKind::Component => components.contains(id),
                ScopeKind::Institution => institutions.contains(id),
                ScopeKind::Unit => units.contains_key(id),
                ScopeKind::Region => id
                    .parse::<RegionCode>()
                    .ok()
                    .and_then(model::region::region)
                    .is_some(),
            };
            if !known {
                p.push(format!("{what}: unknown {} `{id}`", kind.as_str()));
            }
            match kind {
                ScopeKind::Programme => programmes.get(id).map(|pr| pr.period),
                ScopeKind::Unit => units
                    .get(id)
                    .and_then(|u| programmes.get(u.programme.as_str()))
                    .map(|pr| pr.period),
                _ => None,
            }
        };
        for (n, x) in self.targets.iter().enumerate() {
            let what = format!(
                "target #{} ({})",
                n + 1,
                x.id.as_deref().unwrap_or(&x.indicator)
            );
            let ind = indicators.get(x.indicator.as_str()).copied();
            if ind.is_none() {
                p.push(format!("{what}: unknown indicator `{}`", x.indicator));
            }
            let period = scope_period(x.scope.kind, &x.scope.id, &what, &mut p);
            report(what.clone(), x.validate(ind, period), &mut p);
            match &x.source {
                None => p.push(format!("{what}: a seeded target needs a source")),
                Some(s) => {
                    cite(&what, &s.document, &s.quote, &mut p);
                    // A target read several ways quotes the amounts it splits; its total is
                    // their sum (checked by the model), not a number of the document.
                    let numbers: Vec<f64> = if x.readings.is_empty() {
                        [x.value.value, x.value.min, x.value.max]
                            .into_iter()
                            .flatten()
                            .collect()
                    } else {
                        x.readings
                            .iter()
                            .flat_map(|r| r.years.iter().map(|y| y.value))
                            .filter(|v| *v != 0.0)
                            .collect()
                    };
                    // A duration's years are the document's too (「3—5 年」).
                    let years = x
                        .duration
                        .map(|d| [f64::from(d.min_years), f64::from(d.max_years)]);
                    let percent = ind.is_some_and(|i| i.value_type == model::ValueType::Percent);
                    for n in numbers.into_iter().chain(years.into_iter().flatten()) {
                        let written = appears(n, &s.quote) || (percent && all_of(n, &s.quote));
                        if !written {
                            p.push(format!(
                                "{what}: number {n} does not appear in its quote «{}»",
                                s.quote
                            ));
                        }
                    }
                }
            }
        }
        for (n, x) in self.actuals.iter().enumerate() {
            let what = format!(
                "actual #{} ({})",
                n + 1,
                x.id.as_deref().unwrap_or(&x.indicator)
            );
            let ind = indicators.get(x.indicator.as_str()).copied();
            if ind.is_none() {
                p.push(format!("{what}: unknown indicator `{}`", x.indicator));
            }
            let period = scope_period(x.scope.kind, &x.scope.id, &what, &mut p);
            report(what.clone(), x.validate(ind, period), &mut p);
            match &x.source {
                None => p.push(format!("{what}: a seeded actual needs a source")),
                Some(s) => {
                    cite(&what, &s.document, &s.quote, &mut p);
                    if !appears(x.value, &s.quote) {
                        p.push(format!(
                            "{what}: number {} does not appear in its quote «{}»",
                            x.value, s.quote
                        ));
                    }
                }
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid {
                owner: self.owner,
                problems: p,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_file_passes_the_fidelity_rules() {
        let province = province().unwrap();
        let catalogue = province.indicators.clone();
        for seed in all().unwrap() {
            if let Err(e) = seed.check(&catalogue) {
                panic!("{e}");
            }
        }
    }

    #[test]
    fn each_city_with_a_document_has_a_seed_and_others_have_none() {
        assert_eq!(
            for_region(model::region::YUNCHENG).unwrap().unwrap().owner,
            model::region::YUNCHENG
        );
        assert_eq!(
            for_region(model::region::LINFEN).unwrap().unwrap().owner,
            model::region::LINFEN
        );
        assert!(for_region("140100".parse().unwrap()).unwrap().is_none());
    }

    #[test]
    fn an_invented_number_is_caught() {
        let province = province().unwrap();
        let mut seed = for_region(model::region::YUNCHENG).unwrap().unwrap();
        let target = seed
            .targets
            .iter_mut()
            .find(|t| t.value.value.is_some())
            .expect("Yuncheng has exact targets");
        target.value.value = Some(987_654.0);
        let err = seed.check(&province.indicators).unwrap_err().to_string();
        assert!(err.contains("does not appear in its quote"), "{err}");
    }

    #[test]
    fn a_number_in_chinese_numerals_is_read_and_a_changed_one_is_caught() {
        let province = province().unwrap();
        let mut seed = for_region(model::region::LINFEN).unwrap().unwrap();
        let hundred = seed
            .targets
            .iter_mut()
            .find(|t| t.id.as_deref() == Some("lf-hundred-leaders-count"))
            .expect("百名 is stored as a number");
        assert_eq!(hundred.value.value, Some(100.0));
        hundred.value.value = Some(200.0);
        let err = seed.check(&province.indicators).unwrap_err().to_string();
        assert!(err.contains("number 200 does not appear"), "{err}");
    }

    #[test]
    fn a_duration_is_the_documents_and_a_changed_one_is_caught() {
        let province = province().unwrap();
        let mut seed = for_region(model::region::LINFEN).unwrap().unwrap();
        let township = seed
            .targets
            .iter_mut()
            .find(|t| t.id.as_deref() == Some("lf-township-centres-standard"))
            .expect("the township centres' target is seeded");
        assert_eq!(
            township.duration,
            Some(model::Duration {
                min_years: 3,
                max_years: 5
            }),
            "「通过 3—5 年努力」 is kept as a number of years"
        );
        township.duration = Some(model::Duration {
            min_years: 2,
            max_years: 5,
        });
        let err = seed.check(&province.indicators).unwrap_err().to_string();
        assert!(err.contains("number 2 does not appear"), "{err}");
    }

    #[test]
    fn a_units_steps_are_the_documents_and_a_changed_one_is_caught() {
        let mut province = province().unwrap();
        let centre = province
            .units
            .iter_mut()
            .find(|u| u.id == "rmc-organ-transplant")
            .expect("the organ transplant centre is seeded");
        assert_eq!(
            centre.level_by(2022),
            Some((2022, "省内领先")),
            "「3年内达到省内领先」 is a step on the way to 全国知名水平"
        );
        assert_eq!(centre.level_by(2024), Some((2024, "全国知名水平")));
        centre.milestones[1].level = "国内领先".into();
        let indicators = province.indicators.clone();
        let err = province.check(&indicators).unwrap_err().to_string();
        assert!(
            err.contains("level «国内领先» does not appear in its quote"),
            "{err}"
        );
    }

    #[test]
    fn a_number_is_read_whole_not_as_part_of_another() {
        assert!(appears(
            20.0,
            "151 所乡镇卫生院和 20 所城市社区卫生服务中心"
        ));
        assert!(
            !appears(2.0, "20 所城市社区卫生服务中心"),
            "20 does not write 2"
        );
        assert!(!appears(15.0, "151 所"), "151 does not write 15");
        assert!(appears(13.36, "占比 13.36%。"));
        assert_eq!(digit_numbers("700 300"), vec![700.0, 300.0]);
        assert_eq!(digit_numbers("到2022年."), vec![2022.0]);
    }

    #[test]
    fn all_stands_for_a_hundred_per_cent_only_where_the_quote_says_it() {
        assert!(all_of(100.0, "全市所有县级及县级以上中医医院"));
        assert!(
            !all_of(30.0, "全市所有县级及县级以上中医医院"),
            "所有 is 100, nothing else"
        );
        assert!(!all_of(100.0, "县级及县级以上中医医院"), "no 所有, no 100");
        let province = province().unwrap();
        let mut seed = for_region(model::region::LINFEN).unwrap().unwrap();
        seed.check(&province.indicators).unwrap();
        let t = seed
            .targets
            .iter_mut()
            .find(|t| t.id.as_deref() == Some("lf-tcm-hospitals-preventive-depts"))
            .expect("所有 TCM hospitals is stored as 100 %");
        // Still a quote from the document, but without the word that carries the 100 %.
        t.source.as_mut().unwrap().quote =
            "县级及县级以上中医医院和 30% 以上综合医院设立“治未病”科".into();
        let err = seed.check(&province.indicators).unwrap_err().to_string();
        assert!(err.contains("number 100 does not appear"), "{err}");
    }

    #[test]
    fn a_misquote_is_caught() {
        let province = province().unwrap();
        let mut seed = for_region(model::region::LINFEN).unwrap().unwrap();
        seed.programmes[0].source.quote = "这句话不在文件里".into();
        let err = seed.check(&province.indicators).unwrap_err().to_string();
        assert!(err.contains("quote not found"), "{err}");
    }
}
