//! Programmes (a province or city plan issued by a document) and their component trees.

use serde::{Deserialize, Serialize};

use crate::{Period, Source, Violations, id::valid_local_id};

/// How a programme relates to its parent programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// 承接: the programme takes up (implements) the parent, e.g. Yuncheng's plan and 136.
    Implements,
    /// 根据: the programme is made according to the parent, e.g. Linfen's plan and 136.
    Follows,
}

/// A programme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Programme {
    /// Local id.
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Issuing body.
    pub issuer: String,
    /// Document number (文号).
    pub doc_number: String,
    /// Date of issue, `YYYY-MM-DD`.
    pub issued_on: String,
    /// The period the programme runs for.
    pub period: Period,
    /// How it relates to `parent`.
    #[serde(default)]
    pub relation: Option<Relation>,
    /// Global id of the parent programme (may belong to another server).
    #[serde(default)]
    pub parent: Option<String>,
    /// Short summary in Chinese.
    #[serde(default)]
    pub summary_zh: Option<String>,
    /// Short summary in English.
    #[serde(default)]
    pub summary_en: Option<String>,
    /// A note on the document's wording or a question it leaves open (e.g. a period the
    /// document does not state), kept next to the facts.
    #[serde(default)]
    pub note: Option<String>,
    /// Where it is stated.
    pub source: Source,
}

impl Programme {
    /// Checks fields; relation and parent come together.
    pub fn validate(&self) -> Violations {
        let mut v = Violations::new();
        v.check(
            valid_local_id(&self.id),
            "id",
            "BAD_ID",
            "must be a local id slug",
        );
        v.require_name("nameZh", &self.name_zh);
        v.require_name("nameEn", &self.name_en);
        v.require_name("issuer", &self.issuer);
        v.require_name("docNumber", &self.doc_number);
        v.optional_text("summaryZh", self.summary_zh.as_deref());
        v.optional_text("note", self.note.as_deref());
        v.optional_text("summaryEn", self.summary_en.as_deref());
        v.check(
            crate::source::valid_date(&self.issued_on),
            "issuedOn",
            "BAD_DATE",
            "must be YYYY-MM-DD",
        );
        v.check(
            self.relation.is_some() == self.parent.is_some(),
            "relation",
            "RELATION_WITHOUT_PARENT",
            "relation and parent must be given together",
        );
        if let Some(p) = &self.parent
            && let Err(e) = crate::GlobalId::parse_as(p, crate::EntityKind::Programme)
        {
            v.push("parent", e.rule, e.message);
        }
        v.extend_prefixed("source", self.source.validate());
        v
    }
}

/// What a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    /// 主线: the one main line of a programme.
    MainLine,
    /// 重点建设: a key construction (pillar).
    Pillar,
    /// 基础项目: a base project.
    BaseProject,
    /// 战略: a strategy.
    Strategy,
    /// 工程: an engineering project.
    Project,
    /// A task inside a project.
    Task,
}

/// A node of a programme's component tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Local id.
    pub id: String,
    /// Local id of the programme.
    pub programme: String,
    /// Local id of the parent component; `None` at the top.
    #[serde(default)]
    pub parent: Option<String>,
    /// What it is.
    pub kind: ComponentKind,
    /// Position among its siblings, from 1.
    pub ordinal: i32,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Description in Chinese.
    #[serde(default)]
    pub description_zh: Option<String>,
    /// Where it is stated.
    #[serde(default)]
    pub source: Option<Source>,
}

impl Component {
    /// Checks fields.
    pub fn validate(&self) -> Violations {
        let mut v = Violations::new();
        v.check(
            valid_local_id(&self.id),
            "id",
            "BAD_ID",
            "must be a local id slug",
        );
        v.require_name("programme", &self.programme);
        v.optional_name("parent", self.parent.as_deref());
        v.require_name("nameZh", &self.name_zh);
        v.require_name("nameEn", &self.name_en);
        v.optional_text("descriptionZh", self.description_zh.as_deref());
        v.check(
            self.ordinal >= 1,
            "ordinal",
            "NEGATIVE",
            "must be 1 or more",
        );
        v.check(
            self.parent.as_deref() != Some(self.id.as_str()),
            "parent",
            "CYCLE",
            "a component cannot be its own parent",
        );
        if let Some(s) = &self.source {
            v.extend_prefixed("source", s.validate());
        }
        v
    }
}
