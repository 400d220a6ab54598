//! Subnets: CIDR, gateway, allocation pools and the IPv6 address modes.

use std::net::IpAddr;

use hybridstack_store::write::Write;
use ipnet::IpNet;

use super::ipam::{default_pools, parse_cidr, parse_ip, to_u128, validate_pools};
use super::model::{HostRoute, Pool, Port, Subnet};
use super::{fault, new_id, now, stored_as, Fault, Networking};
use crate::policy::RequestContext;
use crate::CoreError;

stored_as!(Subnet, "subnet", parent: network_id);

/// A create or update request. `gateway_ip`: absent = default, `Some(None)` = no gateway.
#[derive(Debug, Default, Clone)]
pub struct SubnetRequest {
    pub name: Option<String>,
    pub project_id: Option<String>,
    pub network_id: Option<String>,
    pub cidr: Option<String>,
    pub ip_version: Option<u8>,
    pub gateway_ip: Option<Option<String>>,
    pub allocation_pools: Option<Vec<Pool>>,
    pub host_routes: Option<Vec<HostRoute>>,
    pub dns_nameservers: Option<Vec<String>>,
    pub enable_dhcp: Option<bool>,
    pub ipv6_ra_mode: Option<String>,
    pub ipv6_address_mode: Option<String>,
    pub subnetpool_id: Option<String>,
    pub description: Option<String>,
}

const V6_MODES: &[&str] = &["slaac", "dhcpv6-stateful", "dhcpv6-stateless"];

fn check_gateway(net: &IpNet, gw: IpAddr) -> Result<(), CoreError> {
    if !net.contains(&gw) || gw.is_ipv6() != matches!(net, IpNet::V6(_)) {
        return Err(fault(
            Fault::InvalidInput,
            format!("Invalid input for operation: Gateway IP {gw} is not in subnet {net}."),
        ));
    }
    if let IpNet::V4(n) = net {
        if n.prefix_len() <= 30 && (gw == IpAddr::V4(n.network()) || gw == IpAddr::V4(n.broadcast())) {
            return Err(fault(
                Fault::InvalidInput,
                format!("Invalid input for operation: Gateway is not valid on subnet: {gw}."),
            ));
        }
    }
    Ok(())
}

fn check_routes_and_dns(routes: &[HostRoute], dns: &[String]) -> Result<(), CoreError> {
    for r in routes {
        parse_cidr(&r.destination)?;
        parse_ip(&r.nexthop)?;
    }
    for d in dns {
        parse_ip(d)?;
    }
    Ok(())
}

impl Networking {
    fn sees_subnet(&self, ctx: &RequestContext, s: &Subnet, network_visible: bool) -> bool {
        Self::owns(ctx, &s.project_id) || network_visible
    }

    pub async fn subnet_list(&self, ctx: &RequestContext) -> Result<Vec<Subnet>, CoreError> {
        let visible: std::collections::HashSet<String> =
            self.network_list(ctx).await?.into_iter().map(|n| n.id).collect();
        Ok(self
            .all::<Subnet>()
            .await?
            .into_iter()
            .filter(|s| self.sees_subnet(ctx, s, visible.contains(&s.network_id)))
            .collect())
    }

    pub async fn subnet_get(&self, ctx: &RequestContext, id: &str) -> Result<Subnet, CoreError> {
        let nf = || fault(Fault::SubnetNotFound, format!("Subnet {id} could not be found."));
        let s = self.load::<Subnet>(id).await?.ok_or_else(nf)?;
        let network_visible = self.network_get(ctx, &s.network_id).await.is_ok();
        if self.sees_subnet(ctx, &s, network_visible) {
            Ok(s)
        } else {
            Err(nf())
        }
    }

    async fn own_subnet(&self, ctx: &RequestContext, id: &str) -> Result<Subnet, CoreError> {
        let s = self.subnet_get(ctx, id).await?;
        if !Self::owns(ctx, &s.project_id) {
            return Err(fault(Fault::PolicyNotAuthorized, format!("Subnet {id} belongs to another project.")));
        }
        Ok(s)
    }

