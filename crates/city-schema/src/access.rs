//! The access rules at the GraphQL boundary (the rules themselves live in `auth`):
//!
//! - [`AccessRules`], a schema extension: a document with a query operation is refused before
//!   execution unless the request's principal may read this server's region.
//! - [`Private`], a field guard: progress reports, audit trails and similar non-public fields
//!   need an authenticated caller even where anonymous reading is on.
//! - [`writer`]: every mutation asks it for the store; it checks the principal may write this
//!   server's region, records a refused attempt (who, when, which mutation, its arguments),
//!   and hands back the store acting as the principal, so the audit trail names them.
//!
//! A request without [`auth::Access`] in its data (a schema executed directly, in process) is
//! anonymous without anonymous reading: it can do nothing.

use std::sync::Arc;

use async_graphql::{
    Context, ErrorExtensions, Guard, ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, OperationType},
};
use auth::{Access, Refusal, WriteKind};

/// The request's access (anonymous, no anonymous reading, when absent).
pub fn access<'a>(ctx: &Context<'a>) -> Access {
    ctx.data_opt::<Access>().cloned().unwrap_or_default()
}

/// A refusal as a GraphQL error with its stable code.
pub fn refused(r: &Refusal) -> async_graphql::Error {
    async_graphql::Error::new(r.message.clone()).extend_with(|_, e| e.set("code", r.code.as_str()))
}

/// The schema extension that checks reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessRules;

impl ExtensionFactory for AccessRules {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AccessRules)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for AccessRules {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let reads = doc
            .operations
            .iter()
            .any(|(_, op)| op.node.ty != OperationType::Mutation);
        if reads {
            let owner = ctx
                .data::<store::Store>()
                .map_err(|e| ServerError::new(e.message, None))?
                .owner();
            let access = ctx.data_opt::<Access>().cloned().unwrap_or_default();
            if let Err(r) = access.read(owner) {
                let mut e = ServerError::new(r.message, None);
                e.extensions
                    .get_or_insert_with(Default::default)
                    .set("code", r.code.as_str());
                return Err(e);
            }
        }
        Ok(doc)
    }
}

/// Guard for non-public fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct Private;

impl Guard for Private {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        access(ctx).principal.private().map_err(|r| refused(&r))
    }
}

/// Guard for fields only a region's admins read (refused attempts): `province_admin`, or the
/// `city_admin` of this server's city.
#[derive(Debug, Clone, Copy, Default)]
pub struct Admin;

impl Guard for Admin {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let owner = ctx.data::<store::Store>()?.owner();
        let a = access(ctx);
        a.read(owner).map_err(|r| refused(&r))?;
        match a.principal.subject() {
            Some(s)
                if s.role == auth::Role::ProvinceAdmin
                    || (s.role == auth::Role::CityAdmin && s.city == Some(owner)) =>
            {
                Ok(())
            }
            _ => Err(refused(&Refusal {
                code: codes::Code::Forbidden,
                message: "refused attempts are shown to province_admin and the city's city_admin"
                    .into(),
            })),
        }
    }
}

/// Longest `target` stored with a refused write, in characters.
const MAX_TARGET_CHARS: usize = 500;

/// The store for a mutation of `kind`, acting as the request's principal — or the refusal,
/// recorded (the first of a request; every one is logged).
pub async fn writer(ctx: &Context<'_>, kind: WriteKind) -> async_graphql::Result<store::Store> {
    let store = ctx.data::<store::Store>()?;
    let a = access(ctx);
    if let Err(r) = a.principal.write(store.owner(), kind) {
        let field = ctx.field();
        let mut target = field
            .arguments()
            .map(|args| {
                args.iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        // The arguments name the target; a CSV import's table is not needed to know it.
        if let Some((cut, _)) = target.char_indices().nth(MAX_TARGET_CHARS) {
            target.truncate(cut);
            target.push('…');
        }
        let actor = a.principal.actor();
        tracing::warn!(
            actor = %actor,
            operation = field.name(),
            code = r.code.as_str(),
            "refused a write"
        );
        // One stored refusal per request (the rest are logged above).
        let first = ctx
            .data_opt::<auth::RefusalRecorded>()
            .is_none_or(auth::RefusalRecorded::first);
        if !first {
            return Err(refused(&r));
        }
        if let Err(e) = store
            .record_refusal(store::refusals::NewRefusal {
                actor: &actor,
                operation: field.name(),
                target: &target,
                code: r.code.as_str(),
                message: &r.message,
            })
            .await
        {
            tracing::error!(error = %e, "cannot record a refused write");
        }
        return Err(refused(&r));
    }
    Ok(store.acting_as(&a.principal.actor()))
}
