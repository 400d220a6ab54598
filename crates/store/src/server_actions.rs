//! The `server_actions` table (os-instance-actions): one row per action, its events inside
//! the body.

use sqlx::{Any, Transaction};

use crate::{from_row, Store, StoreError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ActionRow {
    pub server_id: String,
    pub request_id: String,
    pub project_id: String,
    pub start_time: i64,
    pub body: String,
}

pub(crate) async fn put_action(tx: &mut Transaction<'_, Any>, a: &ActionRow) -> Result<(), StoreError> {
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
    pub async fn action_list(&self, server_id: &str) -> Result<Vec<ActionRow>, StoreError> {
        self.rows_where("server_actions", &[("server_id", server_id)], "start_time DESC", from_row).await
    }

    pub async fn action_get(&self, server_id: &str, request_id: &str) -> Result<ActionRow, StoreError> {
        self.one_where("server_actions", &[("server_id", server_id), ("request_id", request_id)], from_row).await
    }
}
