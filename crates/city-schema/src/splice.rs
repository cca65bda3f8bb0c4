//! Splicing answers computed elsewhere (by a city node, for the hub) into a response.
//! [`Delegated<T>`] has the GraphQL type of `T` — so the schema stays fully typed and
//! introspectable — but resolves to the JSON another server returned for exactly that
//! selection: the subtree is not re-resolved field by field. [`Spliced<T>`] is either a local
//! `T` or such an answer, for fields that mix both.

use std::{borrow::Cow, marker::PhantomData};

use async_graphql::{
    ContextSelectionSet, OutputType, Positioned, ServerResult, Value, parser::types::Field,
    registry::Registry,
};

/// A subtree answered by a city node, typed as `T`.
#[derive(Debug, Clone)]
pub struct Delegated<T> {
    value: Value,
    _type: PhantomData<fn() -> T>,
}

impl<T> Delegated<T> {
    /// Wraps the node's answer for one field.
    pub fn new(value: Value) -> Self {
        Self {
            value,
            _type: PhantomData,
        }
    }
}

impl<T: OutputType> OutputType for Delegated<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        Ok(self.value.clone())
    }
}

/// A value resolved here (`Local`) or answered elsewhere for this exact selection (`Remote`).
#[derive(Debug, Clone)]
pub enum Spliced<T> {
    /// Resolved by this server.
    Local(T),
    /// Another server's answer for this field's selection.
    Remote(Value),
}

impl<T: OutputType> OutputType for Spliced<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match self {
            Self::Local(t) => t.resolve(ctx, field).await,
            Self::Remote(v) => Ok(v.clone()),
        }
    }
}

/// Where `Programme.cityProgrammes` comes from when a server can see further than its own
/// database: the hub installs one that asks every city node (batched, in parallel). Without
/// one, a server answers from its own database.
pub trait ImplementingProgrammes: Send + Sync {
    /// The programmes implementing or following `parent` (a global id), each as the JSON its
    /// owner answered for the current field's selection.
    fn resolve<'a>(
        &'a self,
        ctx: &'a async_graphql::Context<'_>,
        parent: String,
        consistency: crate::enums::Consistency,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = async_graphql::Result<Vec<Value>>> + Send + 'a>,
    >;
}

/// The installed [`ImplementingProgrammes`], as schema data.
#[derive(Clone)]
pub struct ImplementingSource(pub std::sync::Arc<dyn ImplementingProgrammes>);

impl std::fmt::Debug for ImplementingSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImplementingSource")
    }
}
