//! Test helpers shared by the crates' tests: a fresh, migrated database per test on both
//! backends. Every store-level suite runs on SQLite *and* PostgreSQL.
//!
//! PostgreSQL is found through `XINGYI_TEST_PG` (a server URL without a database, default
//! `postgres://postgres@127.0.0.1:5432`). If it cannot be reached the test fails with a message
//! saying so; `XINGYI_TEST_PG=off` runs the SQLite half only and says so on stderr, so a run
//! without PostgreSQL is never silent.

use std::sync::atomic::{AtomicU32, Ordering};

use model::RegionCode;
use store::{DatabaseConfig, Store};

/// A database that lives as long as this value.
#[derive(Debug)]
pub struct TestDb {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Its configuration.
    pub config: DatabaseConfig,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Opens (migrating) a store on this database owned by `owner`.
    pub async fn store(&self, owner: RegionCode) -> Store {
        Store::connect(&self.config, owner)
            .await
            .unwrap_or_else(|e| panic!("cannot open the {} test database: {e:?}", self.backend))
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh SQLite file.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = DatabaseConfig::sqlite_file(&dir.path().join("test.db"));
    TestDb {
        backend: "sqlite",
        config,
        _dir: Some(dir),
    }
}

/// The PostgreSQL server URL for tests, or `None` when explicitly turned off.
pub fn postgres_server() -> Option<String> {
    match std::env::var("XINGYI_TEST_PG") {
        Ok(v) if v == "off" => {
            eprintln!("XINGYI_TEST_PG=off: skipping the PostgreSQL half of this test");
            None
        }
        Ok(v) if !v.is_empty() => Some(v.trim_end_matches('/').to_owned()),
        _ => Some("postgres://postgres@127.0.0.1:5432".to_owned()),
    }
}

/// A fresh PostgreSQL database named after `label` (dropped and recreated if it exists).
pub async fn postgres(label: &str) -> Option<TestDb> {
    let server = postgres_server()?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let safe: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    // Named after the test binary and label (not the pid), so reruns recreate the same few
    // databases instead of piling up new ones.
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let tag: u32 = exe.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    }) % 100_000;
    let name = format!("xy_{tag}_{}_{n}", &safe[..safe.len().min(30)]);
    let url = store::admin::recreate_postgres_database(&server, &name).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {server} ({e:?}). Start it, point XINGYI_TEST_PG at a \
             server, or set XINGYI_TEST_PG=off to run only the SQLite half"
        )
    });
    Some(TestDb {
        backend: "postgres",
        config: DatabaseConfig {
            url,
            max_connections: 4,
        },
        _dir: None,
    })
}

/// One fresh database per backend: SQLite, then PostgreSQL (unless turned off).
pub async fn databases(label: &str) -> Vec<TestDb> {
    let mut out = vec![sqlite()];
    out.extend(postgres(label).await);
    out
}

/// Checks that `schema/<file>` (relative to the workspace root) holds `sdl` exactly; with
/// `UPDATE_SCHEMA=1` rewrites it instead. Panics with the first differing line and the command
/// that refreshes the file.
pub fn assert_schema_file(file: &str, sdl: &str, refresh: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schema")
        .join(file);
    if std::env::var("UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(&path, sdl)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != sdl {
        // The first line that differs, or where the shorter one ends.
        let first = on_disk
            .lines()
            .zip(sdl.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| on_disk.lines().count().min(sdl.lines().count()));
        panic!(
            "schema/{file} is out of date (first difference at line {}: file {:?}, code {:?}); run `{refresh}` and commit it",
            first + 1,
            on_disk.lines().nth(first),
            sdl.lines().nth(first)
        );
    }
}

/// The HS256 secret every test server shares (test-only).
pub const TEST_SECRET: &[u8] = b"xingyi test secret, never used outside tests";

static SECRET_FILE: std::sync::OnceLock<tempfile::TempPath> = std::sync::OnceLock::new();

/// Writes [`TEST_SECRET`] to `path` in the secret file's format (for `xingyi local`'s data
/// directory: `dir/jwt-secret`).
pub fn write_secret(path: &std::path::Path) {
    use base64::Engine as _;
    std::fs::write(
        path,
        base64::engine::general_purpose::STANDARD.encode(TEST_SECRET),
    )
    .unwrap_or_else(|e| panic!("writing the test secret to {}: {e}", path.display()));
}

/// The auth configuration of every test server: HS256 over [`TEST_SECRET`].
pub fn auth_config() -> auth::AuthConfig {
    let path = SECRET_FILE.get_or_init(|| {
        let file = tempfile::NamedTempFile::new()
            .unwrap_or_else(|e| panic!("creating the test secret file: {e}"));
        let path = file.into_temp_path();
        write_secret(&path);
        path
    });
    auth::AuthConfig {
        secret_file: path.to_path_buf(),
        ..auth::AuthConfig::default()
    }
}

/// A token (without `Bearer `) for `role` of `city`, valid for an hour, signed with
/// [`TEST_SECRET`].
pub fn token(role: auth::Role, city: Option<RegionCode>) -> String {
    let sub = match city {
        Some(c) => format!("test-{}-{c}", role.as_str()),
        None => format!("test-{}", role.as_str()),
    };
    auth::Signer::hs256(TEST_SECRET, &auth::AuthConfig::default())
        .issue(&sub, role, city, std::time::Duration::from_secs(3600))
        .unwrap_or_else(|e| panic!("issuing a test token: {e}"))
}

/// The principal data a test puts into in-process schema requests.
pub fn access(role: auth::Role, city: Option<RegionCode>) -> auth::Access {
    auth::Access {
        principal: auth::Principal::Authenticated(auth::Subject {
            sub: "test".into(),
            role,
            city,
        }),
        anonymous_read: false,
    }
}
