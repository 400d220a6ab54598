//! The vSphere driver against govmomi's vCenter simulator over real HTTPS, with VMware's
//! own Python SDK (pyvmomi) checking what the driver left in the vCenter.

use std::process::Command;

use hybridstack_driver::{ComputeQuery, DiskFormat, DriverError, ImageSource, OwnershipQuery, PowerAction, PowerState};
use hybridstack_driver_act::{Compute, ImageStore};
use hybridstack_driver_vsphere::test_support::{start_vcsim, Vcsim, PASSWORD, USER};
use hybridstack_driver_vsphere::{VsphereCloud, VsphereConfig};

const INSTALLATION: &str = "0b7c5a3e-0000-4000-8000-00000000a001";

async fn open(sim: &Vcsim, cfg: VsphereConfig) -> Result<VsphereCloud, DriverError> {
    let _ = sim;
    VsphereCloud::open("vc1", INSTALLATION, cfg, PASSWORD).await
}

/// What pyvmomi sees (see tests/pyvmomi_view.py).
fn pyvmomi(sim: &Vcsim, command: &str) -> serde_json::Value {
    pyvmomi_args(sim, &[command])
}

fn pyvmomi_args(sim: &Vcsim, args: &[&str]) -> serde_json::Value {
    let command = args[0];
    let venv = std::env::var("HYBRIDSTACK_TEST_VENV").unwrap_or_else(|_| "/var/tmp/hybridstack-venv".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyvmomi_view.py");
    let out = Command::new(format!("{venv}/bin/python"))
        .arg(script)
        .args([&sim.url, USER])
        .args(args)
        .env("VCENTER_PASSWORD", PASSWORD)
        .output()
        .expect("run pyvmomi_view.py (scripts/install-test-deps installs pyvmomi)");
    assert!(out.status.success(), "pyvmomi_view.py {command}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON from pyvmomi_view.py")
}

fn err_text<T>(r: Result<T, DriverError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_logins_and_places_are_checked_when_a_cloud_opens() {
    let sim = start_vcsim();
    let cloud = open(&sim, sim.config()).await.expect("opens trusting the simulator's certificate");
    assert_eq!(cloud.name(), "vc1");

    let untrusted = VsphereConfig { ca_file: None, ..sim.config() };
    let e = err_text(open(&sim, untrusted.clone()).await);
    assert!(e.contains("certificate is not trusted") && e.contains("--insecure"), "{e}");
    open(&sim, VsphereConfig { insecure: true, ..untrusted }).await.expect("--insecure accepts it");

    let e = err_text(VsphereCloud::open("vc1", INSTALLATION, sim.config(), "wrong").await);
    assert!(e.contains("refused the login") && e.contains(USER), "{e}");
    assert!(!e.contains(PASSWORD), "{e}");

    let e = err_text(open(&sim, VsphereConfig { cluster: "nope".into(), ..sim.config() }).await);
    assert!(e.contains("no cluster") && e.contains("DC0/host/nope"), "{e}");
    let e = err_text(open(&sim, VsphereConfig { datastore: "nope".into(), ..sim.config() }).await);
    assert!(e.contains("no datastore"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_version_and_clock_come_from_the_vcenter() {
    let sim = start_vcsim();
    let cloud = open(&sim, sim.config()).await.unwrap();
    let cap = cloud.capacity().await.unwrap();
    assert_eq!(cap.hypervisor_type, "VMware vCenter Server");
    assert_eq!(cap.hypervisor_hostname, "DC0_C0");
    assert!(cap.vcpus > 0 && cap.memory_mb > 0 && cap.local_gb > 0, "{cap:?}");
    assert!(cap.free_disk_gb <= cap.local_gb, "{cap:?}");
    let h = cloud.health().await.unwrap();
    assert_eq!(h.about.api_type, "VirtualCenter");
    assert!(h.about.version.starts_with("6.5"), "{:?}", h.about);
    // The simulator runs on this host's clock.
    assert!(h.clock_skew_secs.abs() < 300, "{}", h.clock_skew_secs);
    let lines = cloud.describe().await.unwrap();
    assert!(lines[0].contains("VMware vCenter Server") && lines[1].starts_with("clock skew"), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_session_is_opened_again() {
    let sim = start_vcsim();
    let cloud = open(&sim, sim.config()).await.unwrap();
    cloud.capacity().await.unwrap();
    // An administrator ends every other session (pyvmomi's is the one kept).
    assert!(pyvmomi(&sim, "terminate-others").as_u64().unwrap() >= 1);
    // A container view needs a session (the simulator reads properties without one).
    Compute::list_owned(&cloud).await.expect("the driver logs in again");
    cloud.capacity().await.expect("and keeps working");
    assert_eq!(pyvmomi(&sim, "terminate-others"), 1, "the driver's new session");
}

fn raw_image(dir: &std::path::Path, id: &str) -> ImageSource {
    // Not a whole number of sectors: the VMDK extent must be padded.
    let data: Vec<u8> = (0..(3 << 20) + 100).map(|i| (i % 251) as u8).collect();
    let path = dir.join(format!("{id}.raw"));
    std::fs::write(&path, &data).unwrap();
    ImageSource { image_id: id.into(), path, format: DiskFormat::Raw, size: data.len() as u64 }
}

fn spec(id: &str, image_ref: &str) -> hybridstack_driver::ServerSpec {
    hybridstack_driver::ServerSpec {
        id: id.into(),
        name: "web-1".into(),
        flavor_name: "m1.small".into(),
        vcpus: 2,
        ram_mb: 256,
        disk_gb: 1,
        cloud_image: Some(image_ref.into()),
        start: true,
        fresh: true,
        ..Default::default()
    }
}

fn vms_named<'a>(inv: &'a serde_json::Value, name: &str) -> Vec<&'a serde_json::Value> {
    inv["vms"].as_array().unwrap().iter().filter(|v| v["name"] == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_lives_and_dies_as_a_vm_pyvmomi_agrees_with() {
    let sim = start_vcsim();
    let cloud = open(&sim, sim.config()).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let image_id = "5d2b6f44-0d4e-4a53-9a55-1f0e5c0a0001";
    let stored = cloud.put(&raw_image(work.path(), image_id)).await.unwrap();
    assert!(stored.reference.starts_with("[LocalDS_0] hybridstack/") && stored.reference.ends_with(".vmdk"));
    let files = pyvmomi(&sim, "inventory")["files"].clone();
    let files: Vec<&str> = files.as_array().unwrap().iter().filter_map(|f| f.as_str()).collect();
    assert!(files.iter().any(|f| f.ends_with(&format!("{image_id}-flat.vmdk"))), "{files:?}");

    let id = "a1b2c3d4-0000-4000-8000-000000000001";
    let s = spec(id, &stored.reference);
    cloud.ensure_server(&s).await.unwrap();
    // A retried step finds the VM instead of making a second.
    cloud.ensure_server(&hybridstack_driver::ServerSpec { fresh: false, ..s.clone() }).await.unwrap();

    let inv = pyvmomi(&sim, "inventory");
    let vms = vms_named(&inv, id);
    assert_eq!(vms.len(), 1, "{inv}");
    let vm = vms[0];
    assert_eq!(vm["instance_uuid"], id);
    assert_eq!(vm["power"], "poweredOn");
    assert_eq!(vm["num_cpu"], 2);
    assert_eq!(vm["memory_mb"], 256);
    assert_eq!(vm["extra"]["hybridstack.id"], id);
    assert_eq!(vm["extra"]["hybridstack.cloud"], "vc1");
    assert_eq!(vm["extra"]["hybridstack.installation"], INSTALLATION);
    let disks = vm["disks"].as_array().unwrap();
    assert_eq!(disks.len(), 1, "{vm}");
    assert_eq!(disks[0]["capacity_kb"], 1 << 20, "grown to the flavor's 1 GiB: {vm}");
    assert!(disks[0]["file"].as_str().unwrap().ends_with(&format!("{id}/root.vmdk")), "{vm}");

    // The console: a serial port writing to a file in the VM's directory. The simulator's
    // VMs run no guest, so a line is written there as a guest would.
    let serials = vm["serials"].as_array().unwrap();
    assert_eq!(serials.len(), 1, "{vm}");
    assert_eq!(cloud.console_output(id, None).await.unwrap(), "", "nothing written yet");
    let log = work.path().join("console.log");
    std::fs::write(&log, "booting\nlogin: \n").unwrap();
    pyvmomi_args(&sim, &["put", "DC0", serials[0].as_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(cloud.console_output(id, Some(1)).await.unwrap(), "login: ");
    assert!(cloud.console_output(id, None).await.unwrap().starts_with("booting"));

    assert_eq!(cloud.power_state(id).await.unwrap(), PowerState::Running);
    cloud.power(id, PowerAction::Stop).await.unwrap();
    assert_eq!(cloud.power_state(id).await.unwrap(), PowerState::Shutdown);
    cloud.power(id, PowerAction::Stop).await.expect("stopping a stopped VM is done already");
    cloud.power(id, PowerAction::Start).await.unwrap();
    cloud.power(id, PowerAction::Suspend).await.unwrap();
    assert_eq!(cloud.power_state(id).await.unwrap(), PowerState::Suspended);
    cloud.power(id, PowerAction::Resume).await.unwrap();
    cloud.power(id, PowerAction::HardReboot).await.unwrap();
    cloud.power(id, PowerAction::SoftReboot).await.unwrap();
    assert_eq!(cloud.power_state(id).await.unwrap(), PowerState::Running);
    assert!(matches!(cloud.power(id, PowerAction::Pause).await, Err(DriverError::NotSupported(_))));
    assert_eq!(pyvmomi(&sim, "inventory")["vms"][0]["power"], "poweredOn");

    // Resize to 4 vCPUs, 512 MiB and a 2 GiB disk, revert to the old flavor (the disk too),
    // resize again and confirm.
    let bigger = hybridstack_driver::ServerSpec { vcpus: 4, ram_mb: 512, disk_gb: 2, fresh: false, ..s.clone() };
    let shape = |sim: &Vcsim| {
        let inv = pyvmomi(sim, "inventory");
        let vm = vms_named(&inv, id)[0].clone();
        (vm["num_cpu"].clone(), vm["memory_mb"].clone(), vm["disks"][0]["capacity_kb"].clone(), vm["power"].clone())
    };
    cloud.resize(&bigger).await.unwrap();
    assert_eq!(shape(&sim), (4.into(), 512.into(), (2 << 20).into(), "poweredOn".into()));
    cloud.revert_resize(&hybridstack_driver::ServerSpec { fresh: false, ..s.clone() }).await.unwrap();
    assert_eq!(shape(&sim), (2.into(), 256.into(), (1 << 20).into(), "poweredOn".into()));
    cloud.resize(&bigger).await.unwrap();
    cloud.resize(&bigger).await.expect("a retried resize finds it done");
    let files = pyvmomi(&sim, "inventory")["files"].to_string();
    assert!(files.contains(&format!("{id}/root.pre-resize-flat.vmdk")), "the copy kept for a revert: {files}");
    cloud.confirm_resize(id).await.unwrap();
    cloud.confirm_resize(id).await.expect("confirming again is done already");
    assert_eq!(shape(&sim), (4.into(), 512.into(), (2 << 20).into(), "poweredOn".into()));
    let files = pyvmomi(&sim, "inventory")["files"].to_string();
    assert!(!files.contains("pre-resize"), "the copy kept for a revert is gone: {files}");

    let owned = Compute::list_owned(&cloud).await.unwrap();
    assert_eq!(owned.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), vec![id]);
    // Another installation on the same vCenter sees the VM as foreign, never as its own.
    let other = VsphereCloud::open("vc1", "another-installation", sim.config(), PASSWORD).await.unwrap();
    assert!(Compute::list_owned(&other).await.unwrap().is_empty());
    assert!(other.power_state(id).await.is_err());
    other.delete_server(id).await.expect("not its VM: nothing to delete");
    let foreign = other.list_foreign().await.unwrap();
    assert_eq!(foreign.len(), 1, "{foreign:?}");
    assert_eq!(foreign[0].id, id);

    cloud.delete_server(id).await.unwrap();
    cloud.delete_server(id).await.expect("deleting what is gone succeeds");
    assert!(vms_named(&pyvmomi(&sim, "inventory"), id).is_empty());
    assert!(Compute::list_owned(&cloud).await.unwrap().is_empty());

    cloud.delete(image_id, &stored.reference).await.unwrap();
    cloud.delete(image_id, &stored.reference).await.expect("deleting what is gone succeeds");
    let inv = pyvmomi(&sim, "inventory");
    assert!(inv["vms"].as_array().unwrap().is_empty(), "{inv}");
    let left: Vec<&str> = inv["files"].as_array().unwrap().iter().filter_map(|f| f.as_str()).collect();
    assert!(left.is_empty(), "the datastore holds nothing of ours: {left:?}");
}

fn network(id: &str) -> hybridstack_driver::NetworkSpec {
    hybridstack_driver::NetworkSpec { id: id.into(), name: id.into(), mtu: 1500, external: false, subnets: vec![] }
}

fn ours<'a>(inv: &'a serde_json::Value, network_id: &str) -> Vec<&'a serde_json::Value> {
    inv["port_groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pg| pg["description"].as_str().is_some_and(|d| d.contains(&format!("hybridstack.id={network_id};"))))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networks_are_port_groups_on_free_vlans_and_ports_are_nics_on_them() {
    use hybridstack_driver_act::Network;
    let sim = start_vcsim();
    let cloud = open(&sim, sim.config()).await.unwrap();
    let n1 = "11111111-0000-4000-8000-000000000001";
    let n2 = "11111111-0000-4000-8000-000000000002";
    let key1 = cloud.ensure_network(&network(n1)).await.unwrap();
    assert_eq!(cloud.ensure_network(&network(n1)).await.unwrap(), key1, "found again, not made twice");
    // Another installation on the same switch takes the next VLAN; ours skips it.
    let other = VsphereCloud::open("vc1", "another-installation", sim.config(), PASSWORD).await.unwrap();
    other.ensure_network(&network("99999999-0000-4000-8000-000000000009")).await.unwrap();
    cloud.ensure_network(&network(n2)).await.unwrap();
    let inv = pyvmomi(&sim, "inventory");
    let vlan = |id: &str| ours(&inv, id).first().map(|pg| pg["vlan"].clone());
    assert_eq!(vlan(n1), Some(100.into()), "{inv}");
    assert_eq!(vlan("99999999-0000-4000-8000-000000000009"), Some(101.into()), "{inv}");
    assert_eq!(vlan(n2), Some(102.into()), "{inv}");
    assert_eq!(ours(&inv, n1)[0]["key"], key1.as_str());

    let owned: Vec<String> = Network::list_owned(&cloud).await.unwrap().into_iter().map(|o| o.id).collect();
    assert_eq!(owned.len(), 2, "{owned:?}");
    assert!(owned.contains(&n1.to_string()) && owned.contains(&n2.to_string()));
    let foreign = cloud.list_foreign().await.unwrap();
    assert!(foreign.iter().any(|f| f.kind == "network" && f.id.starts_with("99999999")), "{foreign:?}");

    let port = |net: &str| hybridstack_driver::PortSpec {
        id: "p1".into(),
        network_id: net.into(),
        mac_address: "fa:16:3e:00:00:01".into(),
        fixed_ips: vec![],
        port_security_enabled: true,
        security_groups: vec![],
        allowed_address_pairs: vec![],
        dhcp: false,
    };
    assert_eq!(cloud.ensure_port(&port(n1)).await.unwrap(), key1);
    assert!(matches!(cloud.ensure_port(&port("not-realised")).await, Err(DriverError::NotFound(_))));

    let work = tempfile::tempdir().unwrap();
    let image_id = "5d2b6f44-0d4e-4a53-9a55-1f0e5c0a0002";
    let stored = cloud.put(&raw_image(work.path(), image_id)).await.unwrap();
    let id = "a1b2c3d4-0000-4000-8000-000000000003";
    let mut s = spec(id, &stored.reference);
    for (i, net) in [n1, n2].iter().enumerate() {
        s.nics.push(hybridstack_driver::NicSpec {
            port_id: format!("p{i}"),
            network_id: net.to_string(),
            mac_address: format!("fa:16:3e:00:00:0{i}"),
            addresses: vec![hybridstack_driver::NicAddress {
                address: format!("10.{i}.0.5"),
                cidr: format!("10.{i}.0.0/24"),
                gateway: Some(format!("10.{i}.0.1")),
                dhcp: true,
                ..Default::default()
            }],
        });
    }
    s.guest.hostname = "web-1".into();
    s.guest.key_name = Some("k1".into());
    s.guest.public_key = Some("ssh-ed25519 AAAAC3Nza test".into());
    cloud.ensure_server(&s).await.unwrap();
    let inv = pyvmomi(&sim, "inventory");
    let vm = vms_named(&inv, id)[0];
    let nics = vm["nics"].as_array().unwrap();
    assert_eq!(nics.len(), 2, "{vm}");
    assert_eq!(nics[0]["mac"], "fa:16:3e:00:00:00");
    assert_eq!(nics[0]["type"], "VirtualVmxnet3");
    assert_eq!(nics[0]["portgroup"], key1.as_str());
    assert_eq!(nics[1]["portgroup"], ours(&inv, n2)[0]["key"]);
    // The config drive: on a CD-ROM, with the addresses given statically (no DHCP here).
    let cdroms = vm["cdroms"].as_array().unwrap();
    assert_eq!(cdroms.len(), 1, "{vm}");
    let iso = work.path().join("config.iso");
    pyvmomi_args(&sim, &["fetch", "DC0", cdroms[0].as_str().unwrap(), iso.to_str().unwrap()]);
    let read = |file: &str| -> serde_json::Value {
        let out = Command::new("isoinfo")
            .args(["-R", "-i", iso.to_str().unwrap(), "-x", &format!("/openstack/latest/{file}")])
            .output()
            .expect("isoinfo (genisoimage)");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{file}: {e}"))
    };
    let net = read("network_data.json");
    assert_eq!(net["links"][1]["ethernet_mac_address"], "fa:16:3e:00:00:01", "{net}");
    assert_eq!(net["networks"][1]["type"], "ipv4", "{net}");
    assert_eq!(net["networks"][1]["ip_address"], "10.1.0.5", "{net}");
    let meta = read("meta_data.json");
    assert_eq!((meta["uuid"].as_str(), meta["hostname"].as_str()), (Some(id), Some("web-1")), "{meta}");
    assert_eq!(meta["public_keys"]["k1"], "ssh-ed25519 AAAAC3Nza test", "{meta}");

    cloud.delete_server(id).await.unwrap();
    cloud.delete_network(n1).await.unwrap();
    cloud.delete_network(n2).await.unwrap();
    cloud.delete_network(n2).await.expect("deleting what is gone succeeds");
    cloud.delete(image_id, &stored.reference).await.unwrap();
    let inv = pyvmomi(&sim, "inventory");
    assert!(ours(&inv, n1).is_empty() && ours(&inv, n2).is_empty(), "{inv}");
    assert!(Network::list_owned(&cloud).await.unwrap().is_empty());

    // A range of one VLAN holds one network; without a range there are none.
    let narrow = VsphereConfig { vlan_range: Some("100-100".into()), ..sim.config() };
    let narrow = VsphereCloud::open("vc2", INSTALLATION, narrow, PASSWORD).await.unwrap();
    narrow.ensure_network(&network(n1)).await.unwrap();
    let e = err_text(narrow.ensure_network(&network(n2)).await);
    assert!(e.contains("every VLAN of its range 100-100"), "{e}");
    narrow.delete_network(n1).await.unwrap();
    let none = VsphereCloud::open("vc3", INSTALLATION, VsphereConfig { vlan_range: None, ..sim.config() }, PASSWORD)
        .await
        .unwrap();
    assert!(matches!(none.ensure_network(&network(n1)).await, Err(DriverError::NotSupported(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_are_vmdks_that_attach_boot_and_outlive_their_servers() {
    use hybridstack_driver::{VolumeSource, VolumeSpec};
    use hybridstack_driver_act::BlockStorage;
    let sim = start_vcsim();
    let cloud = open(&sim, sim.config()).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let vol = |n: u8| format!("22222222-0000-4000-8000-00000000000{n}");
    let (v1, v2, v3, v4, snap) = (vol(1), vol(2), vol(3), vol(4), vol(9));
    let vspec = |id: &str, gb: u64, source: VolumeSource| VolumeSpec { id: id.into(), size_gb: gb, source };
    cloud.ensure_volume(&vspec(&v1, 1, VolumeSource::Blank)).await.unwrap();
    cloud.ensure_volume(&vspec(&v1, 1, VolumeSource::Blank)).await.expect("found, not made twice");
    cloud.extend_volume(&v1, 2).await.unwrap();
    cloud.ensure_snapshot(&snap, &v1).await.unwrap();
    cloud.ensure_volume(&vspec(&v2, 3, VolumeSource::Snapshot(snap.clone()))).await.unwrap();
    cloud.ensure_volume(&vspec(&v3, 2, VolumeSource::Volume(v1.clone()))).await.unwrap();
    let raw = raw_image(work.path(), "img-for-volume");
    let file =
        hybridstack_driver::ImageFile { image_id: raw.image_id, path: raw.path, format: "raw".into(), size: raw.size };
    cloud.ensure_volume(&vspec(&v4, 1, VolumeSource::Image(file))).await.unwrap();
    let mut owned: Vec<(String, String)> =
        cloud.list_owned_volumes().await.unwrap().into_iter().map(|o| (o.kind.to_string(), o.id)).collect();
    owned.sort();
    let mut want = vec![
        ("snapshot".to_string(), snap.clone()),
        ("volume".into(), v1.clone()),
        ("volume".into(), v2.clone()),
        ("volume".into(), v3.clone()),
        ("volume".into(), v4.clone()),
    ];
    want.sort();
    assert_eq!(owned, want);
    // Another installation's directory is its own.
    let other = VsphereCloud::open("vc1", "another-installation", sim.config(), PASSWORD).await.unwrap();
    assert!(other.list_owned_volumes().await.unwrap().is_empty());

    // The image volume holds the image's bytes, padded to whole sectors and grown.
    let out = work.path().join("v4.raw");
    cloud.volume_to_file(&v4, &out).await.unwrap();
    let data = std::fs::read(&out).unwrap();
    assert_eq!(data.len(), 1 << 30, "grown to 1 GiB");
    assert!(data[..1000].iter().enumerate().all(|(i, b)| *b == (i % 251) as u8), "the image's bytes");

    // Attached to a running server: /dev/sdb asked and given, the next free one after.
    let image_id = "5d2b6f44-0d4e-4a53-9a55-1f0e5c0a0003";
    let stored = cloud.put(&raw_image(work.path(), image_id)).await.unwrap();
    let id = "a1b2c3d4-0000-4000-8000-000000000004";
    cloud.ensure_server(&spec(id, &stored.reference)).await.unwrap();
    assert_eq!(cloud.attach_volume(id, &v1, Some("/dev/sdb")).await.unwrap(), "/dev/sdb");
    assert_eq!(cloud.attach_volume(id, &v1, Some("/dev/sdc")).await.unwrap(), "/dev/sdb", "already there");
    assert_eq!(cloud.attach_volume(id, &v2, Some("/dev/sdb")).await.unwrap(), "/dev/sdc", "sdb is taken");
    let inv = pyvmomi(&sim, "inventory");
    let disks = vms_named(&inv, id)[0]["disks"].as_array().unwrap().clone();
    assert_eq!(disks.len(), 3, "{disks:?}");
    let of =
        |v: &str| disks.iter().find(|d| d["file"].as_str().unwrap().ends_with(&format!("volumes/{v}.vmdk"))).cloned();
    assert_eq!(of(&v1).unwrap()["capacity_kb"], 2 << 20);
    assert_eq!(of(&v2).unwrap()["capacity_kb"], 3 << 20);
    cloud.detach_volume(id, &v2).await.unwrap();
    cloud.detach_volume(id, &v2).await.expect("detaching what is detached is done");
    // Deleting the server leaves the volume still attached to it.
    cloud.delete_server(id).await.unwrap();
    let files = pyvmomi(&sim, "inventory")["files"].to_string();
    assert!(files.contains(&format!("volumes/{v1}.vmdk")), "{files}");

    // Booting from a volume: the volume is the VM's SCSI 0:0.
    let boot = "a1b2c3d4-0000-4000-8000-000000000005";
    let mut s = spec(boot, &stored.reference);
    s.cloud_image = None;
    s.root_volume = Some(v3.clone());
    s.volumes = vec![hybridstack_driver::VolumeAtDevice { volume_id: v2.clone(), device: "/dev/sdb".into() }];
    cloud.ensure_server(&s).await.unwrap();
    let inv = pyvmomi(&sim, "inventory");
    let vm = vms_named(&inv, boot)[0];
    let files: Vec<&str> = vm["disks"].as_array().unwrap().iter().map(|d| d["file"].as_str().unwrap()).collect();
    assert_eq!(files.len(), 2, "{vm}");
    assert!(files[0].ends_with(&format!("volumes/{v3}.vmdk")) || files[1].ends_with(&format!("volumes/{v3}.vmdk")));
    cloud.delete_server(boot).await.unwrap();

    for v in [&v1, &v2, &v3, &v4] {
        cloud.delete_volume(v).await.unwrap();
    }
    cloud.delete_volume(&v1).await.expect("deleting what is gone succeeds");
    cloud.delete_snapshot(&snap).await.unwrap();
    cloud.delete(image_id, &stored.reference).await.unwrap();
    assert!(cloud.list_owned_volumes().await.unwrap().is_empty());
    let inv = pyvmomi(&sim, "inventory");
    assert!(inv["files"].as_array().unwrap().is_empty(), "{inv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_made_from_servers_and_volumes_and_a_rebuild_replaces_the_root() {
    use hybridstack_driver::{VolumeSource, VolumeSpec};
    use hybridstack_driver_act::BlockStorage;
    let sim = start_vcsim();
    let cloud = open(&sim, sim.config()).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let first = cloud.put(&raw_image(work.path(), "5d2b6f44-0d4e-4a53-9a55-1f0e5c0a0011")).await.unwrap();
    let id = "a1b2c3d4-0000-4000-8000-000000000011";
    cloud.ensure_server(&spec(id, &first.reference)).await.unwrap();

    // createImage of the running server: a copy in the image store, no VM snapshot left.
    let made = "5d2b6f44-0d4e-4a53-9a55-1f0e5c0a0012";
    let reference = cloud.snapshot_to_cloud_image(id, made, "snap").await.unwrap();
    assert!(reference.contains(&format!("images/{made}/{made}.vmdk")), "{reference}");
    assert_eq!(cloud.snapshot_to_cloud_image(id, made, "snap").await.unwrap(), reference, "found again");
    let inv = pyvmomi(&sim, "inventory");
    assert_eq!(vms_named(&inv, id)[0]["snapshots"], 0, "{inv}");
    assert!(inv["files"].to_string().contains(&format!("{made}-flat.vmdk")), "{inv}");
    assert_eq!(vms_named(&inv, id)[0]["power"], "poweredOn");

    // A server boots from the made image; another is rebuilt from it with a bigger disk.
    let second = "a1b2c3d4-0000-4000-8000-000000000012";
    cloud.ensure_server(&spec(second, &reference)).await.unwrap();
    let rebuilt = hybridstack_driver::ServerSpec { disk_gb: 2, fresh: false, ..spec(id, &reference) };
    cloud.rebuild(&rebuilt).await.unwrap();
    cloud.rebuild(&rebuilt).await.expect("a retried rebuild gives the same VM");
    let inv = pyvmomi(&sim, "inventory");
    let vm = vms_named(&inv, id)[0];
    assert_eq!(vm["power"], "poweredOn");
    let disks = vm["disks"].as_array().unwrap();
    assert_eq!(disks.len(), 1, "{vm}");
    assert_eq!(disks[0]["capacity_kb"], 2 << 20, "{vm}");
    assert_eq!(vm["cdroms"].as_array().unwrap().len(), 1, "{vm}");

    // Upload-to-image of a volume: a copy in the image store too.
    let vol = "22222222-0000-4000-8000-000000000011";
    cloud.ensure_volume(&VolumeSpec { id: vol.into(), size_gb: 1, source: VolumeSource::Blank }).await.unwrap();
    let from_volume = "5d2b6f44-0d4e-4a53-9a55-1f0e5c0a0013";
    let vref = cloud.volume_to_cloud_image(vol, from_volume, "vol-image").await.unwrap();
    assert!(vref.ends_with(&format!("{from_volume}.vmdk")), "{vref}");

    for s in [id, second] {
        cloud.delete_server(s).await.unwrap();
    }
    cloud.delete_volume(vol).await.unwrap();
    for (image, r) in
        [("5d2b6f44-0d4e-4a53-9a55-1f0e5c0a0011", &first.reference), (made, &reference), (from_volume, &vref)]
    {
        cloud.delete(image, r).await.unwrap();
    }
    let inv = pyvmomi(&sim, "inventory");
    assert!(inv["files"].as_array().unwrap().is_empty(), "{inv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_built_says_so() {
    let sim = start_vcsim();
    let cloud = open(&sim, sim.config()).await.unwrap();
    assert!(matches!(cloud.console_output("x", None).await, Err(DriverError::NotFound(_))));
    assert!(matches!(cloud.rebuild(&spec("x", "[LocalDS_0] x.vmdk")).await, Err(DriverError::NotFound(_))));
    let router = hybridstack_driver::RouterSpec { id: "r".into(), gateway: None, interfaces: vec![] };
    assert!(matches!(
        hybridstack_driver_act::Network::ensure_router(&cloud, &router).await,
        Err(DriverError::NotSupported(_))
    ));
    assert!(pyvmomi(&sim, "inventory")["vms"].as_array().unwrap().is_empty());
}
