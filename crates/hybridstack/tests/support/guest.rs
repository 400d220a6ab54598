//! What the tests that boot guests share: the test guest (guest/build-test-guest), a libvirt
//! cloud registered on the server under test, and `virsh` to look behind the API.

use std::process::Command;

use super::cli::{field, Cli};
use super::Server;

pub fn guest_dir() -> String {
    std::env::var("HYBRIDSTACK_TEST_GUEST_DIR").unwrap_or_else(|_| "/var/tmp/hybridstack-guest".into())
}

/// The tag the libvirt driver names a cloud's port filters and NAT tables with (FNV-1a of the
/// cloud's name, as `marks::cloud_tag`).
pub fn cloud_tag(cloud: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in cloud.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

/// The installation id of `server` (`hybridstack cloud installation`).
pub fn installation(server: &Server) -> String {
    let out = Command::new(super::binary())
        .args(["cloud", "--data-dir"])
        .arg(server.data.path())
        .arg("installation")
        .output()
        .expect("run cloud installation");
    assert!(out.status.success(), "cloud installation: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The tags host objects of `server`'s cloud `cloud` carry in their names: the installation's
/// (the first 12 hex digits of its id) and the cloud's.
pub fn name_tags(server: &Server, cloud: &str) -> (String, String) {
    (installation(server).chars().filter(char::is_ascii_hexdigit).take(12).collect(), cloud_tag(cloud))
}

/// The storage pool of `server`'s libvirt cloud `cloud`.
pub fn pool_of(server: &Server, cloud: &str) -> String {
    format!("hybridstack-{cloud}-{}", name_tags(server, cloud).0)
}

/// Undefines the port filters of an installation's cloud that are still on the host.
pub fn remove_port_filters(installation_tag: &str, cloud: &str) {
    let prefix = format!("hs-port-{installation_tag}-{}-", cloud_tag(cloud));
    for f in virsh(&["nwfilter-list"]).lines().filter_map(|l| l.split_whitespace().nth(1)) {
        if f.starts_with(&prefix) {
            virsh(&["nwfilter-undefine", f]);
        }
    }
}

pub use hybridstack_driver_libvirt::test_support::virsh;

/// Registers the local libvirtd (TCG) as cloud `name` of `server`.
pub fn add_libvirt_cloud(server: &Server, name: &str) {
    add_libvirt_cloud_with(server, name, &[]);
}

/// Registers the local libvirtd as cloud `name` with more options of `cloud add libvirt`.
pub fn add_libvirt_cloud_with(server: &Server, name: &str, extra: &[&str]) {
    let added = Command::new(super::binary())
        .args(["cloud", "--data-dir"])
        .arg(server.data.path())
        .args(["add", "libvirt", "--name", name, "--domain-type", "qemu"])
        .args(extra)
        .output()
        .expect("run cloud add");
    assert!(added.status.success(), "cloud add failed: {}", String::from_utf8_lossy(&added.stderr));
}

/// Uploads the test guest as Glance images (kernel, initramfs, and a root disk that names
/// them); returns the root image's id.
pub fn upload_test_guest(admin: &Cli, name: &str) -> String {
    let g = guest_dir();
    assert!(
        std::path::Path::new(&format!("{g}/vmlinuz")).exists(),
        "the test guest is missing in {g}: run scripts/install-test-deps (or guest/build-test-guest {g})"
    );
    let upload = |fmt: &str, container: &str, file: &str, image: &str, props: &[String]| {
        let path = format!("{g}/{file}");
        let mut args = vec!["image", "create", "--disk-format", fmt, "--container-format", container, "--file", &path];
        for p in props {
            args.extend(["--property", p.as_str()]);
        }
        args.push(image);
        field(&admin.json(&args), "id").to_string()
    };
    let kernel = upload("aki", "aki", "vmlinuz", &format!("{name}-kernel"), &[]);
    let initrd = upload("ari", "ari", "initrd.img", &format!("{name}-initrd"), &[]);
    let props =
        [format!("kernel_id={kernel}"), format!("ramdisk_id={initrd}"), "os_command_line=console=ttyS0".to_string()];
    upload("qcow2", "bare", "disk.qcow2", name, &props)
}

/// Removes what a libvirt test made on the host at its end, whatever happened: guests whose
/// disks are in the server's data dir, the networks it lists, the cloud's port filters and
/// NAT tables, a network namespace, and the cloud's storage pool. (A passing run has already
/// deleted these through the API, and checked that.)
pub struct Leftovers {
    pub cloud: String,
    pub installation_tag: String,
    pub pool: String,
    pub data_dir: String,
    pub netns: Option<String>,
    pub networks: std::cell::RefCell<Vec<String>>,
}

impl Leftovers {
    pub fn new(server: &Server, cloud: &str) -> Self {
        Self {
            cloud: cloud.to_string(),
            installation_tag: name_tags(server, cloud).0,
            pool: pool_of(server, cloud),
            data_dir: server.data.path().display().to_string(),
            netns: None,
            networks: Default::default(),
        }
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        for d in virsh(&["list", "--all", "--name"]).lines().filter(|l| l.starts_with("hs-")) {
            if virsh(&["dumpxml", d]).contains(&self.data_dir) {
                virsh(&["destroy", d]);
                virsh(&["undefine", "--managed-save", d]);
            }
        }
        for n in self.networks.borrow().iter() {
            virsh(&["net-destroy", &format!("hs-net-{n}")]);
            virsh(&["net-undefine", &format!("hs-net-{n}")]);
        }
        remove_port_filters(&self.installation_tag, &self.cloud);
        if let Some(ns) = &self.netns {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let tag = format!("{}_{}_", self.installation_tag, cloud_tag(&self.cloud));
        if let Ok(out) = Command::new("nft").args(["list", "tables", "ip"]).output() {
            for t in String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.strip_prefix("table ip ")) {
                if t.starts_with(&format!("hs_r_{tag}")) || t.starts_with(&format!("hs_f_{tag}")) {
                    let _ = Command::new("nft").args(["delete", "table", "ip", t]).output();
                }
            }
        }
        virsh(&["pool-destroy", &self.pool]);
        virsh(&["pool-undefine", &self.pool]);
    }
}

/// A server under test with the local libvirtd as cloud `<prefix>-<pid>`, cleaned up after.
/// (Bind `server` first when destructuring, so it is dropped after the clean-up.)
pub struct KvmPlatform {
    pub server: Server,
    pub leftovers: Leftovers,
    pub cloud: String,
    pub admin: Cli,
}

pub fn kvm_platform(prefix: &str) -> KvmPlatform {
    let server = super::start_with(&[("HYBRIDSTACK_SHUTDOWN_TIMEOUT_SECS", "10")]);
    let cloud = format!("{prefix}-{}", std::process::id());
    let leftovers = Leftovers::new(&server, &cloud);
    add_libvirt_cloud(&server, &cloud);
    let admin = Cli::password(&server.url, "admin", super::ADMIN_PASSWORD, "admin");
    KvmPlatform { leftovers, cloud, admin, server }
}
