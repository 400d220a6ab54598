//! Compute repositories (Nova v2.1): clouds, document objects (flavors, keypairs, server
//! groups), servers with keyset paging, and instance actions. A server's desired state and
//! the operation that realises it are written in one transaction.

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::operations::{insert_op, Operation};
use crate::{RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct CloudRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub config: String,
    pub sealed_secret: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComputeObject {
    pub kind: String,
    pub id: String,
    pub owner: String,
    pub name: String,
    pub body: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
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

#[derive(Debug, Clone, PartialEq)]
pub struct ActionRow {
    pub server_id: String,
    pub request_id: String,
    pub project_id: String,
    pub start_time: i64,
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
    pub cloud: Option<String>,
    pub changes_since: Option<i64>,
    pub changes_before: Option<i64>,
    /// Rows strictly after this (created_at, id) in newest-first order.
    pub after: Option<(i64, String)>,
    pub limit: i64,
}

/// A server's new state and what comes with it, written atomically. The update only lands
/// if the stored row still has `expect_version` (compare-and-swap).
#[derive(Debug, Clone, Default)]
pub struct ServerWrite {
    pub row: Option<ServerRow>,
    pub expect_version: Option<i64>,
    pub ops: Vec<Operation>,
    pub actions: Vec<ActionRow>,
}

fn cloud(r: &AnyRow) -> Result<CloudRow, StoreError> {
    Ok(CloudRow {
        id: r.text("id")?,
        name: r.text("name")?,
        kind: r.text("kind")?,
        config: r.text("config")?,
        sealed_secret: r.opt_text("sealed_secret")?,
        created_at: r.int("created_at")?,
    })
}

fn object(r: &AnyRow) -> Result<ComputeObject, StoreError> {
    Ok(ComputeObject {
        kind: r.text("kind")?,
        id: r.text("id")?,
        owner: r.text("owner")?,
        name: r.text("name")?,
        body: r.text("body")?,
        created_at: r.int("created_at")?,
    })
}

fn server(r: &AnyRow) -> Result<ServerRow, StoreError> {
    Ok(ServerRow {
        id: r.text("id")?,
        project_id: r.text("project_id")?,
        user_id: r.text("user_id")?,
        name: r.text("name")?,
        status: r.text("status")?,
        cloud: r.text("cloud")?,
        flavor_id: r.text("flavor_id")?,
        image_id: r.text("image_id")?,
        vcpus: r.int("vcpus")?,
        ram_mb: r.int("ram_mb")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
        deleted_at: r.int("deleted_at")?,
        version: r.int("version")?,
        body: r.text("body")?,
    })
}

fn action(r: &AnyRow) -> Result<ActionRow, StoreError> {
    Ok(ActionRow {
        server_id: r.text("server_id")?,
        request_id: r.text("request_id")?,
        project_id: r.text("project_id")?,
        start_time: r.int("start_time")?,
        body: r.text("body")?,
    })
}

async fn insert_server(tx: &mut Transaction<'_, Any>, s: &ServerRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO servers (id, project_id, user_id, name, status, cloud, flavor_id, image_id, vcpus, ram_mb, \
         created_at, updated_at, deleted_at, version, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&s.id)
    .bind(&s.project_id)
    .bind(&s.user_id)
    .bind(&s.name)
    .bind(&s.status)
    .bind(&s.cloud)
    .bind(&s.flavor_id)
    .bind(&s.image_id)
    .bind(s.vcpus)
    .bind(s.ram_mb)
    .bind(s.created_at)
    .bind(s.updated_at)
    .bind(s.deleted_at)
    .bind(s.version)
    .bind(&s.body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn put_action(tx: &mut Transaction<'_, Any>, a: &ActionRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO server_actions (server_id, request_id, project_id, start_time, body) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (server_id, request_id) DO UPDATE SET project_id = excluded.project_id, \
         start_time = excluded.start_time, body = excluded.body",
    )
    .bind(&a.server_id)
    .bind(&a.request_id)
    .bind(&a.project_id)
    .bind(a.start_time)
    .bind(&a.body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    pub async fn cloud_insert(&self, c: &CloudRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO clouds (id, name, kind, config, sealed_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.kind)
        .bind(&c.config)
        .bind(&c.sealed_secret)
        .bind(c.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn cloud_list(&self) -> Result<Vec<CloudRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM clouds ORDER BY created_at, name").fetch_all(self.reader()).await?;
        rows.iter().map(cloud).collect()
    }

    pub async fn cloud_delete(&self, name: &str) -> Result<(), StoreError> {
        let r = sqlx::query("DELETE FROM clouds WHERE name = $1").bind(name).execute(self.pool()).await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn cobj_get(&self, kind: &str, id: &str) -> Result<ComputeObject, StoreError> {
        let r = sqlx::query("SELECT * FROM compute_objects WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .fetch_one(self.reader())
            .await?;
        object(&r)
    }

    pub async fn cobj_list(&self, kind: &str, owner: Option<&str>) -> Result<Vec<ComputeObject>, StoreError> {
        let rows = match owner {
            Some(o) => {
                sqlx::query("SELECT * FROM compute_objects WHERE kind = $1 AND owner = $2 ORDER BY created_at, id")
                    .bind(kind)
                    .bind(o)
                    .fetch_all(self.reader())
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM compute_objects WHERE kind = $1 ORDER BY created_at, id")
                    .bind(kind)
                    .fetch_all(self.reader())
                    .await?
            }
        };
        rows.iter().map(object).collect()
    }

    /// Inserts a new object; `Conflict` when one of that kind already has its id.
    pub async fn cobj_insert(&self, o: &ComputeObject) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO compute_objects (kind, id, owner, name, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&o.kind)
        .bind(&o.id)
        .bind(&o.owner)
        .bind(&o.name)
        .bind(&o.body)
        .bind(o.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn cobj_update(&self, o: &ComputeObject) -> Result<(), StoreError> {
        let r = sqlx::query("UPDATE compute_objects SET name = $3, body = $4 WHERE kind = $1 AND id = $2")
            .bind(&o.kind)
            .bind(&o.id)
            .bind(&o.name)
            .bind(&o.body)
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn cobj_delete(&self, kind: &str, id: &str) -> Result<(), StoreError> {
        let r = sqlx::query("DELETE FROM compute_objects WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn server_get(&self, id: &str) -> Result<ServerRow, StoreError> {
        let r = sqlx::query("SELECT * FROM servers WHERE id = $1").bind(id).fetch_one(self.reader()).await?;
        server(&r)
    }

    /// Writes a server (insert when `expect_version` is `None`, else compare-and-swap) with its
    /// operations and action records, all or nothing. A lost swap is `Conflict("version")`.
    pub async fn server_write(&self, w: &ServerWrite) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        if let Some(s) = &w.row {
            match w.expect_version {
                None => insert_server(&mut tx, s).await?,
                Some(v) => {
                    let r = sqlx::query(
                        "UPDATE servers SET name = $3, status = $4, cloud = $5, flavor_id = $6, image_id = $7, \
                         vcpus = $8, ram_mb = $9, updated_at = $10, deleted_at = $11, version = $12, body = $13 \
                         WHERE id = $1 AND version = $2",
                    )
                    .bind(&s.id)
                    .bind(v)
                    .bind(&s.name)
                    .bind(&s.status)
                    .bind(&s.cloud)
                    .bind(&s.flavor_id)
                    .bind(&s.image_id)
                    .bind(s.vcpus)
                    .bind(s.ram_mb)
                    .bind(s.updated_at)
                    .bind(s.deleted_at)
                    .bind(s.version)
                    .bind(&s.body)
                    .execute(&mut *tx)
                    .await?;
                    if r.rows_affected() == 0 {
                        return Err(StoreError::Conflict("version".into()));
                    }
                }
            }
        }
        for op in &w.ops {
            insert_op(&mut tx, op).await?;
        }
        for a in &w.actions {
            put_action(&mut tx, a).await?;
        }
        tx.commit().await?;
        Ok(())
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
        if let Some(s) = &q.cloud {
            sql += &format!(" AND cloud = {}", arg(Bind::Text(s.clone()), &mut binds));
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
        rows.iter().map(server).collect()
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

    pub async fn action_list(&self, server_id: &str) -> Result<Vec<ActionRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM server_actions WHERE server_id = $1 ORDER BY start_time DESC")
            .bind(server_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(action).collect()
    }

    pub async fn action_get(&self, server_id: &str, request_id: &str) -> Result<ActionRow, StoreError> {
        let r = sqlx::query("SELECT * FROM server_actions WHERE server_id = $1 AND request_id = $2")
            .bind(server_id)
            .bind(request_id)
            .fetch_one(self.reader())
            .await?;
        action(&r)
    }

    pub async fn action_put(&self, a: &ActionRow) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        put_action(&mut tx, a).await?;
        tx.commit().await?;
        Ok(())
    }
}

enum Bind {
    Text(String),
    Int(i64),
}
