//! `BlockStorage` for libvirt: a volume is a qcow2 file `vol-<id>` in the cloud's storage
//! pool, a snapshot a flat copy `snap-<id>`. A copy counts only once its `.ok` marker volume
//! exists (as for images), so a copy cut by a crash is made again. Attach and detach are
//! hot-plugs of a virtio disk on a running domain (and also change its definition).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use hybridstack_driver::{BlockQuery, DriverError, OwnedVolume, VolumeCapabilities, VolumeSource, VolumeSpec};
use hybridstack_driver_act::BlockStorage;
use virt::connect::Connect;
use virt::domain::Domain;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;

use crate::domain_xml::{esc, volume};
use crate::errors::{is_missing, lv};
use crate::{volumes, Inner, LibvirtCloud};

const GIB: u64 = 1 << 30;
/// How long a running guest gets to let go of a hot-unplugged disk.
const DETACH_WAIT: Duration = Duration::from_secs(30);

fn vol_name(id: &str) -> String {
    format!("vol-{id}")
}

/// The file of a complete volume, for a domain definition that names it.
pub(crate) fn volume_file(pool: &StoragePool, id: &str) -> Result<String, DriverError> {
    let v = complete(pool, &vol_name(id))?
        .ok_or_else(|| DriverError::NotFound(format!("volume {id} is not on this cloud")))?;
    volumes::path(&v)
}

/// A volume as the guest's disk: the serial is what a guest sees in /dev/disk/by-id (Nova
/// uses the volume id too).
pub(crate) fn disk_xml(path: &str, dev: &str, volume_id: &str) -> String {
    let serial: String = volume_id.chars().take(20).collect();
    format!(
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/>\
<target dev='{}' bus='virtio'/><serial>{}</serial></disk>",
        esc(path),
        esc(dev),
        esc(&serial)
    )
}

fn snap_name(id: &str) -> String {
    format!("snap-{id}")
}

fn marker(name: &str) -> String {
    format!("{name}.ok")
}

/// A volume that is complete (its marker exists).
fn complete(pool: &StoragePool, name: &str) -> Result<Option<StorageVol>, DriverError> {
    match (volumes::find(pool, name)?, volumes::find(pool, &marker(name))?) {
        (Some(v), Some(_)) => Ok(Some(v)),
        _ => Ok(None),
    }
}

fn mark(pool: &StoragePool, name: &str) -> Result<(), DriverError> {
    let m = marker(name);
    if volumes::find(pool, &m)?.is_none() {
        StorageVol::create_xml(pool, &volume(&m, "raw", 0, None), 0).map_err(|e| lv(&format!("creating {m}"), e))?;
    }
    Ok(())
}

fn remove(pool: &StoragePool, name: &str) -> Result<(), DriverError> {
    volumes::delete(pool, &marker(name))?;
    volumes::delete(pool, name)
}

/// A flat qcow2 copy of `src` (libvirt runs `qemu-img convert`), refused with the reason
/// when a running guest holds the source (qemu locks its disks).
fn copy(pool: &StoragePool, src: &StorageVol, name: &str) -> Result<StorageVol, DriverError> {
    volumes::delete(pool, name)?;
    let cap = volumes::capacity(src)?;
    StorageVol::create_xml_from(pool, &volume(name, "qcow2", cap, None), src, 0).map_err(|e| {
        let m = e.message();
        if m.contains("lock") {
            DriverError::Rejected(format!("the source is in use by a running server: {m}"))
        } else {
            lv(&format!("copying to {name}"), e)
        }
    })
}

