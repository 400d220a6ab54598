//! Power actions (start, stop, reboot, pause, unpause, suspend, resume): one call to the
//! cloud, then the state the action leads to, read back from the cloud.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use hybridstack_driver::{PowerAction, PowerState};
use serde_json::Value;

use super::{cloud_of, core, driver, server_id, step_without_undo, text, Fut};
use crate::saga::{Step, StepError};

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step_without_undo(c, "power", power), step_without_undo(c, "finish", finish)]
}

fn action(input: &Value) -> Result<(PowerAction, &'static str), StepError> {
    let hard = input.get("hard").and_then(Value::as_bool).unwrap_or(false);
    Ok(match text(input, "action")?.as_str() {
        "start" => (PowerAction::Start, "active"),
        "stop" => (PowerAction::Stop, "stopped"),
        "reboot" if hard => (PowerAction::HardReboot, "active"),
        "reboot" => (PowerAction::SoftReboot, "active"),
        "pause" => (PowerAction::Pause, "paused"),
        "unpause" => (PowerAction::Unpause, "active"),
        "suspend" => (PowerAction::Suspend, "suspended"),
        "resume" => (PowerAction::Resume, "active"),
        other => return Err(StepError::Failed(format!("unknown power action {other}"))),
    })
}

fn power<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let (act, _) = action(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        cloud.compute.power(&id, act).await.map_err(driver)?;
        Ok(Value::Null)
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let (_, vm_state) = action(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        let power = cloud.compute.power_state(&id).await.map_err(driver)?;
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
        c.succeed(&id, super::request_id(input).as_deref(), |s| {
            s.vm_state = vm_state.into();
            s.power_state = expected as u8;
        })
        .await
        .map_err(core)?;
        Ok(Value::Null)
    })
}
