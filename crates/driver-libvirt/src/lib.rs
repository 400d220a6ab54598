//! The KVM/QEMU backend, through libvirt (the `virt` bindings). One registered libvirt URI
//! is one cloud:
//!
//! - a server is a domain named `hs-<server id>` whose libvirt UUID *is* the server id, so a
//!   step looks it up by id and a reconciler finds ours by name and UUID;
//! - its root disk is a qcow2 overlay (`disk-<id>`) on the image's volume (`image-<id>`) in
//!   a storage pool the driver owns;
//! - a tenant network is an isolated libvirt network (`hs-net-<network id>`, same UUID) whose
//!   dnsmasq hands each port the address Neutron assigned, by MAC;
//! - a port's security groups are an nwfilter on the guest's interface (`filters`), and
//!   routers and floating IPs are nftables NAT on the host (`routing`, local URIs only).
//!
//! Every object also carries this installation's id beside the cloud's name (`marks`), and
//! only objects with both are this cloud's (`ownership` reports the others).
//!
//! libvirt calls block, so each trait method runs its work on tokio's blocking pool.

mod block;
mod config;
mod config_drive;
mod domain_xml;
mod errors;
mod filters;
mod guest;
mod marks;
mod net;
mod ownership;
mod routing;
pub mod test_support;
mod volumes;

use std::sync::Arc;

use parking_lot::Mutex;
use virt::connect::Connect;

pub use config::{detect_domain_type, LibvirtConfig};
use errors::fail;
use hybridstack_driver::DriverError;

/// One libvirt endpoint, as a cloud.
pub struct LibvirtCloud {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) name: String,
    /// This cloud's and installation's marks on every host object.
    pub(crate) marks: marks::Marks,
    pub(crate) cfg: LibvirtConfig,
    /// Reopened when libvirtd restarts under us.
    conn: Mutex<Option<Connect>>,
    /// One lock per shared object, by name. For a network: realising it, adding or removing
    /// a port's DHCP entry and deleting it must not interleave (a delete would pull the
    /// network from under a guest being attached to it). For an image: one upload at a time.
    /// (They serialise one control-plane process; nodes sharing a libvirt host would need a
    /// lock in the store as well.)
    locks: Mutex<std::collections::HashMap<String, Arc<Mutex<()>>>>,
    /// Whether this opening's first call that changes the host has checked and repaired the
    /// storage pool (opening the cloud only looks).
    pool_checked: Mutex<bool>,
    /// The XML each port filter was last defined with (see `filters`).
    filters: Mutex<std::collections::HashMap<String, String>>,
}

impl LibvirtCloud {
    /// Connects and makes sure the storage pool exists and runs. `installation` is this
    /// installation's id, which every object the cloud makes carries.
    pub fn open(name: &str, installation: &str, cfg: LibvirtConfig) -> Result<Self, DriverError> {
        Self::open_with(name, Some(installation), cfg)
    }

    /// A cloud that writes objects as releases before installation ids did (the cloud's name
    /// only), for the tests of the upgrade path. Never used to serve.
    #[doc(hidden)]
    pub fn open_legacy_for_upgrade_tests(name: &str, cfg: LibvirtConfig) -> Result<Self, DriverError> {
        Self::open_with(name, None, cfg)
    }

    fn open_with(name: &str, installation: Option<&str>, cfg: LibvirtConfig) -> Result<Self, DriverError> {
        // libvirt prints every error to stderr by default; ours are returned and logged
        // with their context instead (a missing volume is often the expected answer).
        virt::error::clear_error_callback();
        let inner = Arc::new(Inner {
            name: name.to_string(),
            marks: marks::Marks::new(installation, name)?,
            cfg,
            conn: Mutex::new(None),
            locks: Mutex::default(),
            filters: Mutex::default(),
            pool_checked: Mutex::new(false),
        });
        let conn = inner.conn()?;
        // Opening only looks: core opens clouds, and core changes no cloud. The pool is made
        // or repaired by the first engine call that needs it (`Inner::pool`).
        volumes::check_pool(&conn, &inner.cfg)?;
        std::fs::create_dir_all(&inner.cfg.console_dir)
            .map_err(|e| fail(format!("cannot create the console directory {}: {e}", inner.cfg.console_dir)))?;
        Ok(Self { inner })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Runs blocking libvirt work off the async runtime.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, DriverError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner, &Connect) -> Result<T, DriverError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.conn()?;
            let r = f(&inner, &conn);
            if let Err(DriverError::Transient(_)) = &r {
                // The connection may be what broke; the next call reconnects.
                *inner.conn.lock() = None;
            }
            r
        })
        .await
        .map_err(|e| fail(format!("libvirt worker failed: {e}")))?
    }
}

impl Inner {
    pub(crate) fn lock(&self, key: &str) -> Arc<Mutex<()>> {
        self.locks.lock().entry(key.to_string()).or_default().clone()
    }

    pub(crate) fn net_lock(&self, network_id: &str) -> Arc<Mutex<()>> {
        self.lock(&format!("network-{network_id}"))
    }

    /// The cloud's pool for an operation that changes the host: on this opening's first such
    /// call, made, repaired or taken over from a removed installation (`volumes::prepare_pool`,
    /// one call at a time); afterwards defined if missing and started if stopped.
    pub(crate) fn pool(&self, conn: &Connect) -> Result<virt::storage_pool::StoragePool, DriverError> {
        let mut checked = self.pool_checked.lock();
        if !*checked {
            let pool = volumes::prepare_pool(conn, &self.cfg)?;
            *checked = true;
            return Ok(pool);
        }
        drop(checked);
        volumes::ensure_pool(conn, &self.cfg)
    }

    pub(crate) fn conn(&self) -> Result<Connect, DriverError> {
        let mut guard = self.conn.lock();
        if let Some(c) = guard.as_ref() {
            if c.is_alive().unwrap_or(false) {
                return Ok(c.clone());
            }
        }
        let c = Connect::open(Some(&self.cfg.uri)).map_err(|e| {
            DriverError::Transient(format!("cannot connect to libvirt at {}: {}", self.cfg.uri, e.message()))
        })?;
        *guard = Some(c.clone());
        Ok(c)
    }
}
