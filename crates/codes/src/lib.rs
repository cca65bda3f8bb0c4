//! The one vocabulary of error codes that xingyi's servers answer with: GraphQL errors carry one
//! in `extensions.code`, the sync endpoints in the JSON refusal's `code`. Each code has the HTTP
//! status of a response refused with it and a meaning for people; README.md lists them all (a
//! test keeps that table equal to this file).
//!
//! Finer reasons live inside a code: `VALIDATION_FAILED` and `SYNC_MALFORMED` list violations
//! whose `rule` names the broken rule (`BAD_ID`, `NEGATIVE`, …), and token refusals are logged
//! with their reason but answered as `UNAUTHENTICATED`.

use std::fmt;

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $text:literal, $status:literal, $stage:ident; )*) => {
        /// A stable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Code {
            /// Every code, in the order the README lists them.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The code as clients see it (SHOUTY_SNAKE).
            pub const fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $text, )* }
            }

            /// The HTTP status of a response that this code refuses as a whole. Errors of
            /// execution ride in a `200` GraphQL response next to the data they spare; their
            /// status applies where an endpoint answers with the error alone (the sync
            /// endpoints).
            pub const fn status(self) -> u16 {
                match self { $( Code::$variant => $status, )* }
            }

            /// When the code is given.
            pub const fn stage(self) -> Stage {
                match self { $( Code::$variant => Stage::$stage, )* }
            }

            /// What it means, for the README's table and for people reading logs.
            pub fn meaning(self) -> &'static str {
                match self { $( Code::$variant => concat!($($doc),*).trim(), )* }
            }
        }
    };
}

/// When a code is given, which decides how a GraphQL response carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The HTTP request is refused before it is read as GraphQL: the status always applies.
    Request,
    /// The GraphQL document is refused before execution: the status applies under
    /// `application/graphql-response+json`; under `application/json` the response is `200`
    /// (GraphQL over HTTP).
    Document,
    /// A field failed during execution: a `200` response with the error at its path.
    Execution,
    /// A sync endpoint refused the call: the status always applies.
    Sync,
}

codes! {
    /// The body or query string is not a GraphQL request (not JSON, no `query`, bad `variables`).
    BadRequest = "BAD_REQUEST", 400, Request;
    /// The request's `Content-Type` is not `application/json`.
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", 415, Request;
    /// The `Accept` header names no media type the server answers with.
    NotAcceptable = "NOT_ACCEPTABLE", 406, Request;
    /// A mutation sent with `GET` (mutations need `POST`).
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405, Request;
    /// The body is larger than `graphql.max_body_bytes` (or the sync endpoints' limit).
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", 413, Request;
    /// Too many requests from this address or token; `Retry-After` says when to retry.
    RateLimited = "RATE_LIMITED", 429, Request;
    /// The request ran longer than `graphql.timeout_ms` and was stopped.
    RequestTimeout = "REQUEST_TIMEOUT", 503, Request;
    /// The request spent more than `graphql.cpu_budget_ms` of computing and was stopped.
    QueryCpuBudget = "QUERY_CPU_BUDGET", 503, Request;
    /// No valid token where one is needed (missing, expired, badly signed, wrong issuer …).
    Unauthenticated = "UNAUTHENTICATED", 401, Request;
    /// The token is valid but its role or city may not do this; the message names what would.
    Forbidden = "FORBIDDEN", 403, Request;
    /// The document is not GraphQL (the message gives line and column).
    GraphqlParseFailed = "GRAPHQL_PARSE_FAILED", 400, Document;
    /// The document does not fit the schema (unknown field, wrong argument type …).
    GraphqlValidationFailed = "GRAPHQL_VALIDATION_FAILED", 400, Document;
    /// The document has more lexical tokens than `graphql.max_tokens`.
    QueryTooManyTokens = "QUERY_TOO_MANY_TOKENS", 400, Document;
    /// The document nests deeper than `graphql.max_depth`.
    QueryTooDeep = "QUERY_TOO_DEEP", 400, Document;
    /// The document's estimated cost is above `graphql.max_complexity`.
    QueryTooComplex = "QUERY_TOO_COMPLEX", 400, Document;
    /// The document selects more fields than `graphql.max_fields`.
    QueryTooManyFields = "QUERY_TOO_MANY_FIELDS", 400, Document;
    /// The document uses more aliases than `graphql.max_aliases`.
    QueryTooManyAliases = "QUERY_TOO_MANY_ALIASES", 400, Document;
    /// `_entities` was asked for more representations than `graphql.max_representations`.
    QueryTooManyRepresentations = "QUERY_TOO_MANY_REPRESENTATIONS", 400, Document;
    /// Introspection is switched off on this server (`graphql.introspection = false`).
    IntrospectionDisabled = "INTROSPECTION_DISABLED", 400, Document;
    /// An argument's value cannot be coerced to its type (an `Int` beyond 32 bits …).
    BadUserInput = "BAD_USER_INPUT", 400, Execution;
    /// The input breaks a rule: `extensions.field` names the first offending field and
    /// `extensions.violations` lists every `{ field, rule, message }`; nothing is written.
    ValidationFailed = "VALIDATION_FAILED", 400, Execution;
    /// The record does not exist on this server.
    NotFound = "NOT_FOUND", 404, Execution;
    /// A record with this id already exists.
    Conflict = "CONFLICT", 409, Execution;
    /// The `expectedVersion` is out of date; `extensions.currentVersion` is the record's.
    StaleVersion = "STALE_VERSION", 409, Execution;
    /// The hub has no node registered for this city.
    CityNotRegistered = "CITY_NOT_REGISTERED", 404, Execution;
    /// The city's node cannot be reached, or its circuit breaker is open; `extensions.city`
    /// names the city (never the node's address).
    CityUnavailable = "CITY_UNAVAILABLE", 502, Execution;
    /// The city's node did not answer within `[[nodes]] timeout_ms`.
    CityTimeout = "CITY_TIMEOUT", 504, Execution;
    /// The city's node answered, but not with a GraphQL response.
    CityError = "CITY_ERROR", 502, Execution;
    /// `consistency: REPLICA` was asked for a city the hub keeps no replica of.
    CityNoReplica = "CITY_NO_REPLICA", 404, Execution;
    /// Something failed inside the server; its log has the details (and the request id).
    Internal = "INTERNAL", 500, Execution;
    /// A push does not continue the hub's copy; `expected_seq` is the sequence it needs next.
    SyncGap = "SYNC_GAP", 409, Sync;
    /// The pushed changes belong to another history of the node's database (restored from a
    /// backup): the node must send a snapshot.
    SyncHistory = "SYNC_HISTORY", 409, Sync;
    /// The sync message cannot be applied; `violations` names the offending fields.
    SyncMalformed = "SYNC_MALFORMED", 400, Sync;
    /// A push carries more changes than the hub takes at once; `max_batch` says how many.
    SyncBatchTooLarge = "SYNC_BATCH_TOO_LARGE", 413, Sync;
    /// The hub keeps no replica of the pushing city.
    SyncUnknownCity = "SYNC_UNKNOWN_CITY", 404, Sync;
    /// A node's `/sync/rows/{table}` was asked for a table it does not have.
    SyncUnknownTable = "SYNC_UNKNOWN_TABLE", 404, Sync;
    /// The hub answered a node's push with something other than a refusal (a proxy's error
    /// page): reported by the node, in its sync status, with the HTTP status.
    SyncHttp = "SYNC_HTTP", 502, Sync;
}

