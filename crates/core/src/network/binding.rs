//! What compute needs from the network service: ports created on a server's behalf, port
//! binding to the cloud a server runs on, and the specs a cloud's `Network` driver realises.

use hybridstack_driver::{NetworkSpec, NicAddress, PortSpec, SubnetSpec};
use hybridstack_store::write::Write;

use super::model::Address;
use super::model::{Network, Port, SecurityGroup, Subnet};
use super::{fault, now, Fault, Networking, PortRequest};
use crate::policy::{RequestContext, Scope};
use crate::CoreError;

/// The context compute acts in when it creates a port for a user's server: that user, in
/// the server's project, as a member (Nova does the same with the user's token).
pub fn acting_for(user_id: &str, project_id: &str) -> RequestContext {
    RequestContext {
        user_id: user_id.into(),
        user_domain_id: String::new(),
        scope: Scope::Project { id: project_id.into(), domain_id: String::new() },
        roles: vec!["member".into(), "reader".into()],
        app_cred_id: None,
        app_cred_unrestricted: false,
    }
}

impl Networking {
    /// Networks a server in `ctx`'s project may attach to when it asks for none by name
    /// (`auto`): its own tenant networks and the shared ones, never external ones.
    pub async fn networks_for_auto(&self, ctx: &RequestContext) -> Result<Vec<Network>, CoreError> {
        let mut out: Vec<Network> = self
            .network_list(ctx)
            .await?
            .into_iter()
            .filter(|n| !n.external && (n.shared || ctx.project_id() == Some(n.project_id.as_str())))
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(out)
    }

    /// A network the caller may attach a server to (its own, or shared, or any for admins).
    pub async fn network_for_server(&self, ctx: &RequestContext, id: &str) -> Result<Network, CoreError> {
        let n = self.network_get(ctx, id).await?;
        if !(n.shared || ctx.sees_project(&n.project_id) || n.external) {
            return Err(fault(Fault::NetworkNotFound, format!("Network {id} could not be found.")));
        }
        Ok(n)
    }

    /// Creates the port a server asked for on a network (optionally with one fixed address).
    pub async fn server_port_create(
        &self,
        ctx: &RequestContext,
        server_id: &str,
        network_id: &str,
        fixed_ip: Option<String>,
        security_groups: Option<Vec<String>>,
    ) -> Result<Port, CoreError> {
        let r = PortRequest {
            network_id: Some(network_id.into()),
            device_id: Some(server_id.into()),
            device_owner: Some("compute:nova".into()),
            fixed_ips: fixed_ip.map(|ip| vec![super::IpRequest { subnet_id: None, ip_address: Some(ip) }]),
            security_groups,
            ..Default::default()
        };
        self.port_create_as(ctx, r, false).await
    }

    /// The ports on a network, whoever owns them (engine steps act for the control plane).
    pub async fn children_ports(&self, network_id: &str) -> Result<Vec<Port>, CoreError> {
        self.children::<Port>(network_id).await
    }

    /// A port by id, whoever owns it (engine steps act for the control plane).
    pub async fn port_internal(&self, id: &str) -> Result<Option<Port>, CoreError> {
        self.load::<Port>(id).await
    }

    /// Binds a port to a server on a cloud: Neutron's device and binding fields.
    pub async fn bind_port(&self, port_id: &str, server_id: &str, cloud: &str) -> Result<Port, CoreError> {
        let mut p = self
            .load::<Port>(port_id)
            .await?
            .ok_or_else(|| fault(Fault::PortNotFound, format!("Port {port_id} could not be found.")))?;
        if !p.device_id.is_empty() && p.device_id != server_id {
            return Err(CoreError::Conflict(format!("Port {port_id} is still in use by {}.", p.device_id)));
        }
        p.device_id = server_id.into();
        p.device_owner = format!("compute:{cloud}");
        p.host_id = cloud.into();
        match self.clouds.get(cloud) {
            Some(c) => {
                let caps = c.network.capabilities();
                p.vif_type = caps.vif_type.into();
                p.vif_details = serde_json::Map::from_iter([("port_filter".into(), caps.security_groups.into())]);
            }
            None => {
                p.vif_type = "binding_failed".into();
                p.vif_details.clear();
            }
        }
        p.status = "ACTIVE".into();
        p.updated_at = now();
        p.revision_number += 1;
        self.apply(Write { put: vec![Self::object(&p)?], ..Default::default() }).await?;
        Ok(p)
    }

