//! `schema/province.graphql` is exported from code; this test fails when they drift apart and
//! rewrites the file when run with `UPDATE_SCHEMA=1`.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::Path;

#[test]
fn province_subgraph_sdl_matches_schema_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/province.graphql");
    let sdl = province_hub::province_sdl();
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
            "schema/province.graphql is out of date (first difference at line {}); \
             run `UPDATE_SCHEMA=1 cargo test -p province-hub --test schema_drift` and commit it",
            first + 1
        );
    }
}

#[test]
fn hub_sdl_matches_schema_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/hub.graphql");
    let sdl = province_hub::hub::hub_sdl();
    if std::env::var("UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(&path, &sdl).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == sdl,
        "schema/hub.graphql is out of date; run `UPDATE_SCHEMA=1 cargo test -p province-hub --test schema_drift` and commit it"
    );
}
