//! Volume attach (from Nova's os-volume_attachments): hot-plug it into the server on their
//! shared cloud, then record the device and mark it `in-use`. A failure unplugs what was
//! plugged and leaves the volume `available` and the guest as it was.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::volume_steps::volume_and_cloud;
use super::{core, driver, step, step_without_undo, text, Fut};
use crate::saga::Step;

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step(c, "plug", plug, unplug), step_without_undo(c, "finish", finish)]
}

fn plug<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let (cloud, v) = volume_and_cloud(c, input).await?;
        let server = text(input, "server_id")?;
        let reserved = v.attachments.iter().find(|a| a.server_id == server).map(|a| a.device.clone());
        let device = cloud.block.attach_volume(&server, &v.id, reserved.as_deref()).await.map_err(driver)?;
        Ok(json!({"device": device}))
    })
}

fn unplug<'a>(c: &'a Compute, input: &'a Value, _: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let (cloud, v) = volume_and_cloud(c, input).await?;
        cloud.block.detach_volume(&text(input, "server_id")?, &v.id).await.map_err(driver)
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, done: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let device = done
            .iter()
            .find(|(n, _)| n == "plug")
            .and_then(|(_, o)| o.get("device").and_then(Value::as_str))
            .unwrap_or_default()
            .to_string();
        let server = text(input, "server_id")?;
        c.volumes
            .modify_volume(&text(input, "volume_id")?, |v| {
                v.status = "in-use".into();
                for a in v.attachments.iter_mut().filter(|a| a.server_id == server) {
                    a.device = device.clone();
                }
            })
            .await
            .map_err(core)?;
        Ok(json!({}))
    })
}
