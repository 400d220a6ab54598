//! Cold resize and its confirm and revert. Resize keeps the old disk and definition on the
//! cloud until the user confirms (dropping them) or reverts (putting them back); a failed
//! resize is reverted by its undo, so the server is never left half-resized.

use std::sync::Arc;

use hybridstack_core::compute::model::FlavorCopy;
use hybridstack_core::compute::ops::{ConfirmResize, ResizeServer, RevertResize};
use hybridstack_core::compute::Compute;
use hybridstack_driver::PowerState;
use serde::{Deserialize, Serialize};

use super::{core, driver, server_and_cloud, FailServer};
use crate::saga::{step, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Arc<Compute>) {
    let resize = SagaOf::<ResizeServer>::new().step(Resize(c.clone())).step(FinishResize(c.clone()));
    engine.register(resize.on_failed(FailServer(c.clone())).build());
    engine.register(SagaOf::<ConfirmResize>::new().step(Confirm(c.clone())).on_failed(FailServer(c.clone())).build());
    engine.register(SagaOf::<RevertResize>::new().step(Revert(c.clone())).on_failed(FailServer(c.clone())).build());
}

async fn new_flavor(c: &Compute, p: &ResizeServer) -> Result<FlavorCopy, StepError> {
    let f = c
        .flavor_internal(&p.flavor_id)
        .await
        .map_err(core)?
        .ok_or_else(|| StepError::Failed(format!("flavor {} was deleted during the resize", p.flavor_id)))?;
    Ok((&f).into())
}

/// The vm state a server with c power state shows once the operation settles.
fn settled(power: PowerState) -> String {
    if power == PowerState::Running { "active" } else { "stopped" }.into()
}

#[derive(Debug, Serialize, Deserialize)]
struct Resized {
    was_running: bool,
}

step!(Resize(Arc<Compute>): ResizeServer, "resize", |c, p, _| -> Resized {
    let (s, cloud) = server_and_cloud(c, &p.server_id).await?;
    let flavor = new_flavor(c, p).await?;
    let running = s.vm_state == "active";
    c.transition(&p.server_id, |s| s.task_state = Some("resize_migrating".into())).await.map_err(core)?;
    let spec = c.boot_spec(&s, &flavor, running).await.map_err(core)?;
    cloud.compute.resize(&spec).await.map_err(driver)?;
    Ok(Resized { was_running: running })
} undo |c, p, out| {
    let (s, cloud) = server_and_cloud(c, &p.server_id).await?;
    let spec = c.boot_spec(&s, &s.flavor, out.was_running).await.map_err(core)?;
    cloud.compute.revert_resize(&spec).await.map_err(driver)
} leaves_work |_| true);

step!(FinishResize(Arc<Compute>): ResizeServer, "finish", |c, p, _| -> () {
    let flavor = new_flavor(c, p).await?;
    let (_, cloud) = server_and_cloud(c, &p.server_id).await?;
    let power = cloud.compute.power_state(&p.server_id).await.map_err(driver)?;
    c.succeed(&p.server_id, p.request_id.as_deref(), |s| {
        if s.old_flavor.is_none() {
            s.old_flavor = Some(s.flavor.clone());
        }
        s.flavor = flavor.clone();
        s.vm_state = "resized".into();
        s.power_state = power as u8;
    })
    .await
    .map_err(core)?;
    Ok(())
});

step!(Confirm(Arc<Compute>): ConfirmResize, "confirm", |c, p, _| -> () {
    let (_, cloud) = server_and_cloud(c, &p.server_id).await?;
    cloud.compute.confirm_resize(&p.server_id).await.map_err(driver)?;
    let power = cloud.compute.power_state(&p.server_id).await.map_err(driver)?;
    c.succeed(&p.server_id, p.request_id.as_deref(), |s| {
        s.old_flavor = None;
        s.vm_state = settled(power);
        s.power_state = power as u8;
    })
    .await
    .map_err(core)?;
    Ok(())
});

step!(Revert(Arc<Compute>): RevertResize, "revert", |c, p, _| -> () {
    let (s, cloud) = server_and_cloud(c, &p.server_id).await?;
    let old = s.old_flavor.clone().unwrap_or_else(|| s.flavor.clone());
    let running = s.power_state == PowerState::Running as u8;
    let spec = c.boot_spec(&s, &old, running).await.map_err(core)?;
    cloud.compute.revert_resize(&spec).await.map_err(driver)?;
    let power = cloud.compute.power_state(&p.server_id).await.map_err(driver)?;
    c.succeed(&p.server_id, p.request_id.as_deref(), |s| {
        if let Some(f) = s.old_flavor.take() {
            s.flavor = f;
        }
        s.vm_state = settled(power);
        s.power_state = power as u8;
    })
    .await
    .map_err(core)?;
    Ok(())
});
