//! createImage: the cloud copies the root disk, flattened, to a scratch file; the file
//! becomes the queued Glance image's data. A cloud that keeps images itself (AWS) makes its
//! own image instead (an AMI), which becomes the Glance image's location there. A failure
//! deletes the image with any copy made (Nova does the same) and leaves the server as it
//! was, with the reason in its action record.

use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_core::compute::ops::SnapshotServer;
use hybridstack_core::compute::Compute;
use serde::{Deserialize, Serialize};

use super::{cloud_of, core, driver};
use crate::saga::{step, Failed, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Arc<Compute>) {
    let saga =
        SagaOf::<SnapshotServer>::new().step(Snapshot(c.clone())).step(Upload(c.clone())).step(Finish(c.clone()));
    engine.register(saga.on_failed(SnapshotFailed(c.clone())).build());
}

/// The image the cloud made of the server, on clouds that keep images (none elsewhere).
#[derive(Debug, Serialize, Deserialize)]
struct CloudCopy {
    cloud: String,
    reference: String,
}

step!(Snapshot(Arc<Compute>): SnapshotServer, "snapshot", |c, p, _| -> Option<CloudCopy> {
    let (id, image_id) = (&p.server_id, &p.image_id);
    let s = c.server_internal(id).await.map_err(core)?;
    let cloud = cloud_of(&c.clouds, &s.cloud).await?;
    c.transition(id, |s| s.task_state = Some("image_uploading".into())).await.map_err(core)?;
    if !cloud.compute.capabilities().image_files {
        let name = c.images.image_internal(image_id).await.map_err(core)?.and_then(|i| i.name).unwrap_or_default();
        let reference = cloud.compute.snapshot_to_cloud_image(id, image_id, &name).await.map_err(driver)?;
        // Recorded at once, so an undo (or the image's delete) finds the copy to remove.
        c.images.record_cloud_copy(image_id, &cloud.name, &reference).await.map_err(core)?;
        return Ok(Some(CloudCopy { cloud: cloud.name.clone(), reference }));
    }
    cloud.compute.snapshot(id, &c.images.scratch_path(image_id)).await.map_err(driver)?;
    Ok(None)
} undo |c, p, _| {
    match tokio::fs::remove_file(c.images.scratch_path(&p.image_id)).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StepError::Transient(e.to_string())),
        _ => Ok(()),
    }
} leaves_work |_| true);

step!(Upload(Arc<Compute>): SnapshotServer, "upload", |c, p, run| -> () {
    let images = &c.images;
    if let Some(Some(made)) = run.output::<SnapshotServer, Snapshot>() {
        return images.activate_cloud_copy(&p.image_id, &made.cloud, &made.reference).await.map_err(core);
    }
    let scratch = images.scratch_path(&p.image_id);
    let present = tokio::fs::try_exists(&scratch).await.unwrap_or(false);
    let active = images.image_internal(&p.image_id).await.map_err(core)?.is_some_and(|i| i.status == "active");
    if !active {
        if !present {
            return Err(StepError::Failed("the snapshot data is missing".into()));
        }
        images.fill_from_file(&p.image_id, &scratch).await.map_err(core)?;
    }
    Ok(())
} undo |c, p, _| {
    c.images.delete_internal(&p.image_id).await.map_err(core)
} leaves_work |_| true);

step!(Finish(Arc<Compute>): SnapshotServer, "finish", |c, p, _| -> () {
    c.succeed(&p.server_id, p.request_id.as_deref(), |_| {}).await.map_err(core)?;
    Ok(())
});

/// The server was not harmed: it keeps its state; the image goes, the action says why.
struct SnapshotFailed(Arc<Compute>);

#[async_trait]
impl Failed<SnapshotServer> for SnapshotFailed {
    async fn failed(&self, p: &SnapshotServer, error: &str) -> Result<(), StepError> {
        let c = &self.0;
        // A cloud image made before the failure but never recorded goes too (found by its tag).
        if let Ok(s) = c.server_internal(&p.server_id).await {
            if !s.cloud.is_empty() {
                if let Some(store) = &cloud_of(&c.clouds, &s.cloud).await?.images {
                    store.delete(&p.image_id, "").await.map_err(driver)?;
                }
            }
        }
        c.images.delete_internal(&p.image_id).await.map_err(core)?;
        let r = c
            .transition(&p.server_id, |s| {
                s.task_state = None;
                s.pending_action = None;
            })
            .await;
        if let Err(e) = r {
            if !matches!(e, hybridstack_core::CoreError::NotFound(_)) {
                return Err(core(e));
            }
        }
        if let Some(rid) = &p.request_id {
            c.finish_action(&p.server_id, rid, Some(error)).await.map_err(core)?;
        }
        Ok(())
    }
}
