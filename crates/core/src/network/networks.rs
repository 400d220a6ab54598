//! Networks.

use hybridstack_store::write::Write;

use super::model::{Network, Port, Subnet};
use super::{fault, new_id, now, stored_as, Fault, Networking};
use crate::policy::RequestContext;
use crate::CoreError;

stored_as!(Network, "network");

/// Ports that go away with their network rather than keeping it in use.
pub(crate) fn auto_deleted(device_owner: &str) -> bool {
    matches!(device_owner, "network:dhcp" | "network:distributed" | "network:floatingip_agent_gateway")
}

#[derive(Debug, Default, Clone)]
pub struct NetworkRequest {
    pub name: Option<String>,
    pub project_id: Option<String>,
    pub admin_state_up: Option<bool>,
    pub shared: Option<bool>,
    pub external: Option<bool>,
    pub mtu: Option<u32>,
    pub port_security_enabled: Option<bool>,
    pub description: Option<String>,
    /// The zones (clouds) the network is to be realised on; empty: any.
    pub availability_zone_hints: Option<Vec<String>>,
    /// The provider attributes the request set (`provider:network_type`, `segments`…), by
    /// name: only administrators may set them, and no cloud realises them yet.
    pub provider: Vec<String>,
}

/// Provider attributes are Neutron's admin-only rules (`create_network:provider:*`,
/// `update_network:provider:*`): a non-admin setting one is refused with a 403, never
/// silently ignored; an administrator is told they are not realised.
fn check_provider(ctx: &RequestContext, action: &str, given: &[String]) -> Result<(), CoreError> {
    let Some(first) = given.first() else { return Ok(()) };
    if !ctx.is_admin() {
        return Err(fault(
            Fault::PolicyNotAuthorized,
            format!("(rule:{action}_network and rule:{action}_network:{first}) is disallowed by policy"),
        ));
    }
    Err(CoreError::NotSupported(format!(
        "Provider networks ({}) are not supported: hybridstack realises each network on its cloud itself.",
        given.join(", ")
    )))
}

impl Networking {
    fn sees_network(ctx: &RequestContext, n: &Network) -> bool {
        Self::owns(ctx, &n.project_id) || n.shared || n.external
    }

    async fn with_subnets(&self, mut n: Network) -> Result<Network, CoreError> {
        n.subnets = self.children::<Subnet>(&n.id).await?.into_iter().map(|s| s.id).collect();
        Ok(n)
    }

    pub async fn network_list(&self, ctx: &RequestContext) -> Result<Vec<Network>, CoreError> {
        let mut out = Vec::new();
        for n in self.all::<Network>().await? {
            if Self::sees_network(ctx, &n) {
                out.push(self.with_subnets(n).await?);
            }
        }
        Ok(out)
    }

    pub async fn network_get(&self, ctx: &RequestContext, id: &str) -> Result<Network, CoreError> {
        match self.load::<Network>(id).await? {
            Some(n) if Self::sees_network(ctx, &n) => self.with_subnets(n).await,
            _ => Err(fault(Fault::NetworkNotFound, format!("Network {id} could not be found."))),
        }
    }

    /// The network, if the caller owns it (or is admin); 404 otherwise.
    pub(crate) async fn own_network(&self, ctx: &RequestContext, id: &str) -> Result<Network, CoreError> {
        match self.load::<Network>(id).await? {
            Some(n) if Self::owns(ctx, &n.project_id) => Ok(n),
            Some(n) if Self::sees_network(ctx, &n) => {
                Err(fault(Fault::PolicyNotAuthorized, format!("Network {id} belongs to another project.")))
            }
            _ => Err(fault(Fault::NetworkNotFound, format!("Network {id} could not be found."))),
        }
    }

