use crate::record::{decode, Record, Sql};
use crate::table::{Guard, Values};
use crate::{Store, StoreError};

/// A project's tags, its record's `tags`.
const TAGS: Values = Values { table: "project_tags", owner: "project_id", value: "tag", field: "tags" };

impl Store {
    pub async fn project_create<P: Record>(&self, p: &P) -> Result<(), StoreError> {
        self.insert_with("projects", p, &TAGS).await
    }

    pub async fn project_get<P: Record>(&self, id: &str) -> Result<P, StoreError> {
        self.get_with("projects", id, &TAGS).await
    }

    pub async fn project_by_name<P: Record>(&self, domain_id: &str, name: &str) -> Result<P, StoreError> {
        let id: Id = self.one_where("projects", &[("domain_id", domain_id), ("name", name)], decode).await?;
        self.project_get(&id.id).await
    }

    pub async fn project_list<P: Record>(&self) -> Result<Vec<P>, StoreError> {
        self.list_with("SELECT * FROM projects ORDER BY name, id", &TAGS).await
    }

    pub async fn project_update<P: Record>(&self, p: &P) -> Result<(), StoreError> {
        let set = ["name", "description", "enabled", "extra"];
        self.update_with(p, &TAGS, |row| Sql::update("projects", row, &["id"], &set), StoreError::NotFound).await
    }

    /// Deletes a project with no children, and every role assignment on it.
    pub async fn project_delete(&self, id: &str) -> Result<(), StoreError> {
        let guards = [Guard {
            count: "SELECT COUNT(*) FROM projects WHERE parent_id = $1",
            message: "project has child projects",
        }];
        let first = [
            "DELETE FROM role_assignments WHERE target_type = 'project' AND target_id = $1",
            "DELETE FROM application_credentials WHERE project_id = $1",
        ];
        self.delete_row("projects", id, &guards, &first).await
    }
}

/// A row's id alone.
#[derive(serde::Deserialize)]
pub(crate) struct Id {
    pub id: String,
}
