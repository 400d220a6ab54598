//! Copies of an image in the clouds' own stores (AMIs). Core decides and records; the engine
//! makes and removes them: `image.copy` (Glance's copy-image, a glance-direct import to
//! several stores, and a boot on a cloud that boots only its own images) and `image.purge`
//! (an image's delete). Both are queued operations, so a crash mid-copy resumes.
//!
//! Queued image operations wake no worker: an idle worker looks for work every second.

use hybridstack_driver::{DiskFormat, ImageSource, StoredImage};
use serde::{Deserialize, Serialize};

use super::{Image, ImageLocation, Images, LOCAL_STORE};
use crate::clock::now_micros;
use crate::operations::{operation_of, Params};
use crate::CoreError;

/// Copies an active image into each of `stores`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyParams {
    pub image_id: String,
    pub stores: Vec<String>,
}

impl Params for CopyParams {
    const KIND: &'static str = "image.copy";
    fn resource_id(&self) -> &str {
        &self.image_id
    }
}

/// Removes the copies of a deleted image from the clouds' stores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurgeParams {
    pub image_id: String,
    pub copies: Vec<Copy>,
}

impl Params for PurgeParams {
    const KIND: &'static str = "image.purge";
    fn resource_id(&self) -> &str {
        &self.image_id
    }
}

/// One copy of an image in a store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Copy {
    pub store: String,
    pub reference: String,
}

/// The data to copy into a store, in a format it takes; a converted temporary file is
/// removed when this is dropped.
pub struct CopySource {
    pub source: ImageSource,
    _converted: Option<TempFile>,
}

struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Images {
    pub(crate) async fn queue<P: Params>(&self, p: P) -> Result<(), CoreError> {
        self.store.op_create(&operation_of(&p)?).await?;
        self.clouds.doorbell().notify_one();
        Ok(())
    }

    /// Queues copies of an active image into `stores` (the local one is skipped).
    pub(crate) async fn queue_copy(&self, image_id: &str, stores: Vec<String>) -> Result<(), CoreError> {
        let stores: Vec<String> = stores.into_iter().filter(|s| s != LOCAL_STORE).collect();
        if stores.is_empty() {
            return Ok(());
        }
        self.queue(CopyParams { image_id: image_id.into(), stores }).await
    }

    /// What the engine copies into `store_id` for `image`, converted to a format that store
    /// takes; `None` when the store holds a copy already.
    pub async fn copy_source(&self, image: &Image, store_id: &str) -> Result<Option<CopySource>, CoreError> {
        let target = self
            .find_store_fresh(store_id)
            .await?
            .ok_or_else(|| CoreError::BadRequest(format!("Unknown store {store_id:?}.")))?;
        if self.store.image_locations::<ImageLocation>(&image.id).await?.iter().any(|l| l.store == store_id) {
            return Ok(None);
        }
        let from = image
            .disk_format
            .as_deref()
            .and_then(DiskFormat::parse)
            .or_else(|| {
                matches!(image.disk_format.as_deref(), Some("ami" | "ari" | "aki" | "iso")).then_some(DiskFormat::Raw)
            })
            .ok_or_else(|| {
                CoreError::BadRequest(format!("Images in {:?} cannot be copied between stores.", image.disk_format))
            })?;
        let src = self
            .local
            .local_path_of(&image.id)
            .await
            .ok_or_else(|| CoreError::Conflict(format!("Image {} has no local data to copy from.", image.id)))?;
        let accepted = target.accepted_formats();
        let (path, format, converted) = if accepted.contains(&from) {
            (src, from, None)
        } else {
            let to =
                *accepted.first().ok_or_else(|| CoreError::Internal(format!("store {store_id} accepts no format")))?;
            let tmp = self.local.staging_path(&image.id);
            super::convert::convert(&src, from, &tmp, to).await?;
            (tmp.clone(), to, Some(TempFile(tmp)))
        };
        let size = tokio::fs::metadata(&path).await.map_err(|e| CoreError::Internal(e.to_string()))?.len();
        Ok(Some(CopySource {
            source: ImageSource { image_id: image.id.clone(), path, format, size },
            _converted: converted,
        }))
    }

    /// Records the copy the engine made in `store_id`; a cloud's copy is also what a server
    /// there boots from.
    pub async fn record_copy(&self, image_id: &str, store_id: &str, stored: &StoredImage) -> Result<(), CoreError> {
        self.store
            .image_location_put(&ImageLocation {
                image_id: image_id.into(),
                store: store_id.into(),
                reference: stored.reference.clone(),
                disk_format: stored.format.as_str().into(),
                status: "active".into(),
                created_at: now_micros(),
            })
            .await?;
        if store_id != LOCAL_STORE {
            self.record_cloud_copy(image_id, store_id, &stored.reference).await?;
        }
        Ok(())
    }
}
