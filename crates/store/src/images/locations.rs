use sqlx::any::AnyRow;

use crate::{RowExt, Store, StoreError};

/// One copy of an image's data in one store. `status` is `active` once the copy is whole.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageLocation {
    pub image_id: String,
    pub store: String,
    pub reference: String,
    pub disk_format: String,
    pub status: String,
    pub created_at: i64,
}

fn decode(r: &AnyRow) -> Result<ImageLocation, StoreError> {
    Ok(ImageLocation {
        image_id: r.text("image_id")?,
        store: r.text("store")?,
        reference: r.text("reference")?,
        disk_format: r.text("disk_format")?,
        status: r.text("status")?,
        created_at: r.int("created_at")?,
    })
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
        rows.iter().map(decode).collect()
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
