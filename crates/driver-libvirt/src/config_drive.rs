//! The config drive: Nova's ISO 9660 volume labelled `config-2`, attached as a second disk,
//! with `openstack/latest/meta_data.json` (uuid, name, hostname, public keys, metadata) and
//! `user_data`. Guests (cloud-init, or the test guest's /init) read their host name and SSH
//! key from it. Built with genisoimage, as Nova builds it; there is no maintained Rust crate
//! that writes ISO 9660 with Joliet and Rock Ridge.

use std::process::Command;

use base64::Engine;
use hybridstack_driver::{DriverError, ServerSpec};
use serde_json::json;
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
    let g = &spec.guest;
    let tmp = tempfile::tempdir().map_err(|e| fail(format!("config drive scratch dir: {e}")))?;
    let latest = tmp.path().join("tree/openstack/latest");
    std::fs::create_dir_all(&latest).map_err(|e| fail(format!("config drive tree: {e}")))?;
    let mut keys = serde_json::Map::new();
    let mut key_list = Vec::new();
    if let (Some(name), Some(key)) = (&g.key_name, &g.public_key) {
        keys.insert(name.clone(), json!(key));
        key_list.push(json!({"name": name, "type": "ssh", "data": key}));
    }
    let meta = json!({
        "uuid": spec.id,
        "name": g.name,
        "hostname": g.hostname,
        "availability_zone": g.availability_zone,
        "project_id": g.project_id,
        "launch_index": 0,
        "meta": g.metadata,
        "public_keys": keys,
        "keys": key_list,
    });
    std::fs::write(latest.join("meta_data.json"), format!("{meta}\n"))
        .map_err(|e| fail(format!("meta_data.json: {e}")))?;
    if let Some(ud) = &g.user_data {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(ud.trim())
            .map_err(|_| DriverError::Rejected("user_data is not base64".into()))?;
        std::fs::write(latest.join("user_data"), bytes).map_err(|e| fail(format!("user_data: {e}")))?;
    }
    let iso = tmp.path().join("config.iso");
    let out = Command::new("genisoimage")
        .args(["-quiet", "-J", "-r", "-V", "config-2", "-o"])
        .arg(&iso)
        .arg(tmp.path().join("tree"))
        .output()
        .map_err(|e| fail(format!("genisoimage could not run (install genisoimage): {e}")))?;
    if !out.status.success() {
        return Err(fail(format!("genisoimage failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    let name = volume_name(&spec.id);
    volumes::delete(pool, &name)?;
    let size = std::fs::metadata(&iso).map_err(|e| fail(format!("config drive: {e}")))?.len();
    let v = virt::storage_vol::StorageVol::create_xml(pool, &crate::domain_xml::volume(&name, "raw", size, None), 0)
        .map_err(|e| lv("creating the config drive volume", e))?;
    volumes::upload(conn, &v, &iso, size)?;
    volumes::path(&v)
}
