//! The `clouds` table: each registered backend endpoint, its settings as JSON and its
//! credentials sealed by core before they get here.

use crate::table::found;
use crate::{from_row, Store, StoreError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CloudRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub config: String,
    pub sealed_secret: Option<String>,
    pub created_at: i64,
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
        self.rows("SELECT * FROM clouds ORDER BY created_at, name", from_row).await
    }

    pub async fn cloud_delete(&self, name: &str) -> Result<(), StoreError> {
        found(sqlx::query("DELETE FROM clouds WHERE name = $1").bind(name).execute(self.pool()).await?)
    }
}
