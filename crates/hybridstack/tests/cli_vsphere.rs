//! End-to-end: a vCenter (govmomi's simulator over HTTPS) as the only cloud, driven by the
//! unmodified `openstack` CLI, with VMware's own SDK (pyvmomi) checking the vCenter behind
//! the API. The cloud is registered with its password sealed in the store and its
//! certificate trusted through `--ca-file`; a raw image uploaded to Glance is copied onto the
//! datastore when a server first boots from it; the server runs as a VM pyvmomi finds by our
//! id, stops, starts, reboots, suspends and resumes, shows SHUTOFF when powered off behind
//! our back (the reconciler, which also deletes a VM marked as ours that no server owns),
//! resizes (reverted, then confirmed),
//! is imaged (createImage) and rebuilt from its image, refuses a pause with the reason, and
//! is deleted; a server on a network gets a NIC with its port's MAC on the network's port group
//! (a VLAN of the cloud's range) and a binding that says no port filter enforces its security
//! group; after the image and the network are deleted too, pyvmomi
//! finds nothing of ours.
//!
//! Needs the test venv with pyvmomi and the simulator binary (scripts/install-test-deps).

mod support;

use std::time::{Duration, Instant};

use hybridstack_driver_vsphere::test_support::{start_vcsim, DATACENTER, PASSWORD};
use serde_json::Value;
use support::cli::{field, Cli};
use support::vsphere::{add_cloud, cloud_cmd, inventory as pyvmomi, nothing_left};

const CLOUD: &str = "vc-e2e";

