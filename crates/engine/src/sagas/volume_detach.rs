//! Volume detach: unplug it from the server (waiting, bounded, for the guest to let go),
//! then mark it `available`. A failure leaves it `in-use`, still attached.

use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_core::compute::Compute;
use hybridstack_core::volume::ops::DetachVolume;

use super::volume_steps::{volume_step, FailVolume, Nothing, VolumeWork};
use super::{core, driver};
use crate::saga::{Act, Run, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Arc<Compute>) {
    let w = VolumeWork::of(c);
    let fail = FailVolume::volume(&w, Some("in-use"));
    let finish = Finish { volumes: w.clone(), servers: c.clone() };
    engine.register(SagaOf::<DetachVolume>::new().step(Unplug(w)).step(finish).on_failed(fail).build());
}

volume_step!(Unplug: DetachVolume, "unplug", |w, p, _| {
    let (cloud, v) = w.volume_and_cloud(&p.volume_id).await?;
    cloud.block.detach_volume(&p.server_id, &v.id).await.map_err(driver)
});

struct Finish {
    volumes: VolumeWork,
    /// The server's record lists its volumes.
    servers: Arc<Compute>,
}

#[async_trait]
impl Act<DetachVolume> for Finish {
    const NAME: &'static str = "finish";
    type Out = Nothing;

    async fn run(&self, p: &DetachVolume, _: &Run<'_>) -> Result<Nothing, StepError> {
        self.volumes
            .volumes
            .modify_volume(&p.volume_id, |v| {
                v.attachments.retain(|a| a.server_id != p.server_id);
                v.status = if v.attachments.is_empty() { "available" } else { "in-use" }.into();
            })
            .await
            .map_err(core)?;
        self.servers.forget_volume_of_server(&p.server_id, &p.volume_id).await.map_err(core)?;
        Ok(Nothing {})
    }
}
