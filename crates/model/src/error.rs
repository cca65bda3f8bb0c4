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

/// Largest magnitude of any number a target or actual may hold. Every aggregate the hub
/// computes over a city (sums over millions of rows) then stays far inside what a SQLite
/// `REAL` and a PostgreSQL `double precision` hold, and counts stay exact in an `f64`
/// (integers are exact up to 2⁵³ ≈ 9·10¹⁵).
pub const MAX_MAGNITUDE: f64 = 1e12;

/// Whether `c` may appear in a passage: anything but control characters (C0, DEL, C1),
/// except newline and tab. Names allow no control character at all.
fn allowed_in_passage(c: char) -> bool {
    !c.is_control() || c == '\n' || c == '\t'
}

/// Whether `c` may appear in a name: anything but a control character.
fn allowed_in_name(c: char) -> bool {
    !c.is_control()
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

    /// Records that a required text field (a passage: a plan item's text, a quote) is present,
    /// not blank, at most [`MAX_TEXT_CHARS`] characters, with no control character but newline
    /// and tab.
    pub fn require_text(&mut self, field: &str, value: &str) {
        self.require_bounded(field, value, MAX_TEXT_CHARS, allowed_in_passage);
    }

    /// Records that a required name (a name, a title, an issuer, a code, an id) is present, not
    /// blank, at most [`MAX_NAME_CHARS`] characters, with no control character.
    pub fn require_name(&mut self, field: &str, value: &str) {
        self.require_bounded(field, value, MAX_NAME_CHARS, allowed_in_name);
    }

    /// Records that an optional passage (a note, a summary, a description), when given, is at
    /// most [`MAX_TEXT_CHARS`] characters with no control character but newline and tab.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.bounded(field, value, MAX_TEXT_CHARS, allowed_in_passage);
        }
    }

    /// Records that an optional name (a level, a hedge word, a unit of measure), when given,
    /// is at most [`MAX_NAME_CHARS`] characters with no control character.
    pub fn optional_name(&mut self, field: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.bounded(field, value, MAX_NAME_CHARS, allowed_in_name);
        }
    }

    fn require_bounded(&mut self, field: &str, value: &str, max: usize, allowed: fn(char) -> bool) {
        if value.trim().is_empty() {
            self.push(field, "REQUIRED", "must not be empty");
        } else {
            self.bounded(field, value, max, allowed);
        }
    }

    fn bounded(&mut self, field: &str, value: &str, max: usize, allowed: fn(char) -> bool) {
        if value.chars().nth(max).is_some() {
            self.push(
                field,
                "TOO_LONG",
                format!("at most {max} characters ({} given)", value.chars().count()),
            );
        } else if let Some(c) = value.chars().find(|c| !allowed(*c)) {
            self.push(
                field,
                "CONTROL_CHARACTER",
                format!(
                    "must not contain the control character U+{:04X}",
                    u32::from(c)
                ),
            );
        }
    }

    /// Records that a number is finite and within [`MAX_MAGNITUDE`].
    pub fn bounded_number(&mut self, field: &str, value: f64) {
        if !value.is_finite() {
            self.push(field, "NOT_A_NUMBER", "must be a finite number");
        } else if value.abs() > MAX_MAGNITUDE {
            self.push(
                field,
                "OUT_OF_RANGE",
                format!("must lie within ±{MAX_MAGNITUDE:e}"),
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
        assert_eq!(
            rules(&|v| v.optional_text("note", Some(&format!("{text}字")))),
            ["TOO_LONG"]
        );
        assert!(rules(&|v| v.optional_text("note", None)).is_empty());
    }

    #[test]
    fn control_characters_are_refused_but_passages_keep_newlines_and_tabs() {
        let rules = |f: &dyn Fn(&mut Violations)| {
            let mut v = Violations::new();
            f(&mut v);
            v.0.iter().map(|e| e.rule).collect::<Vec<_>>()
        };
        for bad in ["a\0b", "esc \u{1b}[31m", "del \u{7f}", "c1 \u{85}", "cr \r"] {
            assert_eq!(
                rules(&|v| v.require_name("n", bad)),
                ["CONTROL_CHARACTER"],
                "{bad:?}"
            );
            assert_eq!(
                rules(&|v| v.require_text("t", bad)),
                ["CONTROL_CHARACTER"],
                "{bad:?}"
            );
            assert_eq!(
                rules(&|v| v.optional_text("note", Some(bad))),
                ["CONTROL_CHARACTER"],
                "{bad:?}"
            );
        }
        for name_only in ["tab\there", "line\nbreak"] {
            assert_eq!(
                rules(&|v| v.require_name("n", name_only)),
                ["CONTROL_CHARACTER"]
            );
            assert!(rules(&|v| v.require_text("t", name_only)).is_empty());
        }
        // Format characters (zero-width space, direction marks) are not control characters.
        assert!(rules(&|v| v.require_name("n", "\u{202e}gnp.exe \u{200b} 𠀀 🏥")).is_empty());
    }

    #[test]
    fn numbers_are_finite_and_bounded() {
        let rules = |x: f64| {
            let mut v = Violations::new();
            v.bounded_number("value", x);
            v.0.iter().map(|e| e.rule).collect::<Vec<_>>()
        };
        assert!(rules(MAX_MAGNITUDE).is_empty());
        assert!(rules(-MAX_MAGNITUDE).is_empty());
        assert_eq!(rules(1e308), ["OUT_OF_RANGE"]);
        assert_eq!(rules(9_223_372_036_854_775_808.0), ["OUT_OF_RANGE"], "2^63");
        assert_eq!(rules(f64::NAN), ["NOT_A_NUMBER"]);
        assert_eq!(rules(f64::INFINITY), ["NOT_A_NUMBER"]);
    }
}
