//! Security groups on libvirt: each port gets one nwfilter (`hs-port-<installation tag>-<cloud
//! tag>-<port>`, see `marks`,
//! referenced by the guest's interface) holding its anti-spoofing rules, DHCP, the accept
//! rules of all its groups, and a final drop. nwfilter's iptables rules are stateful by
//! default (NEW,ESTABLISHED one way, ESTABLISHED back), which is Neutron's model, and
//! redefining a filter updates the running guests at once.
//!
//! Groups are written into each port's filter rather than into shared per-group filters, so
//! the order of rules never depends on how libvirt merges referenced filters; a group's
//! change therefore redefines the filters of its ports (the control plane's network sync
//! re-ensures every bound port). Remote-group rules arrive resolved to addresses.

use hybridstack_driver::{DriverError, PortSpec, RuleSpec};
use virt::connect::Connect;

use crate::domain_xml::esc;
use crate::errors::lv;
use crate::marks::Marks;
use crate::Inner;

/// The nwfilter element for a Neutron protocol, by family; `None` for protocols nwfilter
/// cannot match statefully (the rule is then left out, so the traffic stays blocked).
fn protocol_element(protocol: Option<&str>, v6: bool) -> Option<&'static str> {
    let p = protocol.map(str::to_ascii_lowercase);
    Some(match (p.as_deref(), v6) {
        (None | Some("any" | "0"), false) => "all",
        (None | Some("any" | "0"), true) => "all-ipv6",
        (Some("tcp" | "6"), false) => "tcp",
        (Some("tcp" | "6"), true) => "tcp-ipv6",
        (Some("udp" | "17"), false) => "udp",
        (Some("udp" | "17"), true) => "udp-ipv6",
        (Some("sctp" | "132"), false) => "sctp",
        (Some("sctp" | "132"), true) => "sctp-ipv6",
        (Some("icmp" | "1"), false) => "icmp",
        (Some("icmp" | "ipv6-icmp" | "icmpv6" | "58"), true) => "icmpv6",
        _ => return None,
    })
}

/// `addr` or `addr/len` as nwfilter's address and mask attributes (`src` or `dst`).
fn address_attrs(side: &str, cidr: &str) -> String {
    match cidr.split_once('/') {
        Some((a, len)) => format!(" {side}ipaddr='{}' {side}ipmask='{}'", esc(a), esc(len)),
        None => format!(" {side}ipaddr='{}'", esc(cidr)),
    }
}

/// The accept rules one security-group rule becomes (none, one, or one per remote address).
fn rule_xml(r: &RuleSpec) -> Result<Vec<String>, String> {
    let v6 = r.ethertype.eq_ignore_ascii_case("IPv6");
    let Some(element) = protocol_element(r.protocol.as_deref(), v6) else {
        return Err(format!("protocol {:?} cannot be enforced by nwfilter; the rule is not applied", r.protocol));
    };
    let direction = if r.direction == "egress" { "out" } else { "in" };
    // Attributes name the packet's fields: for traffic into the guest the remote end is the
    // source, for traffic out of it the destination.
    let remote_side = if direction == "in" { "src" } else { "dst" };
    let mut attrs = String::new();
    match element {
        "tcp" | "tcp-ipv6" | "udp" | "udp-ipv6" | "sctp" | "sctp-ipv6" => {
            if let Some(min) = r.port_range_min {
                let max = r.port_range_max.unwrap_or(min);
                attrs += &format!(" dstportstart='{min}' dstportend='{max}'");
            }
        }
        "icmp" | "icmpv6" => {
            if let Some(t) = r.port_range_min {
                attrs += &format!(" type='{t}'");
                if let Some(c) = r.port_range_max {
                    attrs += &format!(" code='{c}'");
                }
            }
        }
        _ => {}
    }
    let remotes: Vec<String> = match (&r.remote_group_id, &r.remote_ip_prefix) {
        (Some(_), _) => {
            r.remote_addresses.iter().filter(|a| a.contains(':') == v6).map(|a| address_attrs(remote_side, a)).collect()
        }
        (None, Some(prefix)) if prefix.ends_with("/0") => vec![String::new()],
        (None, Some(prefix)) => vec![address_attrs(remote_side, prefix)],
        (None, None) => vec![String::new()],
    };
    Ok(remotes
        .into_iter()
        .map(|remote| {
            format!("<rule action='accept' direction='{direction}' priority='500'><{element}{attrs}{remote}/></rule>")
        })
        .collect())
}

