//! Volume create: make it on its cloud from its source, then mark it available. A failure
//! removes what was made and leaves the volume in `error`, as Cinder does.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::volume_steps::volume_and_cloud;
use super::{core, driver, step, step_without_undo, text, Fut};
use crate::saga::Step;

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step(c, "realise", realise, unrealise), step_without_undo(c, "finish", finish)]
}

fn realise<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let (cloud, v) = volume_and_cloud(c, input).await?;
        let spec = c.volumes.volume_spec(&v).await.map_err(core)?;
        if let Err(e) = cloud.block.ensure_volume(&spec).await {
            // A copy cut part-way goes before the saga reports the failure.
            if let Err(again) = cloud.block.delete_volume(&v.id).await {
                tracing::warn!(volume = %v.id, "could not remove a part-made volume: {again}");
            }
            return Err(driver(e));
        }
        Ok(json!({}))
    })
}

fn unrealise<'a>(c: &'a Compute, input: &'a Value, _: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let (cloud, v) = volume_and_cloud(c, input).await?;
        cloud.block.delete_volume(&v.id).await.map_err(driver)
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = text(input, "volume_id")?;
        c.volumes
            .modify_volume(&id, |v| {
                v.status = "available".into();
                v.error = None;
            })
            .await
            .map_err(core)?;
        Ok(json!({}))
    })
}
