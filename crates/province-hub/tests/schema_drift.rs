//! `schema/province.graphql` and `schema/hub.graphql` are exported from code; these tests fail
//! when they drift apart and rewrite the files when run with `UPDATE_SCHEMA=1`.

const REFRESH: &str = "UPDATE_SCHEMA=1 cargo test -p province-hub --test schema_drift";

#[test]
fn province_subgraph_sdl_matches_schema_file() {
    test_support::assert_schema_file("province.graphql", &province_hub::province_sdl(), REFRESH);
}

#[test]
fn hub_sdl_matches_schema_file() {
    test_support::assert_schema_file("hub.graphql", &province_hub::hub::hub_sdl(), REFRESH);
}
