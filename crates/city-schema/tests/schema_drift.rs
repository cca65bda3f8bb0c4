//! `schema/city.graphql` is exported from code; this test fails when they drift apart and
//! rewrites the file when run with `UPDATE_SCHEMA=1`.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

#[test]
fn city_subgraph_sdl_matches_schema_file() {
    test_support::assert_schema_file(
        "city.graphql",
        &city_schema::sdl(),
        "UPDATE_SCHEMA=1 cargo test -p city-schema --test schema_drift",
    );
}

#[test]
fn city_subgraph_is_a_federation_v2_subgraph_with_three_entities() {
    let sdl = city_schema::sdl();
    assert!(
        sdl.contains("url: \"https://specs.apollo.dev/federation/v2"),
        "federation v2 link missing"
    );
    for entity in ["Programme", "Institution", "Unit"] {
        let entity = format!("type {entity} implements Node @key(fields: \"id\")");
        assert!(sdl.contains(&entity), "{entity} missing from\n{sdl}");
    }
}
