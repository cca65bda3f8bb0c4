//! Hostile requests at real servers over HTTP: oversized, deep, wide, alias-bombed and
//! token-bombed documents, malformed JSON, huge and deeply nested variables, injection-like
//! strings; and the limits configuration switches (introspection, GraphiQL, CORS, rate limits,
//! the per-request time-out, anonymous reading). Every refusal carries a stable code, and a
//! refused request writes nothing.

use federation_tests::{data_as, graphql_as, token};
use model::region::{LINFEN, YUNCHENG};
use serde_json::{Value, json};

use crate::support::{Fault, TestHub, TestNode, fake_node};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

fn admin() -> String {
    token(auth::Role::CityAdmin, Some(YUNCHENG))
}

/// POSTs a raw body (accepting the graphql-response media type) and returns status, headers
/// and the JSON body.
async fn post_raw(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", GRAPHQL_RESPONSE)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, headers, body)
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

const PROGRAMME: &str = "Programme:140800:yc-lead-specialties";

fn create_unit(name: &str) -> String {
    format!(
        "createUnit(input: {{ programmeId: \"{PROGRAMME}\", kind: SPECIALTY, nameZh: {n}, nameEn: {n} }}) {{ id }}",
        n = serde_json::to_string(name).unwrap()
    )
}

/// Every unit of the node (id → Chinese name).
async fn units(client: &reqwest::Client, url: &str) -> Vec<(String, String)> {
    let d = data_as(
        client,
        url,
        &admin(),
        "{ units(first: 200) { pageInfo { hasNextPage } edges { node { id nameZh } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        d["units"]["pageInfo"]["hasNextPage"], false,
        "one page holds them"
    );
    let mut out: Vec<(String, String)> = d["units"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["id"].as_str().unwrap().to_owned(),
                e["node"]["nameZh"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn hostile_documents_and_bodies_are_refused_with_their_code_and_write_nothing() {
    let node = TestNode::start(
        serving::GraphqlConfig::default(),
        test_support::auth_config(),
    )
    .await;
    let client = reqwest::Client::new();
    let before = units(&client, &node.url).await;
    let t = admin();
    let limits = serving::GraphqlConfig::default();

    // Each case carries a mutation that would create a unit if it ran.
    let alias_bomb = format!(
        "mutation {{ {} }}",
        (0..=limits.max_aliases)
            .map(|i| format!("a{i}: {}", create_unit("alias bomb")))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let token_bomb = format!(
        "mutation {{ {} {} }}",
        create_unit("token bomb"),
        "__typename ".repeat(limits.max_tokens)
    );
    // Unit → programme → units → edges → node → programme …: 4 levels a turn.
    let mut deep = "id".to_owned();
    for _ in 0..5 {
        deep = format!("programme {{ units(first: 1) {{ edges {{ node {{ {deep} }} }} }} }}");
    }
    let deep = format!(
        "mutation {{ {} }}",
        create_unit("deep").replace("{ id }", &format!("{{ {deep} }}"))
    );
    // A fragment bomb: few tokens, no aliases, 10⁴ fields once spread out.
    let mut fragments = format!("fragment F0 on Mutation {{ {} }}", create_unit("wide"));
    for level in 1..=4 {
        fragments.push_str(&format!(
            " fragment F{level} on Mutation {{ {} }}",
            format!("...F{} ", level - 1).repeat(10)
        ));
    }
    let wide = format!("mutation {{ ...F4 }} {fragments}");
    // Each fragment spreads the next twice: 2³⁰ fields from a ~1 KB document. Measured in
    // linear time and refused before validation, which would visit every spread.
    let mut exponential = format!("fragment E0 on Mutation {{ {} }}", create_unit("exp"));
    for level in 1..=30 {
        exponential.push_str(&format!(
            " fragment E{level} on Mutation {{ ...E{p} ...E{p} }}",
            p = level - 1
        ));
    }
    let exponential = format!("mutation {{ ...E30 }} {exponential}");
    // The same padded past the parsed-document cache's size limit (64 KiB) with few tokens.
    let padded = format!("{exponential}{}", " ".repeat(70 * 1024));
    let cases = [
        (alias_bomb, "QUERY_TOO_MANY_ALIASES"),
        (token_bomb, "QUERY_TOO_MANY_TOKENS"),
        (deep, "QUERY_TOO_DEEP"),
        (wide, "QUERY_TOO_MANY_FIELDS"),
        (exponential.clone(), "QUERY_TOO_MANY_FIELDS"),
        (padded, "QUERY_TOO_MANY_FIELDS"),
    ];
    // Without a token too: the count runs before anything else would.
    let (status, _, b) = post_raw(
        &client,
        &node.url,
        None,
        json!({ "query": exponential }).to_string(),
    )
    .await;
    assert_eq!((status, code(&b)), (400, "QUERY_TOO_MANY_FIELDS"), "{b}");
    for (query, expected) in &cases {
        let body = json!({ "query": query }).to_string();
        let (status, _, b) = post_raw(&client, &node.url, Some(&t), body.clone()).await;
        assert_eq!((status, code(&b)), (400, *expected), "{b}");
        assert!(b.get("data").is_none(), "refused before execution: {b}");
        // The same with the plain JSON media type: 200 and the same code.
        let b = graphql_as(&client, &node.url, Some(&t), query, json!({})).await;
        assert_eq!(code(&b), *expected, "{b}");
    }

    // Each entity representation is a lookup: a list longer than the limit is refused whole.
    let reps = vec![
        json!({ "__typename": "Unit", "id": "Unit:140800:central-cardiology" });
        limits.max_representations + 1
    ];
    let (status, _, b) = post_raw(
        &client,
        &node.url,
        Some(&t),
        json!({
            "query": "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
            "variables": { "r": reps }
        })
        .to_string(),
    )
    .await;
    assert_eq!(
        (status, code(&b)),
        (400, "QUERY_TOO_MANY_REPRESENTATIONS"),
        "{b}"
    );
    let (status, _, b) = post_raw(
        &client,
        &node.url,
        Some(&t),
        json!({
            "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Unit { nameZh } } }",
            "variables": { "r": [{ "__typename": "Unit", "id": "Unit:140800:central-cardiology" }] }
        })
        .to_string(),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert!(b["data"]["_entities"][0]["nameZh"].is_string(), "{b}");

    // Bodies.
    let huge = format!(
        "{{\"query\": \"mutation($n: String!) {{ {} }}\", \"variables\": {{\"n\": \"{}\"}}}}",
        create_unit("x").replace("\"x\"", "$n").replace('"', "\\\""),
        "名".repeat(limits.max_body_bytes / 3 + 1)
    );
    let (status, _, b) = post_raw(&client, &node.url, Some(&t), huge).await;
    assert_eq!((status, code(&b)), (413, "PAYLOAD_TOO_LARGE"), "{b}");
    let oversized =
        json!({ "query": format!("{{ owner {{ code }} {} }}", " ".repeat(limits.max_body_bytes)) });
    let (status, _, b) = post_raw(&client, &node.url, Some(&t), oversized.to_string()).await;
    assert_eq!((status, code(&b)), (413, "PAYLOAD_TOO_LARGE"), "{b}");
    let nested = format!(
        "{{\"query\": \"{{ owner {{ code }} }}\", \"variables\": {{\"v\": {}{}}}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let mutation =
        json!({ "query": format!("mutation {{ {} }}", create_unit("malformed")) }).to_string();
    for body in [
        "{\"query\": ".to_owned(),
        "[1, 2, 3]".to_owned(),
        "{\"query\": 5}".to_owned(),
        "{\"variables\": {}}".to_owned(),
        mutation.replacen('{', "{\"variables\": \"not an object\", ", 1),
        mutation.replacen('{', "{\"operationName\": 7, ", 1),
        nested,
        String::new(),
    ] {
        let (status, _, b) = post_raw(&client, &node.url, Some(&t), body.clone()).await;
        let shown: String = body.chars().take(80).collect();
        assert_eq!((status, code(&b)), (400, "BAD_REQUEST"), "{shown}: {b}");
    }
    // A document that does not parse, and one naming an operation it lacks.
    let (status, _, b) = post_raw(
        &client,
        &node.url,
        Some(&t),
        json!({ "query": format!("mutation {{ {} ", create_unit("unparsed")) }).to_string(),
    )
    .await;
    assert_eq!((status, code(&b)), (400, "GRAPHQL_PARSE_FAILED"), "{b}");
    let (status, _, b) = post_raw(
        &client,
        &node.url,
        Some(&t),
        json!({ "query": format!("mutation M {{ {} }}", create_unit("unnamed")), "operationName": "N" })
            .to_string(),
    )
    .await;
    assert_eq!(status, 400, "{b}");
    assert_ne!(code(&b), "<none>", "{b}");

    // A name far longer than any name: a validation error naming the rule.
    let b = graphql_as(
        &client,
        &node.url,
        Some(&t),
        "mutation($n: String!) { createUnit(input: { programmeId: \"Programme:140800:yc-lead-specialties\", kind: SPECIALTY, nameZh: $n, nameEn: \"x\" }) { id } }",
        json!({ "n": "名".repeat(100_000) }),
    )
    .await;
    let shown: String = b.to_string().chars().take(400).collect();
    assert_eq!(code(&b), "VALIDATION_FAILED", "{shown}");
    assert_eq!(
        b["errors"][0]["extensions"]["violations"][0]["rule"], "TOO_LONG",
        "{shown}"
    );

    assert_eq!(
        units(&client, &node.url).await,
        before,
        "nothing was written"
    );
    node.stop().await;
}

/// Strings that look like SQL, markup, templates or paths are data: stored and returned
/// byte for byte, on SQLite and PostgreSQL; control characters are refused on both.
#[tokio::test]
async fn injection_like_strings_are_stored_and_returned_verbatim() {
    let strings = [
        "'; DROP TABLE unit; --",
        "Robert'); DELETE FROM change_log WHERE ('1'='1",
        "\" OR \"1\"=\"1",
        "<script>alert('兴医')</script>",
        "{{7*7}} ${7*7} #{7*7} %s %n",
        "../../../etc/passwd",
        "\\x27 \\u0027 \\\\ \\",
        "\u{202e}gnp.exe \u{200b} 𠀀 🏥 \u{feff} format characters",
        "$n @include(if: true) { __schema { types { name } } }",
    ];
    let mut nodes = vec![(
        "sqlite",
        TestNode::start(
            serving::GraphqlConfig::default(),
            test_support::auth_config(),
        )
        .await,
    )];
    let pg = test_support::postgres("hostile_strings").await;
    if let Some(db) = &pg {
        nodes.push((
            "postgres",
            TestNode::start_on(
                db.config.clone(),
                serving::GraphqlConfig::default(),
                test_support::auth_config(),
            )
            .await,
        ));
    }
    let client = reqwest::Client::new();
    for (backend, node) in nodes {
        let before = units(&client, &node.url).await;
        for s in strings {
            let d = data_as(
                &client,
                &node.url,
                &admin(),
                "mutation($n: String!) { createUnit(input: { programmeId: \"Programme:140800:yc-lead-specialties\", kind: SPECIALTY, nameZh: $n, nameEn: $n }) { id nameZh nameEn } }",
                json!({ "n": s }),
            )
            .await;
            assert_eq!(d["createUnit"]["nameZh"], s, "{backend}");
            let id = d["createUnit"]["id"].as_str().unwrap();
            let back = data_as(
                &client,
                &node.url,
                &admin(),
                "query($id: ID!) { unit(id: $id) { nameZh nameEn } }",
                json!({ "id": id }),
            )
            .await;
            assert_eq!(back["unit"]["nameZh"], s, "{backend}: read back");
            assert_eq!(back["unit"]["nameEn"], s, "{backend}: read back");
        }
        // Control characters are not data: NUL and ESC (which PostgreSQL's text cannot hold,
        // or a terminal would obey), and in names also tab and newline.
        for bad in [
            "nul \u{0} byte",
            "esc \u{1b}[31m red",
            "tab\tin a name",
            "line\nbreak",
        ] {
            let b = graphql_as(
                &client,
                &node.url,
                Some(&admin()),
                "mutation($n: String!) { createUnit(input: { programmeId: \"Programme:140800:yc-lead-specialties\", kind: SPECIALTY, nameZh: $n, nameEn: \"x\" }) { id } }",
                json!({ "n": bad }),
            )
            .await;
            assert_eq!(code(&b), "VALIDATION_FAILED", "{backend} {bad:?}: {b}");
            assert_eq!(
                b["errors"][0]["extensions"]["violations"][0]["rule"], "CONTROL_CHARACTER",
                "{backend} {bad:?}: {b}"
            );
        }
        let after = units(&client, &node.url).await;
        assert_eq!(
            after.len(),
            before.len() + strings.len(),
            "{backend}: every other unit is still there"
        );
        for u in &before {
            assert!(after.contains(u), "{backend}: {u:?} unchanged");
        }
        node.stop().await;
    }
}

#[tokio::test]
async fn introspection_and_graphiql_follow_the_configuration() {
    let client = reqwest::Client::new();
    let introspect = "{ __schema { queryType { name } } }";
    for on in [true, false] {
        let node = TestNode::start(
            serving::GraphqlConfig {
                introspection: on,
                playground: on,
                ..serving::GraphqlConfig::default()
            },
            test_support::auth_config(),
        )
        .await;
        let b = graphql_as(&client, &node.url, Some(&admin()), introspect, json!({})).await;
        if on {
            assert_eq!(b["data"]["__schema"]["queryType"]["name"], "Query", "{b}");
        } else {
            assert_eq!(code(&b), "INTROSPECTION_DISABLED", "{b}");
            assert!(b.get("data").is_none(), "{b}");
        }
        // Nor the federation SDL.
        let b = graphql_as(
            &client,
            &node.url,
            Some(&admin()),
            "{ _service { sdl } }",
            json!({}),
        )
        .await;
        if on {
            assert!(
                b["data"]["_service"]["sdl"]
                    .as_str()
                    .unwrap()
                    .contains("type Unit")
            );
        } else {
            assert_eq!(code(&b), "INTROSPECTION_DISABLED", "{b}");
        }
        // __typename is not introspection of the schema: always answered.
        let b = graphql_as(
            &client,
            &node.url,
            Some(&admin()),
            "{ __typename }",
            json!({}),
        )
        .await;
        assert_eq!(b["data"]["__typename"], "Query", "{b}");
        let resp = client
            .get(format!("{}/graphiql", node.base()))
            .send()
            .await
            .unwrap();
        if on {
            assert_eq!(resp.status(), 200);
            assert!(
                resp.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
            assert!(resp.text().await.unwrap().contains("/assets/graphiql."));
        } else {
            assert_eq!(resp.status(), 404);
        }
        // A browser opening the endpoint itself gets GraphiQL only when the playground is on.
        let browser = client
            .get(format!("{}/graphql", node.base()))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap();
        let html = browser.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html");
        assert_eq!(html, on, "GET /graphql from a browser, playground {on}");
        node.stop().await;
    }
}

#[tokio::test]
async fn cross_origin_calls_are_allowed_from_listed_origins_only() {
    let node = TestNode::start(
        serving::GraphqlConfig {
            cors_origins: vec!["https://dashboard.sxwjw.example".into()],
            ..serving::GraphqlConfig::default()
        },
        test_support::auth_config(),
    )
    .await;
    let client = reqwest::Client::new();
    for (origin, allowed) in [
        ("https://dashboard.sxwjw.example", true),
        ("https://evil.example", false),
    ] {
        let resp = client
            .request(reqwest::Method::OPTIONS, &node.url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
            .await
            .unwrap();
        let allow = resp
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned());
        if allowed {
            assert_eq!(allow.as_deref(), Some(origin));
            let headers = resp.headers()["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase();
            assert!(headers.contains("authorization"), "{headers}");
        } else {
            assert_eq!(allow, None, "{origin} gets no CORS grant");
        }
    }
    node.stop().await;

    // Without an allow-list no origin gets a grant.
    let node = TestNode::start(
        serving::GraphqlConfig::default(),
        test_support::auth_config(),
    )
    .await;
    let resp = client
        .post(&node.url)
        .header("origin", "https://dashboard.sxwjw.example")
        .bearer_auth(admin())
        .json(&json!({ "query": "{ owner { code } }" }))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    node.stop().await;
}

#[tokio::test]
async fn principals_and_addresses_over_their_rate_get_429_with_retry_after() {
    let client = reqwest::Client::new();
    let query = json!({ "query": "{ owner { code } }" }).to_string();
    // Per principal: a burst of 3, then refused; another principal is not affected.
    let node = TestNode::start(
        serving::GraphqlConfig {
            rate_limit: serving::RateLimitConfig {
                per_principal_per_s: 1,
                principal_burst: 3,
                per_address_per_s: 0,
                ..serving::RateLimitConfig::default()
            },
            ..serving::GraphqlConfig::default()
        },
        test_support::auth_config(),
    )
    .await;
    let editor = token(auth::Role::CityEditor, Some(YUNCHENG));
    for i in 0..3 {
        let (s, _, b) = post_raw(&client, &node.url, Some(&editor), query.clone()).await;
        assert_eq!(s, 200, "request {i} is inside the burst: {b}");
    }
    let mut refused = None;
    for _ in 0..5 {
        let (s, h, b) = post_raw(&client, &node.url, Some(&editor), query.clone()).await;
        if s == 429 {
            refused = Some((h, b));
            break;
        }
    }
    let (h, b) = refused.expect("a principal over its rate is refused");
    assert_eq!(code(&b), "RATE_LIMITED");
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let (s, _, b) = post_raw(&client, &node.url, Some(&admin()), query.clone()).await;
    assert_eq!(s, 200, "another principal still passes: {b}");
    node.stop().await;

    // Per address, for callers without credentials: anonymous requests share the address's
    // burst; callers with a token are not counted against it (a hub or an office carries many
    // principals from one address).
    let node = TestNode::start(
        serving::GraphqlConfig {
            rate_limit: serving::RateLimitConfig {
                per_principal_per_s: 0,
                per_address_per_s: 1,
                address_burst: 2,
                ..serving::RateLimitConfig::default()
            },
            ..serving::GraphqlConfig::default()
        },
        test_support::auth_config(),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (s, _, b) = post_raw(&client, &node.url, None, query.clone()).await;
        if s == 429 {
            assert_eq!(code(&b), "RATE_LIMITED");
        }
        statuses.push(s);
    }
    assert_eq!(
        &statuses[..2],
        &[401, 401],
        "the burst reaches the handler (and is refused there: no anonymous reading)"
    );
    assert!(
        statuses.contains(&429),
        "then the address is refused: {statuses:?}"
    );
    for t in [&editor, &admin(), &editor] {
        let (s, _, b) = post_raw(&client, &node.url, Some(t), query.clone()).await;
        assert_eq!(
            s, 200,
            "a token is limited per principal, not per address: {b}"
        );
    }
    // On every route, not only GraphQL (the limit is a layer in front of them all).
    let resp = client
        .get(format!("{}/sync/digest", node.base()))
        .send()
        .await
        .unwrap();
    let (h, s) = (resp.headers().clone(), resp.status().as_u16());
    let b: Value = resp.json().await.unwrap();
    assert_eq!((s, code(&b)), (429, "RATE_LIMITED"), "{b}");
    assert!(h.contains_key("retry-after"));
    node.stop().await;
}

#[tokio::test]
async fn a_request_over_its_time_out_is_cancelled_with_a_clear_code() {
    // The node never answers; the hub's node time-out (10 s) is longer than its own request
    // time-out (300 ms), so the request time-out answers.
    let (url, _) = fake_node(Fault::Hang).await;
    let hub = TestHub::start_with(
        vec![(LINFEN, url)],
        10_000,
        province_hub::registry::BreakerConfig::default(),
        serving::GraphqlConfig {
            timeout_ms: 300,
            ..serving::GraphqlConfig::default()
        },
    )
    .await;
    let client = reqwest::Client::new();
    let viewer = token(auth::Role::ProvinceViewer, None);
    let (status, _, b) = post_raw(
        &client,
        &hub.url,
        Some(&viewer),
        json!({ "query": "{ city(code: \"141000\", consistency: LIVE) { owner { code } } }" })
            .to_string(),
    )
    .await;
    assert_eq!((status, code(&b)), (503, "REQUEST_TIMEOUT"), "{b}");
    hub.stop().await;
}

#[tokio::test]
async fn a_request_over_its_computing_budget_is_cancelled_with_a_clear_code() {
    // Forty aliased copies of a unit list with its plan items: within every static limit,
    // and more than a 1 ms computing budget.
    let copies: String = (0..40)
        .map(|i| {
            format!(
                "u{i}: units(first: 200) {{ nodes {{ id nameZh nameEn kind planItems(first: 50) {{ nodes {{ id text category year }} }} }} }} "
            )
        })
        .collect();
    let query = format!("{{ {copies} }}");
    let viewer = token(auth::Role::ProvinceViewer, None);
    let client = reqwest::Client::new();
    for (budget, expect) in [(1, "QUERY_CPU_BUDGET"), (0, "")] {
        let node = TestNode::start(
            serving::GraphqlConfig {
                cpu_budget_ms: budget,
                ..serving::GraphqlConfig::default()
            },
            test_support::auth_config(),
        )
        .await;
        let (status, _, b) = post_raw(
            &client,
            &node.url,
            Some(&viewer),
            json!({ "query": query }).to_string(),
        )
        .await;
        if expect.is_empty() {
            assert_eq!(status, 200, "{b}");
            assert!(b["data"]["u39"]["nodes"].is_array(), "{b}");
        } else {
            assert_eq!((status, code(&b)), (503, expect), "{b}");
            // The server goes on answering.
            let ok = data_as(&client, &node.url, &viewer, "{ owner { code } }", json!({})).await;
            assert_eq!(ok["owner"]["code"], "140800");
        }
        node.stop().await;
    }
}

#[tokio::test]
async fn anonymous_reading_when_configured_covers_public_data_only() {
    let client = reqwest::Client::new();
    let node = TestNode::start(
        serving::GraphqlConfig::default(),
        auth::AuthConfig {
            anonymous_read: true,
            ..test_support::auth_config()
        },
    )
    .await;
    let b = graphql_as(
        &client,
        &node.url,
        None,
        "{ owner { code } programmes(first: 5) { edges { node { id } } } }",
        json!({}),
    )
    .await;
    assert!(b.get("errors").is_none(), "{b}");
    assert_eq!(b["data"]["owner"]["code"], "140800");
    // Progress reports are not public.
    let b = graphql_as(
        &client,
        &node.url,
        None,
        "{ actuals(first: 1) { edges { node { id } } } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
    // Nor is writing.
    let before = units(&client, &node.url).await;
    let b = graphql_as(
        &client,
        &node.url,
        None,
        &format!("mutation {{ {} }}", create_unit("anonymous")),
        json!({}),
    )
    .await;
    assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
    assert_eq!(units(&client, &node.url).await, before);
    // A bad token is refused even where anonymous reading is on (never downgraded).
    let (status, h, b) = post_raw(
        &client,
        &node.url,
        Some("not-a-token"),
        json!({ "query": "{ owner { code } }" }).to_string(),
    )
    .await;
    assert_eq!((status, code(&b)), (401, "UNAUTHENTICATED"), "{b}");
    assert!(h.contains_key("www-authenticate"));
    node.stop().await;

    // Off (the default): anonymous reads are refused.
    let node = TestNode::start(
        serving::GraphqlConfig::default(),
        test_support::auth_config(),
    )
    .await;
    let b = graphql_as(&client, &node.url, None, "{ owner { code } }", json!({})).await;
    assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
    node.stop().await;
}

/// A request of many refused writes is one stored refusal (each is still logged), and the
/// stored target is bounded however large the arguments.
#[tokio::test]
async fn refused_writes_are_stored_once_per_request_with_a_bounded_target() {
    let node = TestNode::start(
        serving::GraphqlConfig::default(),
        test_support::auth_config(),
    )
    .await;
    let client = reqwest::Client::new();
    let refusals = |client: reqwest::Client, url: String| async move {
        data_as(
            &client,
            &url,
            &admin(),
            "{ refusedWrites(first: 200) { actor operation target } }",
            json!({}),
        )
        .await["refusedWrites"]
            .as_array()
            .unwrap()
            .clone()
    };
    let before = refusals(client.clone(), node.url.clone()).await.len();
    let viewer = token(auth::Role::ProvinceViewer, None);
    let bomb = format!(
        "mutation {{ {} }}",
        (0..50)
            .map(|i| format!("d{i}: deleteUnit(id: \"Unit:140800:central-cardiology\") {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let b = graphql_as(&client, &node.url, Some(&viewer), &bomb, json!({})).await;
    assert_eq!(
        b["errors"].as_array().unwrap().len(),
        50,
        "every field refused"
    );
    assert_eq!(code(&b), "FORBIDDEN");
    let csv = "indicator,2021\n".to_owned() + &"beds_added,1\n".repeat(20_000);
    let b = graphql_as(
        &client,
        &node.url,
        Some(&viewer),
        "mutation($csv: String!) { importUnitActuals(unitId: \"Unit:140800:central-cardiology\", csv: $csv, dryRun: false) { committed } }",
        json!({ "csv": csv }),
    )
    .await;
    assert_eq!(
        code(&b),
        "FORBIDDEN",
        "{}",
        b.to_string().chars().take(300).collect::<String>()
    );
    let after = refusals(client.clone(), node.url.clone()).await;
    assert_eq!(after.len(), before + 2, "one per request: {after:?}");
    let import = after
        .iter()
        .find(|r| r["operation"] == "importUnitActuals")
        .unwrap();
    assert!(import["target"].as_str().unwrap().chars().count() <= 501);
    assert!(
        import["target"]
            .as_str()
            .unwrap()
            .contains("Unit:140800:central-cardiology")
    );
    node.stop().await;
}

/// Every error a client can get carries `extensions.code`, including values GraphQL's own
/// coercion refuses (an `Int` outside 32 bits, inline or in variables).
#[tokio::test]
async fn out_of_range_and_mistyped_values_are_refused_with_a_code() {
    let node = TestNode::start(
        serving::GraphqlConfig::default(),
        test_support::auth_config(),
    )
    .await;
    let client = reqwest::Client::new();
    let t = admin();
    for (query, variables) in [
        ("{ units(first: 3000000000) { totalCount } }", json!({})),
        (
            "query($n: Int) { units(first: $n) { totalCount } }",
            json!({ "n": 3_000_000_000_i64 }),
        ),
        (
            "query($n: Int) { units(first: $n) { totalCount } }",
            json!({ "n": "ten" }),
        ),
        ("{ units(first: -1) { totalCount } }", json!({})),
    ] {
        let b = graphql_as(&client, &node.url, Some(&t), query, variables.clone()).await;
        let errors = b["errors"].as_array().expect("an error");
        for e in errors {
            assert!(
                matches!(
                    e["extensions"]["code"].as_str(),
                    Some("BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED" | "VALIDATION_FAILED")
                ),
                "{query} {variables}: the client's fault, with a code: {b}"
            );
        }
    }
    node.stop().await;
}

/// Values no aggregate can hold are refused at the node's door, on SQLite and PostgreSQL, so
/// they can never reach (and stop) a replica's roll-up: 1e308 (two of them overflow a
/// PostgreSQL sum), 2^63 as a count, a note past the passage limit, NUL and ESC in a note.
#[tokio::test]
async fn values_no_aggregate_can_hold_are_refused_at_the_node() {
    let mut nodes = vec![(
        "sqlite",
        TestNode::start(
            serving::GraphqlConfig::default(),
            test_support::auth_config(),
        )
        .await,
    )];
    let pg = test_support::postgres("hostile_values").await;
    if let Some(db) = &pg {
        nodes.push((
            "postgres",
            TestNode::start_on(
                db.config.clone(),
                serving::GraphqlConfig::default(),
                test_support::auth_config(),
            )
            .await,
        ));
    }
    let client = reqwest::Client::new();
    let create = "mutation($v: Float!, $n: String) { createActual(input: { indicator: \"beds_added\", period: \"2020\", scope: { kind: UNIT, id: \"Unit:140800:central-cardiology\" }, value: $v, note: $n }) { id } }";
    for (backend, node) in nodes {
        for (value, note, rule) in [
            (json!(1e308), json!(null), "OUT_OF_RANGE"),
            (
                json!(9_223_372_036_854_775_808.0_f64),
                json!(null),
                "OUT_OF_RANGE",
            ),
            (json!(1), json!("字".repeat(4001)), "TOO_LONG"),
            (json!(1), json!("nul \u{0}"), "CONTROL_CHARACTER"),
            (json!(1), json!("esc \u{1b}[2J"), "CONTROL_CHARACTER"),
        ] {
            let b = graphql_as(
                &client,
                &node.url,
                Some(&admin()),
                create,
                json!({ "v": value, "n": note }),
            )
            .await;
            assert_eq!(code(&b), "VALIDATION_FAILED", "{backend} {value}: {b}");
            assert_eq!(
                b["errors"][0]["extensions"]["violations"][0]["rule"], rule,
                "{backend} {value}: {b}"
            );
        }
        // The largest accepted value is accepted (twice: the hub sums them without overflow).
        for _ in 0..2 {
            let b = graphql_as(
                &client,
                &node.url,
                Some(&admin()),
                create,
                json!({ "v": model::error::MAX_MAGNITUDE, "n": "上限" }),
            )
            .await;
            assert!(b["errors"].is_null(), "{backend}: {b}");
        }
        node.stop().await;
    }
}
