//! Routers: an optional gateway on an external network, and interfaces on subnets.

use hybridstack_store::write::Write;
use ipnet::IpNet;

use super::ipam::parse_cidr;
use super::model::{FixedIp, FloatingIp, GatewayInfo, Network, Port, Router, Subnet};
use super::ports::{IpRequest, PortRequest};
use super::{fault, new_id, now, stored_as, Fault, Networking};
use crate::policy::RequestContext;
use crate::CoreError;

stored_as!(Router, "router");

/// Which interface an add or remove names: a subnet (the router takes its gateway address)
/// or a port; a remove may name both.
#[derive(Debug, Clone, Default)]
pub struct InterfaceRef {
    pub subnet_id: Option<String>,
    pub port_id: Option<String>,
}

/// What `add/remove_router_interface` answer.
#[derive(Debug, Clone)]
pub struct InterfaceInfo {
    pub router_id: String,
    pub project_id: String,
    pub port_id: String,
    pub network_id: String,
    pub subnet_id: String,
    pub subnet_ids: Vec<String>,
}

/// What `router_interface` does.
#[derive(Debug, Clone)]
pub enum InterfaceChange {
    Add(InterfaceRef),
    Remove(InterfaceRef),
}

impl InterfaceInfo {
    fn of(r: Router, port: Port) -> Self {
        let subnet_ids: Vec<String> = port.fixed_ips.into_iter().map(|f| f.subnet_id).collect();
        InterfaceInfo {
            router_id: r.id,
            project_id: r.project_id,
            port_id: port.id,
            network_id: port.network_id,
            subnet_id: subnet_ids.first().cloned().unwrap_or_default(),
            subnet_ids,
        }
    }
}

/// A requested gateway: the external network, and `enable_snat` if given.
pub type Gateway = (String, Option<bool>);

pub const ROUTER_INTERFACE: &str = "network:router_interface";
pub const ROUTER_GATEWAY: &str = "network:router_gateway";

impl Networking {
    pub async fn router_list(&self, ctx: &RequestContext) -> Result<Vec<Router>, CoreError> {
        Ok(self.all::<Router>().await?.into_iter().filter(|r| Self::owns(ctx, &r.project_id)).collect())
    }

    pub async fn router_get(&self, ctx: &RequestContext, id: &str) -> Result<Router, CoreError> {
        match self.load::<Router>(id).await? {
            Some(r) if Self::owns(ctx, &r.project_id) => Ok(r),
            _ => Err(fault(Fault::RouterNotFound, format!("Router {id} could not be found"))),
        }
    }

    /// Creates the gateway port on the external network and returns the gateway info.
    async fn attach_gateway(
        &self,
        ctx: &RequestContext,
        r: &Router,
        network_id: &str,
        enable_snat: bool,
    ) -> Result<(GatewayInfo, String), CoreError> {
        let net = self
            .load::<Network>(network_id)
            .await?
            .ok_or_else(|| fault(Fault::NetworkNotFound, format!("Network {network_id} could not be found.")))?;
        if !net.external {
            return Err(fault(
                Fault::BadRequest,
                format!("Bad router request: Network {network_id} is not an external network."),
            ));
        }
        let port = self
            .port_create_as(
                ctx,
                PortRequest {
                    network_id: Some(network_id.into()),
                    project_id: Some(String::new()),
                    device_owner: Some(ROUTER_GATEWAY.into()),
                    device_id: Some(r.id.clone()),
                    ..Default::default()
                },
                true,
            )
            .await?;
        let v4: Vec<FixedIp> = port.fixed_ips.clone();
        Ok((GatewayInfo { network_id: network_id.into(), enable_snat, external_fixed_ips: v4 }, port.id))
    }

    pub async fn router_create(
        &self,
        ctx: &RequestContext,
        name: String,
        admin_state_up: bool,
        description: String,
        gateway: Option<(String, Option<bool>)>,
        project: Option<String>,
    ) -> Result<Router, CoreError> {
        ctx.require_member()?;
        let project_id = Self::target_project(ctx, project)?;
        self.check_quota(&project_id, "router").await?;
        let t = now();
        let mut r = Router {
            id: new_id(),
            name,
            project_id,
            admin_state_up,
            status: "ACTIVE".into(),
            external_gateway_info: None,
            routes: vec![],
            availability_zone_hints: vec![],
            availability_zones: vec![],
            flavor_id: None,
            description,
            tags: vec![],
            created_at: t.clone(),
            updated_at: t,
            revision_number: 1,
            gw_port_id: None,
        };
        if let Some((net, snat)) = gateway {
            if snat.is_some() && !ctx.is_admin() {
                return Err(fault(Fault::PolicyNotAuthorized, "Only administrators may set enable_snat.".into()));
            }
            let (info, port) = self.attach_gateway(ctx, &r, &net, snat.unwrap_or(true)).await?;
            r.external_gateway_info = Some(info);
            r.gw_port_id = Some(port);
        }
        if let Err(e) = self.apply(Write { put: vec![Self::object(&r)?], ..Default::default() }).await {
            // Undo the gateway port made for a router that could not be saved.
            if let Some(p) = &r.gw_port_id {
                let mut c = Write::default();
                Self::drop_port(&mut c, p);
                let _ = self.apply(c).await;
            }
            return Err(e);
        }
        Ok(r)
    }

