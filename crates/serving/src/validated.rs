//! Validation results kept per request shape: a schema extension that remembers what
//! validation found (complexity, depth, cache control) for a document, operation name and
//! variables it has validated successfully, and answers the same request from memory next time.
//!
//! Clients — and the hub, delegating — send the same documents over and over; the parsed
//! document is already cached (`graphql::DocumentCache`), and validation was the next share of
//! each request's CPU. The key is the whole request text (document, operation name, variables
//! as JSON): nothing else goes into validation (the schema is fixed for the process and no
//! field's visibility depends on the caller), so a kept result is exactly what validating again
//! would give. Failures are never kept. Only requests up to [`MAX_KEY_BYTES`] are kept, so the
//! cache stays small whatever clients send.

use std::sync::{Arc, Mutex};

use async_graphql::{
    Request, ServerError, ServerResult, ValidationResult,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextValidation,
    },
};

/// The longest request text (document, name and variables together) whose result is kept.
pub const MAX_KEY_BYTES: usize = 8 * 1024;

/// The kept results, shared by every request of a schema.
#[derive(Debug)]
pub struct ValidatedDocuments(Mutex<lru::LruCache<String, ValidationResult>>);

impl ValidatedDocuments {
    /// At most `capacity` results (at least 1).
    pub fn new(capacity: usize) -> Self {
        let cap =
            std::num::NonZeroUsize::new(capacity.max(1)).unwrap_or(std::num::NonZeroUsize::MIN);
        Self(Mutex::new(lru::LruCache::new(cap)))
    }

    fn get(&self, key: &str) -> Option<ValidationResult> {
        self.0.lock().ok()?.get(key).copied()
    }

    fn put(&self, key: String, result: ValidationResult) {
        if let Ok(mut c) = self.0.lock() {
            c.put(key, result);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map(|c| c.len()).unwrap_or(0)
    }
}

/// The schema extension (`SchemaBuilder::extension(KeepValidated::new(256))`).
#[derive(Debug, Clone)]
pub struct KeepValidated(Arc<ValidatedDocuments>);

impl KeepValidated {
    /// Keeps up to `capacity` validation results.
    pub fn new(capacity: usize) -> Self {
        Self(Arc::new(ValidatedDocuments::new(capacity)))
    }
}

impl ExtensionFactory for KeepValidated {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Keeping {
            kept: self.0.clone(),
            key: Mutex::new(None),
        })
    }
}

/// One request's view: its key, taken in `prepare_request` and used in `validation`.
struct Keeping {
    kept: Arc<ValidatedDocuments>,
    key: Mutex<Option<String>>,
}

/// The request's key, or `None` when it is too long to keep.
fn key_of(request: &Request) -> Option<String> {
    let name = request.operation_name.as_deref().unwrap_or("");
    if request.query.len() + name.len() > MAX_KEY_BYTES {
        return None;
    }
    let variables = serde_json::to_string(&request.variables).ok()?;
    let len = request.query.len() + name.len() + variables.len() + 2;
    if len > MAX_KEY_BYTES {
        return None;
    }
    let mut key = String::with_capacity(len);
    key.push_str(&request.query);
    key.push('\0');
    key.push_str(name);
    key.push('\0');
    key.push_str(&variables);
    Some(key)
}

#[async_graphql::async_trait::async_trait]
impl Extension for Keeping {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = next.run(ctx, request).await?;
        if let Ok(mut k) = self.key.lock() {
            *k = key_of(&request);
        }
        Ok(request)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let key = self.key.lock().ok().and_then(|mut k| k.take());
        if let Some(kept) = key.as_deref().and_then(|k| self.kept.get(k)) {
            metrics::counter!("xingyi_validation_cache_total", "result" => "hit").increment(1);
            return Ok(kept);
        }
        let result = next.run(ctx).await?;
        if let Some(key) = key {
            metrics::counter!("xingyi_validation_cache_total", "result" => "miss").increment(1);
            self.kept.put(key, result);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::*;

    struct Query;

    #[Object]
    impl Query {
        async fn a(&self, n: i32) -> i32 {
            n
        }
    }

    #[tokio::test]
    async fn a_request_validated_once_is_answered_from_memory_and_failures_are_not_kept() {
        let keep = KeepValidated::new(8);
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .extension(keep.clone())
            .finish();
        let run = |q: &str, vars: serde_json::Value| {
            schema.execute(Request::new(q).variables(async_graphql::Variables::from_json(vars)))
        };
        let q = "query($n: Int!) { a(n: $n) }";
        let first = run(q, serde_json::json!({ "n": 1 })).await;
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        assert_eq!(keep.0.len(), 1);
        let again = run(q, serde_json::json!({ "n": 1 })).await;
        assert_eq!(again.data, first.data);
        assert_eq!(keep.0.len(), 1, "the same request is one entry");
        // Other variables are another request: validated, then kept.
        let other = run(q, serde_json::json!({ "n": 2 })).await;
        assert_eq!(other.data.to_string(), "{a: 2}");
        assert_eq!(keep.0.len(), 2);
        // A document that fails validation fails every time and is never kept.
        for _ in 0..2 {
            let bad = run("{ b }", serde_json::json!({})).await;
            assert!(!bad.errors.is_empty());
        }
        assert_eq!(keep.0.len(), 2);
        // Too long to keep: still validated, not kept.
        let long = format!("{{ a(n: 1) }} #{}", "x".repeat(MAX_KEY_BYTES));
        assert!(run(&long, serde_json::json!({})).await.errors.is_empty());
        assert_eq!(keep.0.len(), 2);
    }
}
