//! `compare`: the province leaders' question — how do the cities (and the province's own
//! scope) compare on X, by year and over the span, against their targets — answered from the
//! hub's replicas and its own database with SQL (one grouped query per region, all in
//! parallel). Every region's numbers come with their freshness.
//!
//! # Layout
//! - [`plan`]: the question checked against the catalogue (composites expanded) — pure;
//! - [`engine`]: folding, combining, composites, spans, shares, paces, rankings — pure;
//! - [`named`]: planned counts of units against the units named — pure;
//! - [`types`]: the answer's types;
//! - this file: the GraphQL layer — access, cache, reading the facts.

pub mod engine;
pub mod named;
pub mod plan;
pub mod types;

use std::collections::BTreeMap;

use async_graphql::{Context, Object};
use futures_util::future::join_all;
use model::RegionCode;
use store::compare::{Facts, FactsQuery, GroupLevel};

pub use types::*;

use crate::{
    answer::CityExecutor as _,
    cities::Cities,
    status::{AnsweredBy, freshness},
};

/// Recent comparisons, keyed by the question and the generation (changes applied, snapshots
/// taken) of every city asked about, and the province's own change sequence: a database that
/// changes changes the key, so a hit is exactly as fresh as a recomputation. Each city's
/// `freshness` is refreshed on every hit.
pub type CompareCache = crate::kept::Kept<String, Comparison>;

/// The hub's comparison queries.
#[derive(Debug, Default)]
pub struct CompareQuery;

#[Object]
impl CompareQuery {
    /// 城市对比 — How the cities compare on `indicators` (composites included), by year and
    /// over the span, against their targets: answered from the hub's replicas with SQL
    /// (`cities`: default every replicated city; `140000` adds the province's own scope —
    /// its programmes, institutions and units, from the hub's database; `years`: default all;
    /// `programmes`: global ids, default all; `level`: drill-down). City staff compare their
    /// own city only (`FORBIDDEN` for another or the province).
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
        let d = ctx.data::<Cities>()?;
        let province = ctx.data::<store::Store>()?;
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
        let question = plan::Question {
            indicators,
            cities,
            years: years.map(|y| (y.from, y.to)),
            programmes: programmes
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.0)
                .collect(),
            level: level.unwrap_or_default(),
        };
        // The province's change sequence moves with every catalogue write (and every write of
        // its own data): it keys the kept catalogue and the province's part of the cache key.
        let province_seq = province
            .last_seq()
            .await
            .map_err(city_schema::error::from_store)?;
        let catalogue = d
            .catalogue
            .get(province, province_seq)
            .await
            .map_err(city_schema::error::from_store)?;
        let replicated: Vec<RegionCode> = d.replicas.keys().copied().collect();
        let plan = plan::plan(&question, &catalogue, &replicated)
            .map_err(|e| city_schema::error::invalid(&e.field, e.rule, e.message))?;

        let fresh_now = |code: RegionCode| {
            if code == model::region::SHANXI {
                return freshness(AnsweredBy::Province, None, false, None);
            }
            // A city's comparison is read from its replica: its freshness is the one the
            // core gives any replica answer (`HubCity`), stale unless the replica is current.
            let exec = crate::cities::HubCity {
                registry: &d.registry,
                fresh: d.fresh,
                node: d.registry.node(code),
                view: d.replicas.get(&code),
            };
            match exec.known().replica {
                Some(r) => exec.freshness(AnsweredBy::Replica, !r.current, None),
                None => freshness(
                    AnsweredBy::None,
                    None,
                    false,
                    Some(format!("the hub keeps no replica of {code}")),
                ),
            }
        };
        let mut generations = Vec::new();
        for r in &plan.regions {
            let (applied, snapshots) = if r.code == model::region::SHANXI {
                (province_seq, 0)
            } else {
                d.replicas
                    .get(&r.code)
                    .map_or((-1, 0), |v| v.replica.generation())
            };
            generations.push(format!("{}={applied}/{snapshots}", r.code));
        }
        let key = format!("{}|{}", plan.key(), generations.join(","));
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
        // Checked on a miss only: a kept answer was checked when it was computed, and its key
        // names the same data.
        if let Some((from, to)) = question.years {
            check_span(province, d, &plan, from, to).await?;
        }

        let reads = join_all(plan.regions.iter().map(|r| {
            let store: Option<&store::Store> = if r.code == model::region::SHANXI {
                Some(province)
            } else {
                d.replicas.get(&r.code).map(|v| &v.replica.store)
            };
            read_region(&plan, r, store, fresh_now(r.code))
        }))
        .await;
        let mut regions = Vec::new();
        for (region, read) in plan.regions.iter().zip(reads) {
            regions.push(read.map_err(|e| {
                tracing::error!(region = %region.code, error = %e, "comparison query failed");
                city_schema::error::from_store(e)
            })?);
        }
        let comparison = engine::compare(&plan, regions);
        d.compare_cache.put(key, comparison.clone());
        Ok(comparison)
    }

    /// 派生指标 — Figures derived on every comparison cell or span, with their formulas.
    async fn derived_indicators(&self) -> Vec<DerivedIndicator> {
        derived()
    }
}

