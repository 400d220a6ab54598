//! The seam between the control plane and the clouds. Each backend crate (`driver-libvirt`,
//! `driver-aws`, `driver-vsphere`, `driver-aci`) implements these traits; `core` and `engine`
//! only ever hold `dyn` trait objects. A method a cloud cannot honour returns
//! [`DriverError::NotSupported`], never a pretend success.

mod compute;
mod error;
mod image_store;
mod network;
mod ownership;
mod volume;

pub use compute::{
    Capacity, CloudFlavor, CloudImage, Compute, ComputeCapabilities, GuestConfig, ImageFile, NicSpec, OwnedServer,
    PowerAction, PowerState, ServerSpec, VolumeAtDevice,
};
pub use error::DriverError;
pub use image_store::{DiskFormat, ImageSource, ImageStore, StoredImage};
pub use network::{
    FloatingIpSpec, Network, NetworkCapabilities, NetworkSpec, Owned, PortSpec, RouterGateway, RouterInterface,
    RouterSpec, RuleSpec, SecurityGroupSpec, SubnetSpec,
};
pub use ownership::{Foreign, Maker, Ownership};
pub use volume::{BlockStorage, OwnedVolume, VolumeCapabilities, VolumeSource, VolumeSpec};
