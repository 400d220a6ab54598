//! `Ownership`: which backend objects are this installation's. Every object a driver makes
//! carries the installation id beside the cloud's name (libvirt metadata or names, AWS tags,
//! vSphere extraConfig, ACI annotations), and every `list_owned` filters on both, so two
//! control planes sharing a backend never take each other's objects for orphans.
//!
//! What looks like hybridstack's but is not this cloud's of this installation is *foreign*:
//! another installation's, or one made before installation ids existed (legacy: the cloud's
//! name only). Foreign objects are only ever reported, except one case, the upgrade path: a
//! legacy object marked with this cloud's name whose id has a row in this installation's
//! store is adopted (marked as this installation's).

use async_trait::async_trait;

use crate::DriverError;

/// Who a foreign object says made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Maker {
    /// Another installation. Where an object's name carries only tags, `installation` is the
    /// start of its id (`0b7c5a3e1234…`) and `cloud` the tag of the cloud's name.
    Installation { installation: String, cloud: String },
    /// Made before installation ids existed; marked with a cloud's name (or its tag) only.
    Legacy { cloud: String },
    /// Named like our objects but carrying no mark at all.
    Unmarked,
}

impl std::fmt::Display for Maker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Maker::Installation { installation, cloud } => write!(f, "installation {installation}, cloud {cloud}"),
            Maker::Legacy { cloud } => write!(f, "no installation (legacy), cloud {cloud}"),
            Maker::Unmarked => write!(f, "no installation, no cloud"),
        }
    }
}

/// A backend object that looks like one of ours but is not this cloud's of this installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// `server`, `network`, `subnet`, `port`, `router`, `floatingip`, `security_group`,
    /// `volume`, `snapshot`, `image` or `pool`.
    pub kind: &'static str,
    /// The hybridstack resource id the object carries (empty when it carries none).
    pub id: String,
    /// The backend's own handle (a domain name, an EC2 id).
    pub reference: String,
    pub maker: Maker,
    /// A legacy object marked with this cloud's name: adopted when this installation's store
    /// has a row for `id`.
    pub adoptable: bool,
}

/// What core may ask about a backend's foreign objects (`cloud list --foreign`); nothing
/// here changes the backend. The engine's `Ownership` (crate `hybridstack-driver-act`) adopts.
#[async_trait]
pub trait OwnershipQuery: Send + Sync {
    /// Every foreign object on the backend (read only).
    async fn list_foreign(&self) -> Result<Vec<Foreign>, DriverError>;
}
