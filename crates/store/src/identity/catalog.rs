use sqlx::any::AnyRow;

use crate::table::found;
use crate::{flag, RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub id: String,
    pub description: String,
    pub parent_region_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: String,
    pub service_type: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub service_id: String,
    pub interface: String,
    pub region_id: Option<String>,
    pub url: String,
    pub enabled: bool,
}

fn region(r: &AnyRow) -> Result<Region, StoreError> {
    Ok(Region {
        id: r.text("id")?,
        description: r.text("description")?,
        parent_region_id: r.opt_text("parent_region_id")?,
    })
}

fn service(r: &AnyRow) -> Result<Service, StoreError> {
    Ok(Service {
        id: r.text("id")?,
        service_type: r.text("type")?,
        name: r.text("name")?,
        description: r.text("description")?,
        enabled: r.boolean("enabled")?,
    })
}

fn endpoint(r: &AnyRow) -> Result<Endpoint, StoreError> {
    Ok(Endpoint {
        id: r.text("id")?,
        service_id: r.text("service_id")?,
        interface: r.text("interface")?,
        region_id: r.opt_text("region_id")?,
        url: r.text("url")?,
        enabled: r.boolean("enabled")?,
    })
}

impl Store {
    pub async fn region_create(&self, reg: &Region) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO regions (id, description, parent_region_id) VALUES ($1, $2, $3)")
            .bind(&reg.id)
            .bind(&reg.description)
            .bind(&reg.parent_region_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn region_get(&self, id: &str) -> Result<Region, StoreError> {
        self.row_where("regions", "id", id, region).await
    }

    pub async fn region_list(&self) -> Result<Vec<Region>, StoreError> {
        self.rows("SELECT * FROM regions ORDER BY id", region).await
    }

    pub async fn region_update(&self, reg: &Region) -> Result<(), StoreError> {
        found(
            sqlx::query("UPDATE regions SET description = $2, parent_region_id = $3 WHERE id = $1")
                .bind(&reg.id)
                .bind(&reg.description)
                .bind(&reg.parent_region_id)
                .execute(self.pool())
                .await?,
        )
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
        found(sqlx::query("DELETE FROM regions WHERE id = $1").bind(id).execute(self.pool()).await?)
    }

    pub async fn service_create(&self, s: &Service) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO services (id, type, name, description, enabled) VALUES ($1, $2, $3, $4, $5)")
            .bind(&s.id)
            .bind(&s.service_type)
            .bind(&s.name)
            .bind(&s.description)
            .bind(flag(s.enabled))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn service_get(&self, id: &str) -> Result<Service, StoreError> {
        self.row_where("services", "id", id, service).await
    }

    pub async fn service_list(&self) -> Result<Vec<Service>, StoreError> {
        self.rows("SELECT * FROM services ORDER BY type, id", service).await
    }

    pub async fn service_update(&self, s: &Service) -> Result<(), StoreError> {
        found(
            sqlx::query("UPDATE services SET type = $2, name = $3, description = $4, enabled = $5 WHERE id = $1")
                .bind(&s.id)
                .bind(&s.service_type)
                .bind(&s.name)
                .bind(&s.description)
                .bind(flag(s.enabled))
                .execute(self.pool())
                .await?,
        )
    }

    pub async fn service_delete(&self, id: &str) -> Result<(), StoreError> {
        self.delete_row("services", id, &[], &["DELETE FROM endpoints WHERE service_id = $1"]).await
    }

    pub async fn endpoint_create(&self, e: &Endpoint) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO endpoints (id, service_id, interface, region_id, url, enabled) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&e.id)
        .bind(&e.service_id)
        .bind(&e.interface)
        .bind(&e.region_id)
        .bind(&e.url)
        .bind(flag(e.enabled))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn endpoint_get(&self, id: &str) -> Result<Endpoint, StoreError> {
        self.row_where("endpoints", "id", id, endpoint).await
    }

    pub async fn endpoint_list(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.rows("SELECT * FROM endpoints ORDER BY service_id, interface, id", endpoint).await
    }

    pub async fn endpoint_update(&self, e: &Endpoint) -> Result<(), StoreError> {
        found(sqlx::query(
            "UPDATE endpoints SET service_id = $2, interface = $3, region_id = $4, url = $5, enabled = $6 WHERE id = $1",
        )
        .bind(&e.id)
        .bind(&e.service_id)
        .bind(&e.interface)
        .bind(&e.region_id)
        .bind(&e.url)
        .bind(flag(e.enabled))
        .execute(self.pool())
        .await?)
    }

    pub async fn endpoint_delete(&self, id: &str) -> Result<(), StoreError> {
        found(sqlx::query("DELETE FROM endpoints WHERE id = $1").bind(id).execute(self.pool()).await?)
    }
}
