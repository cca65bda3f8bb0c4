//! Institutions: the hospitals (and institutes) where units are built.

use serde::{Deserialize, Serialize};

use crate::{RegionCode, Source, Violations, id::valid_local_id};

/// A hospital or institute in a region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Institution {
    /// Local id.
    pub id: String,
    /// Region it is in.
    pub region: RegionCode,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Other names it goes by (e.g. 山医大二院 for 山西医科大学第二医院).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Where it is named.
    #[serde(default)]
    pub source: Option<Source>,
}

impl Institution {
    /// Checks fields.
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
        for (i, alias) in self.aliases.iter().enumerate() {
            v.require_name(&format!("aliases[{i}]"), alias);
        }
        if let Some(s) = &self.source {
            v.extend_prefixed("source", s.validate());
        }
        v.check(
            crate::region::region(self.region).is_some(),
            "region",
            "UNKNOWN_REGION",
            format!("region {} is not known", self.region),
        );
        v
    }
}
