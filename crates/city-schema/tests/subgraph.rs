//! The programme subgraph executed directly (no HTTP), over seeded databases on both backends.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use common::{all_nodes, data, run, seeded};
use model::region::{LINFEN, SHANXI, YUNCHENG};
use serde_json::{Value, json};

const UNIT_PLAN: &str = r#"query($after: String) { planItems(first: 25, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id text year period category ambiguous } } }"#;

#[tokio::test]
async fn yuncheng_programme_takes_up_136_with_its_units_and_yearly_plan() {
    let seed = seed::for_region(YUNCHENG).unwrap().unwrap();
    for s in seeded(YUNCHENG, "yc_programme").await {
        let d = data(&s.schema, r#"{ owner { code nameZh } programmes { totalCount nodes {
            id nameZh docNumber period startYear endYear relation parentId
            source { quote document { docNumber issuedOn } }
            components { kind nameZh }
            units(first: 50) { totalCount nodes { id nameZh kind targetYear institution { nameZh region { code } }
                planItems(first: 100) { totalCount } } } } } }"#, json!({})).await;
        assert_eq!(d["owner"]["code"], "140800", "{}", s.backend);
        let p = &d["programmes"]["nodes"][0];
        assert_eq!(d["programmes"]["totalCount"], 1);
        assert_eq!(p["id"], "Programme:140800:yc-lead-specialties");
        assert_eq!(p["relation"], "IMPLEMENTS");
        assert_eq!(p["parentId"], "Programme:140000:p136");
        assert_eq!(
            (p["startYear"].as_i64(), p["endYear"].as_i64()),
            (Some(2020), Some(2022))
        );
        assert_eq!(p["source"]["document"]["docNumber"], "运政发〔2020〕33号");
        assert_eq!(
            p["components"].as_array().unwrap().len(),
            3,
            "three strategies"
        );

        let units = p["units"]["nodes"].as_array().unwrap();
        let mut names: Vec<&str> = units
            .iter()
            .map(|u| u["nameZh"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(units.len(), 5, "4 specialties and 1 key lab");
        assert!(
            names.iter().any(|n| n.contains("心血管内科"))
                && names.iter().any(|n| n.contains("神经外科"))
        );
        assert!(
            names.iter().any(|n| n.contains("皮肤")) && names.iter().any(|n| n.contains("遗传"))
        );
        assert!(names.iter().any(|n| n.contains("传染病")));
        let per_unit: i64 = units
            .iter()
            .map(|u| u["planItems"]["totalCount"].as_i64().unwrap())
            .sum();
        assert_eq!(
            per_unit as usize,
            seed.plan_items.len(),
            "every plan item hangs off a unit"
        );
        for u in units {
            assert_eq!(u["institution"]["region"]["code"], "140800");
            assert_eq!(u["targetYear"], 2022);
        }

        let items = all_nodes(&s.schema, UNIT_PLAN, &["planItems"]).await;
        assert_eq!(
            items.len(),
            seed.plan_items.len(),
            "{}: paging returns every item once",
            s.backend
        );
        let mut ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        ids.dedup();
        assert_eq!(ids.len(), items.len());
    }
}

#[tokio::test]
async fn the_neurosurgery_funding_row_is_stored_with_its_readings_not_guessed() {
    for s in seeded(YUNCHENG, "yc_ambiguous").await {
        let d = data(&s.schema, r#"{ planItems(filter: {ambiguous: true, category: FUNDING}) { nodes { text period year note unit { nameZh } } }
            targets(filter: {indicator: "funding", scope: {kind: UNIT, id: "Unit:140800:central-neurosurgery"}}) {
              nodes { comparator value min max ambiguous note period readings { years { year value } } } } }"#, json!({})).await;
        let item = &d["planItems"]["nodes"][0];
        assert_eq!(item["text"], "700 300", "{}", s.backend);
        assert_eq!(item["period"], "2020..2022");
        assert_eq!(item["year"], Value::Null);
        assert!(
            item["note"].as_str().unwrap().contains("three"),
            "the note explains the ambiguity"
        );
        let t = &d["targets"]["nodes"].as_array().unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(
            (
                t[0]["comparator"].as_str(),
                t[0]["value"].as_f64(),
                t[0]["ambiguous"].as_bool()
            ),
            (Some("EXACT"), Some(1000.0), Some(true)),
            "{}: the total of \"700 300\" is certain, its years are not",
            s.backend
        );
        let readings = t[0]["readings"].as_array().unwrap();
        assert_eq!(readings.len(), 3, "{}", s.backend);
        for r in readings {
            let years: Vec<f64> = r["years"]
                .as_array()
                .unwrap()
                .iter()
                .map(|y| y["value"].as_f64().unwrap())
                .collect();
            assert_eq!(years, [700.0, 300.0], "the two amounts in their order: {r}");
        }
    }
}

