//! The `documents` table: every resource kept as a JSON document (networks, ports, volumes,
//! flavors…) with the few columns its queries need. Reads are here; every change goes
//! through the one write set (`write.rs`).

use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::record::Sql;
use crate::table::delete_where;
use crate::write::Expect;
use crate::{from_row, Store, StoreError};

const TABLE: &str = "documents";

/// One stored document. The body belongs to the core service of its kind; the store reads
/// only the columns beside it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, sqlx::FromRow)]
pub struct Document {
    pub kind: String,
    pub id: String,
    /// The project that owns it; a keypair's user; '' for what nobody owns (public flavors).
    pub owner: String,
    /// A subnet's or port's network, a rule's group, a snapshot's volume; else ''.
    pub parent_id: String,
    /// Set where the service looks documents up by name (flavors, keypairs); else ''.
    pub name: String,
    pub body: String,
    pub created_at: i64,
    /// Bumped by each compare-and-swap update (`Expect::Version`).
    pub version: i64,
}

impl Store {
    pub async fn doc_get(&self, kind: &str, id: &str) -> Result<Document, StoreError> {
        let r = sqlx::query("SELECT * FROM documents WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .fetch_one(self.reader())
            .await?;
        from_row(&r)
    }

    /// Every document of a kind, oldest first; with `owner`, only that owner's.
    pub async fn doc_list(&self, kind: &str, owner: Option<&str>) -> Result<Vec<Document>, StoreError> {
        self.doc_where(kind, owner.map(|o| ("owner", o))).await
    }

    /// A kind's documents under one parent (a network's subnets, a volume's snapshots).
    pub async fn doc_children(&self, kind: &str, parent_id: &str) -> Result<Vec<Document>, StoreError> {
        self.doc_where(kind, Some(("parent_id", parent_id))).await
    }

    /// A kind's documents, oldest first; with `filter`, only those whose column holds the value.
    async fn doc_where(&self, kind: &str, filter: Option<(&str, &str)>) -> Result<Vec<Document>, StoreError> {
        let and = filter.map_or(String::new(), |(column, _)| format!(" AND {column} = $2"));
        let sql = format!("SELECT * FROM documents WHERE kind = $1{and} ORDER BY created_at, id");
        let mut q = sqlx::query(&sql).bind(kind);
        if let Some((_, value)) = filter {
            q = q.bind(value);
        }
        q.fetch_all(self.reader()).await?.iter().map(from_row).collect()
    }

    pub async fn doc_count(&self, kind: &str, owner: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE kind = $1 AND owner = $2")
            .bind(kind)
            .bind(owner)
            .fetch_one(self.reader())
            .await?)
    }

    /// Removes one document; `NotFound` when there was none.
    pub async fn doc_delete(&self, kind: &str, id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        if delete(&mut tx, kind, id).await? == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Writes one document as `expect` says; see `Expect` for what each refuses.
pub(crate) async fn put(tx: &mut Transaction<'_, Any>, d: &Document, expect: Expect) -> Result<(), StoreError> {
    match expect {
        Expect::Version(_) | Expect::Existing => {
            let mut sql = Sql::update(TABLE, d, &["kind", "id"], &["owner", "name", "body", "version"])?;
            if let Expect::Version(v) = expect {
                sql = sql.and_where("version", v);
            }
            if sql.query().execute(&mut **tx).await?.rows_affected() == 0 {
                return Err(match expect {
                    Expect::Version(_) => StoreError::Conflict("version".into()),
                    _ => StoreError::NotFound,
                });
            }
            Ok(())
        }
        Expect::New | Expect::Replace => {
            if expect == Expect::Replace {
                delete(tx, &d.kind, &d.id).await?;
            }
            Sql::insert(TABLE, d)?.query().execute(&mut **tx).await?;
            Ok(())
        }
    }
}

/// Removes one document; how many rows went (0 or 1).
pub(crate) async fn delete(tx: &mut Transaction<'_, Any>, kind: &str, id: &str) -> Result<u64, StoreError> {
    Ok(delete_where(&mut **tx, TABLE, &[("kind", kind), ("id", id)]).await?.rows_affected())
}
