//! End-to-end: the `openstack` CLI drives block storage on a real libvirtd: a blank volume,
//! one from an image (bootable), a snapshot, a volume from the snapshot, an extend, and the
//! deletes, with Cinder's refusals on the way; the volume hot-plugged into a running server
//! (`server add volume`), seen by the guest, and removed again; nothing is left in the pool.
//!
//! Needs libvirtd on qemu:///system and the built test guest (scripts/install-test-deps).

mod support;

use std::time::{Duration, Instant};

use hybridstack_driver_libvirt::test_support::block_volumes_left;
use serde_json::Value;
use support::cli::{field, Cli};

fn wait_status(cli: &Cli, kind: &str, name: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let shown = cli.json(&[kind, "show", name]);
        let status = field(&shown, "status").to_string();
        if status == want {
            return shown;
        }
        assert!(!status.starts_with("error"), "{kind} {name} went to {status}: {shown}");
        assert!(Instant::now() < deadline, "timed out waiting for {kind} {name} to be {want}: {shown}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn wait_gone(cli: &Cli, kind: &[&str], name: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while cli.run(&[kind, &["show", name]].concat()).status.success() {
        assert!(Instant::now() < deadline, "timed out waiting for {kind:?} {name} to go");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_openstack_cli_manages_volumes_on_libvirt() {
    let support::guest::KvmPlatform { server, leftovers: _leftovers, cloud, admin } =
        support::guest::kvm_platform("cinder");
    support::guest::upload_test_guest(&admin, "guest");

    let v1 = admin.json(&["volume", "create", "--size", "1", "v1"]);
    assert_eq!(field(&v1, "availability_zone"), cloud, "{v1}");
    wait_status(&admin, "volume", "v1", "available");
    let v2 = admin.json(&["volume", "create", "--image", "guest", "--size", "1", "v2"]);
    assert_eq!(v2["bootable"], true, "created from an image, it is bootable: {v2}");
    wait_status(&admin, "volume", "v2", "available");

    admin.json(&["volume", "snapshot", "create", "--volume", "v1", "s1"]);
    wait_status(&admin, "volume snapshot", "s1", "available");
    let refused = admin.run(&["volume", "delete", "v1"]);
    assert!(!refused.status.success(), "a volume with snapshots is not deleted");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("snapshots"), "{refused:?}");

    admin.json(&["volume", "create", "--snapshot", "s1", "--size", "2", "v3"]);
    let v3 = wait_status(&admin, "volume", "v3", "available");
    assert_eq!(v3["size"], 2, "{v3}");

    admin.ok(&["volume", "set", "--size", "2", "v1"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = admin.json(&["volume", "show", "v1"]);
        if shown["size"] == 2 && field(&shown, "status") == "available" {
            break;
        }
        assert!(Instant::now() < deadline, "v1 did not grow: {shown}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let listed = admin.json(&["volume", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");

    // Hot-plug into a running guest, which reports the new 2 GiB disk on its console.
    admin.json(&["flavor", "create", "--vcpus", "1", "--ram", "192", "--disk", "1", "g.vol"]);
    let vm = admin.json(&["server", "create", "--image", "guest", "--flavor", "g.vol", "--no-network", "--wait", "vm"]);
    assert_eq!(field(&vm, "status"), "ACTIVE", "{vm}");
    admin.ok(&["server", "add", "volume", "vm", "v1"]);
    let attached = wait_status(&admin, "volume", "v1", "in-use");
    assert!(attached["attachments"].to_string().contains(field(&vm, "id")), "{attached}");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !admin.ok(&["console", "log", "show", "vm"]).contains(":4194304") {
        assert!(Instant::now() < deadline, "the guest never reported the attached disk");
        std::thread::sleep(Duration::from_millis(500));
    }
    let shown = admin.json(&["server", "show", "vm"]);
    assert!(shown["volumes_attached"].to_string().contains(field(&attached, "id")), "{shown}");
    let refused = admin.run(&["volume", "delete", "v1"]);
    assert!(!refused.status.success(), "an attached volume is not deleted");
    admin.ok(&["server", "remove", "volume", "vm", "v1"]);
    wait_status(&admin, "volume", "v1", "available");
    admin.ok(&["server", "delete", "--wait", "vm"]);

    admin.ok(&["volume", "snapshot", "delete", "s1"]);
    wait_gone(&admin, &["volume", "snapshot"], "s1");
    admin.ok(&["volume", "delete", "v1", "v2", "v3"]);
    for v in ["v1", "v2", "v3"] {
        wait_gone(&admin, &["volume"], v);
    }
    let left = block_volumes_left(&support::guest::pool_of(&server, &cloud));
    assert!(left.is_empty(), "nothing is left in the pool: {left:?}");
}
