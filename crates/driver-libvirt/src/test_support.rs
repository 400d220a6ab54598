//! What tests of this crate, the engine and the binary ask the local libvirtd directly: the
//! second pair of eyes beside what the driver reports.

use std::process::Command;

/// `virsh -q` on `qemu:///system`; its standard output, empty when it fails.
pub fn virsh(args: &[&str]) -> String {
    let out = Command::new("virsh").arg("-q").args(["-c", "qemu:///system"]).args(args).output().expect("run virsh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The volumes and snapshots of block storage still in `pool` (not the images or root disks).
pub fn block_volumes_left(pool: &str) -> Vec<String> {
    virsh(&["vol-list", pool])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("vol-") || n.starts_with("snap-"))
        .map(str::to_string)
        .collect()
}
