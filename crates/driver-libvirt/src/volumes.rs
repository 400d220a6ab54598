//! The storage pool and its volumes. Image data reaches the pool over libvirt streams (so a
//! remote libvirt host works as well as a local one); a copy counts only once its `.ok`
//! marker volume exists, so an upload cut by a crash is redone rather than booted from.

use std::io::{Read, Write};
use std::path::Path;

use hybridstack_driver::{DriverError, ImageFile};
use virt::connect::Connect;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;

use crate::config::LibvirtConfig;
use crate::domain_xml::{esc, volume};
use crate::errors::{fail, is_missing, lv};

pub(crate) fn ensure_pool(conn: &Connect, cfg: &LibvirtConfig) -> Result<StoragePool, DriverError> {
    let pool = match conn.lookup_storage_pool_by_name(&cfg.pool) {
        Ok(p) => p,
        Err(e) if is_missing(&e) => {
            std::fs::create_dir_all(&cfg.pool_path)
                .map_err(|e| fail(format!("cannot create the pool directory {}: {e}", cfg.pool_path)))?;
            let xml = format!(
                "<pool type='dir'><name>{}</name><target><path>{}</path></target></pool>",
                esc(&cfg.pool),
                esc(&cfg.pool_path)
            );
            let p = conn.define_storage_pool_xml(&xml, 0).map_err(|e| lv("defining the storage pool", e))?;
            p.set_autostart(true).map_err(|e| lv("setting the pool to autostart", e))?;
            p
        }
        Err(e) => return Err(lv("looking up the storage pool", e)),
    };
    if !pool.is_active().map_err(|e| lv("reading the pool state", e))? {
        pool.create(0).map_err(|e| lv("starting the storage pool", e))?;
    }
    Ok(pool)
}

pub(crate) fn find(pool: &StoragePool, name: &str) -> Result<Option<StorageVol>, DriverError> {
    match pool.lookup_storage_vol_by_name(name) {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(lv(&format!("looking up volume {name}"), e)),
    }
}

pub(crate) fn delete(pool: &StoragePool, name: &str) -> Result<(), DriverError> {
    if let Some(v) = find(pool, name)? {
        match v.delete(0) {
            Ok(()) => {}
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(lv(&format!("deleting volume {name}"), e)),
        }
    }
    Ok(())
}

pub(crate) fn path(v: &StorageVol) -> Result<String, DriverError> {
    v.path().map_err(|e| lv("reading a volume path", e))
}

pub(crate) fn capacity(v: &StorageVol) -> Result<u64, DriverError> {
    Ok(v.info().map_err(|e| lv("reading volume info", e))?.capacity)
}

/// The pool's copy of an image file (`<prefix>-<image id>`), uploaded once and shared by
/// every server booted from it. Returns the volume's path.
pub(crate) fn ensure_image(
    conn: &Connect,
    pool: &StoragePool,
    prefix: &str,
    f: &ImageFile,
    format: &str,
) -> Result<String, DriverError> {
    let name = format!("{prefix}-{}", f.image_id);
    let marker = format!("{name}.ok");
    if let (Some(v), Some(_)) = (find(pool, &name)?, find(pool, &marker)?) {
        return path(&v);
    }
    // A volume without its marker is a cut upload: start over.
    delete(pool, &name)?;
    let size = std::fs::metadata(&f.path)
        .map_err(|e| fail(format!("cannot read image file {}: {e}", f.path.display())))?
        .len();
    let v = StorageVol::create_xml(pool, &volume(&name, format, size, None), 0)
        .map_err(|e| lv(&format!("creating volume {name}"), e))?;
    upload(conn, &v, &f.path, size)?;
    StorageVol::create_xml(pool, &volume(&marker, "raw", 0, None), 0)
        .map_err(|e| lv(&format!("creating volume {marker}"), e))?;
    path(&v)
}

pub(crate) fn upload(conn: &Connect, v: &StorageVol, file: &Path, size: u64) -> Result<(), DriverError> {
    let stream = Stream::new(conn, 0).map_err(|e| lv("opening an upload stream", e))?;
    v.upload(&stream, 0, size, 0).map_err(|e| lv("starting an upload", e))?;
    let mut src = std::fs::File::open(file).map_err(|e| fail(format!("cannot open {}: {e}", file.display())))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf).map_err(|e| fail(format!("cannot read {}: {e}", file.display())))?;
        if n == 0 {
            break;
        }
        let mut sent = 0;
        while sent < n {
            let k = stream.send(&buf[sent..n]).map_err(|e| lv("sending image data", e))?;
            sent += usize::try_from(k).map_err(|_| fail("libvirt stream refused data".into()))?;
        }
    }
    stream.finish().map_err(|e| lv("finishing an upload", e))
}

/// Copies a volume's bytes to a local file over a stream.
pub(crate) fn download(conn: &Connect, v: &StorageVol, dest: &Path) -> Result<(), DriverError> {
    let stream = Stream::new(conn, 0).map_err(|e| lv("opening a download stream", e))?;
    v.download(&stream, 0, 0, 0).map_err(|e| lv("starting a download", e))?;
    let mut out = std::fs::File::create(dest).map_err(|e| fail(format!("cannot create {}: {e}", dest.display())))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = stream.recv(&mut buf).map_err(|e| lv("receiving disk data", e))?;
        let n = usize::try_from(n).map_err(|_| fail("libvirt stream failed".into()))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(|e| fail(format!("cannot write {}: {e}", dest.display())))?;
    }
    out.sync_all().map_err(|e| fail(format!("cannot sync {}: {e}", dest.display())))?;
    stream.finish().map_err(|e| lv("finishing a download", e))
}

/// A flattened qcow2 copy of `src` named `name` (libvirt runs `qemu-img convert`).
pub(crate) fn clone_flat(pool: &StoragePool, src: &StorageVol, name: &str) -> Result<StorageVol, DriverError> {
    delete(pool, name)?;
    let cap = capacity(src)?;
    StorageVol::create_xml_from(pool, &volume(name, "qcow2", cap, None), src, 0)
        .map_err(|e| lv(&format!("copying a disk to {name}"), e))
}

/// The server's root disk: a qcow2 overlay on the image, at least `min_bytes` large.
pub(crate) fn ensure_disk(
    pool: &StoragePool,
    id: &str,
    base: &str,
    base_format: &str,
    min_bytes: u64,
) -> Result<String, DriverError> {
    let name = format!("disk-{id}");
    if let Some(v) = find(pool, &name)? {
        return path(&v);
    }
    let base_vol = pool
        .connect()
        .map_err(|e| lv("pool connection", e))?
        .lookup_storage_vol_by_path(base)
        .map_err(|e| lv("looking up the image volume", e))?;
    let cap = capacity(&base_vol)?.max(min_bytes);
    let v = StorageVol::create_xml(pool, &volume(&name, "qcow2", cap, Some((base, base_format))), 0)
        .map_err(|e| lv(&format!("creating disk {name}"), e))?;
    path(&v)
}

pub(crate) fn grow(v: &StorageVol, bytes: u64) -> Result<(), DriverError> {
    if capacity(v)? < bytes {
        v.resize(bytes, 0).map_err(|e| lv("growing a disk", e))?;
    }
    Ok(())
}