#[test]
fn a_vcenter_cloud_through_the_openstack_cli_as_pyvmomi_sees_it() {
    let sim = start_vcsim();
    let server = support::start_reconciling();
    let cert = sim.cert_file.display().to_string();
    let add = |password: &str, extra: &[&str]| add_cloud(&server, &sim.url, CLOUD, password, extra);
    // A self-signed certificate is refused unless trusted or --insecure; a wrong password is
    // refused with the reason; neither stores anything.
    let refused = add(PASSWORD, &[]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not trusted"), "{refused:?}");
    let refused = add("wrong", &["--ca-file", &cert]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("refused the login"), "{refused:?}");
    let refused = add(PASSWORD, &["--ca-file", &cert, "--zone", "no spaces"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Invalid availability zone"), "{refused:?}");
    let added = add(PASSWORD, &["--ca-file", &cert]);
    assert!(added.status.success(), "{added:?}");
    assert!(String::from_utf8_lossy(&added.stdout).contains("VMware vCenter Server 6.5"), "{added:?}");
    // The password is sealed: it is in no file of the data dir.
    for entry in std::fs::read_dir(server.data.path()).expect("data dir").flatten() {
        if entry.path().is_file() {
            let bytes = std::fs::read(entry.path()).expect("read");
            assert!(!bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()), "{}", entry.path().display());
        }
    }
    let check = cloud_cmd(&server, "", &["check"]);
    let check_out = String::from_utf8_lossy(&check.stdout).to_string();
    assert!(check.status.success(), "{check:?}");
    assert!(check_out.contains(&format!("{CLOUD}: ok (VMware vCenter Server")), "{check_out}");
    assert!(check_out.contains(&format!("{CLOUD}: clock skew")), "{check_out}");

    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    // The cluster's hosts' capacity, as the cloud's one hypervisor.
    let hypervisors = admin.json(&["hypervisor", "list", "--long"]);
    let vc = hypervisors.as_array().unwrap().iter().find(|h| h["Hypervisor Hostname"] == CLOUD).expect("listed");
    assert_eq!(vc["Hypervisor Type"], "VMware vCenter Server", "{hypervisors}");
    assert!(vc["vCPUs"].as_u64().unwrap() > 0 && vc["Memory MB"].as_u64().unwrap() > 0, "{hypervisors}");

    let work = tempfile::tempdir().unwrap();
    let image = support::vsphere::upload_raw(&admin, 2, "tiny-raw");
    admin.json(&["flavor", "create", "--vcpus", "2", "--ram", "256", "--disk", "1", "v.small"]);

    let vm = admin.json(&[
        "server",
        "create",
        "--image",
        &image,
        "--flavor",
        "v.small",
        "--no-network",
        "--availability-zone",
        CLOUD,
        "--wait",
        "on-vc",
    ]);
    assert_eq!(field(&vm, "status"), "ACTIVE", "{vm}");
    assert_eq!(field(&vm, "OS-EXT-AZ:availability_zone"), CLOUD, "{vm}");
    let id = field(&vm, "id").to_string();
    // The image was copied onto the datastore as it booted, and Glance knows the copy.
    let shown = admin.json(&["image", "show", &image]);
    assert!(shown["properties"].to_string().contains(CLOUD), "{shown}");

    let inv = pyvmomi(&sim);
    let vms = inv["vms"].as_array().unwrap();
    assert_eq!(vms.len(), 1, "{inv}");
    assert_eq!(vms[0]["instance_uuid"], id.as_str());
    assert_eq!(vms[0]["extra"]["hybridstack.id"], id.as_str());
    assert_eq!(vms[0]["extra"]["hybridstack.cloud"], CLOUD);
    assert_eq!(vms[0]["power"], "poweredOn");
    assert_eq!((vms[0]["num_cpu"].clone(), vms[0]["memory_mb"].clone()), (Value::from(2), Value::from(256)));
    assert_eq!(vms[0]["disks"][0]["capacity_kb"], 1 << 20, "{inv}");

    admin.ok(&["server", "stop", "on-vc"]);
    admin.wait_status("server", "on-vc", &["SHUTOFF"]);
    assert_eq!(pyvmomi(&sim)["vms"][0]["power"], "poweredOff");
    admin.ok(&["server", "start", "on-vc"]);
    admin.wait_status("server", "on-vc", &["ACTIVE"]);
    admin.ok(&["server", "reboot", "--hard", "on-vc"]);
    admin.wait_status("server", "on-vc", &["ACTIVE"]);
    admin.ok(&["server", "suspend", "on-vc"]);
    admin.wait_status("server", "on-vc", &["SUSPENDED"]);
    assert_eq!(pyvmomi(&sim)["vms"][0]["power"], "suspended");
    admin.ok(&["server", "resume", "on-vc"]);
    admin.wait_status("server", "on-vc", &["ACTIVE"]);
    // The reconciler: a VM powered off behind our back shows SHUTOFF, and a VM marked as
    // this installation's and this cloud's that no server owns is deleted, files and all.
    support::vsphere::pyvmomi(&sim, &["power-off", &id]);
    admin.wait_status("server", "on-vc", &["SHUTOFF"]);
    admin.ok(&["server", "start", "on-vc"]);
    admin.wait_status("server", "on-vc", &["ACTIVE"]);
    let orphan = "00000000-0000-4000-8000-0000000000ab";
    let marks = [
        format!("hybridstack.id={orphan}"),
        format!("hybridstack.cloud={CLOUD}"),
        format!("hybridstack.installation={}", support::guest::installation(&server)),
    ];
    let args = ["create-vm", DATACENTER, support::vsphere::FOLDER, orphan, orphan];
    support::vsphere::pyvmomi(&sim, &[&args[..], &marks.iter().map(String::as_str).collect::<Vec<_>>()].concat());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let inv = pyvmomi(&sim);
        let files = inv["files"].to_string();
        if inv["vms"].as_array().map(Vec::len) == Some(1) && !files.contains(orphan) {
            break;
        }
        if std::time::Instant::now() > deadline {
            let log = std::fs::read_to_string(server.data.path().join("serve.log")).unwrap_or_default();
            let warned: Vec<&str> = log.lines().filter(|l| l.contains("WARN") || l.contains("orphan")).collect();
            panic!("the orphan VM was not deleted: {inv}\nthe server's warnings:\n{}", warned.join("\n"));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // Resize: revert puts CPUs, memory and disk back; confirm keeps the new size.
    admin.json(&["flavor", "create", "--vcpus", "4", "--ram", "512", "--disk", "2", "v.large"]);
    let shape = |sim: &hybridstack_driver_vsphere::test_support::Vcsim| {
        let vm = pyvmomi(sim)["vms"][0].clone();
        (vm["num_cpu"].as_u64(), vm["memory_mb"].as_u64(), vm["disks"][0]["capacity_kb"].as_u64())
    };
    admin.ok(&["server", "resize", "--flavor", "v.large", "--wait", "on-vc"]);
    admin.wait_status("server", "on-vc", &["VERIFY_RESIZE"]);
    assert_eq!(shape(&sim), (Some(4), Some(512), Some(2 << 20)));
    admin.ok(&["server", "resize", "revert", "on-vc"]);
    admin.wait_status("server", "on-vc", &["ACTIVE"]);
    assert_eq!(shape(&sim), (Some(2), Some(256), Some(1 << 20)));
    admin.ok(&["server", "resize", "--flavor", "v.large", "--wait", "on-vc"]);
    admin.wait_status("server", "on-vc", &["VERIFY_RESIZE"]);
    admin.ok(&["server", "resize", "confirm", "on-vc"]);
    let resized = admin.wait_status("server", "on-vc", &["ACTIVE"]);
    assert!(resized["flavor"].to_string().contains("v.large"), "{resized}");
    assert_eq!(shape(&sim), (Some(4), Some(512), Some(2 << 20)));

    // A volume: a VMDK on the datastore, hot-attached to the running VM and detached again.
    let vol = admin.json(&["volume", "create", "--size", "1", "--availability-zone", CLOUD, "vc-vol"]);
    let vol_id = field(&vol, "id").to_string();
    admin.wait_status("volume", "vc-vol", &["available"]);
    admin.ok(&["volume", "set", "--size", "2", "vc-vol"]);
    admin.wait_status("volume", "vc-vol", &["available"]);
    admin.ok(&["server", "add", "volume", "on-vc", "vc-vol"]);
    admin.wait_status("volume", "vc-vol", &["in-use"]);
    let disks = pyvmomi(&sim)["vms"][0]["disks"].clone();
    let attached = disks.as_array().unwrap().iter().find(|d| d["file"].as_str().unwrap().contains(&vol_id)).cloned();
    assert_eq!(attached.expect("the volume's disk")["capacity_kb"], 2 << 20, "{disks}");
    admin.ok(&["server", "remove", "volume", "on-vc", "vc-vol"]);
    admin.wait_status("volume", "vc-vol", &["available"]);
    assert_eq!(pyvmomi(&sim)["vms"][0]["disks"].as_array().unwrap().len(), 1);
    admin.ok(&["volume", "delete", "vc-vol"]);

    // createImage: the root disk copied into the datastore's image store, as a Glance image
    // with its location on this cloud; the server is rebuilt from it.
    let snap = admin.json(&["server", "image", "create", "--name", "vc-snap", "--wait", "on-vc"]);
    let snap_id = field(&snap, "id").to_string();
    let shown = admin.json(&["image", "show", &snap_id]);
    assert_eq!(field(&shown, "status"), "active", "{shown}");
    assert!(shown["properties"].to_string().contains(CLOUD), "{shown}");
    admin.ok(&["server", "rebuild", "--image", &snap_id, "--wait", "on-vc"]);
    admin.wait_status("server", "on-vc", &["ACTIVE"]);
    assert_eq!(pyvmomi(&sim)["vms"][0]["power"], "poweredOn");

    // The console file is empty (the simulator runs no guest), which the API shows as is.
    admin.ok(&["console", "log", "show", "on-vc"]);
    let paused = admin.run(&["server", "pause", "on-vc"]);
    assert!(!paused.status.success(), "a vSphere VM cannot pause");
    assert!(String::from_utf8_lossy(&paused.stderr).contains("not supported by cloud vc-e2e"), "{paused:?}");

    let listed = admin.json(&["server", "list", "--long"]);
    assert!(
        listed.as_array().unwrap().iter().any(|s| s["Name"] == "on-vc" && s["Availability Zone"] == CLOUD),
        "{listed}"
    );

    // A network is a port group on a VLAN of the cloud's range; a port, a NIC with its MAC.
    // The server boots from an image copied onto the datastore beforehand (Glance's
    // copy-image), with a key pair and a security group (not enforced on this cloud).
    admin.json(&["network", "create", "--availability-zone-hint", CLOUD, "vc-net"]);
    admin.json(&["subnet", "create", "--network", "vc-net", "--subnet-range", "10.20.0.0/24", "vc-sub"]);
    admin.json(&["security", "group", "create", "vc-web"]);
    admin.json(&["security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "vc-web"]);
    let key_file = work.path().join("vc-key");
    admin.json(&["keypair", "create", "--private-key", key_file.to_str().unwrap(), "vc-key"]);
    let copied = support::vsphere::upload_raw(&admin, 3, "copied-raw");
    support::vsphere::copy_to(&admin, &copied, CLOUD);
    let on_net = admin.json(&[
        "server",
        "create",
        "--image",
        &copied,
        "--flavor",
        "v.small",
        "--network",
        "vc-net",
        "--key-name",
        "vc-key",
        "--security-group",
        "vc-web",
        "--availability-zone",
        CLOUD,
        "--wait",
        "on-vc-net",
    ]);
    assert_eq!(field(&on_net, "status"), "ACTIVE", "{on_net}");
    let ports = admin.json(&["port", "list", "--server", "on-vc-net"]);
    let mac = ports[0]["MAC Address"].as_str().expect("a port").to_string();
    // Neutron says the group is not enforced here: the binding has no port filter.
    let bound = admin.json(&["port", "show", ports[0]["ID"].as_str().expect("an id")]);
    assert_eq!(bound["binding_vif_type"], "dvs", "{bound}");
    assert_eq!(bound["binding_vif_details"]["port_filter"], false, "{bound}");
    // Nor can the port take a floating IP: refused with the reason, nothing half made.
    admin.json(&["network", "create", "--external", "vc-public"]);
    admin.json(&["subnet", "create", "--network", "vc-public", "--subnet-range", "203.0.113.0/24", "vc-public-v4"]);
    let port_id = ports[0]["ID"].as_str().expect("an id");
    let refused = admin.run(&["floating", "ip", "create", "--port", port_id, "vc-public"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not supported by this cloud"), "{refused:?}");
    assert_eq!(admin.json(&["floating", "ip", "list"]).as_array().map(Vec::len), Some(0));
    admin.ok(&["network", "delete", "vc-public"]);
    let inv = pyvmomi(&sim);
    let vm = inv["vms"].as_array().unwrap().iter().find(|v| v["extra"]["hybridstack.id"] == field(&on_net, "id"));
    let nic = &vm.expect("the VM")["nics"][0];
    assert_eq!(nic["mac"], mac.as_str(), "{inv}");
    let network_id = field(&admin.json(&["network", "show", "vc-net"]), "id").to_string();
    let group = inv["port_groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == nic["portgroup"])
        .unwrap_or_else(|| panic!("the NIC's port group: {inv}"))
        .clone();
    assert!(group["description"].as_str().unwrap().contains(&network_id), "{group}");
    assert!((100..=199).contains(&group["vlan"].as_u64().unwrap()), "{group}");
    admin.ok(&["server", "delete", "--wait", "on-vc-net"]);
    admin.ok(&["network", "delete", "vc-net"]);
    admin.ok(&["image", "delete", &copied]);

    admin.ok(&["server", "delete", "--wait", "on-vc"]);
    admin.ok(&["image", "delete", &image, "vc-snap"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let inv = pyvmomi(&sim);
        if nothing_left(&inv) {
            break;
        }
        // The image's copy is purged by an engine operation queued with the delete.
        assert!(Instant::now() < deadline, "left in the vCenter: {inv}");
        std::thread::sleep(Duration::from_millis(300));
    }
}
