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

    /// Records that a required text field is present and not blank.
    pub fn require_text(&mut self, field: &str, value: &str) {
        self.check(
            !value.trim().is_empty(),
            field,
            "REQUIRED",
            "must not be empty",
        );
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
