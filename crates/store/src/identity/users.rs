use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use super::Extra;
use crate::record::{decode, flag, json_text, Sql};
use crate::table::found;
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    #[serde(deserialize_with = "flag")]
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub description: String,
    #[serde(deserialize_with = "json_text")]
    pub extra: Extra,
    pub password_expires_at: Option<i64>,
    pub created_at: i64,
}

/// A user's row as first written: the user and the hash of its password.
#[derive(Serialize)]
struct NewUser<'a> {
    #[serde(flatten)]
    user: &'a User,
    password_hash: Option<&'a str>,
    password_created_at: Option<i64>,
}

impl Store {
    /// A new user, with the hash of its password (PHC/modular-crypt; `None` for one who
    /// cannot log in with a password). The hash lives only in the store: a `User` never
    /// carries it, so nothing that renders users can hold one.
    pub async fn user_create(&self, u: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let row = NewUser { user: u, password_hash, password_created_at: password_hash.map(|_| u.created_at) };
        Sql::insert("users", &row)?.query().execute(&mut *tx).await?;
        if let Some(hash) = password_hash {
            remember(&mut tx, &u.id, hash, u.created_at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn user_get(&self, id: &str) -> Result<User, StoreError> {
        self.row_where("users", "id", id, decode::<User>).await
    }

    pub async fn user_by_name(&self, domain_id: &str, name: &str) -> Result<User, StoreError> {
        let r = sqlx::query("SELECT * FROM users WHERE domain_id = $1 AND name = $2")
            .bind(domain_id)
            .bind(name)
            .fetch_one(self.reader())
            .await?;
        decode::<User>(&r)
    }

    /// The user's password hash, for proving a password; `None` when it has none.
    pub async fn user_password_hash(&self, id: &str) -> Result<Option<String>, StoreError> {
        let hash: Option<Option<String>> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        hash.ok_or(StoreError::NotFound)
    }

    pub async fn user_list(&self) -> Result<Vec<User>, StoreError> {
        self.rows("SELECT * FROM users ORDER BY name, id", decode::<User>).await
    }

    /// Updates everything but the password (see `user_set_password`).
    pub async fn user_update(&self, u: &User) -> Result<(), StoreError> {
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
