//! Yearly plan items: one unit's task for one year (or a span, where the document merges
//! columns) in one category, with the document's raw text kept verbatim.

use serde::{Deserialize, Serialize};

use crate::{Period, Source, Violations};

/// The row of a yearly task table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanCategory {
    /// 增加床位: beds.
    Beds,
    /// 人才引进: talent.
    Talent,
    /// 医疗技术: technology and equipment.
    Technology,
    /// 科研论文: research and papers.
    Research,
    /// 中心实验室 / 增加室组: laboratories.
    Lab,
    /// 学术科研推广交流: academic exchange.
    Exchange,
    /// 建设成效: expected outcomes.
    Outcome,
    /// 投入资金 / 总投资: funding, in 万元.
    Funding,
}

impl PlanCategory {
    /// Every category, in table order.
    pub const ALL: [PlanCategory; 8] = [
        Self::Beds,
        Self::Talent,
        Self::Technology,
        Self::Research,
        Self::Lab,
        Self::Exchange,
        Self::Outcome,
        Self::Funding,
    ];

    /// Snake-case name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Beds => "beds",
            Self::Talent => "talent",
            Self::Technology => "technology",
            Self::Research => "research",
            Self::Lab => "lab",
            Self::Exchange => "exchange",
            Self::Outcome => "outcome",
            Self::Funding => "funding",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One cell of a unit's yearly task table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanItem {
    /// Local id; the seed loader derives `{unit}-{period}-{category}` when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// Local id of the unit.
    pub unit: String,
    /// The year (or span, when the document merges year columns).
    pub period: Period,
    /// The table row.
    pub category: PlanCategory,
    /// The cell's text, verbatim.
    pub text: String,
    /// True when the cell cannot be read without guessing (see `note`).
    #[serde(default)]
    pub ambiguous: bool,
    /// Why the cell is ambiguous, or any other remark.
    #[serde(default)]
    pub note: Option<String>,
    /// Where it is stated; the seed loader uses the programme's document and `text` when absent.
    #[serde(default)]
    pub source: Option<Source>,
}

impl PlanItem {
    /// Checks fields; the period must lie inside the programme's period.
    pub fn validate(&self, programme_period: Option<Period>) -> Violations {
        let mut v = Violations::new();
        v.require_name("unit", &self.unit);
        v.require_text("text", &self.text);
        v.optional_text("note", self.note.as_deref());
        if let Some(p) = programme_period {
            v.check(
                p.contains(&self.period),
                "period",
                "OUT_OF_PERIOD",
                format!("{} is outside the programme period {p}", self.period),
            );
        }
        v.check(
            !self.ambiguous || self.note.as_deref().is_some_and(|n| !n.trim().is_empty()),
            "note",
            "AMBIGUITY_UNEXPLAINED",
            "an ambiguous item must say why in its note",
        );
        if let Some(s) = &self.source {
            v.extend_prefixed("source", s.validate());
        }
        v
    }

    /// The id the seed loader gives an item without one.
    pub fn derived_id(&self) -> String {
        format!(
            "{}-{}-{}",
            self.unit,
            self.period.to_string().replace("..", "-"),
            self.category.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(period: &str) -> PlanItem {
        PlanItem {
            id: None,
            unit: "cardiology".into(),
            period: period.parse().unwrap(),
            category: PlanCategory::Beds,
            text: "增加 1 个病区，普通床位 50 张。".into(),
            ambiguous: false,
            note: None,
            source: None,
        }
    }

    #[test]
    fn period_must_be_inside_programme() {
        let programme: Period = "2020..2022".parse().unwrap();
        assert!(item("2021").validate(Some(programme)).is_empty());
        let v = item("2023").validate(Some(programme));
        assert_eq!(v.0[0].field, "period");
        assert_eq!(v.0[0].rule, "OUT_OF_PERIOD");
    }

    #[test]
    fn ambiguous_needs_a_note() {
        let mut i = item("2020..2022");
        i.ambiguous = true;
        assert_eq!(i.validate(None).0[0].rule, "AMBIGUITY_UNEXPLAINED");
        i.note = Some("two numbers under three columns".into());
        assert!(i.validate(None).is_empty());
    }

    #[test]
    fn derived_id_is_a_valid_local_id() {
        let id = item("2020..2022").derived_id();
        assert_eq!(id, "cardiology-2020-2022-beds");
        assert!(crate::id::valid_local_id(&id));
    }
}
