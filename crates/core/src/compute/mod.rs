//! The compute service (Nova v2.1): flavors, keypairs, servers and their actions, quotas,
//! zones and hypervisors. A request validates and records the server's desired state with
//! the operation that realises it, in one transaction; the engine's sagas do the cloud work
//! and write the outcome back through the functions in `lifecycle`.

mod boot_volumes;
mod flavors;
mod instance_actions;
mod keypairs;
pub mod lifecycle;
pub mod model;
pub mod ops;
mod ownership;
mod quotas;
mod scheduler;
mod server_actions;
mod server_groups;
mod servers;
mod volume_attachments;
mod zones;

use std::sync::Arc;

use hybridstack_store::operations::Operation;
use hybridstack_store::server_actions::ActionRow;
use hybridstack_store::servers::ServerRow;
use hybridstack_store::{Store, StoreError};
use tokio::sync::Notify;

use crate::clouds::Clouds;
use crate::images::Images;
use crate::network::Networking;
use crate::CoreError;

pub use boot_volumes::BlockDeviceRequest;
pub use flavors::FlavorRequest;
pub use keypairs::KeypairRequest;
pub use quotas::{QuotaSet, QUOTA_NAMES};
pub use server_actions::ServerAction;
pub use servers::{
    CreateRequest, Created, ListQuery, NetworkRequest, ServerUpdate, TagChange, MAX_LIMIT as SERVERS_MAX_LIMIT,
};
pub use zones::{Hypervisor, Zone};

pub(crate) use crate::clock::{new_id, now};

#[derive(Debug, Clone)]
pub struct ComputeConfig {
    /// How long a graceful stop may take before the guest is forced off.
    pub shutdown_timeout_secs: u64,
}

impl Default for ComputeConfig {
    fn default() -> Self {
        Self { shutdown_timeout_secs: 60 }
    }
}

pub struct Compute {
    store: Store,
    pub images: Arc<Images>,
    pub networking: Arc<Networking>,
    pub clouds: Arc<Clouds>,
    /// Block storage shares the clouds and the engine's wake-up with compute.
    pub volumes: Arc<crate::volume::Volumes>,
    /// Woken when an operation is queued, so a worker picks it up at once.
    pub wake: Arc<Notify>,
    pub cfg: ComputeConfig,
}

impl Compute {
    pub fn new(
        store: Store,
        images: Arc<Images>,
        networking: Arc<Networking>,
        clouds: Arc<Clouds>,
        cfg: ComputeConfig,
    ) -> Arc<Self> {
        let wake = clouds.doorbell().clone();
        let volumes = crate::volume::Volumes::new(store.clone(), images.clone(), clouds.clone(), wake.clone());
        Arc::new(Self { store, images, networking, clouds, volumes, wake, cfg })
    }

    /// A compute service over the clouds `images` and `networking` were built on, with no
    /// cloud drivers behind them when those were built `without_clouds` (tests of the API).
    pub fn without_clouds(store: Store, images: Arc<Images>, networking: Arc<Networking>) -> Arc<Self> {
        let clouds = images.clouds().clone();
        Self::new(store, images, networking, clouds, ComputeConfig::default())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn decode(row: &ServerRow) -> Result<model::Server, CoreError> {
        serde_json::from_str(&row.body)
            .map_err(|e| CoreError::Internal(format!("stored server {} is corrupt: {e}", row.id)))
    }

    fn row_of(s: &model::Server, prev: Option<&ServerRow>) -> Result<ServerRow, CoreError> {
        let t = crate::clock::now_micros();
        Ok(ServerRow {
            id: s.id.clone(),
            project_id: s.project_id.clone(),
            user_id: s.user_id.clone(),
            name: s.name.clone(),
            status: s.status().into(),
            cloud: s.cloud.clone(),
            flavor_id: s.flavor.id.clone(),
            image_id: s.image_id.clone(),
            vcpus: i64::from(s.flavor.vcpus),
            ram_mb: i64::try_from(s.flavor.ram).unwrap_or(i64::MAX),
            created_at: prev.map_or(t, |p| p.created_at),
            updated_at: t.max(prev.map_or(0, |p| p.updated_at + 1)),
            deleted_at: if s.vm_state == "deleted" {
                prev.map_or(t, |p| if p.deleted_at > 0 { p.deleted_at } else { t })
            } else {
                0
            },
            version: prev.map_or(0, |p| p.version + 1),
            body: serde_json::to_string(s).map_err(|e| CoreError::Internal(e.to_string()))?,
        })
    }

    /// Writes server records as they are, with no operation (bulk import: benchmarks and
    /// migrations from another control plane). Nothing is realised on any cloud.
    pub async fn import_servers(&self, servers: &[model::Server]) -> Result<(), CoreError> {
        let rows = servers.iter().map(|s| Self::row_of(s, None)).collect::<Result<Vec<_>, _>>()?;
        Ok(self.store.server_insert_many(&rows).await?)
    }

    /// A server by id, deleted ones included, with no visibility check (engine use).
    pub async fn server_row(&self, id: &str) -> Result<Option<(model::Server, ServerRow)>, CoreError> {
        match self.store.server_get(id).await {
            Ok(r) => Ok(Some((Self::decode(&r)?, r))),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `f` to the stored server and saves it with compare-and-swap, retrying when a
    /// concurrent writer got there first. `f` returns the operations and action records to
    /// write in the same transaction.
    pub(crate) async fn modify<F>(&self, id: &str, f: F) -> Result<model::Server, CoreError>
    where
        F: FnMut(&mut model::Server) -> Result<(Vec<Operation>, Vec<ActionRow>), CoreError>,
    {
        self.modify_from(id, None, f).await
    }

    /// `modify`, starting from a row the caller has just read (`server_row`) instead of
    /// reading it again; a write that finds it changed since reads afresh.
    pub(crate) async fn modify_from<F>(
        &self,
        id: &str,
        mut seen: Option<(model::Server, ServerRow)>,
        mut f: F,
    ) -> Result<model::Server, CoreError>
    where
        F: FnMut(&mut model::Server) -> Result<(Vec<Operation>, Vec<ActionRow>), CoreError>,
    {
        for _ in 0..16 {
            let read = match seen.take() {
                Some(r) => Some(r),
                None => self.server_row(id).await?,
            };
            let Some((mut s, row)) = read else {
                return Err(CoreError::NotFound(format!("Instance {id} could not be found.")));
            };
            let (ops, actions) = f(&mut s)?;
            s.updated = now();
            let new = Self::row_of(&s, Some(&row))?;
            let w = hybridstack_store::write::Write {
                server: Some((new, hybridstack_store::write::Expect::Version(row.version))),
                ops: ops.clone(),
                actions,
                ..Default::default()
            };
            match self.store.write(&w).await {
                Ok(()) => {
                    for _ in &ops {
                        self.wake.notify_one();
                    }
                    return Ok(s);
                }
                Err(StoreError::Conflict(m)) if m == "version" => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CoreError::Conflict(format!("Instance {id} is being changed by another request; try again.")))
    }
}

#[cfg(test)]
mod tests;