/// The province's catalogue as last read, with the province's change sequence at the time:
/// reused while that sequence stays (every catalogue write moves it), so a comparison reads
/// one sequence number instead of the whole catalogue.
#[derive(Debug, Default)]
pub struct KeptCatalogue(std::sync::Mutex<Option<(i64, Catalogue)>>);

/// The catalogue by code.
pub type Catalogue = std::sync::Arc<BTreeMap<String, model::Indicator>>;

impl KeptCatalogue {
    /// The catalogue as of the province's change sequence `seq`.
    pub async fn get(&self, province: &store::Store, seq: i64) -> Result<Catalogue, store::Error> {
        if let Some((at, kept)) = self.0.lock().ok().and_then(|k| k.clone())
            && at == seq
        {
            return Ok(kept);
        }
        let read: BTreeMap<String, model::Indicator> = province
            .indicators()
            .await?
            .iter()
            .map(|m| store::writes::indicator_model(m).map(|i| (i.code.clone(), i)))
            .collect::<Result<_, _>>()?;
        let read = std::sync::Arc::new(read);
        if let Ok(mut k) = self.0.lock() {
            *k = Some((seq, read.clone()));
        }
        Ok(read)
    }
}

/// Refuses a span of years in which no programme runs — not the province's, nor any compared
/// city's (`SPAN_OUTSIDE_PROGRAMMES`): such a question can only answer nothing.
async fn check_span(
    province: &store::Store,
    d: &Cities,
    plan: &plan::Plan,
    from: i32,
    to: i32,
) -> async_graphql::Result<()> {
    let mut stores = vec![province];
    stores.extend(
        plan.regions
            .iter()
            .filter_map(|r| d.replicas.get(&r.code).map(|v| &v.replica.store)),
    );
    for store in stores {
        let n = store
            .programmes_overlapping(from, to)
            .await
            .map_err(city_schema::error::from_store)?;
        if n > 0 {
            return Ok(());
        }
    }
    Err(city_schema::error::invalid(
        "years",
        "SPAN_OUTSIDE_PROGRAMMES",
        format!("no programme of the compared regions runs in {from}..{to}"),
    ))
}

