use crate::{Store, StoreError};

impl Store {
    /// The project's own limit for `resource`, if an operator set one.
    pub async fn quota_override(&self, project_id: &str, resource: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT hard_limit FROM project_quotas WHERE project_id = $1 AND resource = $2")
            .bind(project_id)
            .bind(resource)
            .fetch_optional(self.reader())
            .await?)
    }

    pub async fn quota_set(&self, project_id: &str, resource: &str, limit: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM project_quotas WHERE project_id = $1 AND resource = $2")
            .bind(project_id)
            .bind(resource)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO project_quotas (project_id, resource, hard_limit) VALUES ($1, $2, $3)")
            .bind(project_id)
            .bind(resource)
            .bind(limit)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn quota_clear(&self, project_id: &str, resource: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM project_quotas WHERE project_id = $1 AND resource = $2")
            .bind(project_id)
            .bind(resource)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
