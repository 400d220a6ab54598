//! Undo and retry on a vCenter cloud, with faults injected at the wire: the cloud is
//! registered through a small fault-injecting HTTP proxy in front of the simulator (which has
//! no fault injection of its own), which refuses a chosen vim25 call with a fault, cuts it
//! before it reaches the vCenter, or passes it on and loses the answer. For each step of a
//! server's create on a network: a refused call ends the server in ERROR with the reason
//! (what the failed create made is taken back, or goes with the server's delete); a cut or
//! lost one is retried and the server is ACTIVE, with one VM, not two. After every case the
//! server is deleted, and at the end VMware's pyvmomi finds nothing of ours in the vCenter
//! but the image's copy.
//!
//! Needs the simulator and the test venv with pyvmomi (scripts/install-test-deps).

mod support;

use std::time::{Duration, Instant};

use hybridstack_driver_vsphere::test_support::{start_vcsim_plain, Failure, FaultProxy, PASSWORD};
use support::cli::{field, Cli};

const CLOUD: &str = "vc-faults";

#[test]
fn vcenter_faults_at_each_step_are_undone_or_retried() {
    let sim = start_vcsim_plain();
    let proxy = FaultProxy::start(&sim.url);
    let server = support::start_with(&[("HYBRIDSTACK_RECONCILE_INTERVAL_SECS", "3600")]);
    let added = support::vsphere::add_cloud(&server, &proxy.url, CLOUD, PASSWORD, &[]);
    assert!(added.status.success(), "{added:?}");
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    let image = support::vsphere::upload_raw(&admin, 2, "disk");
    admin.json(&["flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", "f1"]);
    admin.json(&["network", "create", "--availability-zone-hint", CLOUD, "net"]);
    admin.json(&["subnet", "create", "--network", "net", "--subnet-range", "10.61.0.0/24", "net-v4"]);

    let cases: [(&str, Failure, &str); 9] = [
        ("CreateVM_Task", Failure::Refuse("InsufficientResourcesFault"), "ERROR"),
        ("CreateVM_Task", Failure::Cut, "ACTIVE"),
        ("CreateVM_Task", Failure::Lose, "ACTIVE"),
        ("AddDVPortgroup_Task", Failure::Refuse("DvsFault"), "ERROR"),
        ("AddDVPortgroup_Task", Failure::Lose, "ACTIVE"),
        ("CopyVirtualDisk_Task", Failure::Refuse("NoDiskSpace"), "ERROR"),
        ("ReconfigVM_Task", Failure::Cut, "ACTIVE"),
        ("PowerOnVM_Task", Failure::Lose, "ACTIVE"),
        ("PowerOnVM_Task", Failure::Refuse("InsufficientResourcesFault"), "ERROR"),
    ];
    for (i, (method, how, want)) in cases.into_iter().enumerate() {
        let name = format!("s{i}");
        let before = proxy.injected();
        proxy.fail(method, 1, how);
        admin.ok(&[
            "server",
            "create",
            "--image",
            &image,
            "--flavor",
            "f1",
            "--network",
            "net",
            "--availability-zone",
            CLOUD,
            &name,
        ]);
        let shown = admin.wait_status("server", &name, &["ACTIVE", "ERROR"]);
        assert_eq!(proxy.injected(), before + 1, "{method} {how:?} was not injected");
        assert_eq!(field(&shown, "status"), want, "{method} {how:?}: {shown}");
        let id = field(&shown, "id").to_string();
        let inv = support::vsphere::inventory(&sim);
        let vms = inv["vms"].as_array().map_or(0, |v| v.iter().filter(|vm| vm["name"] == id.as_str()).count());
        assert!(vms <= 1, "{method} {how:?}: {vms} VMs for one server: {inv}");
        if want == "ACTIVE" {
            assert_eq!(vms, 1, "{method} {how:?}: {inv}");
        }
        admin.ok(&["server", "delete", "--wait", &name]);
        let inv = support::vsphere::inventory(&sim);
        assert!(inv["vms"].as_array().is_some_and(Vec::is_empty), "{method} {how:?}: left {inv}");
    }

    admin.ok(&["network", "delete", "net"]);
    admin.ok(&["image", "delete", &image]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let inv = support::vsphere::inventory(&sim);
        if support::vsphere::nothing_left(&inv) {
            break;
        }
        assert!(Instant::now() < deadline, "left in the vCenter: {inv}");
        std::thread::sleep(Duration::from_millis(300));
    }
}
