//! Snapshot delete: remove the copy from the volume's cloud, then the record. A failure
//! leaves the snapshot in `error_deleting`.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::{core, driver, step_without_undo, text, Fut};
use crate::saga::{Step, StepError};

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step_without_undo(c, "remove", remove), step_without_undo(c, "forget", forget)]
}

fn remove<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = text(input, "snapshot_id")?;
        let Some(s) = c.volumes.snapshot_internal(&id).await.map_err(core)? else { return Ok(json!({})) };
        let found = c.volumes.volume_cloud(&s.volume_id).await.map_err(core)?;
        let (cloud, _) = found.ok_or_else(|| StepError::Failed(format!("volume {} no longer exists", s.volume_id)))?;
        cloud.block.delete_snapshot(&id).await.map_err(driver)?;
        Ok(json!({}))
    })
}

fn forget<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        c.volumes.forget_snapshot(&text(input, "snapshot_id")?).await.map_err(core)?;
        Ok(json!({}))
    })
}
