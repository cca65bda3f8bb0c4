//! Loading a server's seed into its store on first start. Idempotent: the load and its marker
//! (`meta.seed`) commit in one transaction, and a database with the marker is left alone, so
//! staff edits made after the first start are never overwritten.

use std::collections::HashSet;

use model::{Indicator, region::SHANXI};
use store::{ImportBatch, Store, writes::derived_measure_id};

use crate::{Error, SeedFile, for_region, province};

/// What [`load`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOutcome {
    /// The seed was loaded; counts of what was written.
    Loaded {
        /// Programmes written.
        programmes: usize,
        /// Units written.
        units: usize,
        /// Plan items written.
        plan_items: usize,
        /// Targets written.
        targets: usize,
        /// Actuals written.
        actuals: usize,
    },
    /// The database already holds this server's seed.
    AlreadyLoaded,
    /// The region has no documents, so nothing to load (its node starts empty).
    NoSeed,
}

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The embedded seed files are broken.
    #[error(transparent)]
    Seed(#[from] Error),
    /// The store refused.
    #[error("could not write the seed")]
    Store(#[from] store::Error),
}

/// A stable digest of the seed contents, kept in `meta.seed` so operators can tell which seed a
/// database was loaded from.
fn digest(seed: &SeedFile) -> String {
    // FNV-1a over the debug form: stable for the same data and the same binary.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{seed:?}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Gives every target and actual without an id a readable one, unique within the file.
fn fill_ids(seed: &mut SeedFile) {
    let mut used: HashSet<String> = HashSet::new();
    let mut unique = |base: String| {
        let mut id = base.clone();
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    };
    for t in &mut seed.targets {
        let base =
            t.id.clone()
                .unwrap_or_else(|| derived_measure_id(&t.scope, &t.indicator, t.period));
        t.id = Some(unique(base));
    }
    for a in &mut seed.actuals {
        let base =
            a.id.clone()
                .unwrap_or_else(|| derived_measure_id(&a.scope, &a.indicator, a.period));
        a.id = Some(unique(format!("actual-{base}")));
    }
}

/// Loads the seed of `store`'s owner if the database does not hold it yet. A city node also
/// receives the province's indicator catalogue, which its targets refer to.
pub async fn load(store: &Store) -> Result<LoadOutcome, LoadError> {
    let owner = store.owner();
    let Some(mut seed) = for_region(owner)? else {
        return Ok(LoadOutcome::NoSeed);
    };
    if store.meta("seed").await?.is_some() {
        return Ok(LoadOutcome::AlreadyLoaded);
    }
    let catalogue: Vec<Indicator> = if owner == SHANXI {
        Vec::new()
    } else {
        province()?.indicators
    };
    seed.check(&catalogue)?;
    fill_ids(&mut seed);
    let indicators: Vec<Indicator> = catalogue
        .into_iter()
        .chain(seed.indicators.iter().cloned())
        .collect();
    let batch = ImportBatch {
        documents: &seed.documents,
        indicators: &indicators,
        programmes: &seed.programmes,
        components: &seed.components,
        institutions: &seed.institutions,
        units: &seed.units,
        plan_items: &seed.plan_items,
        targets: &seed.targets,
        actuals: &seed.actuals,
    };
    let loaded = store
        .acting_as("seed")
        .import(batch, ("seed", &digest(&seed)))
        .await?;
    if !loaded {
        // Another server on this database loaded it while this one read the files.
        return Ok(LoadOutcome::AlreadyLoaded);
    }
    let outcome = LoadOutcome::Loaded {
        programmes: seed.programmes.len(),
        units: seed.units.len(),
        plan_items: seed.plan_items.len(),
        targets: seed.targets.len(),
        actuals: seed.actuals.len(),
    };
    tracing::info!(%owner, ?outcome, "seed loaded");
    Ok(outcome)
}
