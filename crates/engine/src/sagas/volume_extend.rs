//! Volume extend: grow it on its cloud (online when attached), then record the new size.
//! A failure leaves it in `error_extending`, as Cinder does.

use async_trait::async_trait;
use hybridstack_core::compute::Compute;
use hybridstack_core::volume::ops::ExtendVolume;

use super::volume_steps::{FailVolume, Nothing, VolumeWork};
use super::{core, driver};
use crate::saga::{Act, Run, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let w = VolumeWork::of(c);
    let fail = FailVolume {
        volumes: w.volumes.clone(),
        volume_status: Some("error_extending"),
        snapshot_status: None,
        servers: None,
    };
    engine.register(SagaOf::<ExtendVolume>::new().step(Grow(w.clone())).step(Finish(w)).on_failed(fail).build());
}

struct Grow(VolumeWork);

#[async_trait]
impl Act<ExtendVolume> for Grow {
    const NAME: &'static str = "grow";
    type Out = Nothing;

    async fn run(&self, p: &ExtendVolume, _: &Run<'_>) -> Result<Nothing, StepError> {
        let (cloud, v) = self.0.volume_and_cloud(&p.volume_id).await?;
        cloud.block.extend_volume(&v.id, p.new_size).await.map_err(driver)?;
        Ok(Nothing {})
    }
}

struct Finish(VolumeWork);

#[async_trait]
impl Act<ExtendVolume> for Finish {
    const NAME: &'static str = "finish";
    type Out = Nothing;

    async fn run(&self, p: &ExtendVolume, _: &Run<'_>) -> Result<Nothing, StepError> {
        self.0
            .volumes
            .modify_volume(&p.volume_id, |v| {
                v.size = p.new_size;
                v.status = p.back_to.clone();
            })
            .await
            .map_err(core)?;
        Ok(Nothing {})
    }
}
