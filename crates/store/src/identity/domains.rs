use sqlx::any::AnyRow;

use super::{extra_text, Extra};
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
        let r = sqlx::query("SELECT * FROM domains WHERE id = $1").bind(id).fetch_one(self.reader()).await?;
        decode(&r)
    }

    pub async fn domain_by_name(&self, name: &str) -> Result<Domain, StoreError> {
        let r = sqlx::query("SELECT * FROM domains WHERE name = $1").bind(name).fetch_one(self.reader()).await?;
        decode(&r)
    }

    pub async fn domain_list(&self) -> Result<Vec<Domain>, StoreError> {
        let rows = sqlx::query("SELECT * FROM domains ORDER BY name").fetch_all(self.reader()).await?;
        rows.iter().map(decode).collect()
    }

    pub async fn domain_update(&self, d: &Domain) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE domains SET name = $2, description = $3, enabled = $4, extra = $5 WHERE id = $1")
                .bind(&d.id)
                .bind(&d.name)
                .bind(&d.description)
                .bind(flag(d.enabled))
                .bind(extra_text(&d.extra))
                .execute(self.pool())
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a domain that owns nothing; a domain still holding projects, users or groups
    /// is a conflict rather than a cascade, so nothing disappears by surprise.
    pub async fn domain_delete(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for table in ["projects", "users", "user_groups"] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE domain_id = $1"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            if n > 0 {
                return Err(StoreError::Conflict(format!("domain still owns {n} {table}")));
            }
        }
        sqlx::query("DELETE FROM role_assignments WHERE target_type = 'domain' AND target_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM roles WHERE domain_id = $1").bind(id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM domains WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}
