//! Global ids: `Kind:owner:local`, e.g. `Unit:140800:central-cardiology`.
//!
//! The owner is the GB/T 2260 code of the server that owns the record (140000 for the province
//! hub, a city code for a city node), so the hub routes any id to its owner without a lookup.
//! Ids are readable on purpose: they appear in logs, audit trails and seed files.

use std::{fmt, str::FromStr};

use crate::{ValidationError, region::RegionCode};

/// What a global id points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    /// A programme.
    Programme,
    /// A component of a programme.
    Component,
    /// An institution (hospital).
    Institution,
    /// A unit being built at an institution.
    Unit,
    /// A yearly plan item.
    PlanItem,
    /// A target value.
    Target,
    /// An actual (reported) value.
    Actual,
    /// A source document.
    Document,
}

impl EntityKind {
    /// Every kind, in a stable order.
    pub const ALL: [EntityKind; 8] = [
        Self::Programme,
        Self::Component,
        Self::Institution,
        Self::Unit,
        Self::PlanItem,
        Self::Target,
        Self::Actual,
        Self::Document,
    ];

    /// The GraphQL type name, which is also the id prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Programme => "Programme",
            Self::Component => "Component",
            Self::Institution => "Institution",
            Self::Unit => "Unit",
            Self::PlanItem => "PlanItem",
            Self::Target => "Target",
            Self::Actual => "Actual",
            Self::Document => "Document",
        }
    }
}

impl FromStr for EntityKind {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ValidationError::new("id", "BAD_ID", format!("unknown kind `{s}`")))
    }
}

/// A parsed global id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GlobalId {
    /// What the id points at.
    pub kind: EntityKind,
    /// The region whose server owns the record.
    pub owner: RegionCode,
    /// The id inside the owner's database.
    pub local: String,
}

impl GlobalId {
    /// Builds an id; `local` must be a valid local id (see [`valid_local_id`]).
    pub fn new(kind: EntityKind, owner: RegionCode, local: impl Into<String>) -> Self {
        Self {
            kind,
            owner,
            local: local.into(),
        }
    }

    /// Parses an id and checks it has the expected kind.
    pub fn parse_as(s: &str, kind: EntityKind) -> Result<Self, ValidationError> {
        let id: GlobalId = s.parse()?;
        if id.kind == kind {
            Ok(id)
        } else {
            Err(ValidationError::new(
                "id",
                "WRONG_KIND",
                format!(
                    "`{s}` is a {} id, expected a {} id",
                    id.kind.as_str(),
                    kind.as_str()
                ),
            ))
        }
    }
}

impl fmt::Display for GlobalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.kind.as_str(), self.owner, self.local)
    }
}

impl FromStr for GlobalId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| ValidationError::new("id", "BAD_ID", format!("`{s}`: {why}"));
        let mut parts = s.splitn(3, ':');
        let (Some(kind), Some(owner), Some(local)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected Kind:owner:local"));
        };
        let kind = kind.parse().map_err(|_| bad("unknown kind"))?;
        let owner = owner
            .parse()
            .map_err(|_| bad("owner is not a GB/T 2260 code"))?;
        if !valid_local_id(local) {
            return Err(bad(
                "local part must be 1-80 characters of a-z, 0-9, '-', '_' or '.'",
            ));
        }
        Ok(Self {
            kind,
            owner,
            local: local.to_owned(),
        })
    }
}

/// Local ids are short ASCII slugs: lowercase letters, digits, `-`, `_` and `.`.
pub fn valid_local_id(s: &str) -> bool {
    (1..=80).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_owner() {
        let id: GlobalId = "Unit:140800:central-cardiology".parse().unwrap();
        assert_eq!(id.kind, EntityKind::Unit);
        assert_eq!(id.owner.get(), 140800);
        assert_eq!(id.local, "central-cardiology");
        assert_eq!(id.to_string(), "Unit:140800:central-cardiology");
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "Unit",
            "Unit:140800",
            "Thing:140800:x",
            "Unit:14080:x",
            "Unit:abc:x",
            "Unit:140800:",
            "Unit:140800:Has Space",
            "Unit:140800:a:b",
        ] {
            let err = bad.parse::<GlobalId>().unwrap_err();
            assert_eq!(err.rule, "BAD_ID", "{bad}");
        }
    }

    #[test]
    fn parse_as_checks_kind() {
        let err = GlobalId::parse_as("Unit:140800:x", EntityKind::Programme).unwrap_err();
        assert_eq!(err.rule, "WRONG_KIND");
    }
}
