//! Floating IPs: an address on an external network, mapped 1:1 to a port's fixed address
//! through a router that has an interface on the port's subnet and a gateway on that network.

use hybridstack_store::write::Write;
use serde_json::json;

use super::model::{FloatingIp, Network, Port, Router, Subnet};
use super::ports::{IpRequest, PortRequest};
use super::routers::ROUTER_INTERFACE;
use super::{fault, new_id, now, stored_as, Fault, Networking};
use crate::policy::RequestContext;
use crate::CoreError;

stored_as!(FloatingIp, "floatingip");

struct Association {
    port: Port,
    fixed_ip: String,
    router_id: String,
}

impl Networking {
    pub async fn fip_list(&self, ctx: &RequestContext) -> Result<Vec<FloatingIp>, CoreError> {
        Ok(self.all::<FloatingIp>().await?.into_iter().filter(|f| Self::owns(ctx, &f.project_id)).collect())
    }

    pub async fn fip_get(&self, ctx: &RequestContext, id: &str) -> Result<FloatingIp, CoreError> {
        match self.load::<FloatingIp>(id).await? {
            Some(f) if Self::owns(ctx, &f.project_id) => Ok(f),
            _ => Err(fault(Fault::FloatingIpNotFound, format!("Floating IP {id} could not be found"))),
        }
    }

    /// Finds the router that can carry traffic between the port's address and `network`.
    async fn associate(
        &self,
        ctx: &RequestContext,
        network: &str,
        project: &str,
        port_id: &str,
        fixed: Option<String>,
        me: Option<&str>,
    ) -> Result<Association, CoreError> {
        let port = self.port_get(ctx, port_id).await?;
        if port.project_id != project && !ctx.is_admin() {
            return Err(fault(
                Fault::BadRequest,
                format!("Bad floatingip request: Port {port_id} is not owned by the project."),
            ));
        }
        if let Some(cloud) = self.clouds.get(&port.host_id).filter(|c| !c.network.capabilities().floating_ips) {
            return Err(fault(
                Fault::BadRequest,
                format!(
                    "Bad floatingip request: Port {port_id} is bound on cloud {}, which cannot carry floating IPs: \
                     not supported by this cloud.",
                    cloud.name
                ),
            ));
        }
        let v4: Vec<_> = port.fixed_ips.iter().filter(|f| !f.ip_address.contains(':')).cloned().collect();
        let chosen = match fixed {
            Some(ip) => v4.iter().find(|f| f.ip_address == ip).cloned().ok_or_else(|| {
                fault(Fault::BadRequest, format!("Bad floatingip request: Port {port_id} does not have fixed ip {ip}."))
            })?,
            None if v4.len() == 1 => v4[0].clone(),
            None => {
                return Err(fault(Fault::BadRequest, format!("Bad floatingip request: Port {port_id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP.")))
            }
        };
        let routers: Vec<Router> = self
            .all::<Router>()
            .await?
            .into_iter()
            .filter(|r| r.external_gateway_info.as_ref().is_some_and(|g| g.network_id == network))
            .collect();
        let ports = self.all::<Port>().await?;
        let router = routers.iter().find(|r| {
            ports.iter().any(|p| {
                p.device_id == r.id
                    && p.device_owner == ROUTER_INTERFACE
                    && p.fixed_ips.iter().any(|f| f.subnet_id == chosen.subnet_id)
            })
        });
        let Some(router) = router else {
            return Err(fault(
                Fault::ExternalGatewayForFloatingIpNotFound,
                format!("External network {network} is not reachable from subnet {}.  Therefore, cannot associate Port {port_id} with a Floating IP.", chosen.subnet_id),
            ));
        };
        let taken = self.all::<FloatingIp>().await?.into_iter().any(|f| {
            Some(f.id.as_str()) != me
                && f.floating_network_id == network
                && f.port_id.as_deref() == Some(port_id)
                && f.fixed_ip_address.as_deref() == Some(chosen.ip_address.as_str())
        });
        if taken {
            return Err(CoreError::Conflict(format!("FloatingIPPortAlreadyAssociated: Cannot associate floating IP with port {port_id} using fixed IP {}, as that fixed IP already has a floating IP on external network {network}.", chosen.ip_address)));
        }
        Ok(Association { port, fixed_ip: chosen.ip_address, router_id: router.id.clone() })
    }

