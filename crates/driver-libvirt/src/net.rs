//! `Network` for libvirt: a Neutron network becomes an isolated libvirt network
//! (`hs-net-<id>`, with the Neutron id as its UUID) on a bridge that holds the first IPv4
//! subnet's gateway address; its dnsmasq hands each port exactly the address Neutron assigned,
//! through a static host entry keyed by MAC and named after the port. Security groups are
//! each port's nwfilter (`filters`); routers and floating IPs are host NAT (`routing`), which
//! needs the host's own tools, so only a local URI (`qemu:///…`) offers them.

use async_trait::async_trait;
use hybridstack_driver::{
    DriverError, FloatingIpSpec, NetworkCapabilities, NetworkQuery, NetworkSpec, Owned, PortSpec, RouterSpec,
    SecurityGroupSpec,
};
use hybridstack_driver_act::Network;
use virt::connect::Connect;
use virt::network::Network as LvNetwork;

use crate::domain_xml::{esc, network_name};
use crate::errors::{is_missing, lv};
use crate::marks::{network_domain, Marks, NETWORK_NS};
use crate::LibvirtCloud;

fn lookup(conn: &Connect, id: &str) -> Result<Option<LvNetwork>, DriverError> {
    match conn.lookup_network_by_uuid_string(id) {
        Ok(n) => Ok(Some(n)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(lv("looking up the network", e)),
    }
}

/// Linux bridge names have at most 15 characters.
pub(crate) fn bridge_name(id: &str) -> String {
    let hex: String = id.chars().filter(char::is_ascii_hexdigit).take(11).collect();
    format!("hsb{hex}")
}

fn host_name(port_id: &str) -> String {
    format!("p-{port_id}")
}

fn network_xml(n: &NetworkSpec, marks: &Marks) -> Result<String, DriverError> {
    let mut ips = String::new();
    let mut options = String::new();
    if let Some(s) = n.subnets.iter().find(|s| s.ip_version == 4 && s.gateway_ip.is_some()) {
        let prefix = s
            .cidr
            .split_once('/')
            .map(|(_, p)| p.to_string())
            .ok_or_else(|| DriverError::Rejected(format!("subnet {} has no prefix length in {}", s.id, s.cidr)))?;
        let gw = s.gateway_ip.clone().unwrap_or_default();
        // DHCP is switched on with the first port's host entry (see ensure_port).
        ips = format!("<ip address='{}' prefix='{}'></ip>", esc(&gw), esc(&prefix));
        // libvirt tells guests of an isolated network that there is no router; Neutron
        // offers the subnet's gateway, which is where a router (see `routing`) listens.
        options = format!(
            "<dnsmasq:options><dnsmasq:option value='dhcp-option=option:router,{}'/></dnsmasq:options>",
            esc(&gw)
        );
    }
    // Releases before installation ids marked a network by its DNS domain alone.
    let metadata = match marks.installation {
        Some(_) => {
            format!("<metadata><hs:network xmlns:hs='{NETWORK_NS}'>{}</hs:network></metadata>", marks.metadata())
        }
        None => String::new(),
    };
    Ok(format!(
        "<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'><name>{}</name><uuid>{}</uuid>\
{metadata}<bridge name='{}' stp='off' delay='0'/><mtu size='{}'/><domain name='{}' localOnly='yes'/>{ips}{options}</network>",
        esc(&network_name(&n.id)),
        esc(&n.id),
        bridge_name(&n.id),
        n.mtu.max(576),
        network_domain(&marks.cloud)
    ))
}

/// The marks of a network are read from its persistent definition, which adoption rewrites.
pub(crate) fn definition(net: &LvNetwork) -> Result<String, virt::error::Error> {
    net.xml_desc(virt::sys::VIR_NETWORK_XML_INACTIVE)
}

fn ensure_network(conn: &Connect, n: &NetworkSpec, marks: &Marks) -> Result<String, DriverError> {
    let net = match lookup(conn, &n.id)? {
        Some(net) => {
            let xml = definition(&net).map_err(|e| lv("reading the network", e))?;
            let maker = marks.maker_of_xml(&xml);
            // Ours, or ours from before installation ids (the reconciler adopts it).
            if !marks.owns(&xml) && !marks.legacy_of_this_cloud(&maker) {
                return Err(DriverError::Rejected(format!(
                    "libvirt network {} on this host is not this cloud's (made by {maker})",
                    network_name(&n.id)
                )));
            }
            net
        }
        None => {
            tracing::info!(network = %n.id, "defining the libvirt network");
            conn.define_network_xml(&network_xml(n, marks)?).map_err(|e| lv("defining the network", e))?
        }
    };
    if !net.is_active().map_err(|e| lv("reading the network state", e))? {
        net.create().map_err(|e| match lv("starting the network", e) {
            // Most often another network already holds the same addresses on this host.
            DriverError::Failed(m) => DriverError::Rejected(m),
            other => other,
        })?;
    }
    let _ = net.set_autostart(true);
    Ok(network_name(&n.id))
}

fn delete_network(conn: &Connect, id: &str) -> Result<(), DriverError> {
    let Some(net) = lookup(conn, id)? else { return Ok(()) };
    // Still in use on this host (a port's DHCP entry, or a guest's interface): it stays, and
    // goes with its last port. The reconciler collects one left behind.
    let xml = net.xml_desc(0).map_err(|e| lv("reading the network", e))?;
    let connections = xml
        .split("connections='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    let live_hosts = xml.matches("<host ").count() - xml.matches(&format!("name='{STALE}'")).count();
    if connections > 0 || live_hosts > 0 {
        tracing::info!(network = %id, connections, "network still in use on this cloud; kept");
        return Ok(());
    }
    tracing::info!(network = %id, "deleting the libvirt network: its last port is gone");
    if net.is_active().map_err(|e| lv("reading the network state", e))? {
        net.destroy().map_err(|e| lv("stopping the network", e))?;
    }
    match net.undefine() {
        Ok(()) => Ok(()),
        Err(e) if is_missing(&e) => Ok(()),
        Err(e) => Err(lv("undefining the network", e)),
    }
}

const DHCP_FLAGS: u32 = virt::sys::VIR_NETWORK_UPDATE_AFFECT_LIVE | virt::sys::VIR_NETWORK_UPDATE_AFFECT_CONFIG;

fn ensure_port(inner: &crate::Inner, conn: &Connect, p: &PortSpec) -> Result<String, DriverError> {
    let net = lookup(conn, &p.network_id)?
        .ok_or_else(|| DriverError::NotFound(format!("network {} is not realised on this cloud", p.network_id)))?;
    // The guest's interface refers to the filter, so it must exist before the guest starts.
    crate::filters::ensure_port_filter(inner, conn, p)?;
    let xml = net.xml_desc(0).map_err(|e| lv("reading the network", e))?;
    let name = host_name(&p.id);
    if !p.dhcp {
        return Ok(name);
    }
    if xml.contains(&format!("name='{name}'")) || xml.contains(&format!("name=\"{name}\"")) {
        return Ok(name);
    }
    let Some((_, ip)) = p.fixed_ips.iter().find(|(_, ip)| !ip.contains(':')) else { return Ok(name) };
    let host = format!("<host mac='{}' name='{}' ip='{}'/>", esc(&p.mac_address), esc(&name), esc(ip));
    // An entry still holding this address (a deleted port's placeholder, see delete_port)
    // gives way: Neutron reuses addresses.
    if let Some(old) = host_with_ip(&xml, ip) {
        update_host(&net, virt::sys::VIR_NETWORK_UPDATE_COMMAND_DELETE, &old, "removing a stale DHCP entry")?;
    }
    let attached = xml
        .split("connections='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    // Restarting the network would cut the guests attached to it, so that is only done while
    // none is; otherwise the entry is added live.
    if !xml.contains("<dhcp") && attached == 0 {
        // libvirt starts dnsmasq's DHCP only for a network with ranges or hosts, and adding
        // a host later does not start it; so the first host is written into the definition
        // and the network restarted. No guest is attached yet: this is its first DHCP port.
        if !xml.contains("</ip>") {
            return Err(DriverError::Rejected(format!(
                "network {} has no IPv4 gateway on this cloud, so it cannot serve DHCP",
                p.network_id
            )));
        }
        let with_host = xml.replacen("</ip>", &format!("<dhcp>{host}</dhcp></ip>"), 1);
        tracing::info!(network = %p.network_id, port = %p.id, "first DHCP port: restarting the network with DHCP on");
        if net.is_active().map_err(|e| lv("reading the network state", e))? {
            net.destroy().map_err(|e| lv("stopping the network", e))?;
        }
        let net = conn.define_network_xml(&with_host).map_err(|e| lv("redefining the network", e))?;
        net.create().map_err(|e| lv("restarting the network", e))?;
        return Ok(name);
    }
    update_host(&net, virt::sys::VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, &host, "adding the port's DHCP entry")?;
    Ok(name)
}

/// The name a deleted port's DHCP entry is kept under when it was the network's last one:
/// libvirt drops an empty `<dhcp>` from the definition, and a network without it would have
/// to be restarted (cutting its guests) to serve DHCP again.
const STALE: &str = "hs-released";

fn update_host(net: &LvNetwork, cmd: u32, host: &str, what: &str) -> Result<(), DriverError> {
    net.update(cmd, virt::sys::VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, host, DHCP_FLAGS).map_err(|e| lv(what, e))
}

/// The `<host …/>` element handing out `ip`, if any.
fn host_with_ip(xml: &str, ip: &str) -> Option<String> {
    xml.split("<host ").skip(1).find_map(|rest| {
        let el = rest.split("/>").next()?;
        (el.contains(&format!("ip='{ip}'")) || el.contains(&format!("ip=\"{ip}\""))).then(|| format!("<host {el}/>"))
    })
}

/// The `<host …/>` element naming `name` in a network's XML, if any.
fn host_entry(xml: &str, name: &str) -> Option<String> {
    xml.split("<host ").skip(1).find_map(|rest| {
        let el = rest.split("/>").next()?;
        (el.contains(&format!("name='{name}'")) || el.contains(&format!("name=\"{name}\"")))
            .then(|| format!("<host {el}/>"))
    })
}

fn delete_port(inner: &crate::Inner, conn: &Connect, id: &str) -> Result<(), DriverError> {
    crate::filters::delete_port_filter(inner, conn, id)?;
    let name = host_name(id);
    for net in conn.list_all_networks(0).map_err(|e| lv("listing networks", e))? {
        let n = net.name().map_err(|e| lv("reading a network name", e))?;
        let Some(net_id) = n.strip_prefix("hs-net-") else { continue };
        let lock = inner.net_lock(net_id);
        let _held = lock.lock();
        // Another cloud on this host may delete its network while we look through them.
        let xml = match definition(&net).and_then(|d| Ok((d, net.xml_desc(0)?))) {
            // Only this cloud's networks (and its own from before installation ids) are touched.
            Ok((d, x)) if inner.marks.owns(&d) || inner.marks.legacy_of_this_cloud(&inner.marks.maker_of_xml(&d)) => x,
            Ok(_) => continue,
            Err(e) if is_missing(&e) => continue,
            Err(e) => return Err(lv("reading the network", e)),
        };
        if let Some(host) = host_entry(&xml, &name) {
            update_host(&net, virt::sys::VIR_NETWORK_UPDATE_COMMAND_DELETE, &host, "removing the port's DHCP entry")?;
            if xml.matches("<host ").count() == 1 {
                let placeholder = host.replace(&format!("name='{name}'"), &format!("name='{STALE}'"));
                update_host(&net, virt::sys::VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, &placeholder, "keeping DHCP on")?;
            }
            if inner.cfg.uri.starts_with("qemu:///") {
                release_lease(&bridge_name(net_id), &host);
            }
        }
    }
    Ok(())
}

/// Frees the lease dnsmasq still holds for a deleted port, as Neutron's DHCP agent does:
/// dnsmasq will not hand an address leased to one MAC to another, and Neutron reuses
/// addresses, so without this a new port can be refused its own address for the lease time.
/// `dhcp_release` (dnsmasq-utils) sends the DHCPRELEASE on the bridge; it is local only.
fn release_lease(bridge: &str, host: &str) {
    let attr = |k: &str| host.split(&format!("{k}='")).nth(1).and_then(|r| r.split('\'').next()).map(str::to_string);
    let (Some(ip), Some(mac)) = (attr("ip"), attr("mac")) else { return };
    match std::process::Command::new("dhcp_release").args([bridge, &ip, &mac]).output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => tracing::warn!(%bridge, %ip, "dhcp_release failed: {}", String::from_utf8_lossy(&o.stderr).trim()),
        Err(e) => tracing::warn!(%bridge, %ip, "dhcp_release could not run (install dnsmasq-utils): {e}"),
    }
}

fn list_owned(conn: &Connect, marks: &Marks) -> Result<Vec<Owned>, DriverError> {
    let mut out = Vec::new();
    for net in conn.list_all_networks(0).map_err(|e| lv("listing networks", e))? {
        let n = net.name().map_err(|e| lv("reading a network name", e))?;
        if let Some(id) = n.strip_prefix("hs-net-") {
            let xml = match definition(&net) {
                Ok(x) => x,
                Err(e) if is_missing(&e) => continue,
                Err(e) => return Err(lv("reading the network", e)),
            };
            // Another cloud's or installation's network on the same host is not ours to collect.
            if !marks.owns(&xml) {
                continue;
            }
            out.push(Owned { kind: "network", id: id.to_string(), reference: n.clone() });
            for rest in xml.split("name='p-").skip(1) {
                if let Some(port) = rest.split('\'').next() {
                    out.push(Owned { kind: "port", id: port.to_string(), reference: n.clone() });
                }
            }
        }
    }
    for (port, filter) in crate::filters::owned_port_filters(marks, conn)? {
        if !out.iter().any(|o| o.kind == "port" && o.id == port) {
            out.push(Owned { kind: "port", id: port, reference: filter });
        }
    }
    Ok(out)
}

impl NetworkQuery for LibvirtCloud {
    fn capabilities(&self) -> NetworkCapabilities {
        let local = self.inner.cfg.uri.starts_with("qemu:///");
        NetworkCapabilities {
            ipv6: false,
            routers: local,
            floating_ips: local,
            security_groups: true,
            remote_group_rules: true,
            vif_type: "bridge",
        }
    }
}

#[async_trait]
impl Network for LibvirtCloud {
    async fn ensure_network(&self, n: &NetworkSpec) -> Result<String, DriverError> {
        let n = n.clone();
        self.blocking(move |i, c| {
            let lock = i.net_lock(&n.id);
            let _held = lock.lock();
            ensure_network(c, &n, &i.marks)
        })
        .await
    }

    async fn delete_network(&self, id: &str) -> Result<(), DriverError> {
        let id = id.to_string();
        self.blocking(move |i, c| {
            let lock = i.net_lock(&id);
            let _held = lock.lock();
            delete_network(c, &id)
        })
        .await
    }

    async fn ensure_port(&self, p: &PortSpec) -> Result<String, DriverError> {
        let p = p.clone();
        self.blocking(move |i, c| {
            let lock = i.net_lock(&p.network_id);
            let _held = lock.lock();
            ensure_port(i, c, &p)
        })
        .await
    }

    async fn refresh_port(&self, p: &PortSpec) -> Result<(), DriverError> {
        let p = p.clone();
        self.blocking(move |i, c| crate::filters::refresh_port_filter(i, c, &p)).await
    }

    async fn delete_port(&self, id: &str) -> Result<(), DriverError> {
        let id = id.to_string();
        self.blocking(move |i, c| delete_port(i, c, &id)).await
    }

    /// Groups are enforced inside each port's filter (see `filters`), which `ensure_port`
    /// writes with the group's current rules; there is no separate object to make.
    async fn ensure_security_group(&self, g: &SecurityGroupSpec) -> Result<String, DriverError> {
        Ok(format!("enforced in the filters of the ports of {}", g.id))
    }

    async fn delete_security_group(&self, _id: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn ensure_router(&self, r: &RouterSpec) -> Result<String, DriverError> {
        self.require_local("routers")?;
        let r = r.clone();
        self.blocking(move |i, c| {
            let lock = i.lock("routing");
            let _held = lock.lock();
            crate::routing::ensure_router(i, c, &r)
        })
        .await
    }

    async fn delete_router(&self, id: &str) -> Result<(), DriverError> {
        let id = id.to_string();
        self.blocking(move |i, _| {
            let lock = i.lock("routing");
            let _held = lock.lock();
            crate::routing::delete_router(i, &id)
        })
        .await
    }

    async fn ensure_floating_ip(&self, f: &FloatingIpSpec) -> Result<String, DriverError> {
        self.require_local("floating IPs")?;
        let f = f.clone();
        self.blocking(move |i, c| {
            let lock = i.lock("routing");
            let _held = lock.lock();
            crate::routing::ensure_floating_ip(i, c, &f)
        })
        .await
    }

    async fn delete_floating_ip(&self, id: &str) -> Result<(), DriverError> {
        let id = id.to_string();
        self.blocking(move |i, _| {
            let lock = i.lock("routing");
            let _held = lock.lock();
            crate::routing::delete_floating_ip(i, &id)
        })
        .await
    }

    async fn list_owned(&self) -> Result<Vec<Owned>, DriverError> {
        let local = self.inner.cfg.uri.starts_with("qemu:///");
        self.blocking(move |i, c| {
            let mut out = list_owned(c, &i.marks)?;
            if local {
                out.extend(crate::routing::owned(&i.marks)?);
            }
            Ok(out)
        })
        .await
    }
}

impl LibvirtCloud {
    fn require_local(&self, what: &str) -> Result<(), DriverError> {
        if self.inner.cfg.uri.starts_with("qemu:///") {
            return Ok(());
        }
        Err(DriverError::NotSupported(format!(
            "{what} need the host's NAT, which this driver sets up only on a local libvirt (qemu:///…), not on {}",
            self.inner.cfg.uri
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_names_fit_linux_limit() {
        let b = bridge_name("0b7c5a3e-1234-4f00-9abc-def012345678");
        assert!(b.len() <= 15, "{b}");
        assert_eq!(b, "hsb0b7c5a3e123");
    }

    #[test]
    fn finds_a_host_entry_by_name() {
        let xml = "<dhcp><host mac='52:54:00:00:00:01' name='p-a' ip='10.0.0.5'/><host mac='52:54:00:00:00:02' name='p-b' ip='10.0.0.6'/></dhcp>";
        assert_eq!(host_entry(xml, "p-b").as_deref(), Some("<host mac='52:54:00:00:00:02' name='p-b' ip='10.0.0.6'/>"));
        assert_eq!(host_entry(xml, "p-c"), None);
        assert_eq!(
            host_with_ip(xml, "10.0.0.5").as_deref(),
            Some("<host mac='52:54:00:00:00:01' name='p-a' ip='10.0.0.5'/>")
        );
        assert_eq!(host_with_ip(xml, "10.0.0.50"), None);
    }
}
