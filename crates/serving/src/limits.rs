//! Limits on what one request may ask, checked before execution, and rate limits per principal
//! and per address.
//!
//! Depth and complexity are async-graphql's own (`Schema::limit_depth` / `limit_complexity`,
//! set where each schema is built). This module adds what it lacks:
//! - a **token** limit, counted by a small lexer before the document is parsed, so a huge or
//!   pathological document costs a linear scan and never a parse;
//! - a **field** and an **alias** limit over the parsed document with every fragment spread
//!   written out (counted in linear time: fragments that spread each other twice per level
//!   ask for 2ⁿ fields, which async-graphql's validation would visit one by one; one field
//!   asked many times under different names multiplies the work while depth stays small);
//! - **rate limits** (GCRA, `governor`) keyed by the token's subject and by the peer address.

use std::{
    collections::HashSet,
    net::IpAddr,
    num::NonZeroU32,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};

/// Rate limits of `/graphql`, in `[graphql.rate_limit]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Sustained requests per second one principal (a token's role, city and subject) may
    /// make, wherever it calls from; 0 turns the limit off.
    pub per_principal_per_s: u32,
    /// Requests a principal may make at once above the sustained rate.
    pub principal_burst: u32,
    /// Sustained requests per second without credentials (no `Authorization`) from one peer
    /// address; 0 turns it off. Requests with a token are limited per principal instead.
    pub per_address_per_s: u32,
    /// Requests an address may make at once above the sustained rate.
    pub address_burst: u32,
    /// Peer addresses the per-address limit does not apply to (e.g. a health checker).
    pub exempt_addresses: Vec<IpAddr>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_principal_per_s: 50,
            principal_burst: 200,
            per_address_per_s: 100,
            address_burst: 400,
            exempt_addresses: Vec::new(),
        }
    }
}

impl RateLimitConfig {
    /// No rate limits (benchmarks).
    pub fn off() -> Self {
        Self {
            per_principal_per_s: 0,
            per_address_per_s: 0,
            ..Self::default()
        }
    }
}

/// How many checks between two clean-ups of idle keys.
const TIDY_EVERY: u64 = 4096;

/// The keyed rate limiters of one server.
#[derive(Debug)]
pub struct RateLimits {
    principal: Option<DefaultKeyedRateLimiter<String>>,
    address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    exempt: HashSet<IpAddr>,
    checks: AtomicU64,
}

fn quota(per_s: u32, burst: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(per_s)?;
    let burst = NonZeroU32::new(burst.max(per_s)).unwrap_or(rate);
    Some(Quota::per_second(rate).allow_burst(burst))
}