impl Code {
    /// Whether a refusal with this code is the caller's to fix (a `4xx`).
    pub const fn is_client_error(self) -> bool {
        self.status() >= 400 && self.status() < 500
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that is no code of this vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCode(pub String);

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an xingyi error code", self.0)
    }
}

impl std::error::Error for UnknownCode {}

impl std::str::FromStr for Code {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, UnknownCode> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The README's table of codes (Markdown), as the README must hold it.
pub fn markdown_table() -> String {
    let mut out = String::from("| code | HTTP | meaning |\n|---|---|---|\n");
    for c in Code::ALL {
        let status = match c.stage() {
            Stage::Execution => format!("200 (field error; {} alone)", c.status()),
            Stage::Document => format!("{} (`200` under `application/json`)", c.status()),
            Stage::Request | Stage::Sync => c.status().to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            c.as_str(),
            status,
            c.meaning()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_shouty_snake_unique_and_round_trips() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(
                s.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_'),
                "{s}"
            );
            assert!(seen.insert(s), "{s} twice");
            assert_eq!(s.parse::<Code>(), Ok(*c));
            let json = serde_json::to_string(c).expect("serialise");
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Code>(&json).expect("parse"), *c);
            assert!(!c.meaning().is_empty(), "{s} has no meaning");
            assert!((400..600).contains(&c.status()), "{s}");
        }
        assert_eq!(
            "NOPE".parse::<Code>(),
            Err(UnknownCode("NOPE".into())),
            "unknown text is refused"
        );
    }

    #[test]
    fn statuses_follow_the_kind_of_refusal() {
        assert_eq!(Code::Unauthenticated.status(), 401);
        assert_eq!(Code::Forbidden.status(), 403);
        assert!(Code::GraphqlParseFailed.is_client_error());
        assert!(!Code::Internal.is_client_error());
        assert!(!Code::CityTimeout.is_client_error());
    }

    #[test]
    fn meanings_join_doc_lines() {
        assert!(
            Code::CityUnavailable
                .meaning()
                .contains("open; `extensions.city`"),
            "{}",
            Code::CityUnavailable.meaning()
        );
    }

    /// README.md lists every code, exactly as this crate defines them.
    #[test]
    fn readme_lists_every_code() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .expect("README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's table of error codes differs from crates/codes; put this there:\n{table}"
        );
    }
}
