//! The config drive every backend gives its guests: Nova's ISO 9660 volume labelled
//! `config-2`, with `openstack/latest/meta_data.json` (uuid, name, hostname, public keys,
//! metadata), `user_data`, and `network_data.json` (each NIC's link and addresses, as Nova
//! writes it). Guests (cloud-init, or the test guest's /init) read their host name, SSH key
//! and, where the cloud has no DHCP, their addresses from it. Built with genisoimage, as Nova
//! builds it: no maintained Rust crate writes ISO 9660 with Joliet and Rock Ridge. How the
//! ISO reaches the guest (a pool volume, a datastore file on a CD-ROM) is the backend's.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::{json, Value};

use crate::{DriverError, ServerSpec};

fn fail(m: String) -> DriverError {
    DriverError::Failed(m)
}

/// `network_data.json`: a link per NIC, a network per address. Where the cloud hands out
/// addresses by DHCP and the subnet has it on, the network says `ipv4_dhcp` (as Nova does);
/// otherwise the address is given statically, with its subnet's gateway, routes and DNS.
pub fn network_data(spec: &ServerSpec, cloud_has_dhcp: bool) -> Value {
    let mut links = Vec::new();
    let mut networks = Vec::new();
    let mut dns = Vec::new();
    for (i, nic) in spec.nics.iter().enumerate() {
        let link = format!("tap{}", nic.port_id.chars().take(11).collect::<String>());
        links.push(json!({"id": link, "type": "phy", "ethernet_mac_address": nic.mac_address, "vif_id": nic.port_id}));
        for (j, a) in nic.addresses.iter().enumerate() {
            let v6 = a.address.contains(':');
            let id = format!("network{}", i * 16 + j);
            if cloud_has_dhcp && a.dhcp {
                let kind = if v6 { "ipv6_dhcp" } else { "ipv4_dhcp" };
                networks.push(json!({"id": id, "type": kind, "link": link, "network_id": nic.network_id}));
                continue;
            }
            let prefix: u8 = a.cidr.rsplit('/').next().and_then(|p| p.parse().ok()).unwrap_or(if v6 { 64 } else { 24 });
            let mut routes: Vec<Value> = a
                .routes
                .iter()
                .map(|(dest, hop)| {
                    let (net, len) = dest.split_once('/').unwrap_or((dest.as_str(), "32"));
                    json!({"network": net, "netmask": netmask(len.parse().unwrap_or(32), net.contains(':')), "gateway": hop})
                })
                .collect();
            if let Some(gw) = &a.gateway {
                let any = if v6 { "::" } else { "0.0.0.0" };
                routes.push(json!({"network": any, "netmask": netmask(0, v6), "gateway": gw}));
            }
            networks.push(json!({
                "id": id,
                "type": if v6 { "ipv6" } else { "ipv4" },
                "link": link,
                "ip_address": a.address,
                "netmask": netmask(prefix, v6),
                "routes": routes,
                "network_id": nic.network_id,
                "services": a.dns_nameservers.iter().map(|d| json!({"type": "dns", "address": d})).collect::<Vec<_>>(),
            }));
            for d in &a.dns_nameservers {
                if !dns.contains(d) {
                    dns.push(d.clone());
                }
            }
        }
    }
    let services: Vec<Value> = dns.iter().map(|d| json!({"type": "dns", "address": d})).collect();
    json!({"links": links, "networks": networks, "services": services})
}

/// A prefix length as the dotted (IPv4) or full (IPv6) mask Nova's network data carries.
fn netmask(prefix: u8, v6: bool) -> String {
    if v6 {
        let bits: u128 = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix.min(128))) };
        std::net::Ipv6Addr::from(bits).to_string()
    } else {
        let bits: u32 = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
        std::net::Ipv4Addr::from(bits).to_string()
    }
}

