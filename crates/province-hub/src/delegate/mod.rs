//! Delegation: forwarding the exact sub-selection a caller asked of a city to that city's node,
//! and splicing the answer back in.
//!
//! - [`document`]: prints the forwarded document from the caller's syntax tree.
//! - [`client`]: calls a node over HTTP (keep-alive pool, time-out, `Authorization` forwarded).
//! - [`batch`]: `Programme.cityProgrammes`, batched across parents and fanned out to nodes.
//!
//! The typed wrapper around a node's JSON answer is `city_schema::splice::Delegated`.

pub mod batch;
pub mod client;
pub mod document;
pub mod report;
