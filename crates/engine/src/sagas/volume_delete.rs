//! Volume delete: remove it from its cloud, then its record. A failure leaves it in
//! `error_deleting`, from which a delete may be asked again.

use hybridstack_core::compute::Compute;
use hybridstack_core::volume::ops::DeleteVolume;

use super::volume_steps::{volume_step, FailVolume, VolumeWork};
use super::{core, driver};
use crate::saga::SagaOf;
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let w = VolumeWork::of(c);
    let fail = FailVolume::volume(&w, Some("error_deleting"));
    engine.register(SagaOf::<DeleteVolume>::new().step(Remove(w.clone())).step(Forget(w)).on_failed(fail).build());
}

volume_step!(Remove: DeleteVolume, "remove", |w, p, _| {
    let (cloud, v) = w.volume_and_cloud(&p.volume_id).await?;
    cloud.block.delete_volume(&v.id).await.map_err(driver)
});

volume_step!(Forget: DeleteVolume, "forget", |w, p, _| { w.volumes.forget_volume(&p.volume_id).await.map_err(core) });
