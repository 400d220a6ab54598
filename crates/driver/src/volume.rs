//! `BlockStorage`: how a cloud keeps volumes (DESIGN.md, "Clouds, zones, mappings"): a
//! qcow2 volume in a libvirt storage pool (KVM), an EBS volume (AWS), a VMDK on a datastore
//! (vSphere). Snapshots are point-in-time copies a new volume can start from.
//!
//! As with the other traits, every call is idempotent and keyed by our id, so an engine
//! step repeated after a crash converges instead of making a second object; every delete
//! succeeds when the object is already gone.

use std::path::Path;

use async_trait::async_trait;

use crate::{DriverError, ImageFile};

/// What a new volume's first bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    Blank,
    Image(ImageFile),
    Snapshot(String),
    Volume(String),
    /// An image the cloud keeps itself (an AMI id on AWS): the volume starts as its root disk.
    CloudImage(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    pub id: String,
    pub size_gb: u64,
    pub source: VolumeSource,
}

/// A volume or snapshot that carries our id, as a reconciler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedVolume {
    /// `volume` or `snapshot`
    pub kind: &'static str,
    pub id: String,
}

/// What a cloud can do with volumes; the API refuses, with the reason, what it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VolumeCapabilities {
    /// Growing a volume while a running server has it attached.
    pub online_extend: bool,
    /// Snapshotting a volume while a running server has it attached.
    pub snapshot_in_use: bool,
}

#[async_trait]
pub trait BlockStorage: Send + Sync {
    fn volume_capabilities(&self) -> VolumeCapabilities;

    /// Creates the volume from its source, at least `size_gb` GiB.
    async fn ensure_volume(&self, v: &VolumeSpec) -> Result<(), DriverError>;
    async fn delete_volume(&self, id: &str) -> Result<(), DriverError>;
    /// Grows the volume to `size_gb` GiB (never shrinks); an attached one on a running
    /// server grows online where the cloud can, and the guest sees the new size.
    async fn extend_volume(&self, id: &str, size_gb: u64) -> Result<(), DriverError>;

    async fn ensure_snapshot(&self, snapshot_id: &str, volume_id: &str) -> Result<(), DriverError>;
    async fn delete_snapshot(&self, id: &str) -> Result<(), DriverError>;

    /// Attaches the volume to the server (hot-plugged when it runs); returns the device
    /// name the cloud gave it (`/dev/vdc`): the one asked for when it is free, else the next
    /// free one. Attaching one already attached returns its device.
    async fn attach_volume(
        &self,
        server_id: &str,
        volume_id: &str,
        device: Option<&str>,
    ) -> Result<String, DriverError>;
    /// The device names data volumes take on this cloud, in the order they are handed out
    /// (without `/dev/`), so the API can answer an attach with the name the cloud will use.
    fn data_devices(&self) -> Vec<String> {
        ('c'..='z').map(|c| format!("vd{c}")).collect()
    }

    /// Detaches it, waiting (bounded) until a running guest has let it go.
    async fn detach_volume(&self, server_id: &str, volume_id: &str) -> Result<(), DriverError>;

    /// Copies the volume's data to a local file (raw), for upload to the image service.
    async fn volume_to_file(&self, id: &str, dest: &Path) -> Result<(), DriverError>;

    /// Makes an image of the cloud's own from the volume (an AMI on AWS), for clouds that
    /// keep images themselves; returns its reference. Keyed by `image_id`, so a retry finds
    /// the first call's image.
    async fn volume_to_cloud_image(&self, volume_id: &str, image_id: &str, name: &str) -> Result<String, DriverError> {
        let _ = (image_id, name);
        Err(DriverError::NotSupported(format!("volume {volume_id}: this cloud keeps no images of its own")))
    }

    async fn list_owned_volumes(&self) -> Result<Vec<OwnedVolume>, DriverError>;
}
