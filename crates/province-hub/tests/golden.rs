//! The comparison over the seeded documents, golden: every catalogue indicator and composite,
//! by year and over the span, at city, institution and unit level, for 运城, 临汾 and the
//! province's own scope with its goals and the total — read through the hub's read path
//! (`compare::read_region`: roll-ups for the cities, rows for the province) and built by the
//! engine, on SQLite and on PostgreSQL. Both backends must give the same text, and the text is
//! the snapshot (`cargo insta review` after a deliberate change).

use std::{collections::BTreeMap, fmt::Write as _};

use model::{
    RegionCode,
    region::{LINFEN, SHANXI, YUNCHENG},
};
use province_hub::{
    compare::{
        Cell, CompareLevel, Comparison, SpanCell, TargetTotal, engine,
        plan::{MAX_INDICATORS, Question, plan},
        read_region,
    },
    status::{AnsweredBy, Freshness},
};

fn target(t: Option<&TargetTotal>) -> String {
    let Some(t) = t else { return "-".into() };
    let n = |x: Option<f64>| x.map_or("?".into(), |v| format!("{v}"));
    let shape = match (
        t.not_combined.as_deref(),
        format!("{:?}", t.comparator).as_str(),
    ) {
        (Some(why), _) => format!("{why}({}–{})", n(t.smallest), n(t.largest)),
        (None, "Range") => format!("{}–{}", n(t.min), n(t.max)),
        (None, "AtLeast") => format!("≥{}", n(t.value)),
        (None, "AtMost") => format!("≤{}", n(t.value)),
        (None, "About") => format!("≈{}", n(t.value)),
        (None, "Unknown") => "unknown".into(),
        (None, _) => n(t.value),
    };
    if t.unknown_terms > 0 {
        format!("{shape} [{} of {} unknown]", t.unknown_terms, t.terms)
    } else {
        shape
    }
}

fn cell(out: &mut String, at: &str, c: &Cell) {
    let f = &c.figures;
    let _ = writeln!(
        out,
        "{at} {} {}: target {} actual {}{}{}{}",
        c.indicator,
        c.year,
        target(f.target.as_ref()),
        f.actual.map_or("-".into(), |v| format!("{v}")),
        f.not_combined.as_deref().map_or(String::new(), |w| format!(
            " {w}({}–{})",
            f.smallest_actual.map_or("?".into(), |v| v.to_string()),
            f.largest_actual.map_or("?".into(), |v| v.to_string())
        )),
        if f.ambiguous_terms > 0 {
            format!(" ambiguous×{}", f.ambiguous_terms)
        } else {
            String::new()
        },
        f.share_of_total
            .map_or(String::new(), |s| format!(" share {s:.4}")),
    );
}

fn span(out: &mut String, at: &str, s: &SpanCell) {
    let f = &s.figures;
    let _ = writeln!(
        out,
        "{at} {} {}..{} ({:?}): target {} actual {}{} pace {}{}",
        s.indicator,
        s.from,
        s.to,
        s.over_time,
        target(f.target.as_ref()),
        f.actual.map_or("-".into(), |v| format!("{v}")),
        if f.ambiguous_terms > 0 {
            format!(" ambiguous×{}", f.ambiguous_terms)
        } else {
            String::new()
        },
        target(s.target_per_year.as_ref()),
        match (s.target_years_min, s.target_years_max) {
            (Some(lo), Some(hi)) if lo == hi => format!(" over {lo}y"),
            (Some(lo), Some(hi)) => format!(" over {lo}–{hi}y"),
            _ => String::new(),
        },
    );
}

