//! The `clouds` table: each registered backend endpoint, its settings as JSON and its
//! credentials sealed by core before they get here.

use serde::Serialize;

use crate::table::{delete_where, found};
use crate::{from_row, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
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
        self.insert("clouds", c).await
    }

    pub async fn cloud_list(&self) -> Result<Vec<CloudRow>, StoreError> {
        self.rows("SELECT * FROM clouds ORDER BY created_at, name", from_row).await
    }

    pub async fn cloud_delete(&self, name: &str) -> Result<(), StoreError> {
        found(delete_where(self.pool(), "clouds", &[("name", name)]).await?)
    }
}