    pub async fn subnet_create(&self, ctx: &RequestContext, r: SubnetRequest) -> Result<Subnet, CoreError> {
        ctx.require_member()?;
        let network_id = r
            .network_id
            .clone()
            .ok_or_else(|| fault(Fault::BadRequest, "Bad subnet request: network_id is required.".into()))?;
        let network = self.own_network(ctx, &network_id).await?;
        self.check_quota(&network.project_id, "subnet").await?;
        let cidr = r.cidr.clone().ok_or_else(|| {
            fault(
                Fault::BadRequest,
                "Bad subnet request: a cidr is required (allocation from subnet pools is not supported).".into(),
            )
        })?;
        let net = parse_cidr(&cidr)?;
        let ip_version = r.ip_version.unwrap_or(if net.addr().is_ipv6() { 6 } else { 4 });
        if (ip_version == 6) != net.addr().is_ipv6() || !(ip_version == 4 || ip_version == 6) {
            return Err(fault(
                Fault::InvalidInput,
                format!("Invalid input for operation: Cidr {cidr} does not match IP version {ip_version}."),
            ));
        }
        // A network meant for some clouds takes only subnets they can host (an AWS VPC takes
        // IPv4 /16 to /28 and no IPv6 prefix of our own).
        if !network.availability_zone_hints.is_empty() {
            let spec = hybridstack_driver::SubnetSpec {
                id: String::new(),
                ip_version,
                cidr: net.trunc().to_string(),
                gateway_ip: None,
                enable_dhcp: true,
                dns_nameservers: vec![],
                host_routes: vec![],
                ipv6_address_mode: None,
            };
            for zone in &network.availability_zone_hints {
                self.clouds.check_subnet(zone, &spec).await?;
            }
        }
        for other in self.children::<Subnet>(&network_id).await? {
            let o = parse_cidr(&other.cidr)?;
            if o.contains(&net.network()) || net.contains(&o.network()) {
                return Err(fault(
                    Fault::InvalidInput,
                    format!("Invalid input for operation: Requested subnet with cidr: {net} for network: {network_id} overlaps with another subnet."),
                ));
            }
        }
        let gateway = match &r.gateway_ip {
            None => Some(super::ipam::from_u128(to_u128(net.network()) + 1, ip_version == 6)),
            Some(None) => None,
            Some(Some(g)) if g.is_empty() => None,
            Some(Some(g)) => Some(parse_ip(g)?),
        };
        if let Some(g) = gateway {
            check_gateway(&net, g)?;
        }
        let (ra, mode) = (r.ipv6_ra_mode.clone(), r.ipv6_address_mode.clone());
        for m in [&ra, &mode].into_iter().flatten() {
            if ip_version != 6 || !V6_MODES.contains(&m.as_str()) {
                return Err(fault(
                    Fault::InvalidInput,
                    format!("Invalid input for operation: IPv6 mode {m} is not valid here."),
                ));
            }
        }
        if let (Some(a), Some(b)) = (&ra, &mode) {
            if a != b {
                return Err(fault(
                    Fault::InvalidInput,
                    format!("Invalid input for operation: ipv6_ra_mode set to '{a}' with ipv6_address_mode set to '{b}' is not valid. If both attributes are set, they must be the same value."),
                ));
            }
        }
        let enable_dhcp = r.enable_dhcp.unwrap_or(true);
        let auto = [&ra, &mode].into_iter().flatten().any(|m| m != "dhcpv6-stateful");
        if auto && net.prefix_len() != 64 {
            return Err(fault(Fault::InvalidInput, format!("Invalid input for operation: Invalid CIDR {net} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64.")));
        }
        let pools = match &r.allocation_pools {
            Some(p) if !p.is_empty() => {
                validate_pools(&net, p, gateway)?;
                p.clone()
            }
            _ => default_pools(&net, gateway),
        };
        let routes = r.host_routes.clone().unwrap_or_default();
        let dns = r.dns_nameservers.clone().unwrap_or_default();
        check_routes_and_dns(&routes, &dns)?;
        let t = now();
        let s = Subnet {
            id: new_id(),
            name: r.name.unwrap_or_default(),
            project_id: if ctx.is_admin() {
                r.project_id.unwrap_or(network.project_id.clone())
            } else {
                network.project_id.clone()
            },
            network_id,
            ip_version,
            cidr: net.to_string(),
            gateway_ip: gateway.map(|g| g.to_string()),
            allocation_pools: pools,
            host_routes: routes,
            dns_nameservers: dns,
            enable_dhcp,
            ipv6_ra_mode: ra,
            ipv6_address_mode: mode,
            subnetpool_id: r.subnetpool_id,
            service_types: vec![],
            segment_id: None,
            description: r.description.unwrap_or_default(),
            tags: vec![],
            created_at: t.clone(),
            updated_at: t,
            revision_number: 1,
        };
        self.apply(Write { put: vec![Self::object(&s)?], ..Default::default() }).await?;
        Ok(s)
    }

