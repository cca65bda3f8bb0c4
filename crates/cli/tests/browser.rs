//! The dashboard and GraphiQL in a real browser (Debian's Chromium, headless, driven by
//! `tests/browser/drive.mjs` with playwright-core) against a real `xingyi local`, opened by the
//! link `xingyi local` prints. What the pages show is compared with what the hub's API
//! answers to the same operations; the pages may make no request outside their origin and
//! log no error; the exported workbook is read back (calamine) to the hub's numbers.
//!
//! Needs Node.js, `npm ci --prefix tests/browser` and Chromium (`apt-get install chromium`);
//! `.ci/run` installs them. `XINGYI_TEST_BROWSER=off` skips the browser test and says so.
//! `XINGYI_TEST_SCREENSHOTS=docs` writes the screenshots into `docs/` (the README shows them).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::{
    collections::BTreeMap,
    io::BufRead,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use common::{Server, free_port, local, wait_up};
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn operation(name: &str) -> &'static str {
    web::OPERATIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d)
        .unwrap_or_else(|| panic!("no operation {name}"))
}

/// A started `xingyi local`, its hub's base URL and the viewer token of the printed link.
struct Local {
    _server: Server,
    dir: tempfile::TempDir,
    base: String,
    token: String,
}

async fn start() -> Local {
    let dir = tempfile::tempdir().unwrap();
    let (hub, yc, lf) = (free_port(), free_port(), free_port());
    let mut child = local(dir.path(), (hub, yc, lf))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let link = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("`xingyi local` printed no dashboard link");
        if let Some((_, url)) = line.split_once("dashboard (") {
            break url.split_whitespace().last().unwrap().to_owned();
        }
    };
    let (page, token) = link.split_once("#token=").unwrap();
    assert_eq!(page, format!("http://127.0.0.1:{hub}/dashboard"));
    wait_up(&reqwest::Client::new(), &[hub, yc, lf]).await;
    // Both cities replicated before the dashboard reads them.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Local {
        _server: server,
        dir,
        base: format!("http://127.0.0.1:{hub}"),
        token: token.to_owned(),
    }
}

