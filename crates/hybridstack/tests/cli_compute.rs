//! End-to-end: the `openstack` CLI drives servers on a real libvirtd (QEMU under TCG), booting
//! the project's test guest (guest/build-test-guest). It checks what the guest itself says on
//! its serial console, including the address its DHCP client got (the one Neutron assigned),
//! and that deleting the server leaves no domain, disk or network behind in libvirt.
//!
//! Needs libvirtd on qemu:///system and the built guest (scripts/install-test-deps does both).

mod support;

use serde_json::Value;
use support::cli::{cmd, field, Cli};
use support::guest::virsh;
use support::wait_for;

fn status(cli: &Cli, server: &str) -> String {
    field(&cli.json(&["server", "show", server]), "status").to_string()
}

#[test]
fn the_openstack_cli_runs_a_guest_on_libvirt() {
    assert!(
        virsh(&["version"]).contains("libvirt") || !virsh(&["uri"]).is_empty(),
        "libvirtd does not answer on qemu:///system: run scripts/lib/libvirt-up"
    );
    let support::guest::KvmPlatform { server, leftovers, cloud, admin } = support::guest::kvm_platform("cli");
    support::guest::upload_test_guest(&admin, "guest");
    admin.json(&["flavor", "create", "--vcpus", "1", "--ram", "192", "--disk", "1", "g.small"]);
    admin.json(&["flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "2", "g.medium"]);
    let net = admin.json(&["network", "create", "guests"]);
    leftovers.networks.borrow_mut().push(field(&net, "id").to_string());
    admin.json(&["subnet", "create", "--network", "guests", "--subnet-range", "10.97.0.0/24", "guests-v4"]);

    let created = admin.json(&cmd!("server create --image guest --flavor g.small --network guests --wait vm1"));
    assert_eq!(field(&created, "status"), "ACTIVE", "{created}");
    assert_eq!(field(&created, "OS-EXT-AZ:availability_zone"), cloud);
    let id = field(&created, "id").to_string();
    let listed = admin.json(&["server", "list"]);
    assert!(listed.as_array().is_some_and(|l| l.iter().any(|s| s["ID"] == id.as_str())), "{listed}");

    // The address and MAC Neutron assigned are what the guest's DHCP client reports.
    let ports = admin.json(&["port", "list", "--server", &id, "--long"]);
    let port = &ports[0];
    let mac = port["MAC Address"].as_str().unwrap_or_default().to_string();
    // Bound to the cloud as a bridge port whose security groups an nwfilter enforces.
    let bound = admin.json(&["port", "show", port["ID"].as_str().expect("an id")]);
    assert_eq!(bound["binding_vif_type"], "bridge", "{bound}");
    assert_eq!(bound["binding_vif_details"]["port_filter"], true, "{bound}");
    let fixed = &port["Fixed IP Addresses"];
    let ip = match fixed {
        Value::Array(a) => a.first().and_then(|f| f["ip_address"].as_str()).unwrap_or_default().to_string(),
        // Older clients print the list as a Python repr string.
        Value::String(s) => {
            s.split("'ip_address': '").nth(1).and_then(|r| r.split('\'').next()).unwrap_or_default().into()
        }
        _ => String::new(),
    };
    assert!(ip.starts_with("10.97.0."), "port address {fixed}");
    let expected = format!("hybridstack-test-guest: eth0 {ip}/24 mac {mac}");
    let log = wait_for("the guest's DHCP line on its console", 120, || {
        let log = admin.ok(&["console", "log", "show", "vm1"]);
        assert!(!log.contains("hybridstack-test-guest: dhcp failed"), "DHCP failed in the guest:\n{log}");
        log.contains(&expected).then_some(log)
    });
    // The guest named itself from its config drive.
    assert!(log.contains("hybridstack-test-guest: config drive: hostname vm1"), "{log}");

    admin.ok(&["server", "stop", "vm1"]);
    wait_for("SHUTOFF", 60, || (status(&admin, "vm1") == "SHUTOFF").then_some(String::new()));
    assert!(virsh(&["list", "--state-shutoff", "--name"]).contains(&format!("hs-{id}")));
    admin.ok(&["server", "start", "vm1"]);
    wait_for("ACTIVE after start", 60, || (status(&admin, "vm1") == "ACTIVE").then_some(String::new()));
    admin.ok(&["server", "reboot", "--hard", "--wait", "vm1"]);
    assert_eq!(status(&admin, "vm1"), "ACTIVE");
    admin.ok(&["server", "pause", "vm1"]);
    wait_for("PAUSED", 60, || (status(&admin, "vm1") == "PAUSED").then_some(String::new()));
    assert!(virsh(&["list", "--state-paused", "--name"]).contains(&format!("hs-{id}")));
    admin.ok(&["server", "unpause", "vm1"]);
    wait_for("ACTIVE after unpause", 60, || (status(&admin, "vm1") == "ACTIVE").then_some(String::new()));
    admin.ok(&["server", "suspend", "vm1"]);
    wait_for("SUSPENDED", 60, || (status(&admin, "vm1") == "SUSPENDED").then_some(String::new()));
    assert!(virsh(&["list", "--all", "--with-managed-save", "--name"]).contains(&format!("hs-{id}")), "saved to disk");
    admin.ok(&["server", "resume", "vm1"]);
    wait_for("ACTIVE after resume", 60, || (status(&admin, "vm1") == "ACTIVE").then_some(String::new()));

    admin.ok(&["server", "resize", "--flavor", "g.medium", "--wait", "vm1"]);
    assert_eq!(status(&admin, "vm1"), "VERIFY_RESIZE");
    admin.ok(&["server", "resize", "confirm", "vm1"]);
    wait_for("ACTIVE after confirm", 60, || (status(&admin, "vm1") == "ACTIVE").then_some(String::new()));
    let shown = admin.json(&["server", "show", "vm1"]);
    assert!(shown["flavor"].to_string().contains("g.medium"), "{shown}");
    assert!(virsh(&["dumpxml", &format!("hs-{id}")]).contains("262144"), "the domain has 256 MiB after the resize");

    let image = admin.json(&["server", "image", "create", "--name", "vm1-snap", "--wait", "vm1"]);
    assert_eq!(field(&image, "status"), "active", "{image}");
    let snap = admin.json(&["image", "show", "vm1-snap"]);
    assert_eq!(field(&snap, "disk_format"), "qcow2");
    assert!(snap["properties"].to_string().contains(&id), "the snapshot names its server: {snap}");

    admin.ok(&["server", "delete", "--wait", "vm1"]);
    let gone = admin.run(&["server", "show", "vm1"]);
    assert!(!gone.status.success(), "the server is gone");
    assert!(!virsh(&["list", "--all", "--name"]).contains(&format!("hs-{id}")), "no domain is left");
    assert!(!virsh(&["net-list", "--all", "--name"]).contains(field(&net, "id")), "no libvirt network is left");
    let vols = virsh(&["vol-list", &support::guest::pool_of(&server, &cloud)]);
    assert!(!vols.contains(&format!("disk-{id}")), "no disk is left: {vols}");
    let ports: Value = admin.json(&["port", "list", "--network", "guests"]);
    assert_eq!(ports.as_array().map(Vec::len), Some(0), "no port is left: {ports}");
}