    /// `gateway`: `None` leaves it, `Some(None)` clears it, `Some(Some(..))` sets it.
    pub async fn router_update(
        &self,
        ctx: &RequestContext,
        id: &str,
        name: Option<String>,
        admin_state_up: Option<bool>,
        description: Option<String>,
        gateway: Option<Option<Gateway>>,
    ) -> Result<Router, CoreError> {
        ctx.require_member()?;
        let mut r = self.router_get(ctx, id).await?;
        if let Some(x) = name {
            r.name = x;
        }
        if let Some(x) = admin_state_up {
            r.admin_state_up = x;
        }
        if let Some(x) = description {
            r.description = x;
        }
        let mut c = Write::default();
        if let Some(g) = gateway {
            let same = match (&g, &r.external_gateway_info) {
                (Some((net, _)), Some(cur)) => &cur.network_id == net,
                (None, None) => true,
                _ => false,
            };
            if !same {
                if let Some(old) = r.gw_port_id.take() {
                    if self.all::<FloatingIp>().await?.iter().any(|f| f.router_id.as_deref() == Some(id)) {
                        return Err(CoreError::Conflict(format!("RouterExternalGatewayInUseByFloatingIp: Gateway cannot be updated for router {id}, since a gateway to external network is required by one or more floating IPs.")));
                    }
                    Self::drop_port(&mut c, &old);
                }
                r.external_gateway_info = None;
                if let Some((net, snat)) = g {
                    let (info, port) = self.attach_gateway(ctx, &r, &net, snat.unwrap_or(true)).await?;
                    r.external_gateway_info = Some(info);
                    r.gw_port_id = Some(port);
                }
            }
        }
        r.updated_at = now();
        r.revision_number += 1;
        c.put.push(Self::object(&r)?);
        self.apply(c).await?;
        Ok(r)
    }

    /// The ports that are the router's interfaces.
    async fn interfaces_of(&self, router_id: &str) -> Result<Vec<Port>, CoreError> {
        let ports = self.all::<Port>().await?.into_iter();
        Ok(ports.filter(|p| p.device_id == router_id && p.device_owner == ROUTER_INTERFACE).collect())
    }

