use crate::table::found;
use crate::{from_row, Store, StoreError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImageMember {
    pub image_id: String,
    pub member_id: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Store {
    pub async fn image_member_create(&self, m: &ImageMember) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO image_members (image_id, member_id, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&m.image_id)
        .bind(&m.member_id)
        .bind(&m.status)
        .bind(m.created_at)
        .bind(m.updated_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn image_member_get(&self, image_id: &str, member_id: &str) -> Result<ImageMember, StoreError> {
        let r = sqlx::query("SELECT * FROM image_members WHERE image_id = $1 AND member_id = $2")
            .bind(image_id)
            .bind(member_id)
            .fetch_one(self.reader())
            .await?;
        from_row(&r)
    }

    pub async fn image_members(&self, image_id: &str) -> Result<Vec<ImageMember>, StoreError> {
        let rows = sqlx::query("SELECT * FROM image_members WHERE image_id = $1 ORDER BY created_at, member_id")
            .bind(image_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every membership of one project (to filter image lists by member status).
    pub async fn image_memberships_of(&self, member_id: &str) -> Result<Vec<ImageMember>, StoreError> {
        let rows = sqlx::query("SELECT * FROM image_members WHERE member_id = $1")
            .bind(member_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(from_row).collect()
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
        found(
            sqlx::query("DELETE FROM image_members WHERE image_id = $1 AND member_id = $2")
                .bind(image_id)
                .bind(member_id)
                .execute(self.pool())
                .await?,
        )
    }
}
