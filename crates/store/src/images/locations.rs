use serde_json::Value;

use crate::record::{columns, decode, Record, Sql};
use crate::table::delete_where;
use crate::{RowExt, Store, StoreError};

/// An image's copies, one row per store; `status` is `active` once the copy is whole.
const TABLE: &str = "image_locations";

impl Store {
    /// Records (or replaces) the image's location in one store.
    pub async fn image_location_put<L: Record>(&self, l: &L) -> Result<(), StoreError> {
        let row = columns(l)?;
        let text = |c: &str| row.get(c).and_then(Value::as_str).unwrap_or_default();
        let mut tx = self.pool().begin().await?;
        delete_where(&mut *tx, TABLE, &[("image_id", text("image_id")), ("store", text("store"))]).await?;
        Sql::insert(TABLE, &row)?.query().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn image_locations<L: Record>(&self, image_id: &str) -> Result<Vec<L>, StoreError> {
        self.rows_where(TABLE, &[("image_id", image_id)], "created_at, store", decode).await
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
        delete_where(self.pool(), TABLE, &[("image_id", image_id), ("store", store)]).await?;
        Ok(())
    }
}
