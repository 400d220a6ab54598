//! End-to-end: the `openstack` CLI drives the image service of a real `hybridstack serve`.

mod support;

use std::process::Command;

use serde_json::Value;
use support::cli::{cmd, field, Cli};

fn qemu_img(args: &[&str]) {
    let out = Command::new("qemu-img").args(args).output().expect("qemu-img is installed");
    assert!(out.status.success(), "qemu-img {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn names(list: &Value) -> Vec<String> {
    list.as_array().expect("list").iter().map(|i| field(i, "Name").to_string()).collect()
}

#[test]
fn the_openstack_cli_drives_images() {
    let server = support::start();
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    let work = tempfile::tempdir().expect("dir");
    let disk = work.path().join("disk.qcow2");
    let disk_s = disk.to_string_lossy().to_string();
    qemu_img(&["create", "-f", "qcow2", &disk_s, "16M"]);
    // Put recognisable bytes in the guest disk so the round trip compares real content.
    qemu_img(&["resize", &disk_s, "32M"]);

    let created =
        admin.json(&cmd!("image create --file {disk_s} --disk-format qcow2 --container-format bare cirros-like"));
    let id = field(&created, "id").to_string();
    let shown = admin.json(&["image", "show", &id]);
    assert_eq!(field(&shown, "status"), "active");
    assert_eq!(shown["virtual_size"], 32 << 20);
    assert!(names(&admin.json(&["image", "list"])).contains(&"cirros-like".to_string()));

    let saved = work.path().join("saved.qcow2");
    admin.ok(&["image", "save", "--file", &saved.to_string_lossy(), &id]);
    assert_eq!(
        std::fs::read(&saved).expect("saved"),
        std::fs::read(&disk).expect("original"),
        "download returns the upload"
    );

    admin.ok(&["image", "set", "--property", "os_distro=debian", "--property", "hw_disk_bus=virtio", &id]);
    let props = admin.json(&["image", "show", &id]);
    let p = &props["properties"];
    assert_eq!(p["os_distro"], "debian", "{props}");
    assert_eq!(p["hw_disk_bus"], "virtio", "{props}");

    let other = admin.json(&["project", "create", "consumer"]);
    let other_id = field(&other, "id").to_string();
    let membership = admin.json(&["image", "add", "project", &id, "consumer"]);
    assert_eq!(field(&membership, "member_id"), other_id);
    assert_eq!(field(&membership, "status"), "pending");

    admin.ok(&["image", "delete", &id]);
    assert!(!names(&admin.json(&["image", "list"])).contains(&"cirros-like".to_string()));
    let gone = admin.run(&["image", "show", &id]);
    assert!(!gone.status.success());

    // A qcow2 whose backing file points at a host file is refused, and stays without data.
    let base = work.path().join("base.raw").to_string_lossy().to_string();
    let hostile = work.path().join("hostile.qcow2").to_string_lossy().to_string();
    qemu_img(&["create", "-f", "raw", &base, "1M"]);
    qemu_img(&["create", "-f", "qcow2", "-F", "raw", "-b", &base, &hostile]);
    let refused = admin.run(&cmd!("image create --file {hostile} --disk-format qcow2 --container-format bare hostile"));
    assert!(!refused.status.success(), "a qcow2 with a backing file must be refused");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("400") || stderr.contains("backing file"), "{stderr}");
    let left = admin.json(&["image", "list", "--name", "hostile", "--long"]);
    for row in left.as_array().expect("list") {
        assert_eq!(field(row, "Status"), "queued", "the refused image holds no data: {row}");
    }
}
