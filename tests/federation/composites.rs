//! Composite indicators and the province's own scope in `compare`, through the hub: each
//! composite's figures equal its operands' at every level (rows, subtotals, cities, the total,
//! the span), the province's programme-wide targets are goals set against the total and never
//! added into it, and bad questions get stable codes.

use federation_tests::{data, graphql, graphql_as, token};
use model::region::YUNCHENG;
use serde_json::{Value, json};

use crate::{
    compare::{bounds, in_sync},
    support::LocalFed,
};

const FIGURES: &str = "indicator actual target { comparator value min max terms unknownTerms }";

fn query() -> String {
    format!(
        r#"query($ind: [String!]!, $cities: [String!], $level: CompareLevel) {{
  compare(indicators: $ind, cities: $cities, years: {{ from: 2018, to: 2025 }}, level: $level) {{
    indicators {{ code formula {{ kind operands expression }} }}
    totalsInclude
    cities {{ code isProvince freshness {{ answeredBy }}
      cells {{ year shareOfTotal {FIGURES} }}
      spans {{ from to years targetPerYear {{ comparator value min max }} {FIGURES} }}
      breakdown {{ id cells {{ year {FIGURES} }} spans {{ {FIGURES} }} }}
      subtotals {{ kind cells {{ year {FIGURES} }} }} }}
    provinceTotals {{ year {FIGURES} }}
    provinceSpans {{ {FIGURES} }}
    provinceGoals {{ year achievementRate {FIGURES} }}
    rankings {{ indicator entries {{ code }} }}
  }} }}"#
    )
}

/// Every list of cells in an answer, each with the name of where it is.
fn cell_lists(cmp: &Value) -> Vec<(String, &Vec<Value>)> {
    let mut out = Vec::new();
    for c in cmp["cities"].as_array().unwrap() {
        let code = c["code"].as_str().unwrap();
        out.push((format!("{code} cells"), c["cells"].as_array().unwrap()));
        out.push((format!("{code} spans"), c["spans"].as_array().unwrap()));
        for b in c["breakdown"].as_array().unwrap() {
            out.push((
                format!("{code} {}", b["id"]),
                b["cells"].as_array().unwrap(),
            ));
            out.push((
                format!("{code} {} spans", b["id"]),
                b["spans"].as_array().unwrap(),
            ));
        }
        for s in c["subtotals"].as_array().unwrap() {
            out.push((
                format!("{code} {}", s["kind"]),
                s["cells"].as_array().unwrap(),
            ));
        }
    }
    out.push(("province".into(), cmp["provinceTotals"].as_array().unwrap()));
    out.push((
        "province spans".into(),
        cmp["provinceSpans"].as_array().unwrap(),
    ));
    out
}

