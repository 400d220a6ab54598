//! End-to-end on a real libvirtd: security groups, a router with an external gateway and a
//! floating IP, made with the `openstack` CLI, are enforced on the host.
//!
//! The "outside" is a network namespace plugged into the external network's bridge, with an
//! address on the external subnet and no route to the tenant subnet, so:
//! - the guest reaching it proves the router's SNAT (its replies could not come back else);
//! - it reaching the guest by the floating IP proves the 1:1 NAT;
//! - ICMP to the guest failing until a rule allows it, while SSH works, proves the group's
//!   filter on the guest's interface, and that a rule added later applies to a running guest.
//!
//! Needs root, libvirtd on qemu:///system, nftables, ssh and the built test guest
//! (scripts/install-test-deps installs them).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{cmd, field, Cli};
use support::guest::virsh;

const OUTSIDE: &str = "172.31.93.50";

fn sh(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn must(program: &str, args: &[&str]) -> String {
    let (ok, text) = sh(program, args);
    assert!(ok, "{program} {args:?} failed: {text}");
    text
}

fn eventually(what: &str, secs: u64, data: &std::path::Path, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        if Instant::now() >= deadline {
            panic!("timed out after {secs}s waiting for {what}\n{}", host_state(data));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What the host holds, for a failure's message.
fn host_state(data: &std::path::Path) -> String {
    let log = std::fs::read_to_string(data.join("serve.log")).unwrap_or_default();
    let notable: Vec<&str> =
        log.lines().filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("sync")).collect();
    format!(
        "nft:\n{}\niptables FORWARD chains:\n{}\naddresses:\n{}\nserver log (warnings):\n{}",
        sh("nft", &["list", "ruleset", "ip"]).1,
        sh("iptables", &["-S", "LIBVIRT_FWX"]).1,
        sh("ip", &["-o", "-4", "addr", "show"]).1,
        notable[notable.len().saturating_sub(40)..].join("\n")
    )
}

fn in_ns(ns: &str, args: &[&str]) -> bool {
    sh("ip", &[&["netns", "exec", ns], args].concat()).0
}

fn ping_from(ns: &str, addr: &str) -> bool {
    in_ns(ns, &["ping", "-c", "1", "-W", "1", addr])
}

fn tcp_from(ns: &str, addr: &str, port: u16) -> bool {
    in_ns(ns, &["timeout", "3", "bash", "-c", &format!("echo > /dev/tcp/{addr}/{port}")])
}

fn ssh(key: &str, addr: &str, command: &str) -> (bool, String) {
    sh(
        "ssh",
        &[
            "-i",
            key,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "BatchMode=yes",
            &format!("root@{addr}"),
            command,
        ],
    )
}

fn bridge_of(network_id: &str) -> String {
    let hex: String = network_id.chars().filter(char::is_ascii_hexdigit).take(11).collect();
    format!("hsb{hex}")
}

fn port_address(port: &Value) -> String {
    match &port["Fixed IP Addresses"] {
        Value::Array(a) => a.first().and_then(|f| f["ip_address"].as_str()).unwrap_or_default().to_string(),
        Value::String(s) => {
            s.split("'ip_address': '").nth(1).and_then(|r| r.split('\'').next()).unwrap_or_default().into()
        }
        _ => String::new(),
    }
}

#[test]
fn groups_routers_and_floating_ips_are_enforced_on_the_host() {
    let server = support::start_with(&[
        ("HYBRIDSTACK_SHUTDOWN_TIMEOUT_SECS", "10"),
        ("HYBRIDSTACK_RECONCILE_INTERVAL_SECS", "3600"),
    ]);
    let cloud = format!("nat-{}", std::process::id());
    let ns = format!("hs-out-{}", std::process::id());
    let mut leftovers = support::guest::Leftovers::new(&server, &cloud);
    leftovers.netns = Some(ns.clone());
    let data = server.data.path();
    support::guest::add_libvirt_cloud(&server, &cloud);
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");
    support::guest::upload_test_guest(&admin, "guest");
    admin.json(&["flavor", "create", "--vcpus", "1", "--ram", "192", "--disk", "1", "g.nat"]);

    let ext = admin.json(&["network", "create", "--external", "outside"]);
    let ext_id = field(&ext, "id").to_string();
    leftovers.networks.borrow_mut().push(ext_id.clone());
    admin.json(&cmd!("subnet create --network outside --subnet-range 172.31.93.0/24 --allocation-pool start=172.31.93.100,end=172.31.93.200 --no-dhcp outside-v4"));
    let tenant = admin.json(&["network", "create", "inside"]);
    leftovers.networks.borrow_mut().push(field(&tenant, "id").to_string());
    admin.json(&["subnet", "create", "--network", "inside", "--subnet-range", "10.93.0.0/24", "inside-v4"]);
    let router = admin.json(&["router", "create", "edge"]);
    let router_id = field(&router, "id").to_string();
    admin.ok(&["router", "set", "--external-gateway", "outside", "edge"]);
    admin.ok(&["router", "add", "subnet", "edge", "inside-v4"]);

    // SSH only: the host reaches the guest on its tenant bridge to drive it.
    admin.json(&["security", "group", "create", "ssh-only"]);
    admin.json(&["security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "ssh-only"]);
    let key = server.data.path().join("id_nat");
    let made = admin.json(&["keypair", "create", "--private-key", &key.display().to_string(), "k"]);
    assert_eq!(field(&made, "name"), "k");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod key");
    let key = key.display().to_string();

    let vm = admin.json(&cmd!("server create --image guest --flavor g.nat --network inside --security-group ssh-only --key-name k --config-drive True --wait vm"));
    assert_eq!(field(&vm, "status"), "ACTIVE", "{vm}");
    let vm_id = field(&vm, "id").to_string();
    let ports = admin.json(&["port", "list", "--server", &vm_id, "--long"]);
    let port_id = field(&ports[0], "ID").to_string();
    let fixed = port_address(&ports[0]);
    assert!(fixed.starts_with("10.93.0."), "{ports}");
    let filter = virsh(&["nwfilter-list"]);
    assert!(filter.contains(&port_id), "the port has its filter: {filter}");

    // The outside: a namespace on the external bridge, with no route to 10.93.0.0/24.
    let veth = format!("hsv{}", std::process::id() % 100_000);
    must("ip", &["netns", "add", &ns]);
    must("ip", &["link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
    must("ip", &["link", "set", &veth, "master", &bridge_of(&ext_id), "up"]);
    must("ip", &["-n", &ns, "addr", "add", &format!("{OUTSIDE}/24"), "dev", "eth0"]);
    must("ip", &["-n", &ns, "link", "set", "eth0", "up"]);
    must("ip", &["-n", &ns, "link", "set", "lo", "up"]);

    // Security group: SSH in is allowed, ICMP in is not.
    eventually("SSH to the guest", 120, data, || ssh(&key, &fixed, "true").0);
    let (pinged, _) = sh("ping", &["-c", "1", "-W", "1", &fixed]);
    assert!(!pinged, "ICMP reached a guest whose groups allow only SSH");

    // Router SNAT: the guest reaches the outside, which has no route back to it.
    eventually("the guest reaching the outside through the router", 60, data, || {
        ssh(&key, &fixed, &format!("ping -c 1 -W 1 {OUTSIDE}")).0
    });

    // Floating IP: 1:1 NAT from the outside to the guest.
    let fip = admin.json(&["floating", "ip", "create", "outside"]);
    let fip_addr = field(&fip, "floating_ip_address").to_string();
    let fip_id = field(&fip, "id").to_string();
    admin.ok(&["floating", "ip", "set", "--port", &port_id, &fip_addr]);
    eventually("SSH's port through the floating IP", 60, data, || tcp_from(&ns, &fip_addr, 22));
    assert!(!ping_from(&ns, &fip_addr), "ICMP passed the group's filter through the floating IP");
    // The guest's own traffic leaves as its floating IP now.
    let (ok, seen) = ssh(&key, &fixed, &format!("ping -c 1 -W 1 {OUTSIDE}"));
    assert!(ok, "{seen}");

    // A rule added to the group applies to the running guest.
    admin.json(&["security", "group", "rule", "create", "--protocol", "icmp", "ssh-only"]);
    eventually("ICMP through the floating IP once a rule allows it", 60, data, || ping_from(&ns, &fip_addr));

    // Unassociating the floating IP removes its translation.
    admin.ok(&["floating", "ip", "unset", "--port", &fip_addr]);
    eventually("the floating IP to stop answering", 60, data, || !ping_from(&ns, &fip_addr));

    // Everything goes with the server and the router.
    admin.ok(&["server", "delete", "--wait", "vm"]);
    admin.ok(&["floating", "ip", "delete", &fip_id]);
    admin.ok(&["router", "remove", "subnet", "edge", "inside-v4"]);
    admin.ok(&["router", "delete", "edge"]);
    let hex = |id: &str| id.replace('-', "");
    eventually("the router's and floating IP's tables to go", 60, data, || {
        let tables = must("nft", &["list", "tables", "ip"]);
        !tables.contains(&hex(&router_id)) && !tables.contains(&hex(&fip_id))
    });
    eventually("the port's filter to go", 60, data, || !virsh(&["nwfilter-list"]).contains(&port_id));
    let addrs = must("ip", &["-o", "addr", "show"]);
    assert!(!addrs.contains(&format!("{fip_addr}/32")), "the floating address is left on the host: {addrs}");
}
