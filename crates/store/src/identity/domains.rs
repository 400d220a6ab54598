use sqlx::any::AnyRow;

use super::{extra_text, Extra};
use crate::table::{found, Guard};
use crate::{flag, RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub extra: Extra,
}

fn decode(r: &AnyRow) -> Result<Domain, StoreError> {
    Ok(Domain {
        id: r.text("id")?,
        name: r.text("name")?,
        description: r.text("description")?,
        enabled: r.boolean("enabled")?,
        extra: r.json("extra")?,
    })
}

impl Store {
    pub async fn domain_create(&self, d: &Domain) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO domains (id, name, description, enabled, extra) VALUES ($1, $2, $3, $4, $5)")
            .bind(&d.id)
            .bind(&d.name)
            .bind(&d.description)
            .bind(flag(d.enabled))
            .bind(extra_text(&d.extra))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn domain_get(&self, id: &str) -> Result<Domain, StoreError> {
        self.row_where("domains", "id", id, decode).await
    }

    pub async fn domain_by_name(&self, name: &str) -> Result<Domain, StoreError> {
        self.row_where("domains", "name", name, decode).await
    }

    pub async fn domain_list(&self) -> Result<Vec<Domain>, StoreError> {
        self.rows("SELECT * FROM domains ORDER BY name", decode).await
    }

    pub async fn domain_update(&self, d: &Domain) -> Result<(), StoreError> {
        found(
            sqlx::query("UPDATE domains SET name = $2, description = $3, enabled = $4, extra = $5 WHERE id = $1")
                .bind(&d.id)
                .bind(&d.name)
                .bind(&d.description)
                .bind(flag(d.enabled))
                .bind(extra_text(&d.extra))
                .execute(self.pool())
                .await?,
        )
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
