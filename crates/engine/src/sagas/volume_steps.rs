//! What the volume sagas share: reaching the volume's cloud, the empty output most of their
//! steps record, and the failure hook that leaves a volume (or snapshot) in the state Cinder
//! shows after a failed operation.

use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_core::compute::Compute;
use hybridstack_core::operations::Params;
use hybridstack_core::volume::model::Volume;
use hybridstack_core::volume::ops::{
    AttachVolume, CreateSnapshot, CreateVolume, DeleteSnapshot, DeleteVolume, DetachVolume, ExtendVolume, UploadImage,
};
use hybridstack_core::volume::Volumes;
use hybridstack_driver_act::Actors;
use serde::{Deserialize, Serialize};

use super::core;
use crate::saga::{Failed, StepError};

/// The service the volume steps use (it reaches each volume's cloud).
#[derive(Clone)]
pub(super) struct VolumeWork {
    pub volumes: Arc<Volumes>,
}

impl VolumeWork {
    pub fn of(c: &Compute) -> Self {
        Self { volumes: c.volumes.clone() }
    }

    /// The volume and its cloud's acting handles; a volume gone is a final failure.
    pub async fn volume_and_cloud(&self, id: &str) -> Result<(Arc<Actors>, Volume), StepError> {
        match self.volumes.volume_cloud(id).await {
            Ok(Some((handle, v))) => Ok((crate::actors(&handle).map_err(StepError::Failed)?, v)),
            Ok(None) => Err(StepError::Failed(format!("volume {id} no longer exists"))),
            Err(hybridstack_core::CoreError::Conflict(m)) => Err(StepError::Transient(m)),
            Err(e) => Err(core(e)),
        }
    }
}

/// The output of a step with nothing to tell the next ones (recorded as `{}`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Nothing {}

/// What a volume operation's failure hook reads of its parameters.
pub(super) trait OnVolume {
    fn volume_id(&self) -> &str;
    fn snapshot_id(&self) -> Option<&str> {
        None
    }
    fn server_id(&self) -> Option<&str> {
        None
    }
}

macro_rules! on_volume {
    ($($t:ty),*) => { $(impl OnVolume for $t { fn volume_id(&self) -> &str { &self.volume_id } })* };
}
on_volume!(CreateVolume, DeleteVolume, ExtendVolume, UploadImage);

impl OnVolume for AttachVolume {
    fn volume_id(&self) -> &str {
        &self.volume_id
    }
    fn server_id(&self) -> Option<&str> {
        Some(&self.server_id)
    }
}

impl OnVolume for DetachVolume {
    fn volume_id(&self) -> &str {
        &self.volume_id
    }
    fn server_id(&self) -> Option<&str> {
        Some(&self.server_id)
    }
}

impl OnVolume for CreateSnapshot {
    fn volume_id(&self) -> &str {
        &self.volume_id
    }
    fn snapshot_id(&self) -> Option<&str> {
        Some(&self.snapshot_id)
    }
}

impl OnVolume for DeleteSnapshot {
    fn volume_id(&self) -> &str {
        &self.volume_id
    }
    fn snapshot_id(&self) -> Option<&str> {
        Some(&self.snapshot_id)
    }
}

/// A volume step that records nothing and has nothing to undo, written as its body alone:
/// `volume_step!(Finish: CreateVolume, "finish", |w, p, run| { ... })`, where `w` is the
/// `VolumeWork`, `p` the parameters, `run` the saga so far, and the body a
/// `Result<(), StepError>`.
macro_rules! volume_step {
    ($step:ident: $params:ty, $name:literal, |$w:ident, $p:ident, $run:pat_param| $body:block) => {
        struct $step($crate::sagas::volume_steps::VolumeWork);

        #[async_trait::async_trait]
        impl $crate::saga::Act<$params> for $step {
            const NAME: &'static str = $name;
            type Out = $crate::sagas::volume_steps::Nothing;

            async fn run(
                &self,
                $p: &$params,
                $run: &$crate::saga::Run<'_>,
            ) -> Result<Self::Out, $crate::saga::StepError> {
                let $w = &self.0;
                let done: Result<(), $crate::saga::StepError> = $body;
                done.map(|()| $crate::sagas::volume_steps::Nothing {})
            }
        }
    };
}
pub(super) use volume_step;

/// Sets the volume's status (and, for a snapshot operation, the snapshot's) after a failure.
pub(super) struct FailVolume {
    pub volumes: Arc<Volumes>,
    /// The volume's status after the failure; `None` leaves it as the undo left it.
    pub volume_status: Option<&'static str>,
    /// The snapshot's status after the failure, for snapshot operations.
    pub snapshot_status: Option<&'static str>,
    /// For an attach: the compute service, to take the volume off the server it was
    /// reserved on.
    pub servers: Option<Arc<Compute>>,
}

impl FailVolume {
    /// A failure leaves the volume in `status` (`None`: as the undo left it).
    pub fn volume(w: &VolumeWork, status: Option<&'static str>) -> Self {
        Self { volumes: w.volumes.clone(), volume_status: status, snapshot_status: None, servers: None }
    }

    /// A failure leaves the snapshot in `status`.
    pub fn snapshot(w: &VolumeWork, status: &'static str) -> Self {
        Self { snapshot_status: Some(status), ..Self::volume(w, None) }
    }
}

#[async_trait]
impl<P: Params + OnVolume> Failed<P> for FailVolume {
    async fn failed(&self, p: &P, error: &str) -> Result<(), StepError> {
        let reason = error.split_once(": ").map_or(error, |(_, r)| r).to_string();
        if let (Some(status), Some(id)) = (self.snapshot_status, p.snapshot_id()) {
            let r = reason.clone();
            match self
                .volumes
                .modify_snapshot(id, |s| {
                    s.status = status.into();
                    s.error = Some(r.clone());
                })
                .await
            {
                Ok(_) | Err(hybridstack_core::CoreError::NotFound(_)) => {}
                Err(e) => return Err(core(e)),
            }
        }
        if let (Some(servers), Some(server)) = (&self.servers, p.server_id()) {
            servers.forget_volume_of_server(server, p.volume_id()).await.map_err(core)?;
        }
        if let Some(status) = self.volume_status {
            match self
                .volumes
                .modify_volume(p.volume_id(), |v| {
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
