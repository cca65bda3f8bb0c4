//! Keyset pagination. Every table has a unique `sort_key`; a cursor is that key, base64-encoded
//! so clients treat it as opaque. Pages are stable under inserts elsewhere in the list.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use model::Violations;

use crate::Error;

/// Largest page a caller may ask for.
pub const MAX_PAGE: u64 = 200;
/// Page size when the caller does not say.
pub const DEFAULT_PAGE: u64 = 50;

/// What page to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items (1..=MAX_PAGE); `None` means [`DEFAULT_PAGE`].
    pub first: Option<i32>,
    /// Cursor of the last item already seen.
    pub after: Option<String>,
}

impl PageRequest {
    /// Checks bounds and decodes the cursor: `(limit, sort key to start after)`.
    pub fn resolve(&self) -> Result<(u64, Option<String>), Error> {
        let mut v = Violations::new();
        let limit = match self.first {
            None => DEFAULT_PAGE,
            Some(n) if n >= 1 && (n as u64) <= MAX_PAGE => n as u64,
            Some(_) => {
                v.push(
                    "first",
                    "OUT_OF_RANGE",
                    format!("must be between 1 and {MAX_PAGE}"),
                );
                0
            }
        };
        let after = match &self.after {
            None => None,
            Some(c) => match decode_cursor(c) {
                Some(k) => Some(k),
                None => {
                    v.push("after", "BAD_CURSOR", "not a cursor returned by this API");
                    None
                }
            },
        };
        v.into_result().map_err(Error::Invalid)?;
        Ok((limit, after))
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// Cursor of each item (same order).
    pub cursors: Vec<String>,
    /// True when more items follow.
    pub has_next_page: bool,
    /// Number of items matching the filter, across all pages.
    pub total_count: u64,
}

/// Encodes a sort key as a cursor.
pub fn encode_cursor(sort_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(sort_key.as_bytes())
}

/// Decodes a cursor; `None` if it is not one of ours.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let k = "central-cardiology|202001|01|x";
        assert_eq!(decode_cursor(&encode_cursor(k)).as_deref(), Some(k));
        assert_eq!(decode_cursor("!!!"), None);
    }

    #[test]
    fn page_bounds() {
        assert_eq!(
            PageRequest::default().resolve().unwrap(),
            (DEFAULT_PAGE, None)
        );
        for bad in [0, -1, 201] {
            let err = PageRequest {
                first: Some(bad),
                after: None,
            }
            .resolve()
            .unwrap_err();
            assert!(matches!(err, Error::Invalid(_)), "{bad}");
        }
        let err = PageRequest {
            first: None,
            after: Some("@@".into()),
        }
        .resolve()
        .unwrap_err();
        let Error::Invalid(v) = err else { panic!() };
        assert_eq!(v.0[0].field, "after");
    }
}
