//! Ownership on a real libvirtd: two installations with a cloud of the same name on one host
//! never take each other's objects for their own; a cloud's objects from before installation
//! ids are foreign until adopted, and adoption keeps the guest running on its renamed port
//! filter and NAT tables; a pool whose directory vanished is repaired by the first call that
//! needs it (opening a cloud only looks); another live
//! installation's pool is refused, naming it.
//!
//! Needs root, libvirtd on qemu:///system, nftables and the built test guest
//! (scripts/install-test-deps).

use std::path::PathBuf;
use std::process::Command;

use hybridstack_driver::{
    FloatingIpSpec, GuestConfig, ImageFile, Maker, NetworkSpec, NicSpec, OwnershipQuery as _, PortSpec, RouterGateway,
    RouterInterface, RouterSpec, ServerSpec, SubnetSpec,
};
use hybridstack_driver_act::{Compute, Network, Ownership};
use hybridstack_driver_libvirt::{LibvirtCloud, LibvirtConfig};

const A: &str = "1a2b3c4d-5e6f-4a00-8000-00000000000a";
const B: &str = "2b3c4d5e-6f70-4b00-8000-00000000000b";

use hybridstack_driver_libvirt::test_support::virsh;

fn nft_tables() -> String {
    let out = Command::new("nft").args(["list", "tables", "ip"]).output().expect("nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Ids that differ in their first digits, which a network's bridge name is made of.
fn id(n: u32) -> String {
    format!("{n:02x}{:06x}-0000-4000-8000-{n:012x}", std::process::id() & 0xff_ffff)
}

fn settings(name: &str, installation: &str, dir: &std::path::Path) -> LibvirtConfig {
    let mut cfg =
        LibvirtConfig::defaults(name, installation, "qemu:///system", &dir.display().to_string()).expect("settings");
    cfg.domain_type = "qemu".into();
    cfg.shutdown_timeout_secs = 5;
    cfg
}

fn file(image_id: &str, path: PathBuf, format: &str) -> ImageFile {
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ImageFile { image_id: image_id.into(), path, format: format.into(), size }
}

fn guest_dir() -> PathBuf {
    let g = std::env::var("HYBRIDSTACK_TEST_GUEST_DIR").unwrap_or_else(|_| "/var/tmp/hybridstack-guest".into());
    let g = PathBuf::from(g);
    assert!(g.join("vmlinuz").exists(), "the test guest is missing in {}: run scripts/install-test-deps", g.display());
    g
}

fn server(id: &str, nics: Vec<NicSpec>) -> ServerSpec {
    let g = guest_dir();
    ServerSpec {
        id: id.into(),
        name: "own".into(),
        flavor_name: "own".into(),
        vcpus: 1,
        ram_mb: 128,
        disk_gb: 0,
        image: Some(file("own-root", g.join("disk.qcow2"), "qcow2")),
        kernel: Some(file("own-kernel", g.join("vmlinuz"), "raw")),
        ramdisk: Some(file("own-initrd", g.join("initrd.img"), "raw")),
        kernel_cmdline: Some("console=ttyS0".into()),
        nics,
        guest: GuestConfig { hostname: "own".into(), ..Default::default() },
        start: true,
        ..Default::default()
    }
}

fn network(id: &str, cidr_prefix: &str, external: bool) -> NetworkSpec {
    NetworkSpec {
        id: id.into(),
        name: "n".into(),
        mtu: 1500,
        external,
        subnets: vec![SubnetSpec {
            id: format!("{id}-s"),
            ip_version: 4,
            cidr: format!("{cidr_prefix}.0/24"),
            gateway_ip: Some(format!("{cidr_prefix}.1")),
            enable_dhcp: !external,
            dns_nameservers: vec![],
            host_routes: vec![],
            ipv6_address_mode: None,
        }],
    }
}

/// Every host object whose name carries one of `ids` goes at the end, whatever happened.
struct Cleanup {
    ids: Vec<String>,
    pools: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for i in &self.ids {
            virsh(&["destroy", &format!("hs-{i}")]);
            virsh(&["undefine", "--managed-save", &format!("hs-{i}")]);
        }
        for i in &self.ids {
            virsh(&["net-destroy", &format!("hs-net-{i}")]);
            virsh(&["net-undefine", &format!("hs-net-{i}")]);
        }
        for f in virsh(&["nwfilter-list"]).lines().filter_map(|l| l.split_whitespace().nth(1)) {
            if self.ids.iter().any(|i| f.ends_with(i.as_str())) {
                virsh(&["nwfilter-undefine", f]);
            }
        }
        for t in nft_tables().lines().filter_map(|l| l.strip_prefix("table ip ")) {
            if self.ids.iter().any(|i| t.ends_with(&i.replace('-', ""))) {
                let _ = Command::new("nft").args(["delete", "table", "ip", t]).output();
            }
        }
        for p in &self.pools {
            for v in virsh(&["vol-list", p]).lines().filter_map(|l| l.split_whitespace().next()) {
                virsh(&["vol-delete", "--pool", p, v]);
            }
            virsh(&["pool-destroy", p]);
            virsh(&["pool-undefine", p]);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn installations_share_a_host_without_sharing_objects_and_legacy_objects_are_adopted() {
    let name = format!("own-{}", std::process::id());
    let (dir_l, dir_a, dir_b) =
        (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    // A release before installation ids named its pool after the cloud alone.
    let mut legacy_cfg = settings(&name, A, dir_l.path());
    legacy_cfg.pool = format!("hybridstack-{name}");
    let (cfg_a, cfg_b) = (settings(&name, A, dir_a.path()), settings(&name, B, dir_b.path()));
    assert_ne!(cfg_a.pool, cfg_b.pool, "each installation has its own pool");
    let (s_old, s_a, net, ext, port, router, fip, net_a) = (id(1), id(2), id(3), id(4), id(5), id(6), id(7), id(8));
    let _cleanup = Cleanup {
        ids: [&s_old, &s_a, &net, &ext, &port, &router, &fip, &net_a].iter().map(|s| s.to_string()).collect(),
        pools: vec![legacy_cfg.pool.clone(), cfg_a.pool.clone(), cfg_b.pool.clone()],
    };
    let old = LibvirtCloud::open_legacy_for_upgrade_tests(&name, legacy_cfg).expect("libvirtd on qemu:///system");

    // What the old release made: a guest on a tenant network with its port filter, a router
    // to an external network, and a floating IP.
    old.ensure_network(&network(&net, "10.89.1", false)).await.expect("tenant network");
    old.ensure_network(&network(&ext, "10.89.2", true)).await.expect("external network");
    let p = PortSpec {
        id: port.clone(),
        network_id: net.clone(),
        mac_address: "fa:16:3e:89:01:05".into(),
        fixed_ips: vec![(format!("{net}-s"), "10.89.1.5".into())],
        port_security_enabled: true,
        security_groups: vec![],
        allowed_address_pairs: vec![],
        dhcp: true,
    };
    old.ensure_port(&p).await.expect("port");
    let nic = NicSpec {
        port_id: port.clone(),
        network_id: net.clone(),
        mac_address: p.mac_address.clone(),
        addresses: vec![],
    };
    old.ensure_server(&server(&s_old, vec![nic])).await.expect("the old release's guest");
    let r = RouterSpec {
        id: router.clone(),
        gateway: Some(RouterGateway {
            network: network(&ext, "10.89.2", true),
            address: "10.89.2.10".into(),
            snat: true,
        }),
        interfaces: vec![RouterInterface {
            network_id: net.clone(),
            subnet_id: format!("{net}-s"),
            cidr: "10.89.1.0/24".into(),
            address: "10.89.1.1".into(),
        }],
    };
    old.ensure_router(&r).await.expect("router");
    let f = FloatingIpSpec {
        id: fip.clone(),
        floating_network_id: ext.clone(),
        floating_ip_address: "10.89.2.20".into(),
        port_id: port.clone(),
        fixed_ip_address: "10.89.1.5".into(),
        fixed_network_id: net.clone(),
        router_id: router.clone(),
    };
    old.ensure_floating_ip(&f).await.expect("floating ip");
    let old_filter = virsh(&["nwfilter-list"])
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .find(|n| n.ends_with(&port))
        .expect("the port's filter");

    // Two installations, each with a cloud of the same name, on the same host.
    let a = LibvirtCloud::open(&name, A, cfg_a).expect("installation A");
    let b = LibvirtCloud::open(&name, B, cfg_b).expect("installation B");
    a.ensure_network(&network(&net_a, "10.89.3", false)).await.expect("A's network");
    a.ensure_server(&server(&s_a, vec![])).await.expect("A's guest");

    let servers = |v: Vec<hybridstack_driver::OwnedServer>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(servers(Compute::list_owned(&a).await.expect("A's")), vec![s_a.clone()], "A sees only its own");
    assert!(servers(Compute::list_owned(&b).await.expect("B's")).is_empty(), "B owns nothing");
    let nets = |v: Vec<hybridstack_driver::Owned>| v.into_iter().map(|o| (o.kind, o.id)).collect::<Vec<_>>();
    assert_eq!(nets(Network::list_owned(&a).await.expect("A's")), vec![("network", net_a.clone())]);
    assert!(nets(Network::list_owned(&b).await.expect("B's")).is_empty());

    // B sees A's objects as A's, and the legacy ones as adoptable by this cloud's name.
    let foreign = b.list_foreign().await.expect("B's foreign");
    let of = |kind: &str, id: &str| foreign.iter().find(|f| f.kind == kind && f.id == id).cloned();
    let a_server = of("server", &s_a).expect("A's guest is foreign to B");
    assert!(matches!(&a_server.maker, Maker::Installation { installation, .. } if installation == A), "{a_server:?}");
    assert!(!a_server.adoptable);
    assert!(b.adopt(&a_server).await.is_err(), "another installation's object is never adopted");
    for (kind, i) in [
        ("server", &s_old),
        ("network", &net),
        ("network", &ext),
        ("port", &port),
        ("router", &router),
        ("floatingip", &fip),
    ] {
        let o = of(kind, i).unwrap_or_else(|| panic!("the legacy {kind} {i} is foreign to B: {foreign:?}"));
        assert_eq!(o.maker, Maker::Legacy { cloud: name.clone() }, "{o:?}");
        assert!(o.adoptable, "{o:?}");
    }
    assert!(foreign.iter().any(|f| f.kind == "pool" && f.reference == format!("hybridstack-{name}")), "{foreign:?}");

    // A adopts the legacy objects (its store has their rows; the reconciler checks that).
    let mine_before = a.list_foreign().await.expect("A's foreign");
    let mut adopt: Vec<_> = mine_before.into_iter().filter(|f| f.adoptable).collect();
    adopt.sort_by_key(|f| f.kind != "server");
    assert_eq!(adopt.len(), 6, "{adopt:?}");
    for o in &adopt {
        a.adopt(o).await.unwrap_or_else(|e| panic!("adopt {o:?}: {e}"));
    }
    let mut owned = servers(Compute::list_owned(&a).await.expect("A's"));
    owned.sort();
    assert_eq!(owned, vec![s_old.clone(), s_a.clone()]);
    assert_eq!(a.power_state(&s_old).await.expect("state"), hybridstack_driver::PowerState::Running, "untouched");
    let mut a_nets = nets(Network::list_owned(&a).await.expect("A's"));
    a_nets.sort();
    for want in [("floatingip", &fip), ("network", &ext), ("network", &net), ("port", &port), ("router", &router)] {
        assert!(a_nets.contains(&(want.0, want.1.clone())), "{want:?} in {a_nets:?}");
    }
    let filters = virsh(&["nwfilter-list"]);
    assert!(!filters.contains(&old_filter), "the old filter name is gone: {filters}");
    let new_filter = "hs-port-1a2b3c4d5e6f-";
    assert!(filters.lines().any(|l| l.contains(new_filter) && l.contains(&port)), "{filters}");
    assert!(virsh(&["dumpxml", &format!("hs-{s_old}")]).contains(new_filter), "the guest uses the renamed filter");
    let tables = nft_tables();
    assert_eq!(tables.matches(&router.replace('-', "")).count(), 1, "{tables}");
    assert!(tables.contains("hs_r_1a2b3c4d5e6f_"), "{tables}");
    // Nothing is B's still, and what A adopted is A's to B.
    assert!(servers(Compute::list_owned(&b).await.expect("B's")).is_empty());
    let after = b.list_foreign().await.expect("B's foreign");
    assert!(after.iter().all(|f| !f.adoptable || f.kind == "pool"), "{after:?}");

    // A removes everything; B's view never changed.
    a.delete_floating_ip(&fip).await.expect("delete fip");
    a.delete_router(&router).await.expect("delete router");
    a.delete_server(&s_old).await.expect("delete old guest");
    a.delete_server(&s_a).await.expect("delete A's guest");
    a.delete_port(&port).await.expect("delete port");
    for n in [&net, &ext, &net_a] {
        a.delete_network(n).await.expect("delete network");
    }
    assert!(servers(Compute::list_owned(&a).await.expect("A's")).is_empty());
    assert!(nets(Network::list_owned(&a).await.expect("A's")).is_empty(), "nothing of A's is left");
    assert!(!nft_tables().contains(&router.replace('-', "")), "the router's table went");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_whose_directory_vanished_is_repaired_and_another_installations_is_refused() {
    let name = format!("pool-{}", std::process::id());
    let (dir_a, dir_b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let cfg_a = settings(&name, A, dir_a.path());
    let _cleanup = Cleanup { ids: vec![id(30)], pools: vec![cfg_a.pool.clone()] };
    let first = LibvirtCloud::open(&name, A, cfg_a.clone()).expect("open");
    // Opening only looks; the first call that changes the host makes the pool.
    assert!(!PathBuf::from(&cfg_a.pool_path).exists(), "opening made nothing");
    first.ensure_server(&server(&id(30), vec![])).await.expect("a guest boots");
    first.delete_server(&id(30)).await.expect("delete");
    assert!(PathBuf::from(&cfg_a.pool_path).is_dir());
    drop(first);

    // The directory goes under a running libvirtd: the next opening's first call that needs
    // the pool brings it back, and a guest boots from it.
    std::fs::remove_dir_all(&cfg_a.pool_path).expect("remove the pool's directory");
    let a = LibvirtCloud::open(&name, A, cfg_a.clone()).expect("open");
    a.ensure_server(&server(&id(30), vec![])).await.expect("a guest boots from the repaired pool");
    assert!(PathBuf::from(&cfg_a.pool_path).is_dir(), "the directory is back");
    a.delete_server(&id(30)).await.expect("delete");

    // A pool of that name holding another, existing directory is another installation's.
    let mut clash = settings(&name, B, dir_b.path());
    clash.pool = cfg_a.pool.clone();
    let refused = LibvirtCloud::open(&name, B, clash.clone()).err().expect("refused");
    let why = refused.to_string();
    assert!(why.contains(&cfg_a.pool) && why.contains("another installation"), "{why}");

    // Once that installation is gone (its data dir removed), the stale pool is taken over.
    drop(a);
    for v in virsh(&["vol-list", &cfg_a.pool]).lines().filter_map(|l| l.split_whitespace().next()) {
        virsh(&["vol-delete", "--pool", &cfg_a.pool, v]);
    }
    std::fs::remove_dir_all(dir_a.path()).expect("remove A's data dir");
    let b = LibvirtCloud::open(&name, B, clash.clone()).expect("a stale pool is not refused");
    b.ensure_server(&server(&id(30), vec![])).await.expect("a guest boots");
    assert!(virsh(&["pool-dumpxml", &cfg_a.pool]).contains(&clash.pool_path), "it points at B's directory now");
    b.delete_server(&id(30)).await.expect("delete");
}
