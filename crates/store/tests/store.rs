//! The store's behaviour, run on a fresh SQLite file and a fresh PostgreSQL database each.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use model::{
    Aggregation, Comparator, Document, Indicator, Institution, PlanCategory, PlanItem, Programme,
    RegionCode, Scope, ScopeKind, Source, Target, TargetValue, Unit, UnitKind, ValueType,
    region::YUNCHENG,
};
use store::{
    Error, ImportBatch, MeasureFilter, PageRequest, PlanItemFilter, Store, UnitFilter,
    page::decode_cursor,
};

fn source() -> Source {
    Source {
        document: "doc".into(),
        quote: "quote".into(),
    }
}

fn indicator(code: &str, unit: &str, value_type: ValueType) -> Indicator {
    Indicator {
        code: code.into(),
        name_zh: code.into(),
        name_en: code.into(),
        unit: unit.into(),
        value_type,
        aggregation: Aggregation::Sum,
        over_scopes: model::ScopeAggregation::Sum,
        description_zh: None,
        formula: None,
        counts_units: None,
    }
}

fn unit(id: &str) -> Unit {
    Unit {
        id: id.into(),
        programme: "prog".into(),
        component: None,
        institution: Some("hosp".into()),
        kind: UnitKind::Specialty,
        name_zh: "心血管内科".into(),
        name_en: "Cardiology".into(),
        target_level: None,
        target_year: Some(2022),
        milestones: Vec::new(),
        note: None,
        source: None,
    }
}

fn plan(unit: &str, year: i32, category: PlanCategory) -> PlanItem {
    PlanItem {
        id: None,
        unit: unit.into(),
        period: model::Period::year(year).unwrap(),
        category,
        text: format!("{year} {}", category.as_str()),
        ambiguous: false,
        note: None,
        source: None,
    }
}

fn target(unit: &str, indicator: &str, year: i32, value: f64) -> Target {
    Target {
        id: None,
        indicator: indicator.into(),
        scope: Scope {
            kind: ScopeKind::Unit,
            id: unit.into(),
        },
        period: model::Period::year(year).unwrap(),
        value: TargetValue {
            comparator: Comparator::Exact,
            value: Some(value),
            min: None,
            max: None,
        },
        unit: None,
        qualifier: None,
        ambiguous: false,
        note: None,
        source: None,
        readings: Vec::new(),
        table: None,
        table_row: None,
        duration: None,
    }
}

/// A programme (2020..2022) with one institution and one unit `cardio`.
async fn fixture(store: &Store) {
    let documents = [Document {
        id: "doc".into(),
        doc_number: Some("运政发〔2020〕33号".into()),
        title: "t".into(),
        issuer: "i".into(),
        issued_on: "2020-11-04".into(),
        file: "000.txt".into(),
    }];
    let indicators = [
        indicator("beds_added", "张", ValueType::Integer),
        indicator("funding", "万元", ValueType::Decimal),
    ];
    let programmes = [Programme {
        id: "prog".into(),
        name_zh: "运城市领军临床重点专科".into(),
        name_en: "Yuncheng leading specialties".into(),
        issuer: "运城市人民政府".into(),
        doc_number: "运政发〔2020〕33号".into(),
        issued_on: "2020-11-04".into(),
        period: "2020..2022".parse().unwrap(),
        relation: None,
        parent: None,
        summary_zh: None,
        summary_en: None,
        note: None,
        source: source(),
    }];
    let institutions = [Institution {
        id: "hosp".into(),
        region: YUNCHENG,
        name_zh: "运城市中心医院".into(),
        name_en: "Yuncheng Central Hospital".into(),
        aliases: vec![],
        source: None,
    }];
    let units = [unit("cardio")];
    let batch = ImportBatch {
        documents: &documents,
        indicators: &indicators,
        programmes: &programmes,
        institutions: &institutions,
        units: &units,
        ..ImportBatch::default()
    };
    store.import(batch, ("seed", "test")).await.unwrap();
}

