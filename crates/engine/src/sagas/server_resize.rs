//! Cold resize and its confirm and revert. Resize keeps the old disk and definition on the
//! cloud until the user confirms (dropping them) or reverts (putting them back); a failed
//! resize is reverted by its undo, so the server is never left half-resized.

use std::sync::Arc;

use hybridstack_core::compute::model::FlavorCopy;
use hybridstack_core::compute::Compute;
use hybridstack_driver::PowerState;
use serde_json::{json, Value};

use super::{cloud_of, core, driver, server_id, step, step_without_undo, text, Fut};
use crate::saga::{Step, StepError};

pub(super) fn resize(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step(c, "resize", do_resize, undo_resize), step_without_undo(c, "finish", finish_resize)]
}

pub(super) fn confirm(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step_without_undo(c, "confirm", do_confirm)]
}

pub(super) fn revert(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step_without_undo(c, "revert", do_revert)]
}

async fn new_flavor(c: &Compute, input: &Value) -> Result<FlavorCopy, StepError> {
    let fid = text(input, "flavor_id")?;
    let f = c
        .flavor_internal(&fid)
        .await
        .map_err(core)?
        .ok_or_else(|| StepError::Failed(format!("flavor {fid} was deleted during the resize")))?;
    Ok((&f).into())
}

fn do_resize<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        let flavor = new_flavor(c, input).await?;
        let running = s.vm_state == "active";
        c.transition(&id, |s| s.task_state = Some("resize_migrating".into())).await.map_err(core)?;
        let spec = c.boot_spec(&s, &flavor, running).await.map_err(core)?;
        cloud.compute.resize(&spec).await.map_err(driver)?;
        Ok(json!({"was_running": running}))
    })
}

fn undo_resize<'a>(c: &'a Compute, input: &'a Value, output: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        let running = output.get("was_running").and_then(Value::as_bool).unwrap_or(true);
        let spec = c.boot_spec(&s, &s.flavor, running).await.map_err(core)?;
        cloud.compute.revert_resize(&spec).await.map_err(driver)
    })
}

fn finish_resize<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let flavor = new_flavor(c, input).await?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        let power = cloud.compute.power_state(&id).await.map_err(driver)?;
        c.succeed(&id, super::request_id(input).as_deref(), |s| {
            if s.old_flavor.is_none() {
                s.old_flavor = Some(s.flavor.clone());
            }
            s.flavor = flavor.clone();
            s.vm_state = "resized".into();
            s.power_state = power as u8;
        })
        .await
        .map_err(core)?;
        Ok(Value::Null)
    })
}

fn do_confirm<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        cloud.compute.confirm_resize(&id).await.map_err(driver)?;
        let power = cloud.compute.power_state(&id).await.map_err(driver)?;
        c.succeed(&id, super::request_id(input).as_deref(), |s| {
            s.old_flavor = None;
            s.vm_state = if power == PowerState::Running { "active".into() } else { "stopped".into() };
            s.power_state = power as u8;
        })
        .await
        .map_err(core)?;
        Ok(Value::Null)
    })
}

fn do_revert<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        let old = s.old_flavor.clone().unwrap_or_else(|| s.flavor.clone());
        let running = s.power_state == PowerState::Running as u8;
        let spec = c.boot_spec(&s, &old, running).await.map_err(core)?;
        cloud.compute.revert_resize(&spec).await.map_err(driver)?;
        let power = cloud.compute.power_state(&id).await.map_err(driver)?;
        c.succeed(&id, super::request_id(input).as_deref(), |s| {
            if let Some(f) = s.old_flavor.take() {
                s.flavor = f;
            }
            s.vm_state = if power == PowerState::Running { "active".into() } else { "stopped".into() };
            s.power_state = power as u8;
        })
        .await
        .map_err(core)?;
        Ok(Value::Null)
    })
}
