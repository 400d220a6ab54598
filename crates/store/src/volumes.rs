//! Block-storage repositories (Cinder v3): document objects with a version each. A change
//! to a volume and the operation that realises it are written in one transaction, and a
//! write that expects a version loses (`Conflict("version")`) if another got there first.

use sqlx::any::AnyRow;

use crate::operations::{insert_op, Operation};
use crate::{RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct VolObject {
    pub kind: String,
    pub id: String,
    pub project_id: String,
    pub parent_id: String,
    pub body: String,
    pub created_at: i64,
    pub version: i64,
}

/// Objects to write (each insert when `expect` is `None`, else compare-and-swap from that
/// version), objects to delete, and operations to queue, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct VolWrite {
    pub put: Vec<(VolObject, Option<i64>)>,
    pub delete: Vec<(String, String)>,
    pub ops: Vec<Operation>,
}

fn decode(r: &AnyRow) -> Result<VolObject, StoreError> {
    Ok(VolObject {
        kind: r.text("kind")?,
        id: r.text("id")?,
        project_id: r.text("project_id")?,
        parent_id: r.text("parent_id")?,
        body: r.text("body")?,
        created_at: r.int("created_at")?,
        version: r.int("version")?,
    })
}

impl Store {
    pub async fn vol_get(&self, kind: &str, id: &str) -> Result<VolObject, StoreError> {
        let r = sqlx::query("SELECT * FROM volume_objects WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .fetch_one(self.reader())
            .await?;
        decode(&r)
    }

    /// Every object of a kind, oldest first; with `project`, only that project's.
    pub async fn vol_list(&self, kind: &str, project: Option<&str>) -> Result<Vec<VolObject>, StoreError> {
        let rows = match project {
            Some(p) => {
                sqlx::query("SELECT * FROM volume_objects WHERE kind = $1 AND project_id = $2 ORDER BY created_at, id")
                    .bind(kind)
                    .bind(p)
                    .fetch_all(self.reader())
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM volume_objects WHERE kind = $1 ORDER BY created_at, id")
                    .bind(kind)
                    .fetch_all(self.reader())
                    .await?
            }
        };
        rows.iter().map(decode).collect()
    }

    pub async fn vol_children(&self, kind: &str, parent: &str) -> Result<Vec<VolObject>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM volume_objects WHERE kind = $1 AND parent_id = $2 ORDER BY created_at, id")
                .bind(kind)
                .bind(parent)
                .fetch_all(self.reader())
                .await?;
        rows.iter().map(decode).collect()
    }

    pub async fn vol_write(&self, w: &VolWrite) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for (o, expect) in &w.put {
            match expect {
                None => {
                    sqlx::query(
                        "INSERT INTO volume_objects (kind, id, project_id, parent_id, body, created_at, version) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&o.kind)
                    .bind(&o.id)
                    .bind(&o.project_id)
                    .bind(&o.parent_id)
                    .bind(&o.body)
                    .bind(o.created_at)
                    .bind(o.version)
                    .execute(&mut *tx)
                    .await?;
                }
                Some(v) => {
                    let r = sqlx::query(
                        "UPDATE volume_objects SET body = $4, version = $5, project_id = $6 \
                         WHERE kind = $1 AND id = $2 AND version = $3",
                    )
                    .bind(&o.kind)
                    .bind(&o.id)
                    .bind(v)
                    .bind(&o.body)
                    .bind(o.version)
                    .bind(&o.project_id)
                    .execute(&mut *tx)
                    .await?;
                    if r.rows_affected() == 0 {
                        return Err(StoreError::Conflict("version".into()));
                    }
                }
            }
        }
        for (kind, id) in &w.delete {
            sqlx::query("DELETE FROM volume_objects WHERE kind = $1 AND id = $2")
                .bind(kind)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for op in &w.ops {
            insert_op(&mut tx, op).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
