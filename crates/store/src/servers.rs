//! The `servers` table (Nova v2.1): the one resource listed at scale, so its filter and
//! paging columns sit beside the JSON body and every list is a keyset scan. Writes that
//! change a server go through the one write set (`write.rs`) with its operations.

use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::record::Sql;
use crate::{from_row, RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ServerRow {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: String,
    pub status: String,
    pub cloud: String,
    pub flavor_id: String,
    pub image_id: String,
    pub vcpus: i64,
    pub ram_mb: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: i64,
    pub version: i64,
    pub body: String,
}

/// What a server list asks the database for; filters SQL cannot express (name regexes,
/// addresses, tags) are applied by core on the rows this returns.
#[derive(Debug, Clone, Default)]
pub struct ServerQuery {
    pub project_id: Option<String>,
    /// `None`: live servers only; `Some(true)`: deleted ones only; `Some(false)`: both.
    pub deleted: Option<bool>,
    pub status: Option<String>,
    pub flavor_id: Option<String>,
    pub image_id: Option<String>,
    /// Only servers on one of these clouds (none when empty).
    pub clouds: Option<Vec<String>>,
    pub changes_since: Option<i64>,
    pub changes_before: Option<i64>,
    /// Rows strictly after this (created_at, id) in newest-first order.
    pub after: Option<(i64, String)>,
    pub limit: i64,
}

pub(crate) async fn insert_server(tx: &mut Transaction<'_, Any>, s: &ServerRow) -> Result<(), StoreError> {
    Sql::insert("servers", s)?.query().execute(&mut **tx).await?;
    Ok(())
}

/// Compare-and-swap from `expect`: `Conflict("version")` when another write got there first.
pub(crate) async fn update_server(tx: &mut Transaction<'_, Any>, s: &ServerRow, expect: i64) -> Result<(), StoreError> {
    let sql = Sql::update_all_but("servers", s, &["id"], &["project_id", "user_id", "created_at"])?;
    if sql.and_where("version", expect).query().execute(&mut **tx).await?.rows_affected() == 0 {
        return Err(StoreError::Conflict("version".into()));
    }
    Ok(())
}

impl Store {
    pub async fn server_get(&self, id: &str) -> Result<ServerRow, StoreError> {
        self.row_where("servers", "id", id, from_row).await
    }

    /// Inserts many servers in one transaction (bulk import: migrations, benchmarks).
    pub async fn server_insert_many(&self, rows: &[ServerRow]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for s in rows {
            insert_server(&mut tx, s).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One page of servers, newest first (Nova's default order).
    pub async fn server_list(&self, q: &ServerQuery) -> Result<Vec<ServerRow>, StoreError> {
        let mut sql = String::from("SELECT * FROM servers WHERE 1 = 1");
        let mut binds: Vec<Bind> = Vec::new();
        let mut n = 0;
        let mut arg = |b: Bind, binds: &mut Vec<Bind>| {
            binds.push(b);
            n += 1;
            format!("${n}")
        };
        if let Some(p) = &q.project_id {
            sql += &format!(" AND project_id = {}", arg(Bind::Text(p.clone()), &mut binds));
        }
        match q.deleted {
            None => sql += " AND deleted_at = 0",
            Some(true) => sql += " AND deleted_at > 0",
            Some(false) => {}
        }
        if let Some(s) = &q.status {
            sql += &format!(" AND status = {}", arg(Bind::Text(s.clone()), &mut binds));
        }
        if let Some(s) = &q.flavor_id {
            sql += &format!(" AND flavor_id = {}", arg(Bind::Text(s.clone()), &mut binds));
        }
        if let Some(s) = &q.image_id {
            sql += &format!(" AND image_id = {}", arg(Bind::Text(s.clone()), &mut binds));
        }
        if let Some(clouds) = &q.clouds {
            let each: Vec<String> = clouds.iter().map(|c| arg(Bind::Text(c.clone()), &mut binds)).collect();
            sql += &if each.is_empty() {
                " AND 1 = 0".to_string()
            } else {
                format!(" AND cloud IN ({})", each.join(", "))
            };
        }
        if let Some(t) = q.changes_since {
            sql += &format!(" AND updated_at >= {}", arg(Bind::Int(t), &mut binds));
        }
        if let Some(t) = q.changes_before {
            sql += &format!(" AND updated_at <= {}", arg(Bind::Int(t), &mut binds));
        }
        if let Some((at, id)) = &q.after {
            let a = arg(Bind::Int(*at), &mut binds);
            let b = arg(Bind::Text(id.clone()), &mut binds);
            sql += &format!(" AND (created_at < {a} OR (created_at = {a} AND id < {b}))");
        }
        sql += &format!(" ORDER BY created_at DESC, id DESC LIMIT {}", arg(Bind::Int(q.limit), &mut binds));
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = match b {
                Bind::Text(t) => query.bind(t),
                Bind::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(self.reader()).await?;
        rows.iter().map(from_row).collect()
    }

    /// (servers, vCPUs, MiB of RAM) a project's live servers hold, for quota checks.
    pub async fn server_usage(&self, project_id: &str) -> Result<(i64, i64, i64), StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(vcpus), 0) AS BIGINT) AS c, \
             CAST(COALESCE(SUM(ram_mb), 0) AS BIGINT) AS m FROM servers \
             WHERE project_id = $1 AND deleted_at = 0",
        )
        .bind(project_id)
        .fetch_one(self.reader())
        .await?;
        Ok((r.int("n")?, r.int("c")?, r.int("m")?))
    }

    /// (vCPUs, MiB of RAM, servers) that live servers hold on each cloud, for the scheduler
    /// and `os-hypervisors`.
    pub async fn server_usage_by_cloud(&self) -> Result<Vec<(String, i64, i64, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT cloud, CAST(COALESCE(SUM(vcpus), 0) AS BIGINT) AS c, CAST(COALESCE(SUM(ram_mb), 0) AS BIGINT) AS m, \
             COUNT(*) AS n FROM servers \
             WHERE deleted_at = 0 GROUP BY cloud",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| Ok((r.text("cloud")?, r.int("c")?, r.int("m")?, r.int("n")?))).collect()
    }

    /// The ids of every live server placed on `cloud` (for reconciliation).
    pub async fn server_ids_on(&self, cloud: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM servers WHERE cloud = $1 AND deleted_at = 0")
            .bind(cloud)
            .fetch_all(self.reader())
            .await?)
    }
}

enum Bind {
    Text(String),
    Int(i64),
}
