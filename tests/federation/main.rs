//! Whole-system tests: one binary, one module per scenario.

mod compose;
mod graphql_http;
mod local_mode;
