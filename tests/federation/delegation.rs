//! The hub delegates a city's part of a query to that city's node over real HTTP, forwarding the
//! exact sub-selection and splicing the answer in: for every query of the corpus, the hub's
//! answer for a city equals the node's own answer.

use federation_tests::{data, graphql};
use serde_json::{Value, json};

use crate::support::{LocalFed, requests_seen};

/// (node query body, variables, fragments). The hub runs `{ city(code:) { body } } fragments`.
pub(crate) const CORPUS: &[(&str, &str, &str)] = &[
    (
        "programmes { nodes { id nameZh period relation parentId } }",
        "{}",
        "",
    ),
    (
        "a: units(first: 2) { totalCount pageInfo { hasNextPage endCursor } nodes { __typename id nameZh } } \
         b: units(first: 3, filter: {kind: SPECIALTY}) { nodes { nameEn kind targetYear } }",
        "{}",
        "",
    ),
    (
        "planItems(filter: {year: $year, category: $cat}, first: $n) { totalCount nodes { id text year category ambiguous note } }",
        r#"{"year": 2021, "cat": "TALENT", "n": 10}"#,
        "",
    ),
    (
        "units { nodes { ...U institution { ...I } } }",
        "{}",
        "fragment U on Unit { id nameZh ...V } fragment V on Unit { targetLevel } fragment I on Institution { nameZh region { code nameZh } }",
    ),
    (
        r#"unit(id: "Unit:140800:central-cardiology") { __typename ... on Unit { nameZh planItems(filter: {category: FUNDING}) { nodes { text period } } } targets(filter: {year: 2020}) { nodes { indicatorCode comparator value source { quote } } } }"#,
        "{}",
        "",
    ),
    (
        r#"programmesImplementing(parentId: "Programme:140000:p136") { nameZh components { nameZh children { nameZh } } } owner { code } indicators { code unit }"#,
        "{}",
        "",
    ),
    (
        "targets(first: 5, filter: {indicator: \"funding\"}) @include(if: $inc) { nodes { id value comparator ambiguous } }",
        r#"{"inc": true}"#,
        "",
    ),
];

pub(crate) fn var_defs(vars: &Value) -> String {
    let defs: Vec<String> = vars
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let ty = match (k.as_str(), v) {
                ("cat", _) => "PlanCategory",
                (_, Value::Bool(_)) => "Boolean!",
                (_, Value::Number(_)) => "Int",
                _ => "String",
            };
            format!("${k}: {ty}")
        })
        .collect();
    if defs.is_empty() {
        String::new()
    } else {
        format!("({})", defs.join(", "))
    }
}

