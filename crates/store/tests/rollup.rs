//! The replica's comparison roll-ups give exactly the groups the reference SQL
//! (`comparison_facts`) computes from the rows, after every kind of change the sync applies —
//! created, updated (moved to another indicator or year, another comparator), deleted targets
//! and actuals; units moved to another programme and institution — and after a snapshot
//! rebuild. Run on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use model::{
    Actual, Aggregation, Comparator, Document, Indicator, Institution, Programme, Scope, ScopeKind,
    Source, Target, TargetValue, Unit, UnitKind, ValueType, region::YUNCHENG,
};
use store::{
    ImportBatch, Store,
    compare::{Facts, FactsQuery, GroupLevel},
    entity::target,
    replica::CrashAfter,
};

const INDICATORS: [&str; 3] = ["beds_total", "beds_added", "funding"];

fn indicator(code: &str, aggregation: Aggregation) -> Indicator {
    Indicator {
        code: code.into(),
        name_zh: code.into(),
        name_en: code.into(),
        unit: "张".into(),
        value_type: ValueType::Decimal,
        aggregation,
        over_scopes: model::ScopeAggregation::Sum,
        description_zh: None,
        formula: None,
        counts_units: None,
    }
}

fn programme(id: &str) -> Programme {
    Programme {
        id: id.into(),
        name_zh: id.into(),
        name_en: id.into(),
        issuer: "运城市人民政府".into(),
        doc_number: "运政发〔2020〕33号".into(),
        issued_on: "2020-11-04".into(),
        period: "2018..2025".parse().unwrap(),
        relation: None,
        parent: None,
        summary_zh: None,
        summary_en: None,
        note: None,
        source: Source {
            document: "doc".into(),
            quote: "quote".into(),
        },
    }
}

fn institution(id: &str) -> Institution {
    Institution {
        id: id.into(),
        region: YUNCHENG,
        name_zh: id.into(),
        name_en: id.into(),
        aliases: vec![],
        source: None,
    }
}

fn unit(id: &str, programme: &str, institution: Option<&str>) -> Unit {
    Unit {
        id: id.into(),
        programme: programme.into(),
        component: None,
        institution: institution.map(Into::into),
        kind: UnitKind::Specialty,
        name_zh: id.into(),
        name_en: id.into(),
        target_level: None,
        target_year: None,
        milestones: Vec::new(),
        note: None,
        source: None,
    }
}

fn scope(kind: ScopeKind, id: &str) -> Scope {
    Scope {
        kind,
        id: id.into(),
    }
}

fn target(indicator: &str, scope: Scope, year: i32, value: TargetValue) -> Target {
    Target {
        id: None,
        indicator: indicator.into(),
        scope,
        period: model::Period::year(year).unwrap(),
        value,
        unit: None,
        qualifier: None,
        ambiguous: value.comparator == Comparator::Unknown,
        note: (value.comparator == Comparator::Unknown).then(|| "the cell is unreadable".into()),
        source: None,
        readings: Vec::new(),
        table: None,
        table_row: None,
        duration: None,
    }
}

fn value(comparator: Comparator, value: Option<f64>, range: Option<(f64, f64)>) -> TargetValue {
    TargetValue {
        comparator,
        value,
        min: range.map(|r| r.0),
        max: range.map(|r| r.1),
    }
}

fn actual(indicator: &str, scope: Scope, period: &str, value: f64) -> Actual {
    Actual {
        id: None,
        indicator: indicator.into(),
        scope,
        period: period.parse().unwrap(),
        value,
        unit: None,
        note: None,
        source: None,
    }
}

