//! A libvirt cloud's settings, as `hybridstack cloud add libvirt` records them.

use serde::{Deserialize, Serialize};
use virt::connect::Connect;

use crate::errors::lv;
use hybridstack_driver::DriverError;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LibvirtConfig {
    pub uri: String,
    /// The storage pool (a directory pool) that holds images and disks.
    pub pool: String,
    pub pool_path: String,
    /// Where each guest's serial console is logged (on the libvirt host).
    pub console_dir: String,
    /// `kvm` where hardware virtualisation works, else `qemu` (TCG); chosen at `cloud add`.
    pub domain_type: String,
    /// How long a graceful shutdown may take before the guest is forced off.
    #[serde(default = "default_shutdown")]
    pub shutdown_timeout_secs: u64,
    /// The availability zone the cloud is in, which other clouds may share; the zone named
    /// after the cloud when `None` (read by core from the settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

fn default_shutdown() -> u64 {
    60
}

impl LibvirtConfig {
    /// Defaults for a cloud named `name` of installation `installation` whose files live
    /// under `data_dir`. The pool is the installation's own: another installation's cloud of
    /// the same name on this host has another.
    pub fn defaults(name: &str, installation: &str, uri: &str, data_dir: &str) -> Result<Self, DriverError> {
        Ok(Self {
            uri: uri.into(),
            pool: crate::marks::Marks::new(Some(installation), name)?.pool(),
            pool_path: format!("{data_dir}/libvirt/{name}/pool"),
            console_dir: format!("{data_dir}/libvirt/{name}/console"),
            domain_type: String::new(),
            shutdown_timeout_secs: default_shutdown(),
            availability_zone: None,
        })
    }
}

/// `kvm` when the host offers it and the CPU has hardware virtualisation, else `qemu`.
/// (A host can list kvm in its capabilities yet fail to start kvm guests, as a nested
/// guest without vmx/svm does; the CPU flags tell.)
pub fn detect_domain_type(uri: &str) -> Result<String, DriverError> {
    let conn = Connect::open(Some(uri))
        .map_err(|e| DriverError::Transient(format!("cannot connect to libvirt at {uri}: {}", e.message())))?;
    let caps = conn.capabilities().map_err(|e| lv("reading host capabilities", e))?;
    let listed = caps.contains("<domain type='kvm'") || caps.contains("<domain type=\"kvm\"");
    let local = uri.starts_with("qemu:///");
    let hw = !local
        || std::fs::read_to_string("/proc/cpuinfo")
            .map(|c| c.split_whitespace().any(|w| w == "vmx" || w == "svm"))
            .unwrap_or(false);
    let usable = listed && hw && (!local || std::path::Path::new("/dev/kvm").exists());
    Ok(if usable { "kvm".into() } else { "qemu".into() })
}
