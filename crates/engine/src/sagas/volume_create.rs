//! Volume create: make it on its cloud from its source, then mark it available. A failure
//! removes what was made and leaves the volume in `error`, as Cinder does.

use hybridstack_core::compute::Compute;
use hybridstack_core::volume::model::Volume;
use hybridstack_core::volume::ops::CreateVolume;

use super::volume_steps::{volume_step, FailVolume, Nothing, VolumeWork};
use super::{core, driver};
use crate::saga::{step, SagaOf};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let w = VolumeWork::of(c);
    let fail = FailVolume::volume(&w, Some("error"));
    engine.register(SagaOf::<CreateVolume>::new().step(Realise(w.clone())).step(Finish(w)).on_failed(fail).build());
}

step!(Realise(VolumeWork): CreateVolume, "realise", |c, p, _| -> Nothing {
    let (cloud, v) = c.volume_and_cloud(&p.volume_id).await?;
    let spec = c.volumes.volume_spec(&v).await.map_err(core)?;
    if let Err(e) = cloud.block.ensure_volume(&spec).await {
        // A copy cut part-way goes before the saga reports the failure.
        if let Err(again) = cloud.block.delete_volume(&v.id).await {
            tracing::warn!(volume = %v.id, "could not remove a part-made volume: {again}");
        }
        return Err(driver(e));
    }
    Ok(Nothing {})
} undo |c, p, _| {
    let (cloud, v) = c.volume_and_cloud(&p.volume_id).await?;
    cloud.block.delete_volume(&v.id).await.map_err(driver)
} leaves_work |_| true);

volume_step!(Finish: CreateVolume, "finish", |w, p, _| {
    let available = |v: &mut Volume| {
        v.status = "available".into();
        v.error = None;
    };
    w.volumes.modify_volume(&p.volume_id, available).await.map(drop).map_err(core)
});