/// Two programmes, two institutions, units in each combination and one without institution.
async fn fixture(node: &Store) {
    let documents = [Document {
        id: "doc".into(),
        doc_number: None,
        title: "t".into(),
        issuer: "i".into(),
        issued_on: "2020-11-04".into(),
        file: "000.txt".into(),
    }];
    let indicators = [
        indicator("beds_total", Aggregation::Latest),
        indicator("beds_added", Aggregation::Sum),
        indicator("funding", Aggregation::Sum),
    ];
    let programmes = [programme("prog"), programme("prog2")];
    let institutions = [institution("hosp"), institution("hosp2")];
    let units = [
        unit("u1", "prog", Some("hosp")),
        unit("u2", "prog", Some("hosp2")),
        unit("u3", "prog2", Some("hosp")),
        unit("u4", "prog2", None),
    ];
    node.import(
        ImportBatch {
            documents: &documents,
            indicators: &indicators,
            programmes: &programmes,
            institutions: &institutions,
            units: &units,
            ..ImportBatch::default()
        },
        ("seed", "test"),
    )
    .await
    .unwrap();
}

/// Every question the hub can ask at city and institution level.
fn questions() -> Vec<FactsQuery> {
    let mut out = Vec::new();
    for level in [GroupLevel::City, GroupLevel::Institution] {
        for programmes in [vec![], vec!["prog".to_owned()], vec!["prog2".to_owned()]] {
            for latest in [vec![], vec!["beds_total".to_owned()]] {
                for years in [(2018, 2025), (2021, 2021), (2023, 2024)] {
                    out.push(FactsQuery {
                        indicators: INDICATORS.iter().map(|s| (*s).to_owned()).collect(),
                        years,
                        programmes: programmes.clone(),
                        latest: latest.clone(),
                        level,
                        kinds: Vec::new(),
                    });
                }
            }
        }
    }
    out
}

fn sorted(mut f: Facts) -> Facts {
    f.targets.sort_by(|a, b| {
        (&a.indicator, a.year, &a.scope, &a.comparator).cmp(&(
            &b.indicator,
            b.year,
            &b.scope,
            &b.comparator,
        ))
    });
    f.actuals
        .sort_by(|a, b| (&a.indicator, a.year, &a.scope).cmp(&(&b.indicator, b.year, &b.scope)));
    f
}

/// Pushes the node's new changes to the replica in small batches (as the pusher would).
async fn sync(node: &Store, replica: &Store) {
    loop {
        let cursor = replica.applied_seq().await.unwrap();
        let batch = node.changes_after(cursor, 7).await.unwrap();
        if batch.is_empty() {
            return;
        }
        replica
            .apply_changes(&batch, None, CrashAfter::default())
            .await
            .unwrap();
    }
}

/// The roll-ups answer every question exactly as the rows do; returns how many groups the
/// questions found (so a step that empties everything is noticed).
async fn assert_same(replica: &Store, step: &str, backend: &str) -> usize {
    let mut groups = 0;
    for q in questions() {
        let reference = sorted(replica.comparison_facts(&q).await.unwrap());
        let rolled = sorted(replica.rollup_facts(&q).await.unwrap());
        assert_eq!(rolled, reference, "{backend}, {step}: {q:?}");
        groups += reference.targets.len() + reference.actuals.len();
    }
    groups
}

