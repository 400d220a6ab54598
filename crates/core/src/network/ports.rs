//! Ports and their addresses (IPAM).

use std::collections::HashSet;

use hybridstack_store::ip_allocations::IpAllocation;
use hybridstack_store::write::Write;
use serde_json::Value;

use super::ipam::{eui64, parse_cidr, parse_ip, pick_free, random_mac, to_u128, usable_range};
use super::model::{FixedIp, FloatingIp, Network, Port, SecurityGroup, Subnet};
use super::{fault, new_id, now, stored_as, Fault, Networking};
use crate::policy::RequestContext;
use crate::CoreError;

stored_as!(Port, "port", parent: network_id);

/// One requested address: by subnet, by address, or both.
#[derive(Debug, Default, Clone)]
pub struct IpRequest {
    pub subnet_id: Option<String>,
    pub ip_address: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct PortRequest {
    pub name: Option<String>,
    pub network_id: Option<String>,
    pub project_id: Option<String>,
    pub mac_address: Option<String>,
    pub admin_state_up: Option<bool>,
    pub device_id: Option<String>,
    pub device_owner: Option<String>,
    pub fixed_ips: Option<Vec<IpRequest>>,
    pub security_groups: Option<Vec<String>>,
    pub port_security_enabled: Option<bool>,
    pub allowed_address_pairs: Option<Vec<Value>>,
    pub description: Option<String>,
    pub host_id: Option<String>,
}

const ATTEMPTS: usize = 32;

fn is_service(device_owner: &str) -> bool {
    device_owner.starts_with("network:")
}

impl Networking {
    fn sees_port(ctx: &RequestContext, p: &Port, owned_networks: &HashSet<String>) -> bool {
        Self::owns(ctx, &p.project_id) || owned_networks.contains(&p.network_id)
    }

    async fn owned_network_ids(&self, ctx: &RequestContext) -> Result<HashSet<String>, CoreError> {
        Ok(self.all::<Network>().await?.into_iter().filter(|n| Self::owns(ctx, &n.project_id)).map(|n| n.id).collect())
    }

    pub async fn port_list(&self, ctx: &RequestContext) -> Result<Vec<Port>, CoreError> {
        let owned = self.owned_network_ids(ctx).await?;
        Ok(self.all::<Port>().await?.into_iter().filter(|p| Self::sees_port(ctx, p, &owned)).collect())
    }

    pub async fn port_get(&self, ctx: &RequestContext, id: &str) -> Result<Port, CoreError> {
        let nf = || fault(Fault::PortNotFound, format!("Port {id} could not be found."));
        let p = self.load::<Port>(id).await?.ok_or_else(nf)?;
        let owned = self.owned_network_ids(ctx).await?;
        if Self::sees_port(ctx, &p, &owned) {
            Ok(p)
        } else {
            Err(nf())
        }
    }

