use serde_json::Value;
use sqlx::{Any, Transaction};

use crate::record::{columns, decode, Record, Sql};
use crate::table::found;
use crate::{Store, StoreError};

/// What a user's record reads: every column but the password's, so no reader of users can
/// come by a hash (`user_password_hash` is the one way, for proving a password).
const COLUMNS: &str =
    "id, name, domain_id, enabled, default_project_id, description, extra, password_expires_at, created_at";

impl Store {
    /// A new user, with the hash of its password (PHC/modular-crypt; `None` for one who
    /// cannot log in with a password). The hash lives only in the store: a user's record
    /// never carries it, so nothing that renders users can hold one.
    pub async fn user_create<U: Record>(&self, u: &U, password_hash: Option<&str>) -> Result<(), StoreError> {
        let mut row = columns(u)?;
        let id = row.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let created_at = row.get("created_at").and_then(Value::as_i64).unwrap_or_default();
        row.insert("password_hash".into(), password_hash.into());
        row.insert("password_created_at".into(), password_hash.map(|_| created_at).into());
        let mut tx = self.pool().begin().await?;
        Sql::insert("users", &row)?.query().execute(&mut *tx).await?;
        if let Some(hash) = password_hash {
            remember(&mut tx, &id, hash, created_at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn user_get<U: Record>(&self, id: &str) -> Result<U, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        decode(&sqlx::query(&sql).bind(id).fetch_one(self.reader()).await?)
    }

    pub async fn user_by_name<U: Record>(&self, domain_id: &str, name: &str) -> Result<U, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE domain_id = $1 AND name = $2");
        decode(&sqlx::query(&sql).bind(domain_id).bind(name).fetch_one(self.reader()).await?)
    }

    /// The user's password hash, for proving a password; `None` when it has none.
    pub async fn user_password_hash(&self, id: &str) -> Result<Option<String>, StoreError> {
        let hash: Option<Option<String>> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        hash.ok_or(StoreError::NotFound)
    }

    pub async fn user_list<U: Record>(&self) -> Result<Vec<U>, StoreError> {
        self.rows(&format!("SELECT {COLUMNS} FROM users ORDER BY name, id"), decode).await
    }

    /// Updates everything but the password (see `user_set_password`).
    pub async fn user_update<U: Record>(&self, u: &U) -> Result<(), StoreError> {
        self.update("users", u, &["name", "enabled", "default_project_id", "description", "extra"]).await
    }

    /// Sets a new password hash and appends it to the history, keeping the newest `keep`.
    pub async fn user_set_password(
        &self,
        user_id: &str,
        hash: &str,
        now: i64,
        expires_at: Option<i64>,
        keep: usize,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        found(
            sqlx::query(
                "UPDATE users SET password_hash = $2, password_created_at = $3, password_expires_at = $4 WHERE id = $1",
            )
            .bind(user_id)
            .bind(hash)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?,
        )?;
        remember(&mut tx, user_id, hash, now).await?;
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM password_history WHERE user_id = $1 ORDER BY created_at DESC")
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
        for old in ids.iter().skip(keep.max(1)) {
            sqlx::query("DELETE FROM password_history WHERE id = $1").bind(old).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest `n` password hashes of a user, newest first.
    pub async fn user_password_history(&self, user_id: &str, n: usize) -> Result<Vec<String>, StoreError> {
        let hashes: Vec<String> = sqlx::query_scalar(
            "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY created_at DESC",
        )
        .bind(user_id)
        .fetch_all(self.reader())
        .await?;
        Ok(hashes.into_iter().take(n).collect())
    }

    pub async fn user_delete(&self, id: &str) -> Result<(), StoreError> {
        let first = ["DELETE FROM role_assignments WHERE actor_type = 'user' AND actor_id = $1"];
        self.delete_row("users", id, &[], &first).await
    }
}

/// Appends a hash to the user's password history.
async fn remember(tx: &mut Transaction<'_, Any>, user_id: &str, hash: &str, at: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO password_history (id, user_id, password_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(format!("{user_id}-{at}"))
        .bind(user_id)
        .bind(hash)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
