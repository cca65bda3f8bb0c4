//! `schema/city.graphql` is exported from code; this test fails when they drift apart and
//! rewrites the file when run with `UPDATE_SCHEMA=1`.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::Path;

#[test]
fn city_subgraph_sdl_matches_schema_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/city.graphql");
    let sdl = city_schema::sdl();
    if std::env::var("UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(&path, &sdl).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != sdl {
        let first = on_disk
            .lines()
            .zip(sdl.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "schema/city.graphql is out of date (first difference at line {}: file {:?}, code {:?}); \
             run `UPDATE_SCHEMA=1 cargo test -p city-schema --test schema_drift` and commit it",
            first + 1,
            on_disk.lines().nth(first),
            sdl.lines().nth(first)
        );
    }
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
