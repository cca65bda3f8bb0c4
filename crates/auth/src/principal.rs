//! Principals, roles and the access rules.
//!
//! | role | reads | writes | sync |
//! |---|---|---|---|
//! | `province_admin` | everything | the province's own data (hub) | inspect any city (digests, rows) |
//! | `province_viewer` (leaders) | everything | nothing | nothing |
//! | `city_admin` of C | C and the province | all of C's data | nothing |
//! | `city_editor` of C | C and the province | C's plans, targets, actuals (not units, no deletes) | nothing |
//! | `node` of C | nothing over GraphQL | nothing over GraphQL | push and be inspected for C |
//! | anonymous | public programme data, only if `anonymous_read` | nothing | nothing |
//!
//! A city role never reaches another city's data, whichever door it uses: the node refuses
//! (its own rules), the hub's replica path runs the same rules, and sync accepts a city's
//! changes only with that city's node token.

use codes::Code;
use model::RegionCode;
use serde::{Deserialize, Serialize};

/// A role, as the `role` claim spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the province's data; reads every city.
    ProvinceAdmin,
    /// Province leaders: read everything.
    ProvinceViewer,
    /// Runs one city's data.
    CityAdmin,
    /// Records one city's plans, targets and progress.
    CityEditor,
    /// A city node's sync service.
    Node,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::ProvinceAdmin,
        Role::ProvinceViewer,
        Role::CityAdmin,
        Role::CityEditor,
        Role::Node,
    ];

    /// The claim's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProvinceAdmin => "province_admin",
            Self::ProvinceViewer => "province_viewer",
            Self::CityAdmin => "city_admin",
            Self::CityEditor => "city_editor",
            Self::Node => "node",
        }
    }

    /// Whether the role belongs to one city (and so needs a `city` claim).
    pub fn is_city_scoped(self) -> bool {
        matches!(self, Self::CityAdmin | Self::CityEditor | Self::Node)
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role `{s}` (one of {})",
                    Self::ALL.map(Role::as_str).join(", ")
                )
            })
    }
}

/// The token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who (a person's or service's id).
    pub sub: String,
    /// Their role.
    pub role: Role,
    /// The city (region code) of city-scoped roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Not before (seconds since the epoch). Required: the validation refuses a token without
    /// it as `MISSING_CLAIM` (the default only lets that check, not serde, answer).
    #[serde(default)]
    pub nbf: u64,
    /// Issued at (seconds since the epoch; informational, not required).
    #[serde(default)]
    pub iat: u64,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `sub`.
    pub sub: String,
    /// `role`.
    pub role: Role,
    /// `city`, for city-scoped roles.
    pub city: Option<RegionCode>,
}

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Principal {
    /// No token. May read public data only where `anonymous_read` is on.
    #[default]
    Anonymous,
    /// A valid token's subject.
    Authenticated(Subject),
}

/// Why an operation is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `UNAUTHENTICATED` or `FORBIDDEN`.
    pub code: Code,
    /// For people.
    pub message: String,
}

impl Refusal {
    fn unauthenticated(message: impl Into<String>) -> Self {
        Self {
            code: Code::Unauthenticated,
            message: message.into(),
        }
    }

    fn forbidden(message: impl Into<String>) -> Self {
        Self {
            code: Code::Forbidden,
            message: message.into(),
        }
    }
}

/// Which writes need the admin of a city rather than an editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Plans, targets, actuals: created or updated.
    Record,
    /// Units (the programme's structure) and every delete.
    Administer,
}

