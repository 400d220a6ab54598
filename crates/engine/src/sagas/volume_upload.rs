//! Volume upload to an image: copy the volume's data off its cloud, convert it to the
//! image's format and fill the image, then the volume is available again. A cloud that keeps
//! images itself (AWS) makes its own image of the volume instead (a snapshot registered as an
//! AMI), which becomes the Glance image's location there. A failure removes the image (which
//! never got data), any copy the cloud made, and the scratch files.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::volume_steps::volume_and_cloud;
use super::{core, driver, step, step_without_undo, text, Fut};
use crate::saga::Step;

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step(c, "copy", copy, uncopy), step_without_undo(c, "fill", fill), step_without_undo(c, "finish", finish)]
}

fn copy<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let (cloud, v) = volume_and_cloud(c, input).await?;
        let image_id = text(input, "image_id")?;
        if !cloud.compute.capabilities().image_files {
            let name = c.images.image_internal(&image_id).await.map_err(core)?.and_then(|i| i.name).unwrap_or_default();
            let reference = cloud.block.volume_to_cloud_image(&v.id, &image_id, &name).await.map_err(driver)?;
            c.images.record_cloud_copy(&image_id, &cloud.name, &reference).await.map_err(core)?;
            return Ok(json!({"cloud": cloud.name, "reference": reference}));
        }
        let dest = c.volumes.upload_scratch(&image_id, "qcow2");
        cloud.block.volume_to_file(&v.id, &dest).await.map_err(driver)?;
        Ok(json!({}))
    })
}

/// The image never got data, so it goes with the copy.
fn uncopy<'a>(c: &'a Compute, input: &'a Value, _: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let image = text(input, "image_id")?;
        // A cloud image made before the failure but never recorded (found by its tag).
        if let Ok((cloud, _)) = volume_and_cloud(c, input).await {
            if let Some(store) = &cloud.images {
                store.delete(&image, "").await.map_err(driver)?;
            }
        }
        for suffix in ["qcow2", "raw"] {
            let _ = tokio::fs::remove_file(c.volumes.upload_scratch(&image, suffix)).await;
        }
        c.volumes.drop_upload_image(&image).await.map_err(core)
    })
}

fn fill<'a>(c: &'a Compute, input: &'a Value, done: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let image = text(input, "image_id")?;
        let made = done.iter().find(|(step, _)| step == "copy").map(|(_, out)| out);
        if let Some((Some(cloud), Some(reference))) = made.map(|o| (o["cloud"].as_str(), o["reference"].as_str())) {
            c.images.activate_cloud_copy(&image, cloud, reference).await.map_err(core)?;
            return Ok(json!({}));
        }
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
