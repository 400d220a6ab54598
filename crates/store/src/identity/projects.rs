use sqlx::any::AnyRow;

use super::{extra_text, Extra};
use crate::table::{found, Guard};
use crate::{flag, RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub parent_id: Option<String>,
    pub description: String,
    pub enabled: bool,
    pub tags: Vec<String>,
    pub extra: Extra,
}

fn decode(r: &AnyRow) -> Result<Project, StoreError> {
    Ok(Project {
        id: r.text("id")?,
        name: r.text("name")?,
        domain_id: r.text("domain_id")?,
        parent_id: r.opt_text("parent_id")?,
        description: r.text("description")?,
        enabled: r.boolean("enabled")?,
        tags: Vec::new(),
        extra: r.json("extra")?,
    })
}

impl Store {
    pub async fn project_create(&self, p: &Project) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO projects (id, name, domain_id, parent_id, description, enabled, extra) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.domain_id)
        .bind(&p.parent_id)
        .bind(&p.description)
        .bind(flag(p.enabled))
        .bind(extra_text(&p.extra))
        .execute(&mut *tx)
        .await?;
        for tag in &p.tags {
            sqlx::query("INSERT INTO project_tags (project_id, tag) VALUES ($1, $2)")
                .bind(&p.id)
                .bind(tag)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn project_get(&self, id: &str) -> Result<Project, StoreError> {
        let mut p = self.row_where("projects", "id", id, decode).await?;
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
        let mut projects = self.rows("SELECT * FROM projects ORDER BY name, id", decode).await?;
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
        found(
            sqlx::query("UPDATE projects SET name = $2, description = $3, enabled = $4, extra = $5 WHERE id = $1")
                .bind(&p.id)
                .bind(&p.name)
                .bind(&p.description)
                .bind(flag(p.enabled))
                .bind(extra_text(&p.extra))
                .execute(&mut *tx)
                .await?,
        )?;
        sqlx::query("DELETE FROM project_tags WHERE project_id = $1").bind(&p.id).execute(&mut *tx).await?;
        for tag in &p.tags {
            sqlx::query("INSERT INTO project_tags (project_id, tag) VALUES ($1, $2)")
                .bind(&p.id)
                .bind(tag)
                .execute(&mut *tx)
                .await?;
        }
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
