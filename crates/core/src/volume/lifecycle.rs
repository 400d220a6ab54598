//! What the volume sagas' steps do, as domain functions over the store and the volume's
//! cloud (`engine::sagas::volume_*` say in which order they run and what undoes what).
//! Every function is idempotent: a step repeated after a crash converges.

use std::sync::Arc;

use hybridstack_driver::{ImageFile, VolumeSource, VolumeSpec};

use super::model::{Snapshot, Volume};
use super::{not_found, object, Versioned, Volumes, SNAPSHOT, VOLUME};
use crate::clouds::CloudHandle;
use crate::CoreError;

impl Volumes {
    pub async fn volume_internal(&self, id: &str) -> Result<Option<Volume>, CoreError> {
        Ok(self.load::<Volume>(VOLUME, id).await?.map(|v| v.doc))
    }

    pub async fn snapshot_internal(&self, id: &str) -> Result<Option<Snapshot>, CoreError> {
        Ok(self.load::<Snapshot>(SNAPSHOT, id).await?.map(|s| s.doc))
    }

    async fn cloud_of(&self, v: &Volume) -> Result<Arc<CloudHandle>, CoreError> {
        self.clouds.require(&v.availability_zone).await
    }

    /// Changes a volume under compare-and-swap, retrying when another writer got there first.
    pub async fn modify_volume(&self, id: &str, f: impl Fn(&mut Volume)) -> Result<Volume, CoreError> {
        for _ in 0..20 {
            let Versioned { mut doc, version } =
                self.load::<Volume>(VOLUME, id).await?.ok_or_else(|| not_found("Volume", id))?;
            f(&mut doc);
            doc.updated_at = crate::clock::now();
            match self.write(vec![object(VOLUME, id, &doc.project_id, "", &doc, Some(version))?], vec![]).await {
                Err(CoreError::Conflict(_)) => continue,
                other => return other.map(|()| doc),
            }
        }
        Err(CoreError::Internal(format!("volume {id} kept changing under us")))
    }

    pub async fn modify_snapshot(&self, id: &str, f: impl Fn(&mut Snapshot)) -> Result<Snapshot, CoreError> {
        for _ in 0..20 {
            let Versioned { mut doc, version } =
                self.load::<Snapshot>(SNAPSHOT, id).await?.ok_or_else(|| not_found("Snapshot", id))?;
            f(&mut doc);
            doc.updated_at = crate::clock::now();
            let row = object(SNAPSHOT, id, &doc.project_id, &doc.volume_id, &doc, Some(version))?;
            match self.write(vec![row], vec![]).await {
                Err(CoreError::Conflict(_)) => continue,
                other => return other.map(|()| doc),
            }
        }
        Err(CoreError::Internal(format!("snapshot {id} kept changing under us")))
    }

    /// The cloud a volume is on, and the volume; `None` when the volume is gone.
    pub async fn volume_cloud(&self, id: &str) -> Result<Option<(Arc<CloudHandle>, Volume)>, CoreError> {
        let Some(v) = self.volume_internal(id).await? else { return Ok(None) };
        Ok(Some((self.cloud_of(&v).await?, v)))
    }

    /// What its cloud needs to make the volume from its source.
    pub async fn volume_spec(&self, v: &Volume) -> Result<VolumeSpec, CoreError> {
        let source = if let Some(s) = &v.snapshot_id {
            VolumeSource::Snapshot(s.clone())
        } else if let Some(s) = &v.source_volid {
            VolumeSource::Volume(s.clone())
        } else if let Some(image_id) = &v.image_id {
            let image = self
                .images
                .image_internal(image_id)
                .await?
                .ok_or_else(|| CoreError::BadRequest(format!("Image {image_id} no longer exists.")))?;
            if let Some(reference) = crate::images::cloud_images::location_on(&image, &v.availability_zone) {
                return Ok(VolumeSpec {
                    id: v.id.clone(),
                    size_gb: v.size,
                    source: VolumeSource::CloudImage(reference),
                });
            }
            let path = self
                .images
                .local_file(image_id)
                .await
                .ok_or_else(|| CoreError::Conflict(format!("Image {image_id} has no data in the local store.")))?;
            VolumeSource::Image(ImageFile {
                image_id: image_id.clone(),
                path,
                format: image.disk_format.unwrap_or_else(|| "raw".into()),
                size: u64::try_from(image.size.unwrap_or(0)).unwrap_or(0),
            })
        } else {
            VolumeSource::Blank
        };
        Ok(VolumeSpec { id: v.id.clone(), size_gb: v.size, source })
    }

    /// The last step of a delete: the volume's record goes.
    pub async fn forget_volume(&self, id: &str) -> Result<(), CoreError> {
        self.remove(VOLUME, id).await
    }

    pub async fn forget_snapshot(&self, id: &str) -> Result<(), CoreError> {
        self.remove(SNAPSHOT, id).await
    }
}
