//! Volume detach: unplug it from the server (waiting, bounded, for the guest to let go),
//! then mark it `available`. A failure leaves it `in-use`, still attached.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::volume_steps::volume_and_cloud;
use super::{core, driver, step_without_undo, text, Fut};
use crate::saga::Step;

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step_without_undo(c, "unplug", unplug), step_without_undo(c, "finish", finish)]
}

fn unplug<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let (cloud, v) = volume_and_cloud(c, input).await?;
        cloud.block.detach_volume(&text(input, "server_id")?, &v.id).await.map_err(driver)?;
        Ok(json!({}))
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let server = text(input, "server_id")?;
        c.volumes
            .modify_volume(&text(input, "volume_id")?, |v| {
                v.attachments.retain(|a| a.server_id != server);
                v.status = if v.attachments.is_empty() { "available" } else { "in-use" }.into();
            })
            .await
            .map_err(core)?;
        c.forget_volume_of_server(&server, &text(input, "volume_id")?).await.map_err(core)?;
        Ok(json!({}))
    })
}
