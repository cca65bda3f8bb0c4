//! Upward sync between city nodes and the province hub.
//!
//! Each node's writes land in its change log (the outbox, `store::changes`) in the same
//! transaction as the data. A [`node`] task pushes that log to the hub in bounded batches; the
//! [`hub`] applies each batch to its replica of the city in one transaction with the city's
//! cursor. Nothing is lost (the node resends from the hub's cursor after any failure) and
//! nothing is applied twice (the cursor skips what it has). A new or wiped replica is rebuilt
//! from the node's snapshot; [`verify`] compares the two sides table by table.
//!
//! # Layout
//! - [`protocol`]: the messages and refusal codes.
//! - [`node`]: the pusher and the node's read-only sync routes.
//! - [`hub`]: replicas, the apply endpoint, sync state.
//! - [`verify`]: digest comparison.
//! - [`restore`]: rebuilding a lost node from the hub's replica.

pub mod hub;
pub mod node;
pub mod protocol;
pub mod restore;
pub mod verify;
