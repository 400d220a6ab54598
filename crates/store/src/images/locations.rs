use crate::{from_row, RowExt, Store, StoreError};

/// One copy of an image's data in one store. `status` is `active` once the copy is whole.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImageLocation {
    pub image_id: String,
    pub store: String,
    pub reference: String,
    pub disk_format: String,
    pub status: String,
    pub created_at: i64,
}

impl Store {
    /// Records (or replaces) the image's location in one store.
    pub async fn image_location_put(&self, l: &ImageLocation) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM image_locations WHERE image_id = $1 AND store = $2")
            .bind(&l.image_id)
            .bind(&l.store)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO image_locations (image_id, store, reference, disk_format, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&l.image_id)
        .bind(&l.store)
        .bind(&l.reference)
        .bind(&l.disk_format)
        .bind(&l.status)
        .bind(l.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn image_locations(&self, image_id: &str) -> Result<Vec<ImageLocation>, StoreError> {
        let rows = sqlx::query("SELECT * FROM image_locations WHERE image_id = $1 ORDER BY created_at, store")
            .bind(image_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The stores holding a whole copy of each of `image_ids`, in one query per 500 ids.
    pub async fn image_active_stores(&self, image_ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        for chunk in image_ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT image_id, store FROM image_locations WHERE status = 'active' AND image_id IN ({}) ORDER BY store",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(self.reader()).await? {
                out.push((r.text("image_id")?, r.text("store")?));
            }
        }
        Ok(out)
    }

    pub async fn image_location_delete(&self, image_id: &str, store: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM image_locations WHERE image_id = $1 AND store = $2")
            .bind(image_id)
            .bind(store)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