#[tokio::test]
async fn province_subgraph_serves_136_with_its_structure_and_2022_targets() {
    for s in seeded(SHANXI, "province").await {
        let d = data(&s.schema, r#"{ programme(id: "Programme:140000:p136") {
            nameZh docNumber relation
            components { kind children { kind nameZh } }
            units { nodes { nameZh institution { nameZh aliases } } } }
            targets(filter: {year: 2022}, first: 100) { nodes { indicatorCode comparator value min max qualifier source { quote } } } }"#, json!({})).await;
        let p = &d["programme"];
        assert_eq!(p["docNumber"], "晋政发〔2018〕16号", "{}", s.backend);
        assert_eq!(p["relation"], Value::Null);
        let children = p["components"][0]["children"].as_array().unwrap();
        let kinds = |k: &str| children.iter().filter(|c| c["kind"] == k).count();
        assert_eq!(
            (kinds("PILLAR"), kinds("BASE_PROJECT")),
            (3, 6),
            "1 + 3 + 6"
        );
        let targets = d["targets"]["nodes"].as_array().unwrap();
        assert!(
            targets
                .iter()
                .any(|t| t["comparator"] == "AT_LEAST" && t["value"] == 5.0),
            "5个以上 kept as at least 5"
        );
        assert!(
            targets
                .iter()
                .any(|t| t["comparator"] == "RANGE" && t["min"] == 1.0 && t["max"] == 2.0),
            "1-2 kept as a range"
        );
        assert!(
            targets
                .iter()
                .all(|t| !t["source"]["quote"].as_str().unwrap().is_empty())
        );
        let units = p["units"]["nodes"].as_array().unwrap();
        let sxmu = units
            .iter()
            .filter(|u| {
                u["institution"]["aliases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a == "山医大二院")
            })
            .count();
        assert_eq!(sxmu, 3, "山医大二院's three 136 specialties");

        let d = data(&s.schema, r#"{ actuals(filter: {indicator: "outpatient_visits_yoy_growth"}) { nodes { value period scope { kind id } } } }"#, json!({})).await;
        let a = &d["actuals"]["nodes"][0];
        assert_eq!(
            (a["value"].as_f64(), a["period"].as_str()),
            (Some(13.36), Some("2019-01..2019-10")),
            "{}",
            s.backend
        );
        assert_eq!(a["scope"]["kind"], "INSTITUTION");
    }
}

#[tokio::test]
async fn a_refused_mutation_names_the_field_and_writes_nothing() {
    for s in seeded(YUNCHENG, "yc_refused").await {
        let before = data(
            &s.schema,
            "{ planItems { totalCount } targets { totalCount } units { totalCount } }",
            json!({}),
        )
        .await;
        let cases = [
            (
                r#"mutation { createPlanItem(input: {unitId: "Unit:140800:central-cardiology", period: "2025", category: BEDS, text: "x"}) { id } }"#,
                "period",
                "OUT_OF_PERIOD",
            ),
            (
                r#"mutation { createPlanItem(input: {unitId: "Unit:140800:central-cardiology", period: "20x5", category: BEDS, text: "x"}) { id } }"#,
                "period",
                "BAD_PERIOD",
            ),
            (
                r#"mutation { createPlanItem(input: {unitId: "Unit:140800:central-cardiology", period: "2021", category: BEDS, text: "  "}) { id } }"#,
                "text",
                "REQUIRED",
            ),
            (
                r#"mutation { createTarget(input: {indicator: "beds_added", scope: {kind: UNIT, id: "Unit:140800:central-cardiology"}, period: "2021", comparator: EXACT, value: -3}) { id } }"#,
                "value.value",
                "NEGATIVE",
            ),
            (
                r#"mutation { createTarget(input: {indicator: "beds_added", unit: "万元", scope: {kind: UNIT, id: "Unit:140800:central-cardiology"}, period: "2021", comparator: EXACT, value: 3}) { id } }"#,
                "unit",
                "UNIT_MISMATCH",
            ),
            (
                r#"mutation { createTarget(input: {indicator: "beds_added", scope: {kind: UNIT, id: "Unit:140800:central-cardiology"}, period: "2021", comparator: RANGE, min: 5, max: 2}) { id } }"#,
                "value.max",
                "RANGE_INVERTED",
            ),
            (
                r#"mutation { createTarget(input: {indicator: "funding", scope: {kind: UNIT, id: "Unit:140800:central-cardiology"}, period: "2020..2022", comparator: EXACT, value: 1000, ambiguous: true, note: "years open", readings: [{years: [{year: 2020, value: 700}, {year: 2021, value: 200}]}, {years: [{year: 2021, value: 1000}]}]}) { id } }"#,
                "readings[0]",
                "READING_TOTAL",
            ),
            (
                r#"mutation { createTarget(input: {indicator: "funding", scope: {kind: UNIT, id: "Unit:140800:central-cardiology"}, period: "2020..2022", comparator: AT_LEAST, value: 1000, ambiguous: true, note: "years open", readings: [{years: [{year: 2020, value: 1000}]}, {years: [{year: 2021, value: 1000}]}]}) { id } }"#,
                "readings",
                "READINGS_NEED_TOTAL",
            ),
            (
                r#"mutation { createActual(input: {indicator: "doctors_added", scope: {kind: UNIT, id: "Unit:140800:central-cardiology"}, period: "2021", value: 2.5}) { id } }"#,
                "value",
                "NOT_AN_INTEGER",
            ),
            (
                r#"mutation { createTarget(input: {indicator: "beds_added", scope: {kind: REGION, id: "141000"}, period: "2021", comparator: EXACT, value: 3}) { id } }"#,
                "scope.id",
                "WRONG_OWNER",
            ),
            (
                r#"mutation { createUnit(input: {programmeId: "Programme:141000:lf-tzqy", kind: SPECIALTY, nameZh: "x", nameEn: "x"}) { id } }"#,
                "programmeId",
                "WRONG_OWNER",
            ),
            (
                r#"mutation { createUnit(input: {programmeId: "Programme:140800:nope", kind: SPECIALTY, nameZh: "x", nameEn: "x"}) { id } }"#,
                "programme",
                "UNKNOWN_REFERENCE",
            ),
            (
                r#"mutation { createUnit(input: {programmeId: "Programme:140800:yc-lead-specialties", kind: SPECIALTY, nameZh: "x", nameEn: "x", targetLevel: "国家级", targetYear: 2021, milestones: [{year: 2020, level: "市级"}, {year: 2021, level: "省级"}]}) { id } }"#,
                "milestones[1].year",
                "MILESTONE_AFTER_TARGET",
            ),
            (
                r#"mutation { createUnit(input: {programmeId: "Programme:140800:yc-lead-specialties", kind: SPECIALTY, nameZh: "x", nameEn: "x", milestones: [{year: 2021, level: "省级"}, {year: 2020, level: "市级"}]}) { id } }"#,
                "milestones[1].year",
                "MILESTONES_NOT_IN_ORDER",
            ),
            (
                r#"mutation { deleteUnit(id: "Unit:140800:central-cardiology") { id } }"#,
                "id",
                "HAS_DEPENDENTS",
            ),
            (
                r#"mutation { createUnit(input: {programmeId: "not an id", kind: SPECIALTY, nameZh: "x", nameEn: "x"}) { id } }"#,
                "programmeId",
                "BAD_ID",
            ),
        ];
        for (q, field, rule) in cases {
            let resp = run(&s.schema, q, json!({})).await;
            let err = &resp["errors"][0];
            assert_eq!(
                err["extensions"]["code"], "VALIDATION_FAILED",
                "{}: {q}\n{resp:#}",
                s.backend
            );
            assert_eq!(err["extensions"]["field"], field, "{q}\n{resp:#}");
            assert_eq!(
                err["extensions"]["violations"][0]["rule"], rule,
                "{q}\n{resp:#}"
            );
        }
        let after = data(
            &s.schema,
            "{ planItems { totalCount } targets { totalCount } units { totalCount } }",
            json!({}),
        )
        .await;
        assert_eq!(before, after, "{}: nothing was written", s.backend);
    }
}

#[tokio::test]
async fn staff_record_and_correct_an_actual() {
    for s in seeded(YUNCHENG, "yc_actual").await {
        let created = data(&s.schema, r#"mutation { createActual(input: {indicator: "beds_added", unit: "张",
            scope: {kind: UNIT, id: "Unit:140800:central-cardiology"}, period: "2021", value: 8, note: "填报"}) { id value version period } }"#, json!({})).await;
        let id = created["createActual"]["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("Actual:140800:"), "{}: {id}", s.backend);
        assert_eq!(created["createActual"]["version"], 1);

        let q = r#"mutation($id: ID!, $v: Int) { updateActual(id: $id, expectedVersion: $v, input: {indicator: "beds_added",
            scope: {kind: UNIT, id: "Unit:140800:central-cardiology"}, period: "2021", value: 9}) { value version } }"#;
        let updated = data(&s.schema, q, json!({"id": id, "v": 1})).await;
        assert_eq!(
            (
                updated["updateActual"]["value"].as_f64(),
                updated["updateActual"]["version"].as_i64()
            ),
            (Some(9.0), Some(2))
        );
        let stale = run(&s.schema, q, json!({"id": id, "v": 1})).await;
        assert_eq!(stale["errors"][0]["extensions"]["code"], "STALE_VERSION");
        assert_eq!(stale["errors"][0]["extensions"]["currentVersion"], 2);

        let d = data(&s.schema, r#"query($id: ID!) { node(id: $id) { __typename ... on Actual { value scope { kind id } } } }"#, json!({"id": id})).await;
        assert_eq!(d["node"]["__typename"], "Actual");
        assert_eq!(d["node"]["value"], 9.0);

        let d = data(
            &s.schema,
            r#"query($id: ID!) { deleteActual(id: $id) { id version } }"#
                .replace("query", "mutation")
                .as_str(),
            json!({"id": id}),
        )
        .await;
        assert_eq!(d["deleteActual"]["version"], 2);
        let d = data(
            &s.schema,
            r#"query($id: ID!) { node(id: $id) { id } }"#,
            json!({"id": id}),
        )
        .await;
        assert_eq!(d["node"], Value::Null);
    }
}

