//! Shared helpers: a seeded subgraph per backend, and GraphQL execution returning JSON.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use async_graphql::{Request, Variables};
use model::RegionCode;
use serde_json::Value;

/// A seeded subgraph on one backend, with the database kept alive.
pub struct Seeded {
    pub backend: &'static str,
    pub schema: city_schema::CitySchema,
    pub store: store::Store,
    _db: test_support::TestDb,
}

/// The subgraph of `owner`, seeded from the documents, on SQLite and on PostgreSQL.
pub async fn seeded(owner: RegionCode, label: &str) -> Vec<Seeded> {
    let mut out = Vec::new();
    for db in test_support::databases(label).await {
        let store = db.store(owner).await;
        seed::load::load(&store).await.unwrap();
        // Requests act as the region's admin unless a test says otherwise (request data
        // overrides this schema-level default).
        let access = if owner.is_province() {
            test_support::access(auth::Role::ProvinceAdmin, None)
        } else {
            test_support::access(auth::Role::CityAdmin, Some(owner))
        };
        let schema = city_schema::schema_builder()
            .data(store.clone())
            .data(access)
            .finish();
        out.push(Seeded {
            backend: db.backend,
            schema,
            store,
            _db: db,
        });
    }
    out
}

/// Runs a query; returns the whole response (`data`, `errors`) as JSON.
pub async fn run(schema: &city_schema::CitySchema, query: &str, vars: Value) -> Value {
    let resp = schema
        .execute(Request::new(query).variables(Variables::from_json(vars)))
        .await;
    serde_json::to_value(&resp).unwrap()
}

/// Runs a query that must succeed; returns `data`.
pub async fn data(schema: &city_schema::CitySchema, query: &str, vars: Value) -> Value {
    let resp = run(schema, query, vars).await;
    assert!(
        resp.get("errors")
            .is_none_or(|e| e.as_array().is_none_or(Vec::is_empty)),
        "errors: {resp:#}"
    );
    resp["data"].clone()
}

/// Every node of a connection, following `pageInfo.endCursor` until the end.
pub async fn all_nodes(schema: &city_schema::CitySchema, query: &str, path: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let d = data(schema, query, serde_json::json!({ "after": after })).await;
        let mut conn = &d;
        for p in path {
            conn = &conn[*p];
        }
        out.extend(conn["nodes"].as_array().unwrap().iter().cloned());
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return out;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
}
