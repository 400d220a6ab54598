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

/// The cloud's pool for an operation: defined if missing, and started (its directory made
/// again first) if it is not running.
pub(crate) fn ensure_pool(conn: &Connect, cfg: &LibvirtConfig) -> Result<StoragePool, DriverError> {
    let pool = match conn.lookup_storage_pool_by_name(&cfg.pool) {
        Ok(p) => p,
        Err(e) if is_missing(&e) => define_pool(conn, cfg)?,
        Err(e) => return Err(lv("looking up the storage pool", e)),
    };
    if !pool.is_active().map_err(|e| lv("reading the pool state", e))? {
        start_pool(&pool, cfg)?;
    }
    Ok(pool)
}

/// Whether a pool of this name is another live installation's (the path it holds exists on
/// this host, or the host is remote and cannot be looked at): refused when the cloud is
/// opened, naming it. Only looks.
pub(crate) fn check_pool(conn: &Connect, cfg: &LibvirtConfig) -> Result<(), DriverError> {
    let pool = match conn.lookup_storage_pool_by_name(&cfg.pool) {
        Ok(p) => p,
        Err(e) if is_missing(&e) => return Ok(()),
        Err(e) => return Err(lv("looking up the storage pool", e)),
    };
    let path = pool_path(&pool)?;
    let local = cfg.uri.starts_with("qemu:///");
    if path != cfg.pool_path
        && pool.is_active().map_err(|e| lv("reading the pool state", e))?
        && (!local || Path::new(&path).is_dir())
    {
        return Err(another_installations(cfg, &path));
    }
    Ok(())
}

/// The pool, if it is defined (for capacity, which only looks).
pub(crate) fn find_pool(conn: &Connect, cfg: &LibvirtConfig) -> Result<Option<StoragePool>, DriverError> {
    match conn.lookup_storage_pool_by_name(&cfg.pool) {
        Ok(p) => Ok(Some(p)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(lv("looking up the storage pool", e)),
    }
}

fn pool_path(pool: &StoragePool) -> Result<String, DriverError> {
    let xml = pool.xml_desc(0).map_err(|e| lv("reading the storage pool", e))?;
    Ok(xml.split("<path>").nth(1).and_then(|r| r.split("</path>").next()).unwrap_or_default().to_string())
}

fn another_installations(cfg: &LibvirtConfig, path: &str) -> DriverError {
    DriverError::Rejected(format!(
        "storage pool {} on {} belongs to another installation: it holds {path}, not this cloud's {}. \
         Give this cloud another name, or remove that pool (virsh pool-destroy/pool-undefine) if its \
         installation is gone.",
        cfg.pool, cfg.uri, cfg.pool_path
    ))
}

/// The cloud's pool on the first call of an opening that changes the host: a pool of this
/// name pointing elsewhere is another installation's (refused, naming it) or a stale one
/// whose directory is gone (redefined here); a pool whose directory vanished (a data dir
/// removed under a running libvirtd) gets it back. Each repair says so in the log.
pub(crate) fn prepare_pool(conn: &Connect, cfg: &LibvirtConfig) -> Result<StoragePool, DriverError> {
    let pool = match conn.lookup_storage_pool_by_name(&cfg.pool) {
        Ok(p) => p,
        Err(e) if is_missing(&e) => return define_pool(conn, cfg).and_then(|p| start_pool(&p, cfg).map(|()| p)),
        Err(e) => return Err(lv("looking up the storage pool", e)),
    };
    let path = pool_path(&pool)?;
    // A running pool whose directory is there refreshes; one whose directory went does not
    // (and libvirt stops it).
    let alive = pool.is_active().map_err(|e| lv("reading the pool state", e))? && pool.refresh(0).is_ok();
    if path != cfg.pool_path {
        if alive {
            return Err(another_installations(cfg, &path));
        }
        tracing::warn!(
            pool = %cfg.pool, stale = %path, path = %cfg.pool_path,
            "the storage pool pointed at a directory that no longer exists (left by a removed installation); \
             redefining it for this cloud"
        );
        if pool.is_active().unwrap_or(false) {
            pool.destroy().map_err(|e| lv("stopping the stale storage pool", e))?;
        }
        pool.undefine().map_err(|e| lv("undefining the stale storage pool", e))?;
        let p = define_pool(conn, cfg)?;
        start_pool(&p, cfg)?;
        return Ok(p);
    }
    if !alive {
        if pool.is_active().unwrap_or(false) {
            tracing::warn!(pool = %cfg.pool, path = %cfg.pool_path, "the storage pool's directory was missing; recreating it");
            let _ = pool.destroy();
        }
        start_pool(&pool, cfg)?;
    }
    Ok(pool)
}

fn define_pool(conn: &Connect, cfg: &LibvirtConfig) -> Result<StoragePool, DriverError> {
    let xml = format!(
        "<pool type='dir'><name>{}</name><target><path>{}</path></target></pool>",
        esc(&cfg.pool),
        esc(&cfg.pool_path)
    );
    let p = conn.define_storage_pool_xml(&xml, 0).map_err(|e| lv("defining the storage pool", e))?;
    p.set_autostart(true).map_err(|e| lv("setting the pool to autostart", e))?;
    Ok(p)
}

/// Starts a pool, making its directory first (`build`, which also works on a remote host)
/// when it is missing.
fn start_pool(pool: &StoragePool, cfg: &LibvirtConfig) -> Result<(), DriverError> {
    if pool.create(0).is_ok() {
        return Ok(());
    }
    tracing::warn!(pool = %cfg.pool, path = %cfg.pool_path, "the storage pool did not start; making its directory");
    if cfg.uri.starts_with("qemu:///") {
        std::fs::create_dir_all(&cfg.pool_path)
            .map_err(|e| fail(format!("cannot create the pool directory {}: {e}", cfg.pool_path)))?;
    }
    pool.build(0).map_err(|e| lv("making the pool's directory", e))?;
    pool.create(0).map_err(|e| lv("starting the storage pool", e))?;
    Ok(())
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