    fn set_association(f: &mut FloatingIp, a: Option<Association>) {
        match a {
            Some(a) => {
                f.port_details = Some(json!({
                    "name": a.port.name, "network_id": a.port.network_id, "mac_address": a.port.mac_address,
                    "admin_state_up": a.port.admin_state_up, "status": a.port.status, "device_id": a.port.device_id,
                    "device_owner": a.port.device_owner,
                }));
                f.port_id = Some(a.port.id);
                f.fixed_ip_address = Some(a.fixed_ip);
                f.router_id = Some(a.router_id);
                f.status = "ACTIVE".into();
            }
            None => {
                f.port_id = None;
                f.fixed_ip_address = None;
                f.router_id = None;
                f.port_details = None;
                f.status = "DOWN".into();
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn fip_create(
        &self,
        ctx: &RequestContext,
        network_id: String,
        port_id: Option<String>,
        fixed_ip: Option<String>,
        address: Option<String>,
        description: String,
        project: Option<String>,
    ) -> Result<FloatingIp, CoreError> {
        ctx.require_member()?;
        let project_id = Self::target_project(ctx, project)?;
        self.check_quota(&project_id, "floatingip").await?;
        let net = self
            .load::<Network>(&network_id)
            .await?
            .ok_or_else(|| fault(Fault::NetworkNotFound, format!("Network {network_id} could not be found.")))?;
        if !net.external {
            return Err(fault(
                Fault::BadRequest,
                format!("Bad floatingip request: Network {network_id} is not a valid external network."),
            ));
        }
        let subnet =
            self.children::<Subnet>(&network_id).await?.into_iter().find(|s| s.ip_version == 4).ok_or_else(|| {
                fault(
                    Fault::BadRequest,
                    format!("Bad floatingip request: Network {network_id} does not contain any IPv4 subnet."),
                )
            })?;
        if fixed_ip.is_some() && port_id.is_none() {
            return Err(fault(
                Fault::BadRequest,
                "Bad floatingip request: fixed_ip_address cannot be specified without a port_id.".into(),
            ));
        }
        if address.is_some() && !ctx.is_admin() {
            return Err(fault(
                Fault::PolicyNotAuthorized,
                "Only administrators may choose a floating IP address.".into(),
            ));
        }
        // Everything that can refuse the request is checked before an address is taken.
        let assoc = match &port_id {
            Some(p) => Some(self.associate(ctx, &network_id, &project_id, p, fixed_ip, None).await?),
            None => None,
        };
        let id = new_id();
        let port = self
            .port_create_as(
                ctx,
                PortRequest {
                    network_id: Some(network_id.clone()),
                    project_id: Some(String::new()),
                    device_owner: Some("network:floatingip".into()),
                    device_id: Some(id.clone()),
                    fixed_ips: Some(vec![IpRequest { subnet_id: Some(subnet.id.clone()), ip_address: address }]),
                    ..Default::default()
                },
                true,
            )
            .await?;
        let t = now();
        let mut f = FloatingIp {
            id,
            project_id,
            floating_ip_address: port.fixed_ips.first().map(|x| x.ip_address.clone()).unwrap_or_default(),
            floating_network_id: network_id,
            router_id: None,
            port_id: None,
            fixed_ip_address: None,
            status: "DOWN".into(),
            description,
            tags: vec![],
            port_details: None,
            qos_policy_id: None,
            created_at: t.clone(),
            updated_at: t,
            revision_number: 1,
            fip_port_id: Some(port.id.clone()),
        };
        Self::set_association(&mut f, assoc);
        if let Err(e) = self.apply(Write { put: vec![Self::object(&f)?], ..Default::default() }).await {
            let mut c = Write::default();
            Self::drop_port(&mut c, &port.id);
            let _ = self.apply(c).await;
            return Err(e);
        }
        Ok(f)
    }

    /// `port`: `None` leaves the association, `Some(None)` clears it, `Some(Some(id))` moves it.
    pub async fn fip_update(
        &self,
        ctx: &RequestContext,
        id: &str,
        port: Option<Option<String>>,
        fixed_ip: Option<String>,
        description: Option<String>,
    ) -> Result<FloatingIp, CoreError> {
        ctx.require_member()?;
        let mut f = self.fip_get(ctx, id).await?;
        match port {
            Some(Some(p)) => {
                let a = self.associate(ctx, &f.floating_network_id, &f.project_id, &p, fixed_ip, Some(id)).await?;
                Self::set_association(&mut f, Some(a));
            }
            Some(None) => Self::set_association(&mut f, None),
            None if fixed_ip.is_some() => {
                return Err(fault(
                    Fault::BadRequest,
                    "Bad floatingip request: fixed_ip_address cannot be specified without a port_id.".into(),
                ))
            }
            None => {}
        }
        if let Some(d) = description {
            f.description = d;
        }
        f.updated_at = now();
        f.revision_number += 1;
        self.apply(Write { put: vec![Self::object(&f)?], ..Default::default() }).await?;
        Ok(f)
    }

    pub async fn fip_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        let f = self.fip_get(ctx, id).await?;
        let mut c = Write { delete: vec![("floatingip".into(), f.id.clone())], ..Default::default() };
        if let Some(p) = &f.fip_port_id {
            Self::drop_port(&mut c, p);
        }
        self.apply(c).await
    }
}
