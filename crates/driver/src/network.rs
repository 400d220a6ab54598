//! `Network`: how a cloud realises Neutron objects (DESIGN.md, "Clouds, zones, mappings"):
//! a network and its subnets become a libvirt network or bridge with dnsmasq (KVM), a VPC and
//! subnets (AWS), a port group (vSphere) or a bridge domain and EPG (ACI); a router with a
//! gateway becomes NAT or an internet gateway and routes; a floating IP becomes 1:1 NAT or an
//! Elastic IP; a security group becomes nwfilter/nftables rules, an AWS security group or an
//! ACI contract.
//!
//! The engine calls the `Network` of `hybridstack-driver-act` from its steps, so every `ensure_*` is idempotent and
//! keyed by our resource id (tagged on the backend object): calling it again after a crash
//! finds what the first call made instead of making a second one, and converges the object
//! to the spec. Every `delete_*` succeeds when the object is already gone.

use crate::DriverError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetSpec {
    pub id: String,
    pub ip_version: u8,
    pub cidr: String,
    pub gateway_ip: Option<String>,
    pub enable_dhcp: bool,
    pub dns_nameservers: Vec<String>,
    /// (destination CIDR, next hop)
    pub host_routes: Vec<(String, String)>,
    /// `None`, `slaac`, `dhcpv6-stateless` or `dhcpv6-stateful`.
    pub ipv6_address_mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    pub id: String,
    pub name: String,
    pub mtu: u32,
    pub external: bool,
    pub subnets: Vec<SubnetSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// `ingress` or `egress`
    pub direction: String,
    /// `IPv4` or `IPv6`
    pub ethertype: String,
    /// A protocol name or number; `None` is any. For ICMP, Neutron carries the type and
    /// code in the port range fields.
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    /// For a `remote_group_id` rule: the addresses of that group's ports now, resolved by
    /// the control plane (a backend without group references matches these instead).
    pub remote_addresses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupSpec {
    pub id: String,
    pub name: String,
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub id: String,
    pub network_id: String,
    pub mac_address: String,
    /// (subnet id, address): what DHCP must hand this MAC, and all the port may send from.
    pub fixed_ips: Vec<(String, String)>,
    pub port_security_enabled: bool,
    /// The port's groups with their rules, so a backend can create what it lacks.
    pub security_groups: Vec<SecurityGroupSpec>,
    /// (address or CIDR, MAC) pairs the port may also use.
    pub allowed_address_pairs: Vec<(String, Option<String>)>,
    /// Whether the port's IPv4 address is handed out by DHCP (its subnet has DHCP on).
    pub dhcp: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterGateway {
    /// The external network, realised on the cloud with the router.
    pub network: NetworkSpec,
    /// The router's address on it, which SNAT translates to.
    pub address: String,
    pub snat: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterInterface {
    pub network_id: String,
    pub subnet_id: String,
    pub cidr: String,
    /// The router's address on the subnet (usually its gateway).
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterSpec {
    pub id: String,
    pub gateway: Option<RouterGateway>,
    /// Only the interfaces on networks realised on this cloud.
    pub interfaces: Vec<RouterInterface>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloatingIpSpec {
    pub id: String,
    pub floating_network_id: String,
    pub floating_ip_address: String,
    /// The port it translates to, its fixed address and network, and the router that
    /// connects that network to the floating IP's.
    pub port_id: String,
    pub fixed_ip_address: String,
    pub fixed_network_id: String,
    pub router_id: String,
}

/// A backend object that carries our tag, as a reconciler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// `network`, `port`, `router`, `floatingip` or `security_group`
    pub kind: &'static str,
    /// Our resource id, read from the tag.
    pub id: String,
    /// The backend's own handle.
    pub reference: String,
}

/// What a cloud can realise; the API refuses, with the reason, what a cloud cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkCapabilities {
    pub ipv6: bool,
    pub routers: bool,
    pub floating_ips: bool,
    pub security_groups: bool,
    pub remote_group_rules: bool,
    /// Neutron's `binding:vif_type` for a port bound here: `bridge`, `dvs`, `other`.
    pub vif_type: &'static str,
}

/// What core may ask a cloud about its networks at request time; nothing here changes the
/// cloud. The engine's `Network` (crate `hybridstack-driver-act`) adds the calls that do.
pub trait NetworkQuery: Send + Sync {
    fn capabilities(&self) -> NetworkCapabilities;

    /// Whether the cloud can host a subnet of this CIDR and version (checked when a subnet is
    /// added to a network meant for the cloud, so the refusal is a 400 with the reason).
    fn check_subnet(&self, s: &SubnetSpec) -> Result<(), DriverError> {
        let _ = s;
        Ok(())
    }
}
