//! `Compute` for libvirt: servers as domains.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use hybridstack_driver::{
    Capacity, ComputeCapabilities, ComputeQuery, DriverError, OwnedServer, PowerAction, PowerState, ServerSpec,
};
use hybridstack_driver_act::Compute;
use virt::connect::Connect;
use virt::domain::{Domain, DomainState};
use virt::enumutil::Enum;

use crate::block;
use crate::config_drive;
use crate::domain_xml::{self, DomainFiles};
use crate::errors::{fail, is_missing, lv};
use crate::volumes;
use crate::{Inner, LibvirtCloud};

const GIB: u64 = 1 << 30;

/// The `<disk>` elements of the volumes a spec keeps attached.
fn attached(pool: &virt::storage_pool::StoragePool, spec: &ServerSpec) -> Result<Vec<String>, DriverError> {
    spec.volumes
        .iter()
        .map(|v| {
            let path = block::volume_file(pool, &v.volume_id)?;
            Ok(block::disk_xml(&path, v.device.trim_start_matches("/dev/"), &v.volume_id))
        })
        .collect()
}

fn lookup(conn: &Connect, id: &str) -> Result<Option<Domain>, DriverError> {
    match conn.lookup_domain_by_uuid_string(id) {
        Ok(d) => Ok(Some(d)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(lv("looking up the domain", e)),
    }
}

fn require(conn: &Connect, id: &str) -> Result<Domain, DriverError> {
    lookup(conn, id)?.ok_or_else(|| DriverError::NotFound(format!("server {id} has no domain in this cloud")))
}

fn state_of(d: &Domain) -> Result<PowerState, DriverError> {
    let (state, _) = d.state().map_err(|e| lv("reading the domain state", e))?;
    Ok(match state {
        Enum::Known(DomainState::Running | DomainState::Blocked) => PowerState::Running,
        Enum::Known(DomainState::Paused) => PowerState::Paused,
        Enum::Known(DomainState::Crashed) => PowerState::Crashed,
        Enum::Known(DomainState::PMSuspended) => PowerState::Suspended,
        Enum::Known(DomainState::Shutdown | DomainState::Shutoff) => {
            if d.has_managed_save(0).unwrap_or(false) {
                PowerState::Suspended
            } else {
                PowerState::Shutdown
            }
        }
        _ => PowerState::NoState,
    })
}

fn active(d: &Domain) -> Result<bool, DriverError> {
    d.is_active().map_err(|e| lv("reading the domain state", e))
}

fn start(d: &Domain) -> Result<(), DriverError> {
    if !active(d)? {
        d.create().map_err(|e| lv("starting the domain", e))?;
    }
    Ok(())
}

/// Forces the domain off; an inactive one is left as it is.
fn force_off(d: &Domain) -> Result<(), DriverError> {
    if active(d)? {
        match d.destroy() {
            Ok(()) => {}
            // It stopped between the check and the call.
            Err(e) if matches!(e.code(), Enum::Known(virt::error::ErrorNumber::OperationInvalid)) => {}
            Err(e) => return Err(lv("stopping the domain", e)),
        }
    }
    Ok(())
}

/// Asks the guest to shut down (ACPI) and forces it off when it has not within `timeout`.
fn graceful_off(d: &Domain, timeout: Duration) -> Result<(), DriverError> {
    if !active(d)? {
        return Ok(());
    }
    if state_of(d)? == PowerState::Running && d.shutdown().is_ok() {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if !active(d)? {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        tracing::info!("guest ignored the shutdown request for {timeout:?}; forcing it off");
    }
    force_off(d)
}

impl Inner {
    /// The pool's copy of an image, made once even when several servers boot from it at once
    /// (a second caller waits for the first upload instead of taking it for a cut one).
    pub(crate) fn image_volume(
        &self,
        conn: &Connect,
        pool: &virt::storage_pool::StoragePool,
        prefix: &str,
        f: &hybridstack_driver::ImageFile,
        format: &str,
    ) -> Result<String, DriverError> {
        let lock = self.lock(&format!("{prefix}-{}", f.image_id));
        let _held = lock.lock();
        volumes::ensure_image(conn, pool, prefix, f, format)
    }

    fn console_log(&self, id: &str) -> String {
        format!("{}/{id}.log", self.cfg.console_dir)
    }

    /// Uploads what the spec boots from and makes its root disk (unless it boots from a
    /// volume); returns the domain's files.
    fn prepare(&self, conn: &Connect, spec: &ServerSpec) -> Result<DomainFiles, DriverError> {
        let pool = self.pool(conn)?;
        let disk = match (&spec.root_volume, &spec.image) {
            (Some(v), _) => block::volume_file(&pool, v)?,
            (None, Some(image)) => {
                let format = match image.format.as_str() {
                    "qcow2" => "qcow2",
                    "raw" | "ami" => "raw",
                    other => {
                        return Err(DriverError::Rejected(format!(
                            "images in {other} format cannot boot on libvirt; convert to qcow2 or raw"
                        )))
                    }
                };
                let base = self.image_volume(conn, &pool, "image", image, format)?;
                volumes::ensure_disk(&pool, &spec.id, &base, format, spec.disk_gb * GIB)?
            }
            (None, None) => {
                return Err(DriverError::Rejected(format!("server {} has neither an image nor a root volume", spec.id)))
            }
        };
        let config = Some(config_drive::ensure(conn, &pool, spec)?);
        self.files(conn, &pool, spec, disk, config)
    }

    /// The domain's files around its root disk and config drive: kernel and initrd (from the
    /// pool, uploaded once), the attached volumes, the console log.
    fn files(
        &self,
        conn: &Connect,
        pool: &virt::storage_pool::StoragePool,
        spec: &ServerSpec,
        disk: String,
        config: Option<String>,
    ) -> Result<DomainFiles, DriverError> {
        let kernel = spec.kernel.as_ref().map(|k| self.image_volume(conn, pool, "kernel", k, "raw")).transpose()?;
        let initrd = spec.ramdisk.as_ref().map(|r| self.image_volume(conn, pool, "ramdisk", r, "raw")).transpose()?;
        Ok(DomainFiles {
            disk,
            root_volume: spec.root_volume.clone(),
            volumes: attached(pool, spec)?,
            config,
            kernel,
            initrd,
            console_log: self.console_log(&spec.id),
        })
    }

    fn define(&self, conn: &Connect, spec: &ServerSpec, files: &DomainFiles) -> Result<Domain, DriverError> {
        let xml = domain_xml::domain(spec, &self.marks, &self.cfg.domain_type, files);
        conn.define_domain_xml(&xml).map_err(|e| lv("defining the domain", e))
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.shutdown_timeout_secs)
    }

    fn ensure_server(&self, conn: &Connect, spec: &ServerSpec) -> Result<(), DriverError> {
        let d = match lookup(conn, &spec.id)? {
            Some(d) => d,
            None => {
                let files = self.prepare(conn, spec)?;
                self.define(conn, spec, &files)?
            }
        };
        if spec.start {
            start(&d)?;
        }
        Ok(())
    }

    fn delete_server(&self, conn: &Connect, id: &str) -> Result<(), DriverError> {
        if let Some(d) = lookup(conn, id)? {
            force_off(&d)?;
            match d.undefine_flags(virt::sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE) {
                Ok(()) => {}
                Err(e) if is_missing(&e) => {}
                Err(e) => return Err(lv("undefining the domain", e)),
            }
        }
        let pool = self.pool(conn)?;
        volumes::delete(&pool, &format!("disk-{id}"))?;
        volumes::delete(&pool, &format!("disk-{id}.pre-resize"))?;
        volumes::delete(&pool, &config_drive::volume_name(id))?;
        match std::fs::remove_file(self.console_log(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(fail(format!("cannot remove the console log of {id}: {e}")))
            }
            _ => Ok(()),
        }
    }

    fn power(&self, conn: &Connect, id: &str, action: PowerAction) -> Result<(), DriverError> {
        let d = require(conn, id)?;
        match action {
            PowerAction::Start | PowerAction::Resume => start(&d),
            PowerAction::Stop => graceful_off(&d, self.timeout()),
            // A soft reboot is a clean shutdown and a start, so it works whether or not the
            // guest honours ACPI reboot requests (falling back to forcing it off, as Nova does).
            PowerAction::SoftReboot => {
                graceful_off(&d, self.timeout())?;
                start(&d)
            }
            PowerAction::HardReboot => {
                force_off(&d)?;
                start(&d)
            }
            PowerAction::Pause => {
                if state_of(&d)? != PowerState::Paused {
                    d.suspend().map_err(|e| lv("pausing the domain", e))?;
                }
                Ok(())
            }
            PowerAction::Unpause => {
                if state_of(&d)? == PowerState::Paused {
                    d.resume().map_err(|e| lv("unpausing the domain", e))?;
                }
                Ok(())
            }
            PowerAction::Suspend => {
                if active(&d)? {
                    d.managed_save(0).map_err(|e| lv("suspending the domain", e))?;
                }
                Ok(())
            }
        }
    }

    fn rebuild(&self, conn: &Connect, spec: &ServerSpec) -> Result<(), DriverError> {
        if let Some(d) = lookup(conn, &spec.id)? {
            force_off(&d)?;
            let _ = d.managed_save_remove(0);
        }
        let pool = self.pool(conn)?;
        volumes::delete(&pool, &format!("disk-{}", spec.id))?;
        let files = self.prepare(conn, spec)?;
        let d = self.define(conn, spec, &files)?;
        if spec.start {
            start(&d)?;
        }
        Ok(())
    }

    fn resize(&self, conn: &Connect, spec: &ServerSpec) -> Result<(), DriverError> {
        let d = require(conn, &spec.id)?;
        graceful_off(&d, self.timeout())?;
        // A volume-backed root keeps its size (the flavor's disk does not apply to it).
        if spec.root_volume.is_none() {
            let pool = self.pool(conn)?;
            let disk_name = format!("disk-{}", spec.id);
            let backup = format!("{disk_name}.pre-resize");
            let disk = volumes::find(&pool, &disk_name)?
                .ok_or_else(|| DriverError::NotFound(format!("server {} has no root disk", spec.id)))?;
            // A rerun after a crash keeps the first backup: it is the pre-resize disk.
            if volumes::find(&pool, &backup)?.is_none() {
                volumes::clone_flat(&pool, &disk, &backup)?;
            }
            volumes::grow(&disk, spec.disk_gb * GIB)?;
        }
        let files = self.files_of(conn, spec)?;
        let d = self.define(conn, spec, &files)?;
        if spec.start {
            start(&d)?;
        }
        Ok(())
    }

    /// The files an existing server boots from (kernel and initrd already in the pool).
    fn files_of(&self, conn: &Connect, spec: &ServerSpec) -> Result<DomainFiles, DriverError> {
        let pool = self.pool(conn)?;
        let disk = match &spec.root_volume {
            Some(v) => block::volume_file(&pool, v)?,
            None => volumes::path(
                &volumes::find(&pool, &format!("disk-{}", spec.id))?
                    .ok_or_else(|| DriverError::NotFound(format!("server {} has no root disk", spec.id)))?,
            )?,
        };
        let config =
            volumes::find(&pool, &config_drive::volume_name(&spec.id))?.map(|v| volumes::path(&v)).transpose()?;
        self.files(conn, &pool, spec, disk, config)
    }

    fn confirm_resize(&self, conn: &Connect, id: &str) -> Result<(), DriverError> {
        let pool = self.pool(conn)?;
        volumes::delete(&pool, &format!("disk-{id}.pre-resize"))
    }

    fn revert_resize(&self, conn: &Connect, spec: &ServerSpec) -> Result<(), DriverError> {
        let d = require(conn, &spec.id)?;
        force_off(&d)?;
        let pool = self.pool(conn)?;
        let disk_name = format!("disk-{}", spec.id);
        if let Some(backup) = volumes::find(&pool, &format!("{disk_name}.pre-resize"))? {
            volumes::clone_flat(&pool, &backup, &disk_name)?;
            volumes::delete(&pool, &format!("{disk_name}.pre-resize"))?;
        }
        let files = self.files_of(conn, spec)?;
        let d = self.define(conn, spec, &files)?;
        if spec.start {
            start(&d)?;
        }
        Ok(())
    }

    fn snapshot(&self, conn: &Connect, id: &str, dest: &std::path::Path) -> Result<(), DriverError> {
        let d = require(conn, id)?;
        let pool = self.pool(conn)?;
        let disk = volumes::find(&pool, &format!("disk-{id}"))?
            .ok_or_else(|| DriverError::NotFound(format!("server {id} has no root disk")))?;
        // qemu holds a write lock on the disk while the guest runs (even paused), so a running
        // guest is saved to disk first (as Nova's cold snapshot does) and restored after the
        // copy, in the state it was in; that also makes the copy consistent.
        let was_active = active(&d)?;
        if was_active {
            d.managed_save(0).map_err(|e| lv("saving the guest for a snapshot", e))?;
        }
        let tmp = format!("snap-{id}");
        let copied = volumes::clone_flat(&pool, &disk, &tmp);
        if was_active {
            start(&d).map_err(|e| match e {
                DriverError::Failed(m) => DriverError::Failed(format!("restoring the guest after a snapshot: {m}")),
                other => other,
            })?;
        }
        let copy = copied?;
        let r = volumes::download(conn, &copy, dest);
        volumes::delete(&pool, &tmp)?;
        r
    }

    fn console_output(&self, id: &str, lines: Option<usize>) -> Result<String, DriverError> {
        if !self.cfg.uri.starts_with("qemu:///") {
            return Err(DriverError::NotSupported(
                "console output is read from the libvirt host's log file, which is only reachable for local URIs"
                    .into(),
            ));
        }
        let text = match std::fs::read(self.console_log(id)) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(fail(format!("cannot read the console log: {e}"))),
        };
        Ok(match lines {
            Some(n) => {
                let all: Vec<&str> = text.lines().collect();
                all[all.len().saturating_sub(n)..].join("\n")
            }
            None => text,
        })
    }

    fn list_owned(&self, conn: &Connect) -> Result<Vec<OwnedServer>, DriverError> {
        let mut out = Vec::new();
        for d in conn.list_all_domains(0).map_err(|e| lv("listing domains", e))? {
            // A domain deleted while we list it is skipped, not an error.
            let read = || -> Result<Option<OwnedServer>, virt::error::Error> {
                let name = d.name()?;
                let Some(id) = name.strip_prefix("hs-") else { return Ok(None) };
                let uuid = d.uuid_string()?;
                // Another cloud's (or another installation's) server on the same host is not ours.
                if uuid != id || !self.marks.owns(&d.xml_desc(0)?) {
                    return Ok(None);
                }
                Ok(Some(OwnedServer { id: uuid, power: PowerState::NoState }))
            };
            match read() {
                Ok(Some(mut o)) => match state_of(&d) {
                    Ok(p) => {
                        o.power = p;
                        out.push(o);
                    }
                    Err(DriverError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                },
                Ok(None) => {}
                Err(e) if is_missing(&e) => {}
                Err(e) => return Err(lv("reading a domain", e)),
            }
        }
        Ok(out)
    }

    fn capacity(&self, conn: &Connect) -> Result<Capacity, DriverError> {
        let node = conn.node_info().map_err(|e| lv("reading host info", e))?;
        // Capacity only looks: a pool not made yet has no size to tell (0: unknown).
        let info = match volumes::find_pool(conn, &self.cfg)? {
            Some(pool) => Some(pool.info().map_err(|e| lv("reading pool info", e))?),
            None => None,
        };
        Ok(Capacity {
            hypervisor_type: if self.cfg.domain_type == "kvm" { "QEMU (KVM)".into() } else { "QEMU".into() },
            hypervisor_hostname: conn.hostname().unwrap_or_else(|_| self.name.clone()),
            vcpus: u64::from(node.cpus),
            memory_mb: node.memory / 1024,
            local_gb: info.as_ref().map_or(0, |i| i.capacity / GIB),
            free_disk_gb: info.as_ref().map_or(0, |i| i.available / GIB),
        })
    }
}

#[async_trait]
impl ComputeQuery for LibvirtCloud {
    fn capabilities(&self) -> ComputeCapabilities {
        ComputeCapabilities {
            pause: true,
            suspend: true,
            resize: true,
            snapshot: true,
            console_output: self.inner.cfg.uri.starts_with("qemu:///"),
            image_files: true,
        }
    }

    async fn capacity(&self) -> Result<Capacity, DriverError> {
        self.blocking(|i, c| i.capacity(c)).await
    }

    async fn console_output(&self, id: &str, lines: Option<usize>) -> Result<String, DriverError> {
        let id = id.to_string();
        self.blocking(move |i, c| {
            require(c, &id)?;
            i.console_output(&id, lines)
        })
        .await
    }
}

#[async_trait]
impl Compute for LibvirtCloud {
    async fn ensure_server(&self, s: &ServerSpec) -> Result<(), DriverError> {
        let s = s.clone();
        self.blocking(move |i, c| i.ensure_server(c, &s)).await
    }

    async fn delete_server(&self, id: &str) -> Result<(), DriverError> {
        let id = id.to_string();
        self.blocking(move |i, c| i.delete_server(c, &id)).await
    }

    async fn power(&self, id: &str, action: PowerAction) -> Result<(), DriverError> {
        let id = id.to_string();
        self.blocking(move |i, c| i.power(c, &id, action)).await
    }

    async fn power_state(&self, id: &str) -> Result<PowerState, DriverError> {
        let id = id.to_string();
        self.blocking(move |_, c| state_of(&require(c, &id)?)).await
    }

    async fn rebuild(&self, s: &ServerSpec) -> Result<(), DriverError> {
        let s = s.clone();
        self.blocking(move |i, c| i.rebuild(c, &s)).await
    }

    async fn resize(&self, s: &ServerSpec) -> Result<(), DriverError> {
        let s = s.clone();
        self.blocking(move |i, c| i.resize(c, &s)).await
    }

    async fn confirm_resize(&self, id: &str) -> Result<(), DriverError> {
        let id = id.to_string();
        self.blocking(move |i, c| i.confirm_resize(c, &id)).await
    }

    async fn revert_resize(&self, s: &ServerSpec) -> Result<(), DriverError> {
        let s = s.clone();
        self.blocking(move |i, c| i.revert_resize(c, &s)).await
    }

    async fn snapshot(&self, id: &str, dest: &std::path::Path) -> Result<(), DriverError> {
        let (id, dest) = (id.to_string(), dest.to_path_buf());
        self.blocking(move |i, c| i.snapshot(c, &id, &dest)).await
    }

    async fn list_owned(&self) -> Result<Vec<OwnedServer>, DriverError> {
        self.blocking(|i, c| i.list_owned(c)).await
    }
}
