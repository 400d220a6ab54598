//! Power actions (start, stop, reboot, pause, unpause, suspend, resume): one call to the
//! cloud, then the state the action leads to, read back from the cloud.

use std::sync::Arc;

use hybridstack_core::compute::ops::PowerServer;
use hybridstack_core::compute::Compute;
use hybridstack_driver::{PowerAction, PowerState};

use super::{core, driver, server_and_cloud, FailServer};
use crate::saga::{step, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Arc<Compute>) {
    let saga = SagaOf::<PowerServer>::new().step(Power(c.clone())).step(Finish(c.clone()));
    engine.register(saga.on_failed(FailServer(c.clone())).build());
}

/// The driver's action and the vm state it leads to.
fn action(p: &PowerServer) -> Result<(PowerAction, &'static str), StepError> {
    Ok(match p.action.as_str() {
        "start" => (PowerAction::Start, "active"),
        "stop" => (PowerAction::Stop, "stopped"),
        "reboot" if p.hard => (PowerAction::HardReboot, "active"),
        "reboot" => (PowerAction::SoftReboot, "active"),
        "pause" => (PowerAction::Pause, "paused"),
        "unpause" => (PowerAction::Unpause, "active"),
        "suspend" => (PowerAction::Suspend, "suspended"),
        "resume" => (PowerAction::Resume, "active"),
        other => return Err(StepError::Failed(format!("unknown power action {other}"))),
    })
}

step!(Power(Arc<Compute>): PowerServer, "power", |c, p, _| -> () {
    let (act, _) = action(p)?;
    let (_, cloud) = server_and_cloud(c, &p.server_id).await?;
    cloud.compute.power(&p.server_id, act).await.map_err(driver)
});

step!(Finish(Arc<Compute>): PowerServer, "finish", |c, p, _| -> () {
    let (_, vm_state) = action(p)?;
    let (_, cloud) = server_and_cloud(c, &p.server_id).await?;
    let power = cloud.compute.power_state(&p.server_id).await.map_err(driver)?;
    let expected = match vm_state {
        "stopped" => PowerState::Shutdown,
        "paused" => PowerState::Paused,
        "suspended" => PowerState::Suspended,
        _ => PowerState::Running,
    };
    // A managed-save (suspend) leaves no running domain; libvirt reports it shut off.
    if power != expected && !(expected == PowerState::Suspended && power == PowerState::Shutdown) {
        return Err(StepError::Failed(format!("the guest is {power:?} after the action, expected {expected:?}")));
    }
    c.succeed(&p.server_id, p.request_id.as_deref(), |s| {
        s.vm_state = vm_state.into();
        s.power_state = expected as u8;
    })
    .await
    .map_err(core)?;
    Ok(())
});
