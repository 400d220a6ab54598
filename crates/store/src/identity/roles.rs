use sqlx::any::AnyRow;

use crate::{RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub id: String,
    pub name: String,
    /// `None` for a global role.
    pub domain_id: Option<String>,
    pub description: String,
}

fn decode(r: &AnyRow) -> Result<Role, StoreError> {
    let domain = r.text("domain_id")?;
    Ok(Role {
        id: r.text("id")?,
        name: r.text("name")?,
        domain_id: (!domain.is_empty()).then_some(domain),
        description: r.text("description")?,
    })
}

impl Store {
    pub async fn role_create(&self, role: &Role) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO roles (id, name, domain_id, description) VALUES ($1, $2, $3, $4)")
            .bind(&role.id)
            .bind(&role.name)
            .bind(role.domain_id.clone().unwrap_or_default())
            .bind(&role.description)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn role_get(&self, id: &str) -> Result<Role, StoreError> {
        let r = sqlx::query("SELECT * FROM roles WHERE id = $1").bind(id).fetch_one(self.reader()).await?;
        decode(&r)
    }

    pub async fn role_list(&self) -> Result<Vec<Role>, StoreError> {
        let rows = sqlx::query("SELECT * FROM roles ORDER BY name, id").fetch_all(self.reader()).await?;
        rows.iter().map(decode).collect()
    }

    pub async fn role_update(&self, role: &Role) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE roles SET name = $2, description = $3 WHERE id = $1")
            .bind(&role.id)
            .bind(&role.name)
            .bind(&role.description)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn role_delete(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for sql in [
            "DELETE FROM role_assignments WHERE role_id = $1",
            "DELETE FROM implied_roles WHERE prior_role_id = $1 OR implied_role_id = $1",
            "DELETE FROM application_credential_roles WHERE role_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM roles WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn implied_role_add(&self, prior: &str, implied: &str) -> Result<(), StoreError> {
        let present: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM implied_roles WHERE prior_role_id = $1 AND implied_role_id = $2")
                .bind(prior)
                .bind(implied)
                .fetch_one(self.reader())
                .await?;
        if present == 0 {
            sqlx::query("INSERT INTO implied_roles (prior_role_id, implied_role_id) VALUES ($1, $2)")
                .bind(prior)
                .bind(implied)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    pub async fn implied_role_remove(&self, prior: &str, implied: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM implied_roles WHERE prior_role_id = $1 AND implied_role_id = $2")
            .bind(prior)
            .bind(implied)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Every (prior, implied) pair.
    pub async fn implied_role_list(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT prior_role_id, implied_role_id FROM implied_roles").fetch_all(self.reader()).await?;
        rows.iter().map(|r| Ok((r.text("prior_role_id")?, r.text("implied_role_id")?))).collect()
    }
}