/// The whole filter of a port. Its UUID is the port's id, except for a filter adopted from an
/// older installation, which keeps the one it was given (a filter's UUID cannot change).
pub(crate) fn port_filter_xml(marks: &Marks, p: &PortSpec, uuid: &str) -> String {
    let mut rules = String::new();
    if p.port_security_enabled {
        // Layer 2: the guest sends only from its own MAC and addresses (and may ask DHCP
        // from 0.0.0.0). A pair with its own MAC lifts the MAC check, as Neutron allows it.
        if p.allowed_address_pairs.iter().all(|(_, mac)| mac.as_deref().is_none_or(|m| m == p.mac_address)) {
            rules += &format!(
                "<rule action='drop' direction='out' priority='-800'><mac match='no' srcmacaddr='{}'/></rule>",
                esc(&p.mac_address)
            );
        }
        let mut sources: Vec<&str> = p.fixed_ips.iter().map(|(_, ip)| ip.as_str()).collect();
        sources.extend(p.allowed_address_pairs.iter().map(|(ip, _)| ip.as_str()));
        for src in sources.iter().filter(|s| !s.contains(':')) {
            rules += &format!(
                "<rule action='return' direction='out' priority='-710'><ip{}/></rule>",
                address_attrs("src", src)
            );
        }
        rules += "<rule action='return' direction='out' priority='-710'>\
<ip srcipaddr='0.0.0.0' protocol='udp' srcportstart='68' dstportstart='67'/></rule>";
        rules += "<rule action='drop' direction='out' priority='-700'><ip/></rule>";
        // DHCP with the network's dnsmasq, whatever the groups say (Neutron does the same).
        rules +=
            "<rule action='accept' direction='out' priority='100'><udp srcportstart='68' dstportstart='67'/></rule>";
        rules +=
            "<rule action='accept' direction='in' priority='100'><udp srcportstart='67' dstportstart='68'/></rule>";
        for g in &p.security_groups {
            for r in &g.rules {
                match rule_xml(r) {
                    Ok(xml) => xml.iter().for_each(|x| rules += x),
                    Err(why) => tracing::warn!(group = %g.id, port = %p.id, "{why}"),
                }
            }
        }
        rules += "<rule action='drop' direction='inout' priority='1000'><all/></rule>";
        rules += "<rule action='drop' direction='inout' priority='1000'><all-ipv6/></rule>";
    }
    format!("<filter name='{}' chain='root'><uuid>{}</uuid>{rules}</filter>", esc(&marks.port_filter(&p.id)), esc(uuid))
}

/// Defines (or redefines, which re-applies it to running guests) a port's filter. The last
/// definition is remembered so that a sync that changes nothing does not rebuild rules.
pub(crate) fn ensure_port_filter(inner: &Inner, conn: &Connect, p: &PortSpec) -> Result<(), DriverError> {
    let name = inner.marks.port_filter(&p.id);
    let lock = inner.lock(&name);
    let _held = lock.lock();
    define(inner, conn, p, name)
}

/// Redefines a port's filter only if it exists: the network sync reads the store before it
/// acts, and must not bring back the filter of a port deleted in between. The filter's lock
/// orders this against `delete_port_filter`.
pub(crate) fn refresh_port_filter(inner: &Inner, conn: &Connect, p: &PortSpec) -> Result<(), DriverError> {
    let name = inner.marks.port_filter(&p.id);
    let lock = inner.lock(&name);
    let _held = lock.lock();
    if conn.lookup_nwfilter_by_name(&name).is_err() {
        return Ok(());
    }
    define(inner, conn, p, name)
}

fn define(inner: &Inner, conn: &Connect, p: &PortSpec, name: String) -> Result<(), DriverError> {
    let existing = conn.lookup_nwfilter_by_name(&name).ok();
    let uuid = existing.as_ref().and_then(|f| f.uuid_string().ok()).unwrap_or_else(|| p.id.clone());
    let xml = port_filter_xml(&inner.marks, p, &uuid);
    if existing.is_some() && inner.filters.lock().get(&name) == Some(&xml) {
        return Ok(());
    }
    conn.define_nwfilter_xml(&xml).map_err(|e| lv("defining the port's security-group filter", e))?;
    inner.filters.lock().insert(name, xml);
    Ok(())
}

/// Removes a port's filter; one still used by a guest (being torn down) stays for the
/// reconciler to collect.
pub(crate) fn delete_port_filter(inner: &Inner, conn: &Connect, port_id: &str) -> Result<(), DriverError> {
    let name = inner.marks.port_filter(port_id);
    let lock = inner.lock(&name);
    let _held = lock.lock();
    inner.filters.lock().remove(&name);
    let Ok(f) = conn.lookup_nwfilter_by_name(&name) else { return Ok(()) };
    if let Err(e) = f.undefine() {
        tracing::warn!(filter = %name, "port filter kept for now: {}", e.message());
    }
    Ok(())
}

