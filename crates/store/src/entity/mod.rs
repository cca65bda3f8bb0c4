//! sea-orm entities, one module per table. Every table has a text primary key `id` (the local
//! part of the global id), a `version` bumped on each write (carried in change records to the
//! replicas), and a unique `sort_key` that fixes list order and backs keyset pagination.
//! These structs never leave the server as they are: the GraphQL crates map them explicitly.

pub mod actual;
pub mod change_log;
pub mod change_seq;
pub mod component;
pub mod document;
pub mod indicator;
pub mod institution;
pub mod meta;
pub mod plan_item;
pub mod programme;
pub mod refusal;
pub mod target;
pub mod unit;
pub mod upstream;
