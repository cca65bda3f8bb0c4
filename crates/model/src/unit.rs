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
    /// The steps the document names on the way to `target_level`, in year order (「1年内全面开展
    /// 中心工作,3年内达到省内领先,5年内达到全国知名水平」: the first two steps here, the last as
    /// the target level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
    /// A note on the document's wording or a question it leaves open (e.g. a period the
    /// document does not state), kept next to the facts.
    #[serde(default)]
    pub note: Option<String>,
    /// Where it is stated.
    #[serde(default)]
    pub source: Option<Source>,
}

/// A level a unit should reach by a year, on the way to its target level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    /// The year by which it should be reached.
    pub year: i32,
    /// The level, in the document's words (e.g. 省内领先).
    pub level: String,
}

/// Most milestones on one unit.
pub const MAX_MILESTONES: usize = 8;

/// The level a unit should have reached by the end of `year`, with the year it was due: the
/// target (year, level) when due by then, else the last milestone due in or before `year`;
/// none before the first.
pub fn level_by<'a>(
    milestones: &'a [Milestone],
    target: Option<(i32, &'a str)>,
    year: i32,
) -> Option<(i32, &'a str)> {
    target.filter(|(due, _)| *due <= year).or_else(|| {
        milestones
            .iter()
            .rev()
            .find(|m| m.year <= year)
            .map(|m| (m.year, m.level.as_str()))
    })
}

impl Unit {
    /// The level the unit should have reached by the end of `year` (see [`level_by`]).
    pub fn level_by(&self, year: i32) -> Option<(i32, &str)> {
        level_by(
            &self.milestones,
            self.target_year.zip(self.target_level.as_deref()),
            year,
        )
    }

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
        self.validate_milestones(programme_period, &mut v);
        if let Some(s) = &self.source {
            v.extend_prefixed("source", s.validate());
        }
        v
    }

    /// Milestones come in strictly rising years, before the target year, inside the
    /// programme's period, each with a level.
    fn validate_milestones(&self, programme_period: Option<Period>, v: &mut Violations) {
        v.check(
            self.milestones.len() <= MAX_MILESTONES,
            "milestones",
            "TOO_MANY",
            format!("at most {MAX_MILESTONES} milestones"),
        );
        let mut previous: Option<i32> = None;
        for (i, m) in self.milestones.iter().enumerate() {
            let field = format!("milestones[{i}]");
            v.require_name(&format!("{field}.level"), &m.level);
            v.check(
                previous.is_none_or(|p| p < m.year),
                &format!("{field}.year"),
                "MILESTONES_NOT_IN_ORDER",
                "milestones must come in strictly rising years",
            );
            if let Some(target) = self.target_year {
                v.check(
                    m.year < target,
                    &format!("{field}.year"),
                    "MILESTONE_AFTER_TARGET",
                    format!("{} is not before the target year {target}", m.year),
                );
            }
            if let Some(p) = programme_period {
                v.check(
                    p.start.year <= m.year && m.year <= p.end.year,
                    &format!("{field}.year"),
                    "OUT_OF_PERIOD",
                    format!("{} is outside the programme period {p}", m.year),
                );
            }
            previous = Some(m.year);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(milestones: &[(i32, &str)]) -> Unit {
        Unit {
            id: "centre".into(),
            programme: "p".into(),
            component: None,
            institution: None,
            kind: UnitKind::Centre,
            name_zh: "器官移植中心".into(),
            name_en: "Organ Transplantation Centre".into(),
            target_level: Some("全国知名水平".into()),
            target_year: Some(2024),
            milestones: milestones
                .iter()
                .map(|(year, level)| Milestone {
                    year: *year,
                    level: (*level).into(),
                })
                .collect(),
            note: None,
            source: None,
        }
    }

    fn rules(u: &Unit) -> Vec<(String, &'static str)> {
        let period: Period = "2020..2024".parse().expect("period");
        u.validate(Some(period))
            .0
            .into_iter()
            .map(|e| (e.field, e.rule))
            .collect()
    }

    #[test]
    fn the_level_due_by_a_year_is_the_last_step_reached() {
        let u = unit(&[(2020, "全面开展中心工作"), (2022, "省内领先")]);
        assert_eq!(u.level_by(2019), None);
        assert_eq!(u.level_by(2020), Some((2020, "全面开展中心工作")));
        assert_eq!(u.level_by(2023), Some((2022, "省内领先")));
        assert_eq!(u.level_by(2024), Some((2024, "全国知名水平")));
        assert_eq!(u.level_by(2030), Some((2024, "全国知名水平")));
    }

    #[test]
    fn milestones_rise_before_the_target_and_inside_the_period() {
        assert!(rules(&unit(&[(2020, "a"), (2022, "b")])).is_empty());
        assert_eq!(
            rules(&unit(&[(2022, "a"), (2022, "b")])),
            [("milestones[1].year".to_owned(), "MILESTONES_NOT_IN_ORDER")]
        );
        assert_eq!(
            rules(&unit(&[(2024, "a")])),
            [("milestones[0].year".to_owned(), "MILESTONE_AFTER_TARGET")]
        );
        assert_eq!(
            rules(&unit(&[(2019, "a")])),
            [("milestones[0].year".to_owned(), "OUT_OF_PERIOD")]
        );
        assert_eq!(
            rules(&unit(&[(2020, " ")]))
                .into_iter()
                .map(|(f, _)| f)
                .collect::<Vec<_>>(),
            ["milestones[0].level"]
        );
    }
}