#[tokio::test]
async fn federation_entities_resolve_and_foreign_ids_do_not() {
    for s in seeded(LINFEN, "lf_entities").await {
        let d = data(&s.schema, r#"{ units { nodes { id } } }"#, json!({})).await;
        let unit_id = d["units"]["nodes"][0]["id"].as_str().unwrap().to_owned();
        let q = r#"query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Unit { id nameZh } ... on Programme { id nameZh } } }"#;
        let reps = json!([
            {"__typename": "Unit", "id": unit_id},
            {"__typename": "Programme", "id": "Programme:141000:lf-tzqy"},
            {"__typename": "Programme", "id": "Programme:140800:yc-lead-specialties"}
        ]);
        let d = data(&s.schema, q, json!({"r": reps})).await;
        let e = d["_entities"].as_array().unwrap();
        assert_eq!(e[0]["id"], unit_id.as_str(), "{}", s.backend);
        assert_eq!(e[1]["nameZh"], "临汾市提质强医工程实施方案");
        assert_eq!(
            e[2],
            Value::Null,
            "an id owned by 运城 is not resolved by 临汾"
        );

        let sdl = data(&s.schema, "{ _service { sdl } }", json!({})).await;
        assert_eq!(sdl["_service"]["sdl"].as_str().unwrap(), city_schema::sdl());

        let resp = run(
            &s.schema,
            r#"{ node(id: "Unit:14080:x") { id } }"#,
            json!({}),
        )
        .await;
        assert_eq!(resp["errors"][0]["extensions"]["code"], "VALIDATION_FAILED");
    }
}

#[tokio::test]
async fn linfen_county_targets_keep_their_ranges() {
    for s in seeded(LINFEN, "lf_counties").await {
        let d = data(&s.schema, r#"{ targets(first: 200) { nodes { scope { kind id } comparator min max indicatorCode } } }"#, json!({})).await;
        let county: Vec<&Value> = d["targets"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["scope"]["kind"] == "REGION" && t["comparator"] == "RANGE")
            .collect();
        assert_eq!(county.len(), 17, "{}: one bed range per county", s.backend);
        let yonghe = county
            .iter()
            .find(|t| t["scope"]["id"] == "141032")
            .unwrap();
        assert_eq!(
            (yonghe["min"].as_f64(), yonghe["max"].as_f64()),
            (Some(10.0), Some(15.0)),
            "永和县 10—15"
        );
        let yaodu = county
            .iter()
            .find(|t| t["scope"]["id"] == "141002")
            .unwrap();
        assert_eq!(
            (yaodu["min"].as_f64(), yaodu["max"].as_f64()),
            (Some(30.0), Some(50.0)),
            "尧都区 30—50"
        );
    }
}