    /// Releases a port the user brought, so it can be attached elsewhere.
    pub async fn unbind_port(&self, port_id: &str) -> Result<(), CoreError> {
        let Some(mut p) = self.load::<Port>(port_id).await? else { return Ok(()) };
        p.device_id.clear();
        p.device_owner.clear();
        p.host_id.clear();
        p.vif_type = super::model::unbound();
        p.vif_details.clear();
        p.status = "DOWN".into();
        p.updated_at = now();
        p.revision_number += 1;
        self.apply(Write { put: vec![Self::object(&p)?], ..Default::default() }).await
    }

    /// Adds or removes a security group on a port (Nova's addSecurityGroup).
    pub async fn port_security_group(&self, port_id: &str, group_id: &str, add: bool) -> Result<(), CoreError> {
        let Some(mut p) = self.load::<Port>(port_id).await? else { return Ok(()) };
        let has = p.security_groups.iter().any(|g| g == group_id);
        if add == has {
            return Ok(());
        }
        if add {
            p.security_groups.push(group_id.into());
        } else {
            p.security_groups.retain(|g| g != group_id);
        }
        p.updated_at = now();
        p.revision_number += 1;
        self.apply(Write { put: vec![Self::object(&p)?], ..Default::default() }).await
    }

    /// Deletes a port compute created; deleting one already gone succeeds.
    pub async fn server_port_delete(&self, port_id: &str) -> Result<(), CoreError> {
        let Some(p) = self.load::<Port>(port_id).await? else { return Ok(()) };
        let c = Write {
            release_port: vec![p.id.clone()],
            delete: vec![("port".into(), p.id.clone())],
            ..Default::default()
        };
        self.apply(c).await
    }

    /// How many ports of `network_id` are bound on `cloud` for devices other than `except`.
    pub async fn ports_bound_on(&self, network_id: &str, cloud: &str, except: &str) -> Result<usize, CoreError> {
        Ok(self
            .children::<Port>(network_id)
            .await?
            .iter()
            .filter(|p| p.host_id == cloud && p.device_id != except && p.device_owner.starts_with("compute:"))
            .count())
    }

    /// The network as a cloud realises it.
    pub async fn network_spec(&self, network_id: &str) -> Result<NetworkSpec, CoreError> {
        let n = self
            .load::<Network>(network_id)
            .await?
            .ok_or_else(|| fault(Fault::NetworkNotFound, format!("Network {network_id} could not be found.")))?;
        let subnets = self.children::<Subnet>(network_id).await?;
        Ok(NetworkSpec {
            id: n.id,
            name: n.name,
            mtu: n.mtu,
            external: n.external,
            subnets: subnets
                .into_iter()
                .map(|s| SubnetSpec {
                    id: s.id,
                    ip_version: s.ip_version,
                    cidr: s.cidr,
                    gateway_ip: s.gateway_ip,
                    enable_dhcp: s.enable_dhcp,
                    dns_nameservers: s.dns_nameservers,
                    host_routes: s.host_routes.into_iter().map(|r| (r.destination, r.nexthop)).collect(),
                    ipv6_address_mode: s.ipv6_address_mode,
                })
                .collect(),
        })
    }

