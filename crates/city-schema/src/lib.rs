//! The programme subgraph: an Apollo Federation v2 subgraph over one server's store.
//!
//! Every city node serves it over its own database; the province hub serves the same types over
//! its database (the province subgraph). Global ids name the owning region, so the hub can route
//! any id without a lookup. `Programme`, `Institution` and `Unit` are entities (`@key(fields:
//! "id")`). This crate does not know about HTTP.
//!
//! # Layout
//! - [`build_schema`], [`sdl`]: the entry points.
//! - [`query`], [`mutation`]: root fields and federation entity resolvers.
//! - [`types`], [`connection`], [`inputs`], [`enums`]: the schema's types.
//! - [`error`]: stable `extensions.code`s.
//! - [`access`]: who may read and write (the rules are `auth`'s).
//! - [`splice`]: answers computed elsewhere, spliced in as typed values.

pub mod access;
pub mod connection;
pub mod enums;
pub mod error;
pub mod inputs;
pub mod mutation;
pub mod query;
pub mod splice;
pub mod table;
pub mod types;

use async_graphql::{EmptySubscription, SDLExportOptions, Schema, SchemaBuilder};

pub use error::Code;
pub use mutation::Mutation;
pub use query::{NodeQuery, ProgrammeQuery, Query};

/// The subgraph's schema type.
pub type CitySchema = Schema<Query, Mutation, EmptySubscription>;

/// A builder with the subgraph's types and federation enabled, for servers to add limits and
/// data to (`.data(store).finish()`).
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation, EmptySubscription)
        .enable_federation()
        .extension(access::AccessRules)
}

/// The subgraph over `store`.
pub fn build_schema(store: store::Store) -> CitySchema {
    schema_builder().data(store).finish()
}

/// The federation SDL of the subgraph (what `_service { sdl }` answers and `schema/*.graphql` holds).
pub fn sdl() -> String {
    schema_builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive())
}
