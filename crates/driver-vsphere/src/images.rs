//! The cloud's datastore as a Glance store. An image is a flat VMDK (a descriptor and its
//! `-flat` extent, which is the raw disk) under `hybridstack/<installation>/images/<id>/`:
//! the layout a VM's disk can be copied from with CopyVirtualDisk_Task. `qemu-img` makes
//! the pair from the raw image the control plane hands over, and both files go up over the
//! datastore's `/folder` endpoint.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use hybridstack_driver::{DiskFormat, DriverError, ImageSource, ImageStoreQuery, StoredImage};
use hybridstack_driver_act::ImageStore;

use crate::datastore;
use crate::VsphereCloud;

/// A flat VMDK made from a local disk image, in a directory of its own.
pub(crate) struct FlatVmdk {
    pub descriptor: PathBuf,
    pub extent: PathBuf,
    _dir: tempfile::TempDir,
}

/// Converts a raw or qcow2 image into a flat VMDK named `name` with `qemu-img`.
pub(crate) async fn flat_vmdk(src: &Path, format: &str, name: &str) -> Result<FlatVmdk, DriverError> {
    if !matches!(format, "raw" | "qcow2") {
        return Err(DriverError::Rejected(format!("a {format} image cannot be written to a datastore")));
    }
    let dir = tempfile::tempdir().map_err(|e| DriverError::Failed(format!("temporary directory: {e}")))?;
    let descriptor = dir.path().join(format!("{name}.vmdk"));
    let out = tokio::process::Command::new("qemu-img")
        .args(["convert", "-q", "-f", format, "-O", "vmdk", "-o", "subformat=monolithicFlat"])
        .arg(src)
        .arg(&descriptor)
        .output()
        .await
        .map_err(|e| DriverError::Failed(format!("cannot run qemu-img: {e}")))?;
    if !out.status.success() {
        return Err(DriverError::Failed(format!(
            "qemu-img could not make a VMDK of {}: {}",
            src.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let extent = dir.path().join(format!("{name}-flat.vmdk"));
    Ok(FlatVmdk { descriptor, extent, _dir: dir })
}

impl VsphereCloud {
    pub(crate) fn image_dir(&self, image_id: &str) -> String {
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
        let made = flat_vmdk(&src.path, "raw", &src.image_id).await?;
        let dir = self.image_dir(&src.image_id);
        datastore::make_directory(self, &dir).await?;
        // The extent first: a descriptor on the datastore means the image is whole.
        datastore::put_file(self, &format!("{dir}/{}-flat.vmdk", src.image_id), &made.extent).await?;
        let reference = format!("{dir}/{}.vmdk", src.image_id);
        datastore::put_file(self, &reference, &made.descriptor).await?;
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