    /// The port's fixed addresses with their subnets' settings, for a guest's config drive.
    pub async fn nic_addresses(&self, p: &Port) -> Result<Vec<NicAddress>, CoreError> {
        let subnets = self.children::<Subnet>(&p.network_id).await?;
        Ok(p.fixed_ips
            .iter()
            .filter_map(|f| {
                let s = subnets.iter().find(|s| s.id == f.subnet_id)?;
                Some(NicAddress {
                    address: f.ip_address.clone(),
                    cidr: s.cidr.clone(),
                    gateway: s.gateway_ip.clone(),
                    dns_nameservers: s.dns_nameservers.clone(),
                    routes: s.host_routes.iter().map(|r| (r.destination.clone(), r.nexthop.clone())).collect(),
                    dhcp: s.enable_dhcp,
                })
            })
            .collect())
    }

    /// The port as a cloud realises it.
    pub async fn port_spec(&self, p: &Port) -> Result<PortSpec, CoreError> {
        let subnets = self.children::<Subnet>(&p.network_id).await?;
        let dhcp = p
            .fixed_ips
            .iter()
            .any(|f| subnets.iter().any(|s| s.id == f.subnet_id && s.ip_version == 4 && s.enable_dhcp));
        Ok(PortSpec {
            dhcp,
            id: p.id.clone(),
            network_id: p.network_id.clone(),
            mac_address: p.mac_address.clone(),
            fixed_ips: p.fixed_ips.iter().map(|f| (f.subnet_id.clone(), f.ip_address.clone())).collect(),
            port_security_enabled: p.port_security_enabled,
            security_groups: self.security_group_specs(&p.security_groups).await?,
            allowed_address_pairs: p
                .allowed_address_pairs
                .iter()
                .filter_map(|v| {
                    let ip = v.get("ip_address")?.as_str()?.to_string();
                    let mac = v.get("mac_address").and_then(|m| m.as_str()).map(str::to_string);
                    Some((ip, mac))
                })
                .collect(),
        })
    }

    /// The addresses a server shows for its ports, fixed and floating.
    pub async fn addresses_of(&self, port_ids: &[String]) -> Result<Vec<Address>, CoreError> {
        let mut out = Vec::new();
        if port_ids.is_empty() {
            return Ok(out);
        }
        let fips = self.all::<super::model::FloatingIp>().await?;
        for id in port_ids {
            let Some(p) = self.load::<Port>(id).await? else { continue };
            let name = self.load::<Network>(&p.network_id).await?.map(|n| n.name).unwrap_or_default();
            for f in &p.fixed_ips {
                let version = if f.ip_address.contains(':') { 6 } else { 4 };
                out.push(Address {
                    network_name: name.clone(),
                    version,
                    addr: f.ip_address.clone(),
                    kind: "fixed".into(),
                    mac: p.mac_address.clone(),
                });
            }
            for f in fips.iter().filter(|f| f.port_id.as_deref() == Some(p.id.as_str())) {
                out.push(Address {
                    network_name: name.clone(),
                    version: 4,
                    addr: f.floating_ip_address.clone(),
                    kind: "floating".into(),
                    mac: p.mac_address.clone(),
                });
            }
        }
        Ok(out)
    }

    /// Security group ids for names or ids a server asked for, in the server's project.
    pub async fn resolve_security_groups(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        names: &[String],
    ) -> Result<Vec<String>, CoreError> {
        let groups = self.all::<SecurityGroup>().await?;
        let mut out = Vec::new();
        for n in names {
            if n == "default" {
                out.push(self.ensure_default_sg(project_id).await?);
                continue;
            }
            let found = groups
                .iter()
                .filter(|g| g.project_id == project_id || ctx.is_admin())
                .find(|g| &g.id == n || &g.name == n)
                .ok_or_else(|| {
                    CoreError::BadRequest(format!("Security group {n} not found for project {project_id}."))
                })?;
            out.push(found.id.clone());
        }
        Ok(out)
    }

    /// The names of security groups by id (for the server body).
    pub async fn security_group_names(&self, ids: &[String]) -> Result<Vec<String>, CoreError> {
        let mut out = Vec::new();
        for id in ids {
            if let Some(g) = self.load::<SecurityGroup>(id).await? {
                out.push(g.name);
            }
        }
        Ok(out)
    }
}
