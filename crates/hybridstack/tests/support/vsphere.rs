//! A look behind the API at a vCenter cloud: the simulator registered as a cloud, and what
//! VMware's own SDK (pyvmomi, from the test venv) sees in it.

use std::process::{Command, Output};

use hybridstack_driver_vsphere::test_support::{Vcsim, CLUSTER, DATACENTER, DATASTORE, PASSWORD, USER};
use serde_json::Value;

use super::cli::{field, Cli};
use super::Server;

/// The VM folder the clouds `add_cloud` registers keep their VMs in.
pub const FOLDER: &str = "hybridstack-e2e";

/// `hybridstack cloud --data-dir … ARGS` with `password` as VCENTER_PASSWORD.
pub fn cloud_cmd(server: &Server, password: &str, args: &[&str]) -> Output {
    Command::new(super::binary())
        .args(["cloud", "--data-dir"])
        .arg(server.data.path())
        .args(args)
        .env("VCENTER_PASSWORD", password)
        .output()
        .expect("run hybridstack cloud")
}

/// `cloud add vsphere` for the simulator's one cluster, at SDK `url` (the simulator's, or a
/// proxy's before it), as cloud `name`, `extra` added (its CA is not trusted unless `extra`
/// says so).
pub fn add_cloud(server: &Server, url: &str, name: &str, password: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "add",
        "vsphere",
        "--name",
        name,
        "--url",
        url,
        "--user",
        USER,
        "--datacenter",
        DATACENTER,
        "--cluster",
        CLUSTER,
        "--datastore",
        DATASTORE,
        "--folder",
        FOLDER,
        "--vlan-range",
        "100-199",
    ];
    args.extend_from_slice(extra);
    cloud_cmd(server, password, &args)
}

/// `add_cloud` trusting the simulator's CA, which must succeed.
pub fn add_trusted_cloud(server: &Server, sim: &Vcsim, name: &str, extra: &[&str]) {
    let cert = sim.cert_file.display().to_string();
    let added = add_cloud(server, &sim.url, name, PASSWORD, &[&["--ca-file", &cert][..], extra].concat());
    assert!(added.status.success(), "cloud add vsphere: {}", String::from_utf8_lossy(&added.stderr));
}

/// Runs a command of VMware's SDK against the simulator
/// (crates/driver-vsphere/tests/pyvmomi_view.py); its output.
pub fn pyvmomi(sim: &Vcsim, args: &[&str]) -> String {
    let venv = std::env::var("HYBRIDSTACK_TEST_VENV").unwrap_or_else(|_| "/var/tmp/hybridstack-venv".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../driver-vsphere/tests/pyvmomi_view.py");
    let out = Command::new(format!("{venv}/bin/python"))
        .args([script, &sim.url, USER])
        .args(args)
        .env("VCENTER_PASSWORD", PASSWORD)
        .output()
        .expect("run pyvmomi_view.py");
    assert!(out.status.success(), "pyvmomi {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What pyvmomi sees: VMs, port groups and files.
pub fn inventory(sim: &Vcsim) -> Value {
    serde_json::from_str(&pyvmomi(sim, &["inventory"])).expect("JSON from pyvmomi")
}

/// Whether the vCenter holds nothing of ours: no VM, no file, no port group marked as ours.
pub fn nothing_left(inv: &Value) -> bool {
    let ours = |g: &Value| g["description"].as_str().is_some_and(|d| d.contains("hybridstack."));
    inv["vms"].as_array().is_some_and(Vec::is_empty)
        && inv["files"].as_array().is_some_and(Vec::is_empty)
        && !inv["port_groups"].as_array().is_some_and(|g| g.iter().any(ours))
}

/// Uploads a raw disk image of `mib` MiB as Glance image `name` (vCenter VMs boot their
/// disks; the simulator runs none); returns its id.
pub fn upload_raw(admin: &Cli, mib: usize, name: &str) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("disk.raw");
    std::fs::write(&path, vec![7u8; mib << 20]).expect("write the image");
    let args = ["image", "create", "--disk-format", "raw", "--container-format", "bare", "--file"];
    let made = admin.json(&[&args[..], &[path.to_str().expect("path"), name]].concat());
    field(&made, "id").to_string()
}

/// Copies image `id` onto cloud `cloud`'s datastore with Glance's copy-image and waits (a
/// minute at most) until the image has its location there.
pub fn copy_to(admin: &Cli, id: &str, cloud: &str) {
    // (--store takes several names: the option after it ends the list.)
    admin.ok(&["image", "import", "--store", cloud, "--method", "copy-image", id]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !admin.json(&["image", "show", id])["properties"].to_string().contains(cloud) {
        assert!(std::time::Instant::now() < deadline, "image {id} was not copied onto {cloud}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}
