//! End-to-end: one project runs a server on each of three clouds at once (the local libvirtd
//! under TCG, an AWS region on the moto server, and a vCenter on govmomi's simulator) through
//! the unmodified `openstack` CLI, and `openstack server list --long` shows all three with
//! their zones. The KVM host and the vCenter are registered in one zone, `private`, so the
//! zone lists two zones, a server goes to one cloud of it by Nova's `zone:host`, and a volume
//! asked for in it shows that zone. After the deletes, neither moto nor the vCenter (as pyvmomi sees it) holds
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
    // The KVM host and the vCenter make up one zone, "private"; the AWS region is its own.
    support::guest::add_libvirt_cloud_with(&server, &kvm, &["--zone", "private"]);
    let ami = support::aws::add_cloud(&server, SECRET, "aws-3", &moto.url, &[]);
    support::vsphere::add_trusted_cloud(&server, &sim, "vc-3", &["--zone", "private"]);

    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    let mut zones: Vec<String> = admin
        .json(&["availability", "zone", "list", "--compute"])
        .as_array()
        .expect("a list")
        .iter()
        .map(|z| z["Zone Name"].as_str().unwrap_or_default().to_string())
        .collect();
    zones.sort();
    assert_eq!(zones, ["aws-3", "private"]);
    let guest = support::guest::upload_test_guest(&admin, "guest");
    admin.json(&["flavor", "create", "--vcpus", "1", "--ram", "192", "--disk", "1", "g.small"]);
    let disk = support::vsphere::upload_raw(&admin, 2, "disk-raw");

    // Nova's zone:host picks one cloud of a zone.
    let create = |name: &str, image: &str, flavor: &str, zone: &str, cloud: &str| {
        let args = ["server", "create", "--image", image, "--flavor", flavor, "--no-network"];
        let made = admin.json(&[&args[..], &["--availability-zone", zone, "--wait", name]].concat());
        assert_eq!(field(&made, "status"), "ACTIVE", "{made}");
        assert_eq!(field(&made, "OS-EXT-AZ:availability_zone"), zone.split(':').next().unwrap_or_default(), "{made}");
        assert_eq!(field(&made, "OS-EXT-SRV-ATTR:host"), cloud, "{made}");
    };
    create("on-kvm", &guest, "g.small", &format!("private:{kvm}"), &kvm);
    create("on-aws", &ami, "t3.micro", "aws-3", "aws-3");
    create("on-vc", &disk, "g.small", "private:vc-3", "vc-3");

    let listed = admin.json(&["server", "list", "--long"]);
    let zone_of = |name: &str| {
        listed.as_array().and_then(|l| l.iter().find(|s| s["Name"] == name)).map(|s| s["Availability Zone"].clone())
    };
    assert_eq!(zone_of("on-kvm"), Some(Value::from("private")), "{listed}");
    assert_eq!(zone_of("on-aws"), Some(Value::from("aws-3")), "{listed}");
    assert_eq!(zone_of("on-vc"), Some(Value::from("private")), "{listed}");
    for s in listed.as_array().expect("a list") {
        assert_eq!(s["Status"], "ACTIVE", "{listed}");
    }
    let in_private = admin.json(&["server", "list", "--availability-zone", "private"]);
    let mut names: Vec<&str> =
        in_private.as_array().expect("a list").iter().filter_map(|s| s["Name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["on-kvm", "on-vc"], "{in_private}");
    assert_eq!(support::vsphere::inventory(&sim)["vms"].as_array().map(Vec::len), Some(1));
    // A volume asked for in the zone goes to one of its clouds and shows the zone; a zone
    // nobody is in is refused.
    admin.json(&["volume", "create", "--size", "1", "--availability-zone", "private", "v-private"]);
    let vol = admin.wait_status("volume", "v-private", &["available"]);
    assert_eq!(field(&vol, "availability_zone"), "private", "{vol}");
    let refused = admin.run(&["volume", "create", "--size", "1", "--availability-zone", "nowhere", "v-nowhere"]);
    assert!(!refused.status.success(), "{refused:?}");
    admin.ok(&["volume", "delete", "v-private"]);

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