impl Principal {
    /// The name recorded in the audit trail: `anonymous` or `<role>:<sub>`.
    pub fn actor(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".to_owned(),
            Self::Authenticated(s) => format!("{}:{}", s.role.as_str(), s.sub),
        }
    }

    /// What this principal may see, as a key: callers with the same visibility see exactly
    /// the same data under these access rules (they depend on the role and the city only), so
    /// the hub may share one node call between them — and never between callers who differ.
    pub fn visibility(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".to_owned(),
            Self::Authenticated(s) => match s.city {
                Some(c) => format!("{}:{c}", s.role.as_str()),
                None => s.role.as_str().to_owned(),
            },
        }
    }

    /// The subject, if authenticated.
    pub fn subject(&self) -> Option<&Subject> {
        match self {
            Self::Anonymous => None,
            Self::Authenticated(s) => Some(s),
        }
    }

    /// The city of a city-scoped principal.
    pub fn city(&self) -> Option<RegionCode> {
        self.subject().and_then(|s| s.city)
    }

    /// Whether this principal may read `owner`'s data. Anonymous callers pass only when
    /// `anonymous_read` is on (and then see public fields only — see [`Principal::private`]).
    pub fn read(&self, owner: RegionCode, anonymous_read: bool) -> Result<(), Refusal> {
        match self {
            Self::Anonymous if anonymous_read => Ok(()),
            Self::Anonymous => Err(Refusal::unauthenticated(
                "a token is required (Authorization: Bearer …)",
            )),
            Self::Authenticated(s) => match s.role {
                Role::ProvinceAdmin | Role::ProvinceViewer => Ok(()),
                Role::CityAdmin | Role::CityEditor => {
                    if s.city == Some(owner) || owner.is_province() {
                        Ok(())
                    } else {
                        Err(Refusal::forbidden(format!(
                            "a {} of {} cannot read {owner}'s data",
                            s.role.as_str(),
                            city_name(s.city)
                        )))
                    }
                }
                Role::Node => Err(Refusal::forbidden(
                    "node tokens are for sync only, not for GraphQL",
                )),
            },
        }
    }

    /// Whether this principal may read non-public data (actuals, audit trails, sync state,
    /// comparisons): any authenticated reader.
    pub fn private(&self) -> Result<(), Refusal> {
        match self {
            Self::Anonymous => Err(Refusal::unauthenticated(
                "progress reports, audit trails and comparisons need a token",
            )),
            Self::Authenticated(_) => Ok(()),
        }
    }

    /// Whether this principal may write `owner`'s data.
    pub fn write(&self, owner: RegionCode, kind: WriteKind) -> Result<(), Refusal> {
        let Self::Authenticated(s) = self else {
            return Err(Refusal::unauthenticated(
                "writes need a token (Authorization: Bearer …)",
            ));
        };
        match s.role {
            Role::ProvinceAdmin if owner.is_province() => Ok(()),
            Role::ProvinceAdmin => Err(Refusal::forbidden(format!(
                "{owner}'s data is changed by its own staff (city_admin / city_editor of {owner})"
            ))),
            Role::ProvinceViewer => Err(Refusal::forbidden(
                "province_viewer reads only: writes need a city_editor or city_admin token, at the city's node",
            )),
            Role::CityAdmin | Role::CityEditor if s.city != Some(owner) && owner.is_province() => {
                // A city's staff writing at the hub: the hub holds the province's own data;
                // a city's data is written at the city's node.
                Err(Refusal::forbidden(format!(
                    "this server holds {owner}'s (the province's) data: a {} of {} writes at {}'s node, not at the province hub",
                    s.role.as_str(),
                    city_name(s.city),
                    city_name(s.city)
                )))
            }
            Role::CityAdmin | Role::CityEditor if s.city != Some(owner) => {
                Err(Refusal::forbidden(format!(
                    "a {} of {} cannot change {owner}'s data",
                    s.role.as_str(),
                    city_name(s.city)
                )))
            }
            Role::CityAdmin => Ok(()),
            Role::CityEditor if kind == WriteKind::Record => Ok(()),
            Role::CityEditor => Err(Refusal::forbidden(
                "units and deletes need city_admin; city_editor records plans, targets and actuals",
            )),
            Role::Node => Err(Refusal::forbidden(
                "node tokens are for sync only, not for GraphQL",
            )),
        }
    }

    /// Whether this principal may push `city`'s changes (and pull the catalogue for it).
    pub fn sync(&self, city: RegionCode) -> Result<(), Refusal> {
        match self {
            Self::Anonymous => Err(Refusal::unauthenticated(
                "a node token is required (Authorization: Bearer …)",
            )),
            Self::Authenticated(s) if s.role == Role::Node && s.city == Some(city) => Ok(()),
            Self::Authenticated(s) if s.role == Role::Node => Err(Refusal::forbidden(format!(
                "this token belongs to the node of {}, not {city}",
                city_name(s.city)
            ))),
            Self::Authenticated(s) => Err(Refusal::forbidden(format!(
                "only {city}'s node token may push its changes, not a {}",
                s.role.as_str()
            ))),
        }
    }

    /// Whether this principal could push any city's changes (a node token): checked before a
    /// push's body is read, so a caller who can never push costs no body read or parse.
    pub fn sync_any(&self) -> Result<(), Refusal> {
        match self {
            Self::Anonymous => Err(Refusal::unauthenticated(
                "a node token is required (Authorization: Bearer …)",
            )),
            Self::Authenticated(s) if s.role == Role::Node => Ok(()),
            Self::Authenticated(s) => Err(Refusal::forbidden(format!(
                "only a city's node token may push its changes, not a {}",
                s.role.as_str()
            ))),
        }
    }

    /// Whether this principal may read `city`'s sync digests and rows (`xingyi sync verify`):
    /// the province admin, or the city's own node token.
    pub fn inspect_sync(&self, city: RegionCode) -> Result<(), Refusal> {
        match self {
            Self::Authenticated(s) if s.role == Role::ProvinceAdmin => Ok(()),
            Self::Authenticated(s) if s.role == Role::Node && s.city == Some(city) => Ok(()),
            Self::Anonymous => Err(Refusal::unauthenticated(format!(
                "reading {city}'s sync state needs a token: a province_admin token or {city}'s node token (Authorization: Bearer …)"
            ))),
            Self::Authenticated(s) => Err(Refusal::forbidden(format!(
                "reading {city}'s sync state needs a province_admin token or {city}'s node token, not a {}{}",
                s.role.as_str(),
                s.city.map_or_else(String::new, |c| format!(" of {c}"))
            ))),
        }
    }
}

fn city_name(city: Option<RegionCode>) -> String {
    city.map_or_else(|| "no city".to_owned(), |c| c.to_string())
}

/// A request's principal and the server's anonymous-read setting: what the GraphQL layer puts
/// into every request's data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    /// Who.
    pub principal: Principal,
    /// Whether anonymous callers may read public data on this server.
    pub anonymous_read: bool,
}

impl Access {
    /// [`Principal::read`] with this server's setting.
    pub fn read(&self, owner: RegionCode) -> Result<(), Refusal> {
        self.principal.read(owner, self.anonymous_read)
    }
}

/// Per-request marker: whether a refused write of this request has been recorded already.
/// Servers put a fresh one into every request's data, so an alias-bombed mutation of refused
/// writes is one stored refusal, not one per field (every one is still logged).
#[derive(Debug, Clone, Default)]
pub struct RefusalRecorded(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl RefusalRecorded {
    /// True the first time it is asked in a request, false afterwards.
    pub fn first(&self) -> bool {
        !self.0.swap(true, std::sync::atomic::Ordering::Relaxed)
    }
}