    pub async fn network_create(&self, ctx: &RequestContext, r: NetworkRequest) -> Result<Network, CoreError> {
        ctx.require_member()?;
        check_provider(ctx, "create", &r.provider)?;
        let project_id = Self::target_project(ctx, r.project_id)?;
        self.check_quota(&project_id, "network").await?;
        if (r.shared == Some(true) || r.external == Some(true)) && !ctx.is_admin() {
            return Err(fault(
                Fault::PolicyNotAuthorized,
                "Only administrators may create shared or external networks.".into(),
            ));
        }
        let mtu = r.mtu.unwrap_or(1500);
        if !(68..=9000).contains(&mtu) {
            return Err(fault(
                Fault::InvalidInput,
                format!("Invalid input for mtu. Reason: {mtu} is not in range 68 to 9000."),
            ));
        }
        let hints = r.availability_zone_hints.clone().unwrap_or_default();
        for zone in &hints {
            if !self.clouds.zone_known(zone).await? {
                return Err(CoreError::NotFound(format!("AvailabilityZone {zone} could not be found.")));
            }
        }
        let t = now();
        let n = Network {
            id: new_id(),
            name: r.name.unwrap_or_default(),
            project_id,
            admin_state_up: r.admin_state_up.unwrap_or(true),
            status: "ACTIVE".into(),
            shared: r.shared.unwrap_or(false),
            external: r.external.unwrap_or(false),
            mtu,
            port_security_enabled: r.port_security_enabled.unwrap_or(true),
            description: r.description.unwrap_or_default(),
            tags: vec![],
            availability_zone_hints: hints,
            availability_zones: vec![],
            ipv4_address_scope: None,
            ipv6_address_scope: None,
            subnets: vec![],
            created_at: t.clone(),
            updated_at: t,
            revision_number: 1,
        };
        self.ensure_default_sg(&n.project_id).await?;
        self.apply(Write { put: vec![Self::object(&n)?], ..Default::default() }).await?;
        Ok(n)
    }

    pub async fn network_update(
        &self,
        ctx: &RequestContext,
        id: &str,
        r: NetworkRequest,
    ) -> Result<Network, CoreError> {
        ctx.require_member()?;
        let mut n = self.own_network(ctx, id).await?;
        check_provider(ctx, "update", &r.provider)?;
        if (r.shared.is_some() || r.external.is_some()) && !ctx.is_admin() {
            return Err(fault(
                Fault::PolicyNotAuthorized,
                "Only administrators may change shared or router:external.".into(),
            ));
        }
        if let Some(x) = r.name {
            n.name = x;
        }
        if let Some(x) = r.admin_state_up {
            n.admin_state_up = x;
        }
        if let Some(x) = r.shared {
            n.shared = x;
        }
        if let Some(x) = r.external {
            n.external = x;
        }
        if let Some(x) = r.mtu {
            n.mtu = x;
        }
        if let Some(x) = r.port_security_enabled {
            n.port_security_enabled = x;
        }
        if let Some(x) = r.description {
            n.description = x;
        }
        n.updated_at = now();
        n.revision_number += 1;
        self.apply(Write { put: vec![Self::object(&n)?], ..Default::default() }).await?;
        self.with_subnets(n).await
    }

    /// Deletes the network with its subnets; 409 while ports other than service ports use it.
    pub async fn network_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        let n = self.own_network(ctx, id).await?;
        let ports = self.children::<Port>(&n.id).await?;
        let busy: Vec<&str> = ports.iter().filter(|p| !auto_deleted(&p.device_owner)).map(|p| p.id.as_str()).collect();
        if !busy.is_empty() {
            return Err(fault(
                Fault::NetworkInUse,
                format!("Unable to complete operation on network {id}. There are one or more ports still in use on the network, id for these ports is: {}.", busy.join(",")),
            ));
        }
        let mut c = Write::default();
        for p in &ports {
            c.release_port.push(p.id.clone());
            c.delete.push(("port".into(), p.id.clone()));
        }
        for s in self.children::<Subnet>(&n.id).await? {
            c.delete.push(("subnet".into(), s.id));
        }
        c.delete.push(("network".into(), n.id));
        self.apply(c).await
    }
}
