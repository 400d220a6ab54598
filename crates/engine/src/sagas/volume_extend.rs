//! Volume extend: grow it on its cloud (online when attached), then record the new size.
//! A failure leaves it in `error_extending`, as Cinder does.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::volume_steps::volume_and_cloud;
use super::{core, driver, step_without_undo, text, Fut};
use crate::saga::{Step, StepError};

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step_without_undo(c, "grow", grow), step_without_undo(c, "finish", finish)]
}

fn new_size(input: &Value) -> Result<u64, StepError> {
    input
        .get("new_size")
        .and_then(Value::as_u64)
        .ok_or_else(|| StepError::Failed("operation input has no new_size".into()))
}

fn grow<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let (cloud, v) = volume_and_cloud(c, input).await?;
        cloud.block.extend_volume(&v.id, new_size(input)?).await.map_err(driver)?;
        Ok(json!({}))
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let (size, back_to) = (new_size(input)?, text(input, "back_to")?);
        c.volumes
            .modify_volume(&text(input, "volume_id")?, |v| {
                v.size = size;
                v.status = back_to.clone();
            })
            .await
            .map_err(core)?;
        Ok(json!({}))
    })
}