#[tokio::test]
async fn a_composite_equals_its_operands_combined_at_every_level() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    in_sync(&client, &hub).await;

    let ind = ["beds_added_total", "beds_added", "icu_beds_added"];
    let d = data(
        &client,
        &hub,
        &query(),
        json!({ "ind": ind, "level": "UNIT" }),
    )
    .await;
    let cmp = &d["compare"];
    assert_eq!(
        cmp["indicators"][0]["formula"]["expression"],
        "beds_added + icu_beds_added"
    );
    let mut checked = 0;
    for (place, cells) in cell_lists(cmp) {
        let find = |code: &str, year: &Value| {
            cells
                .iter()
                .find(|c| c["indicator"] == code && c.get("year").unwrap_or(&Value::Null) == year)
        };
        for c in cells
            .iter()
            .filter(|c| c["indicator"] == "beds_added_total")
        {
            let year = c.get("year").unwrap_or(&Value::Null);
            let parts: Vec<&Value> = ["beds_added", "icu_beds_added"]
                .iter()
                .filter_map(|p| find(p, year))
                .collect();
            assert!(
                !parts.is_empty(),
                "{place} {year}: a composite without operands"
            );
            let (lo, hi) = parts.iter().fold((Some(0.0), Some(0.0)), |(lo, hi), p| {
                let (l, h) = bounds(&p["target"]);
                (
                    lo.zip(l.or(Some(0.0).filter(|_| p["target"].is_null())))
                        .map(|(a, b)| a + b),
                    hi.zip(h.or(Some(0.0).filter(|_| p["target"].is_null())))
                        .map(|(a, b)| a + b),
                )
            });
            assert_eq!(bounds(&c["target"]), (lo, hi), "{place} {year}: {c}");
            let actual: Option<f64> = parts
                .iter()
                .filter_map(|p| p["actual"].as_f64())
                .reduce(|a, b| a + b);
            assert_eq!(c["actual"].as_f64(), actual, "{place} {year}");
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} composite cells");
    // Checked by hand against 运政发〔2020〕33号 附件2 (增加床位): general beds 50 + 25 + 40 over
    // the units and years, monitored beds 8 + 12: 135 beds over 2020–2022.
    let yc = cmp["cities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "140800")
        .unwrap();
    let span = yc["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["indicator"] == "beds_added_total")
        .unwrap();
    assert_eq!(span["target"]["comparator"], "EXACT", "{span}");
    let seed = seed::for_region(YUNCHENG).unwrap().unwrap();
    let from_seed: f64 = seed
        .targets
        .iter()
        .filter(|t| ["beds_added", "icu_beds_added"].contains(&t.indicator.as_str()))
        .filter_map(|t| t.value.value)
        .sum();
    assert_eq!(span["target"]["value"].as_f64(), Some(from_seed));
    assert_eq!(from_seed, 135.0);
    // Pace: a span added up over time, divided by its years.
    let years = span["years"].as_f64().unwrap();
    assert_eq!(
        span["targetPerYear"]["value"].as_f64(),
        Some(135.0 / years),
        "{span}"
    );
    fed.stop().await;
}

#[tokio::test]
async fn the_province_is_a_scope_whose_programme_wide_targets_are_goals_never_added() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    in_sync(&client, &hub).await;

    let ind = [
        "leading_specialties",
        "city_leading_specialties",
        "academician_workstations",
        "leading_specialties_national_standard_share",
    ];
    let d = data(
        &client,
        &hub,
        &query(),
        json!({ "ind": ind, "cities": ["140000", "140800"] }),
    )
    .await;
    let cmp = &d["compare"];
    assert_eq!(cmp["totalsInclude"], json!(["140000", "140800"]));
    let province = &cmp["cities"][0];
    assert_eq!(province["code"], "140000");
    assert_eq!(province["isProvince"], true);
    assert_eq!(province["freshness"]["answeredBy"], "PROVINCE");
    // Only cities are ranked.
    for r in cmp["rankings"].as_array().unwrap() {
        assert!(
            r["entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["code"] != "140000")
        );
    }
    let goal = |code: &str| {
        cmp["provinceGoals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["indicator"] == code && c["year"] == 2022)
            .unwrap_or_else(|| panic!("no 2022 goal for {code}: {cmp}"))
            .clone()
    };
    // 晋政发〔2018〕16号: 建设10个左右领军临床专科; 建成10个左右院士…工作站.
    assert_eq!(goal("leading_specialties")["target"]["comparator"], "ABOUT");
    assert_eq!(goal("leading_specialties")["target"]["value"], 10.0);
    assert_eq!(goal("academician_workstations")["target"]["value"], 10.0);
    // …力争有5个以上领军临床专科达到国家临床重点专科水准: at least 5 of about 10 = at least 50 %.
    let share = goal("leading_specialties_national_standard_share");
    assert_eq!(share["target"]["comparator"], "AT_LEAST", "{share}");
    assert_eq!(share["target"]["value"], 50.0, "{share}");
    // The goals are never added into the total: 运城's "2 个以上" workstations is the total's
    // target, not ≈10 + 2; and 运城's city-level specialties are not the province's.
    for t in cmp["provinceTotals"].as_array().unwrap() {
        assert_ne!(t["target"]["comparator"], "ABOUT", "a goal was added: {t}");
    }
    let total = |code: &str| {
        cmp["provinceTotals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["indicator"] == code && c["year"] == 2022)
            .cloned()
    };
    // 山医大二院 (a province institution) reported its 2 workstations in 2019: the total counts
    // what the province's institutions report, next to the cities'.
    let reported = cmp["provinceTotals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["indicator"] == "academician_workstations" && c["year"] == 2019)
        .unwrap();
    assert_eq!(reported["actual"], 2.0, "{reported}");
    let ws = total("academician_workstations").unwrap();
    assert_eq!(
        (
            ws["target"]["comparator"].as_str(),
            ws["target"]["value"].as_f64()
        ),
        (Some("AT_LEAST"), Some(2.0)),
        "{ws}"
    );
    assert!(total("leading_specialties").is_none_or(|t| t["target"].is_null()));
    let city = total("city_leading_specialties").unwrap();
    assert_eq!(city["target"]["value"], 4.0);

    // A city's staff may not compare the province's own scope; a county is no scope here.
    let editor = token(auth::Role::CityEditor, Some(YUNCHENG));
    let refused = graphql_as(
        &client,
        &hub,
        Some(&editor),
        &query(),
        json!({ "ind": ["beds_added"], "cities": ["140000"] }),
    )
    .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let county = graphql(
        &client,
        &hub,
        &query(),
        json!({ "ind": ["beds_added"], "cities": ["141002"] }),
    )
    .await;
    assert_eq!(
        county["errors"][0]["extensions"]["violations"][0]["rule"], "NOT_A_CITY",
        "{county}"
    );
    fed.stop().await;
}

#[tokio::test]
async fn questions_that_can_only_answer_nothing_get_stable_codes() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    in_sync(&client, &hub).await;
    let ask = |ind: Value, years: Value| {
        let client = client.clone();
        let hub = hub.clone();
        async move {
            graphql(
                &client,
                &hub,
                "query($ind: [String!]!, $years: YearRange) { compare(indicators: $ind, years: $years) { years } }",
                json!({ "ind": ind, "years": years }),
            )
            .await
        }
    };
    let rule = |body: &Value| body["errors"][0]["extensions"]["violations"][0]["rule"].clone();
    let outside = ask(json!(["beds_added"]), json!({ "from": 1990, "to": 1995 })).await;
    assert_eq!(rule(&outside), "SPAN_OUTSIDE_PROGRAMMES", "{outside}");
    let unknown = ask(json!(["beds_added", "no_such"]), json!(null)).await;
    assert_eq!(rule(&unknown), "UNKNOWN_INDICATOR", "{unknown}");
    assert_eq!(
        unknown["errors"][0]["extensions"]["violations"][0]["field"],
        "indicators[1]"
    );
    // A span inside the programmes answers.
    let inside = ask(
        json!(["beds_added_total"]),
        json!({ "from": 2021, "to": 2021 }),
    )
    .await;
    assert!(inside.get("errors").is_none(), "{inside}");
    assert_eq!(inside["data"]["compare"]["years"], json!([2021]));
    fed.stop().await;
}

#[tokio::test]
async fn a_composite_redefined_in_the_catalogue_is_answered_anew() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    in_sync(&client, &hub).await;
    let q = r#"{ compare(indicators: ["beds_added_total"], cities: ["140800"], years: { from: 2020, to: 2022 }) {
        indicators { formula { expression } } cities { spans { target { value } } } } }"#;
    let span = |d: &Value| d["compare"]["cities"][0]["spans"][0]["target"]["value"].clone();
    let before = data(&client, &hub, q, json!({})).await;
    assert_eq!(span(&before), 135.0);
    // Asked again: the kept answer.
    assert_eq!(span(&data(&client, &hub, q, json!({})).await), 135.0);

    // The province redefines it (general beds less monitored beds: 115 − 20).
    let store = fed.hub_store().await;
    let m = store.indicator("beds_added_total").await.unwrap().unwrap();
    let mut ind = store::writes::indicator_model(&m).unwrap();
    ind.formula = Some(model::Formula::Difference {
        minuend: "beds_added".into(),
        subtrahend: "icu_beds_added".into(),
    });
    store.put_indicator(ind, Some(m.version)).await.unwrap();
    let after = data(&client, &hub, q, json!({})).await;
    assert_eq!(
        after["compare"]["indicators"][0]["formula"]["expression"],
        "beds_added − icu_beds_added"
    );
    assert_eq!(span(&after), 95.0, "{after}");
    fed.stop().await;
}

#[tokio::test]
async fn a_pace_runs_over_the_years_its_targets_take_and_planned_counts_meet_what_was_named() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    in_sync(&client, &hub).await;

    let q = r#"query($ind: [String!]!, $cities: [String!], $from: Int!, $to: Int!) {
  compare(indicators: $ind, cities: $cities, years: { from: $from, to: $to }) {
    cities { code spans { indicator years targetYearsMin targetYearsMax
      target { comparator value min max } targetPerYear { comparator value min max } } }
    named { region indicator targetId scope scopeNameZh period named
      units { id nameZh } target { comparator value } namedRateLow namedRateHigh }
  } }"#;

    // 山西白求恩医院's 60–100 PhDs 「利用3-5年时间」 from 2020: due in 3 to 5 years, so the pace
    // is 60 ÷ 5 to 100 ÷ 3 a year — not the range ÷ the years of the span asked.
    let d = data(
        &client,
        &hub,
        q,
        json!({ "ind": ["phd_recruited"], "cities": ["140000"], "from": 2018, "to": 2025 }),
    )
    .await;
    let phd = &d["compare"]["cities"][0]["spans"][0];
    assert_eq!(
        phd["target"],
        json!({ "comparator": "RANGE", "value": null, "min": 60.0, "max": 100.0 }),
        "{phd}"
    );
    assert_eq!(
        (
            phd["targetYearsMin"].as_i64(),
            phd["targetYearsMax"].as_i64()
        ),
        (Some(3), Some(5)),
        "{phd}"
    );
    let pace = &phd["targetPerYear"];
    assert_eq!(pace["comparator"], "RANGE", "{pace}");
    assert!(
        (pace["min"].as_f64().unwrap() - 12.0).abs() < 1e-9,
        "{pace}"
    );
    assert!(
        (pace["max"].as_f64().unwrap() - 100.0 / 3.0).abs() < 1e-9,
        "{pace}"
    );

    // 临汾's 151 + 20 centres 「通过 3—5 年努力」 are stored over 2020..2025 and due in 3 to 5
    // years; they are a stock (centres meeting the standard), so no pace is made up for them.
    let d = data(
        &client,
        &hub,
        q,
        json!({ "ind": ["primary_care_centres_meeting_standard"], "cities": ["141000"], "from": 2020, "to": 2025 }),
    )
    .await;
    let total = &d["compare"]["cities"][0]["spans"][0];
    assert_eq!(total["target"]["value"], 171.0, "{total}");
    assert_eq!(
        (
            total["targetYearsMin"].as_i64(),
            total["targetYearsMax"].as_i64()
        ),
        (Some(3), Some(5)),
        "{total}"
    );
    assert_eq!(total["targetPerYear"], Value::Null, "{total}");

    // 运城's yearly tables run over the years they name: beds 2020–2022 are 135 over 3 years.
    let d = data(
        &client,
        &hub,
        q,
        json!({ "ind": ["beds_added_total"], "cities": ["140800"], "from": 2018, "to": 2025 }),
    )
    .await;
    let beds = &d["compare"]["cities"][0]["spans"][0];
    assert_eq!(
        (
            beds["targetYearsMin"].as_i64(),
            beds["targetYearsMax"].as_i64()
        ),
        (Some(3), Some(3)),
        "{beds}"
    );
    assert_eq!(beds["targetPerYear"]["value"], 45.0, "{beds}");

    // 136's ≈10 leading specialties against the specialties the province named under 领军临床
    // 专科 (3 at 山医大二院 and 1 at 山西白求恩医院); 运城's 4 city-level ones against its 4.
    let d = data(
        &client,
        &hub,
        q,
        json!({ "ind": ["leading_specialties", "city_leading_specialties", "key_medical_labs"],
                "cities": ["140000", "140800"], "from": 2018, "to": 2025 }),
    )
    .await;
    let named = d["compare"]["named"].as_array().unwrap();
    let find = |indicator: &str| {
        named
            .iter()
            .find(|n| n["indicator"] == indicator)
            .unwrap_or_else(|| panic!("{indicator} in {named:?}"))
    };
    let p136 = find("leading_specialties");
    assert_eq!(p136["region"], "140000");
    assert_eq!(p136["scope"], "Component:140000:p136-lead-specialties");
    assert_eq!(
        p136["target"],
        json!({ "comparator": "ABOUT", "value": 10.0 })
    );
    assert_eq!(p136["named"], 4, "{p136}");
    let ids: Vec<&str> = p136["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"Unit:140000:sxmu2-cardiology")
            && ids.contains(&"Unit:140000:bethune-general-surgery"),
        "{ids:?}"
    );
    assert_eq!(p136["namedRateLow"], 0.4);
    let yc = find("city_leading_specialties");
    assert_eq!(yc["region"], "140800");
    assert_eq!(
        yc["named"], 4,
        "only specialties count, not the key lab under the same component: {yc}"
    );
    assert_eq!(yc["namedRateHigh"], 1.0);
    let labs = find("key_medical_labs");
    assert_eq!(
        labs["named"], 0,
        "no key lab is named under 136's key-lab component: {labs}"
    );
    assert_eq!(labs["namedRateLow"], 0.0);
    assert!(
        named
            .iter()
            .all(|n| n["indicator"] != "academician_workstations"),
        "only the asked indicators"
    );
}
