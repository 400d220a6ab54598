//! The store: repositories over sqlx, one module per table (identity and images keep a
//! folder of them). Resources kept as JSON documents share one table and one write set. The
//! store holds no resource type: identity and image repositories take and return any
//! `Record`, a type whose serde form names the table's columns (core's types are records).
//!
//! One set of SQL serves SQLite (the embedded default) and PostgreSQL (shared by several
//! control-plane nodes) through sqlx's `Any` driver. Booleans and timestamps are stored as
//! BIGINT so that both databases decode them the same way; one set of migrations serves
//! both, with PostgreSQL's few different words translated (`migrations.rs`).

pub mod clouds;
pub mod documents;
mod error;
pub mod identity;
pub mod images;
mod installation;
pub mod ip_allocations;
mod migrations;
pub mod operations;
mod quotas;
mod record;
pub mod server_actions;
pub mod servers;
mod table;
#[cfg(test)]
mod tests;
pub mod write;

pub use error::StoreError;
pub use record::Record;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;

/// Which database sits behind the pool; a few statements (locking, upserts) differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Plain reads go here. On SQLite in WAL mode, readers do not wait for the one writer or
    /// for each other, so list requests use every core; elsewhere it is the same pool.
    reader: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`). Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL scheme in {:?}; use sqlite:// or postgres://",
                redact(url)
            )));
        };
        // SQLite serialises writers; a single connection avoids SQLITE_BUSY storms from
        // deferred transactions upgrading to write locks, and is fast enough for a
        // single-node control plane. PostgreSQL gets a real pool.
        let max = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new().max_connections(max).connect(url).await.map_err(StoreError::from)?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let reader = if backend == Backend::Sqlite && !in_memory {
            // WAL is a property of the database file, so setting it once through the writer
            // holds for every later connection and process.
            sqlx::query("PRAGMA journal_mode=WAL").execute(&pool).await?;
            let n = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
            let n = u32::try_from(n).unwrap_or(2);
            AnyPoolOptions::new().max_connections(n).connect_lazy(url).map_err(StoreError::from)?
        } else {
            pool.clone()
        };
        Ok(Self { pool, reader, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every pending migration; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let migrator = migrations::migrator(self.backend);
        let before = self.applied_migrations().await.unwrap_or(0);
        migrator.run(&self.pool).await?;
        let after = self.applied_migrations().await?;
        Ok(after.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> Result<usize, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for statements that only read. Never use it inside a write's logic that must
    /// see its own uncommitted rows; those run on a transaction of `pool`.
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.reader
    }
}

/// Hides the password in a database URL before it reaches a message or a log.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A row as the type that derives `sqlx::FromRow` for it (column names are field names).
pub(crate) fn from_row<T: for<'r> sqlx::FromRow<'r, AnyRow>>(r: &AnyRow) -> Result<T, StoreError> {
    Ok(T::from_row(r)?)
}

pub(crate) trait RowExt {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
}

impl RowExt for AnyRow {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        Ok(sqlx::Row::try_get(self, col)?)
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        Ok(sqlx::Row::try_get(self, col)?)
    }
}

#[cfg(feature = "testing")]
pub mod testing;
