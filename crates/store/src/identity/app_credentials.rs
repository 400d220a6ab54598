use sqlx::any::AnyRow;

use crate::table::found;
use crate::{flag, RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct AppCredential {
    pub id: String,
    pub name: String,
    pub user_id: String,
    pub project_id: String,
    pub description: String,
    /// Tagged hash of the secret (see core's `secrets` module for the formats).
    pub secret_hash: String,
    pub expires_at: Option<i64>,
    pub unrestricted: bool,
    pub created_at: i64,
    pub role_ids: Vec<String>,
}

fn decode(r: &AnyRow) -> Result<AppCredential, StoreError> {
    Ok(AppCredential {
        id: r.text("id")?,
        name: r.text("name")?,
        user_id: r.text("user_id")?,
        project_id: r.text("project_id")?,
        description: r.text("description")?,
        secret_hash: r.text("secret_hash")?,
        expires_at: r.opt_int("expires_at")?,
        unrestricted: r.boolean("unrestricted")?,
        created_at: r.int("created_at")?,
        role_ids: Vec::new(),
    })
}

impl Store {
    pub async fn app_credential_create(&self, c: &AppCredential) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO application_credentials (id, name, user_id, project_id, description, secret_hash, \
             expires_at, unrestricted, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.user_id)
        .bind(&c.project_id)
        .bind(&c.description)
        .bind(&c.secret_hash)
        .bind(c.expires_at)
        .bind(flag(c.unrestricted))
        .bind(c.created_at)
        .execute(&mut *tx)
        .await?;
        for role in &c.role_ids {
            sqlx::query(
                "INSERT INTO application_credential_roles (application_credential_id, role_id) VALUES ($1, $2)",
            )
            .bind(&c.id)
            .bind(role)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn app_credential_get(&self, id: &str) -> Result<AppCredential, StoreError> {
        let r = sqlx::query("SELECT * FROM application_credentials WHERE id = $1")
            .bind(id)
            .fetch_one(self.reader())
            .await?;
        let mut c = decode(&r)?;
        c.role_ids =
            sqlx::query_scalar("SELECT role_id FROM application_credential_roles WHERE application_credential_id = $1")
                .bind(id)
                .fetch_all(self.reader())
                .await?;
        Ok(c)
    }

    pub async fn app_credential_by_name(&self, user_id: &str, name: &str) -> Result<AppCredential, StoreError> {
        let id: String = sqlx::query_scalar("SELECT id FROM application_credentials WHERE user_id = $1 AND name = $2")
            .bind(user_id)
            .bind(name)
            .fetch_one(self.reader())
            .await?;
        self.app_credential_get(&id).await
    }

    pub async fn app_credential_list(&self, user_id: &str) -> Result<Vec<AppCredential>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM application_credentials WHERE user_id = $1 ORDER BY name")
                .bind(user_id)
                .fetch_all(self.reader())
                .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.app_credential_get(&id).await?);
        }
        Ok(out)
    }

    pub async fn app_credential_delete(&self, id: &str) -> Result<(), StoreError> {
        found(sqlx::query("DELETE FROM application_credentials WHERE id = $1").bind(id).execute(self.pool()).await?)
    }
}
