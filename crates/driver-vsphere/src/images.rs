//! The cloud's datastore as a Glance store. An image is a flat VMDK (a descriptor and its
//! `-flat` extent, which is the raw disk) under `hybridstack/<installation>/images/<id>/`:
//! the layout a VM's disk can be copied from with CopyVirtualDisk_Task. `qemu-img` makes
//! the pair from the raw image the control plane hands over, and both files go up over the
//! datastore's `/folder` endpoint.

use std::path::PathBuf;

use async_trait::async_trait;
use hybridstack_driver::{DiskFormat, DriverError, ImageSource, ImageStoreQuery, StoredImage};
use hybridstack_driver_act::ImageStore;

use crate::datastore;
use crate::VsphereCloud;

impl VsphereCloud {
    fn image_dir(&self, image_id: &str) -> String {
        format!("[{}] hybridstack/{}/images/{image_id}", self.place.datastore_name, self.installation)
    }
}

#[async_trait]
impl ImageStoreQuery for VsphereCloud {
    fn id(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        "flat VMDKs on a vCenter cloud's datastore"
    }

    fn accepted_formats(&self) -> &[DiskFormat] {
        &[DiskFormat::Raw]
    }

    async fn local_path(&self, image_id: &str, reference: &str) -> Result<PathBuf, DriverError> {
        Err(DriverError::NotSupported(format!(
            "image {image_id}: {reference} lives on the vCenter's datastore; its data is not kept on this host"
        )))
    }
}

#[async_trait]
impl ImageStore for VsphereCloud {
    async fn put(&self, src: &ImageSource) -> Result<StoredImage, DriverError> {
        if src.format != DiskFormat::Raw {
            return Err(DriverError::Rejected(format!("image {}: the datastore store takes raw data", src.image_id)));
        }
        let work = tempfile::tempdir().map_err(|e| DriverError::Failed(format!("temporary directory: {e}")))?;
        let descriptor = work.path().join(format!("{}.vmdk", src.image_id));
        let out = tokio::process::Command::new("qemu-img")
            .args(["convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicFlat"])
            .arg(&src.path)
            .arg(&descriptor)
            .output()
            .await
            .map_err(|e| DriverError::Failed(format!("cannot run qemu-img: {e}")))?;
        if !out.status.success() {
            return Err(DriverError::Failed(format!(
                "qemu-img could not make a VMDK of image {}: {}",
                src.image_id,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let extent = work.path().join(format!("{}-flat.vmdk", src.image_id));
        let dir = self.image_dir(&src.image_id);
        datastore::make_directory(self, &dir).await?;
        // The extent first: a descriptor on the datastore means the image is whole.
        datastore::put_file(self, &format!("{dir}/{}-flat.vmdk", src.image_id), &extent).await?;
        let reference = format!("{dir}/{}.vmdk", src.image_id);
        datastore::put_file(self, &reference, &descriptor).await?;
        Ok(StoredImage { reference, format: DiskFormat::Raw })
    }

    async fn delete(&self, image_id: &str, reference: &str) -> Result<(), DriverError> {
        let dir = self.image_dir(image_id);
        if !reference.starts_with(&format!("{dir}/")) {
            return Err(DriverError::Rejected(format!("{reference} is not image {image_id}'s copy on this cloud")));
        }
        datastore::delete(self, &dir).await
    }
}