/// The running or defined domain of this cloud that has `path` as a disk, if any.
fn holder(inner: &Inner, conn: &Connect, path: &str) -> Result<Option<Domain>, DriverError> {
    for d in conn.list_all_domains(0).map_err(|e| lv("listing domains", e))? {
        let xml = match d.xml_desc(0) {
            Ok(x) => x,
            Err(e) if is_missing(&e) => continue,
            Err(e) => return Err(lv("reading a domain", e)),
        };
        if inner.marks.owns(&xml) && xml.contains(&format!("file='{}'", esc(path))) {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

/// The `<disk>` element of `xml` whose source is `path`.
fn disk_element(xml: &str, path: &str) -> Option<String> {
    let needle = format!("file='{}'", esc(path));
    xml.split("<disk ").skip(1).find_map(|rest| {
        let body = rest.split("</disk>").next()?;
        body.contains(&needle).then(|| format!("<disk {body}</disk>"))
    })
}

fn target_of(element: &str) -> Option<String> {
    element.split("<target dev='").nth(1)?.split('\'').next().map(str::to_string)
}

/// The first free `vdX` name in a domain's XML.
fn free_device(xml: &str) -> Result<String, DriverError> {
    ('b'..='z')
        .map(|c| format!("vd{c}"))
        .find(|d| !xml.contains(&format!("dev='{d}'")))
        .ok_or_else(|| DriverError::Rejected("the server has no free disk slot".into()))
}

fn flags(d: &Domain) -> Result<u32, DriverError> {
    let live = d.is_active().map_err(|e| lv("reading the domain state", e))?;
    Ok(if live {
        virt::sys::VIR_DOMAIN_AFFECT_LIVE | virt::sys::VIR_DOMAIN_AFFECT_CONFIG
    } else {
        virt::sys::VIR_DOMAIN_AFFECT_CONFIG
    })
}

fn domain(conn: &Connect, server_id: &str) -> Result<Domain, DriverError> {
    conn.lookup_domain_by_uuid_string(server_id).map_err(|e| lv(&format!("looking up server {server_id}"), e))
}

impl Inner {
    fn ensure_volume(&self, conn: &Connect, v: &VolumeSpec) -> Result<(), DriverError> {
        let pool = self.pool(conn)?;
        let name = vol_name(&v.id);
        let lock = self.lock(&name);
        let _held = lock.lock();
        let size = v.size_gb * GIB;
        if let Some(vol) = complete(&pool, &name)? {
            return volumes::grow(&vol, size);
        }
        remove(&pool, &name)?;
        let vol = match &v.source {
            VolumeSource::Blank => StorageVol::create_xml(&pool, &volume(&name, "qcow2", size, None), 0)
                .map_err(|e| lv(&format!("creating volume {name}"), e))?,
            VolumeSource::Image(f) => {
                let format = if f.format == "qcow2" { "qcow2" } else { "raw" };
                let base = self.image_volume(conn, &pool, "image", f, format)?;
                let src = conn.lookup_storage_vol_by_path(&base).map_err(|e| lv("looking up the image volume", e))?;
                copy(&pool, &src, &name)?
            }
            VolumeSource::Snapshot(s) => {
                let src = complete(&pool, &snap_name(s))?
                    .ok_or_else(|| DriverError::NotFound(format!("snapshot {s} is not on this cloud")))?;
                copy(&pool, &src, &name)?
            }
            VolumeSource::Volume(s) => {
                let src = complete(&pool, &vol_name(s))?
                    .ok_or_else(|| DriverError::NotFound(format!("volume {s} is not on this cloud")))?;
                copy(&pool, &src, &name)?
            }
            VolumeSource::CloudImage(r) => {
                return Err(DriverError::NotSupported(format!(
                    "{r}: a libvirt cloud makes volumes from image files, and keeps no images of its own"
                )))
            }
        };
        volumes::grow(&vol, size)?;
        mark(&pool, &name)
    }

    fn delete_volume(&self, conn: &Connect, id: &str) -> Result<(), DriverError> {
        let pool = self.pool(conn)?;
        let name = vol_name(id);
        if let Some(v) = volumes::find(&pool, &name)? {
            let path = volumes::path(&v)?;
            if let Some(d) = holder(self, conn, &path)? {
                let server = d.uuid_string().unwrap_or_default();
                return Err(DriverError::Rejected(format!("volume {id} is still attached to server {server}")));
            }
        }
        remove(&pool, &name)
    }

    fn extend_volume(&self, conn: &Connect, id: &str, size_gb: u64) -> Result<(), DriverError> {
        let pool = self.pool(conn)?;
        let v = complete(&pool, &vol_name(id))?
            .ok_or_else(|| DriverError::NotFound(format!("volume {id} is not on this cloud")))?;
        let bytes = size_gb * GIB;
        if volumes::capacity(&v)? >= bytes {
            return Ok(());
        }
        let path = volumes::path(&v)?;
        match holder(self, conn, &path)? {
            // qemu owns the file of a running guest's disk: it grows it, and tells the guest.
            Some(d) if d.is_active().map_err(|e| lv("reading the domain state", e))? => d
                .block_resize(&path, bytes, virt::sys::VIR_DOMAIN_BLOCK_RESIZE_BYTES)
                .map_err(|e| lv("growing an attached volume", e)),
            _ => volumes::grow(&v, bytes),
        }
    }

    fn ensure_snapshot(&self, conn: &Connect, snapshot_id: &str, volume_id: &str) -> Result<(), DriverError> {
        let pool = self.pool(conn)?;
        let name = snap_name(snapshot_id);
        let lock = self.lock(&name);
        let _held = lock.lock();
        if complete(&pool, &name)?.is_some() {
            return Ok(());
        }
        remove(&pool, &name)?;
        let src = complete(&pool, &vol_name(volume_id))?
            .ok_or_else(|| DriverError::NotFound(format!("volume {volume_id} is not on this cloud")))?;
        copy(&pool, &src, &name)?;
        mark(&pool, &name)
    }

    fn delete_snapshot(&self, conn: &Connect, id: &str) -> Result<(), DriverError> {
        let pool = self.pool(conn)?;
        remove(&pool, &snap_name(id))
    }

    fn attach_volume(
        &self,
        conn: &Connect,
        server_id: &str,
        volume_id: &str,
        asked: Option<&str>,
    ) -> Result<String, DriverError> {
        let pool = self.pool(conn)?;
        let v = complete(&pool, &vol_name(volume_id))?
            .ok_or_else(|| DriverError::NotFound(format!("volume {volume_id} is not on this cloud")))?;
        let path = volumes::path(&v)?;
        let d = domain(conn, server_id)?;
        let lock = self.lock(&format!("disks-{server_id}"));
        let _held = lock.lock();
        let xml = d.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).map_err(|e| lv("reading the domain", e))?;
        if let Some(dev) = disk_element(&xml, &path).as_deref().and_then(target_of) {
            return Ok(format!("/dev/{dev}"));
        }
        if let Some(other) = holder(self, conn, &path)? {
            let by = other.uuid_string().unwrap_or_default();
            return Err(DriverError::Rejected(format!("volume {volume_id} is already attached to server {by}")));
        }
        let live = d.xml_desc(0).map_err(|e| lv("reading the domain", e))?;
        let both = format!("{xml}{live}");
        let dev = match asked.map(|d| d.trim_start_matches("/dev/")) {
            Some(d) if d.starts_with("vd") && !both.contains(&format!("dev='{d}'")) => d.to_string(),
            _ => free_device(&both)?,
        };
        let disk = disk_xml(&path, &dev, volume_id);
        d.attach_device_flags(&disk, flags(&d)?).map_err(|e| lv("attaching the volume", e))?;
        Ok(format!("/dev/{dev}"))
    }

    fn detach_volume(&self, conn: &Connect, server_id: &str, volume_id: &str) -> Result<(), DriverError> {
        let pool = self.pool(conn)?;
        let Some(v) = volumes::find(&pool, &vol_name(volume_id))? else { return Ok(()) };
        let path = volumes::path(&v)?;
        let d = match conn.lookup_domain_by_uuid_string(server_id) {
            Ok(d) => d,
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(lv("looking up the server", e)),
        };
        let lock = self.lock(&format!("disks-{server_id}"));
        let _held = lock.lock();
        let live = d.is_active().map_err(|e| lv("reading the domain state", e))?;
        let inactive = d.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).map_err(|e| lv("reading the domain", e))?;
        if let Some(el) = disk_element(&inactive, &path) {
            d.detach_device_flags(&el, virt::sys::VIR_DOMAIN_AFFECT_CONFIG)
                .map_err(|e| lv("removing the volume from the definition", e))?;
        }
        if !live {
            return Ok(());
        }
        let current = d.xml_desc(0).map_err(|e| lv("reading the domain", e))?;
        let Some(el) = disk_element(&current, &path) else { return Ok(()) };
        d.detach_device_flags(&el, virt::sys::VIR_DOMAIN_AFFECT_LIVE).map_err(|e| lv("detaching the volume", e))?;
        // The unplug completes when the guest acknowledges it; poll rather than sleep.
        let deadline = Instant::now() + DETACH_WAIT;
        while Instant::now() < deadline {
            let now = d.xml_desc(0).map_err(|e| lv("reading the domain", e))?;
            if disk_element(&now, &path).is_none() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(DriverError::Transient(format!(
            "server {server_id} has not released volume {volume_id} after {}s",
            DETACH_WAIT.as_secs()
        )))
    }

    fn volume_to_file(&self, conn: &Connect, id: &str, dest: &std::path::Path) -> Result<(), DriverError> {
        let pool = self.pool(conn)?;
        let v = complete(&pool, &vol_name(id))?
            .ok_or_else(|| DriverError::NotFound(format!("volume {id} is not on this cloud")))?;
        // A stream download gives the file's bytes (qcow2); the caller inspects the format.
        volumes::download(conn, &v, dest)
    }

    fn list_owned_volumes(&self, conn: &Connect) -> Result<Vec<OwnedVolume>, DriverError> {
        let pool = self.pool(conn)?;
        let names = pool.list_volumes().map_err(|e| lv("listing volumes", e))?;
        let mut out = Vec::new();
        for n in &names {
            for (kind, prefix) in [("volume", "vol-"), ("snapshot", "snap-")] {
                if let Some(id) = n.strip_prefix(prefix) {
                    if !id.ends_with(".ok") {
                        out.push(OwnedVolume { kind, id: id.to_string() });
                    }
                }
            }
        }
        Ok(out)
    }
}

impl BlockQuery for LibvirtCloud {
    fn volume_capabilities(&self) -> VolumeCapabilities {
        VolumeCapabilities { online_extend: true, snapshot_in_use: false }
    }
}

#[async_trait]
impl BlockStorage for LibvirtCloud {
    async fn ensure_volume(&self, v: &VolumeSpec) -> Result<(), DriverError> {
        let v = v.clone();
        self.blocking(move |i, c| i.ensure_volume(c, &v)).await
    }

    async fn delete_volume(&self, id: &str) -> Result<(), DriverError> {
        let id = id.to_string();
        self.blocking(move |i, c| i.delete_volume(c, &id)).await
    }

    async fn extend_volume(&self, id: &str, size_gb: u64) -> Result<(), DriverError> {
        let id = id.to_string();
        self.blocking(move |i, c| i.extend_volume(c, &id, size_gb)).await
    }

    async fn ensure_snapshot(&self, snapshot_id: &str, volume_id: &str) -> Result<(), DriverError> {
        let (s, v) = (snapshot_id.to_string(), volume_id.to_string());
        self.blocking(move |i, c| i.ensure_snapshot(c, &s, &v)).await
    }

    async fn delete_snapshot(&self, id: &str) -> Result<(), DriverError> {
        let id = id.to_string();
        self.blocking(move |i, c| i.delete_snapshot(c, &id)).await
    }

    async fn attach_volume(&self, server: &str, volume: &str, device: Option<&str>) -> Result<String, DriverError> {
        let (s, v, d) = (server.to_string(), volume.to_string(), device.map(str::to_string));
        self.blocking(move |i, c| i.attach_volume(c, &s, &v, d.as_deref())).await
    }

    async fn detach_volume(&self, server_id: &str, volume_id: &str) -> Result<(), DriverError> {
        let (s, v) = (server_id.to_string(), volume_id.to_string());
        self.blocking(move |i, c| i.detach_volume(c, &s, &v)).await
    }

    async fn volume_to_file(&self, id: &str, dest: &std::path::Path) -> Result<(), DriverError> {
        let (id, dest) = (id.to_string(), dest.to_path_buf());
        self.blocking(move |i, c| i.volume_to_file(c, &id, &dest)).await
    }

    async fn list_owned_volumes(&self) -> Result<Vec<OwnedVolume>, DriverError> {
        self.blocking(|i, c| i.list_owned_volumes(c)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_disk_by_its_source_and_the_next_free_device() {
        let xml = "<devices><disk type='file' device='disk'><source file='/p/disk-a'/><target dev='vda' bus='virtio'/></disk>\
<disk type='file' device='disk'><source file='/p/vol-b'/><target dev='vdc' bus='virtio'/></disk></devices>";
        let el = disk_element(xml, "/p/vol-b").expect("the disk");
        assert!(el.starts_with("<disk ") && el.ends_with("</disk>") && el.contains("vol-b"), "{el}");
        assert_eq!(target_of(&el).as_deref(), Some("vdc"));
        assert_eq!(disk_element(xml, "/p/vol-c"), None);
        assert_eq!(free_device(xml).expect("free"), "vdb");
    }
}
