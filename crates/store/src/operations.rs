//! Operations of the durable engine: claimed under a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so several nodes share the queue; SQLite has one writer, so a plain
//! update-returning is atomic), and updated only by the worker that holds the lease.

use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::record::Sql;
use crate::{from_row, Backend, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Operation {
    pub id: String,
    pub kind: String,
    pub resource_id: String,
    pub state: String,
    pub input: String,
    pub steps_done: String,
    pub error: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until: i64,
    pub attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a worker records after each step.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    pub id: &'a str,
    pub state: &'a str,
    pub steps_done: &'a str,
    pub error: Option<&'a str>,
    pub now: i64,
    pub lease_until: i64,
}

/// Queues an operation inside the caller's transaction, so it lands with the desired state.
pub(crate) async fn insert_op(tx: &mut Transaction<'_, Any>, o: &Operation) -> Result<(), StoreError> {
    Sql::insert("operations", o)?.query().execute(&mut **tx).await?;
    Ok(())
}

/// States a worker still has to drive.
const LIVE: &str = "('pending', 'running', 'undoing')";

impl Store {
    pub async fn op_create(&self, o: &Operation) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        insert_op(&mut tx, o).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn op_get(&self, id: &str) -> Result<Operation, StoreError> {
        self.row_where("operations", "id", id, from_row).await
    }

    /// Claims the oldest live operation whose lease has run out (or was never taken); a
    /// pending one is running from then on.
    pub async fn op_claim(&self, owner: &str, now: i64, lease_until: i64) -> Result<Option<Operation>, StoreError> {
        // Operations on one resource run in the order they were queued: one is claimable only
        // when no older live operation on the same resource exists (a delete waits for the
        // create it follows).
        let first = format!(
            "NOT EXISTS (SELECT 1 FROM operations o2 WHERE o2.resource_id = o.resource_id AND o2.state IN {LIVE} \
             AND (o2.created_at < o.created_at OR (o2.created_at = o.created_at AND o2.id < o.id)))"
        );
        let pick = match self.backend() {
            Backend::Postgres => format!(
                "SELECT o.id FROM operations o WHERE o.state IN {LIVE} AND o.lease_until < $2 AND {first} \
                 ORDER BY o.created_at, o.id LIMIT 1 FOR UPDATE SKIP LOCKED"
            ),
            Backend::Sqlite => format!(
                "SELECT o.id FROM operations o WHERE o.state IN {LIVE} AND o.lease_until < $2 AND {first} \
                 ORDER BY o.created_at, o.id LIMIT 1"
            ),
        };
        let sql = format!(
            "UPDATE operations SET lease_owner = $1, lease_until = $3, attempts = attempts + 1, updated_at = $2, \
             state = CASE WHEN state = 'pending' THEN 'running' ELSE state END \
             WHERE id = ({pick}) RETURNING *"
        );
        let row = sqlx::query(&sql).bind(owner).bind(now).bind(lease_until).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Records progress; only the lease holder may, so a worker that lost its lease (it was
    /// presumed dead and the operation re-claimed) cannot overwrite the new owner's work.
    pub async fn op_progress(&self, owner: &str, p: &Progress<'_>) -> Result<(), StoreError> {
        let id = p.id;
        let done = sqlx::query(
            "UPDATE operations SET state = $3, steps_done = $4, error = $5, updated_at = $6, lease_until = $7 \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(id)
        .bind(owner)
        .bind(p.state)
        .bind(p.steps_done)
        .bind(p.error)
        .bind(p.now)
        .bind(p.lease_until)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("operation {id} is no longer leased to {owner}")));
        }
        Ok(())
    }

    /// Frees the leases `owner` holds (its previous process died); returns how many.
    pub async fn op_release_owner(&self, owner: &str) -> Result<u64, StoreError> {
        let r =
            sqlx::query(&format!("UPDATE operations SET lease_until = 0 WHERE lease_owner = $1 AND state IN {LIVE}"))
                .bind(owner)
                .execute(self.pool())
                .await?;
        Ok(r.rows_affected())
    }

    /// The live operations on one resource, oldest first.
    pub async fn ops_live_for(&self, resource_id: &str) -> Result<Vec<Operation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT * FROM operations WHERE resource_id = $1 AND state IN {LIVE} ORDER BY created_at, id"
        ))
        .bind(resource_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn ops_live(&self) -> Result<Vec<Operation>, StoreError> {
        let rows = sqlx::query(&format!("SELECT * FROM operations WHERE state IN {LIVE} ORDER BY created_at, id"))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(from_row).collect()
    }
}