/// The node's errors as the hub must show them: under `city`, with the city named.
fn rebased(errors: &Value, city: &str) -> Vec<Value> {
    errors
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let mut path = vec![json!("city")];
                    path.extend(e["path"].as_array().cloned().unwrap_or_default());
                    let mut ext = e["extensions"].as_object().cloned().unwrap_or_default();
                    ext.insert("city".into(), json!(city));
                    json!({ "message": e["message"], "path": path, "extensions": ext })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every corpus query, through `city` and `cities` under each consistency, answers exactly as
/// the node does (data and errors, re-rooted) once the replicas have caught up: LIVE asks the
/// node, REPLICA and AUTO answer in process from the replica with the node's own schema code.
#[tokio::test]
async fn the_hub_answers_each_city_subtree_exactly_as_the_node_does() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    crate::compare::in_sync(&client, &fed.hub_url()).await;
    let mut node_errors_seen = 0;
    for (city, node_url) in fed.node_urls() {
        for (body, vars, fragments) in CORPUS {
            let vars: Value = serde_json::from_str(vars).unwrap();
            let defs = var_defs(&vars);
            let direct = graphql(
                &client,
                &node_url,
                &format!("query Q{defs} {{ {body} }} {fragments}"),
                vars.clone(),
            )
            .await;
            for consistency in ["LIVE", "REPLICA", "AUTO"] {
                for (root, pick) in [
                    (
                        format!("city(code: \"{city}\", consistency: {consistency})"),
                        "city",
                    ),
                    (
                        format!("cities(codes: [\"{city}\"], consistency: {consistency})"),
                        "cities",
                    ),
                ] {
                    let via_hub = graphql(
                        &client,
                        &fed.hub_url(),
                        &format!(
                            "query Q{defs} {{ {root} {{ code freshness {{ answeredBy }} {body} }} }} {fragments}"
                        ),
                        vars.clone(),
                    )
                    .await;
                    let (got, prefix) = if pick == "city" {
                        (via_hub["data"]["city"].clone(), vec![json!("city")])
                    } else {
                        (
                            via_hub["data"]["cities"][0].clone(),
                            vec![json!("cities"), json!(0)],
                        )
                    };
                    let mut got = got.as_object().unwrap().clone();
                    let by = got.remove("freshness").unwrap();
                    let want_by = if consistency == "LIVE" {
                        "LIVE"
                    } else {
                        "REPLICA"
                    };
                    assert_eq!(
                        by["answeredBy"], want_by,
                        "{city} {consistency} {pick}: {body}"
                    );
                    // async-graphql answers `data: null` when every root field errored; that is
                    // an empty object for this comparison.
                    let mut expected = direct["data"].as_object().cloned().unwrap_or_default();
                    expected.insert("code".into(), json!(city.to_string()));
                    // async-graphql leaves an errored nullable field out of `data`; the hub
                    // answers it as null (as the spec says), so missing keys compare as null.
                    for k in got.keys() {
                        expected.entry(k.clone()).or_insert(Value::Null);
                    }
                    assert_eq!(
                        Value::Object(got),
                        Value::Object(expected),
                        "{city} {consistency} {pick}: {body}"
                    );
                    let hub_errors: Vec<Value> = via_hub["errors"]
                        .as_array()
                        .map(|a| a.iter().map(|e| json!({ "message": e["message"], "path": e["path"], "extensions": e["extensions"] })).collect())
                        .unwrap_or_default();
                    let want_errors: Vec<Value> = rebased(&direct["errors"], &city.to_string())
                        .into_iter()
                        .map(|mut e| {
                            let path = e["path"].as_array().unwrap()[1..].to_vec();
                            e["path"] = Value::Array(prefix.iter().cloned().chain(path).collect());
                            e
                        })
                        .collect();
                    assert_eq!(
                        hub_errors, want_errors,
                        "{city} {consistency} {pick}: {body}"
                    );
                    node_errors_seen += hub_errors.len();
                }
            }
        }
    }
    assert!(
        node_errors_seen > 0,
        "the corpus includes a query a node answers with an error"
    );
    fed.stop().await;
}

#[tokio::test]
async fn pagination_cursors_from_the_hub_work_on_the_next_hub_page() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let q = r#"query($after: String) { city(code: "140800", consistency: LIVE) { planItems(first: 40, after: $after) {
        pageInfo { hasNextPage endCursor } nodes { id } } } }"#;
    let mut ids = Vec::new();
    let mut after = Value::Null;
    loop {
        let d = data(&client, &fed.hub_url(), q, json!({ "after": after })).await;
        let page = &d["city"]["planItems"];
        ids.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned()),
        );
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let total = seed::for_region(model::region::YUNCHENG)
        .unwrap()
        .unwrap()
        .plan_items
        .len();
    assert_eq!(ids.len(), total);
    fed.stop().await;
}

#[tokio::test]
async fn one_request_per_node_for_a_query_level_whatever_is_asked() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let before = requests_seen(&client, &fed).await;
    let d = data(
        &client,
        &fed.hub_url(),
        r#"{ cities(consistency: LIVE) { code a: programmes { nodes { id } } units { nodes { nameZh institution { nameZh } } }
             planItems(first: 100) { totalCount } targets { totalCount } ...More } }
           fragment More on City { actuals { totalCount } owner { code } }"#,
        json!({}),
    )
    .await;
    assert_eq!(d["cities"].as_array().unwrap().len(), 2);
    let after = requests_seen(&client, &fed).await;
    for ((city, b), (_, a)) in before.iter().zip(&after) {
        assert_eq!(
            a - b,
            1,
            "{city}: one request carries every delegated field"
        );
    }
    // Asking only for the hub's own fields costs the nodes nothing.
    data(
        &client,
        &fed.hub_url(),
        "{ cities { code nameZh status { registered } } }",
        json!({}),
    )
    .await;
    assert_eq!(requests_seen(&client, &fed).await, after);
    fed.stop().await;
}

