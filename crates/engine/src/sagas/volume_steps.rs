//! What the volume sagas share: reading their input, reaching the volume's cloud, and the
//! failure hook that leaves a volume (or snapshot) in the state Cinder shows after a failed
//! operation.

use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_core::compute::clouds::CloudHandle;
use hybridstack_core::compute::Compute;
use hybridstack_core::volume::model::Volume;
use serde_json::Value;

use super::{core, text};
use crate::saga::{OnFailed, StepError};

/// The volume of the operation and its cloud; a volume gone is a final failure.
pub(super) async fn volume_and_cloud(c: &Compute, input: &Value) -> Result<(Arc<CloudHandle>, Volume), StepError> {
    let id = text(input, "volume_id")?;
    match c.volumes.volume_cloud(&id).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(StepError::Failed(format!("volume {id} no longer exists"))),
        Err(hybridstack_core::CoreError::Conflict(m)) => Err(StepError::Transient(m)),
        Err(e) => Err(core(e)),
    }
}

/// Sets the volume's status (and, for a snapshot operation, the snapshot's) after a failure.
pub(super) struct FailVolume {
    pub compute: Arc<Compute>,
    /// The volume's status after the failure; `None` leaves it as the undo left it.
    pub volume_status: Option<&'static str>,
    /// The snapshot's status after the failure, for snapshot operations.
    pub snapshot_status: Option<&'static str>,
}

#[async_trait]
impl OnFailed for FailVolume {
    async fn failed(&self, input: &Value, error: &str) -> Result<(), StepError> {
        let reason = error.split_once(": ").map_or(error, |(_, r)| r).to_string();
        if let (Some(status), Ok(id)) = (self.snapshot_status, text(input, "snapshot_id")) {
            let r = reason.clone();
            match self
                .compute
                .volumes
                .modify_snapshot(&id, |s| {
                    s.status = status.into();
                    s.error = Some(r.clone());
                })
                .await
            {
                Ok(_) | Err(hybridstack_core::CoreError::NotFound(_)) => {}
                Err(e) => return Err(core(e)),
            }
        }
        // A failed attach takes the volume off the server it was reserved on.
        if let (Some("available"), Ok(server), Ok(id)) =
            (self.volume_status, text(input, "server_id"), text(input, "volume_id"))
        {
            self.compute.forget_volume_of_server(&server, &id).await.map_err(core)?;
        }
        if let (Some(status), Ok(id)) = (self.volume_status, text(input, "volume_id")) {
            match self
                .compute
                .volumes
                .modify_volume(&id, |v| {
                    v.status = status.into();
                    if status == "available" {
                        v.attachments.clear();
                    }
                    v.error = Some(reason.clone());
                })
                .await
            {
                Ok(_) | Err(hybridstack_core::CoreError::NotFound(_)) => {}
                Err(e) => return Err(core(e)),
            }
        }
        Ok(())
    }
}
