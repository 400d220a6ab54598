use serde::{Deserialize, Serialize};

use super::Extra;
use crate::record::{decode, flag, json_text, Sql};
use crate::table::{found, Guard, Values};
use crate::{RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub parent_id: Option<String>,
    pub description: String,
    #[serde(deserialize_with = "flag")]
    pub enabled: bool,
    /// Kept in `project_tags`.
    #[serde(skip)]
    pub tags: Vec<String>,
    #[serde(deserialize_with = "json_text")]
    pub extra: Extra,
}

const TAGS: Values = Values { table: "project_tags", owner: "project_id", value: "tag" };

impl Store {
    pub async fn project_create(&self, p: &Project) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        Sql::insert("projects", p)?.query().execute(&mut *tx).await?;
        TAGS.add(&mut tx, &p.id, &p.tags).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn project_get(&self, id: &str) -> Result<Project, StoreError> {
        let mut p = self.row_where("projects", "id", id, decode::<Project>).await?;
        p.tags = self.project_tags(id).await?;
        Ok(p)
    }

    pub async fn project_by_name(&self, domain_id: &str, name: &str) -> Result<Project, StoreError> {
        let r = sqlx::query("SELECT id FROM projects WHERE domain_id = $1 AND name = $2")
            .bind(domain_id)
            .bind(name)
            .fetch_one(self.reader())
            .await?;
        self.project_get(&r.text("id")?).await
    }

    async fn project_tags(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let tags: Vec<String> = sqlx::query_scalar("SELECT tag FROM project_tags WHERE project_id = $1 ORDER BY tag")
            .bind(id)
            .fetch_all(self.reader())
            .await?;
        Ok(tags)
    }

    pub async fn project_list(&self) -> Result<Vec<Project>, StoreError> {
        let mut projects = self.rows("SELECT * FROM projects ORDER BY name, id", decode::<Project>).await?;
        let tag_rows =
            sqlx::query("SELECT project_id, tag FROM project_tags ORDER BY tag").fetch_all(self.reader()).await?;
        let mut by_project: std::collections::HashMap<String, Vec<String>> = Default::default();
        for r in &tag_rows {
            by_project.entry(r.text("project_id")?).or_default().push(r.text("tag")?);
        }
        for p in &mut projects {
            if let Some(t) = by_project.remove(&p.id) {
                p.tags = t;
            }
        }
        Ok(projects)
    }

    pub async fn project_update(&self, p: &Project) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let set = ["name", "description", "enabled", "extra"];
        found(Sql::update("projects", p, &["id"], &set)?.query().execute(&mut *tx).await?)?;
        TAGS.replace(&mut tx, &p.id, &p.tags).await?;
        tx.commit().await?;
        Ok(())
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