fn render(out: &mut String, level: CompareLevel, cmp: &Comparison) {
    let _ = writeln!(
        out,
        "## {level:?} {:?} years {:?}",
        cmp.totals_include, cmp.years
    );
    for c in &cmp.cities {
        for x in &c.cells {
            cell(out, &c.code, x);
        }
        for x in &c.spans {
            span(out, &c.code, x);
        }
        for b in &c.breakdown {
            let at = format!(
                "{} {} {}",
                c.code,
                b.id,
                b.name_zh.as_deref().unwrap_or("?")
            );
            for x in &b.cells {
                cell(out, &at, x);
            }
            for x in &b.spans {
                span(out, &at, x);
            }
        }
        for s in &c.subtotals {
            let at = format!("{} {}×{}", c.code, s.kind, s.scopes);
            for x in &s.cells {
                cell(out, &at, x);
            }
        }
    }
    for x in &cmp.province_totals {
        cell(out, "TOTAL", x);
    }
    for x in &cmp.province_spans {
        span(out, "TOTAL", x);
    }
    for x in &cmp.province_goals {
        cell(out, "GOAL", x);
    }
    for x in &cmp.province_goal_spans {
        span(out, "GOAL", x);
    }
    for n in &cmp.named {
        let units: Vec<&str> = n.units.iter().map(|u| u.id.0.as_str()).collect();
        let _ = writeln!(
            out,
            "NAMED {} {} {} {}: planned {} named {} {units:?}",
            n.region,
            n.indicator,
            n.scope.0,
            n.period,
            target(Some(&n.target)),
            n.named,
        );
    }
}

fn freshness() -> Freshness {
    Freshness {
        answered_by: AnsweredBy::Replica,
        stale: false,
        applied_seq: None,
        node_seq: None,
        last_push_at: None,
        notice: None,
    }
}

#[tokio::test]
async fn the_comparison_of_the_seeded_documents_is_golden_on_both_backends() {
    let catalogue: BTreeMap<String, model::Indicator> = seed::province()
        .unwrap()
        .indicators
        .into_iter()
        .map(|i| (i.code.clone(), i))
        .collect();
    let codes: Vec<String> = catalogue.keys().cloned().collect();
    // One database per server, on each backend.
    let mut per_backend: BTreeMap<&'static str, BTreeMap<RegionCode, store::Store>> =
        BTreeMap::new();
    let mut keep = Vec::new();
    for code in [SHANXI, YUNCHENG, LINFEN] {
        for db in test_support::databases(&format!("golden_{code}")).await {
            let s = db.store(code).await;
            seed::load::load(&s).await.unwrap();
            // A city is read as the hub reads its replica: from the roll-ups.
            s.ensure_rollups().await.unwrap();
            per_backend.entry(db.backend).or_default().insert(code, s);
            keep.push(db);
        }
    }
    let mut texts = Vec::new();
    for (backend, stores) in per_backend {
        let mut text = String::new();
        for level in [
            CompareLevel::City,
            CompareLevel::Institution,
            CompareLevel::Unit,
        ] {
            for chunk in codes.chunks(MAX_INDICATORS) {
                let q = Question {
                    indicators: chunk.to_vec(),
                    cities: Some(vec!["140000".into(), "140800".into(), "141000".into()]),
                    years: Some((2018, 2025)),
                    programmes: Vec::new(),
                    level,
                };
                let p = plan(&q, &catalogue, &[]).unwrap();
                let mut regions = Vec::new();
                for r in &p.regions {
                    regions.push(
                        read_region(&p, r, stores.get(&r.code), freshness())
                            .await
                            .unwrap(),
                    );
                }
                render(&mut text, level, &engine::compare(&p, regions));
            }
        }
        texts.push((backend, text));
    }
    let (first, text) = &texts[0];
    for (backend, other) in &texts[1..] {
        assert!(
            other == text,
            "{backend} differs from {first}:\n{}",
            other
                .lines()
                .zip(text.lines())
                .filter(|(a, b)| a != b)
                .take(10)
                .map(|(a, b)| format!("{backend}: {a}\n{first}: {b}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    insta::assert_snapshot!("seeded_comparison", text);
}
