use serde::{Deserialize, Serialize};

use crate::record::{decode, flag};
use crate::table::{delete_where, found};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub id: String,
    pub description: String,
    pub parent_region_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    #[serde(rename = "type")]
    pub service_type: String,
    pub name: String,
    pub description: String,
    #[serde(deserialize_with = "flag")]
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub service_id: String,
    pub interface: String,
    pub region_id: Option<String>,
    pub url: String,
    #[serde(deserialize_with = "flag")]
    pub enabled: bool,
}

impl Store {
    pub async fn region_create(&self, reg: &Region) -> Result<(), StoreError> {
        self.insert("regions", reg).await
    }

    pub async fn region_get(&self, id: &str) -> Result<Region, StoreError> {
        self.row_where("regions", "id", id, decode::<Region>).await
    }

    pub async fn region_list(&self) -> Result<Vec<Region>, StoreError> {
        self.rows("SELECT * FROM regions ORDER BY id", decode::<Region>).await
    }

    pub async fn region_update(&self, reg: &Region) -> Result<(), StoreError> {
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

    pub async fn service_create(&self, s: &Service) -> Result<(), StoreError> {
        self.insert("services", s).await
    }

    pub async fn service_get(&self, id: &str) -> Result<Service, StoreError> {
        self.row_where("services", "id", id, decode::<Service>).await
    }

    pub async fn service_list(&self) -> Result<Vec<Service>, StoreError> {
        self.rows("SELECT * FROM services ORDER BY type, id", decode::<Service>).await
    }

    pub async fn service_update(&self, s: &Service) -> Result<(), StoreError> {
        self.update("services", s, &["type", "name", "description", "enabled"]).await
    }

    pub async fn service_delete(&self, id: &str) -> Result<(), StoreError> {
        self.delete_row("services", id, &[], &["DELETE FROM endpoints WHERE service_id = $1"]).await
    }

    pub async fn endpoint_create(&self, e: &Endpoint) -> Result<(), StoreError> {
        self.insert("endpoints", e).await
    }

    pub async fn endpoint_get(&self, id: &str) -> Result<Endpoint, StoreError> {
        self.row_where("endpoints", "id", id, decode::<Endpoint>).await
    }

    pub async fn endpoint_list(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.rows("SELECT * FROM endpoints ORDER BY service_id, interface, id", decode::<Endpoint>).await
    }

    pub async fn endpoint_update(&self, e: &Endpoint) -> Result<(), StoreError> {
        self.update("endpoints", e, &["service_id", "interface", "region_id", "url", "enabled"]).await
    }

    pub async fn endpoint_delete(&self, id: &str) -> Result<(), StoreError> {
        found(delete_where(self.pool(), "endpoints", &[("id", id)]).await?)
    }
}
