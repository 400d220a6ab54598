//! The calls that change a cloud. Each backend implements these beside the read-only
//! queries of `hybridstack-driver` (each trait here extends its query trait). Only the engine
//! (saga steps and the reconciler) and the backends depend on this crate; `core` does not, so
//! "core decides, the engine acts" holds by construction: core cannot name these traits, nor
//! open the [`Actors`] a cloud's handle carries for the engine.
//!
//! Every call is idempotent and keyed by our resource id, which the backend object carries
//! (libvirt domain UUID, EC2 tag, extraConfig): a step repeated after a crash finds what the
//! first call made instead of making a second one, and every delete succeeds when the object
//! is already gone.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_driver::{
    BlockQuery, ComputeQuery, DriverError, FloatingIpSpec, Foreign, ImageSource, ImageStoreQuery, NetworkQuery,
    NetworkSpec, Owned, OwnedServer, OwnedVolume, OwnershipQuery, PortSpec, PowerAction, PowerState, RouterSpec,
    SecurityGroupSpec, ServerSpec, StoredImage, VolumeSpec,
};

/// A cloud's acting handles, by concern: what the engine changes the cloud through. The
/// binary's driver factory seals one into each cloud handle it opens for core.
pub struct Actors {
    pub name: String,
    pub compute: Arc<dyn Compute>,
    pub network: Arc<dyn Network>,
    pub block: Arc<dyn BlockStorage>,
    /// For clouds that boot only from images they keep (AMIs).
    pub images: Option<Arc<dyn ImageStore>>,
    pub ownership: Arc<dyn Ownership>,
}

/// How a cloud runs servers: a libvirt domain with a qcow2 overlay on the image (KVM), a VM
/// cloned from a template (vSphere) or an EC2 instance (AWS).
#[async_trait]
pub trait Compute: ComputeQuery {
    /// Creates the server if absent (its disks, its definition) and starts it when asked.
    async fn ensure_server(&self, s: &ServerSpec) -> Result<(), DriverError>;

    /// Removes the server and every disk it owns; succeeds when it is already gone.
    async fn delete_server(&self, id: &str) -> Result<(), DriverError>;

    async fn power(&self, id: &str, action: PowerAction) -> Result<(), DriverError>;

    async fn power_state(&self, id: &str) -> Result<PowerState, DriverError>;

    /// Replaces the server's root disk with a fresh one from `s.image` (rebuild).
    async fn rebuild(&self, s: &ServerSpec) -> Result<(), DriverError>;

    /// Cold resize: stops the server, keeps a copy of its disk and definition for a revert,
    /// applies the new size and starts it again.
    async fn resize(&self, s: &ServerSpec) -> Result<(), DriverError>;

    /// Drops what `resize` kept for a revert.
    async fn confirm_resize(&self, id: &str) -> Result<(), DriverError>;

    /// Puts back the disk and size `resize` kept (`s` carries the old flavor).
    async fn revert_resize(&self, s: &ServerSpec) -> Result<(), DriverError>;

    /// Copies the root disk, flattened, to `dest` as qcow2.
    async fn snapshot(&self, id: &str, dest: &Path) -> Result<(), DriverError>;

    /// Snapshots the server into an image the cloud keeps itself (CreateImage on AWS), for
    /// clouds without `image_files`; returns its reference. Keyed by `image_id`, so a retry
    /// finds the first call's image.
    async fn snapshot_to_cloud_image(&self, id: &str, image_id: &str, name: &str) -> Result<String, DriverError> {
        let _ = (image_id, name);
        Err(DriverError::NotSupported(format!("server {id}: this cloud keeps no images of its own")))
    }

    /// Every server the cloud holds that carries our id.
    async fn list_owned(&self) -> Result<Vec<OwnedServer>, DriverError>;
}

/// How a cloud realises Neutron objects (see `hybridstack_driver::NetworkSpec`).
#[async_trait]
pub trait Network: NetworkQuery {
    /// Creates or converges the network and its subnets; returns the backend's handle.
    async fn ensure_network(&self, n: &NetworkSpec) -> Result<String, DriverError>;
    async fn delete_network(&self, id: &str) -> Result<(), DriverError>;

    /// Makes the port usable where it is bound: its DHCP entry, its address filter and its
    /// security groups.
    async fn ensure_port(&self, p: &PortSpec) -> Result<String, DriverError>;
    /// Brings a port the cloud already holds up to date (its groups' rules changed); does
    /// nothing for a port it does not hold, so it never brings back one being deleted.
    async fn refresh_port(&self, p: &PortSpec) -> Result<(), DriverError>;
    async fn delete_port(&self, id: &str) -> Result<(), DriverError>;

    async fn ensure_security_group(&self, g: &SecurityGroupSpec) -> Result<String, DriverError>;
    async fn delete_security_group(&self, id: &str) -> Result<(), DriverError>;

    async fn ensure_router(&self, r: &RouterSpec) -> Result<String, DriverError>;
    async fn delete_router(&self, id: &str) -> Result<(), DriverError>;

    async fn ensure_floating_ip(&self, f: &FloatingIpSpec) -> Result<String, DriverError>;
    async fn delete_floating_ip(&self, id: &str) -> Result<(), DriverError>;

    /// Every object in the cloud that carries our tag (for drift and orphan reconciliation).
    async fn list_owned(&self) -> Result<Vec<Owned>, DriverError>;
}

/// How a cloud keeps volumes and their snapshots.
#[async_trait]
pub trait BlockStorage: BlockQuery {
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

/// A store an image's bytes can be copied into (an AMI, a vCenter template).
#[async_trait]
pub trait ImageStore: ImageStoreQuery {
    /// Copies the image in. Idempotent: a copy already made for `image_id` (found by our tag)
    /// is returned rather than duplicated, so a retried step does not leak a second copy.
    async fn put(&self, src: &ImageSource) -> Result<StoredImage, DriverError>;

    /// Removes the copy; removing what is already gone succeeds.
    async fn delete(&self, image_id: &str, reference: &str) -> Result<(), DriverError>;
}

/// The upgrade path of installation ids: adopting this cloud's objects from before them.
#[async_trait]
pub trait Ownership: OwnershipQuery {
    /// Marks an adoptable object as this installation's, so `list_owned` sees it from now on.
    /// Refuses anything not adoptable.
    async fn adopt(&self, o: &Foreign) -> Result<(), DriverError>;
}