    pub async fn router_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        let r = self.router_get(ctx, id).await?;
        let interfaces = self.interfaces_of(&r.id).await?;
        if !interfaces.is_empty() {
            let ids: Vec<&str> = interfaces.iter().map(|p| p.id.as_str()).collect();
            return Err(fault(Fault::RouterInUse, format!("Router {id} still has ports: {}", ids.join(","))));
        }
        if self.all::<FloatingIp>().await?.iter().any(|f| f.router_id.as_deref() == Some(id)) {
            return Err(fault(Fault::RouterInUse, format!("Router {id} is in use by floating IPs.")));
        }
        let mut c = Write::default();
        if let Some(p) = &r.gw_port_id {
            Self::drop_port(&mut c, p);
        }
        c.delete.push(("router".into(), r.id));
        self.apply(c).await
    }

    /// The subnets a router touches: its interfaces' and its gateway network's.
    async fn router_cidrs(&self, r: &Router) -> Result<Vec<(String, IpNet)>, CoreError> {
        let mut out = Vec::new();
        let interfaces = self.interfaces_of(&r.id).await?;
        let mut subnet_ids: Vec<String> =
            interfaces.iter().flat_map(|p| p.fixed_ips.iter().map(|f| f.subnet_id.clone())).collect();
        if let Some(g) = &r.external_gateway_info {
            subnet_ids.extend(self.children::<Subnet>(&g.network_id).await?.into_iter().map(|s| s.id));
        }
        for sid in subnet_ids {
            if let Some(s) = self.load::<Subnet>(&sid).await? {
                out.push((s.id.clone(), parse_cidr(&s.cidr)?));
            }
        }
        Ok(out)
    }

    /// Adds an interface to router `id`, or takes one off (Neutron's add_router_interface
    /// and remove_router_interface).
    pub async fn router_interface(
        &self,
        ctx: &RequestContext,
        id: &str,
        change: InterfaceChange,
    ) -> Result<InterfaceInfo, CoreError> {
        ctx.require_member()?;
        let r = self.router_get(ctx, id).await?;
        let port = match change {
            InterfaceChange::Add(at) => self.interface_added(ctx, &r, at).await?,
            InterfaceChange::Remove(at) => self.interface_removed(&r, at).await?,
        };
        Ok(InterfaceInfo::of(r, port))
    }

    /// The port of a new interface: one made on the subnet's gateway address, or the
    /// caller's, taken over.
    async fn interface_added(&self, ctx: &RequestContext, r: &Router, at: InterfaceRef) -> Result<Port, CoreError> {
        let InterfaceRef { subnet_id, port_id } = at;
        let existing = self.router_cidrs(r).await?;
        let port = match (subnet_id, port_id) {
            (Some(sid), None) => {
                let s = self.subnet_get(ctx, &sid).await?;
                let gw = s.gateway_ip.clone().ok_or_else(|| {
                    fault(
                        Fault::BadRequest,
                        "Bad router request: Subnet for router interface must have a gateway IP.".to_string(),
                    )
                })?;
                if s.ipv6_ra_mode.is_none() && s.ipv6_address_mode.as_deref().is_some_and(|m| m != "dhcpv6-stateful") {
                    return Err(fault(Fault::BadRequest, format!("Bad router request: IPv6 subnet {sid} configured to receive RAs from an external router cannot be added to Neutron Router.")));
                }
                let net = parse_cidr(&s.cidr)?;
                for (other, cidr) in &existing {
                    if other == &s.id {
                        return Err(fault(
                            Fault::BadRequest,
                            format!("Bad router request: Router already has a port on subnet {sid}."),
                        ));
                    }
                    if cidr.contains(&net.network()) || net.contains(&cidr.network()) {
                        return Err(fault(Fault::BadRequest, format!("Bad router request: Cidr {net} of subnet {sid} overlaps with cidr {cidr} of subnet {other}.")));
                    }
                }
                self.port_create_as(
                    ctx,
                    PortRequest {
                        network_id: Some(s.network_id.clone()),
                        project_id: Some(r.project_id.clone()),
                        device_owner: Some(ROUTER_INTERFACE.into()),
                        device_id: Some(r.id.clone()),
                        fixed_ips: Some(vec![IpRequest { subnet_id: Some(sid.clone()), ip_address: Some(gw) }]),
                        ..Default::default()
                    },
                    true,
                )
                .await?
            }
            (None, Some(pid)) => {
                let mut p = self.port_get(ctx, &pid).await?;
                if !p.device_id.is_empty() || !p.device_owner.is_empty() {
                    return Err(CoreError::Conflict(format!(
                        "PortInUse: Unable to complete operation on port {pid}, port is already bound to {}.",
                        p.device_id
                    )));
                }
                if p.fixed_ips.is_empty() {
                    return Err(fault(
                        Fault::BadRequest,
                        "Bad router request: Router port must have at least one fixed IP.".to_string(),
                    ));
                }
                p.device_id = r.id.clone();
                p.device_owner = ROUTER_INTERFACE.into();
                p.security_groups.clear();
                p.revision_number += 1;
                p.updated_at = now();
                self.apply(Write { put: vec![Self::object(&p)?], ..Default::default() }).await?;
                p
            }
            _ => {
                return Err(fault(
                    Fault::BadRequest,
                    "Bad router request: Either subnet_id or port_id must be specified.".into(),
                ))
            }
        };
        Ok(port)
    }

    /// The port of the interface taken off, deleted unless a floating IP still needs it.
    async fn interface_removed(&self, r: &Router, at: InterfaceRef) -> Result<Port, CoreError> {
        let InterfaceRef { subnet_id, port_id } = at;
        let id = r.id.as_str();
        let ports = self.interfaces_of(id).await?;
        let port = match (&subnet_id, &port_id) {
            (_, Some(pid)) => ports.into_iter().find(|p| &p.id == pid).ok_or_else(|| {
                fault(Fault::RouterInterfaceNotFound, format!("Router {id} does not have an interface with id {pid}"))
            })?,
            (Some(sid), None) => {
                ports.into_iter().find(|p| p.fixed_ips.iter().any(|f| &f.subnet_id == sid)).ok_or_else(|| {
                    fault(
                        Fault::RouterInterfaceNotFoundForSubnet,
                        format!("Router {id} has no interface on subnet {sid}"),
                    )
                })?
            }
            _ => {
                return Err(fault(
                    Fault::BadRequest,
                    "Bad router request: Either subnet_id or port_id must be specified.".into(),
                ))
            }
        };
        let subnets: Vec<String> = port.fixed_ips.iter().map(|f| f.subnet_id.clone()).collect();
        for f in self.all::<FloatingIp>().await? {
            if f.router_id.as_deref() == Some(id) {
                if let Some(fp) = f.port_id.as_deref().and(f.fixed_ip_address.as_deref()) {
                    let on_subnet =
                        self.store.ip_allocations_of_subnet(&subnets[0]).await?.iter().any(|a| a.ip_address == fp);
                    if on_subnet {
                        return Err(CoreError::Conflict(format!("RouterInterfaceInUseByFloatingIP: Router interface for subnet {} on router {id} cannot be deleted, as it is required by one or more floating IPs.", subnets[0])));
                    }
                }
            }
        }
        let mut c = Write::default();
        Self::drop_port(&mut c, &port.id);
        self.apply(c).await?;
        Ok(port)
    }
}
