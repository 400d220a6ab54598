//! Network repositories (Neutron v2.0): typed documents in `net_objects`, and IP allocations
//! whose primary key makes double allocation impossible even across nodes.

use sqlx::any::AnyRow;

use crate::{RowExt, Store, StoreError};

/// One stored network object: its kind (`network`, `subnet`, `port`…), id, owning project,
/// parent (a subnet's or port's network, a rule's group) and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct NetObject {
    pub kind: String,
    pub id: String,
    pub project_id: String,
    pub parent_id: String,
    pub body: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAllocation {
    pub subnet_id: String,
    pub ip_address: String,
    pub port_id: String,
    pub network_id: String,
}

fn decode(r: &AnyRow) -> Result<NetObject, StoreError> {
    Ok(NetObject {
        kind: r.text("kind")?,
        id: r.text("id")?,
        project_id: r.text("project_id")?,
        parent_id: r.text("parent_id")?,
        body: r.text("body")?,
        created_at: r.int("created_at")?,
    })
}

fn alloc(r: &AnyRow) -> Result<IpAllocation, StoreError> {
    Ok(IpAllocation {
        subnet_id: r.text("subnet_id")?,
        ip_address: r.text("ip_address")?,
        port_id: r.text("port_id")?,
        network_id: r.text("network_id")?,
    })
}

/// A set of writes applied atomically: objects put (insert or replace), objects deleted,
/// allocations made and released. A clash on an allocation fails the whole set with
/// `StoreError::Conflict` naming the address.
#[derive(Debug, Default, Clone)]
pub struct NetChange {
    pub put: Vec<NetObject>,
    pub delete: Vec<(String, String)>,
    pub allocate: Vec<IpAllocation>,
    pub release_port: Vec<String>,
    pub release: Vec<(String, String)>,
    /// An operation that realises the change on the clouds, queued in the same transaction
    /// unless one of its kind for the same resource is already waiting unclaimed (that one
    /// will read this change when it runs, so a burst of changes makes one operation).
    pub follow_up: Option<crate::operations::Operation>,
}

impl Store {
    pub async fn net_get(&self, kind: &str, id: &str) -> Result<NetObject, StoreError> {
        let r = sqlx::query("SELECT * FROM net_objects WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .fetch_one(self.reader())
            .await?;
        decode(&r)
    }

    pub async fn net_list(&self, kind: &str) -> Result<Vec<NetObject>, StoreError> {
        let rows = sqlx::query("SELECT * FROM net_objects WHERE kind = $1 ORDER BY created_at, id")
            .bind(kind)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(decode).collect()
    }

    pub async fn net_children(&self, kind: &str, parent_id: &str) -> Result<Vec<NetObject>, StoreError> {
        let rows = sqlx::query("SELECT * FROM net_objects WHERE kind = $1 AND parent_id = $2 ORDER BY created_at, id")
            .bind(kind)
            .bind(parent_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(decode).collect()
    }

    pub async fn net_count_in_project(&self, kind: &str, project_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM net_objects WHERE kind = $1 AND project_id = $2")
            .bind(kind)
            .bind(project_id)
            .fetch_one(self.reader())
            .await?)
    }

    pub async fn ip_allocations_of_subnet(&self, subnet_id: &str) -> Result<Vec<IpAllocation>, StoreError> {
        let rows = sqlx::query("SELECT * FROM ip_allocations WHERE subnet_id = $1")
            .bind(subnet_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(alloc).collect()
    }

    pub async fn net_apply(&self, c: &NetChange) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for port in &c.release_port {
            sqlx::query("DELETE FROM ip_allocations WHERE port_id = $1").bind(port).execute(&mut *tx).await?;
        }
        for (subnet, ip) in &c.release {
            sqlx::query("DELETE FROM ip_allocations WHERE subnet_id = $1 AND ip_address = $2")
                .bind(subnet)
                .bind(ip)
                .execute(&mut *tx)
                .await?;
        }
        for a in &c.allocate {
            let done = sqlx::query(
                "INSERT INTO ip_allocations (subnet_id, ip_address, port_id, network_id) VALUES ($1, $2, $3, $4)",
            )
            .bind(&a.subnet_id)
            .bind(&a.ip_address)
            .bind(&a.port_id)
            .bind(&a.network_id)
            .execute(&mut *tx)
            .await;
            if let Err(e) = done {
                return Err(match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("ip:{}:{}", a.subnet_id, a.ip_address)),
                    other => other,
                });
            }
        }
        for (kind, id) in &c.delete {
            sqlx::query("DELETE FROM net_objects WHERE kind = $1 AND id = $2")
                .bind(kind)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for o in &c.put {
            sqlx::query("DELETE FROM net_objects WHERE kind = $1 AND id = $2")
                .bind(&o.kind)
                .bind(&o.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO net_objects (kind, id, project_id, parent_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&o.kind)
            .bind(&o.id)
            .bind(&o.project_id)
            .bind(&o.parent_id)
            .bind(&o.body)
            .bind(o.created_at)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(op) = &c.follow_up {
            // After the writes, so this transaction already holds SQLite's write lock, and on
            // PostgreSQL the row lock makes a claiming worker (SKIP LOCKED) pass it by: either
            // way no worker takes the waiting operation before this change is committed.
            let lock = if self.backend() == crate::Backend::Postgres { " FOR UPDATE" } else { "" };
            let waiting: Option<String> = sqlx::query_scalar(&format!(
                "SELECT id FROM operations WHERE kind = $1 AND resource_id = $2 AND state = 'pending' \
                 AND lease_owner IS NULL LIMIT 1{lock}"
            ))
            .bind(&op.kind)
            .bind(&op.resource_id)
            .fetch_optional(&mut *tx)
            .await?;
            if waiting.is_none() {
                crate::operations::insert_op(&mut tx, op).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
