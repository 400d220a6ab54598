//! createImage: the cloud copies the root disk, flattened, to a scratch file; the file
//! becomes the queued Glance image's data. A cloud that keeps images itself (AWS) makes its
//! own image instead (an AMI), which becomes the Glance image's location there. A failure
//! deletes the image with any copy made (Nova does the same) and leaves the server as it
//! was, with the reason in its action record.

use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::{cloud_of, core, driver, server_id, step, step_without_undo, text, Fut};
use crate::saga::{OnFailed, Step, StepError};

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![
        step(c, "snapshot", snapshot, unsnapshot),
        step(c, "upload", upload, unupload),
        step_without_undo(c, "finish", finish),
    ]
}

fn snapshot<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let image_id = text(input, "image_id")?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        c.transition(&id, |s| s.task_state = Some("image_uploading".into())).await.map_err(core)?;
        if !cloud.compute.capabilities().image_files {
            let name = c.images.image_internal(&image_id).await.map_err(core)?.and_then(|i| i.name).unwrap_or_default();
            let reference = cloud.compute.snapshot_to_cloud_image(&id, &image_id, &name).await.map_err(driver)?;
            // Recorded at once, so an undo (or the image's delete) finds the copy to remove.
            c.images.record_cloud_copy(&image_id, &cloud.name, &reference).await.map_err(core)?;
            return Ok(json!({"cloud": cloud.name, "reference": reference}));
        }
        cloud.compute.snapshot(&id, &c.images.scratch_path(&image_id)).await.map_err(driver)?;
        Ok(Value::Null)
    })
}

fn unsnapshot<'a>(c: &'a Compute, input: &'a Value, _: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let image_id = text(input, "image_id")?;
        match tokio::fs::remove_file(c.images.scratch_path(&image_id)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StepError::Transient(e.to_string())),
            _ => Ok(()),
        }
    })
}

fn upload<'a>(c: &'a Compute, input: &'a Value, done: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let image_id = text(input, "image_id")?;
        let made = done.iter().find(|(step, _)| step == "snapshot").map(|(_, out)| out);
        if let Some((Some(cloud), Some(reference))) = made.map(|o| (o["cloud"].as_str(), o["reference"].as_str())) {
            c.images.activate_cloud_copy(&image_id, cloud, reference).await.map_err(core)?;
            return Ok(Value::Null);
        }
        let scratch = c.images.scratch_path(&image_id);
        let present = tokio::fs::try_exists(&scratch).await.unwrap_or(false);
        let active = c.images.image_internal(&image_id).await.map_err(core)?.is_some_and(|i| i.status == "active");
        if !active {
            if !present {
                return Err(StepError::Failed("the snapshot data is missing".into()));
            }
            c.images.fill_from_file(&image_id, &scratch).await.map_err(core)?;
        }
        Ok(Value::Null)
    })
}

fn unupload<'a>(c: &'a Compute, input: &'a Value, _: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let image_id = text(input, "image_id")?;
        c.images.delete_internal(&image_id).await.map_err(core)
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        c.succeed(&id, super::request_id(input).as_deref(), |_| {}).await.map_err(core)?;
        Ok(Value::Null)
    })
}

/// The server was not harmed: it keeps its state; the image goes, the action says why.
pub(super) struct SnapshotFailed(pub Arc<Compute>);

#[async_trait]
impl OnFailed for SnapshotFailed {
    async fn failed(&self, input: &Value, error: &str) -> Result<(), StepError> {
        let id = server_id(input)?;
        let image_id = text(input, "image_id")?;
        // A cloud image made before the failure but never recorded goes too (found by its tag).
        if let Ok(s) = self.0.server_internal(&id).await {
            if let Some(store) = self.0.clouds.get(&s.cloud).and_then(|c| c.images.clone()) {
                store.delete(&image_id, "").await.map_err(driver)?;
            }
        }
        self.0.images.delete_internal(&image_id).await.map_err(core)?;
        let r = self
            .0
            .transition(&id, |s| {
                s.task_state = None;
                s.pending_action = None;
            })
            .await;
        if let Err(e) = r {
            if !matches!(e, hybridstack_core::CoreError::NotFound(_)) {
                return Err(core(e));
            }
        }
        if let Some(rid) = super::request_id(input) {
            self.0.finish_action(&id, &rid, Some(error)).await.map_err(core)?;
        }
        Ok(())
    }
}
