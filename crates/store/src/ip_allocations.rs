//! The `ip_allocations` table: one row per address a port holds, so the primary key, not
//! application code, makes double allocation impossible even across nodes.

use sqlx::{Any, Transaction};

use serde::Serialize;

use crate::record::Sql;
use crate::table::delete_where;
use crate::{from_row, Store, StoreError};

const TABLE: &str = "ip_allocations";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct IpAllocation {
    pub subnet_id: String,
    pub ip_address: String,
    pub port_id: String,
    pub network_id: String,
}

impl Store {
    pub async fn ip_allocations_of_subnet(&self, subnet_id: &str) -> Result<Vec<IpAllocation>, StoreError> {
        self.rows_where(TABLE, &[("subnet_id", subnet_id)], "", from_row).await
    }
}

/// Frees every address of a port.
pub(crate) async fn release_port(tx: &mut Transaction<'_, Any>, port_id: &str) -> Result<(), StoreError> {
    delete_where(&mut **tx, TABLE, &[("port_id", port_id)]).await?;
    Ok(())
}

pub(crate) async fn release(tx: &mut Transaction<'_, Any>, subnet_id: &str, ip: &str) -> Result<(), StoreError> {
    delete_where(&mut **tx, TABLE, &[("subnet_id", subnet_id), ("ip_address", ip)]).await?;
    Ok(())
}

/// Takes an address; one another port holds is `Conflict("ip:SUBNET:ADDRESS")`.
pub(crate) async fn allocate(tx: &mut Transaction<'_, Any>, a: &IpAllocation) -> Result<(), StoreError> {
    let done = Sql::insert(TABLE, a)?.query().execute(&mut **tx).await;
    match done.map_err(StoreError::from) {
        Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(format!("ip:{}:{}", a.subnet_id, a.ip_address))),
        other => other.map(|_| ()),
    }
}
