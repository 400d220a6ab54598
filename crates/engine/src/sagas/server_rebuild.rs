//! Rebuild: the root disk is replaced by a fresh one from the (possibly new) image; the
//! server keeps its id, ports and addresses.

use std::sync::Arc;

use hybridstack_core::compute::ops::RebuildServer;
use hybridstack_core::compute::Compute;
use hybridstack_driver::PowerState;

use super::{core, driver, server_and_cloud, shared, FailServer};
use crate::saga::{step, SagaOf};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Arc<Compute>) {
    let saga = SagaOf::<RebuildServer>::new().step(Rebuild(c.clone())).step(Finish(c.clone()));
    engine.register(saga.on_failed(FailServer(c.clone())).build());
}

step!(Rebuild(Arc<Compute>): RebuildServer, "rebuild", |c, p, _| -> () {
    let (s, cloud) = server_and_cloud(c, &p.server_id).await?;
    shared::image_onto_cloud(c, &s).await?;
    // A stopped server stays stopped (Nova does the same since microversion-less Ocata).
    let spec = c.boot_spec(&s, &s.flavor, s.vm_state != "stopped").await.map_err(core)?;
    cloud.compute.rebuild(&spec).await.map_err(driver)
});

step!(Finish(Arc<Compute>): RebuildServer, "finish", |c, p, _| -> () {
    let (_, cloud) = server_and_cloud(c, &p.server_id).await?;
    let power = cloud.compute.power_state(&p.server_id).await.map_err(driver)?;
    c.succeed(&p.server_id, p.request_id.as_deref(), |s| {
        s.vm_state = if power == PowerState::Running { "active".into() } else { "stopped".into() };
        s.power_state = power as u8;
        s.fault = None;
    })
    .await
    .map_err(core)?;
    Ok(())
});
