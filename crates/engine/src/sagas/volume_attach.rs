//! Volume attach (from Nova's os-volume_attachments): hot-plug it into the server on their
//! shared cloud, then record the device and mark it `in-use`. A failure unplugs what was
//! plugged and leaves the volume `available` and the guest as it was.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use hybridstack_core::volume::model::Volume;
use hybridstack_core::volume::ops::AttachVolume;
use serde::{Deserialize, Serialize};

use super::volume_steps::{volume_step, FailVolume, VolumeWork};
use super::{core, driver};
use crate::saga::{step, SagaOf};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Arc<Compute>) {
    let w = VolumeWork::of(c);
    let fail = FailVolume { servers: Some(c.clone()), ..FailVolume::volume(&w, Some("available")) };
    engine.register(SagaOf::<AttachVolume>::new().step(Plug(w.clone())).step(Finish(w)).on_failed(fail).build());
}

/// The device the cloud gave the volume.
#[derive(Debug, Serialize, Deserialize)]
struct Plugged {
    device: String,
}

step!(Plug(VolumeWork): AttachVolume, "plug", |c, p, _| -> Plugged {
    let (cloud, v) = c.volume_and_cloud(&p.volume_id).await?;
    let reserved = v.attachments.iter().find(|a| a.server_id == p.server_id).map(|a| a.device.clone());
    let device = cloud.block.attach_volume(&p.server_id, &v.id, reserved.as_deref()).await.map_err(driver)?;
    Ok(Plugged { device })
} undo |c, p, _| {
    let (cloud, v) = c.volume_and_cloud(&p.volume_id).await?;
    cloud.block.detach_volume(&p.server_id, &v.id).await.map_err(driver)
} leaves_work |_| true);

volume_step!(Finish: AttachVolume, "finish", |w, p, run| {
    let device = run.output::<AttachVolume, Plug>().map(|o| o.device).unwrap_or_default();
    let in_use = |v: &mut Volume| {
        v.status = "in-use".into();
        for a in v.attachments.iter_mut().filter(|a| a.server_id == p.server_id) {
            a.device = device.clone();
        }
    };
    w.volumes.modify_volume(&p.volume_id, in_use).await.map(drop).map_err(core)
});
