//! The `ip_allocations` table: one row per address a port holds, so the primary key, not
//! application code, makes double allocation impossible even across nodes.

use sqlx::{Any, Transaction};

use crate::{from_row, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IpAllocation {
    pub subnet_id: String,
    pub ip_address: String,
    pub port_id: String,
    pub network_id: String,
}

impl Store {
    pub async fn ip_allocations_of_subnet(&self, subnet_id: &str) -> Result<Vec<IpAllocation>, StoreError> {
        let rows = sqlx::query("SELECT * FROM ip_allocations WHERE subnet_id = $1")
            .bind(subnet_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(from_row).collect()
    }
}

/// Frees every address of a port.
pub(crate) async fn release_port(tx: &mut Transaction<'_, Any>, port_id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM ip_allocations WHERE port_id = $1").bind(port_id).execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn release(tx: &mut Transaction<'_, Any>, subnet_id: &str, ip: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM ip_allocations WHERE subnet_id = $1 AND ip_address = $2")
        .bind(subnet_id)
        .bind(ip)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Takes an address; one another port holds is `Conflict("ip:SUBNET:ADDRESS")`.
pub(crate) async fn allocate(tx: &mut Transaction<'_, Any>, a: &IpAllocation) -> Result<(), StoreError> {
    let done =
        sqlx::query("INSERT INTO ip_allocations (subnet_id, ip_address, port_id, network_id) VALUES ($1, $2, $3, $4)")
            .bind(&a.subnet_id)
            .bind(&a.ip_address)
            .bind(&a.port_id)
            .bind(&a.network_id)
            .execute(&mut **tx)
            .await;
    match done.map_err(StoreError::from) {
        Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(format!("ip:{}:{}", a.subnet_id, a.ip_address))),
        other => other.map(|_| ()),
    }
}