    pub async fn subnet_update(&self, ctx: &RequestContext, id: &str, r: SubnetRequest) -> Result<Subnet, CoreError> {
        ctx.require_member()?;
        let mut s = self.own_subnet(ctx, id).await?;
        let net = parse_cidr(&s.cidr)?;
        if let Some(g) = &r.gateway_ip {
            let gw = match g.as_deref() {
                None | Some("") => None,
                Some(x) => Some(parse_ip(x)?),
            };
            if let Some(x) = gw {
                check_gateway(&net, x)?;
            }
            s.gateway_ip = gw.map(|x| x.to_string());
        }
        if let Some(p) = r.allocation_pools {
            s.allocation_pools = p;
        }
        let gw = s.gateway_ip.as_deref().map(parse_ip).transpose()?;
        validate_pools(&net, &s.allocation_pools, gw)?;
        if let Some(x) = r.host_routes {
            s.host_routes = x;
        }
        if let Some(x) = r.dns_nameservers {
            s.dns_nameservers = x;
        }
        check_routes_and_dns(&s.host_routes, &s.dns_nameservers)?;
        if let Some(x) = r.enable_dhcp {
            s.enable_dhcp = x;
        }
        if let Some(x) = r.name {
            s.name = x;
        }
        if let Some(x) = r.description {
            s.description = x;
        }
        s.updated_at = now();
        s.revision_number += 1;
        self.apply(Write { put: vec![Self::object(&s)?], ..Default::default() }).await?;
        Ok(s)
    }

    /// 409 while a port holds an address from the subnet; SLAAC addresses, which ports get
    /// automatically, are removed from their ports instead.
    pub async fn subnet_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        let s = self.own_subnet(ctx, id).await?;
        let mut c = Write::default();
        for mut p in self.children::<Port>(&s.network_id).await? {
            if !p.fixed_ips.iter().any(|f| f.subnet_id == s.id) {
                continue;
            }
            let service = p.device_owner.starts_with("network:") && !super::networks::auto_deleted(&p.device_owner);
            if s.auto_address() && !service {
                p.fixed_ips.retain(|f| f.subnet_id != s.id);
                p.revision_number += 1;
                c.put.push(Self::object(&p)?);
            } else if !super::networks::auto_deleted(&p.device_owner) {
                return Err(fault(
                    Fault::SubnetInUse,
                    format!("Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."),
                ));
            }
        }
        for a in self.store.ip_allocations_of_subnet(&s.id).await? {
            c.release.push((a.subnet_id, a.ip_address));
        }
        c.delete.push(("subnet".into(), s.id));
        self.apply(c).await
    }
}
