//! Test stores: SQLite in a temp dir always, PostgreSQL when `HYBRIDSTACK_TEST_POSTGRES_URL`
//! names a server (CI sets it; each test gets its own schema-free database by resetting it).

use crate::Store;

pub struct TestStore {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&url).await.expect("connect sqlite");
    store.migrate().await.expect("migrate sqlite");
    TestStore { store, _dir: Some(dir) }
}

/// The URL of a fresh, empty PostgreSQL database on the server named by the env variable;
/// `None` when it names none.
pub async fn postgres_database() -> Option<String> {
    let base = std::env::var("HYBRIDSTACK_TEST_POSTGRES_URL").ok()?;
    let admin = Store::connect(&base).await.expect("connect postgres");
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.expect("create test database");
    Some(match base.rfind('/') {
        Some(i) if i > base.find("://").map(|s| s + 2).unwrap_or(0) => format!("{}/{name}", &base[..i]),
        _ => format!("{base}/{name}"),
    })
}

/// A fresh PostgreSQL database per call, migrated, on the server named by the env variable.
pub async fn postgres() -> Option<TestStore> {
    let url = postgres_database().await?;
    let store = Store::connect(&url).await.expect("connect test database");
    store.migrate().await.expect("migrate postgres");
    Some(TestStore { store, _dir: None })
}

/// Every store the environment offers: SQLite always, PostgreSQL when configured. In CI
/// (`CI=true`) a missing PostgreSQL is a failure, not a silent SQLite-only run.
pub async fn all() -> Vec<(&'static str, TestStore)> {
    let mut v = vec![("sqlite", sqlite().await)];
    match postgres().await {
        Some(pg) => v.push(("postgres", pg)),
        None => assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "CI must set HYBRIDSTACK_TEST_POSTGRES_URL so the store tests run on PostgreSQL"
        ),
    }
    v
}

/// Everything the store holds, as text (each table's rows, sorted), so a test can show that a
/// refused request changed nothing.
pub async fn contents(store: &Store) -> String {
    let tables: Vec<String> = match store.backend() {
        crate::Backend::Sqlite => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        ),
        crate::Backend::Postgres => sqlx::query_scalar(
            "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
        ),
    }
    .fetch_all(store.pool())
    .await
    .expect("list tables");
    let mut out = String::new();
    for t in tables {
        let rows: Vec<String> = match store.backend() {
            crate::Backend::Sqlite => {
                let cols: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{t}')"))
                    .fetch_all(store.pool())
                    .await
                    .expect("columns");
                let row = cols.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || '|' || ");
                sqlx::query_scalar(&format!("SELECT {row} FROM \"{t}\"")).fetch_all(store.pool()).await
            }
            crate::Backend::Postgres => {
                sqlx::query_scalar(&format!("SELECT x::TEXT FROM \"{t}\" x")).fetch_all(store.pool()).await
            }
        }
        .expect("rows");
        let mut rows = rows;
        rows.sort();
        out += &format!("== {t}\n{}\n", rows.join("\n"));
    }
    out
}
