//! The hub's `@defer` directive, declared so that validation accepts it and introspection shows it.
//! Executing a document ignores it: the HTTP layer (`serving::defer`) splits a deferred query
//! into the documents it runs and delivers their parts over `multipart/mixed`; a client that
//! does not accept that gets the whole answer at once, as the directive allows. Nodes do not
//! declare it: the hub never forwards it (see `delegate::document`).

use std::borrow::Cow;

use async_graphql::{
    CustomDirective, CustomDirectiveFactory, ServerResult,
    indexmap::IndexMap,
    parser::types::Directive,
    registry::{__DirectiveLocation, Deprecation, MetaDirective, MetaInputValue, Registry},
};

/// `directive @defer(if: Boolean! = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Defer;

struct Inert;

impl CustomDirective for Inert {}

fn argument(name: &str, ty: &str, default: Option<&str>, description: &str) -> MetaInputValue {
    MetaInputValue {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        ty: ty.to_owned(),
        deprecation: Deprecation::NoDeprecated,
        default_value: default.map(str::to_owned),
        visible: None,
        inaccessible: false,
        tags: Vec::new(),
        is_secret: false,
        directive_invocations: Vec::new(),
    }
}

impl CustomDirectiveFactory for Defer {
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("defer")
    }

    fn register(&self, registry: &mut Registry) {
        let mut args = IndexMap::new();
        args.insert(
            "if".to_owned(),
            argument(
                "if",
                "Boolean!",
                Some("true"),
                "Defer only when true (the fragment is otherwise part of the first answer).",
            ),
        );
        args.insert(
            "label".to_owned(),
            argument(
                "label",
                "String",
                None,
                "Echoed in the part that delivers this fragment.",
            ),
        );
        registry.add_directive(MetaDirective {
            name: "defer".to_owned(),
            description: Some(
                "Deliver this fragment later, in its own part of a `multipart/mixed` answer \
                 (incremental delivery, deferSpec=20220824), once it is ready: the rest of the \
                 query does not wait for it. A client that does not accept `multipart/mixed` \
                 gets the whole answer at once."
                    .to_owned(),
            ),
            locations: vec![
                __DirectiveLocation::FRAGMENT_SPREAD,
                __DirectiveLocation::INLINE_FRAGMENT,
            ],
            args,
            is_repeatable: false,
            visible: None,
            composable: None,
        });
    }

    fn create(
        &self,
        _ctx: &async_graphql::ContextDirective<'_>,
        _directive: &Directive,
    ) -> ServerResult<Box<dyn CustomDirective>> {
        // Only called for directives on fields, where `@defer` is not allowed.
        Ok(Box::new(Inert))
    }
}
