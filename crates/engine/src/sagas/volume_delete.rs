//! Volume delete: remove it from its cloud, then its record. A failure leaves it in
//! `error_deleting`, from which a delete may be asked again.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::volume_steps::volume_and_cloud;
use super::{core, driver, step_without_undo, text, Fut};
use crate::saga::Step;

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step_without_undo(c, "remove", remove), step_without_undo(c, "forget", forget)]
}

fn remove<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let (cloud, v) = volume_and_cloud(c, input).await?;
        cloud.block.delete_volume(&v.id).await.map_err(driver)?;
        Ok(json!({}))
    })
}

fn forget<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        c.volumes.forget_volume(&text(input, "volume_id")?).await.map_err(core)?;
        Ok(json!({}))
    })
}
