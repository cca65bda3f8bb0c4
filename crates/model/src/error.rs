//! Validation errors. Each names the offending field (a dotted path such as `target.value`) and
//! carries a stable machine code; the GraphQL layer turns them into `VALIDATION_FAILED` errors.

use std::fmt;

/// One rule broken by one field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// Dotted path of the offending field, e.g. `planItem.year`.
    pub field: String,
    /// Stable code of the rule, e.g. `OUT_OF_PERIOD`, `NEGATIVE`, `UNIT_MISMATCH`.
    pub rule: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl ValidationError {
    /// A broken rule on `field`.
    pub fn new(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule,
            message: message.into(),
        }
    }
}

/// Longest name, title, issuer, unit or document number accepted (characters).
pub const MAX_NAME_CHARS: usize = 200;

/// Longest passage (plan item text, quote) accepted (characters).
pub const MAX_TEXT_CHARS: usize = 4000;

/// Every rule a value breaks; empty means valid. Collecting them all lets a form show every
/// problem at once instead of one per round-trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(pub Vec<ValidationError>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation.
    pub fn push(
        &mut self,
        field: impl Into<String>,
        rule: &'static str,
        message: impl Into<String>,
    ) {
        self.0.push(ValidationError::new(field, rule, message));
    }

    /// Records `message` on `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, rule: &'static str, message: impl Into<String>) {
        if !ok {
            self.push(field, rule, message);
        }
    }

    /// Records that a required text field (a passage: a plan item's text, a quote) is present,
    /// not blank, and at most [`MAX_TEXT_CHARS`] characters.
    pub fn require_text(&mut self, field: &str, value: &str) {
        self.require_bounded(field, value, MAX_TEXT_CHARS);
    }

    /// Records that a required name (a name, a title, an issuer, a code) is present, not
    /// blank, and at most [`MAX_NAME_CHARS`] characters.
    pub fn require_name(&mut self, field: &str, value: &str) {
        self.require_bounded(field, value, MAX_NAME_CHARS);
    }

    fn require_bounded(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.push(field, "REQUIRED", "must not be empty");
        } else if value.chars().nth(max).is_some() {
            self.push(
                field,
                "TOO_LONG",
                format!("at most {max} characters ({} given)", value.chars().count()),
            );
        }
    }

    /// Adds all violations of `other`, prefixing their fields with `prefix.`.
    pub fn extend_prefixed(&mut self, prefix: &str, other: Violations) {
        for mut v in other.0 {
            v.field = format!("{prefix}.{}", v.field);
            self.0.push(v);
        }
    }

    /// `Ok(())` when empty, the violations otherwise.
    pub fn into_result(self) -> Result<(), Violations> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// True when no rule was broken.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for Violations {}

#[cfg(test)]
mod bounded_text_tests {
    use super::*;

    #[test]
    fn names_and_passages_are_required_and_bounded_in_characters_not_bytes() {
        let rules = |f: &dyn Fn(&mut Violations)| {
            let mut v = Violations::new();
            f(&mut v);
            v.0.iter().map(|e| e.rule).collect::<Vec<_>>()
        };
        let name = "名".repeat(MAX_NAME_CHARS);
        assert!(
            rules(&|v| v.require_name("n", &name)).is_empty(),
            "200 CJK characters (600 bytes) fit"
        );
        let long = format!("{name}x");
        assert_eq!(rules(&|v| v.require_name("n", &long)), ["TOO_LONG"]);
        assert_eq!(rules(&|v| v.require_name("n", "  ")), ["REQUIRED"]);
        let text = "字".repeat(MAX_TEXT_CHARS);
        assert!(rules(&|v| v.require_text("t", &text)).is_empty());
        assert_eq!(
            rules(&|v| v.require_text("t", &format!("{text}字"))),
            ["TOO_LONG"]
        );
    }
}