#[tokio::test]
async fn node_ids_route_to_their_owner() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let d = data(
        &client,
        &fed.hub_url(),
        r#"{ yc: node(id: "Unit:140800:central-cardiology") { __typename id ... on Unit { nameZh institution { nameZh } } }
             sx: node(id: "Programme:140000:p136") { ... on Programme { docNumber } }
             lf: node(id: "Programme:141000:lf-tzqy") { ... on Programme { nameZh } }
             missing: node(id: "Unit:140800:no-such-unit") { id } }"#,
        json!({}),
    )
    .await;
    assert_eq!(d["yc"]["__typename"], "Unit");
    assert_eq!(d["yc"]["institution"]["nameZh"], "运城市中心医院");
    assert_eq!(d["sx"]["docNumber"], "晋政发〔2018〕16号");
    assert_eq!(d["lf"]["nameZh"], "临汾市提质强医工程实施方案");
    assert_eq!(d["missing"], Value::Null);

    // A city's record answers the same under each consistency, as its node answers it.
    crate::compare::in_sync(&client, &fed.hub_url()).await;
    let ask = r#"node(id: "Unit:140800:central-cardiology") { __typename id ... on Unit { nameZh targets(first: 3) { nodes { id value } } institution { nameZh } } }"#;
    let direct = data(
        &client,
        &fed.node_url(model::region::YUNCHENG),
        &format!("{{ {ask} }}"),
        json!({}),
    )
    .await;
    for consistency in ["LIVE", "REPLICA", "AUTO"] {
        let via_hub = data(
            &client,
            &fed.hub_url(),
            &format!(
                "{{ {} }}",
                ask.replacen(")", &format!(", consistency: {consistency})"), 1)
            ),
            json!({}),
        )
        .await;
        assert_eq!(via_hub["node"], direct["node"], "{consistency}");
    }

    let resp = graphql(
        &client,
        &fed.hub_url(),
        r#"{ node(id: "Unit:140100:x") { id } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        resp["errors"][0]["extensions"]["code"],
        "CITY_NOT_REGISTERED"
    );
    assert_eq!(resp["errors"][0]["path"], json!(["node"]));
    let resp = graphql(
        &client,
        &fed.hub_url(),
        r#"{ node(id: "garbage") { id } }"#,
        json!({}),
    )
    .await;
    assert_eq!(resp["errors"][0]["extensions"]["code"], "VALIDATION_FAILED");
    fed.stop().await;
}

#[tokio::test]
async fn cities_report_their_nodes_status() {
    let fed = LocalFed::start().await;
    let client = federation_tests::admin_client();
    let resp = client
        .post(fed.hub_url())
        .json(&json!({ "query": "{ cities(consistency: LIVE) { code status { registered reachability url lastLatencyMs calls failures } owner { code } } }" }))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    for c in body["data"]["cities"].as_array().unwrap() {
        assert_eq!(c["status"]["registered"], true);
        assert_eq!(c["status"]["reachability"], "UP", "{c}");
        assert!(c["status"]["calls"].as_i64().unwrap() >= 1);
        assert_eq!(c["owner"]["code"], c["code"]);
    }
    fed.stop().await;
}

#[tokio::test]
async fn province_programmes_list_their_city_programmes_with_one_request_per_node() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let before = requests_seen(&client, &fed).await;
    let d = data(
        &client,
        &fed.hub_url(),
        r#"query($y: Int) { programmes { nodes { id nameZh
             cityProgrammes(consistency: LIVE) { ...CP } } } }
           fragment CP on Programme { id nameZh relation parentId owner { code }
             units(first: 50) { nodes { nameZh planItems(filter: {year: $y}) { totalCount } } } }"#,
        json!({ "y": 2021 }),
    )
    .await;
    let after = requests_seen(&client, &fed).await;
    for ((city, b), (_, a)) in before.iter().zip(&after) {
        assert_eq!(
            a - b,
            1,
            "{city}: every province programme's cityProgrammes in one request"
        );
    }
    let programmes = d["programmes"]["nodes"].as_array().unwrap();
    assert_eq!(programmes.len(), 2, "136 and the 白求恩 plan");
    let p136 = programmes
        .iter()
        .find(|p| p["id"] == "Programme:140000:p136")
        .unwrap();
    let children = p136["cityProgrammes"].as_array().unwrap();
    let ids: Vec<&str> = children.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "Programme:140800:yc-lead-specialties",
            "Programme:141000:lf-tzqy"
        ]
    );
    assert_eq!(children[0]["relation"], "IMPLEMENTS", "运城 承接 136");
    assert_eq!(children[1]["relation"], "FOLLOWS", "临汾 根据 136");

    // Each city's part equals what its node answers directly for the same selection.
    for (city, url) in fed.node_urls() {
        let direct = data(
            &client,
            &url,
            r#"query($y: Int) { programmesImplementing(parentId: "Programme:140000:p136") { ...CP } }
               fragment CP on Programme { id nameZh relation parentId owner { code }
                 units(first: 50) { nodes { nameZh planItems(filter: {year: $y}) { totalCount } } } }"#,
            json!({ "y": 2021 }),
        )
        .await;
        let mine: Vec<&Value> = children
            .iter()
            .filter(|c| c["owner"]["code"] == city.to_string().as_str())
            .collect();
        assert_eq!(
            Value::Array(mine.into_iter().cloned().collect()),
            direct["programmesImplementing"],
            "{city}"
        );
    }
    let rmc = programmes
        .iter()
        .find(|p| p["id"] == "Programme:140000:bethune-rmc")
        .unwrap();
    assert_eq!(rmc["cityProgrammes"], json!([]));
    fed.stop().await;
}

