use sqlx::any::AnyRow;

use super::{extra_text, Extra};
use crate::table::found;
use crate::{flag, RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub description: String,
    pub extra: Extra,
    pub password_expires_at: Option<i64>,
    pub created_at: i64,
}

fn decode(r: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: r.text("id")?,
        name: r.text("name")?,
        domain_id: r.text("domain_id")?,
        enabled: r.boolean("enabled")?,
        default_project_id: r.opt_text("default_project_id")?,
        description: r.text("description")?,
        extra: r.json("extra")?,
        password_expires_at: r.opt_int("password_expires_at")?,
        created_at: r.int("created_at")?,
    })
}

impl Store {
    /// A new user, with the hash of its password (PHC/modular-crypt; `None` for one who
    /// cannot log in with a password). The hash lives only in the store: a `User` never
    /// carries it, so nothing that renders users can hold one.
    pub async fn user_create(&self, u: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO users (id, name, domain_id, enabled, default_project_id, description, extra, \
             password_hash, password_created_at, password_expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&u.id)
        .bind(&u.name)
        .bind(&u.domain_id)
        .bind(flag(u.enabled))
        .bind(&u.default_project_id)
        .bind(&u.description)
        .bind(extra_text(&u.extra))
        .bind(password_hash)
        .bind(password_hash.map(|_| u.created_at))
        .bind(u.password_expires_at)
        .bind(u.created_at)
        .execute(&mut *tx)
        .await?;
        if let Some(hash) = password_hash {
            sqlx::query(
                "INSERT INTO password_history (id, user_id, password_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(format!("{}-{}", u.id, u.created_at))
            .bind(&u.id)
            .bind(hash)
            .bind(u.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn user_get(&self, id: &str) -> Result<User, StoreError> {
        self.row_where("users", "id", id, decode).await
    }

    pub async fn user_by_name(&self, domain_id: &str, name: &str) -> Result<User, StoreError> {
        let r = sqlx::query("SELECT * FROM users WHERE domain_id = $1 AND name = $2")
            .bind(domain_id)
            .bind(name)
            .fetch_one(self.reader())
            .await?;
        decode(&r)
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
        self.rows("SELECT * FROM users ORDER BY name, id", decode).await
    }

    /// Updates everything but the password (see `user_set_password`).
    pub async fn user_update(&self, u: &User) -> Result<(), StoreError> {
        found(
            sqlx::query(
                "UPDATE users SET name = $2, enabled = $3, default_project_id = $4, description = $5, extra = $6 \
             WHERE id = $1",
            )
            .bind(&u.id)
            .bind(&u.name)
            .bind(flag(u.enabled))
            .bind(&u.default_project_id)
            .bind(&u.description)
            .bind(extra_text(&u.extra))
            .execute(self.pool())
            .await?,
        )
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
        sqlx::query("INSERT INTO password_history (id, user_id, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(format!("{user_id}-{now}"))
            .bind(user_id)
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
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
