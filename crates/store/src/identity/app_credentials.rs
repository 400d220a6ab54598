use serde::{Deserialize, Serialize};

use crate::record::{decode, flag, Sql};
use crate::table::{delete_where, found, Values};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppCredential {
    pub id: String,
    pub name: String,
    pub user_id: String,
    pub project_id: String,
    pub description: String,
    /// Tagged hash of the secret (see core's `secrets` module for the formats).
    pub secret_hash: String,
    pub expires_at: Option<i64>,
    #[serde(deserialize_with = "flag")]
    pub unrestricted: bool,
    pub created_at: i64,
    /// Kept in `application_credential_roles`.
    #[serde(skip)]
    pub role_ids: Vec<String>,
}

const ROLES: Values =
    Values { table: "application_credential_roles", owner: "application_credential_id", value: "role_id" };

impl Store {
    pub async fn app_credential_create(&self, c: &AppCredential) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        Sql::insert("application_credentials", c)?.query().execute(&mut *tx).await?;
        ROLES.add(&mut tx, &c.id, &c.role_ids).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn app_credential_get(&self, id: &str) -> Result<AppCredential, StoreError> {
        let r = sqlx::query("SELECT * FROM application_credentials WHERE id = $1")
            .bind(id)
            .fetch_one(self.reader())
            .await?;
        let mut c = decode::<AppCredential>(&r)?;
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
        found(delete_where(self.pool(), "application_credentials", &[("id", id)]).await?)
    }
}
