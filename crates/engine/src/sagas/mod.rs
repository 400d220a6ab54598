//! The sagas, one file per operation (Oxide's omicron layout). Each file declares its steps
//! as typed structs over its operation's parameters (`core::*::ops`), each step's work beside
//! its undo, holding only the services it uses, and registers its saga. Core decides (specs,
//! state changes, in `core::compute::lifecycle` and the services); these files make the cloud
//! calls through the cloud's `Actors`, say in which order it all runs and what undoes what.
//! `shared.rs` holds the steps several operations share.

mod image_copy;
mod image_purge;
mod network_sync;
mod server_create;
mod server_delete;
mod server_power;
mod server_rebuild;
mod server_resize;
mod server_snapshot;
mod shared;
mod snapshot_create;
mod snapshot_delete;
mod volume_attach;
mod volume_create;
mod volume_delete;
mod volume_detach;
mod volume_extend;
mod volume_steps;
mod volume_upload;

use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_core::clouds::Clouds;
use hybridstack_core::compute::model::Server;
use hybridstack_core::compute::ops::{
    ConfirmResize, CreateServer, DeleteServer, PowerServer, RebuildServer, ResizeServer, RevertResize, SnapshotServer,
};
use hybridstack_core::compute::Compute;
use hybridstack_core::operations::Params;
use hybridstack_core::CoreError;
use hybridstack_driver::DriverError;
use hybridstack_driver_act::Actors;

use crate::saga::{Failed, StepError};
use crate::Engine;

/// Registers every saga with the engine; each file registers its own.
pub fn register(engine: &mut Engine, compute: &Arc<Compute>) {
    server_create::register(engine, compute);
    server_delete::register(engine, compute);
    server_power::register(engine, compute);
    server_rebuild::register(engine, compute);
    server_resize::register(engine, compute);
    server_snapshot::register(engine, compute);
    volume_create::register(engine, compute);
    volume_delete::register(engine, compute);
    volume_extend::register(engine, compute);
    volume_attach::register(engine, compute);
    volume_detach::register(engine, compute);
    volume_upload::register(engine, compute);
    snapshot_create::register(engine, compute);
    snapshot_delete::register(engine, compute);
    image_copy::register(engine, compute);
    image_purge::register(engine, compute);
    network_sync::register(engine, compute);
}

/// What a server operation's failure hook reads of its parameters.
pub(crate) trait OnServer {
    fn server_id(&self) -> &str;
    fn request_id(&self) -> Option<&str>;
}

macro_rules! on_server {
    ($($t:ty),*) => {
        $(impl OnServer for $t {
            fn server_id(&self) -> &str {
                &self.server_id
            }
            fn request_id(&self) -> Option<&str> {
                self.request_id.as_deref()
            }
        })*
    };
}
on_server!(
    CreateServer,
    DeleteServer,
    PowerServer,
    RebuildServer,
    ResizeServer,
    ConfirmResize,
    RevertResize,
    SnapshotServer
);

/// Marks the server ERROR with the failure as its fault, and closes its action.
pub(crate) struct FailServer(pub Arc<Compute>);

#[async_trait]
impl<P: Params + OnServer> Failed<P> for FailServer {
    async fn failed(&self, p: &P, error: &str) -> Result<(), StepError> {
        // The step name prefix is for the log; the fault shows the reason.
        let reason = error.split_once(": ").map_or(error, |(_, r)| r);
        self.0.fail_server(p.server_id(), p.request_id(), 500, reason).await.map_err(core)
    }
}

/// A store hiccup or a lost compare-and-swap is worth retrying; the rest is final.
pub(crate) fn core(e: CoreError) -> StepError {
    match e {
        CoreError::Internal(m) => StepError::Transient(m),
        CoreError::Conflict(m) if m.contains("being changed by another request") => StepError::Transient(m),
        other => StepError::Failed(other.to_string()),
    }
}

pub(crate) fn driver(e: DriverError) -> StepError {
    match e {
        DriverError::Transient(m) => StepError::Transient(m),
        other => StepError::Failed(other.to_string()),
    }
}

/// The acting handles of a cloud, opened first if it was registered since the last look.
pub(crate) async fn cloud_of(clouds: &Clouds, name: &str) -> Result<Arc<Actors>, StepError> {
    let handle = clouds.require(name).await.map_err(|e| match e {
        // A registered cloud that cannot be opened now may come back.
        CoreError::Conflict(m) => StepError::Transient(m),
        other => StepError::Failed(other.to_string()),
    })?;
    crate::actors(&handle).map_err(StepError::Failed)
}

/// A server's record and its cloud's acting handles.
pub(crate) async fn server_and_cloud(c: &Compute, id: &str) -> Result<(Server, Arc<Actors>), StepError> {
    let s = c.server_internal(id).await.map_err(core)?;
    let cloud = cloud_of(&c.clouds, &s.cloud).await?;
    Ok((s, cloud))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod volume_tests;