#[tokio::test]
async fn roll_ups_equal_the_reference_sql_after_every_kind_of_change() {
    let nodes = test_support::databases("rollup_node").await;
    let replicas = test_support::databases("rollup_replica").await;
    let rebuilt = test_support::databases("rollup_rebuilt").await;
    for ((n, r), b) in nodes.iter().zip(&replicas).zip(&rebuilt) {
        let backend = n.backend.to_owned();
        let node = n.store(YUNCHENG).await;
        let replica = r.store(YUNCHENG).await;
        fixture(&node).await;

        // Targets of every comparator at every scope kind, actuals with several reports of a
        // stock in one year.
        use Comparator::*;
        let u = |id: &str| scope(ScopeKind::Unit, id);
        let mut targets = Vec::new();
        for (ind, sc, year, v) in [
            ("beds_added", u("u1"), 2021, value(Exact, Some(10.0), None)),
            ("beds_added", u("u2"), 2021, value(AtLeast, Some(5.0), None)),
            (
                "beds_added",
                u("u3"),
                2021,
                value(Range, None, Some((1.0, 2.0))),
            ),
            ("beds_added", u("u4"), 2021, value(Unknown, None, None)),
            ("beds_added", u("u1"), 2022, value(About, Some(7.5), None)),
            (
                "funding",
                scope(ScopeKind::Programme, "prog"),
                2021,
                value(Exact, Some(150.25), None),
            ),
            (
                "funding",
                scope(ScopeKind::Institution, "hosp"),
                2021,
                value(AtMost, Some(80.0), None),
            ),
            ("beds_total", u("u3"), 2023, value(Exact, Some(300.0), None)),
        ] {
            targets.push(node.create_target(target(ind, sc, year, v)).await.unwrap());
        }
        let mut actuals = Vec::new();
        for (ind, sc, period, v) in [
            ("beds_total", u("u1"), "2021-06", 300.0),
            ("beds_total", u("u1"), "2021-12", 320.0),
            ("beds_total", u("u2"), "2021-03", 110.5),
            ("beds_total", u("u3"), "2021", 90.0),
            ("beds_total", u("u4"), "2021-09", 40.0),
            ("beds_added", u("u1"), "2021", 12.0),
            ("beds_added", u("u2"), "2021", 3.0),
            ("beds_added", u("u3"), "2022", 1.5),
            (
                "funding",
                scope(ScopeKind::Programme, "prog2"),
                "2021",
                99.75,
            ),
            (
                "funding",
                scope(ScopeKind::Institution, "hosp2"),
                "2021",
                20.0,
            ),
        ] {
            actuals.push(
                node.create_actual(actual(ind, sc, period, v))
                    .await
                    .unwrap(),
            );
        }
        sync(&node, &replica).await;
        assert!(assert_same(&replica, "created", &backend).await > 0);

        // Updates that move a row to another indicator, year and comparator.
        let a = &actuals[5];
        node.update_actual(
            &a.id,
            actual("funding", u("u1"), "2023", 44.0),
            Some(a.version),
        )
        .await
        .unwrap();
        let t = &targets[0];
        node.update_target(
            &t.id,
            target(
                "beds_added",
                u("u1"),
                2024,
                value(AtLeast, Some(11.0), None),
            ),
            Some(t.version),
        )
        .await
        .unwrap();
        // A later report of the stock in 2021: the June and December ones stop counting.
        node.create_actual(actual("beds_total", u("u2"), "2021-11", 115.0))
            .await
            .unwrap();
        sync(&node, &replica).await;
        assert_same(&replica, "updated", &backend).await;

        // Units move: to the other programme, to another institution, out of any institution.
        for (id, prog, inst) in [
            ("u1", "prog2", Some("hosp2")),
            ("u2", "prog", None),
            ("u4", "prog", Some("hosp")),
        ] {
            let current = node.unit(id).await.unwrap().unwrap();
            node.update_unit(id, unit(id, prog, inst), Some(current.version))
                .await
                .unwrap();
        }
        sync(&node, &replica).await;
        assert_same(&replica, "units moved", &backend).await;

        // Deletes, including the latest report of a stock (the earlier one counts again).
        let latest_u1 = &actuals[1];
        node.delete_actual(&latest_u1.id, Some(latest_u1.version))
            .await
            .unwrap();
        for t in &targets[1..3] {
            node.delete_target(&t.id, Some(t.version)).await.unwrap();
        }
        sync(&node, &replica).await;
        let groups = assert_same(&replica, "deleted", &backend).await;
        assert!(groups > 0);

        // A replica rebuilt from the node's snapshot has the same roll-ups.
        let fresh = b.store(YUNCHENG).await;
        fresh
            .restore_snapshot(&node.snapshot().await.unwrap())
            .await
            .unwrap();
        assert_eq!(assert_same(&fresh, "rebuilt", &backend).await, groups);
        for q in questions() {
            assert_eq!(
                sorted(fresh.rollup_facts(&q).await.unwrap()),
                sorted(replica.rollup_facts(&q).await.unwrap()),
                "{backend}: incremental and rebuilt roll-ups differ for {q:?}"
            );
        }
        assert!(
            !fresh.ensure_rollups().await.unwrap(),
            "restored roll-ups are current"
        );
        // A database whose roll-ups were never built (a replica from before they existed)
        // gets them built once.
        assert!(node.ensure_rollups().await.unwrap());
        assert!(!node.ensure_rollups().await.unwrap());
        assert_eq!(assert_same(&node, "built at start", &backend).await, groups);
    }
}

