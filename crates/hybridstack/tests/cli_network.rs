//! End-to-end: the `openstack` CLI drives the network service of a real `hybridstack serve`.

mod support;

use serde_json::Value;
use support::cli::{cmd, field, Cli};

fn ips(port: &Value) -> Vec<String> {
    let v = &port["fixed_ips"];
    let list: Vec<Value> = match v {
        Value::Array(a) => a.clone(),
        // Older clients print fixed_ips as a string; newer ones as a list.
        Value::String(s) => serde_json::from_str(&s.replace('\'', "\"")).unwrap_or_default(),
        _ => vec![],
    };
    list.iter().filter_map(|f| f["ip_address"].as_str().map(str::to_string)).collect()
}

#[test]
fn the_openstack_cli_drives_networking() {
    let server = support::start();
    let admin = Cli::password(&server.url, "admin", support::ADMIN_PASSWORD, "admin");

    let public = admin.json(&["network", "create", "--external", "public"]);
    assert_eq!(public["router:external"], Value::Bool(true), "{public}");
    admin.json(&cmd!("subnet create --network public --subnet-range 172.24.4.0/24 --no-dhcp public-v4"));

    let net = admin.json(&["network", "create", "app"]);
    let net_id = field(&net, "id").to_string();
    let v4 = admin.json(&["subnet", "create", "--network", "app", "--subnet-range", "10.10.0.0/24", "app-v4"]);
    assert_eq!(field(&v4, "gateway_ip"), "10.10.0.1");
    let v6 = admin.json(&cmd!("subnet create --network app --ip-version 6 --subnet-range 2001:db8:10::/64 --ipv6-ra-mode slaac --ipv6-address-mode slaac app-v6"));
    assert_eq!(field(&v6, "ipv6_address_mode"), "slaac");

    let port = admin.json(&cmd!("port create --network app --fixed-ip subnet=app-v4,ip-address=10.10.0.50 web-port"));
    assert!(ips(&port).contains(&"10.10.0.50".to_string()), "{port}");
    let taken = admin.run(&cmd!("port create --network app --fixed-ip subnet=app-v4,ip-address=10.10.0.50 clash"));
    assert!(!taken.status.success(), "an address is handed out once");

    admin.json(&["router", "create", "edge"]);
    admin.ok(&["router", "set", "--external-gateway", "public", "edge"]);
    admin.ok(&["router", "add", "subnet", "edge", "app-v4"]);
    let router = admin.json(&["router", "show", "edge"]);
    let gw = router["external_gateway_info"].to_string();
    assert!(gw.contains(field(&public, "id")), "{router}");

    let fip = admin.json(&["floating", "ip", "create", "public"]);
    let fip_id = field(&fip, "id").to_string();
    assert!(field(&fip, "floating_ip_address").starts_with("172.24.4."));
    admin.ok(&["floating", "ip", "set", "--port", "web-port", &fip_id]);
    let fip = admin.json(&["floating", "ip", "show", &fip_id]);
    assert_eq!(field(&fip, "fixed_ip_address"), "10.10.0.50");
    assert_eq!(field(&fip, "port_id"), field(&port, "id"));

    admin.json(&["security", "group", "create", "web"]);
    let rule = admin.json(&["security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "web"]);
    assert_eq!(rule["port_range_min"], 22);
    let dup = admin.run(&["security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "web"]);
    assert!(!dup.status.success(), "a duplicate rule is refused");

    let in_use = admin.run(&["network", "delete", "app"]);
    assert!(!in_use.status.success(), "a network with ports cannot be deleted");
    admin.ok(&["floating", "ip", "delete", &fip_id]);
    admin.ok(&["router", "remove", "subnet", "edge", "app-v4"]);
    admin.ok(&["router", "delete", "edge"]);
    admin.ok(&["port", "delete", "web-port"]);
    admin.ok(&["network", "delete", "app"]);
    let left = admin.json(&["network", "list"]);
    assert!(!left.to_string().contains(&net_id));
}
