use serde::Serialize;

use crate::table::{delete_where, found};
use crate::{from_row, Store, StoreError};

const TABLE: &str = "image_members";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ImageMember {
    pub image_id: String,
    pub member_id: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Store {
    pub async fn image_member_create(&self, m: &ImageMember) -> Result<(), StoreError> {
        self.insert("image_members", m).await
    }

    pub async fn image_member_get(&self, image_id: &str, member_id: &str) -> Result<ImageMember, StoreError> {
        self.one_where(TABLE, &[("image_id", image_id), ("member_id", member_id)], from_row).await
    }

    pub async fn image_members(&self, image_id: &str) -> Result<Vec<ImageMember>, StoreError> {
        self.rows_where(TABLE, &[("image_id", image_id)], "created_at, member_id", from_row).await
    }

    /// Every membership of one project (to filter image lists by member status).
    pub async fn image_memberships_of(&self, member_id: &str) -> Result<Vec<ImageMember>, StoreError> {
        self.rows_where(TABLE, &[("member_id", member_id)], "", from_row).await
    }

    pub async fn image_member_set_status(
        &self,
        image_id: &str,
        member_id: &str,
        status: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        found(
            sqlx::query("UPDATE image_members SET status = $3, updated_at = $4 WHERE image_id = $1 AND member_id = $2")
                .bind(image_id)
                .bind(member_id)
                .bind(status)
                .bind(now)
                .execute(self.pool())
                .await?,
        )
    }

    pub async fn image_member_delete(&self, image_id: &str, member_id: &str) -> Result<(), StoreError> {
        found(delete_where(self.pool(), TABLE, &[("image_id", image_id), ("member_id", member_id)]).await?)
    }
}
