//! Planned counts against what was named: a programme's or component's target of an indicator
//! that counts units (`Indicator.countsUnits`) set against the units of that kind named under
//! it. Pure: the rows come from each region's database.

use model::{Comparator, Region, compare::TargetSum};
use store::compare::NamedRow;

use super::types::{NamedCount, NamedUnit, TargetTotal};

/// The region's planned counts, in its targets' list order.
pub fn counts(region: &Region, rows: &[NamedRow]) -> Vec<NamedCount> {
    rows.iter().map(|r| count(region, r)).collect()
}

fn count(region: &Region, r: &NamedRow) -> NamedCount {
    let t = &r.target;
    let comparator = Comparator::parse(&t.comparator).unwrap_or(Comparator::Unknown);
    let target = TargetSum {
        comparator,
        value: t.value,
        min: t.min_value,
        max: t.max_value,
        terms: 1,
        unknown_terms: u32::from(comparator == Comparator::Unknown),
        not_combined: None,
        largest: None,
        smallest: None,
    };
    let named = r.units.len();
    #[allow(clippy::cast_precision_loss)] // a count of units in one scope
    let rates = model::compare::achievement(named as f64, &target);
    let scope_type = if t.scope_kind == "programme" {
        "Programme"
    } else {
        "Component"
    };
    let code = region.code;
    NamedCount {
        region: code.to_string(),
        indicator: t.indicator.clone(),
        target_id: async_graphql::ID(format!("Target:{code}:{}", t.id)),
        scope: async_graphql::ID(format!("{scope_type}:{code}:{}", t.scope_id)),
        scope_name_zh: r.scope_name.clone(),
        period: t.period.clone(),
        target: TargetTotal::from(target),
        named: i32::try_from(named).unwrap_or(i32::MAX),
        units: r
            .units
            .iter()
            .map(|(id, name)| NamedUnit {
                id: async_graphql::ID(format!("Unit:{code}:{id}")),
                name_zh: name.clone(),
            })
            .collect(),
        named_rate_low: rates.map(|r| r.0),
        named_rate_high: rates.map(|r| r.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        comparator: &str,
        value: Option<f64>,
        min: Option<f64>,
        max: Option<f64>,
        units: usize,
    ) -> NamedRow {
        NamedRow {
            target: store::entity::target::Model {
                id: "t".into(),
                indicator: "leading_specialties".into(),
                scope_kind: "component".into(),
                scope_id: "c".into(),
                period: "2018..2022".into(),
                period_start: 201801,
                period_end: 202212,
                comparator: comparator.into(),
                value,
                min_value: min,
                max_value: max,
                unit: None,
                qualifier: None,
                ambiguous: false,
                note: None,
                source_document: None,
                source_quote: None,
                readings: None,
                published_table: None,
                table_row: None,
                duration_min: None,
                duration_max: None,
                sort_key: "k".into(),
                version: 1,
            },
            scope_name: Some("领军临床专科".into()),
            units: (0..units)
                .map(|i| (format!("u{i}"), format!("专科{i}")))
                .collect(),
        }
    }

    fn province() -> &'static Region {
        model::region::region(model::region::SHANXI).expect("the province is listed")
    }

    #[test]
    fn about_ten_with_four_named_is_forty_percent() {
        let c = count(province(), &row("about", Some(10.0), None, None, 4));
        assert_eq!(c.named, 4);
        assert_eq!(c.named_rate_low, Some(0.4));
        assert_eq!(c.named_rate_high, Some(0.4));
        assert_eq!(c.scope.0, "Component:140000:c");
        assert_eq!(c.units[3].id.0, "Unit:140000:u3");
    }

    #[test]
    fn a_range_gives_a_range_of_rates_and_no_number_gives_none() {
        let c = count(province(), &row("range", None, Some(1.0), Some(2.0), 1));
        assert_eq!(
            (c.named_rate_low, c.named_rate_high),
            (Some(0.5), Some(1.0))
        );
        let c = count(province(), &row("unknown", None, None, None, 2));
        assert_eq!((c.named_rate_low, c.named_rate_high), (None, None));
        assert_eq!(
            c.named, 2,
            "what was named is shown even when the plan has no number"
        );
    }
}