#[tokio::test]
async fn a_province_leader_sees_136_alongside_every_citys_sub_programme_in_one_query() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let d = data(
        &client,
        &fed.hub_url(),
        r#"{ programme(id: "Programme:140000:p136") { nameZh docNumber
               targets(filter: {year: 2022}) { nodes { indicator { nameZh } comparator value min max } }
               cityProgrammes { nameZh owner { nameZh } units { nodes { nameZh planItems { totalCount } } } } }
             cities { code status { reachability } } }"#,
        json!({}),
    )
    .await;
    let p = &d["programme"];
    assert_eq!(p["docNumber"], "晋政发〔2018〕16号");
    let cities: Vec<&str> = p["cityProgrammes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["owner"]["nameZh"].as_str().unwrap())
        .collect();
    assert_eq!(cities, ["运城市", "临汾市"]);
    let yc_items: i64 = p["cityProgrammes"][0]["units"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["planItems"]["totalCount"].as_i64().unwrap())
        .sum();
    assert_eq!(
        yc_items as usize,
        seed::for_region(model::region::YUNCHENG)
            .unwrap()
            .unwrap()
            .plan_items
            .len()
    );
    fed.stop().await;
}

/// `cityProgrammes` honours `consistency` as `cities` does: the same programmes from the
/// nodes (LIVE) and from the replicas (REPLICA, and AUTO once they have caught up), and each
/// city's source in `extensions.freshness`.
#[tokio::test]
async fn city_programmes_answer_from_where_consistency_says_and_say_so() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    crate::compare::in_sync(&client, &fed.hub_url()).await;
    let q = |c: &str| {
        format!(
            r#"{{ programme(id: "Programme:140000:p136") {{ cityProgrammes(consistency: {c}) {{
                 id nameZh owner {{ code }} units(first: 10) {{ nodes {{ id nameZh }} }} }} }} }}"#
        )
    };
    let mut answers = Vec::new();
    for (consistency, by) in [
        ("LIVE", "LIVE"),
        ("REPLICA", "REPLICA"),
        ("AUTO", "REPLICA"),
    ] {
        let before = requests_seen(&client, &fed).await;
        let resp = graphql(&client, &fed.hub_url(), &q(consistency), json!({})).await;
        let after = requests_seen(&client, &fed).await;
        assert!(resp.get("errors").is_none(), "{consistency}: {resp}");
        let report = resp["extensions"]["freshness"].as_array().unwrap();
        let cities: Vec<&str> = report.iter().map(|f| f["city"].as_str().unwrap()).collect();
        assert_eq!(cities, ["140800", "141000"], "{consistency}: {report:?}");
        for f in report {
            assert_eq!(f["answeredBy"], by, "{consistency}: {f}");
            assert_eq!(f["path"], json!(["programme", "cityProgrammes"]));
            assert_eq!(f["stale"], false);
        }
        for ((city, b), (_, a)) in before.iter().zip(&after) {
            let want = u64::from(consistency == "LIVE");
            assert_eq!(a - b, want, "{consistency}: {city} asked {} time(s)", a - b);
        }
        answers.push(resp["data"].clone());
    }
    assert_eq!(
        answers[0], answers[1],
        "the replicas answer as the nodes do"
    );
    assert_eq!(answers[0], answers[2]);
    assert_eq!(
        answers[0]["programme"]["cityProgrammes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A query touching no spliced list carries no report.
    let plain = graphql(
        &client,
        &fed.hub_url(),
        "{ programmes { totalCount } }",
        json!({}),
    )
    .await;
    assert!(
        plain
            .get("extensions")
            .is_none_or(|e| e.get("freshness").is_none()),
        "{plain}"
    );
    fed.stop().await;
}
