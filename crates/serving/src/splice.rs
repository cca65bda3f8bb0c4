//! Answers another server wrote, passed through as the bytes it wrote.
//!
//! The hub answers a city's fields with the JSON the city's node returned for exactly that
//! selection. Turning those bytes into GraphQL values and writing them out again costs the hub
//! more than anything else it does on a delegated request, and changes nothing. So a resolver
//! that holds such bytes hands the executor a *placeholder* instead — a string no client can
//! write, unique to the request — and [`Splices::substitute`] puts the bytes in its place once
//! the response is serialised.
//!
//! A request that carries no [`Splices`] (a multipart `@defer` answer, whose parts are cut
//! from the values; an in-process execution) gets values as before: [`Splices`] is an offer a
//! resolver may take, never a requirement.
//!
//! Safety of the substitution:
//! - the placeholder carries a random 128-bit nonce drawn per request, so no data the server
//!   holds (a name a user typed) can be taken for one;
//! - it is replaced in one pass over the serialised response *before* any bytes go in, so bytes
//!   spliced in are never searched again;
//! - the bytes are a JSON value the node's response parsed as (`serde_json::value::RawValue`
//!   checks its syntax), so the response stays well-formed JSON.

use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;

/// The bytes to splice into one response, as request data (`ctx.data_opt::<Splices>()`).
#[derive(Debug, Clone)]
pub struct Splices(Arc<Table>);

#[derive(Debug)]
struct Table {
    /// `xingyi-splice-<nonce>-`: a placeholder is this and the part's index. Drawn when the
    /// first part is taken (most requests take none).
    prefix: std::sync::OnceLock<String>,
    parts: Mutex<Vec<Box<RawValue>>>,
}

impl Default for Splices {
    fn default() -> Self {
        Self::new()
    }
}

impl Splices {
    /// An empty table (its nonce is drawn when a part is first taken).
    pub fn new() -> Self {
        Self(Arc::new(Table {
            prefix: std::sync::OnceLock::new(),
            parts: Mutex::new(Vec::new()),
        }))
    }

    fn prefix(&self) -> &str {
        self.0
            .prefix
            .get_or_init(|| format!("xingyi-splice-{}-", uuid::Uuid::new_v4().simple()))
    }

    /// Keeps `json` and returns the placeholder to resolve the field with.
    pub fn placeholder(&self, json: Box<RawValue>) -> String {
        let mut parts = self.0.parts.lock().unwrap_or_else(|e| e.into_inner());
        parts.push(json);
        format!("{}{}", self.prefix(), parts.len() - 1)
    }

    /// Whether any part was taken (when none was, the response is sent as serialised).
    pub fn is_empty(&self) -> bool {
        self.0
            .parts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// `body` (a serialised response) with every placeholder, quotes included, replaced by
    /// the bytes it stands for. A placeholder whose part is unknown is left as it is (it
    /// cannot occur: only [`placeholder`](Self::placeholder) writes them).
    pub fn substitute(&self, body: String) -> String {
        let parts = self.0.parts.lock().unwrap_or_else(|e| e.into_inner());
        if parts.is_empty() {
            return body;
        }
        // The prefix is ASCII without quotes or backslashes: serialised, it is itself.
        let needle = format!("\"{}", self.prefix());
        let extra: usize = parts.iter().map(|p| p.get().len()).sum();
        let mut out = String::with_capacity(body.len() + extra);
        let mut rest = body.as_str();
        while let Some(at) = rest.find(&needle) {
            let after = &rest[at + needle.len()..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let part = after[..digits]
                .parse::<usize>()
                .ok()
                .filter(|_| after.as_bytes().get(digits) == Some(&b'"'))
                .and_then(|i| parts.get(i));
            match part {
                Some(json) => {
                    out.push_str(&rest[..at]);
                    out.push_str(json.get());
                    rest = &after[digits + 1..];
                }
                None => {
                    out.push_str(&rest[..at + needle.len()]);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn placeholders_become_the_bytes_they_stand_for_in_one_pass() {
        let s = Splices::new();
        assert!(s.is_empty());
        let a = s.placeholder(raw(r#"{"totalCount":3,"nodes":[{"nameZh":"心血管内科"}]}"#));
        // A part that itself looks like a placeholder is not searched again.
        let b = s.placeholder(raw(&format!(r#"["{}0"]"#, s.prefix())));
        let body = serde_json::to_string(&serde_json::json!({
            "data": { "city": { "code": "140800", "units": a, "x": b, "y": null } }
        }))
        .unwrap();
        let out = s.substitute(body);
        assert_eq!(
            out,
            format!(
                r#"{{"data":{{"city":{{"code":"140800","units":{{"totalCount":3,"nodes":[{{"nameZh":"心血管内科"}}]}},"x":["{}0"],"y":null}}}}}}"#,
                s.prefix()
            )
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["data"]["city"]["units"]["totalCount"], 3);
    }

    #[test]
    fn another_requests_placeholder_or_a_lookalike_is_left_alone() {
        let s = Splices::new();
        let other = Splices::new();
        let mine = s.placeholder(raw("1"));
        let theirs = other.placeholder(raw("2"));
        let body = serde_json::to_string(&serde_json::json!([
            mine,
            theirs,
            format!("{}9", s.prefix()),
            format!("{}0x", s.prefix()),
        ]))
        .unwrap();
        let out = s.substitute(body);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[0], 1);
        assert_eq!(v[1], theirs.as_str(), "another request's nonce is not ours");
        assert_eq!(v[2], format!("{}9", s.prefix()), "no such part");
        assert_eq!(v[3], format!("{}0x", s.prefix()), "not a whole placeholder");
    }

    #[test]
    fn nothing_taken_leaves_the_body_as_it_is() {
        let s = Splices::new();
        let body = r#"{"data":{"a":"b"}}"#.to_owned();
        assert_eq!(s.substitute(body.clone()), body);
    }
}
