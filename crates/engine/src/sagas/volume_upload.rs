//! Volume upload to an image: copy the volume's data off its cloud, convert it to the
//! image's format and fill the image, then the volume is available again. A failure removes
//! the image (which never got data) and the scratch files.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::volume_steps::volume_and_cloud;
use super::{core, driver, nothing, step, text, Fut};
use crate::saga::Step;

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step(c, "copy", copy, uncopy), step(c, "fill", fill, nothing), step(c, "finish", finish, nothing)]
}

fn copy<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let (cloud, v) = volume_and_cloud(c, input).await?;
        let dest = c.volumes.upload_scratch(&text(input, "image_id")?, "qcow2");
        cloud.block.volume_to_file(&v.id, &dest).await.map_err(driver)?;
        Ok(json!({}))
    })
}

/// The image never got data, so it goes with the copy.
fn uncopy<'a>(c: &'a Compute, input: &'a Value, _: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let image = text(input, "image_id")?;
        for suffix in ["qcow2", "raw"] {
            let _ = tokio::fs::remove_file(c.volumes.upload_scratch(&image, suffix)).await;
        }
        c.volumes.drop_upload_image(&image).await.map_err(core)
    })
}

fn fill<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let image = text(input, "image_id")?;
        let copied = c.volumes.upload_scratch(&image, "qcow2");
        c.volumes.fill_image(&image, &copied, &text(input, "disk_format")?).await.map_err(core)?;
        let _ = tokio::fs::remove_file(&copied).await;
        Ok(json!({}))
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        c.volumes.modify_volume(&text(input, "volume_id")?, |v| v.status = "available".into()).await.map_err(core)?;
        Ok(json!({}))
    })
}
