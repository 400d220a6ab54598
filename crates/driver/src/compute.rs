//! `Compute`: how a cloud runs servers (DESIGN.md, "Clouds, zones, mappings"). A server is a
//! libvirt domain with a qcow2 overlay on the image (KVM), a VM cloned from a template
//! (vSphere) or an EC2 instance (AWS).
//!
//! The engine's `Compute` (in `hybridstack-driver-act`) is called from saga steps, so every
//! call is idempotent and keyed by our
//! server id, which the backend object carries (libvirt domain UUID, EC2 tag, extraConfig):
//! `ensure_server` after a crash finds the domain the first call defined instead of defining
//! a second, and every `delete_*` succeeds when the object is already gone.

use std::path::PathBuf;

use async_trait::async_trait;

use crate::DriverError;

/// A file of the control plane's image store that a server boots from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    pub image_id: String,
    pub path: PathBuf,
    /// `raw` or `qcow2`
    pub format: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicSpec {
    pub port_id: String,
    pub network_id: String,
    pub mac_address: String,
    /// The port's fixed addresses with what their subnets tell a guest, for the config
    /// drive's network data (a cloud without DHCP has no other way to hand them over).
    pub addresses: Vec<NicAddress>,
}

/// A fixed address of a NIC, with its subnet's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NicAddress {
    pub address: String,
    /// The subnet's CIDR (its prefix length is the address's).
    pub cidr: String,
    pub gateway: Option<String>,
    pub dns_nameservers: Vec<String>,
    /// (destination CIDR, next hop)
    pub routes: Vec<(String, String)>,
    /// Whether the subnet has DHCP on (a cloud with DHCP serves the address that way).
    pub dhcp: bool,
}

/// What a server learns about itself at boot (Nova's config drive / metadata): its host name,
/// its key pair and metadata, and the user data it was given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestConfig {
    pub hostname: String,
    pub name: String,
    pub key_name: Option<String>,
    pub public_key: Option<String>,
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Base64, as the API received it.
    pub user_data: Option<String>,
    pub availability_zone: String,
    pub project_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSpec {
    pub id: String,
    pub name: String,
    /// The flavor's name (an AWS cloud takes one that names an instance type as that type).
    pub flavor_name: String,
    pub vcpus: u32,
    pub ram_mb: u64,
    /// The root disk's size; 0 means the image's own size.
    pub disk_gb: u64,
    /// The image the root disk is made from; `None` when the server boots from a volume.
    pub image: Option<ImageFile>,
    /// The image's own copy on this cloud, for clouds that boot only from their own images
    /// (an AMI id on AWS); `None` where the cloud takes `image`'s file.
    pub cloud_image: Option<String>,
    /// Boot from this block-storage volume of the cloud instead of a disk made from `image`
    /// (Nova's boot from volume). Deleting the server leaves the volume.
    pub root_volume: Option<String>,
    /// The volumes attached besides the root, each at its device: a domain defined again
    /// (resize, revert, rebuild) keeps them.
    pub volumes: Vec<VolumeAtDevice>,
    /// Direct kernel boot (Glance's `kernel_id`/`ramdisk_id` image properties).
    pub kernel: Option<ImageFile>,
    pub ramdisk: Option<ImageFile>,
    pub kernel_cmdline: Option<String>,
    pub nics: Vec<NicSpec>,
    pub guest: GuestConfig,
    /// Whether to start the server once it exists.
    pub start: bool,
    /// No earlier attempt of this step can have made the server (the operation's first run):
    /// a driver may skip looking for one before making it. `false` whenever in doubt.
    pub fresh: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeAtDevice {
    pub volume_id: String,
    /// `/dev/vdc`
    pub device: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    Start,
    /// Graceful shutdown, forced off if the guest does not stop in time.
    Stop,
    SoftReboot,
    HardReboot,
    Pause,
    Unpause,
    Suspend,
    Resume,
}

/// Nova's power states, as the API shows them in `OS-EXT-STS:power_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerState {
    NoState = 0,
    Running = 1,
    Paused = 3,
    Shutdown = 4,
    Crashed = 6,
    Suspended = 7,
}

/// A server the cloud holds that carries our id, as a reconciler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedServer {
    pub id: String,
    pub power: PowerState,
}

/// What a cloud can do; the API refuses with the reason what a cloud cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ComputeCapabilities {
    pub pause: bool,
    pub suspend: bool,
    pub resize: bool,
    pub snapshot: bool,
    pub console_output: bool,
    /// Boots from image files the control plane holds (libvirt); otherwise only from the
    /// cloud's own copies of images (AMIs).
    pub image_files: bool,
}

/// The cloud's size, for `os-hypervisors` and the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capacity {
    pub hypervisor_type: String,
    pub hypervisor_hostname: String,
    pub vcpus: u64,
    pub memory_mb: u64,
    pub local_gb: u64,
    pub free_disk_gb: u64,
}

/// What core may ask a cloud about its servers at request time; nothing here changes the
/// cloud. The engine's `Compute` (crate `hybridstack-driver-act`) adds the calls that do.
#[async_trait]
pub trait ComputeQuery: Send + Sync {
    fn capabilities(&self) -> ComputeCapabilities;

    async fn capacity(&self) -> Result<Capacity, DriverError>;

    /// The last `lines` lines the guest wrote to its serial console (all when `None`).
    async fn console_output(&self, id: &str, lines: Option<usize>) -> Result<String, DriverError>;

    /// What `cloud check` tells of the cloud's endpoint besides its capacity (a vCenter's
    /// version and clock skew), one fact per line.
    async fn describe(&self) -> Result<Vec<String>, DriverError> {
        Ok(Vec::new())
    }

    /// The machine sizes the cloud offers by name (EC2 instance types), for flavors that
    /// match them exactly.
    async fn offered_flavors(&self) -> Result<Vec<CloudFlavor>, DriverError> {
        Err(DriverError::NotSupported("this cloud sizes servers freely; it offers no named sizes".into()))
    }

    /// An image the cloud keeps itself (an AMI), for registering it as a Glance image.
    async fn cloud_image(&self, reference: &str) -> Result<CloudImage, DriverError> {
        Err(DriverError::NotSupported(format!("{reference}: this cloud keeps no images of its own")))
    }
}

/// A named machine size a cloud offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudFlavor {
    pub name: String,
    pub vcpus: u32,
    pub ram_mb: u64,
    /// Whether the cloud still offers it for new servers (EC2's current generation).
    pub current: bool,
}

/// An image held by a cloud itself, as its cloud describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudImage {
    pub reference: String,
    pub name: String,
    /// The root disk's size, GiB.
    pub min_disk_gb: u64,
    pub architecture: String,
}
