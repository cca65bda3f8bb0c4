//! Citations. Every seeded fact names the document it comes from and quotes it verbatim, so a
//! reviewer (or a test) can find the number in the original text.

use serde::{Deserialize, Serialize};

use crate::Violations;

/// A source document (a government file or bulletin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Local id, e.g. `jinzhengfa-2018-16`.
    pub id: String,
    /// Document number (文号) such as `晋政发〔2018〕16号`; bulletins may have none.
    #[serde(default)]
    pub doc_number: Option<String>,
    /// Title.
    pub title: String,
    /// Issuing body.
    pub issuer: String,
    /// Date of issue, `YYYY-MM-DD`.
    pub issued_on: String,
    /// File name of the original text under `seeds/`.
    pub file: String,
}

impl Document {
    /// Checks required fields and the date shape.
    pub fn validate(&self) -> Violations {
        let mut v = Violations::new();
        v.check(
            crate::id::valid_local_id(&self.id),
            "id",
            "BAD_ID",
            "must be a local id slug",
        );
        v.optional_name("docNumber", self.doc_number.as_deref());
        v.require_name("title", &self.title);
        v.require_name("file", &self.file);
        v.require_name("issuer", &self.issuer);
        v.check(
            valid_date(&self.issued_on),
            "issuedOn",
            "BAD_DATE",
            "must be YYYY-MM-DD",
        );
        v
    }
}

/// A citation: which document, and the words in it that state the fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Local id of the [`Document`].
    pub document: String,
    /// The quoted words, verbatim from the document (whitespace may differ).
    pub quote: String,
}

impl Source {
    /// Checks both parts are present.
    pub fn validate(&self) -> Violations {
        let mut v = Violations::new();
        v.require_name("document", &self.document);
        v.require_text("quote", &self.quote);
        v
    }
}

/// True for a plausible `YYYY-MM-DD`.
pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    matches!((num(0..4), num(5..7), num(8..10)), (Some(y), Some(m), Some(d)) if (1949..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
}

/// Collapses all whitespace, so quotes can be matched against documents whose line breaks fall
/// mid-sentence.
pub fn normalise(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(valid_date("2020-11-04"));
        assert!(!valid_date("2020-13-04"));
        assert!(!valid_date("2020/11/04"));
        assert!(!valid_date("20-11-04"));
    }

    #[test]
    fn normalise_ignores_line_breaks() {
        assert_eq!(
            normalise("增加医师 10 名；\n增加护士\n30 名"),
            "增加医师10名；增加护士30名"
        );
    }
}