    /// Addresses for a port: the explicit requests, or by default one IPv4 address, one
    /// stateful IPv6 address, and an EUI-64 address on every SLAAC subnet (not for routers).
    async fn pick_ips(
        &self,
        network_id: &str,
        mac: &str,
        req: Option<&[IpRequest]>,
        router: bool,
        spread: bool,
    ) -> Result<Vec<FixedIp>, CoreError> {
        let subnets = self.children::<Subnet>(network_id).await?;
        let mut out: Vec<FixedIp> = Vec::new();
        let mut cache: std::collections::HashMap<String, HashSet<u128>> = Default::default();
        match req {
            Some(reqs) => {
                for r in reqs {
                    let subnet = match (&r.subnet_id, &r.ip_address) {
                        (Some(sid), _) => subnets.iter().find(|s| &s.id == sid).cloned().ok_or_else(|| {
                            fault(Fault::InvalidInput, format!("Invalid input for operation: Failed to create port on network {network_id}, because fixed_ips included invalid subnet {sid}."))
                        })?,
                        (None, Some(ip)) => {
                            let addr = parse_ip(ip)?;
                            subnets
                                .iter()
                                .find(|s| parse_cidr(&s.cidr).map(|n| n.contains(&addr)).unwrap_or(false))
                                .cloned()
                                .ok_or_else(|| fault(Fault::InvalidIpForNetwork, format!("IP address {ip} is not a valid IP for any of the subnets on the specified network.")))?
                        }
                        (None, None) => return Err(fault(Fault::InvalidInput, "Invalid input for operation: a fixed_ips entry needs subnet_id or ip_address.".into())),
                    };
                    let net = parse_cidr(&subnet.cidr)?;
                    let ip = match &r.ip_address {
                        Some(ip) => {
                            let addr = parse_ip(ip)?;
                            let (first, last) = usable_range(&net);
                            let v = to_u128(addr);
                            if !net.contains(&addr) || v < first || v > last {
                                return Err(fault(
                                    Fault::InvalidIpForSubnet,
                                    format!("IP address {ip} is not a valid IP for the specified subnet."),
                                ));
                            }
                            if subnet.auto_address() && !router && addr != eui64(&net, mac)? {
                                return Err(fault(Fault::InvalidInput, format!("Invalid input for operation: IPv6 address {ip} cannot be directly assigned to a port on subnet {} with the address mode set.", subnet.id)));
                            }
                            addr.to_string()
                        }
                        None if subnet.auto_address() && !router => eui64(&net, mac)?.to_string(),
                        None => self.free_in(&subnet, &mut cache, &out, spread).await?.ok_or_else(|| {
                            fault(
                                Fault::IpAddressGenerationFailure,
                                format!("No more IP addresses available on network {network_id}."),
                            )
                        })?,
                    };
                    out.push(FixedIp { subnet_id: subnet.id.clone(), ip_address: ip });
                }
            }
            None => {
                let (mut v4, mut v6) = (false, false);
                for s in &subnets {
                    if s.ip_version == 6 && s.auto_address() {
                        if !router {
                            out.push(FixedIp {
                                subnet_id: s.id.clone(),
                                ip_address: eui64(&parse_cidr(&s.cidr)?, mac)?.to_string(),
                            });
                        }
                        continue;
                    }
                    let done = if s.ip_version == 4 { &mut v4 } else { &mut v6 };
                    if *done {
                        continue;
                    }
                    if let Some(ip) = self.free_in(s, &mut cache, &out, spread).await? {
                        out.push(FixedIp { subnet_id: s.id.clone(), ip_address: ip });
                        *done = true;
                    }
                }
                if !subnets.is_empty() && out.is_empty() {
                    return Err(fault(
                        Fault::IpAddressGenerationFailure,
                        format!("No more IP addresses available on network {network_id}."),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The first address of the subnet's pools that neither the store nor `already` holds.
    async fn free_in(
        &self,
        s: &Subnet,
        cache: &mut std::collections::HashMap<String, HashSet<u128>>,
        already: &[FixedIp],
        spread: bool,
    ) -> Result<Option<String>, CoreError> {
        if !cache.contains_key(&s.id) {
            let set = self
                .store
                .ip_allocations_of_subnet(&s.id)
                .await?
                .into_iter()
                .filter_map(|a| a.ip_address.parse().ok().map(to_u128))
                .collect();
            cache.insert(s.id.clone(), set);
        }
        let mut set = cache.get(&s.id).cloned().unwrap_or_default();
        for f in already.iter().filter(|f| f.subnet_id == s.id) {
            if let Ok(ip) = f.ip_address.parse() {
                set.insert(to_u128(ip));
            }
        }
        // AWS (and Azure) keep a subnet's first four addresses for themselves: handing out
        // the network's .2 and .3 last keeps a port placeable on any cloud the network may
        // be realised on, while the pools Neutron shows stay as they are.
        if s.ip_version == 4 {
            if let Ok(net) = parse_cidr(&s.cidr) {
                let base = to_u128(net.network());
                let mut avoid = set.clone();
                avoid.extend([base + 2, base + 3]);
                if let Some(ip) = pick_free(&s.allocation_pools, false, &avoid, spread)? {
                    return Ok(Some(ip.to_string()));
                }
            }
        }
        Ok(pick_free(&s.allocation_pools, s.ip_version == 6, &set, spread)?.map(|ip| ip.to_string()))
    }

    fn allocations(p: &Port) -> Vec<IpAllocation> {
        p.fixed_ips
            .iter()
            .map(|f| IpAllocation {
                subnet_id: f.subnet_id.clone(),
                ip_address: f.ip_address.clone(),
                port_id: p.id.clone(),
                network_id: p.network_id.clone(),
            })
            .collect()
    }

    /// Saves a port with freshly picked addresses, retrying the pick when another request
    /// took an address first (explicitly requested addresses are not retried).
    async fn save_with_ips(
        &self,
        mut p: Port,
        req: Option<Vec<IpRequest>>,
        router: bool,
        extra: Write,
    ) -> Result<Port, CoreError> {
        let explicit = req.as_ref().is_some_and(|r| r.iter().any(|x| x.ip_address.is_some()));
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            // The first try takes the lowest free address; after a collision, a random one of
            // the lowest free ones, so concurrent requests spread out instead of colliding again.
            p.fixed_ips = self.pick_ips(&p.network_id, &p.mac_address, req.as_deref(), router, attempt > 0).await?;
            let mut c = extra.clone();
            c.allocate.extend(Self::allocations(&p));
            c.put.push(Self::object(&p)?);
            match self.apply(c).await {
                Err(e @ CoreError::Conflict(_)) if !explicit => last = Some(e),
                Err(e) => return Err(e),
                Ok(()) => return Ok(p),
            }
        }
        Err(last.unwrap_or_else(|| CoreError::Conflict("address allocation kept colliding".into())))
    }

    async fn check_security_groups(
        &self,
        ctx: &RequestContext,
        project: &str,
        ids: &[String],
    ) -> Result<(), CoreError> {
        for id in ids {
            match self.load::<SecurityGroup>(id).await? {
                Some(g) if g.project_id == project || ctx.is_admin() => {}
                _ => return Err(fault(Fault::SecurityGroupNotFound, format!("Security group {id} does not exist"))),
            }
        }
        Ok(())
    }

    fn check_mac(mac: &str) -> Result<String, CoreError> {
        let ok = mac.len() == 17 && mac.split(':').all(|h| h.len() == 2 && u8::from_str_radix(h, 16).is_ok());
        if !ok {
            return Err(fault(
                Fault::InvalidInput,
                format!("Invalid input for mac_address. Reason: '{mac}' is not a valid MAC address."),
            ));
        }
        Ok(mac.to_ascii_lowercase())
    }

    /// Creates a port. `internal` ports (router interfaces and gateways, floating IPs) are
    /// created by the service itself and may belong to no project.
    pub(crate) async fn port_create_as(
        &self,
        ctx: &RequestContext,
        r: PortRequest,
        internal: bool,
    ) -> Result<Port, CoreError> {
        let network_id = r
            .network_id
            .clone()
            .ok_or_else(|| fault(Fault::BadRequest, "Bad port request: network_id is required.".into()))?;
        let network = if internal {
            self.load::<Network>(&network_id)
                .await?
                .ok_or_else(|| fault(Fault::NetworkNotFound, format!("Network {network_id} could not be found.")))?
        } else {
            ctx.require_member()?;
            let n = self.network_get(ctx, &network_id).await?;
            if !Self::owns(ctx, &n.project_id) && !n.shared {
                return Err(fault(
                    Fault::PolicyNotAuthorized,
                    format!("Ports on network {network_id} can only be created by its owner."),
                ));
            }
            n
        };
        let project_id = if internal {
            r.project_id.clone().unwrap_or_default()
        } else {
            Self::target_project(ctx, r.project_id.clone())?
        };
        if !internal {
            self.check_quota(&project_id, "port").await?;
        }
        let mac = match &r.mac_address {
            Some(m) => Self::check_mac(m)?,
            None => random_mac(),
        };
        if self.children::<Port>(&network_id).await?.iter().any(|p| p.mac_address == mac) {
            return Err(CoreError::Conflict(format!("MacAddressInUse: Unable to complete operation for network {network_id}. The mac address {mac} is in use.")));
        }
        let device_owner = r.device_owner.clone().unwrap_or_default();
        let port_security = r.port_security_enabled.unwrap_or(network.port_security_enabled);
        let security_groups = if is_service(&device_owner) || !port_security || project_id.is_empty() {
            Vec::new()
        } else {
            match &r.security_groups {
                Some(ids) => {
                    self.check_security_groups(ctx, &project_id, ids).await?;
                    ids.clone()
                }
                None => vec![self.ensure_default_sg(&project_id).await?],
            }
        };
        let t = now();
        let p = Port {
            id: new_id(),
            name: r.name.unwrap_or_default(),
            network_id,
            project_id,
            mac_address: mac,
            admin_state_up: r.admin_state_up.unwrap_or(true),
            status: "DOWN".into(),
            device_id: r.device_id.unwrap_or_default(),
            device_owner: device_owner.clone(),
            fixed_ips: vec![],
            allowed_address_pairs: r.allowed_address_pairs.unwrap_or_default(),
            extra_dhcp_opts: vec![],
            security_groups,
            port_security_enabled: port_security,
            vnic_type: "normal".into(),
            host_id: r.host_id.unwrap_or_default(),
            vif_type: super::model::unbound(),
            vif_details: Default::default(),
            ip_allocation: "immediate".into(),
            propagate_uplink_status: false,
            description: r.description.unwrap_or_default(),
            tags: vec![],
            created_at: t.clone(),
            updated_at: t,
            revision_number: 1,
        };
        let router = device_owner == "network:router_interface" || device_owner == "network:router_gateway";
        self.save_with_ips(p, r.fixed_ips, router, Write::default()).await
    }

    pub async fn port_create(&self, ctx: &RequestContext, r: PortRequest) -> Result<Port, CoreError> {
        if r.host_id.is_some() && !ctx.is_admin() {
            return Err(fault(Fault::PolicyNotAuthorized, "Only administrators may set binding:host_id.".into()));
        }
        self.port_create_as(ctx, r, false).await
    }

    pub async fn port_update(&self, ctx: &RequestContext, id: &str, r: PortRequest) -> Result<Port, CoreError> {
        ctx.require_member()?;
        let mut p = self.port_get(ctx, id).await?;
        if !Self::owns(ctx, &p.project_id) {
            return Err(fault(Fault::PolicyNotAuthorized, format!("Port {id} belongs to another project.")));
        }
        if r.host_id.is_some() && !ctx.is_admin() {
            return Err(fault(Fault::PolicyNotAuthorized, "Only administrators may set binding:host_id.".into()));
        }
        if let Some(x) = r.name {
            p.name = x;
        }
        if let Some(x) = r.admin_state_up {
            p.admin_state_up = x;
        }
        if let Some(x) = r.device_id {
            p.device_id = x;
        }
        if let Some(x) = r.device_owner {
            p.device_owner = x;
        }
        if let Some(x) = r.port_security_enabled {
            p.port_security_enabled = x;
        }
        if let Some(x) = r.allowed_address_pairs {
            p.allowed_address_pairs = x;
        }
        if let Some(x) = r.description {
            p.description = x;
        }
        if let Some(x) = r.host_id {
            p.host_id = x;
        }
        if let Some(ids) = r.security_groups {
            self.check_security_groups(ctx, &p.project_id, &ids).await?;
            p.security_groups = ids;
        } else if !p.port_security_enabled {
            p.security_groups.clear();
        }
        if let Some(mac) = r.mac_address {
            p.mac_address = Self::check_mac(&mac)?;
        }
        p.updated_at = now();
        p.revision_number += 1;
        match r.fixed_ips {
            Some(req) => {
                // The port's current addresses are released in the same change that takes the
                // new ones, so keeping an address works and a failure keeps the old set.
                let old = Write { release_port: vec![p.id.clone()], ..Default::default() };
                let router = p.device_owner.starts_with("network:router");
                let subnets: Vec<Subnet> = self.children::<Subnet>(&p.network_id).await?;
                let mut req = req;
                // SLAAC addresses stay unless the request names their subnet.
                for f in &p.fixed_ips {
                    let auto = subnets.iter().any(|s| s.id == f.subnet_id && s.auto_address());
                    if auto && !req.iter().any(|x| x.subnet_id.as_deref() == Some(&f.subnet_id)) {
                        req.push(IpRequest {
                            subnet_id: Some(f.subnet_id.clone()),
                            ip_address: Some(f.ip_address.clone()),
                        });
                    }
                }
                self.save_with_ips(p, Some(req), router, old).await
            }
            None => {
                self.apply(Write { put: vec![Self::object(&p)?], ..Default::default() }).await?;
                Ok(p)
            }
        }
    }

    /// Deletes a port; floating IPs on it are disassociated. Router ports go through the router.
    pub async fn port_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        let p = self.port_get(ctx, id).await?;
        if p.device_owner == "network:router_interface" && !ctx.is_admin() {
            return Err(fault(
                Fault::ServicePortInUse,
                format!(
                    "Port {id} cannot be deleted directly via the port API: has device owner network:router_interface."
                ),
            ));
        }
        if !Self::owns(ctx, &p.project_id) && !ctx.is_admin() {
            let owned = self.owned_network_ids(ctx).await?;
            if !owned.contains(&p.network_id) {
                return Err(fault(Fault::PortNotFound, format!("Port {id} could not be found.")));
            }
        }
        let mut c = Write {
            release_port: vec![p.id.clone()],
            delete: vec![("port".into(), p.id.clone())],
            ..Default::default()
        };
        for mut f in self.all::<FloatingIp>().await? {
            if f.port_id.as_deref() == Some(p.id.as_str()) {
                f.port_id = None;
                f.fixed_ip_address = None;
                f.router_id = None;
                f.port_details = None;
                f.status = "DOWN".into();
                f.revision_number += 1;
                f.updated_at = now();
                c.put.push(Self::object(&f)?);
            }
        }
        self.apply(c).await
    }

    /// Removes a port the service created (router and floating IP ports), with its addresses.
    pub(crate) fn drop_port(c: &mut Write, port_id: &str) {
        c.release_port.push(port_id.to_string());
        c.delete.push(("port".into(), port_id.to_string()));
    }
}
