//! Snapshot delete: remove the copy from the volume's cloud, then the record. A failure
//! leaves the snapshot in `error_deleting`.

use async_trait::async_trait;
use hybridstack_core::compute::Compute;
use hybridstack_core::volume::ops::DeleteSnapshot;

use super::volume_steps::{FailVolume, Nothing, VolumeWork};
use super::{core, driver};
use crate::saga::{Act, Run, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let w = VolumeWork::of(c);
    let fail = FailVolume {
        volumes: w.volumes.clone(),
        volume_status: None,
        snapshot_status: Some("error_deleting"),
        servers: None,
    };
    engine.register(SagaOf::<DeleteSnapshot>::new().step(Remove(w.clone())).step(Forget(w)).on_failed(fail).build());
}

struct Remove(VolumeWork);

#[async_trait]
impl Act<DeleteSnapshot> for Remove {
    const NAME: &'static str = "remove";
    type Out = Nothing;

    async fn run(&self, p: &DeleteSnapshot, _: &Run<'_>) -> Result<Nothing, StepError> {
        let Some(s) = self.0.volumes.snapshot_internal(&p.snapshot_id).await.map_err(core)? else {
            return Ok(Nothing {});
        };
        let (cloud, _) = self.0.volume_and_cloud(&s.volume_id).await?;
        cloud.block.delete_snapshot(&p.snapshot_id).await.map_err(driver)?;
        Ok(Nothing {})
    }
}

struct Forget(VolumeWork);

#[async_trait]
impl Act<DeleteSnapshot> for Forget {
    const NAME: &'static str = "forget";
    type Out = Nothing;

    async fn run(&self, p: &DeleteSnapshot, _: &Run<'_>) -> Result<Nothing, StepError> {
        self.0.volumes.forget_snapshot(&p.snapshot_id).await.map_err(core)?;
        Ok(Nothing {})
    }
}