/// One change a city's staff may make.
#[derive(Debug, Clone)]
enum Op {
    /// A target of `INDICATORS[ind]` on unit `unit` over `years` years ending in `year`, with a
    /// duration when `duration` is given (its bounds clipped to the period).
    Target {
        ind: usize,
        unit: usize,
        year: i32,
        years: i32,
        comparator: usize,
        value: u16,
        duration: Option<(i32, i32)>,
    },
    /// A report in `year`, month `month`.
    Actual {
        ind: usize,
        unit: usize,
        year: i32,
        month: u32,
        value: u16,
    },
    /// The `pick`-th live target moved to `year` with a new value.
    UpdateTarget { pick: usize, year: i32, value: u16 },
    /// The `pick`-th live target deleted.
    DeleteTarget { pick: usize },
    /// The `pick`-th live actual deleted.
    DeleteActual { pick: usize },
    /// A unit moved to another programme and institution.
    MoveUnit {
        unit: usize,
        prog: usize,
        inst: Option<usize>,
    },
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0usize..3, 0usize..4, 2023i32..2026, 1i32..4, 0usize..6, 0u16..500,
              proptest::option::of((1i32..4, 0i32..3)))
            .prop_map(|(ind, unit, year, years, comparator, value, duration)| Op::Target {
                ind, unit, year, years, comparator, value,
                duration: duration.map(|(lo, extra)| (lo, lo + extra)),
            }),
        3 => (0usize..3, 0usize..4, 2019i32..2025, 1u32..13, 0u16..500)
            .prop_map(|(ind, unit, year, month, value)| Op::Actual { ind, unit, year, month, value }),
        1 => (0usize..64, 2018i32..2026, 0u16..500)
            .prop_map(|(pick, year, value)| Op::UpdateTarget { pick, year, value }),
        1 => (0usize..64).prop_map(|pick| Op::DeleteTarget { pick }),
        1 => (0usize..64).prop_map(|pick| Op::DeleteActual { pick }),
        1 => (0usize..4, 0usize..2, proptest::option::of(0usize..2))
            .prop_map(|(unit, prog, inst)| Op::MoveUnit { unit, prog, inst }),
    ]
}

fn random_target(
    ind: usize,
    unit: usize,
    year: i32,
    years: i32,
    comparator: usize,
    v: u16,
    duration: Option<(i32, i32)>,
) -> Target {
    use Comparator::*;
    let x = f64::from(v);
    let value = match comparator {
        0 => value(Exact, Some(x), None),
        1 => value(About, Some(x), None),
        2 => value(AtLeast, Some(x), None),
        3 => value(AtMost, Some(x), None),
        4 => value(Range, None, Some((x, x + 10.0))),
        _ => value(Unknown, None, None),
    };
    // The fixture's programmes run 2018..2025.
    let years = years.min(year - 2017);
    let mut t = target(
        INDICATORS[ind],
        scope(ScopeKind::Unit, &format!("u{}", unit + 1)),
        year,
        value,
    );
    t.period = model::Period::years(year - years + 1, year).unwrap();
    t.duration = duration.map(|(lo, hi)| model::Duration {
        min_years: lo.min(years),
        max_years: hi.min(years),
    });
    t
}

