use crate::record::{decode, Record};
use crate::table::{delete_where, found};
use crate::{Store, StoreError};

impl Store {
    pub async fn region_create<R: Record>(&self, reg: &R) -> Result<(), StoreError> {
        self.insert("regions", reg).await
    }

    pub async fn region_get<R: Record>(&self, id: &str) -> Result<R, StoreError> {
        self.row_where("regions", "id", id, decode).await
    }

    pub async fn region_list<R: Record>(&self) -> Result<Vec<R>, StoreError> {
        self.rows("SELECT * FROM regions ORDER BY id", decode).await
    }

    pub async fn region_update<R: Record>(&self, reg: &R) -> Result<(), StoreError> {
        self.update("regions", reg, &["description", "parent_region_id"]).await
    }

    pub async fn region_delete(&self, id: &str) -> Result<(), StoreError> {
        let used: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM endpoints WHERE region_id = $1) + \
             (SELECT COUNT(*) FROM regions WHERE parent_region_id = $1)",
        )
        .bind(id)
        .fetch_one(self.reader())
        .await?;
        if used > 0 {
            return Err(StoreError::Conflict("region has endpoints or child regions".into()));
        }
        found(delete_where(self.pool(), "regions", &[("id", id)]).await?)
    }

    pub async fn service_create<R: Record>(&self, s: &R) -> Result<(), StoreError> {
        self.insert("services", s).await
    }

    pub async fn service_get<R: Record>(&self, id: &str) -> Result<R, StoreError> {
        self.row_where("services", "id", id, decode).await
    }

    pub async fn service_list<R: Record>(&self) -> Result<Vec<R>, StoreError> {
        self.rows("SELECT * FROM services ORDER BY type, id", decode).await
    }

    pub async fn service_update<R: Record>(&self, s: &R) -> Result<(), StoreError> {
        self.update("services", s, &["type", "name", "description", "enabled"]).await
    }

    pub async fn service_delete(&self, id: &str) -> Result<(), StoreError> {
        self.delete_row("services", id, &[], &["DELETE FROM endpoints WHERE service_id = $1"]).await
    }

    pub async fn endpoint_create<R: Record>(&self, e: &R) -> Result<(), StoreError> {
        self.insert("endpoints", e).await
    }

    pub async fn endpoint_get<R: Record>(&self, id: &str) -> Result<R, StoreError> {
        self.row_where("endpoints", "id", id, decode).await
    }

    pub async fn endpoint_list<R: Record>(&self) -> Result<Vec<R>, StoreError> {
        self.rows("SELECT * FROM endpoints ORDER BY service_id, interface, id", decode).await
    }

    pub async fn endpoint_update<R: Record>(&self, e: &R) -> Result<(), StoreError> {
        self.update("endpoints", e, &["service_id", "interface", "region_id", "url", "enabled"]).await
    }

    pub async fn endpoint_delete(&self, id: &str) -> Result<(), StoreError> {
        found(delete_where(self.pool(), "endpoints", &[("id", id)]).await?)
    }
}
