use crate::{from_row, Store, StoreError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
}

impl Store {
    pub async fn group_create(&self, g: &Group) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO user_groups (id, name, domain_id, description) VALUES ($1, $2, $3, $4)")
            .bind(&g.id)
            .bind(&g.name)
            .bind(&g.domain_id)
            .bind(&g.description)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn group_get(&self, id: &str) -> Result<Group, StoreError> {
        let r = sqlx::query("SELECT * FROM user_groups WHERE id = $1").bind(id).fetch_one(self.reader()).await?;
        from_row(&r)
    }

    pub async fn group_list(&self) -> Result<Vec<Group>, StoreError> {
        let rows = sqlx::query("SELECT * FROM user_groups ORDER BY name, id").fetch_all(self.reader()).await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn group_update(&self, g: &Group) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE user_groups SET name = $2, description = $3 WHERE id = $1")
            .bind(&g.id)
            .bind(&g.name)
            .bind(&g.description)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn group_delete(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM role_assignments WHERE actor_type = 'group' AND actor_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM user_groups WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn group_add_member(&self, group_id: &str, user_id: &str) -> Result<(), StoreError> {
        let present: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(group_id)
                .bind(user_id)
                .fetch_one(self.reader())
                .await?;
        if present == 0 {
            sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
                .bind(group_id)
                .bind(user_id)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    pub async fn group_remove_member(&self, group_id: &str, user_id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn group_members(&self, group_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = $1")
            .bind(group_id)
            .fetch_all(self.reader())
            .await?)
    }

    pub async fn user_groups(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT group_id FROM group_members WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(self.reader())
            .await?)
    }
}
