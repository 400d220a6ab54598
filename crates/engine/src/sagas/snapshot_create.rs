//! Snapshot create: copy the volume on its cloud, then mark the snapshot available. A
//! failure removes a part-made copy and leaves the snapshot in `error`.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::volume_steps::volume_and_cloud;
use super::{core, driver, step, step_without_undo, text, Fut};
use crate::saga::Step;

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step(c, "copy", copy, uncopy), step_without_undo(c, "finish", finish)]
}

fn copy<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let (cloud, v) = volume_and_cloud(c, input).await?;
        let snap = text(input, "snapshot_id")?;
        if let Err(e) = cloud.block.ensure_snapshot(&snap, &v.id).await {
            if let Err(again) = cloud.block.delete_snapshot(&snap).await {
                tracing::warn!(snapshot = %snap, "could not remove a part-made snapshot: {again}");
            }
            return Err(driver(e));
        }
        Ok(json!({}))
    })
}

fn uncopy<'a>(c: &'a Compute, input: &'a Value, _: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let (cloud, _) = volume_and_cloud(c, input).await?;
        cloud.block.delete_snapshot(&text(input, "snapshot_id")?).await.map_err(driver)
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        c.volumes
            .modify_snapshot(&text(input, "snapshot_id")?, |s| {
                s.status = "available".into();
                s.error = None;
            })
            .await
            .map_err(core)?;
        Ok(json!({}))
    })
}
