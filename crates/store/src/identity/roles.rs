use serde::{Deserialize, Serialize};

use crate::record::{decode, empty_none};
use crate::table::Link;
use crate::{RowExt, Store, StoreError};

const IMPLIED: Link = Link { table: "implied_roles", left: "prior_role_id", right: "implied_role_id" };

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
    /// `None` for a global role.
    #[serde(with = "empty_none")]
    pub domain_id: Option<String>,
    pub description: String,
}

impl Store {
    pub async fn role_create(&self, role: &Role) -> Result<(), StoreError> {
        self.insert("roles", role).await
    }

    pub async fn role_get(&self, id: &str) -> Result<Role, StoreError> {
        self.row_where("roles", "id", id, decode::<Role>).await
    }

    pub async fn role_list(&self) -> Result<Vec<Role>, StoreError> {
        self.rows("SELECT * FROM roles ORDER BY name, id", decode::<Role>).await
    }

    pub async fn role_update(&self, role: &Role) -> Result<(), StoreError> {
        self.update("roles", role, &["name", "description"]).await
    }

    pub async fn role_delete(&self, id: &str) -> Result<(), StoreError> {
        let first = [
            "DELETE FROM role_assignments WHERE role_id = $1",
            "DELETE FROM implied_roles WHERE prior_role_id = $1 OR implied_role_id = $1",
            "DELETE FROM application_credential_roles WHERE role_id = $1",
        ];
        self.delete_row("roles", id, &[], &first).await
    }

    pub async fn implied_role_add(&self, prior: &str, implied: &str) -> Result<(), StoreError> {
        self.link(&IMPLIED, prior, implied).await
    }

    pub async fn implied_role_remove(&self, prior: &str, implied: &str) -> Result<(), StoreError> {
        self.unlink(&IMPLIED, prior, implied).await
    }

    /// Every (prior, implied) pair.
    pub async fn implied_role_list(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT prior_role_id, implied_role_id FROM implied_roles").fetch_all(self.reader()).await?;
        rows.iter().map(|r| Ok((r.text("prior_role_id")?, r.text("implied_role_id")?))).collect()
    }
}
