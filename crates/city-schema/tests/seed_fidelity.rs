//! Seed fidelity: totals recomputed independently from the documents' own text are compared
//! with what the API returns. The documents are parsed here (not the seed files), so a
//! transcription slip in the seed shows up as a difference.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::collections::BTreeMap;

use common::{data, seeded};
use model::region::{LINFEN, SHANXI, YUNCHENG};
use serde_json::{Value, json};

fn doc(prefix: &str) -> &'static str {
    let (_, text) = seed::SOURCES
        .iter()
        .find(|(f, _)| f.starts_with(prefix))
        .expect("embedded source");
    text
}

fn numbers(s: &str) -> Vec<f64> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (c == '.' && !cur.is_empty()) {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(cur.trim_end_matches('.').parse().unwrap());
            cur.clear();
        }
    }
    out
}

/// The funding rows of 运城's task tables, in document order: the numbers after each
/// 投入资金 / 总投资 label.
fn yuncheng_funding_rows() -> Vec<Vec<f64>> {
    let tokens: Vec<&str> = doc("000").split_whitespace().collect();
    let mut rows = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if *t == "资金" || *t == "总投资" {
            let row: Vec<f64> = tokens[i + 1..]
                .iter()
                .map_while(|x| x.parse::<f64>().ok())
                .collect();
            if !row.is_empty() {
                rows.push(row);
            }
        }
    }
    rows
}

/// Sum of N in every `<label>N名` of 运城's annex (whitespace removed).
fn yuncheng_people(label: &str) -> f64 {
    let text: String = doc("000").chars().filter(|c| !c.is_whitespace()).collect();
    let annex = &text[text
        .find("附件2运城市领军重点专科建设计划")
        .expect("annex 2")..];
    annex
        .match_indices(label)
        .filter_map(|(i, _)| {
            let rest = &annex[i + label.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (rest[digits.len()..].starts_with('名') && !digits.is_empty())
                .then(|| digits.parse::<f64>().unwrap())
        })
        .sum()
}

async fn targets(schema: &city_schema::CitySchema, indicator: &str) -> Vec<Value> {
    let d = data(
        schema,
        r#"query($i: String) { targets(filter: {indicator: $i}, first: 200) { nodes { scope { id } period comparator value min max ambiguous } } }"#,
        json!({ "i": indicator }),
    )
    .await;
    d["targets"]["nodes"].as_array().unwrap().clone()
}

#[tokio::test]
async fn yuncheng_funding_matches_the_documents_funding_rows() {
    let rows = yuncheng_funding_rows();
    assert_eq!(
        rows.len(),
        5,
        "five task tables, one funding row each: {rows:?}"
    );
    let units = [
        "central-cardiology",
        "central-neurosurgery",
        "tcm-dermatology",
        "mch-genetics",
        "second-infectious-lab",
    ];
    for s in seeded(YUNCHENG, "fidelity_funding").await {
        let all = targets(&s.schema, "funding").await;
        let mut known_total = 0.0;
        for (unit, row) in units.iter().zip(&rows) {
            let scope = format!("Unit:140800:{unit}");
            let mine: BTreeMap<String, &Value> = all
                .iter()
                .filter(|t| t["scope"]["id"] == scope.as_str())
                .map(|t| (t["period"].as_str().unwrap().to_owned(), t))
                .collect();
            if row.len() == 3 {
                for (year, expected) in ["2020", "2021", "2022"].iter().zip(row) {
                    let t = mine
                        .get(*year)
                        .unwrap_or_else(|| panic!("{}: {unit} has no {year} funding", s.backend));
                    assert_eq!(
                        t["value"].as_f64(),
                        Some(*expected),
                        "{}: {unit} {year}",
                        s.backend
                    );
                    known_total += expected;
                }
            } else {
                // Two numbers under three year columns: their total over the period is
                // certain, their years are not — stored as the total with every reading that
                // keeps the two numbers in order, never split by guess.
                assert_eq!(row, &vec![700.0, 300.0]);
                assert_eq!(mine.len(), 1, "{unit}: one ambiguous funding target");
                let t = mine.values().next().unwrap();
                assert_eq!(
                    (
                        t["comparator"].as_str(),
                        t["value"].as_f64(),
                        t["ambiguous"].as_bool(),
                        t["period"].as_str()
                    ),
                    (
                        Some("EXACT"),
                        Some(700.0 + 300.0),
                        Some(true),
                        Some("2020..2022")
                    )
                );
                known_total += 700.0 + 300.0;
            }
        }
        let api_total: f64 = all.iter().filter_map(|t| t["value"].as_f64()).sum();
        assert_eq!(
            api_total, known_total,
            "{}: the API's funding total equals the document's rows",
            s.backend
        );
        assert_eq!(known_total, 5000.0);
    }
}

#[tokio::test]
async fn yuncheng_doctors_and_nurses_match_the_documents_talent_rows() {
    let doctors = yuncheng_people("增加医师");
    let nurses = yuncheng_people("增加护士");
    assert_eq!(
        (doctors, nurses),
        (60.0, 146.0),
        "recomputed from the document"
    );
    for s in seeded(YUNCHENG, "fidelity_people").await {
        for (indicator, expected) in [("doctors_added", doctors), ("nurses_added", nurses)] {
            let sum: f64 = targets(&s.schema, indicator)
                .await
                .iter()
                .filter_map(|t| t["value"].as_f64())
                .sum();
            assert_eq!(sum, expected, "{}: {indicator}", s.backend);
        }
    }
}

#[tokio::test]
async fn bethune_five_year_indicator_table_is_complete() {
    let text = doc("004");
    let table = &text[text.find("主要指标如下图见下表").unwrap()..text.find("注:本科生").unwrap()];
    let rows: Vec<Vec<f64>> = table
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("项  目") && !l.contains("主要指标"))
        .map(numbers)
        .filter(|n| !n.is_empty())
        .collect();
    assert_eq!(rows.len(), 14, "{rows:?}");
    for s in seeded(SHANXI, "fidelity_bethune").await {
        let d = data(
            &s.schema,
            r#"{ targets(filter: { table: "rmc-2020-2024-main-indicators" }, first: 100) {
                   nodes { tableRow period value min max } } }"#,
            json!({}),
        )
        .await;
        // The published table, asked for as that table: its 14 rows, in the document's order.
        let mut nodes = d["targets"]["nodes"].as_array().unwrap().clone();
        nodes.sort_by_key(|t| t["tableRow"].as_i64());
        let rows_of: Vec<i64> = nodes
            .iter()
            .filter_map(|t| t["tableRow"].as_i64())
            .collect();
        assert_eq!(rows_of, (1..=14).collect::<Vec<i64>>(), "{}", s.backend);
        let got: Vec<Vec<f64>> = nodes
            .iter()
            .map(|t| {
                ["value", "min", "max"]
                    .iter()
                    .filter_map(|k| t[*k].as_f64())
                    .collect()
            })
            .collect();
        assert_eq!(
            got, rows,
            "{}: the table as the document prints it",
            s.backend
        );
    }
}

