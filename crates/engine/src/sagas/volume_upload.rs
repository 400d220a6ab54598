//! Volume upload to an image: copy the volume's data off its cloud, convert it to the
//! image's format and fill the image, then the volume is available again. A cloud that keeps
//! images itself (AWS) makes its own image of the volume instead (a snapshot registered as an
//! AMI), which becomes the Glance image's location there. A failure removes the image (which
//! never got data), any copy the cloud made, and the scratch files.

use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_core::compute::Compute;
use hybridstack_core::images::Images;
use hybridstack_core::volume::ops::UploadImage;
use serde::{Deserialize, Serialize};

use super::volume_steps::{volume_step, FailVolume, Nothing, VolumeWork};
use super::{core, driver};
use crate::saga::{Act, Run, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let w = VolumeWork::of(c);
    let fail = FailVolume::volume(&w, Some("available"));
    let copy = Copy { volumes: w.clone(), images: c.images.clone() };
    let fill = Fill { volumes: w.clone(), images: c.images.clone() };
    engine.register(SagaOf::<UploadImage>::new().step(copy).step(fill).step(Finish(w)).on_failed(fail).build());
}

struct Copy {
    volumes: VolumeWork,
    images: Arc<Images>,
}

/// The cloud's own image of the volume, on clouds that keep images (absent elsewhere).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Copied {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cloud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
}

#[async_trait]
impl Act<UploadImage> for Copy {
    const NAME: &'static str = "copy";
    type Out = Copied;

    async fn run(&self, p: &UploadImage, _: &Run<'_>) -> Result<Copied, StepError> {
        let (cloud, v) = self.volumes.volume_and_cloud(&p.volume_id).await?;
        if !cloud.compute.capabilities().image_files {
            let image = self.images.image_internal(&p.image_id).await.map_err(core)?;
            let name = image.and_then(|i| i.name).unwrap_or_default();
            let reference = cloud.block.volume_to_cloud_image(&v.id, &p.image_id, &name).await.map_err(driver)?;
            self.images.record_cloud_copy(&p.image_id, &cloud.name, &reference).await.map_err(core)?;
            return Ok(Copied { cloud: Some(cloud.name.clone()), reference: Some(reference) });
        }
        let dest = self.volumes.volumes.upload_scratch(&p.image_id, "qcow2");
        cloud.block.volume_to_file(&v.id, &dest).await.map_err(driver)?;
        Ok(Copied::default())
    }

    /// The image never got data, so it goes with the copy.
    async fn undo(&self, p: &UploadImage, _: &Copied) -> Result<(), StepError> {
        // A cloud image made before the failure but never recorded (found by its tag).
        if let Ok((cloud, _)) = self.volumes.volume_and_cloud(&p.volume_id).await {
            if let Some(store) = &cloud.images {
                store.delete(&p.image_id, "").await.map_err(driver)?;
            }
        }
        for suffix in ["qcow2", "raw"] {
            let _ = tokio::fs::remove_file(self.volumes.volumes.upload_scratch(&p.image_id, suffix)).await;
        }
        self.volumes.volumes.drop_upload_image(&p.image_id).await.map_err(core)
    }

    fn leaves_work(&self, _: &Copied) -> bool {
        true
    }
}

struct Fill {
    volumes: VolumeWork,
    images: Arc<Images>,
}

#[async_trait]
impl Act<UploadImage> for Fill {
    const NAME: &'static str = "fill";
    type Out = Nothing;

    async fn run(&self, p: &UploadImage, run: &Run<'_>) -> Result<Nothing, StepError> {
        if let Some(Copied { cloud: Some(cloud), reference: Some(reference) }) = run.output::<UploadImage, Copy>() {
            self.images.activate_cloud_copy(&p.image_id, &cloud, &reference).await.map_err(core)?;
            return Ok(Nothing {});
        }
        let copied = self.volumes.volumes.upload_scratch(&p.image_id, "qcow2");
        self.volumes.volumes.fill_image(&p.image_id, &copied, &p.disk_format).await.map_err(core)?;
        let _ = tokio::fs::remove_file(&copied).await;
        Ok(Nothing {})
    }
}

volume_step!(Finish: UploadImage, "finish", |w, p, _| {
    w.volumes.modify_volume(&p.volume_id, |v| v.status = "available".into()).await.map(drop).map_err(core)
});
