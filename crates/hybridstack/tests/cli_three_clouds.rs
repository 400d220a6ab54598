//! End-to-end: one project runs a server on each of three clouds at once (the local libvirtd
//! under TCG, an AWS region on the moto server, and a vCenter on govmomi's simulator) through
//! the unmodified `openstack` CLI, and `openstack server list --long` shows all three with
//! their zones. After the deletes, neither moto nor the vCenter (as pyvmomi sees it) holds
//! anything of ours.
//!
//! Needs libvirtd, the test guest, and the test venv with moto and pyvmomi, and the simulator
//! (scripts/install-test-deps).

mod support;

use hybridstack_driver_aws::test_support::start_moto;
use hybridstack_driver_vsphere::test_support::start_vcsim;
use serde_json::Value;
use support::cli::{field, Cli};

const SECRET: &str = "e2e-three-clouds-secret";

#[test]
fn one_project_runs_a_server_on_kvm_aws_and_vcenter_and_lists_them_together() {
    let moto = start_moto();
    let sim = start_vcsim();
    let server = support::start_with(&[("HYBRIDSTACK_SHUTDOWN_TIMEOUT_SECS", "10")]);
    let kvm = format!("kvm-{}", std::process::id());
    let _leftovers = support::guest::Leftovers::new(&server, &kvm);
    support::guest::add_libvirt_cloud(&server, &kvm);
    let ami = support::aws::add_cloud(&server, SECRET, "aws-3", &moto.url, &[]);
    support::vsphere::add_trusted_cloud(&server, &sim, "vc-3");

    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    let guest = support::guest::upload_test_guest(&admin, "guest");
    admin.json(&["flavor", "create", "--vcpus", "1", "--ram", "192", "--disk", "1", "g.small"]);
    let disk = support::vsphere::upload_raw(&admin, 2, "disk-raw");

    let create = |name: &str, image: &str, flavor: &str, zone: &str| {
        let made = admin.json(&[
            "server",
            "create",
            "--image",
            image,
            "--flavor",
            flavor,
            "--no-network",
            "--availability-zone",
            zone,
            "--wait",
            name,
        ]);
        assert_eq!(field(&made, "status"), "ACTIVE", "{made}");
        assert_eq!(field(&made, "OS-EXT-AZ:availability_zone"), zone, "{made}");
    };
    create("on-kvm", &guest, "g.small", &kvm);
    create("on-aws", &ami, "t3.micro", "aws-3");
    create("on-vc", &disk, "g.small", "vc-3");

    let listed = admin.json(&["server", "list", "--long"]);
    let zone_of = |name: &str| {
        listed.as_array().and_then(|l| l.iter().find(|s| s["Name"] == name)).map(|s| s["Availability Zone"].clone())
    };
    assert_eq!(zone_of("on-kvm"), Some(Value::from(kvm.as_str())), "{listed}");
    assert_eq!(zone_of("on-aws"), Some(Value::from("aws-3")), "{listed}");
    assert_eq!(zone_of("on-vc"), Some(Value::from("vc-3")), "{listed}");
    for s in listed.as_array().expect("a list") {
        assert_eq!(s["Status"], "ACTIVE", "{listed}");
    }
    assert_eq!(support::vsphere::inventory(&sim)["vms"].as_array().map(Vec::len), Some(1));

    admin.ok(&["server", "delete", "--wait", "on-kvm", "on-aws", "on-vc"]);
    admin.ok(&["image", "delete", &disk]);
    let live: Vec<_> =
        support::aws::ec2_instances(&moto.url).into_iter().filter(|(_, state, _)| state != "terminated").collect();
    assert!(live.is_empty(), "moto still runs instances of ours: {live:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let inv = support::vsphere::inventory(&sim);
        if support::vsphere::nothing_left(&inv) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "left in the vCenter: {inv}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}
