use serde::{Deserialize, Serialize};

use super::Extra;
use crate::record::{decode, flag, json_text};
use crate::table::Guard;
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(deserialize_with = "flag")]
    pub enabled: bool,
    #[serde(deserialize_with = "json_text")]
    pub extra: Extra,
}

impl Store {
    pub async fn domain_create(&self, d: &Domain) -> Result<(), StoreError> {
        self.insert("domains", d).await
    }

    pub async fn domain_get(&self, id: &str) -> Result<Domain, StoreError> {
        self.row_where("domains", "id", id, decode::<Domain>).await
    }

    pub async fn domain_by_name(&self, name: &str) -> Result<Domain, StoreError> {
        self.row_where("domains", "name", name, decode::<Domain>).await
    }

    pub async fn domain_list(&self) -> Result<Vec<Domain>, StoreError> {
        self.rows("SELECT * FROM domains ORDER BY name", decode::<Domain>).await
    }

    pub async fn domain_update(&self, d: &Domain) -> Result<(), StoreError> {
        self.update("domains", d, &["name", "description", "enabled", "extra"]).await
    }

    /// Deletes a domain that owns nothing; a domain still holding projects, users or groups
    /// is a conflict rather than a cascade, so nothing disappears by surprise.
    pub async fn domain_delete(&self, id: &str) -> Result<(), StoreError> {
        let guards = [
            Guard {
                count: "SELECT COUNT(*) FROM projects WHERE domain_id = $1",
                message: "domain still owns {n} projects",
            },
            Guard { count: "SELECT COUNT(*) FROM users WHERE domain_id = $1", message: "domain still owns {n} users" },
            Guard {
                count: "SELECT COUNT(*) FROM user_groups WHERE domain_id = $1",
                message: "domain still owns {n} user_groups",
            },
        ];
        let first = [
            "DELETE FROM role_assignments WHERE target_type = 'domain' AND target_id = $1",
            "DELETE FROM roles WHERE domain_id = $1",
        ];
        self.delete_row("domains", id, &guards, &first).await
    }
}
