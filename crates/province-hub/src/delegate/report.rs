//! `extensions.freshness` of a response: where each city's part of a list spliced from several
//! cities (`Programme.cityProgrammes`) came from — its node or the hub's replica — and how
//! fresh it is, as `City.freshness` says it for `cities` and `city`. One entry per city and
//! list: `{ path, city, answeredBy, stale, notice }` (the sequences are `City.freshness`'s).

use std::sync::{Arc, Mutex};

use async_graphql::{
    PathSegment, Request, Response, ServerResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest},
};
use model::RegionCode;

use crate::status::{AnsweredBy, Freshness};

/// The entries one request collects (request data).
#[derive(Debug, Default)]
pub struct FreshnessReport {
    entries: Mutex<Vec<serde_json::Value>>,
}

impl FreshnessReport {
    /// Records that `city`'s part of the list at `path` was answered as `f` says.
    pub fn record(&self, path: &[PathSegment], city: RegionCode, f: &Freshness) {
        let path: Vec<serde_json::Value> = path
            .iter()
            .map(|p| match p {
                PathSegment::Field(name) => serde_json::Value::String(name.clone()),
                PathSegment::Index(i) => serde_json::Value::from(*i),
            })
            .collect();
        let entry = serde_json::json!({
            "path": path,
            "city": city.to_string(),
            "answeredBy": match f.answered_by {
                AnsweredBy::Live => "LIVE",
                AnsweredBy::Replica => "REPLICA",
                AnsweredBy::None => "NONE",
                AnsweredBy::Province => "PROVINCE",
            },
            "stale": f.stale,
            "notice": f.notice,
        });
        self.lock().push(entry);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<serde_json::Value>> {
        match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn take(&self) -> Vec<serde_json::Value> {
        std::mem::take(&mut *self.lock())
    }
}

/// The schema extension: gives each request a [`FreshnessReport`] and puts its entries in the
/// response's `extensions.freshness` (left out when there are none).
#[derive(Debug, Default)]
pub struct FreshnessReporting;

impl ExtensionFactory for FreshnessReporting {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Reporter {
            report: Arc::default(),
        })
    }
}

struct Reporter {
    report: Arc<FreshnessReport>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Reporter {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        next.run(ctx, request.data(self.report.clone())).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let resp = next.run(ctx, operation_name).await;
        let entries = self.report.take();
        if entries.is_empty() {
            return resp;
        }
        match Value::from_json(serde_json::Value::Array(entries)) {
            Ok(v) => resp.extension("freshness", v),
            Err(_) => resp,
        }
    }
}