#[tokio::test]
async fn the_136_size_targets_are_kept_as_about_values() {
    let text: String = doc("001").chars().filter(|c| !c.is_whitespace()).collect();
    let mut expected = Vec::new();
    for phrase in [
        "建设10个左右领军临床专科",
        "建设15个左右省级重点医学实验室",
        "建成10个左右院士",
        "20个左右跨省协作学科联盟",
        "引进15名左右国际",
    ] {
        assert!(text.contains(phrase), "{phrase}");
        expected.push(numbers(phrase)[0]);
    }
    for s in seeded(SHANXI, "fidelity_136").await {
        let d = data(
            &s.schema,
            r#"{ targets(first: 200) { nodes { comparator value qualifier } } }"#,
            json!({}),
        )
        .await;
        let about: Vec<f64> = d["targets"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["comparator"] == "ABOUT")
            .filter_map(|t| t["value"].as_f64())
            .collect();
        for v in &expected {
            let need = expected.iter().filter(|x| *x == v).count();
            assert!(
                about.iter().filter(|x| *x == v).count() >= need,
                "{}: about {v} ×{need} in {about:?}",
                s.backend
            );
        }
    }
}

#[tokio::test]
async fn linfen_county_bed_ranges_match_the_documents_groups() {
    let text: String = doc("003").chars().filter(|c| !c.is_whitespace()).collect();
    let start = text.find("分别设置").unwrap();
    let clause = &text[start..start + text[start..].find("床位").unwrap()];
    // e.g. 10—15张(永和县、大宁县…)、20—30张(曲沃县…)、30—50张(洪洞县…)
    let mut expected = BTreeMap::new();
    for group in clause.split(')') {
        let Some((range, counties)) = group.split_once('(') else {
            continue;
        };
        let n = numbers(range);
        for name in counties.split('、') {
            let region = model::region::region_by_name(name)
                .unwrap_or_else(|| panic!("unknown county {name}"));
            expected.insert(region.code.to_string(), (n[n.len() - 2], n[n.len() - 1]));
        }
    }
    assert_eq!(expected.len(), 17, "{expected:?}");
    for s in seeded(LINFEN, "fidelity_counties").await {
        let d = data(
            &s.schema,
            r#"{ targets(first: 200) { nodes { scope { kind id } min max } } }"#,
            json!({}),
        )
        .await;
        let got: BTreeMap<String, (f64, f64)> = d["targets"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["scope"]["kind"] == "REGION" && t["min"].is_number())
            .map(|t| {
                (
                    t["scope"]["id"].as_str().unwrap().to_owned(),
                    (t["min"].as_f64().unwrap(), t["max"].as_f64().unwrap()),
                )
            })
            .collect();
        assert_eq!(got, expected, "{}", s.backend);
    }
}

#[test]
fn embedded_sources_are_the_shared_seed_documents() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds");
    if !dir.exists() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have ../shared/seeds beside the checkout"
        );
        eprintln!(
            "../shared/seeds not found: cannot compare the embedded copies (outside CI only)"
        );
        return;
    }
    for (file, text) in seed::SOURCES {
        let original = std::fs::read_to_string(dir.join(file)).unwrap();
        assert_eq!(&original, text, "{file} differs from ../shared/seeds");
    }
}
