//! Snapshot create: copy the volume on its cloud, then mark the snapshot available. A
//! failure removes a part-made copy and leaves the snapshot in `error`.

use hybridstack_core::compute::Compute;
use hybridstack_core::volume::model::Snapshot;
use hybridstack_core::volume::ops::CreateSnapshot;

use super::volume_steps::{volume_step, FailVolume, Nothing, VolumeWork};
use super::{core, driver};
use crate::saga::{step, SagaOf};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let w = VolumeWork::of(c);
    let fail = FailVolume::snapshot(&w, "error");
    engine.register(SagaOf::<CreateSnapshot>::new().step(Copy(w.clone())).step(Finish(w)).on_failed(fail).build());
}

step!(Copy(VolumeWork): CreateSnapshot, "copy", |c, p, _| -> Nothing {
    let (cloud, v) = c.volume_and_cloud(&p.volume_id).await?;
    if let Err(e) = cloud.block.ensure_snapshot(&p.snapshot_id, &v.id).await {
        if let Err(again) = cloud.block.delete_snapshot(&p.snapshot_id).await {
            tracing::warn!(snapshot = %p.snapshot_id, "could not remove a part-made snapshot: {again}");
        }
        return Err(driver(e));
    }
    Ok(Nothing {})
} undo |c, p, _| {
    let (cloud, _) = c.volume_and_cloud(&p.volume_id).await?;
    cloud.block.delete_snapshot(&p.snapshot_id).await.map_err(driver)
} leaves_work |_| true);

volume_step!(Finish: CreateSnapshot, "finish", |w, p, _| {
    let available = |s: &mut Snapshot| {
        s.status = "available".into();
        s.error = None;
    };
    w.volumes.modify_snapshot(&p.snapshot_id, available).await.map(drop).map_err(core)
});
