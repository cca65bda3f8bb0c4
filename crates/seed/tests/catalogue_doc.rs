//! `docs/CATALOGUE.md` is the seeded indicator catalogue as a reader needs it — every
//! indicator's declared semantics (how it combines over time and across scopes), what it
//! counts, and every composite's formula — rendered from the seed, so it cannot drift.
//! `UPDATE_DOCS=1 cargo test -p seed --test catalogue_doc` rewrites it.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::fmt::Write as _;

use model::{Aggregation, Formula, ScopeAggregation, UnitKind, ValueType};

fn over_time(a: Aggregation) -> &'static str {
    match a {
        Aggregation::Sum => "sum — added up over the years",
        Aggregation::Latest => "latest — a level: the last year's",
        Aggregation::Max => "max — the largest year's",
        Aggregation::Average => "average — the mean of the years'",
        Aggregation::Compound => "compound — year-on-year rates compounded",
    }
}

fn over_scopes(a: ScopeAggregation) -> &'static str {
    match a {
        ScopeAggregation::Sum => "sum",
        ScopeAggregation::Coverage => "coverage — within a city the union, capped at its counties",
        ScopeAggregation::NotAdditive => "not additive — never added; each scope keeps its number",
    }
}

fn value_type(v: ValueType) -> &'static str {
    match v {
        ValueType::Integer => "whole number",
        ValueType::Decimal => "decimal",
        ValueType::Percent => "percentage",
    }
}

fn unit_kind(k: UnitKind) -> &'static str {
    match k {
        UnitKind::Specialty => "specialties",
        UnitKind::KeyLab => "key labs",
        UnitKind::Centre => "centres",
        UnitKind::Team => "teams",
        UnitKind::Workstation => "workstations",
    }
}

fn formula(f: &Formula) -> String {
    match f {
        Formula::Sum { terms } => terms
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(" + "),
        Formula::Difference {
            minuend,
            subtrahend,
        } => format!("`{minuend}` − `{subtrahend}`"),
        Formula::Ratio {
            numerator,
            denominator,
            scale,
        } => format!("`{numerator}` ÷ `{denominator}` × {scale}"),
    }
}

fn render() -> String {
    let province = seed::province().unwrap();
    let mut out = String::new();
    out.push_str(
        "# Indicator catalogue\n\n\
         The province's catalogue as seeded (`crates/seed/data/province.toml`), rendered by \
         `crates/seed/tests/catalogue_doc.rs` — do not edit by hand; \
         `UPDATE_DOCS=1 cargo test -p seed --test catalogue_doc` rewrites it. Each indicator \
         declares how its values combine **over time** (the years of a span) and **across \
         scopes** (units, institutions, cities); `compare` never computes a combination the \
         declaration rules out, and says why (`NOT_ADDITIVE`, `DENOMINATOR_ZERO`). A composite is \
         computed from its operands at every level, after each operand has been combined by its \
         own declaration; it is never reported itself.\n\n",
    );
    let (composites, reported): (Vec<_>, Vec<_>) = province
        .indicators
        .iter()
        .partition(|i| i.formula.is_some());
    let _ = writeln!(
        out,
        "{} indicators: {} reported, {} composite.\n",
        province.indicators.len(),
        reported.len(),
        composites.len()
    );
    out.push_str("## Reported indicators\n\n");
    out.push_str("| code | 名称 | unit | kind | over time | across scopes | counts units |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for i in &reported {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            i.code,
            i.name_zh,
            i.unit,
            value_type(i.value_type),
            over_time(i.aggregation),
            over_scopes(i.over_scopes),
            i.counts_units.map(unit_kind).unwrap_or_default(),
        );
    }
    out.push_str("\n## Composite indicators\n\n");
    out.push_str("| code | 名称 | unit | formula | over time | across scopes | source |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for i in &composites {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            i.code,
            i.name_zh,
            i.unit,
            i.formula.as_ref().map(formula).unwrap_or_default(),
            over_time(i.aggregation),
            over_scopes(i.over_scopes),
            i.description_zh
                .as_deref()
                .unwrap_or("")
                .replace('|', "\\|")
                .replace('\n', " "),
        );
    }
    out
}

#[test]
fn the_catalogue_document_is_the_seeds() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CATALOGUE.md");
    let text = render();
    if std::env::var("UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "docs/CATALOGUE.md is out of date; run `UPDATE_DOCS=1 cargo test -p seed --test catalogue_doc` and commit it"
    );
}
