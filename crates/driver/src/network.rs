//! `Network`: how a cloud realises Neutron objects (DESIGN.md, "Clouds, zones, mappings"):
//! a network and its subnets become a libvirt network or bridge with dnsmasq (KVM), a VPC and
//! subnets (AWS), a port group (vSphere) or a bridge domain and EPG (ACI); a router with a
//! gateway becomes NAT or an internet gateway and routes; a floating IP becomes 1:1 NAT or an
//! Elastic IP; a security group becomes nwfilter/nftables rules, an AWS security group or an
//! ACI contract.
//!
//! The control plane calls these from engine steps, so every `ensure_*` is idempotent and
//! keyed by our resource id (tagged on the backend object): calling it again after a crash
//! finds what the first call made instead of making a second one, and converges the object
//! to the spec. Every `delete_*` succeeds when the object is already gone.

use async_trait::async_trait;

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
    /// A protocol name or number; `None` is any.
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
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
    pub security_group_ids: Vec<String>,
    /// (address or CIDR, MAC) pairs the port may also use.
    pub allowed_address_pairs: Vec<(String, Option<String>)>,
    /// Whether the port's IPv4 address is handed out by DHCP (its subnet has DHCP on).
    pub dhcp: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterSpec {
    pub id: String,
    /// (external network id, gateway address, SNAT on)
    pub gateway: Option<(String, String, bool)>,
    /// (subnet id, the router's address on it)
    pub interfaces: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloatingIpSpec {
    pub id: String,
    pub floating_network_id: String,
    pub floating_ip_address: String,
    /// (port id, fixed address, router id) when associated.
    pub target: Option<(String, String, String)>,
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
}

#[async_trait]
pub trait Network: Send + Sync {
    fn capabilities(&self) -> NetworkCapabilities;

    /// Creates or converges the network and its subnets; returns the backend's handle.
    async fn ensure_network(&self, n: &NetworkSpec) -> Result<String, DriverError>;
    async fn delete_network(&self, id: &str) -> Result<(), DriverError>;

    /// Makes the port usable where it is bound: its DHCP entry, its address filter and its
    /// security groups.
    async fn ensure_port(&self, p: &PortSpec) -> Result<String, DriverError>;
    async fn delete_port(&self, id: &str) -> Result<(), DriverError>;

    async fn ensure_security_group(&self, g: &SecurityGroupSpec) -> Result<String, DriverError>;
    async fn delete_security_group(&self, id: &str) -> Result<(), DriverError>;

    async fn ensure_router(&self, r: &RouterSpec) -> Result<String, DriverError>;
    async fn delete_router(&self, id: &str) -> Result<(), DriverError>;

    async fn ensure_floating_ip(&self, f: &FloatingIpSpec) -> Result<String, DriverError>;
    async fn delete_floating_ip(&self, id: &str) -> Result<(), DriverError>;

    /// Every object in the cloud that carries our tag (for drift and orphan reconciliation).
    async fn list_owned(&self) -> Result<Vec<Owned>, DriverError>;
}
