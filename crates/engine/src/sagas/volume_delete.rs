//! Volume delete: remove it from its cloud, then its record. A failure leaves it in
//! `error_deleting`, from which a delete may be asked again.

use async_trait::async_trait;
use hybridstack_core::compute::Compute;
use hybridstack_core::volume::ops::DeleteVolume;

use super::volume_steps::{FailVolume, Nothing, VolumeWork};
use super::{core, driver};
use crate::saga::{Act, Run, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let w = VolumeWork::of(c);
    let fail = FailVolume {
        volumes: w.volumes.clone(),
        volume_status: Some("error_deleting"),
        snapshot_status: None,
        servers: None,
    };
    engine.register(SagaOf::<DeleteVolume>::new().step(Remove(w.clone())).step(Forget(w)).on_failed(fail).build());
}

struct Remove(VolumeWork);

#[async_trait]
impl Act<DeleteVolume> for Remove {
    const NAME: &'static str = "remove";
    type Out = Nothing;

    async fn run(&self, p: &DeleteVolume, _: &Run<'_>) -> Result<Nothing, StepError> {
        let (cloud, v) = self.0.volume_and_cloud(&p.volume_id).await?;
        cloud.block.delete_volume(&v.id).await.map_err(driver)?;
        Ok(Nothing {})
    }
}

struct Forget(VolumeWork);

#[async_trait]
impl Act<DeleteVolume> for Forget {
    const NAME: &'static str = "forget";
    type Out = Nothing;

    async fn run(&self, p: &DeleteVolume, _: &Run<'_>) -> Result<Nothing, StepError> {
        self.0.volumes.forget_volume(&p.volume_id).await.map_err(core)?;
        Ok(Nothing {})
    }
}
