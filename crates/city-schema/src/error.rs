//! The GraphQL boundary's errors: one stable `extensions.code` per kind of failure. Internal
//! causes are logged once here and replaced by a generic message.

use async_graphql::{ErrorExtensions, Value};

pub use codes::Code;

/// An error with this code.
pub fn coded(code: Code, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
}

/// A `VALIDATION_FAILED` error listing every violation.
pub fn validation(v: &model::Violations) -> async_graphql::Error {
    let first = v.0.first().map(|e| e.field.clone()).unwrap_or_default();
    let list: Vec<Value> =
        v.0.iter()
            .map(|e| {
                let mut m = async_graphql::indexmap::IndexMap::new();
                m.insert(
                    async_graphql::Name::new("field"),
                    Value::from(e.field.clone()),
                );
                m.insert(async_graphql::Name::new("rule"), Value::from(e.rule));
                m.insert(
                    async_graphql::Name::new("message"),
                    Value::from(e.message.clone()),
                );
                Value::Object(m)
            })
            .collect();
    async_graphql::Error::new(format!("invalid input: {v}")).extend_with(|_, e| {
        e.set("code", Code::ValidationFailed.as_str());
        e.set("field", first.clone());
        e.set("violations", Value::List(list.clone()));
    })
}

/// A `VALIDATION_FAILED` error on one field.
pub fn invalid(
    field: &str,
    rule: &'static str,
    message: impl Into<String>,
) -> async_graphql::Error {
    validation(&model::Violations(vec![model::ValidationError::new(
        field, rule, message,
    )]))
}

/// Maps a store error onto the GraphQL boundary.
pub fn from_store(e: store::Error) -> async_graphql::Error {
    match e {
        store::Error::Invalid(v) => validation(&v),
        store::Error::NotFound { kind, id } => {
            coded(Code::NotFound, format!("{kind} `{id}` not found"))
        }
        store::Error::Conflict { kind, id } => {
            coded(Code::Conflict, format!("{kind} `{id}` already exists"))
        }
        store::Error::Stale {
            kind,
            id,
            expected,
            current,
        } => coded(
            Code::StaleVersion,
            format!("{kind} `{id}` is at version {current}, not {expected}; reload and retry"),
        )
        .extend_with(|_, e| e.set("currentVersion", current)),
        other => {
            tracing::error!(error = ?other, "store failure behind a GraphQL request");
            coded(Code::Internal, "internal error")
        }
    }
}

/// `Result` alias for resolvers.
pub type GqlResult<T> = async_graphql::Result<T>;

/// Converts store results in resolvers: `store.x().await.gql()?`.
pub trait StoreResultExt<T> {
    /// Maps the error with [`from_store`].
    fn gql(self) -> GqlResult<T>;
}

impl<T> StoreResultExt<T> for store::Result<T> {
    fn gql(self) -> GqlResult<T> {
        self.map_err(from_store)
    }
}
