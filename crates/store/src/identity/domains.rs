use crate::record::{decode, Record};
use crate::table::Guard;
use crate::{Store, StoreError};

impl Store {
    pub async fn domain_create<D: Record>(&self, d: &D) -> Result<(), StoreError> {
        self.insert("domains", d).await
    }

    pub async fn domain_get<D: Record>(&self, id: &str) -> Result<D, StoreError> {
        self.row_where("domains", "id", id, decode).await
    }

    pub async fn domain_by_name<D: Record>(&self, name: &str) -> Result<D, StoreError> {
        self.row_where("domains", "name", name, decode).await
    }

    pub async fn domain_list<D: Record>(&self) -> Result<Vec<D>, StoreError> {
        self.rows("SELECT * FROM domains ORDER BY name", decode).await
    }

    pub async fn domain_update<D: Record>(&self, d: &D) -> Result<(), StoreError> {
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
