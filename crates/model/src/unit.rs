//! Units: what a programme builds at an institution (a specialty, a key lab, a centre, a team,
//! a workstation), with the level it aims for and by when.

use serde::{Deserialize, Serialize};

use crate::{Period, Source, Violations, id::valid_local_id};

/// What kind of unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// 专科: a clinical specialty.
    Specialty,
    /// 重点实验室: a key laboratory.
    KeyLab,
    /// 中心: a (treatment, regional) centre.
    Centre,
    /// 团队: a team.
    Team,
    /// 工作站: a workstation (academician, PhD, famous doctor).
    Workstation,
}

/// A unit being built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// Local id.
    pub id: String,
    /// Local id of the programme it is built under.
    pub programme: String,
    /// Local id of the component it belongs to, if any.
    #[serde(default)]
    pub component: Option<String>,
    /// Local id of the institution, if the document names one.
    #[serde(default)]
    pub institution: Option<String>,
    /// What kind of unit.
    pub kind: UnitKind,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The level it aims for, in the document's words (e.g. 国家级临床重点专科水平).
    #[serde(default)]
    pub target_level: Option<String>,
    /// The year by which it should reach `target_level`.
    #[serde(default)]
    pub target_year: Option<i32>,
    /// A note on the document's wording or a question it leaves open (e.g. a period the
    /// document does not state), kept next to the facts.
    #[serde(default)]
    pub note: Option<String>,
    /// Where it is stated.
    #[serde(default)]
    pub source: Option<Source>,
}

impl Unit {
    /// Checks fields; the target year must lie inside the programme's period.
    pub fn validate(&self, programme_period: Option<Period>) -> Violations {
        let mut v = Violations::new();
        v.check(
            valid_local_id(&self.id),
            "id",
            "BAD_ID",
            "must be a local id slug",
        );
        v.require_name("programme", &self.programme);
        v.optional_name("component", self.component.as_deref());
        v.optional_name("institution", self.institution.as_deref());
        v.optional_text("note", self.note.as_deref());
        v.require_name("nameZh", &self.name_zh);
        v.require_name("nameEn", &self.name_en);
        v.optional_name("targetLevel", self.target_level.as_deref());
        if let (Some(year), Some(p)) = (self.target_year, programme_period) {
            v.check(
                p.start.year <= year && year <= p.end.year,
                "targetYear",
                "OUT_OF_PERIOD",
                format!("{year} is outside the programme period {p}"),
            );
        }
        if let Some(s) = &self.source {
            v.extend_prefixed("source", s.validate());
        }
        v
    }
}
