//! `ImageStore`: a place an image's bytes can live (the local file store, an AMI, a vCenter
//! template, a libvirt volume). Glance's multi-store import (`copy-image`) and booting on a
//! cloud both go through it.

use std::path::PathBuf;

use async_trait::async_trait;

use crate::DriverError;

/// Disk formats a store may hold; the control plane converts with `qemu-img` when a store
/// wants another format than the image's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiskFormat {
    Raw,
    Qcow2,
    Vmdk,
}

impl DiskFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Vmdk => "vmdk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "raw" => Some(DiskFormat::Raw),
            "qcow2" => Some(DiskFormat::Qcow2),
            "vmdk" => Some(DiskFormat::Vmdk),
            _ => None,
        }
    }
}

/// Image data on this host, already in a format the store accepts.
#[derive(Debug, Clone)]
pub struct ImageSource {
    pub image_id: String,
    pub path: PathBuf,
    pub format: DiskFormat,
    pub size: u64,
}

/// Where a store put an image: its own reference and the format it holds it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub reference: String,
    pub format: DiskFormat,
}

/// What core may ask a store: its name, what it takes, what it holds. Nothing here changes
/// it; the engine's `ImageStore` (crate `hybridstack-driver-act`) copies in and removes.
#[async_trait]
pub trait ImageStoreQuery: Send + Sync {
    /// The store's id as `/v2/info/stores` lists it (`local`, or a cloud's name).
    fn id(&self) -> &str;

    fn description(&self) -> &str;

    /// Formats this store holds, preferred first.
    fn accepted_formats(&self) -> &[DiskFormat];

    /// A local file holding the data, for stores that can hand it back (download, convert).
    async fn local_path(&self, image_id: &str, reference: &str) -> Result<PathBuf, DriverError>;

    /// Checks that `reference` names an image this store holds and can boot (an AMI given
    /// as an image's location property).
    async fn check_reference(&self, reference: &str) -> Result<(), DriverError> {
        Err(DriverError::NotSupported(format!("{reference}: this store takes no references to images of its own")))
    }
}