async fn counts(store: &Store) -> (u64, u64, u64) {
    let all = PageRequest {
        first: Some(200),
        after: None,
    };
    (
        store
            .units(&UnitFilter::default(), &all)
            .await
            .unwrap()
            .total_count,
        store
            .plan_items(&PlanItemFilter::default(), &all)
            .await
            .unwrap()
            .total_count,
        store
            .targets(&MeasureFilter::default(), &all)
            .await
            .unwrap()
            .total_count,
    )
}

fn rules(e: &Error) -> Vec<(String, &'static str)> {
    match e {
        Error::Invalid(v) => v.0.iter().map(|x| (x.field.clone(), x.rule)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_database_belongs_to_one_region() {
    for db in test_support::databases("owner").await {
        let store = db.store(YUNCHENG).await;
        drop(store);
        // Reopening runs migrations again (a no-op) and accepts the same owner…
        db.store(YUNCHENG).await;
        // …but a different region is refused rather than mixed in.
        let err = Store::connect(&db.config, RegionCode::new(141000).unwrap())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("belongs to region 140800"),
            "{}: {err}",
            db.backend
        );
    }
}

#[tokio::test]
async fn invalid_writes_are_refused_with_the_field_and_write_nothing() {
    for db in test_support::databases("invalid").await {
        let store = db.store(YUNCHENG).await;
        fixture(&store).await;
        let before = counts(&store).await;

        let mut u = unit("x");
        u.programme = "nope".into();
        let err = store.create_unit(u).await.unwrap_err();
        assert_eq!(
            rules(&err),
            [("programme".to_owned(), "UNKNOWN_REFERENCE")],
            "{}",
            db.backend
        );

        let mut u = unit("y");
        u.target_year = Some(2030);
        assert_eq!(
            rules(&store.create_unit(u).await.unwrap_err()),
            [("targetYear".to_owned(), "OUT_OF_PERIOD")]
        );

        let err = store
            .create_plan_item(plan("cardio", 2023, PlanCategory::Beds))
            .await
            .unwrap_err();
        assert_eq!(rules(&err), [("period".to_owned(), "OUT_OF_PERIOD")]);

        let err = store
            .create_target(target("cardio", "beds_added", 2021, -5.0))
            .await
            .unwrap_err();
        assert_eq!(rules(&err), [("value.value".to_owned(), "NEGATIVE")]);

        let mut t = target("cardio", "beds_added", 2021, 5.0);
        t.unit = Some("名".into());
        assert_eq!(
            rules(&store.create_target(t).await.unwrap_err()),
            [("unit".to_owned(), "UNIT_MISMATCH")]
        );

        let err = store
            .create_target(target("cardio", "no_such_indicator", 2021, 5.0))
            .await
            .unwrap_err();
        assert_eq!(rules(&err), [("indicator".to_owned(), "UNKNOWN_REFERENCE")]);

        assert_eq!(
            counts(&store).await,
            before,
            "{}: a refused write left something behind",
            db.backend
        );
    }
}

#[tokio::test]
async fn units_are_created_updated_and_deleted_with_versions() {
    for db in test_support::databases("crud").await {
        let store = db.store(YUNCHENG).await;
        fixture(&store).await;

        let mut u = unit("");
        u.name_en = "Neurosurgery Dept".into();
        let created = store.create_unit(u.clone()).await.unwrap();
        assert_eq!(created.id, "neurosurgery-dept", "{}", db.backend);
        assert_eq!(created.version, 1);
        // The same name again gets a fresh id rather than a clash.
        assert_eq!(
            store.create_unit(u.clone()).await.unwrap().id,
            "neurosurgery-dept-2"
        );
        // An explicit id that exists is a conflict.
        assert!(matches!(
            store.create_unit(unit("cardio")).await.unwrap_err(),
            Error::Conflict { .. }
        ));

        let mut changed = u.clone();
        changed.name_zh = "神经外科".into();
        let updated = store
            .update_unit("neurosurgery-dept", changed.clone(), Some(1))
            .await
            .unwrap();
        assert_eq!((updated.version, updated.name_zh.as_str()), (2, "神经外科"));
        let stale = store
            .update_unit("neurosurgery-dept", changed, Some(1))
            .await
            .unwrap_err();
        assert!(
            matches!(
                stale,
                Error::Stale {
                    current: 2,
                    expected: 1,
                    ..
                }
            ),
            "{stale:?}"
        );

        store
            .delete_unit("neurosurgery-dept", Some(2))
            .await
            .unwrap();
        assert!(store.unit("neurosurgery-dept").await.unwrap().is_none());
        assert!(matches!(
            store
                .delete_unit("neurosurgery-dept", None)
                .await
                .unwrap_err(),
            Error::NotFound { .. }
        ));
    }
}

#[tokio::test]
async fn a_unit_with_plan_items_cannot_be_deleted() {
    for db in test_support::databases("dependents").await {
        let store = db.store(YUNCHENG).await;
        fixture(&store).await;
        store
            .create_plan_item(plan("cardio", 2020, PlanCategory::Beds))
            .await
            .unwrap();
        let err = store.delete_unit("cardio", None).await.unwrap_err();
        assert_eq!(
            rules(&err),
            [("id".to_owned(), "HAS_DEPENDENTS")],
            "{}",
            db.backend
        );
        assert!(store.unit("cardio").await.unwrap().is_some());
    }
}

#[tokio::test]
async fn plan_items_page_in_order_without_gaps_or_repeats() {
    for db in test_support::databases("paging").await {
        let store = db.store(YUNCHENG).await;
        fixture(&store).await;
        for year in [2022, 2020, 2021] {
            for c in [
                PlanCategory::Funding,
                PlanCategory::Beds,
                PlanCategory::Talent,
            ] {
                store
                    .create_plan_item(plan("cardio", year, c))
                    .await
                    .unwrap();
            }
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .plan_items(
                    &PlanItemFilter::default(),
                    &PageRequest {
                        first: Some(4),
                        after: after.clone(),
                    },
                )
                .await
                .unwrap();
            assert_eq!(page.total_count, 9);
            seen.extend(page.items.iter().map(|p| p.text.clone()));
            if !page.has_next_page {
                break;
            }
            after = page.cursors.last().cloned();
            assert!(decode_cursor(after.as_deref().unwrap()).is_some());
        }
        let expected: Vec<String> = [2020, 2021, 2022]
            .iter()
            .flat_map(|y| ["beds", "talent", "funding"].map(|c| format!("{y} {c}")))
            .collect();
        assert_eq!(
            seen, expected,
            "{}: year order, then table-row order",
            db.backend
        );

        let f = PlanItemFilter {
            year: Some(2021),
            category: Some(PlanCategory::Talent),
            ..Default::default()
        };
        let page = store.plan_items(&f, &PageRequest::default()).await.unwrap();
        assert_eq!(
            page.items
                .iter()
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>(),
            ["2021 talent"]
        );
        let f = PlanItemFilter {
            programme: Some("prog".into()),
            ..Default::default()
        };
        assert_eq!(
            store
                .plan_items(&f, &PageRequest::default())
                .await
                .unwrap()
                .total_count,
            9
        );
    }
}

#[tokio::test]
async fn targets_get_readable_unique_ids_and_keep_ranges() {
    for db in test_support::databases("targets").await {
        let store = db.store(YUNCHENG).await;
        fixture(&store).await;
        let a = store
            .create_target(target("cardio", "beds_added", 2020, 50.0))
            .await
            .unwrap();
        let b = store
            .create_target(target("cardio", "beds_added", 2020, 8.0))
            .await
            .unwrap();
        assert_eq!(
            (a.id.as_str(), b.id.as_str()),
            ("cardio-beds-added-2020", "cardio-beds-added-2020-2"),
            "{}",
            db.backend
        );

        let mut range = target("cardio", "funding", 2021, 0.0);
        range.value = TargetValue {
            comparator: Comparator::Range,
            value: None,
            min: Some(1.5),
            max: Some(2.5),
        };
        let r = store.create_target(range).await.unwrap();
        let back = store.target(&r.id).await.unwrap().unwrap();
        assert_eq!(
            (
                back.comparator.as_str(),
                back.min_value,
                back.max_value,
                back.value
            ),
            ("range", Some(1.5), Some(2.5), None)
        );

        let f = MeasureFilter {
            indicator: Some("beds_added".into()),
            year: Some(2020),
            ..Default::default()
        };
        assert_eq!(
            store
                .targets(&f, &PageRequest::default())
                .await
                .unwrap()
                .total_count,
            2
        );
    }
}

#[tokio::test]
async fn a_failed_import_writes_nothing_and_leaves_no_marker() {
    for db in test_support::databases("import").await {
        let store = db.store(YUNCHENG).await;
        let units = [unit("a"), unit("a")]; // duplicate primary key fails mid-batch
        let batch = ImportBatch {
            units: &units,
            ..ImportBatch::default()
        };
        assert!(
            store.import(batch, ("seed", "x")).await.is_err(),
            "{}",
            db.backend
        );
        assert_eq!(store.meta("seed").await.unwrap(), None);
        assert_eq!(counts(&store).await, (0, 0, 0));
    }
}

#[tokio::test]
async fn every_write_appends_one_change_in_order_and_refused_writes_append_none() {
    for db in test_support::databases("outbox").await {
        let store = db.store(YUNCHENG).await;
        fixture(&store).await;
        // The fixture import recorded one change per imported row (2 indicators, 1 document,
        // 1 programme, 1 institution, 1 unit).
        let imported = store.last_seq().await.unwrap();
        assert_eq!(imported, 6, "{}", db.backend);

        let t = store
            .create_target(target("cardio", "beds_added", 2020, 50.0))
            .await
            .unwrap();
        // A refused write takes no sequence number.
        store
            .create_target(target("cardio", "beds_added", 2020, -1.0))
            .await
            .unwrap_err();
        store
            .update_target(&t.id, target("cardio", "beds_added", 2020, 40.0), Some(1))
            .await
            .unwrap();
        store.delete_target(&t.id, Some(2)).await.unwrap();

        let changes = store.changes_after(imported, 100).await.unwrap();
        let summary: Vec<(i64, &str, &str, i32, bool)> = changes
            .iter()
            .map(|c| {
                (
                    c.seq,
                    c.entity.as_str(),
                    c.op.as_str(),
                    c.version,
                    c.payload.is_some(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (7, "target", "upsert", 1, true),
                (8, "target", "upsert", 2, true),
                (9, "target", "delete", 3, false),
            ],
            "{}",
            db.backend
        );
        let payload: serde_json::Value =
            serde_json::from_str(changes[1].payload.as_deref().unwrap()).unwrap();
        assert_eq!(
            payload["value"], 40.0,
            "the payload is the record after the write"
        );
        assert!(changes.iter().all(|c| c.entity_id == t.id));
    }
}

#[tokio::test]
async fn concurrent_writers_get_gap_free_unique_sequence_numbers() {
    for db in test_support::databases("outbox_concurrent").await {
        let store = db.store(YUNCHENG).await;
        fixture(&store).await;
        let start = store.last_seq().await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut t = target("cardio", "funding", 2021, f64::from(i));
                t.id = Some(format!("t{i}"));
                // Every fourth write is refused: it must not leave a gap.
                if i % 4 == 0 {
                    t.period = "2030".parse().unwrap();
                }
                store.create_target(t).await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            if t.await.unwrap().is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 15);
        let seqs: Vec<i64> = store
            .changes_after(start, 100)
            .await
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(
            seqs,
            ((start + 1)..=(start + 15)).collect::<Vec<_>>(),
            "{}",
            db.backend
        );
        assert_eq!(store.last_seq().await.unwrap(), start + 15);
    }
}

#[tokio::test]
async fn deleting_a_plan_item_checks_its_version_and_leaves_a_tombstone() {
    for db in test_support::databases("delete_plan").await {
        let store = db.store(YUNCHENG).await;
        fixture(&store).await;
        let item = store
            .create_plan_item(plan("cardio", 2021, PlanCategory::Beds))
            .await
            .unwrap();
        let stale = store.delete_plan_item(&item.id, Some(7)).await.unwrap_err();
        assert!(
            matches!(
                stale,
                Error::Stale {
                    current: 1,
                    expected: 7,
                    ..
                }
            ),
            "{}: {stale:?}",
            db.backend
        );
        assert!(
            store.plan_item(&item.id).await.unwrap().is_some(),
            "a refused delete removes nothing"
        );
        let seq = store.last_seq().await.unwrap();
        store.delete_plan_item(&item.id, Some(1)).await.unwrap();
        assert!(store.plan_item(&item.id).await.unwrap().is_none());
        let last = store.changes_after(seq, 10).await.unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(
            (
                last[0].entity.as_str(),
                last[0].op.as_str(),
                last[0].version
            ),
            ("plan_item", "delete", 2)
        );
        assert!(matches!(
            store.delete_plan_item(&item.id, None).await.unwrap_err(),
            Error::NotFound {
                kind: "plan item",
                ..
            }
        ));
    }
}

/// Every pooled SQLite connection has the pragmas (not only the one a PRAGMA statement run
/// through the pool happens to reach): several connections are held at once and each asked.
#[tokio::test]
async fn every_sqlite_connection_enforces_foreign_keys_and_waits_when_busy() {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let db = test_support::sqlite();
    let store = db.store(YUNCHENG).await;
    let conn = store.connection();
    let mut held = Vec::new();
    for _ in 0..4 {
        // A transaction holds its connection until it ends.
        held.push(conn.begin().await.unwrap());
    }
    for tx in &held {
        for (pragma, expected) in [("foreign_keys", 1i64), ("busy_timeout", 5000)] {
            let row = tx
                .query_one_raw(Statement::from_string(
                    sea_orm::DatabaseBackend::Sqlite,
                    format!("PRAGMA {pragma}"),
                ))
                .await
                .unwrap()
                .unwrap();
            let v: i64 = row.try_get_by_index(0).unwrap();
            assert_eq!(v, expected, "{pragma}");
        }
        let row = tx
            .query_one_raw(Statement::from_string(
                sea_orm::DatabaseBackend::Sqlite,
                "PRAGMA journal_mode".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        let mode: String = row.try_get_by_index(0).unwrap();
        assert_eq!(mode, "wal");
    }
}

/// The bundled SQLite keeps a statement's plan whatever is bound to it (the planner's
/// stability guarantee, `.cargo/config.toml`): without it, after `ANALYZE` every rebound
/// comparison statement is parsed and planned again, and the statement cache saves nothing.
#[tokio::test]
async fn the_bundled_sqlite_keeps_its_plans_and_takes_no_global_lock_per_allocation() {
    use sea_orm::{ConnectionTrait, Statement};
    let db = test_support::sqlite();
    let store = db.store(YUNCHENG).await;
    let rows = store
        .connection()
        .query_all_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "PRAGMA compile_options".to_owned(),
        ))
        .await
        .unwrap();
    let options: Vec<String> = rows
        .iter()
        .map(|r| r.try_get_by_index(0).unwrap())
        .collect();
    for wanted in ["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0", "ENABLE_STAT4"] {
        assert!(
            options.iter().any(|o| o == wanted),
            "{wanted} missing from {options:?}"
        );
    }
}

/// Two servers on one database (two hubs behind a load balancer) each open their own
/// handle; the database's writers' lock orders what they do at once: an import behind a
/// marker is loaded once, a pushed batch applied once, and no update of the shared sync
/// state is lost.
#[tokio::test]
async fn two_servers_on_one_database_take_turns() {
    let mut pairs = vec![(test_support::sqlite(), test_support::sqlite())];
    if let (Some(db), Some(replica)) = (
        test_support::postgres("two_servers").await,
        test_support::postgres("two_servers_replica").await,
    ) {
        pairs.push((db, replica));
    }
    for (db, replica) in pairs {
        // Both migrate at once on PostgreSQL (under its advisory lock); sharing a SQLite
        // file between servers is not supported, so those open one after the other.
        let (one, two) = if db.backend == "postgres" {
            tokio::join!(db.store(YUNCHENG), db.store(YUNCHENG))
        } else {
            (db.store(YUNCHENG).await, db.store(YUNCHENG).await)
        };
        fixture(&one).await;
        let import = |store: Store| async move {
            let units = [unit("neuro")];
            store
                .import(
                    ImportBatch {
                        units: &units,
                        ..ImportBatch::default()
                    },
                    ("extra", "x"),
                )
                .await
                .unwrap()
        };
        let (a, b) = tokio::join!(import(one.clone()), import(two.clone()));
        assert!(a ^ b, "loaded once: {a} {b} ({})", db.backend);
        assert_eq!(counts(&two).await.0, 2, "{}", db.backend);

        // The node's change log, pushed to one replica through two handles at once.
        for i in 0..30 {
            let mut t = target("cardio", "funding", 2021, f64::from(i));
            t.id = Some(format!("t{i}"));
            one.create_target(t).await.unwrap();
        }
        let changes = one.changes_after(0, 1000).await.unwrap();
        let (r1, r2) = if db.backend == "postgres" {
            tokio::join!(replica.store(YUNCHENG), replica.store(YUNCHENG))
        } else {
            (replica.store(YUNCHENG).await, replica.store(YUNCHENG).await)
        };
        let apply = |r: Store| {
            let changes = changes.clone();
            async move {
                r.apply_changes(&changes, None, store::replica::CrashAfter::default())
                    .await
                    .unwrap()
            }
        };
        let (x, y) = tokio::join!(apply(r1.clone()), apply(r2.clone()));
        let n = changes.len() as u64;
        assert_eq!(x.applied + y.applied, n, "applied once ({})", db.backend);
        assert_eq!(x.skipped + y.skipped, n, "{}", db.backend);
        assert_eq!(r2.applied_seq().await.unwrap(), n as i64);
        assert_eq!(r1.digests().await.unwrap(), one.digests().await.unwrap());

        // Read-modify-write of a shared value from both handles at once.
        let bump = |r: Store| async move {
            for _ in 0..20 {
                r.update_meta(store::replica::SYNC_STATUS, |old| {
                    let n: u32 = old.and_then(|v| v.parse().ok()).unwrap_or(0);
                    (n + 1).to_string()
                })
                .await
                .unwrap();
            }
        };
        tokio::join!(bump(r1.clone()), bump(r2.clone()));
        let (seq, status) = r1.sync_meta().await.unwrap();
        assert_eq!(
            (seq, status.as_deref()),
            (n as i64, Some("40")),
            "{}",
            db.backend
        );
    }
}

/// A PostgreSQL server nobody listens on: the error comes at once and names the address and
/// the cause, not a pool's time-out after many seconds.
#[tokio::test]
async fn an_unreachable_database_is_named_with_its_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // free, and closed again: nothing listens there
    let config = store::DatabaseConfig {
        url: format!("postgres://xingyi:secret@127.0.0.1:{port}/xingyi_hub"),
        max_connections: 2,
    };
    let Err(e) = Store::connect(&config, YUNCHENG).await else {
        panic!("connected to a port nobody listens on");
    };
    let text = e.to_string();
    assert!(matches!(e, Error::Unreachable { .. }), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(!text.contains("secret"), "the password stays out: {text}");
}

fn composite(code: &str, unit: &str, formula: model::Formula) -> Indicator {
    Indicator {
        formula: Some(formula),
        ..indicator(code, unit, ValueType::Integer)
    }
}

fn sum(terms: &[&str]) -> model::Formula {
    model::Formula::Sum {
        terms: terms.iter().map(|t| (*t).to_owned()).collect(),
    }
}

#[tokio::test]
async fn a_composite_is_checked_against_the_catalogue_and_never_reported() {
    for db in test_support::databases("composite").await {
        let store = db.store(YUNCHENG).await;
        fixture(&store).await;
        let b = db.backend;
        store
            .put_indicator(indicator("icu_beds_added", "张", ValueType::Integer), None)
            .await
            .unwrap();
        store
            .put_indicator(
                composite("beds_all", "张", sum(&["beds_added", "icu_beds_added"])),
                None,
            )
            .await
            .unwrap();
        let seq = store.last_seq().await.unwrap();
        let refused = |e: Error| rules(&e).into_iter().map(|(_, r)| r).collect::<Vec<_>>();

        // Its own operand, an unknown operand, another unit of measure, a percentage.
        let own = store
            .put_indicator(composite("loop", "张", sum(&["loop", "beds_added"])), None)
            .await
            .unwrap_err();
        assert!(refused(own).contains(&"COMPOSITE_CYCLE"), "{b}");
        let unknown = store
            .put_indicator(composite("x", "张", sum(&["beds_added", "nope"])), None)
            .await
            .unwrap_err();
        assert!(refused(unknown).contains(&"UNKNOWN_INDICATOR"), "{b}");
        let money = store
            .put_indicator(composite("y", "张", sum(&["beds_added", "funding"])), None)
            .await
            .unwrap_err();
        assert!(refused(money).contains(&"UNIT_MISMATCH"), "{b}");
        store
            .put_indicator(
                Indicator {
                    over_scopes: model::ScopeAggregation::NotAdditive,
                    aggregation: model::Aggregation::Sum,
                    ..indicator("rate", "%", ValueType::Percent)
                },
                None,
            )
            .await
            .unwrap();
        let rate = store
            .put_indicator(
                Indicator {
                    value_type: ValueType::Percent,
                    over_scopes: model::ScopeAggregation::NotAdditive,
                    ..composite(
                        "z",
                        "%",
                        model::Formula::Ratio {
                            numerator: "rate".into(),
                            denominator: "beds_added".into(),
                            scale: 100.0,
                        },
                    )
                },
                None,
            )
            .await
            .unwrap_err();
        assert!(refused(rate).contains(&"NOT_ADDITIVE"), "{b}");
        // A cycle through another composite: redefining an operand to read the composite.
        let cycle = store
            .put_indicator(
                composite("icu_beds_added", "张", sum(&["beds_all", "beds_added"])),
                None,
            )
            .await
            .unwrap_err();
        assert!(refused(cycle).contains(&"COMPOSITE_CYCLE"), "{b}");
        // Changing an operand's unit breaks the composite that reads it.
        let breaks = store
            .put_indicator(indicator("icu_beds_added", "床", ValueType::Integer), None)
            .await
            .unwrap_err();
        assert!(refused(breaks).contains(&"UNIT_MISMATCH"), "{b}");
        // Only the rate indicator was written: every refusal wrote nothing.
        assert_eq!(store.last_seq().await.unwrap(), seq + 1, "{b}");

        // A composite is computed, never set or reported.
        let t = store
            .create_target(Target {
                indicator: "beds_all".into(),
                ..target("cardio", "beds_added", 2021, 10.0)
            })
            .await
            .unwrap_err();
        assert!(refused(t).contains(&"COMPOSITE_NOT_REPORTED"), "{b}");
        let m = store.indicator("beds_all").await.unwrap().unwrap();
        let back = store::writes::indicator_model(&m).unwrap();
        assert_eq!(
            back.formula,
            Some(sum(&["beds_added", "icu_beds_added"])),
            "{b}: the formula reads back"
        );
    }
}
