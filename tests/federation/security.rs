//! Who may do what, through every door: a matrix of role × city × operation (query at the
//! node, mutation at the node, query delegated by the hub — live and from the replica — and a
//! sync push), each cell asserted; refused writes are recorded; the audit trail names the
//! token's subject.

use federation_tests::{data, graphql_as, token};
use model::{
    RegionCode,
    region::{LINFEN, YUNCHENG},
};
use serde_json::{Value, json};

use crate::support::LocalFed;

/// `None`: allowed; `Some(code)`: refused with that code.
type Outcome = Option<&'static str>;

const OK: Outcome = None;
const FORBIDDEN: Outcome = Some("FORBIDDEN");
const UNAUTHENTICATED: Outcome = Some("UNAUTHENTICATED");

/// The outcome of a GraphQL answer: its first error's code, or allowed.
/// A role and its city, or anonymous.
type Caller = Option<(auth::Role, Option<RegionCode>)>;

fn outcome(body: &Value) -> Option<String> {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn every_role_reaches_exactly_its_own_data_through_every_door() {
    let fed = LocalFed::start().await;
    let client = reqwest::Client::new();
    let hub = fed.hub_url();
    let nodes: std::collections::BTreeMap<RegionCode, String> =
        fed.node_urls().into_iter().collect();
    // One unit per city to report against.
    let mut unit = std::collections::BTreeMap::new();
    for city in [YUNCHENG, LINFEN] {
        let d = data(
            &client,
            &nodes[&city],
            "{ units(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
        unit.insert(
            city,
            d["units"]["edges"][0]["node"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    use auth::Role::*;
    // (role, its city) → per target city: [query, mutation, delegated live, delegated replica,
    // sync push].
    let yc = Some(YUNCHENG);
    let matrix: Vec<(Caller, RegionCode, [Outcome; 5])> = vec![
        (
            Some((ProvinceAdmin, None)),
            YUNCHENG,
            [OK, FORBIDDEN, OK, OK, FORBIDDEN],
        ),
        (
            Some((ProvinceAdmin, None)),
            LINFEN,
            [OK, FORBIDDEN, OK, OK, FORBIDDEN],
        ),
        (
            Some((ProvinceViewer, None)),
            YUNCHENG,
            [OK, FORBIDDEN, OK, OK, FORBIDDEN],
        ),
        (
            Some((ProvinceViewer, None)),
            LINFEN,
            [OK, FORBIDDEN, OK, OK, FORBIDDEN],
        ),
        (Some((CityAdmin, yc)), YUNCHENG, [OK, OK, OK, OK, FORBIDDEN]),
        (
            Some((CityAdmin, yc)),
            LINFEN,
            [FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN],
        ),
        (
            Some((CityEditor, yc)),
            YUNCHENG,
            [OK, OK, OK, OK, FORBIDDEN],
        ),
        (
            Some((CityEditor, yc)),
            LINFEN,
            [FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN],
        ),
        (
            Some((Node, yc)),
            YUNCHENG,
            [FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK],
        ),
        (
            Some((Node, yc)),
            LINFEN,
            [FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN],
        ),
        (None, YUNCHENG, [UNAUTHENTICATED; 5]),
        (None, LINFEN, [UNAUTHENTICATED; 5]),
    ];
    let mut failures = Vec::new();
    for (who, city, expected) in matrix {
        let t = who.map(|(role, c)| token(role, c));
        let label = who.map_or("anonymous".to_owned(), |(r, c)| {
            format!(
                "{}{}",
                r.as_str(),
                c.map(|c| format!(" of {c}")).unwrap_or_default()
            )
        });
        let mut got: [Option<String>; 5] = Default::default();
        // Query at the node.
        let b = graphql_as(
            &client,
            &nodes[&city],
            t.as_deref(),
            "{ owner { code } }",
            json!({}),
        )
        .await;
        got[0] = outcome(&b);
        if got[0].is_none() {
            assert_eq!(b["data"]["owner"]["code"], city.to_string(), "{label}: {b}");
        }
        // Mutation at the node.
        let b = graphql_as(
            &client,
            &nodes[&city],
            t.as_deref(),
            "mutation($u: ID!) { createActual(input: { indicator: \"beds_added\", period: \"2021\", scope: { kind: UNIT, id: $u }, value: 1 }) { id } }",
            json!({ "u": unit[&city] }),
        )
        .await;
        got[1] = outcome(&b);
        // Delegated by the hub, live and from the replica.
        for (i, consistency) in [(2, "LIVE"), (3, "REPLICA")] {
            let q = format!(
                "{{ city(code: \"{city}\", consistency: {consistency}) {{ owner {{ code }} }} }}"
            );
            let b = graphql_as(&client, &hub, t.as_deref(), &q, json!({})).await;
            got[i] = outcome(&b);
            if got[i].is_none() {
                assert_eq!(
                    b["data"]["city"]["owner"]["code"],
                    city.to_string(),
                    "{label}: {b}"
                );
            }
        }
        // A sync push (a heartbeat: no changes, so an allowed one writes nothing).
        let mut req = client
            .post(format!("{}/sync/push", hub.trim_end_matches("/graphql")))
            .json(&json!({ "city": city, "node_seq": 0, "changes": [] }));
        if let Some(t) = &t {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        got[4] = (status != 200).then(|| body["code"].as_str().unwrap_or("?").to_owned());
        let expected: Vec<Option<String>> = expected.iter().map(|o| o.map(str::to_owned)).collect();
        if got.to_vec() != expected {
            failures.push(format!(
                "{label} on {city}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Refused writes are recorded where they were attempted, with who and what.
    let admin = token(ProvinceAdmin, None);
    let b = graphql_as(
        &client,
        &nodes[&LINFEN],
        Some(&admin),
        "{ refusedWrites { actor operation target code } }",
        json!({}),
    )
    .await;
    let refused = b["data"]["refusedWrites"].as_array().unwrap();
    for actor in [
        "city_admin:test-city_admin-140800",
        "city_editor:test-city_editor-140800",
        "province_admin:test-province_admin",
        "anonymous",
    ] {
        let r = refused
            .iter()
            .find(|r| r["actor"] == actor)
            .unwrap_or_else(|| panic!("{actor}'s attempt is recorded: {refused:?}"));
        assert_eq!(r["operation"], "createActual");
        assert!(
            r["target"].as_str().unwrap().contains(&unit[&LINFEN]),
            "{r}"
        );
    }
    // City staff do not read another city's refusals; an editor not even their own.
    let editor = token(CityEditor, Some(YUNCHENG));
    let b = graphql_as(
        &client,
        &nodes[&YUNCHENG],
        Some(&editor),
        "{ refusedWrites { actor } }",
        json!({}),
    )
    .await;
    assert_eq!(outcome(&b).as_deref(), Some("FORBIDDEN"));
    // The node's pushes were refused at the hub, and recorded there.
    let b = graphql_as(
        &client,
        &hub,
        Some(&admin),
        "{ refusedWrites { actor operation target } }",
        json!({}),
    )
    .await;
    let at_hub = b["data"]["refusedWrites"].as_array().unwrap();
    assert!(
        at_hub.iter().any(|r| r["actor"] == "node:test-node-140800"
            && r["operation"] == "sync.push"
            && r["target"] == "141000"),
        "{at_hub:?}"
    );

    // The audit trail names the token's subject.
    let b = graphql_as(
        &client,
        &nodes[&YUNCHENG],
        Some(&admin),
        "{ auditTrail(entity: \"actual\") { actor op } }",
        json!({}),
    )
    .await;
    let actors: Vec<&str> = b["data"]["auditTrail"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(
        actors.contains(&"city_admin:test-city_admin-140800"),
        "{actors:?}"
    );
    assert!(
        actors.contains(&"city_editor:test-city_editor-140800"),
        "{actors:?}"
    );

    // An editor records progress but cannot change the programme's structure.
    let b = graphql_as(
        &client,
        &nodes[&YUNCHENG],
        Some(&editor),
        "mutation($u: ID!) { deleteUnit(id: $u) { id } }",
        json!({ "u": unit[&YUNCHENG] }),
    )
    .await;
    assert_eq!(outcome(&b).as_deref(), Some("FORBIDDEN"));
    // City staff compare their own city only.
    let b = graphql_as(
        &client,
        &hub,
        Some(&editor),
        "{ compare(indicators: [\"beds_added\"], cities: [\"141000\"]) { years } }",
        json!({}),
    )
    .await;
    assert_eq!(outcome(&b).as_deref(), Some("FORBIDDEN"));

    // The hub applies the read rule to its own data too: no anonymous reading (off by
    // default), and a node token reads nothing.
    for (t, code) in [
        (None, "UNAUTHENTICATED"),
        (Some(token(Node, Some(YUNCHENG))), "FORBIDDEN"),
    ] {
        let b = graphql_as(
            &client,
            &hub,
            t.as_deref(),
            "{ programmes(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
        assert_eq!(outcome(&b).as_deref(), Some(code), "{b}");
        assert!(b.get("data").is_none_or(Value::is_null), "{b}");
    }
    // A city's staff token never reaches another city's node: the hub refuses first.
    let before = crate::support::requests_seen(&client, &fed).await;
    let yc_admin = token(CityAdmin, Some(YUNCHENG));
    let b = graphql_as(
        &client,
        &hub,
        Some(&yc_admin),
        "{ city(code: \"141000\", consistency: LIVE) { owner { code } } programme(id: \"Programme:140000:p136\") { cityProgrammes(consistency: LIVE) { owner { code } } } }",
        json!({}),
    )
    .await;
    assert_eq!(outcome(&b).as_deref(), Some("FORBIDDEN"), "{b}");
    let owners: Vec<&str> = b["data"]["programme"]["cityProgrammes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["owner"]["code"].as_str())
        .collect();
    assert!(
        !owners.is_empty() && owners.iter().all(|c| *c == "140800"),
        "only the caller's own city's programmes: {owners:?}"
    );
    let after = crate::support::requests_seen(&client, &fed).await;
    let seen = |v: &[(RegionCode, u64)], c: RegionCode| v.iter().find(|(x, _)| *x == c).unwrap().1;
    assert_eq!(
        seen(&after, LINFEN),
        seen(&before, LINFEN),
        "临汾's node was not called with 运城's token"
    );
    assert!(seen(&after, YUNCHENG) > seen(&before, YUNCHENG));
    // City staff see their own city's sync state, not another's.
    let b = graphql_as(
        &client,
        &hub,
        Some(&yc_admin),
        "{ cities { code sync { appliedSeq } } }",
        json!({}),
    )
    .await;
    let errors = b["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["code"] == "FORBIDDEN" && e["path"][2] == "sync"),
        "{b}"
    );
    let cities = b["data"]["cities"].as_array().unwrap();
    for c in cities {
        assert_eq!(c["sync"].is_null(), c["code"] != "140800", "{c}");
    }
    // Asking for one city many times is one city (one node call), not a fan-out.
    let b = graphql_as(
        &client,
        &hub,
        Some(&admin),
        "query($c: [String!]) { cities(codes: $c, consistency: LIVE) { code } }",
        json!({ "c": vec!["140800"; 1000] }),
    )
    .await;
    assert_eq!(b["data"]["cities"].as_array().unwrap().len(), 1, "{b}");
    fed.stop().await;
}
