use crate::table::{found, Link};
use crate::{from_row, Store, StoreError};

const MEMBERS: Link = Link { table: "group_members", left: "group_id", right: "user_id" };

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
        self.row_where("user_groups", "id", id, from_row).await
    }

    pub async fn group_list(&self) -> Result<Vec<Group>, StoreError> {
        self.rows("SELECT * FROM user_groups ORDER BY name, id", from_row).await
    }

    pub async fn group_update(&self, g: &Group) -> Result<(), StoreError> {
        found(
            sqlx::query("UPDATE user_groups SET name = $2, description = $3 WHERE id = $1")
                .bind(&g.id)
                .bind(&g.name)
                .bind(&g.description)
                .execute(self.pool())
                .await?,
        )
    }

    pub async fn group_delete(&self, id: &str) -> Result<(), StoreError> {
        let first = ["DELETE FROM role_assignments WHERE actor_type = 'group' AND actor_id = $1"];
        self.delete_row("user_groups", id, &[], &first).await
    }

    pub async fn group_add_member(&self, group_id: &str, user_id: &str) -> Result<(), StoreError> {
        self.link(&MEMBERS, group_id, user_id).await
    }

    pub async fn group_remove_member(&self, group_id: &str, user_id: &str) -> Result<(), StoreError> {
        self.unlink(&MEMBERS, group_id, user_id).await
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
