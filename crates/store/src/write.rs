//! The one write set: everything a request or an engine step changes at once (documents, a
//! server row, its action records, IP allocations and the operations that realise the
//! change on the clouds) lands in one transaction or not at all.

use crate::documents::{self, Document};
use crate::ip_allocations::{self, IpAllocation};
use crate::operations::{insert_op, Operation};
use crate::server_actions::{put_action, ActionRow};
use crate::servers::{insert_server, update_server, ServerRow};
use crate::{Backend, Store, StoreError};

/// What a write expects to find where it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Nothing: an insert, `Conflict` when the key is taken.
    New,
    /// The row at this version: a compare-and-swap, `Conflict("version")` when another write
    /// got there first.
    Version(i64),
    /// The row at any version: an update, `NotFound` when there is none.
    Existing,
    /// Anything or nothing: the row is written afresh (its `created_at` too).
    Replace,
}

#[derive(Debug, Clone, Default)]
pub struct Write {
    pub put: Vec<(Document, Expect)>,
    /// Documents to remove, by (kind, id); one already gone is no error.
    pub delete: Vec<(String, String)>,
    /// A server row; only `Expect::New` and `Expect::Version` apply to servers.
    pub server: Option<(ServerRow, Expect)>,
    /// Instance-action records, inserted or replaced.
    pub actions: Vec<ActionRow>,
    /// Every address of these ports is freed.
    pub release_port: Vec<String>,
    /// (subnet, address) pairs freed.
    pub release: Vec<(String, String)>,
    pub allocate: Vec<IpAllocation>,
    /// Operations queued with the change.
    pub ops: Vec<Operation>,
    /// An operation queued unless one of its kind for the same resource is already waiting
    /// unclaimed (that one will read this change when it runs, so a burst of changes makes
    /// one operation).
    pub follow_up: Option<Operation>,
}

impl Store {
    /// Applies `w` atomically. Frees come before allocations, so a port may move an address.
    pub async fn write(&self, w: &Write) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for port in &w.release_port {
            ip_allocations::release_port(&mut tx, port).await?;
        }
        for (subnet, ip) in &w.release {
            ip_allocations::release(&mut tx, subnet, ip).await?;
        }
        for a in &w.allocate {
            ip_allocations::allocate(&mut tx, a).await?;
        }
        for (kind, id) in &w.delete {
            documents::delete(&mut tx, kind, id).await?;
        }
        for (d, expect) in &w.put {
            documents::put(&mut tx, d, *expect).await?;
        }
        match &w.server {
            Some((s, Expect::Version(v))) => update_server(&mut tx, s, *v).await?,
            Some((s, Expect::New)) => insert_server(&mut tx, s).await?,
            Some((_, other)) => return Err(StoreError::Config(format!("a server write cannot expect {other:?}"))),
            None => {}
        }
        for a in &w.actions {
            put_action(&mut tx, a).await?;
        }
        for op in &w.ops {
            insert_op(&mut tx, op).await?;
        }
        if let Some(op) = &w.follow_up {
            // After the writes, so this transaction already holds SQLite's write lock, and on
            // PostgreSQL the row lock makes a claiming worker (SKIP LOCKED) pass it by: either
            // way no worker takes the waiting operation before this change is committed.
            let lock = if self.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
            let waiting: Option<String> = sqlx::query_scalar(&format!(
                "SELECT id FROM operations WHERE kind = $1 AND resource_id = $2 AND state = 'pending' \
                 AND lease_owner IS NULL LIMIT 1{lock}"
            ))
            .bind(&op.kind)
            .bind(&op.resource_id)
            .fetch_optional(&mut *tx)
            .await?;
            if waiting.is_none() {
                insert_op(&mut tx, op).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
