//! `BlockStorage` on a real libvirtd (QEMU under TCG): volumes blank, from an image, from a
//! snapshot; a disk hot-plugged into the running test guest, which the guest's kernel
//! reports on its console, grown online, and unplugged again.
//!
//! Needs libvirtd on qemu:///system and the built test guest (scripts/install-test-deps).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hybridstack_driver::{DriverError, GuestConfig, ImageFile, OwnedVolume, ServerSpec, VolumeSource, VolumeSpec};
use hybridstack_driver_act::{BlockStorage, Compute};
use hybridstack_driver_libvirt::{LibvirtCloud, LibvirtConfig};

use hybridstack_driver_libvirt::test_support::virsh;

/// The cloud's guests and storage pool go at the end, whatever happened.
struct Cleanup {
    server: String,
    pool: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let dom = format!("hs-{}", self.server);
        virsh(&["destroy", &dom]);
        virsh(&["undefine", "--managed-save", &dom]);
        for v in virsh(&["vol-list", &self.pool]).lines().filter_map(|l| l.split_whitespace().next()) {
            virsh(&["vol-delete", "--pool", &self.pool, v]);
        }
        virsh(&["pool-destroy", &self.pool]);
        virsh(&["pool-undefine", &self.pool]);
    }
}

fn id(n: u32) -> String {
    format!("{:08x}-0000-4000-8000-{n:012x}", std::process::id())
}

fn file(image_id: &str, path: PathBuf, format: &str) -> ImageFile {
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ImageFile { image_id: image_id.into(), path, format: format.into(), size }
}