/// Applies `ops` at a node, syncing to its replica in batches of `batch` changes after every
/// few, and checks the replica's roll-ups against the rows after each sync.
async fn run_ops(ops: &[Op], batch: u64, case: usize) {
    let nodes = test_support::databases(&format!("prop_node_{case}")).await;
    let replicas = test_support::databases(&format!("prop_replica_{case}")).await;
    for (n, r) in nodes.iter().zip(&replicas) {
        let backend = n.backend;
        let node = n.store(YUNCHENG).await;
        let replica = r.store(YUNCHENG).await;
        fixture(&node).await;
        let (mut targets, mut actuals) = (Vec::new(), Vec::new());
        for (i, op) in ops.iter().enumerate() {
            match op.clone() {
                Op::Target {
                    ind,
                    unit,
                    year,
                    years,
                    comparator,
                    value,
                    duration,
                } => {
                    let t = random_target(ind, unit, year, years, comparator, value, duration);
                    targets.push(node.create_target(t).await.unwrap());
                }
                Op::Actual {
                    ind,
                    unit,
                    year,
                    month,
                    value,
                } => {
                    let a = actual(
                        INDICATORS[ind],
                        scope(ScopeKind::Unit, &format!("u{}", unit + 1)),
                        &format!("{year}-{month:02}"),
                        f64::from(value),
                    );
                    actuals.push(node.create_actual(a).await.unwrap());
                }
                Op::UpdateTarget { pick, year, value } if !targets.is_empty() => {
                    let k = pick % targets.len();
                    let old: target::Model = targets[k].clone();
                    let mut t = random_target(0, 0, year, 1, 0, value, None);
                    t.indicator = old.indicator.clone();
                    t.scope = scope(ScopeKind::Unit, &old.scope_id);
                    targets[k] = node
                        .update_target(&old.id, t, Some(old.version))
                        .await
                        .unwrap();
                }
                Op::DeleteTarget { pick } if !targets.is_empty() => {
                    let t = targets.remove(pick % targets.len());
                    node.delete_target(&t.id, Some(t.version)).await.unwrap();
                }
                Op::DeleteActual { pick } if !actuals.is_empty() => {
                    let a = actuals.remove(pick % actuals.len());
                    node.delete_actual(&a.id, Some(a.version)).await.unwrap();
                }
                Op::MoveUnit {
                    unit: u,
                    prog,
                    inst,
                } => {
                    let id = format!("u{}", u + 1);
                    let current = node.unit(&id).await.unwrap().unwrap();
                    let progs = ["prog", "prog2"];
                    let insts = ["hosp", "hosp2"];
                    node.update_unit(
                        &id,
                        unit(&id, progs[prog], inst.map(|i| insts[i])),
                        Some(current.version),
                    )
                    .await
                    .unwrap();
                }
                _ => {}
            }
            if i % 4 == 3 {
                sync_in(&node, &replica, batch).await;
                assert_same(&replica, &format!("after op {i}"), backend).await;
            }
        }
        sync_in(&node, &replica, batch).await;
        assert_same(&replica, "at the end", backend).await;
    }
}

/// Pushes the node's new changes to the replica in batches of `size`.
async fn sync_in(node: &Store, replica: &Store, size: u64) {
    loop {
        let cursor = replica.applied_seq().await.unwrap();
        let batch = node.changes_after(cursor, size).await.unwrap();
        if batch.is_empty() {
            return;
        }
        replica
            .apply_changes(&batch, None, CrashAfter::default())
            .await
            .unwrap();
    }
}

/// Any sequence of changes, synced in any batch size, leaves roll-ups that answer every
/// question as the rows do (durations and spans of years included). Few cases: each makes
/// fresh databases on both backends.
#[test]
fn roll_ups_equal_the_reference_after_any_sequence_of_synced_changes() {
    use proptest::{
        prelude::*,
        test_runner::{Config, TestRunner},
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 8,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(
            &(prop::collection::vec(op(), 1..24), 1u64..9),
            |(ops, batch)| {
                let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                rt.block_on(run_ops(&ops, batch, n));
                Ok(())
            },
        )
        .unwrap();
}