async fn api(l: &Local, op: &str, variables: Value) -> Value {
    let resp: Value = reqwest::Client::new()
        .post(format!("{}/graphql", l.base))
        .bearer_auth(&l.token)
        .json(&json!({ "query": operation(op), "operationName": op, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        resp.get("errors").is_none(),
        "{op} answers with errors: {resp:#}"
    );
    resp["data"].clone()
}

/// Every operation the dashboard sends is valid against the hub's schema (the schema that
/// `schema/hub.graphql` is exported from, which a drift test keeps equal) and answers the
/// viewer's token without an error.
#[tokio::test]
async fn the_dashboards_operations_fit_the_hubs_schema() {
    let l = start().await;
    let compare = json!({ "indicators": ["beds_added", "funding"], "years": { "from": 2020, "to": 2025 }, "level": "UNIT" });
    let mut export = compare.clone();
    export["format"] = json!("XLSX");
    for (name, _) in web::OPERATIONS {
        let vars = match *name {
            "Overview" => json!({ "programme": "Programme:140000:p136" }),
            "Compare" => compare.clone(),
            "CompareExport" => export.clone(),
            "City" => json!({ "code": "140800" }),
            "Goals" => {
                json!({ "indicators": ["leading_specialties"], "cities": ["140000", "140800"] })
            }
            _ => json!({}),
        };
        let data = api(&l, name, vars).await;
        assert!(data.is_object(), "{name}: {data}");
    }
}

fn target_of(cell: &Value) -> Value {
    let t = &cell["target"];
    if t.is_null() {
        return Value::Null;
    }
    json!({ "comparator": t["comparator"], "value": t["value"], "min": t["min"], "max": t["max"] })
}

fn same_number(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        _ => a.is_null() && b.is_null(),
    }
}

#[tokio::test]
async fn the_dashboard_shows_the_federation_in_a_real_browser() {
    if std::env::var("XINGYI_TEST_BROWSER").as_deref() == Ok("off") {
        eprintln!("SKIPPED: XINGYI_TEST_BROWSER=off — the dashboard was not tried in a browser");
        return;
    }
    let driver = root().join("tests/browser/drive.mjs");
    assert!(
        root()
            .join("tests/browser/node_modules/playwright-core")
            .exists(),
        "the browser test needs `npm ci --prefix tests/browser` (and Chromium: apt-get install chromium); XINGYI_TEST_BROWSER=off skips it"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: apt-get install chromium (or set CHROMIUM); XINGYI_TEST_BROWSER=off skips the test"
    );
    let shots = match std::env::var("XINGYI_TEST_SCREENSHOTS") {
        Ok(d) if d == "docs" => root().join("docs"),
        Ok(d) => PathBuf::from(d),
        Err(_) => Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser"),
    };
    let l = start().await;
    let staff = common::token(
        l.dir.path(),
        &[
            "--role",
            "city_editor",
            "--city",
            "140800",
            "--sub",
            "clerk",
        ],
    );
    let out = std::process::Command::new("node")
        .arg(&driver)
        .args([&l.base, &l.token])
        .arg(&shots)
        .arg(&staff)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "the browser driver failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    // Nothing leaves the origin, nothing fails.
    let requests: Vec<&str> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let origin = format!("{}/", l.base);
    let foreign: Vec<_> = requests
        .iter()
        .filter(|r| !r.starts_with(&origin) && !r.starts_with("blob:") && !r.starts_with("data:"))
        .collect();
    assert!(
        foreign.is_empty(),
        "requests outside the origin: {foreign:?}"
    );
    assert!(requests.iter().any(|r| r.ends_with("/graphql")));
    assert!(requests.iter().any(|r| r.contains("/assets/echarts.")));
    assert_eq!(
        report["consoleErrors"],
        json!([]),
        "the browser console shows errors"
    );
    eprintln!(
        "first view interactive after {} ms (navigation: {})",
        report["timings"]["firstViewMs"], report["timings"]["navigation"]
    );

    // Overview: one card per registered city, with the API's names and unit counts.
    let overview = api(
        &l,
        "Overview",
        json!({ "programme": "Programme:140000:p136" }),
    )
    .await;
    let shown = &report["views"]["overview"];
    assert_eq!(
        shown["tokenInAddress"], false,
        "the token leaves the address bar"
    );
    assert_eq!(shown["title"], overview["programme"]["nameZh"]);
    let mut want = Vec::new();
    for c in overview["cities"].as_array().unwrap() {
        if c["status"]["registered"] == true {
            let units: i64 = c["programmes"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["units"]["totalCount"].as_i64().unwrap())
                .sum();
            want.push(
                json!({ "code": c["code"], "name": c["nameZh"], "units": units.to_string() }),
            );
        }
    }
    let got: Vec<Value> = shown["cities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({ "code": c["code"], "name": c["name"], "units": c["units"] }))
        .collect();
    assert_eq!(got, want);
    assert_eq!(want.len(), 2, "运城 and 临汾");
    assert!(
        shown["canvases"].as_u64().unwrap() >= 1,
        "the chart is drawn"
    );
    let component_targets: usize = overview["programme"]["allComponents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["targets"]["nodes"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        shown["targets"].as_u64().unwrap() as usize,
        overview["programme"]["targets"]["nodes"]
            .as_array()
            .unwrap()
            .len()
            + component_targets,
        "the programme's targets and its components'"
    );
    assert!(component_targets > 0);
    // Progress against 136's goals: the hub's provinceGoalSpans, row for row, with the reported
    // total the hub computed (the page adds nothing up itself).
    let mut codes: Vec<Value> = Vec::new();
    let all_targets = overview["programme"]["targets"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(
            overview["programme"]["allComponents"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["targets"]["nodes"].as_array().unwrap()),
        );
    for t in all_targets {
        if !codes.contains(&t["indicatorCode"]) {
            codes.push(t["indicatorCode"].clone());
        }
    }
    let goals = api(
        &l,
        "Goals",
        json!({ "indicators": codes, "cities": ["140000", "140800", "141000"] }),
    )
    .await;
    let want: Vec<Value> = goals["compare"]["provinceGoalSpans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let reported = match g["actual"].as_f64() {
                Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
                Some(x) => format!("{}", (x * 100.0).round() / 100.0),
                None => "—".to_owned(),
            };
            // The units the province named under the goal, as the hub counted them.
            let named: Vec<&Value> = goals["compare"]["named"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["region"] == "140000" && n["indicator"] == g["indicator"])
                .collect();
            let named = if named.is_empty() {
                "—".to_owned()
            } else {
                named
                    .iter()
                    .map(|n| n["named"].as_i64().unwrap())
                    .sum::<i64>()
                    .to_string()
            };
            // The goal's own years, as the hub gives them.
            let period = format!("{}–{}", g["targetFrom"], g["targetTo"]);
            json!({ "key": g["indicator"], "period": period, "named": named, "reported": reported })
        })
        .collect();
    assert!(want.len() >= 10, "136's goals: {goals}");
    // 山医大二院 reported its three 136 leading specialties (三大领军临床专科): 3 of ≈10; the
    // province named 4 specialties under the goal (山医大二院's 3 and 山西白求恩医院's 1).
    assert!(
        want.contains(&json!({ "key": "leading_specialties", "period": "2018–2022", "named": "4", "reported": "3" })),
        "{want:?}"
    );
    assert_eq!(shown["goals"], json!(want));

    // Compare: every row of the table is the API's cell, ranges and caveats included.
    let cmp_view = &report["views"]["compare"];
    let vars = json!({
        "indicators": cmp_view["selected"],
        "years": { "from": cmp_view["from"], "to": cmp_view["to"] },
        "level": "CITY",
        "cities": null,
    });
    let cmp = &api(&l, "Compare", vars.clone()).await["compare"];
    let mut cells = BTreeMap::new();
    for c in cmp["provinceTotals"].as_array().unwrap() {
        cells.insert(
            format!("140000|{}|{}", c["indicator"].as_str().unwrap(), c["year"]),
            c.clone(),
        );
    }
    for city in cmp["cities"].as_array().unwrap() {
        for c in city["cells"].as_array().unwrap() {
            cells.insert(
                format!(
                    "{}|{}|{}",
                    city["code"].as_str().unwrap(),
                    c["indicator"].as_str().unwrap(),
                    c["year"]
                ),
                c.clone(),
            );
        }
    }
    let rows = cmp_view["rows"].as_array().unwrap();
    assert_eq!(rows.len(), cells.len(), "one table row per cell");
    let mut ranges = 0;
    for r in rows {
        let key = r["row"].as_str().unwrap();
        let cell = cells
            .get(key)
            .unwrap_or_else(|| panic!("the page shows {key}, the API has no such cell"));
        let shown_target: Value =
            serde_json::from_str(r["target"].as_str().unwrap()).unwrap_or(Value::Null);
        let want = target_of(cell);
        for k in ["value", "min", "max"] {
            assert!(
                same_number(&shown_target[k], &want[k]),
                "{key} {k}: page {shown_target}, API {want}"
            );
        }
        assert_eq!(shown_target["comparator"], want["comparator"], "{key}");
        let actual = r["actual"].as_str().unwrap();
        assert_eq!(actual.is_empty(), cell["actual"].is_null(), "{key}");
        let ambiguous = cell["ambiguousTerms"].as_i64().unwrap() > 0;
        assert_eq!(r["ambiguous"], ambiguous, "{key}");
        if ambiguous {
            assert!(
                r["caveat"].as_str().is_some_and(|c| !c.is_empty()),
                "{key}: a caveat on hover"
            );
        }
        if want["comparator"] == "RANGE" {
            ranges += 1;
        }
    }
    assert!(ranges > 0, "运城's funding years are ranges");
    for c in cmp_view["charts"].as_array().unwrap() {
        assert!(c["canvases"].as_u64().unwrap() >= 1, "{c}");
    }
    assert_eq!(
        cmp_view["charts"].as_array().unwrap().len(),
        cmp["indicators"].as_array().unwrap().len()
    );

    // The workbook the export button downloaded holds the hub's numbers.
    let xlsx = report["downloads"]["compare.xlsx"]["path"]
        .as_str()
        .unwrap();
    assert!(
        report["downloads"]["compare.xlsx"]["suggested"]
            .as_str()
            .unwrap()
            .ends_with(".xlsx")
    );
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(xlsx).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut book, "对比").unwrap();
    let mut book_rows = 0;
    for row in sheet.rows().skip(1) {
        let text = |i: usize| row[i].to_string();
        let number = |i: usize| match &row[i] {
            calamine::Data::Float(f) => json!(f),
            calamine::Data::Int(n) => json!(n),
            _ => Value::Null,
        };
        if !text(3).is_empty() {
            continue; // drill-down rows (none at CITY level)
        }
        let key = format!("{}|{}|{}", text(1), text(4), text(5));
        let cell = cells
            .get(&key)
            .unwrap_or_else(|| panic!("the workbook has {key}, the API does not"));
        let want = target_of(cell);
        assert_eq!(
            json!(text(7)),
            if want.is_null() {
                json!("")
            } else {
                want["comparator"].clone()
            },
            "workbook {key} comparator"
        );
        for (i, k) in [(8, "value"), (9, "min"), (10, "max")] {
            assert!(
                same_number(&number(i), &want[k]),
                "workbook {key} {k}: {:?} vs {want}",
                row[i]
            );
        }
        assert!(
            same_number(&number(11), &cell["actual"]),
            "workbook {key} actual"
        );
        book_rows += 1;
    }
    assert_eq!(book_rows, cells.len(), "one workbook row per cell");
    let csv = std::fs::read_to_string(report["downloads"]["compare.csv"]["path"].as_str().unwrap())
        .unwrap();
    assert!(
        csv.starts_with('\u{feff}'),
        "CSV with a BOM for spreadsheet programs"
    );
    assert_eq!(csv.lines().count(), cells.len() + 1);

    // A city: its units, as the API lists them.
    let city = &api(&l, "City", json!({ "code": "140800" })).await["city"];
    let want_units: Vec<Value> = city["programmes"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["units"]["nodes"].as_array().unwrap().clone())
        .map(|u| json!({ "id": u["id"], "name": u["nameZh"] }))
        .collect();
    assert_eq!(report["views"]["city"]["units"], json!(want_units));
    assert_eq!(
        report["views"]["city"]["title"].as_str().unwrap(),
        "运城市 140800"
    );
    assert!(report["views"]["city"]["planYears"].as_u64().unwrap() > 0);

    // Sync and health: a row per registered city, up and closed.
    let sync_rows = report["views"]["sync"]["rows"].as_array().unwrap();
    let codes: Vec<&str> = sync_rows
        .iter()
        .map(|r| r["city"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["140800", "141000"]);
    for r in sync_rows {
        assert_eq!(r["badges"], json!(["UP", "CLOSED"]), "{r}");
    }
    // The history is the hub's, sampled since it started (not since the page opened): the
    // page draws what the API says.
    let history = api(&l, "Sync", json!({})).await;
    for r in sync_rows {
        let city = history["cities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == r["city"])
            .unwrap();
        let kept = city["syncHistory"].as_array().unwrap().len() as u64;
        let shown = r["samples"].as_u64().unwrap();
        assert!(shown >= 1, "the hub sampled {} at start: {r}", r["city"]);
        assert!(
            kept >= shown,
            "the page shows the hub's samples ({shown} of {kept})"
        );
    }
    assert_eq!(report["views"]["sync"]["stateCanvases"], 1);

    // English, GraphiQL (offline, with the token), and the endpoint opened in a browser.
    let nav: Vec<&str> = report["views"]["english"]["nav"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(nav, ["Overview", "Compare", "Sync & health"]);
    // A 运城 editor: 运城's card whole, 临汾's refused by the API's rule and said so.
    let staff_cards = report["views"]["staff"]["cities"].as_array().unwrap();
    let card = |code: &str| staff_cards.iter().find(|c| c["code"] == code).unwrap();
    assert_eq!(
        report["views"]["staff"]["goalsShown"], false,
        "city staff may not compare the province's own scope: no goals table"
    );
    assert_eq!(card("140800")["units"], "5", "{staff_cards:?}");
    assert_eq!(card("140800")["error"], Value::Null);
    assert_eq!(card("141000")["units"], "—", "{staff_cards:?}");
    assert!(
        card("141000")["error"]
            .as_str()
            .is_some_and(|e| e.contains("FORBIDDEN")),
        "{staff_cards:?}"
    );
    assert!(
        report["views"]["graphiql"]["result"]
            .as_str()
            .unwrap()
            .contains("临汾市")
    );
    assert_eq!(report["views"]["endpoint"]["graphiql"], true);
}