/// Writes the drive's tree and the ISO under `dir`; returns the ISO's path.
pub fn build_iso(spec: &ServerSpec, cloud_has_dhcp: bool, dir: &Path) -> Result<PathBuf, DriverError> {
    let g = &spec.guest;
    let latest = dir.join("tree/openstack/latest");
    std::fs::create_dir_all(&latest).map_err(|e| fail(format!("config drive tree: {e}")))?;
    let mut keys = serde_json::Map::new();
    let mut key_list = Vec::new();
    if let (Some(name), Some(key)) = (&g.key_name, &g.public_key) {
        keys.insert(name.clone(), json!(key));
        key_list.push(json!({"name": name, "type": "ssh", "data": key}));
    }
    let meta = json!({
        "uuid": spec.id,
        "name": g.name,
        "hostname": g.hostname,
        "availability_zone": g.availability_zone,
        "project_id": g.project_id,
        "launch_index": 0,
        "meta": g.metadata,
        "public_keys": keys,
        "keys": key_list,
    });
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(latest.join(name), bytes).map_err(|e| fail(format!("config drive {name}: {e}")))
    };
    write("meta_data.json", format!("{meta}\n").as_bytes())?;
    write("network_data.json", format!("{}\n", network_data(spec, cloud_has_dhcp)).as_bytes())?;
    if let Some(ud) = &g.user_data {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(ud.trim())
            .map_err(|_| DriverError::Rejected("user_data is not base64".into()))?;
        write("user_data", &bytes)?;
    }
    let iso = dir.join("config.iso");
    let out = Command::new("genisoimage")
        .args(["-quiet", "-J", "-r", "-V", "config-2", "-o"])
        .arg(&iso)
        .arg(dir.join("tree"))
        .output()
        .map_err(|e| fail(format!("genisoimage could not run (install genisoimage): {e}")))?;
    if !out.status.success() {
        return Err(fail(format!("genisoimage failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(iso)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NicAddress, NicSpec};

    fn spec() -> ServerSpec {
        ServerSpec {
            id: "s1".into(),
            name: "web".into(),
            flavor_name: "f".into(),
            vcpus: 1,
            ram_mb: 64,
            disk_gb: 1,
            nics: vec![NicSpec {
                port_id: "0123456789abcdef".into(),
                network_id: "n1".into(),
                mac_address: "fa:16:3e:00:00:01".into(),
                addresses: vec![
                    NicAddress {
                        address: "10.0.0.5".into(),
                        cidr: "10.0.0.0/24".into(),
                        gateway: Some("10.0.0.1".into()),
                        dns_nameservers: vec!["10.0.0.2".into()],
                        routes: vec![("192.168.0.0/16".into(), "10.0.0.254".into())],
                        dhcp: true,
                    },
                    NicAddress {
                        address: "fd00::5".into(),
                        cidr: "fd00::/64".into(),
                        gateway: None,
                        dns_nameservers: vec![],
                        routes: vec![],
                        dhcp: false,
                    },
                ],
            }],
            start: true,
            fresh: true,
            ..Default::default()
        }
    }

    #[test]
    fn static_addresses_where_the_cloud_has_no_dhcp() {
        let d = network_data(&spec(), false);
        assert_eq!(d["links"][0]["ethernet_mac_address"], "fa:16:3e:00:00:01");
        assert_eq!(d["links"][0]["id"], "tap0123456789a");
        let v4 = &d["networks"][0];
        assert_eq!((v4["type"].as_str(), v4["ip_address"].as_str()), (Some("ipv4"), Some("10.0.0.5")));
        assert_eq!(v4["netmask"], "255.255.255.0");
        assert_eq!(
            v4["routes"][0],
            json!({"network": "192.168.0.0", "netmask": "255.255.0.0", "gateway": "10.0.0.254"})
        );
        assert_eq!(v4["routes"][1], json!({"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"}));
        assert_eq!(d["networks"][1]["netmask"], "ffff:ffff:ffff:ffff::");
        assert_eq!(d["services"], json!([{"type": "dns", "address": "10.0.0.2"}]));
    }

    #[test]
    fn dhcp_subnets_say_so_where_the_cloud_has_dhcp() {
        let d = network_data(&spec(), true);
        assert_eq!(d["networks"][0]["type"], "ipv4_dhcp");
        assert_eq!(d["networks"][1]["type"], "ipv6", "a subnet without DHCP stays static");
    }
}
