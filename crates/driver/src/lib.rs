//! The seam between the control plane and the clouds, read-only half: the specs a cloud is
//! asked to realise (and `config_drive`, the one rendering of a spec every backend hands its
//! guests), its capability flags, the error type, and the query traits core may
//! call at request time (`ComputeQuery`, `NetworkQuery`, `BlockQuery`, `ImageStoreQuery`,
//! `OwnershipQuery`). The calls that change a cloud extend these in `hybridstack-driver-act`,
//! which only the engine and the backends depend on. Each backend crate (`driver-libvirt`,
//! `driver-aws`, `driver-vsphere`, `driver-aci`) implements both halves; the control plane
//! only ever holds `dyn` trait objects. A method a cloud cannot honour returns
//! [`DriverError::NotSupported`], never a pretend success.

mod compute;
pub mod config_drive;
mod error;
mod image_store;
mod network;
mod ownership;
#[doc(hidden)]
pub mod test_wire;
mod volume;

pub use compute::{
    Capacity, CloudFlavor, CloudImage, ComputeCapabilities, ComputeQuery, GuestConfig, ImageFile, NicAddress, NicSpec,
    OwnedServer, PowerAction, PowerState, ServerSpec, VolumeAtDevice,
};
pub use error::DriverError;
pub use image_store::{DiskFormat, ImageSource, ImageStoreQuery, StoredImage};
pub use network::{
    FloatingIpSpec, NetworkCapabilities, NetworkQuery, NetworkSpec, Owned, PortSpec, RouterGateway, RouterInterface,
    RouterSpec, RuleSpec, SecurityGroupSpec, SubnetSpec,
};
pub use ownership::{Foreign, Maker, OwnershipQuery};
pub use volume::{BlockQuery, OwnedVolume, VolumeCapabilities, VolumeSource, VolumeSpec};
