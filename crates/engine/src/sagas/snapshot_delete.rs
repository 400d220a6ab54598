//! Snapshot delete: remove the copy from the volume's cloud, then the record. A failure
//! leaves the snapshot in `error_deleting`.

use hybridstack_core::compute::Compute;
use hybridstack_core::volume::ops::DeleteSnapshot;

use super::volume_steps::{volume_step, FailVolume, Nothing, VolumeWork};
use super::{core, driver};
use crate::saga::SagaOf;
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let w = VolumeWork::of(c);
    let fail = FailVolume::snapshot(&w, "error_deleting");
    engine.register(SagaOf::<DeleteSnapshot>::new().step(Remove(w.clone())).step(Forget(w)).on_failed(fail).build());
}

volume_step!(Remove: DeleteSnapshot, "remove", |w, p, _| {
    let Some(s) = w.volumes.snapshot_internal(&p.snapshot_id).await.map_err(core)? else {
        return Ok(Nothing {});
    };
    let (cloud, _) = w.volume_and_cloud(&s.volume_id).await?;
    cloud.block.delete_snapshot(&p.snapshot_id).await.map_err(driver)
});

volume_step!(Forget: DeleteSnapshot, "forget", |w, p, _| { w.volumes.forget_snapshot(&p.snapshot_id).await.map_err(core) });
