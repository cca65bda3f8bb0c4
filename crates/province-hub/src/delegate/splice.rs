//! Splicing a node's answer into the hub's response. [`Delegated<T>`] has the GraphQL type of
//! `T` (so the hub's schema stays fully typed and introspectable) but resolves to the JSON the
//! node returned for exactly that selection: the subtree is not re-resolved field by field.

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
