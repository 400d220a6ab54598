//! Rebuild: the root disk is replaced by a fresh one from the (possibly new) image; the
//! server keeps its id, ports and addresses.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use hybridstack_driver::PowerState;
use serde_json::Value;

use super::{cloud_of, core, driver, server_id, step_without_undo, Fut};
use crate::saga::Step;

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step_without_undo(c, "rebuild", rebuild), step_without_undo(c, "finish", finish)]
}

fn rebuild<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        // A stopped server stays stopped (Nova does the same since microversion-less Ocata).
        let spec = c.boot_spec(&s, &s.flavor, s.vm_state != "stopped").await.map_err(core)?;
        cloud.compute.rebuild(&spec).await.map_err(driver)?;
        Ok(Value::Null)
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        let power = cloud.compute.power_state(&id).await.map_err(driver)?;
        c.succeed(&id, super::request_id(input).as_deref(), |s| {
            s.vm_state = if power == PowerState::Running { "active".into() } else { "stopped".into() };
            s.power_state = power as u8;
            s.fault = None;
        })
        .await
        .map_err(core)?;
        Ok(Value::Null)
    })
}
