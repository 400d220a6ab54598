use crate::record::{decode, Record};
use crate::table::Link;
use crate::{Store, StoreError};

const MEMBERS: Link = Link { table: "group_members", left: "group_id", right: "user_id" };

impl Store {
    pub async fn group_create<G: Record>(&self, g: &G) -> Result<(), StoreError> {
        self.insert("user_groups", g).await
    }

    pub async fn group_get<G: Record>(&self, id: &str) -> Result<G, StoreError> {
        self.row_where("user_groups", "id", id, decode).await
    }

    pub async fn group_list<G: Record>(&self) -> Result<Vec<G>, StoreError> {
        self.rows("SELECT * FROM user_groups ORDER BY name, id", decode).await
    }

    pub async fn group_update<G: Record>(&self, g: &G) -> Result<(), StoreError> {
        self.update("user_groups", g, &["name", "description"]).await
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
