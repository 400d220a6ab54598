//! The VMware vCenter backend (DESIGN.md, "Clouds, zones, mappings"): one cluster of a
//! vCenter datacenter, with one datastore, is a cloud. It speaks vim25 over SOAP (`soap.rs`,
//! with why it is written here), reads the inventory through the PropertyCollector
//! (`collector.rs`), waits on tasks through WaitForUpdatesEx (`tasks.rs`), and finds its
//! place in the inventory by path when it opens (`inventory.rs`).
//!
//! A server is a VM whose `config.instanceUuid` is our server id and whose extraConfig
//! carries `hybridstack.id`, `hybridstack.cloud` and `hybridstack.installation`
//! (`servers.rs`): it is always found by that id, never by a remembered moref, so a retried
//! step finds what the first attempt made and the reconcilers tell ours from the rest of
//! the vCenter.
//!
//! A network is a distributed port group with a VLAN of the cloud's range, and a port a NIC
//! on it (`networks.rs`); the config drive (with the addresses: vCenter has no DHCP) is an
//! ISO on a CD-ROM; the datastore is an image store (`images.rs`, `datastore.rs`).
//!
//! Not built yet (each returns "not supported by this cloud" rather than pretend): VMDK
//! routers and floating IPs. Resize with confirm and revert is `resize.rs`, rebuild
//! `rebuild.rs`; volumes are VMDKs on the datastore (`volumes.rs`); images made from a
//! server or a volume are copies into the datastore's image store (`snapshots.rs`).

mod acting;
mod collector;
mod config;
mod datastore;
mod images;
mod inventory;
mod networks;
mod rebuild;
mod resize;
mod servers;
mod snapshots;
mod soap;
mod tasks;
#[doc(hidden)]
pub mod test_support;
mod volumes;
mod xml;

use async_trait::async_trait;
use hybridstack_driver::{
    BlockQuery, Capacity, ComputeCapabilities, ComputeQuery, DriverError, Foreign, NetworkCapabilities, NetworkQuery,
    OwnershipQuery, VolumeCapabilities,
};

pub use config::VsphereConfig;
pub use soap::About;

pub(crate) const KEY_ID: &str = "hybridstack.id";
pub(crate) const KEY_CLOUD: &str = "hybridstack.cloud";
pub(crate) const KEY_INSTALLATION: &str = "hybridstack.installation";

pub struct VsphereCloud {
    name: String,
    installation: String,
    cfg: VsphereConfig,
    soap: soap::Soap,
    place: inventory::Placement,
    /// The VM folder servers go in, once found or made.
    folder: tokio::sync::OnceCell<xml::Mor>,
    /// The distributed switch networks go on, once found.
    switch: tokio::sync::OnceCell<networks::Switch>,
    /// Held while a network's VLAN is chosen and its port group made.
    vlan_lock: tokio::sync::Mutex<()>,
    /// The sizes of images' datastore copies (KiB), read once each.
    image_sizes: parking_lot::Mutex<std::collections::HashMap<String, u64>>,
}

/// What `cloud check` reports of a vCenter besides its capacity.
#[derive(Debug, Clone)]
pub struct Health {
    pub about: About,
    /// The vCenter's clock minus ours, in seconds.
    pub clock_skew_secs: i64,
}

impl VsphereCloud {
    /// Logs in to the vCenter (`password`: the sealed secret) and finds the cloud's
    /// datacenter, cluster and datastore; fails with the reason when one is missing or the
    /// certificate is not trusted.
    pub async fn open(
        name: &str,
        installation: &str,
        cfg: VsphereConfig,
        password: &str,
    ) -> Result<VsphereCloud, DriverError> {
        cfg.validate().map_err(DriverError::Rejected)?;
        let ca_pem = match &cfg.ca_file {
            Some(f) => {
                Some(std::fs::read(f).map_err(|e| DriverError::Rejected(format!("cannot read the CA file {f}: {e}")))?)
            }
            None => None,
        };
        let endpoint = soap::Endpoint {
            url: cfg.url.clone(),
            user: cfg.user.clone(),
            password: password.to_string(),
            insecure: cfg.insecure,
            ca_pem,
        };
        let soap = soap::Soap::connect(endpoint).await?;
        let place = inventory::locate(&soap, &cfg).await?;
        Ok(VsphereCloud {
            name: name.into(),
            installation: installation.into(),
            cfg,
            soap,
            place,
            folder: tokio::sync::OnceCell::new(),
            switch: tokio::sync::OnceCell::new(),
            vlan_lock: tokio::sync::Mutex::new(()),
            image_sizes: Default::default(),
        })
    }

    /// The vCenter's version and how far its clock is from ours.
    pub async fn health(&self) -> Result<Health, DriverError> {
        let before = chrono::Utc::now();
        let theirs = inventory::current_time(&self.soap).await?;
        let after = chrono::Utc::now();
        let ours = before + (after - before) / 2;
        Ok(Health { about: self.soap.content().about.clone(), clock_skew_secs: (theirs - ours).num_seconds() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether marks (a VM's extraConfig, a port group's description) say the object is
    /// this cloud's of this installation.
    pub(crate) fn ours(&self, marks: &std::collections::HashMap<String, String>) -> bool {
        marks.get(KEY_CLOUD) == Some(&self.name) && marks.get(KEY_INSTALLATION) == Some(&self.installation)
    }
}

#[async_trait]
impl ComputeQuery for VsphereCloud {
    fn capabilities(&self) -> ComputeCapabilities {
        ComputeCapabilities {
            pause: false,
            suspend: true,
            resize: true,
            snapshot: true,
            console_output: true,
            image_files: false,
        }
    }

    async fn capacity(&self) -> Result<Capacity, DriverError> {
        inventory::capacity(&self.soap, &self.place, &self.cfg.cluster).await
    }

    async fn console_output(&self, id: &str, lines: Option<usize>) -> Result<String, DriverError> {
        self.console(id, lines).await
    }

    async fn describe(&self) -> Result<Vec<String>, DriverError> {
        let h = self.health().await?;
        Ok(vec![
            format!("{} (API {}, {})", h.about.full_name, h.about.api_version, h.about.api_type),
            format!("clock skew {:+} s", h.clock_skew_secs),
        ])
    }
}

impl NetworkQuery for VsphereCloud {
    /// A port group is a VLAN segment: any subnet, IPv4 or IPv6, can live on it. A plain
    /// distributed switch filters nothing per port, so security groups are not enforced, and
    /// routers and floating IPs are not built yet.
    fn capabilities(&self) -> NetworkCapabilities {
        NetworkCapabilities {
            ipv6: true,
            routers: false,
            floating_ips: false,
            security_groups: false,
            remote_group_rules: false,
            vif_type: "dvs",
        }
    }
}

impl BlockQuery for VsphereCloud {
    /// A VMDK a running VM holds is locked: it is neither grown nor copied while in use.
    fn volume_capabilities(&self) -> VolumeCapabilities {
        VolumeCapabilities { online_extend: false, snapshot_in_use: false }
    }

    /// SCSI disks after the root (sda): sdb… skipping the controller's own unit.
    fn data_devices(&self) -> Vec<String> {
        ('b'..='o').map(|c| format!("sd{c}")).collect()
    }
}

#[async_trait]
impl OwnershipQuery for VsphereCloud {
    async fn list_foreign(&self) -> Result<Vec<Foreign>, DriverError> {
        let mut found = servers::foreign(self).await?;
        found.extend(self.foreign_port_groups().await?);
        Ok(found)
    }
}
