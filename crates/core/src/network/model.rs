//! The network resources as stored and as Neutron shows them (the API adds only the
//! `tenant_id` alias and drops admin-only fields).

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub admin_state_up: bool,
    pub status: String,
    pub shared: bool,
    #[serde(rename = "router:external")]
    pub external: bool,
    pub mtu: u32,
    pub port_security_enabled: bool,
    pub description: String,
    pub tags: Vec<String>,
    pub availability_zone_hints: Vec<String>,
    pub availability_zones: Vec<String>,
    pub ipv4_address_scope: Option<String>,
    pub ipv6_address_scope: Option<String>,
    /// Filled in when read; not stored.
    #[serde(default)]
    pub subnets: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pool {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HostRoute {
    pub destination: String,
    pub nexthop: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub network_id: String,
    pub ip_version: u8,
    pub cidr: String,
    pub gateway_ip: Option<String>,
    pub allocation_pools: Vec<Pool>,
    pub host_routes: Vec<HostRoute>,
    pub dns_nameservers: Vec<String>,
    pub enable_dhcp: bool,
    pub ipv6_ra_mode: Option<String>,
    pub ipv6_address_mode: Option<String>,
    pub subnetpool_id: Option<String>,
    pub service_types: Vec<String>,
    pub segment_id: Option<String>,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
}

impl Subnet {
    /// SLAAC or DHCPv6-stateless: addresses come from the MAC (EUI-64), not from the pool.
    pub fn auto_address(&self) -> bool {
        matches!(self.ipv6_address_mode.as_deref(), Some("slaac" | "dhcpv6-stateless"))
            || matches!(self.ipv6_ra_mode.as_deref(), Some("slaac" | "dhcpv6-stateless"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FixedIp {
    pub subnet_id: String,
    pub ip_address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Port {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    pub mac_address: String,
    pub admin_state_up: bool,
    pub status: String,
    pub device_id: String,
    pub device_owner: String,
    pub fixed_ips: Vec<FixedIp>,
    pub allowed_address_pairs: Vec<Value>,
    pub extra_dhcp_opts: Vec<Value>,
    pub security_groups: Vec<String>,
    pub port_security_enabled: bool,
    #[serde(rename = "binding:vnic_type")]
    pub vnic_type: String,
    #[serde(rename = "binding:host_id")]
    pub host_id: String,
    /// How the port is plugged on the cloud it is bound to; `unbound` until then.
    #[serde(rename = "binding:vif_type", default = "unbound")]
    pub vif_type: String,
    /// `port_filter` says whether that cloud enforces the port's security groups (a vSphere
    /// distributed switch does not), so an operator reading the port is not misled.
    #[serde(rename = "binding:vif_details", default)]
    pub vif_details: serde_json::Map<String, Value>,
    pub ip_allocation: String,
    pub propagate_uplink_status: bool,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
}

pub(crate) fn unbound() -> String {
    "unbound".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GatewayInfo {
    pub network_id: String,
    pub enable_snat: bool,
    pub external_fixed_ips: Vec<FixedIp>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Router {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub admin_state_up: bool,
    pub status: String,
    pub external_gateway_info: Option<GatewayInfo>,
    pub routes: Vec<Value>,
    pub availability_zone_hints: Vec<String>,
    pub availability_zones: Vec<String>,
    pub flavor_id: Option<String>,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
    /// The gateway port, owned by no project. Not shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw_port_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FloatingIp {
    pub id: String,
    pub project_id: String,
    pub floating_ip_address: String,
    pub floating_network_id: String,
    pub router_id: Option<String>,
    pub port_id: Option<String>,
    pub fixed_ip_address: Option<String>,
    pub status: String,
    pub description: String,
    pub tags: Vec<String>,
    pub port_details: Option<Value>,
    pub qos_policy_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
    /// The external port holding the address. Not shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fip_port_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub description: String,
    pub stateful: bool,
    pub shared: bool,
    pub tags: Vec<String>,
    /// Filled in when read; not stored.
    #[serde(default)]
    pub security_group_rules: Vec<SecurityGroupRule>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecurityGroupRule {
    pub id: String,
    pub project_id: String,
    pub security_group_id: String,
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub normalized_cidr: Option<String>,
    pub remote_group_id: Option<String>,
    pub remote_address_group_id: Option<String>,
    pub belongs_to_default_sg: bool,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SubnetPool {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub prefixes: Vec<String>,
    pub ip_version: u8,
    pub default_prefixlen: u8,
    pub min_prefixlen: u8,
    pub max_prefixlen: u8,
    pub default_quota: Option<i64>,
    pub address_scope_id: Option<String>,
    pub is_default: bool,
    pub shared: bool,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
}

/// One address of a server, as `addresses` and `ips` show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Address {
    pub network_name: String,
    pub version: u8,
    pub addr: String,
    /// `fixed` or `floating`
    pub kind: String,
    pub mac: String,
}
