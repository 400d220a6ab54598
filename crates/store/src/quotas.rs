use crate::table::delete_where;
use crate::{Store, StoreError};

const TABLE: &str = "project_quotas";

impl Store {
    /// The project's own limit for `resource`, if an operator set one.
    pub async fn quota_override(&self, project_id: &str, resource: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT hard_limit FROM project_quotas WHERE project_id = $1 AND resource = $2")
            .bind(project_id)
            .bind(resource)
            .fetch_optional(self.reader())
            .await?)
    }

    /// Every limit an operator set for the project, by resource (one read for a whole check).
    pub async fn quota_overrides(
        &self,
        project_id: &str,
    ) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT resource, hard_limit FROM project_quotas WHERE project_id = $1")
                .bind(project_id)
                .fetch_all(self.reader())
                .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn quota_set(&self, project_id: &str, resource: &str, limit: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        delete_where(&mut *tx, TABLE, &[("project_id", project_id), ("resource", resource)]).await?;
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
        delete_where(self.pool(), TABLE, &[("project_id", project_id), ("resource", resource)]).await?;
        Ok(())
    }
}
