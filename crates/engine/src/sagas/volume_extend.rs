//! Volume extend: grow it on its cloud (online when attached), then record the new size.
//! A failure leaves it in `error_extending`, as Cinder does.

use hybridstack_core::compute::Compute;
use hybridstack_core::volume::model::Volume;
use hybridstack_core::volume::ops::ExtendVolume;

use super::volume_steps::{volume_step, FailVolume, VolumeWork};
use super::{core, driver};
use crate::saga::SagaOf;
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let w = VolumeWork::of(c);
    let fail = FailVolume::volume(&w, Some("error_extending"));
    engine.register(SagaOf::<ExtendVolume>::new().step(Grow(w.clone())).step(Finish(w)).on_failed(fail).build());
}

volume_step!(Grow: ExtendVolume, "grow", |w, p, _| {
    let (cloud, v) = w.volume_and_cloud(&p.volume_id).await?;
    cloud.block.extend_volume(&v.id, p.new_size).await.map_err(driver)
});

volume_step!(Finish: ExtendVolume, "finish", |w, p, _| {
    let grown = |v: &mut Volume| {
        v.size = p.new_size;
        v.status = p.back_to.clone();
    };
    w.volumes.modify_volume(&p.volume_id, grown).await.map(drop).map_err(core)
});
