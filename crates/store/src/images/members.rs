use crate::record::{decode, Record};
use crate::table::{delete_where, found};
use crate::{Store, StoreError};

const TABLE: &str = "image_members";

impl Store {
    pub async fn image_member_create<M: Record>(&self, m: &M) -> Result<(), StoreError> {
        self.insert("image_members", m).await
    }

    pub async fn image_member_get<M: Record>(&self, image_id: &str, member_id: &str) -> Result<M, StoreError> {
        self.one_where(TABLE, &[("image_id", image_id), ("member_id", member_id)], decode).await
    }

    pub async fn image_members<M: Record>(&self, image_id: &str) -> Result<Vec<M>, StoreError> {
        self.rows_where(TABLE, &[("image_id", image_id)], "created_at, member_id", decode).await
    }

    /// Every membership of one project (to filter image lists by member status).
    pub async fn image_memberships_of<M: Record>(&self, member_id: &str) -> Result<Vec<M>, StoreError> {
        self.rows_where(TABLE, &[("member_id", member_id)], "", decode).await
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