impl RateLimits {
    /// Limiters for `config`.
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            principal: quota(config.per_principal_per_s, config.principal_burst)
                .map(RateLimiter::keyed),
            address: quota(config.per_address_per_s, config.address_burst).map(RateLimiter::keyed),
            exempt: config.exempt_addresses.iter().copied().collect(),
            checks: AtomicU64::new(0),
        }
    }

    /// One request from `ip`: `Err(wait)` when the address is over its rate.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Duration> {
        self.tidy();
        match &self.address {
            Some(l) if !self.exempt.contains(&ip) => l.check_key(&ip).map_err(|not_until| {
                not_until.wait_time_from(governor::clock::DefaultClock::default().now())
            }),
            _ => Ok(()),
        }
    }

    /// One request by the principal `key`: `Err(wait)` when it is over its rate.
    pub fn check_principal(&self, key: &str) -> Result<(), Duration> {
        match &self.principal {
            Some(l) => l.check_key(&key.to_owned()).map_err(|not_until| {
                not_until.wait_time_from(governor::clock::DefaultClock::default().now())
            }),
            None => Ok(()),
        }
    }

    /// Forgets keys whose state is back at rest, so memory follows the active callers, not
    /// every address ever seen.
    fn tidy(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % TIDY_EVERY != TIDY_EVERY - 1 {
            return;
        }
        if let Some(l) = &self.principal {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.address {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// Counts the lexical tokens of a GraphQL document (punctuators, names, numbers, strings;
/// whitespace, commas and comments are ignored, as in the spec), stopping once `max` is
/// passed: `Err(n)` with `n > max` then.
pub fn check_tokens(query: &str, max: usize) -> Result<usize, usize> {
    let b = query.as_bytes();
    let mut i = 0;
    let mut n = 0usize;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                    i += if b[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'.' if b[i..].starts_with(b"...") => i += 3,
            c if c == b'_' || c.is_ascii_alphabetic() => {
                while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            c if c == b'-' || c.is_ascii_digit() => {
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'.'
                        || ((b[i] == b'+' || b[i] == b'-') && matches!(b[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
            }
            // A byte order mark is ignored.
            0xEF if b[i..].starts_with("\u{feff}".as_bytes()) => {
                i += 3;
                continue;
            }
            // Punctuators, and anything else (one token each; the parser reports it).
            _ => i += 1,
        }
        n += 1;
        if n > max {
            return Err(n);
        }
    }
    Ok(n)
}

/// What a document's operations ask for once every fragment spread is written out: the
/// work execution (and async-graphql's own validation, which visits each spread anew) would do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Fields selected, each spread of a fragment counting its fields again (a fragment with
    /// 50 fields spread twice counts 100; fragments spreading each other twice per level
    /// double per level). Saturating.
    pub fields: usize,
    /// Of those, the aliased ones. Saturating.
    pub aliases: usize,
}

impl Shape {
    fn add(self, other: Self) -> Self {
        Self {
            fields: self.fields.saturating_add(other.fields),
            aliases: self.aliases.saturating_add(other.aliases),
        }
    }
}

/// The [`Shape`] of `doc`'s operations, in time linear in the document's size: each fragment
/// is measured once and its spreads multiply the result, so `fragment F1 { ...F0 ...F0 }`
/// nested 30 deep costs 30 steps, not 2³⁰. A fragment cycle (refused later by validation)
/// counts once; unused fragments count nothing.
pub fn measure(doc: &ExecutableDocument) -> Shape {
    use std::collections::HashMap;

    struct Counter<'a> {
        doc: &'a ExecutableDocument,
        done: HashMap<&'a str, Shape>,
        active: HashSet<&'a str>,
    }

    impl<'a> Counter<'a> {
        fn walk(&mut self, set: &'a SelectionSet) -> Shape {
            set.items.iter().fold(Shape::default(), |n, s| {
                let here = match &s.node {
                    Selection::Field(f) => Shape {
                        fields: 1,
                        aliases: usize::from(f.node.alias.is_some()),
                    }
                    .add(self.walk(&f.node.selection_set.node)),
                    Selection::InlineFragment(f) => self.walk(&f.node.selection_set.node),
                    Selection::FragmentSpread(spread) => {
                        self.fragment(spread.node.fragment_name.node.as_str())
                    }
                };
                n.add(here)
            })
        }

        fn fragment(&mut self, name: &'a str) -> Shape {
            if let Some(n) = self.done.get(name) {
                return *n;
            }
            let Some((key, f)) = self.doc.fragments.get_key_value(name) else {
                return Shape::default();
            };
            if !self.active.insert(key.as_str()) {
                return Shape::default();
            }
            let n = self.walk(&f.node.selection_set.node);
            self.active.remove(key.as_str());
            self.done.insert(key.as_str(), n);
            n
        }
    }

    let mut counter = Counter {
        doc,
        done: HashMap::new(),
        active: HashSet::new(),
    };
    doc.operations.iter().fold(Shape::default(), |n, (_, op)| {
        n.add(counter.walk(&op.node.selection_set.node))
    })
}

/// Whether `doc` asks for the schema: introspection (`__schema`, `__type`) or the federation
/// SDL (`_service`), anywhere. `__typename` is not introspection of the schema and does not count.
pub fn asks_introspection(doc: &ExecutableDocument) -> bool {
    fn walk(set: &SelectionSet) -> bool {
        set.items.iter().any(|s| match &s.node {
            Selection::Field(f) => {
                matches!(
                    f.node.name.node.as_str(),
                    "__schema" | "__type" | "_service"
                ) || walk(&f.node.selection_set.node)
            }
            Selection::InlineFragment(f) => walk(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => false,
        })
    }
    doc.operations
        .iter()
        .any(|(_, op)| walk(&op.node.selection_set.node))
        || doc
            .fragments
            .values()
            .any(|f| walk(&f.node.selection_set.node))
}

/// The entity representations `doc` asks `_entities` for (written inline or passed as a
/// variable), over every `_entities` field anywhere; saturating.
pub fn count_representations(
    doc: &ExecutableDocument,
    variables: &async_graphql::Variables,
) -> usize {
    use async_graphql_value::{ConstValue, Value};

    fn walk(set: &SelectionSet, variables: &async_graphql::Variables) -> usize {
        set.items.iter().fold(0usize, |n, s| {
            let here = match &s.node {
                Selection::Field(f) => {
                    let own = if f.node.name.node.as_str() == "_entities" {
                        f.node
                            .arguments
                            .iter()
                            .filter(|(name, _)| name.node.as_str() == "representations")
                            .map(|(_, v)| match &v.node {
                                Value::List(items) => items.len(),
                                Value::Variable(name) => match variables.get(name) {
                                    Some(ConstValue::List(items)) => items.len(),
                                    _ => 0,
                                },
                                _ => 0,
                            })
                            .sum()
                    } else {
                        0
                    };
                    own.saturating_add(walk(&f.node.selection_set.node, variables))
                }
                Selection::InlineFragment(f) => walk(&f.node.selection_set.node, variables),
                Selection::FragmentSpread(_) => 0,
            };
            n.saturating_add(here)
        })
    }
    doc.operations
        .iter()
        .map(|(_, op)| walk(&op.node.selection_set.node, variables))
        .chain(
            doc.fragments
                .values()
                .map(|f| walk(&f.node.selection_set.node, variables)),
        )
        .fold(0usize, usize::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_as_the_spec_lexes_them() {
        assert_eq!(check_tokens("{ a }", 10), Ok(3));
        assert_eq!(
            check_tokens("query Q($x: Int = -1.5e+3) { a(x: $x) }", 100),
            Ok(19)
        );
        assert_eq!(
            check_tokens("# comment { { {\n{ a, b, c }", 100),
            Ok(5),
            "comments and commas are ignored"
        );
        assert_eq!(
            check_tokens(r#"{ a(s: "x \" { } y", t: """ { " } \""" """) }"#, 100),
            Ok(11),
            "strings are one token, with their escapes"
        );
        assert_eq!(check_tokens("{ ...F } fragment F on Q { a }", 100), Ok(11));
        assert_eq!(check_tokens("\u{feff}{ a }", 10), Ok(3));
        assert_eq!(
            check_tokens(&"{ a ".repeat(1000), 50),
            Err(51),
            "stops early"
        );
        assert_eq!(check_tokens("\"unterminated", 10), Ok(1));
    }

    #[test]
    fn aliases_are_counted_with_fragments_spread_out() {
        let count = |q: &str| measure(&async_graphql::parser::parse_query(q).unwrap()).aliases;
        assert_eq!(
            count("{ a: x b: x ... on Q { c: x } y { d: x } ...F } fragment F on Q { e: x f: x }"),
            6
        );
        assert_eq!(
            count("{ a: p { ...B } b: p { ...B } } fragment B on P { x: f y: f z: f }"),
            8,
            "a fragment spread twice counts twice"
        );
        assert_eq!(
            count("{ ...C } fragment C on Q { ...B ...B } fragment B on Q { x: f }"),
            2,
            "nested spreads multiply"
        );
        assert_eq!(
            count("{ ...A } fragment A on Q { x: f ...B } fragment B on Q { y: f ...A }"),
            2,
            "a cycle ends"
        );
        assert_eq!(
            count("fragment U on Q { x: f } { a }"),
            0,
            "unused fragments do not count"
        );
    }

    #[test]
    fn fields_are_counted_with_every_spread_written_out_in_linear_time() {
        let shape = |q: &str| measure(&async_graphql::parser::parse_query(q).unwrap());
        assert_eq!(shape("{ a b { c d } }").fields, 4);
        assert_eq!(
            shape("{ ...F x: a } fragment F on Q { a b { c } }"),
            Shape {
                fields: 4,
                aliases: 1
            }
        );
        // Each fragment spreads the next twice: 2^40 fields from a document of ~40 lines.
        let mut q = "{ ...F40 } fragment F0 on Q { a }".to_owned();
        for level in 1..=40 {
            q.push_str(&format!(
                " fragment F{level} on Q {{ ...F{p} ...F{p} }}",
                p = level - 1
            ));
        }
        assert_eq!(shape(&q).fields, 1 << 40);
        // 2^70 saturates rather than overflowing.
        for level in 41..=70 {
            q.push_str(&format!(
                " fragment F{level} on Q {{ ...F{p} ...F{p} }}",
                p = level - 1
            ));
        }
        let q = q.replacen("{ ...F40 }", "{ ...F70 }", 1);
        assert_eq!(shape(&q).fields, usize::MAX);
        assert_eq!(
            shape("{ ...A } fragment A on Q { x ...B } fragment B on Q { y ...A }").fields,
            2,
            "a cycle ends"
        );
    }

    #[test]
    fn entity_representations_are_counted_inline_and_in_variables() {
        let doc = async_graphql::parser::parse_query(
            "query($r: [_Any!]!) { a: _entities(representations: $r) { __typename } b: _entities(representations: [{__typename: \"P\"}, {__typename: \"P\"}]) { __typename } }",
        )
        .unwrap();
        let vars = async_graphql::Variables::from_json(serde_json::json!({
            "r": vec![serde_json::json!({ "__typename": "P", "id": "x" }); 5]
        }));
        assert_eq!(count_representations(&doc, &vars), 7);
        assert_eq!(
            count_representations(&doc, &async_graphql::Variables::default()),
            2,
            "a missing variable counts nothing (validation reports it)"
        );
    }

    #[test]
    fn introspection_is_found_anywhere_but_typename_is_not_it() {
        let asks = |q: &str| asks_introspection(&async_graphql::parser::parse_query(q).unwrap());
        assert!(asks("{ __schema { types { name } } }"));
        assert!(asks("{ a { ... on Q { __type(name: \"X\") { name } } } }"));
        assert!(asks(
            "{ ...F } fragment F on Query { b { __schema { queryType { name } } } }"
        ));
        assert!(asks("{ _service { sdl } }"));
        assert!(!asks("{ __typename a { __typename } }"));
    }

    #[test]
    fn a_principal_or_an_address_over_its_rate_waits_and_exempt_addresses_do_not() {
        let limits = RateLimits::new(&RateLimitConfig {
            per_principal_per_s: 1,
            principal_burst: 2,
            per_address_per_s: 1,
            address_burst: 3,
            exempt_addresses: vec!["10.0.0.9".parse().unwrap()],
        });
        assert!(limits.check_principal("a").is_ok());
        assert!(limits.check_principal("a").is_ok());
        let wait = limits.check_principal("a").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(limits.check_principal("b").is_ok(), "keys are separate");
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limits.check_address(ip).is_ok());
        }
        assert!(limits.check_address(ip).is_err());
        let hub: IpAddr = "10.0.0.9".parse().unwrap();
        for _ in 0..10 {
            assert!(limits.check_address(hub).is_ok());
        }
        let off = RateLimits::new(&RateLimitConfig::off());
        for _ in 0..1000 {
            assert!(off.check_principal("a").is_ok() && off.check_address(ip).is_ok());
        }
    }
}