fn wait_console(log: &str, what: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what} ({needle:?}) on the console:\n{text}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn owned(mut v: Vec<OwnedVolume>) -> Vec<(&'static str, String)> {
    v.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    v.into_iter().map(|o| (o.kind, o.id)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn volumes_are_made_snapshotted_hot_plugged_grown_and_unplugged() {
    let guest = std::env::var("HYBRIDSTACK_TEST_GUEST_DIR").unwrap_or_else(|_| "/var/tmp/hybridstack-guest".into());
    let g = PathBuf::from(&guest);
    assert!(g.join("vmlinuz").exists(), "the test guest is missing in {guest}: run scripts/install-test-deps");
    let dir = tempfile::tempdir().expect("tempdir");
    let name = format!("blk-{}", std::process::id());
    let installation = "5b1d3e0c-6c0e-4f7a-9d1e-000000000b1c";
    let mut cfg = LibvirtConfig::defaults(&name, installation, "qemu:///system", &dir.path().display().to_string())
        .expect("settings");
    cfg.domain_type = "qemu".into();
    cfg.shutdown_timeout_secs = 5;
    let server = id(1);
    let _cleanup = Cleanup { server: server.clone(), pool: cfg.pool.clone() };
    let console = format!("{}/{server}.log", cfg.console_dir);
    let pool = cfg.pool.clone();
    let cloud =
        LibvirtCloud::open(&name, installation, cfg).expect("libvirtd on qemu:///system (scripts/lib/libvirt-up)");

    let root = file("blk-root", g.join("disk.qcow2"), "qcow2");
    let spec = ServerSpec {
        id: server.clone(),
        name: "blk".into(),
        flavor_name: "blk".into(),
        vcpus: 1,
        ram_mb: 192,
        disk_gb: 0,
        image: Some(root.clone()),
        kernel: Some(file("blk-kernel", g.join("vmlinuz"), "raw")),
        ramdisk: Some(file("blk-initrd", g.join("initrd.img"), "raw")),
        kernel_cmdline: Some("console=ttyS0".into()),
        guest: GuestConfig { hostname: "blk".into(), ..Default::default() },
        start: true,
        ..Default::default()
    };
    cloud.ensure_server(&spec).await.expect("boot the guest");

    let (blank, from_image, from_snap, snap) = (id(10), id(11), id(12), id(20));
    cloud
        .ensure_volume(&VolumeSpec { id: blank.clone(), size_gb: 1, source: VolumeSource::Blank })
        .await
        .expect("blank");
    // Again: the same volume, not a second one.
    cloud
        .ensure_volume(&VolumeSpec { id: blank.clone(), size_gb: 1, source: VolumeSource::Blank })
        .await
        .expect("again");
    cloud
        .ensure_volume(&VolumeSpec { id: from_image.clone(), size_gb: 1, source: VolumeSource::Image(root) })
        .await
        .expect("from an image");
    cloud.ensure_snapshot(&snap, &blank).await.expect("snapshot");
    cloud
        .ensure_volume(&VolumeSpec { id: from_snap.clone(), size_gb: 2, source: VolumeSource::Snapshot(snap.clone()) })
        .await
        .expect("from the snapshot");
    let missing = cloud
        .ensure_volume(&VolumeSpec { id: id(13), size_gb: 1, source: VolumeSource::Snapshot(id(99)) })
        .await
        .expect_err("no such snapshot");
    assert!(matches!(missing, DriverError::NotFound(_)), "{missing:?}");
    assert_eq!(
        owned(cloud.list_owned_volumes().await.expect("list")),
        vec![
            ("snapshot", snap.clone()),
            ("volume", blank.clone()),
            ("volume", from_image.clone()),
            ("volume", from_snap.clone())
        ]
    );
    let info = virsh(&["vol-info", "--pool", &pool, &format!("vol-{from_snap}")]);
    assert!(info.contains("2.00 GiB"), "the volume from the snapshot has the size asked for: {info}");

    // Hot-plug into the running guest: its kernel reports a new 1 GiB virtio disk.
    wait_console(&console, "the guest to boot", "hybridstack-test-guest: booted");
    let dev = cloud.attach_volume(&server, &blank, None).await.expect("attach");
    assert!(dev.starts_with("/dev/vd"), "{dev}");
    assert_eq!(
        cloud.attach_volume(&server, &blank, Some("/dev/vdq")).await.expect("attach again"),
        dev,
        "attaching twice is one attachment"
    );
    let blk = virsh(&["domblklist", &format!("hs-{server}")]);
    assert!(blk.contains(&format!("vol-{blank}")), "{blk}");
    // The guest says its disks as name:sectors; 1 GiB is 2097152 sectors of 512 bytes.
    wait_console(&console, "the guest to see the disk", ":2097152");
    let refused = cloud.delete_volume(&blank).await.expect_err("an attached volume stays");
    assert!(matches!(refused, DriverError::Rejected(_)), "{refused:?}");

    // Online extend: the guest is told the new size.
    cloud.extend_volume(&blank, 2).await.expect("extend");
    wait_console(&console, "the guest to see the new size", ":4194304");

    cloud.detach_volume(&server, &blank).await.expect("detach");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&console).unwrap_or_default();
        let last = text.lines().rfind(|l| l.starts_with("hybridstack-test-guest: disks")).unwrap_or("");
        if !last.contains(":4194304") {
            break;
        }
        assert!(Instant::now() < deadline, "the guest still sees the detached disk: {last}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let blk = virsh(&["domblklist", &format!("hs-{server}")]);
    assert!(!blk.contains(&format!("vol-{blank}")), "{blk}");
    let inactive = virsh(&["dumpxml", "--inactive", &format!("hs-{server}")]);
    assert!(!inactive.contains(&format!("vol-{blank}")), "the definition no longer has it");
    cloud.detach_volume(&server, &blank).await.expect("detaching twice is fine");

    for v in [&blank, &from_image, &from_snap] {
        cloud.delete_volume(v).await.expect("delete volume");
    }
    cloud.delete_snapshot(&snap).await.expect("delete snapshot");
    cloud.delete_snapshot(&snap).await.expect("deleting twice is fine");
    assert_eq!(owned(cloud.list_owned_volumes().await.expect("list")), vec![]);
    cloud.delete_server(&server).await.expect("delete the guest");
}
