//! The programme model shared by every xingyi server: regions, programmes and their component
//! trees, institutions, units, yearly plan items, the indicator catalogue, targets and actuals.
//!
//! This crate does no I/O and is not async. Every type validates itself (`validate`), and the
//! store, the GraphQL layers and the seed loader all call the same rules.
//!
//! # Layout
//! - [`id`]: global ids that name their owning region, so any id routes without a lookup.
//! - [`region`]: GB/T 2260 codes, Shanxi's 11 cities and Linfen's 17 counties.
//! - [`period`]: years, months and spans (`2020`, `2019-01..2019-10`, `2020..2024`).
//! - [`programme`]: programmes, their relation to a parent programme, components.
//! - [`institution`], [`unit`]: hospitals and what is being built at them.
//! - [`plan`]: a unit's yearly tasks by category, raw text kept.
//! - [`indicator`]: the catalogue: units of measure, value types, aggregation.
//! - [`measure`]: targets (values, ranges, qualifiers) and actuals for any scope.
//! - [`source`]: the citation every seeded fact carries.
//! - [`compare`]: combining targets (keeping ranges and hedges) and achievement rates.
//! - [`error`]: validation errors naming the offending field.

pub mod compare;
pub mod error;
pub mod id;
pub mod indicator;
pub mod institution;
pub mod measure;
pub mod period;
pub mod plan;
pub mod programme;
pub mod region;
pub mod source;
pub mod unit;

pub use error::{ValidationError, Violations};
pub use id::{EntityKind, GlobalId};
pub use indicator::{Aggregation, Formula, Indicator, ScopeAggregation, ValueType};
pub use institution::Institution;
pub use measure::{
    Actual, Comparator, Duration, Reading, Scope, ScopeKind, Target, TargetValue, YearAmount,
    share_of,
};
pub use period::{Period, YearMonth};
pub use plan::{PlanCategory, PlanItem};
pub use programme::{Component, ComponentKind, Programme, Relation};
pub use region::{Region, RegionCode, RegionLevel};
pub use source::{Document, Source};
pub use unit::{Milestone, Unit, UnitKind};
