//! Whole-system tests: one binary, one module per scenario.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod breaker;
mod compare;
mod compose;
mod composites;
mod defer;
mod delegation;
mod graphql_http;
mod hostile;
mod local_mode;
mod operations;
mod partial_failure;
mod postgres_servers;
mod recovery;
mod security;
mod splice;
mod support;
mod sync;
