//! Progress reporting in bulk: a unit's yearly table as CSV, dry run first, then all or
//! nothing; export reads back what import wrote. On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use common::{data, seeded};
use model::region::YUNCHENG;
use serde_json::{Value, json};

const IMPORT: &str = r#"mutation($csv: String!, $dry: Boolean) {
  importUnitActuals(unitId: "Unit:140800:central-cardiology", csv: $csv, dryRun: $dry) {
    dryRun committed written rows { line indicator year value action } problems { line column rule message } } }"#;

const EXPORT: &str =
    r#"{ unit(id: "Unit:140800:central-cardiology") { ... on Unit { actualsCsv } } }"#;

const BAD: &str = "indicator,name_zh,unit,2020,2021,2022,2030\n\
beds_added,新增床位,张,50,-3,12.5,4\n\
新增医师,,人,2,,,\n\
funding,,万元,abc,300,,\n\
unknown_thing,,,1,,,\n";

const GOOD: &str = "指标代码,指标名称,单位,2020,2021,2022\n\
beds_added,,张,50,,20\n\
funding,,万元,\"1,200\",300,\n";

fn rules(report: &Value) -> Vec<(i64, String, String)> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_i64().unwrap(),
                p["column"].as_str().unwrap().to_owned(),
                p["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_yearly_table_is_checked_row_by_row_and_lands_whole_or_not_at_all() {
    for s in seeded(YUNCHENG, "import_csv").await {
        let before = s.store.last_seq().await.unwrap();

        // Dry run of a bad table: every problem, with line and column; nothing written.
        let d = data(&s.schema, IMPORT, json!({ "csv": BAD })).await;
        let r = &d["importUnitActuals"];
        assert_eq!(
            (r["dryRun"].as_bool(), r["committed"].as_bool()),
            (Some(true), Some(false))
        );
        let got = rules(r);
        for want in [
            (2, "2021", "NEGATIVE"),
            (2, "2022", "NOT_AN_INTEGER"),
            (2, "2030", "OUT_OF_PERIOD"),
            (3, "unit", "UNIT_MISMATCH"),
            (4, "2020", "NOT_A_NUMBER"),
            (5, "indicator", "UNKNOWN_INDICATOR"),
        ] {
            assert!(
                got.iter()
                    .any(|(l, c, r)| (*l, c.as_str(), r.as_str()) == want),
                "{}: missing {want:?} in {got:?}",
                s.backend
            );
        }
        assert_eq!(
            s.store.last_seq().await.unwrap(),
            before,
            "a dry run writes nothing"
        );

        // The same table for real: refused whole.
        let d = data(&s.schema, IMPORT, json!({ "csv": BAD, "dry": false })).await;
        let r = &d["importUnitActuals"];
        assert_eq!(
            (r["committed"].as_bool(), r["written"].as_i64()),
            (Some(false), Some(0))
        );
        assert_eq!(
            s.store.last_seq().await.unwrap(),
            before,
            "{}: a refused import writes nothing",
            s.backend
        );

        // A good table: dry run says what would happen, then it lands.
        let d = data(&s.schema, IMPORT, json!({ "csv": GOOD })).await;
        let r = &d["importUnitActuals"];
        assert!(r["problems"].as_array().unwrap().is_empty(), "{r}");
        assert_eq!(r["rows"].as_array().unwrap().len(), 4);
        assert!(
            r["rows"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["action"] == "CREATE")
        );
        let d = data(&s.schema, IMPORT, json!({ "csv": GOOD, "dry": false })).await;
        let r = &d["importUnitActuals"];
        assert_eq!(
            (r["committed"].as_bool(), r["written"].as_i64()),
            (Some(true), Some(4))
        );
        assert_eq!(
            s.store.last_seq().await.unwrap(),
            before + 4,
            "one change per value"
        );

        // Export reads it back in the same shape.
        let d = data(&s.schema, EXPORT, json!({})).await;
        let csv = d["unit"]["actualsCsv"].as_str().unwrap();
        assert_eq!(
            csv,
            "indicator,name_zh,unit,2020,2021,2022\nbeds_added,新增床位,张,50,,20\nfunding,投入资金,万元,1200,300,\n",
            "{}",
            s.backend
        );

        // Importing the export again changes nothing; one new value updates one actual.
        let d = data(&s.schema, IMPORT, json!({ "csv": csv, "dry": false })).await;
        let r = &d["importUnitActuals"];
        assert_eq!(r["written"].as_i64(), Some(0));
        assert!(
            r["rows"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["action"] == "UNCHANGED")
        );
        let changed = csv.replace("50,,20", "55,,20");
        let d = data(&s.schema, IMPORT, json!({ "csv": changed, "dry": false })).await;
        let r = &d["importUnitActuals"];
        assert_eq!(r["written"].as_i64(), Some(1));
        let actions: Vec<&str> = r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.iter().filter(|a| **a == "UPDATE").count(), 1);
        let audit = data(
            &s.schema,
            r#"{ auditTrail(entity: "actual", first: 200) { op version actor before after } }"#,
            json!({}),
        )
        .await;
        let last = audit["auditTrail"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["version"], 2);
        assert!(
            last["before"].as_str().unwrap().contains("\"value\":50.0"),
            "{last}"
        );
        assert!(
            last["after"].as_str().unwrap().contains("\"value\":55.0"),
            "{last}"
        );
    }
}
