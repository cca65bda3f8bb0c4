//! Cross-city comparison at the hub, from the replicas, against totals recomputed straight from
//! the seed files (the documents' tables): a different path from the SQL the hub runs.

use std::{collections::BTreeMap, time::Duration};

use federation_tests::{data, data_as, graphql, graphql_as, token};
use model::{Comparator, RegionCode, region::YUNCHENG};
use serde_json::{Value, json};

use crate::support::LocalFed;

/// Waits until every city's replica has applied everything its node reported.
pub(crate) async fn in_sync(client: &reqwest::Client, hub: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d = data(
            client,
            hub,
            "{ cities { sync { nodeSeq appliedSeq lag } } }",
            json!({}),
        )
        .await;
        let ok =
            d["cities"].as_array().unwrap().iter().all(|c| {
                c["sync"]["lag"] == "0" && c["sync"]["nodeSeq"] == c["sync"]["appliedSeq"]
            });
        if ok {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "not in sync: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// (lower bound, upper bound, unknown count, terms) of the seed's targets, by year.
fn expected(
    city: RegionCode,
    indicator: &str,
) -> BTreeMap<i32, (Option<f64>, Option<f64>, u32, u32)> {
    let seed = seed::for_region(city).unwrap().unwrap();
    let mut out: BTreeMap<i32, (Option<f64>, Option<f64>, u32, u32)> = BTreeMap::new();
    for t in seed.targets.iter().filter(|t| t.indicator == indicator) {
        if !t.readings.is_empty() {
            // Years open: each year of the period gets the interval over the readings.
            for year in t.period.start.year..=t.period.end.year {
                let (lo, hi) = model::share_of(&t.readings, year, year).unwrap();
                let e = out.entry(year).or_insert((Some(0.0), Some(0.0), 0, 0));
                e.3 += 1;
                e.0 = e.0.map(|a| a + lo);
                e.1 = e.1.map(|a| a + hi);
            }
            continue;
        }
        let e = out
            .entry(t.period.end.year)
            .or_insert((Some(0.0), Some(0.0), 0, 0));
        e.3 += 1;
        let v = t.value;
        let (lo, hi) = match v.comparator {
            Comparator::Exact | Comparator::About => (v.value, v.value),
            Comparator::AtLeast => (v.value, None),
            Comparator::AtMost => (None, v.value),
            Comparator::Range => (v.min, v.max),
            Comparator::Unknown => {
                e.2 += 1;
                continue;
            }
        };
        e.0 = e.0.zip(lo).map(|(a, b)| a + b);
        e.1 = e.1.zip(hi).map(|(a, b)| a + b);
    }
    out
}

/// (lower, upper) bounds of a target object (`None` = unbounded or none).
pub(crate) fn bounds(target: &Value) -> (Option<f64>, Option<f64>) {
    let f = |k: &str| target[k].as_f64();
    match target["comparator"].as_str() {
        Some("EXACT" | "ABOUT") => (f("value"), f("value")),
        Some("AT_LEAST") => (f("value"), None),
        Some("AT_MOST") => (None, f("value")),
        Some("RANGE") => (f("min"), f("max")),
        _ => (None, None),
    }
}

const INDICATORS: &[&str] = &[
    "funding",
    "doctors_added",
    "phd_recruited",
    "infectious_disease_beds",
    "beds_added",
];

const Q: &str = r#"query($ind: [String!]!, $level: CompareLevel) {
  compare(indicators: $ind, years: { from: 2018, to: 2025 }, level: $level) {
    indicators { code unit aggregation aggregationOverScopes }
    years
    cities { code nameZh freshness { answeredBy stale }
      cells { indicator year actual actualReports achievementRate achievementRateLow achievementRateHigh
              target { comparator value min max terms unknownTerms } }
      breakdown { kind id nameZh cells { indicator year target { comparator value min max terms unknownTerms } } } }
    provinceTotals { indicator year actual target { comparator value min max terms unknownTerms } }
    rankings { indicator year entries { rank code actual achievementRate } }
  } }"#;

#[tokio::test]
async fn the_comparison_equals_totals_recomputed_from_the_documents_tables() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    in_sync(&client, &hub).await;

    let d = data(&client, &hub, Q, json!({ "ind": INDICATORS })).await;
    let cmp = &d["compare"];
    assert_eq!(cmp["cities"].as_array().unwrap().len(), 2);
    let mut checked = 0;
    for c in cmp["cities"].as_array().unwrap() {
        let city: RegionCode = c["code"].as_str().unwrap().parse().unwrap();
        assert_eq!(c["freshness"]["answeredBy"], "REPLICA");
        for ind in INDICATORS {
            let want = expected(city, ind);
            let got: BTreeMap<i32, &Value> = c["cells"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["indicator"] == *ind && x["target"].is_object())
                .map(|x| (x["year"].as_i64().unwrap() as i32, x))
                .collect();
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "{city} {ind}: years with targets"
            );
            for (year, (lo, hi, unknown, terms)) in &want {
                let t = &got[year]["target"];
                let (glo, ghi) = bounds(t);
                let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => (a - b).abs() < 1e-6,
                    (None, None) => true,
                    _ => false,
                };
                let all_unknown = unknown == terms;
                if !all_unknown {
                    assert!(
                        close(glo, *lo) && close(ghi, *hi),
                        "{city} {ind} {year}: {t} vs {lo:?}..{hi:?}"
                    );
                }
                assert_eq!(
                    t["terms"].as_u64(),
                    Some(u64::from(*terms)),
                    "{city} {ind} {year}"
                );
                assert_eq!(t["unknownTerms"].as_u64(), Some(u64::from(*unknown)));
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "compared {checked} cells");

    // Province totals add the cities up (exact cells only, to keep the check simple).
    for total in cmp["provinceTotals"].as_array().unwrap() {
        let (ind, year) = (
            total["indicator"].as_str().unwrap(),
            total["year"].as_i64().unwrap(),
        );
        let parts: Vec<&Value> = cmp["cities"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["cells"].as_array().unwrap())
            .filter(|x| {
                x["indicator"] == ind && x["year"].as_i64() == Some(year) && x["target"].is_object()
            })
            .collect();
        if !parts.is_empty() && parts.iter().all(|p| p["target"]["comparator"] == "EXACT") {
            let sum: f64 = parts
                .iter()
                .map(|p| p["target"]["value"].as_f64().unwrap())
                .sum();
            assert_eq!(total["target"]["comparator"], "EXACT");
            assert!(
                (total["target"]["value"].as_f64().unwrap() - sum).abs() < 1e-6,
                "{total}"
            );
        }
    }

    // Drill-down: the units of 运城 add up to the city (programme-level rows are their own key).
    let d = data(
        &client,
        &hub,
        Q,
        json!({ "ind": ["beds_added"], "level": "UNIT" }),
    )
    .await;
    let yc = d["compare"]["cities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "140800")
        .unwrap();
    let breakdown = yc["breakdown"].as_array().unwrap();
    assert!(
        breakdown
            .iter()
            .any(|b| b["kind"] == "UNIT" && b["nameZh"].is_string())
    );
    for city_cell in yc["cells"].as_array().unwrap() {
        if city_cell["target"]["comparator"] != "EXACT" {
            continue;
        }
        let year = &city_cell["year"];
        let sum: f64 = breakdown
            .iter()
            .flat_map(|b| b["cells"].as_array().unwrap())
            .filter(|x| x["year"] == *year)
            .map(|x| x["target"]["value"].as_f64().unwrap_or(0.0))
            .sum();
        assert!(
            (city_cell["target"]["value"].as_f64().unwrap() - sum).abs() < 1e-6,
            "{year}"
        );
    }
    fed.stop().await;
}

#[tokio::test]
async fn reported_actuals_reach_the_comparison_with_rates_and_rankings() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    let urls: BTreeMap<RegionCode, String> = fed.node_urls().into_iter().collect();
    // Asked once before anything is reported (the hub may keep this answer while no replica
    // changes; it must not survive the reports below).
    in_sync(&client, &hub).await;
    let before = data(
        &client,
        &hub,
        Q,
        json!({ "ind": ["beds_added"], "level": "INSTITUTION" }),
    )
    .await;
    assert!(
        before["compare"]["provinceTotals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["actual"].is_null())
    );
    let editor = token(auth::Role::CityEditor, Some(YUNCHENG));
    // City staff report actuals on their nodes: 运城 beds added 2020 at 心血管内科 and 神经外科,
    // 临汾 infectious-disease beds in 2021 — and one bad report that must be refused.
    for (scope, value) in [
        ("Unit:140800:central-cardiology", 45.0),
        ("Unit:140800:central-neurosurgery", 10.0),
    ] {
        data_as(
            &client,
            &urls[&YUNCHENG],
            &editor,
            "mutation($s: ID!, $v: Float!) { createActual(input: { indicator: \"beds_added\", period: \"2020\", scope: { kind: UNIT, id: $s }, value: $v }) { id } }",
            json!({ "s": scope, "v": value }),
        )
        .await;
    }
    let bad = graphql_as(
        &client,
        &urls[&YUNCHENG],
        Some(&editor),
        "mutation { createActual(input: { indicator: \"beds_added\", period: \"2020\", scope: { kind: UNIT, id: \"Unit:140800:central-cardiology\" }, value: -3 }) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "VALIDATION_FAILED",
        "{bad}"
    );
    // The reports reach the hub's replica within moments; the earlier answer must not be
    // served once they have (the comparison cache is keyed by the replicas' sequences).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let d = loop {
        let d = data(
            &client,
            &hub,
            Q,
            json!({ "ind": ["beds_added"], "level": "INSTITUTION" }),
        )
        .await;
        let reported = d["compare"]["provinceTotals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["year"] == 2020 && t["actual"] == 55.0);
        if reported {
            break d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reports never reached the comparison: {d}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    in_sync(&client, &hub).await;
    let cmp = &d["compare"];
    let yc = cmp["cities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "140800")
        .unwrap();
    let cell = yc["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["year"] == 2020)
        .unwrap();
    assert_eq!(cell["actual"], 55.0, "{cell}");
    assert_eq!(cell["actualReports"], 2);
    let target = &cell["target"];
    if target["comparator"] == "EXACT" {
        let rate = cell["achievementRate"].as_f64().unwrap();
        assert!((rate - 55.0 / target["value"].as_f64().unwrap()).abs() < 1e-9);
    }
    // Both units are at 运城市中心医院: the institution row carries both reports.
    let hospital = yc["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "Institution:140800:yc-central-hospital")
        .unwrap();
    assert_eq!(hospital["kind"], "INSTITUTION");
    let ranking = cmp["rankings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["indicator"] == "beds_added" && r["year"] == 2020)
        .unwrap();
    assert_eq!(ranking["entries"][0]["code"], "140800");
    assert_eq!(ranking["entries"][0]["rank"], 1);
    assert_eq!(
        ranking["entries"][1]["rank"],
        Value::Null,
        "临汾 reported nothing"
    );
    let total = cmp["provinceTotals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["indicator"] == "beds_added" && t["year"] == 2020)
        .unwrap();
    assert_eq!(total["actual"], 55.0);

    // Bad input gets a field-level error.
    let e = graphql(
        &client,
        &hub,
        "{ compare(indicators: [\"no_such\"]) { years } }",
        json!({}),
    )
    .await;
    assert_eq!(e["errors"][0]["extensions"]["code"], "VALIDATION_FAILED");
    assert_eq!(e["errors"][0]["extensions"]["field"], "indicators[0]");
    fed.stop().await;
}

#[tokio::test]
async fn the_comparison_sql_gives_the_same_groups_on_sqlite_and_postgres() {
    use store::compare::{FactsQuery, GroupLevel};
    let mut results = Vec::new();
    for db in test_support::databases("compare_sql").await {
        let store = db.store(YUNCHENG).await;
        seed::load::load(&store).await.unwrap();
        // Two reports of a stock in one year for one unit: only the later one counts.
        for (period, value) in [("2021-06", 300.0), ("2021-12", 320.0), ("2020", 280.0)] {
            store
                .create_actual(model::Actual {
                    id: None,
                    indicator: "beds_total".into(),
                    scope: model::Scope {
                        kind: model::ScopeKind::Unit,
                        id: "central-cardiology".into(),
                    },
                    period: period.parse().unwrap(),
                    value,
                    unit: None,
                    note: None,
                    source: None,
                })
                .await
                .unwrap();
        }
        let mut per_level = Vec::new();
        for level in [GroupLevel::City, GroupLevel::Institution, GroupLevel::Unit] {
            let mut f = store
                .comparison_facts(&FactsQuery {
                    indicators: INDICATORS
                        .iter()
                        .map(|s| (*s).to_owned())
                        .chain(["beds_total".to_owned()])
                        .collect(),
                    years: (2018, 2025),
                    programmes: vec!["yc-lead-specialties".into()],
                    latest: vec!["beds_total".into()],
                    level,
                    kinds: Vec::new(),
                })
                .await
                .unwrap();
            f.targets.sort_by(|a, b| {
                (&a.indicator, a.year, &a.scope, &a.comparator).cmp(&(
                    &b.indicator,
                    b.year,
                    &b.scope,
                    &b.comparator,
                ))
            });
            f.actuals.sort_by(|a, b| {
                (&a.indicator, a.year, &a.scope).cmp(&(&b.indicator, b.year, &b.scope))
            });
            per_level.push(f);
        }
        let stock: Vec<(i32, f64, i64)> = per_level[0]
            .actuals
            .iter()
            .filter(|a| a.indicator == "beds_total")
            .map(|a| (a.year, a.sum_value, a.n))
            .collect();
        assert_eq!(
            stock,
            vec![(2020, 280.0, 1), (2021, 320.0, 1)],
            "{}",
            db.backend
        );
        let funding: f64 = per_level[0]
            .targets
            .iter()
            .filter(|t| t.indicator == "doctors_added" && t.comparator == "exact")
            .filter_map(|t| t.sum_value)
            .sum();
        let want: f64 = expected(YUNCHENG, "doctors_added")
            .values()
            .filter_map(|(lo, hi, _, _)| (lo == hi).then_some(*lo).flatten())
            .sum();
        assert!(want > 0.0);
        assert!(
            (funding - want).abs() < 1e-6,
            "{}: {funding} vs {want}",
            db.backend
        );
        results.push((db.backend, per_level));
    }
    if let [(_, a), (_, b)] = &results[..] {
        assert_eq!(
            a, b,
            "SQLite and PostgreSQL group the same facts the same way"
        );
    }
}

/// No total adds what must not be added. 临汾's four county centre types each cover all 17 of
/// its counties: it covers 17 counties, not 68. Percentages of two cities (90 % each) are not
/// 180 %: the province total is not combined (`NOT_ADDITIVE`), each city keeps its number.
#[tokio::test]
async fn coverage_and_percentages_are_never_added_up() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    let urls: BTreeMap<RegionCode, String> = fed.node_urls().into_iter().collect();
    in_sync(&client, &hub).await;
    let q = r#"query($ind: [String!]!) { compare(indicators: $ind) {
        indicators { code aggregationOverScopes }
        cities { code cells { indicator year actual actualMin actualMax notCombined largestActual
                 target { comparator value min max terms notCombined largest } } }
        provinceTotals { indicator year actual notCombined largestActual
                 target { comparator value terms notCombined largest } } } }"#;
    let d = data(&client, &hub, q, json!({ "ind": ["counties_covered"] })).await;
    assert_eq!(
        d["compare"]["indicators"][0]["aggregationOverScopes"], "COVERAGE",
        "{d}"
    );
    let linfen = d["compare"]["cities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "141000")
        .unwrap();
    let cell = &linfen["cells"][0];
    assert_eq!(
        (
            &cell["target"]["comparator"],
            &cell["target"]["value"],
            &cell["target"]["terms"]
        ),
        (&json!("EXACT"), &json!(17.0), &json!(4)),
        "four centre types covering the same 17 counties: {cell}"
    );

    // 90 % village clinic coverage reported by each city for 2021.
    for (city, code) in [(YUNCHENG, "140800"), (model::region::LINFEN, "141000")] {
        let editor = token(auth::Role::CityEditor, Some(city));
        data_as(
            &client,
            &urls[&city],
            &editor,
            "mutation($c: ID!) { createActual(input: { indicator: \"village_clinic_standardisation_coverage\", period: \"2021\", scope: { kind: REGION, id: $c }, value: 90 }) { id } }",
            json!({ "c": code }),
        )
        .await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let d = loop {
        let d = data(
            &client,
            &hub,
            q,
            json!({ "ind": ["village_clinic_standardisation_coverage"] }),
        )
        .await;
        let reported = d["compare"]["cities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["year"] == 2021 && x["actual"] == 90.0)
            })
            .count();
        if reported == 2 {
            break d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reports never reached the comparison: {d}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let total = d["compare"]["provinceTotals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["year"] == 2021)
        .unwrap()
        .clone();
    assert_eq!(
        (
            &total["actual"],
            &total["notCombined"],
            &total["largestActual"]
        ),
        (&Value::Null, &json!("NOT_ADDITIVE"), &json!(90.0)),
        "two cities at 90 % are not 180 %: {total}"
    );

    // Drilled down, every row is named (a region scope by the region table) and the rows are
    // subtotalled by kind of scope.
    let d = data(
        &client,
        &hub,
        r#"{ compare(indicators: ["village_clinic_standardisation_coverage", "counties_covered"],
                     cities: ["140800", "141000"], level: INSTITUTION) {
            cities { code breakdown { kind id nameZh }
                     subtotals { kind scopes cells { indicator year actual target { comparator value } }
                                 spans { indicator from to } } } } }"#,
        json!({}),
    )
    .await;
    for city in d["compare"]["cities"].as_array().unwrap() {
        for row in city["breakdown"].as_array().unwrap() {
            assert!(row["nameZh"].is_string(), "a row without a name: {row}");
        }
        let subtotals = city["subtotals"].as_array().unwrap();
        let kinds: Vec<&str> = subtotals
            .iter()
            .map(|t| t["kind"].as_str().unwrap())
            .collect();
        let mut rows: Vec<&str> = city["breakdown"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        rows.dedup();
        let mut expected = rows.clone();
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(kinds, expected, "one subtotal per kind of row: {city}");
        for t in subtotals {
            let n = rows.iter().filter(|k| **k == t["kind"]).count();
            assert!(t["scopes"].as_u64().unwrap() >= 1 && n >= 1, "{t}");
        }
        let region = subtotals
            .iter()
            .find(|t| t["kind"] == "REGION")
            .unwrap_or_else(|| panic!("the city's own report is a REGION row: {city}"));
        let reported = region["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["indicator"] == "village_clinic_standardisation_coverage" && c["year"] == 2021
            })
            .unwrap_or_else(|| panic!("{region}"));
        assert_eq!(reported["actual"], 90.0, "{region}");
        let own = city["breakdown"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "REGION")
            .unwrap();
        let name = if city["code"] == "140800" {
            "运城市"
        } else {
            "临汾市"
        };
        assert_eq!(own["nameZh"], name, "{own}");
    }
    fed.stop().await;
}

/// 神经外科's funding, "700 300" under three year columns: stored as 1000 over 2020..2022 with
/// its readings, it makes every year's total a range (never an exact sum that hides it), is
/// counted and explained in every cell it may fall in (with its quote), and keeps its own
/// row's readings; cells without ambiguous targets say so.
#[tokio::test]
async fn an_amount_whose_years_are_open_is_a_range_in_each_year_with_its_caveat() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    in_sync(&client, &hub).await;
    let q = r#"query { compare(indicators: ["funding", "doctors_added"], cities: ["140800"],
                              years: { from: 2020, to: 2022 }, level: UNIT) {
        cities { cells { indicator year ambiguousTerms caveats { target openYears note quote document }
                         target { comparator value min max terms } }
                 spans { indicator from to overTime ambiguousTerms target { comparator value min max terms } }
                 breakdown { id cells { indicator year ambiguousTerms target { comparator value min max } }
                             spans { indicator from to target { comparator value min max } } } }
        provinceTotals { indicator year ambiguousTerms target { comparator value min max } }
        provinceSpans { indicator from to ambiguousTerms target { comparator value min max } } } }"#;
    let d = data(&client, &hub, q, json!({})).await;
    let city = &d["compare"]["cities"][0];
    let cell = |cells: &Value, indicator: &str, year: i64| -> Value {
        cells
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["indicator"] == indicator && c["year"] == year)
            .cloned()
            .unwrap_or_else(|| panic!("no {indicator} {year} in {cells}"))
    };
    // The four other units' yearly rows, plus 0–700, 0–700 and 0–300.
    for (year, lo, hi) in [
        (2020, 1927.0, 2627.0),
        (2021, 1730.0, 2430.0),
        (2022, 343.0, 643.0),
    ] {
        let c = cell(&city["cells"], "funding", year);
        assert_eq!(
            (
                &c["target"]["comparator"],
                &c["target"]["min"],
                &c["target"]["max"],
                &c["target"]["terms"]
            ),
            (&json!("RANGE"), &json!(lo), &json!(hi), &json!(5)),
            "{year}: {c}"
        );
        assert_eq!(c["ambiguousTerms"], 1, "{c}");
        let caveat = &c["caveats"][0];
        assert_eq!(caveat["target"], "Target:140800:cn-funding", "{c}");
        assert_eq!(caveat["openYears"], true, "{c}");
        assert_eq!(caveat["quote"], "投入 资金 700 300", "{c}");
        assert!(caveat["note"].as_str().unwrap().contains("700 300"), "{c}");
        let total = cell(&d["compare"]["provinceTotals"], "funding", year);
        assert_eq!(
            (&total["target"]["comparator"], &total["ambiguousTerms"]),
            (&json!("RANGE"), &json!(1)),
            "{total}"
        );
    }
    let unit = d["compare"]["cities"][0]["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "Unit:140800:central-neurosurgery")
        .unwrap()
        .clone();
    let c = cell(&unit["cells"], "funding", 2022);
    assert_eq!(
        (
            &c["target"]["comparator"],
            &c["target"]["min"],
            &c["target"]["max"]
        ),
        (&json!("RANGE"), &json!(0.0), &json!(300.0)),
        "{c}"
    );
    // Over the whole span the amount is certain: 1000 once, not the sum of three ranges
    // (0–700 + 0–700 + 0–300), so the city's total is exact: the other units' 4000 + 1000.
    let span = |spans: &Value, indicator: &str| -> Value {
        spans
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["indicator"] == indicator)
            .cloned()
            .unwrap_or_else(|| panic!("no {indicator} span in {spans}"))
    };
    let unit_span = span(&unit["spans"], "funding");
    assert_eq!(
        (&unit_span["from"], &unit_span["to"], &unit_span["target"]),
        (
            &json!(2020),
            &json!(2022),
            &json!({ "comparator": "EXACT", "value": 1000.0, "min": null, "max": null })
        ),
        "{unit_span}"
    );
    let city_span = span(&city["spans"], "funding");
    assert_eq!(
        (
            &city_span["overTime"],
            &city_span["target"]["comparator"],
            &city_span["target"]["value"],
            &city_span["ambiguousTerms"]
        ),
        (&json!("SUM"), &json!("EXACT"), &json!(5000.0), &json!(1)),
        "{city_span}"
    );
    // The same at level CITY (the README's question).
    let at_city = data(
        &client,
        &hub,
        r#"{ compare(indicators: ["funding"], cities: ["140800"], years: { from: 2020, to: 2022 }) {
            cities { spans { indicator from to overTime ambiguousTerms target { comparator value } } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        at_city["compare"]["cities"][0]["spans"],
        json!([{ "indicator": "funding", "from": 2020, "to": 2022, "overTime": "SUM",
                 "ambiguousTerms": 1, "target": { "comparator": "EXACT", "value": 5000.0 } }]),
        "{at_city}"
    );
    let province_span = span(&d["compare"]["provinceSpans"], "funding");
    assert_eq!(
        (
            &province_span["target"]["value"],
            &province_span["ambiguousTerms"]
        ),
        (&json!(5000.0), &json!(1)),
        "{province_span}"
    );
    for c in city["cells"].as_array().unwrap() {
        if c["indicator"] == "doctors_added" {
            assert_eq!(
                (&c["ambiguousTerms"], &c["caveats"]),
                (&json!(0), &json!([])),
                "{c}"
            );
        }
    }

    let t = data(
        &client,
        &hub,
        r#"{ node(id: "Target:140800:cn-funding") { ... on Target { comparator value ambiguous readings { years { year value } } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        t["node"],
        json!({ "comparator": "EXACT", "value": 1000.0, "ambiguous": true, "readings": [
            { "years": [{ "year": 2020, "value": 700.0 }, { "year": 2021, "value": 300.0 }] },
            { "years": [{ "year": 2020, "value": 700.0 }, { "year": 2022, "value": 300.0 }] },
            { "years": [{ "year": 2021, "value": 700.0 }, { "year": 2022, "value": 300.0 }] },
        ] }),
        "{t}"
    );
    fed.stop().await;
}
