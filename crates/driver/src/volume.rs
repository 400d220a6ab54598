//! `BlockStorage`: how a cloud keeps volumes (DESIGN.md, "Clouds, zones, mappings"): a
//! qcow2 volume in a libvirt storage pool (KVM), an EBS volume (AWS), a VMDK on a datastore
//! (vSphere). Snapshots are point-in-time copies a new volume can start from.
//!
//! As with the other traits, every call of the engine's `BlockStorage` is idempotent and keyed by our id, so an engine
//! step repeated after a crash converges instead of making a second object; every delete
//! succeeds when the object is already gone.

use crate::ImageFile;

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

/// What core may ask a cloud about its volumes at request time; nothing here changes the
/// cloud. The engine's `BlockStorage` (crate `hybridstack-driver-act`) adds the calls that do.
pub trait BlockQuery: Send + Sync {
    fn volume_capabilities(&self) -> VolumeCapabilities;

    /// The device names data volumes take on this cloud, in the order they are handed out
    /// (without `/dev/`), so the API can answer an attach with the name the cloud will use.
    fn data_devices(&self) -> Vec<String> {
        ('c'..='z').map(|c| format!("vd{c}")).collect()
    }
}