/// The ports whose filters this cloud holds, by port id.
pub(crate) fn owned_port_filters(marks: &Marks, conn: &Connect) -> Result<Vec<(String, String)>, DriverError> {
    let prefix = marks.port_filter("");
    Ok(conn
        .list_nw_filters()
        .map_err(|e| lv("listing filters", e))?
        .into_iter()
        .filter_map(|n| n.strip_prefix(&prefix).map(|id| (id.to_string(), n.clone())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hybridstack_driver::SecurityGroupSpec;

    fn rule(direction: &str, protocol: Option<&str>, min: Option<i64>, prefix: Option<&str>) -> RuleSpec {
        RuleSpec {
            direction: direction.into(),
            ethertype: "IPv4".into(),
            protocol: protocol.map(str::to_string),
            port_range_min: min,
            port_range_max: min,
            remote_ip_prefix: prefix.map(str::to_string),
            remote_group_id: None,
            remote_addresses: vec![],
        }
    }

    #[test]
    fn ingress_ports_and_prefixes_name_the_remote_as_source() {
        let x = rule_xml(&rule("ingress", Some("tcp"), Some(22), Some("10.0.0.0/8"))).expect("rule");
        assert_eq!(
            x,
            vec!["<rule action='accept' direction='in' priority='500'><tcp dstportstart='22' dstportend='22' srcipaddr='10.0.0.0' srcipmask='8'/></rule>"]
        );
        let x = rule_xml(&rule("egress", None, None, Some("0.0.0.0/0"))).expect("rule");
        assert_eq!(x, vec!["<rule action='accept' direction='out' priority='500'><all/></rule>"]);
        let x = rule_xml(&rule("egress", Some("udp"), Some(53), Some("192.0.2.1/32"))).expect("rule");
        assert!(x[0].contains("dstipaddr='192.0.2.1' dstipmask='32'"), "{x:?}");
    }

    #[test]
    fn icmp_type_and_code_and_unknown_protocols() {
        let mut r = rule("ingress", Some("icmp"), Some(8), None);
        r.port_range_max = Some(0);
        assert_eq!(
            rule_xml(&r).expect("rule"),
            vec!["<rule action='accept' direction='in' priority='500'><icmp type='8' code='0'/></rule>"]
        );
        assert!(rule_xml(&rule("ingress", Some("gre"), None, None)).is_err());
    }

    #[test]
    fn remote_groups_become_one_rule_per_member_and_none_without_members() {
        let mut r = rule("ingress", None, None, None);
        r.remote_group_id = Some("g".into());
        assert!(rule_xml(&r).expect("rule").is_empty());
        r.remote_addresses = vec!["10.0.0.5".into(), "fd00::5".into(), "10.0.0.6".into()];
        let x = rule_xml(&r).expect("rule");
        assert_eq!(x.len(), 2, "{x:?}");
        assert!(x[1].contains("srcipaddr='10.0.0.6'"));
    }

    #[test]
    fn a_port_without_port_security_has_an_empty_filter() {
        let mut p = PortSpec {
            id: "p1".into(),
            network_id: "n".into(),
            mac_address: "fa:16:3e:00:00:01".into(),
            fixed_ips: vec![("s".into(), "10.0.0.5".into())],
            port_security_enabled: false,
            security_groups: vec![SecurityGroupSpec {
                id: "g".into(),
                name: "default".into(),
                rules: vec![rule("ingress", Some("tcp"), Some(22), None)],
            }],
            allowed_address_pairs: vec![],
            dhcp: true,
        };
        let marks = Marks::new(Some("0b7c5a3e-1234-4f00-9abc-def012345678"), "c").expect("marks");
        let open = port_filter_xml(&marks, &p, &p.id);
        assert!(!open.contains("<rule"), "{open}");
        p.port_security_enabled = true;
        let closed = port_filter_xml(&marks, &p, &p.id);
        assert!(closed.contains("srcmacaddr='fa:16:3e:00:00:01'"), "{closed}");
        assert!(closed.contains("<ip srcipaddr='10.0.0.5'/>"), "{closed}");
        assert!(closed.contains("<tcp dstportstart='22' dstportend='22'/>"), "{closed}");
        assert!(closed.ends_with("<rule action='drop' direction='inout' priority='1000'><all-ipv6/></rule></filter>"));
    }
}
