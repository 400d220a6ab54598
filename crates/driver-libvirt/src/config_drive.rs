//! The config drive of a libvirt guest: the ISO every backend builds
//! (`hybridstack_driver::config_drive`), as a raw volume in the cloud's pool attached as a
//! second disk. The cloud serves DHCP, so DHCP subnets are marked so in its network data.

use hybridstack_driver::{DriverError, ServerSpec};
use virt::connect::Connect;
use virt::storage_pool::StoragePool;

use crate::errors::{fail, lv};
use crate::volumes;

pub(crate) fn volume_name(id: &str) -> String {
    format!("config-{id}")
}

/// Builds the drive for `spec` and puts it in the pool (replacing an older one); returns
/// the volume's path.
pub(crate) fn ensure(conn: &Connect, pool: &StoragePool, spec: &ServerSpec) -> Result<String, DriverError> {
    let tmp = tempfile::tempdir().map_err(|e| fail(format!("config drive scratch dir: {e}")))?;
    let iso = hybridstack_driver::config_drive::build_iso(spec, true, tmp.path())?;
    let name = volume_name(&spec.id);
    volumes::delete(pool, &name)?;
    let size = std::fs::metadata(&iso).map_err(|e| fail(format!("config drive: {e}")))?.len();
    let v = virt::storage_vol::StorageVol::create_xml(pool, &crate::domain_xml::volume(&name, "raw", size, None), 0)
        .map_err(|e| lv("creating the config drive volume", e))?;
    volumes::upload(conn, &v, &iso, size)?;
    volumes::path(&v)
}