/// Reads one region's facts for `plan`: a city's from its replica's roll-ups; the province's
/// own (140000) from the hub's database — all of it, its programme-wide goals, and the rest
/// (what it adds to the total). `store` is `None` when the hub keeps no data for the region.
pub async fn read_region(
    plan: &plan::Plan,
    region: &'static model::Region,
    store: Option<&store::Store>,
    freshness: crate::status::Freshness,
) -> Result<engine::RegionFacts, store::Error> {
    let mut out = engine::RegionFacts {
        region,
        facts: None,
        goals: None,
        contribution: None,
        names: BTreeMap::new(),
        named: Vec::new(),
        freshness,
    };
    let Some(store) = store else {
        return Ok(out);
    };
    if plan.level != CompareLevel::City {
        out.names = store.scope_names().await?;
    }
    let query = FactsQuery {
        indicators: plan.fetch.clone(),
        years: plan.years,
        programmes: plan.wanted.get(&region.code).cloned().unwrap_or_default(),
        latest: plan.latest.clone(),
        level: match plan.level {
            CompareLevel::City => GroupLevel::City,
            CompareLevel::Institution => GroupLevel::Institution,
            CompareLevel::Unit => GroupLevel::Unit,
        },
        kinds: Vec::new(),
    };
    if plan.filtered && query.programmes.is_empty() {
        out.facts = Some(Facts::default());
        return Ok(out);
    }
    out.named = store
        .named_units(&plan.counted, plan.years, &query.programmes)
        .await?;
    if region.code != model::region::SHANXI {
        out.facts = Some(store.rollup_facts(&query).await?);
        return Ok(out);
    }
    // The province's rows are few, and its own writes keep no roll-ups: read the rows.
    let by_kinds = |kinds: &[&str]| FactsQuery {
        level: GroupLevel::City,
        kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
        ..query.clone()
    };
    out.facts = Some(store.comparison_facts(&query).await?);
    out.goals = Some(
        store
            .comparison_facts(&by_kinds(&["programme", "component"]))
            .await?,
    );
    out.contribution = Some(
        store
            .comparison_facts(&by_kinds(&["institution", "unit", "region"]))
            .await?,
    );
    Ok(out)
}

/// The derived figures, as `derivedIndicators` lists them.
fn derived() -> Vec<DerivedIndicator> {
    let d = |code: &str, zh: &str, en: &str, formula: &str| DerivedIndicator {
        code: code.to_owned(),
        name_zh: zh.to_owned(),
        name_en: en.to_owned(),
        formula: formula.to_owned(),
    };
    vec![
        d(
            "achievement_rate",
            "完成率",
            "Achievement rate",
            "actual ÷ target; for a target range, actual ÷ max (low) and actual ÷ min (high); none for unknown targets",
        ),
        d(
            "share_of_total",
            "实绩占比",
            "Share of the total",
            "row actual ÷ its total's actual (breakdown row ÷ its city, city ÷ the compared total); only for indicators added up across scopes, when both are one number",
        ),
        d(
            "target_share_of_total",
            "目标占比",
            "Target's share of the total",
            "row target ÷ its total's target, when both are exact numbers; same conditions as share_of_total",
        ),
        d(
            "target_per_year",
            "年均目标",
            "Pace of the target",
            "span target ÷ the years its targets run over (earliest start of their periods to the latest year they are due: targetYearsMin..targetYearsMax, a range when a target's document gives its time as one, 「3—5 年」), for indicators added up over time; over a range of years a number becomes [target ÷ most years, target ÷ fewest years]",
        ),
        d(
            "target_pace",
            "目标年均进度",
            "A target's own pace",
            "Target.pacePerYear: value ÷ its duration in years when stated, else ÷ the years of its period; a range when the value or the duration is one",
        ),
        d(
            "named_rate",
            "命名率",
            "Named against planned",
            "NamedCount: units of the indicator's kind named under a programme or component ÷ its planned count (÷ max and ÷ min for a range)",
        ),
        d(
            "actual_per_year",
            "年均实绩",
            "Pace of the actual",
            "span actual ÷ years in the span, for indicators added up over time",
        ),
        d(
            "compounded_actual",
            "复合增长",
            "Compounded growth",
            "(∏(1 + rᵢ/100) − 1) × 100 over the span's years, for year-on-year rates (overTime COMPOUND)",
        ),
    ]
}
