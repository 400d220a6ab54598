//! What a cloud must hold for the network objects in use on it: the security groups of its
//! bound ports (with remote groups resolved to addresses), the routers that connect its
//! networks, and the floating IPs of its ports. The engine's `network.sync` operation and
//! the reconciler converge a cloud to this; a cloud holds a router or floating IP only while
//! one of its ports needs it, so the last port going takes them away.

use std::collections::{BTreeMap, BTreeSet};

use hybridstack_driver::{FloatingIpSpec, RouterGateway, RouterInterface, RouterSpec, RuleSpec, SecurityGroupSpec};
use hybridstack_store::operations::Operation;

use super::model::{FloatingIp, Port, Router, SecurityGroup, SecurityGroupRule, Subnet};
use super::routers::ROUTER_INTERFACE;
use super::Networking;
use crate::CoreError;

/// All sync operations share one resource id, so they run one at a time, in order.
pub const NETWORK_SYNC_RESOURCE: &str = "network-sync";

/// The operation that converges every cloud's network realisation to the store; it takes no
/// parameters.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetworkSync {}

impl crate::operations::Params for NetworkSync {
    const KIND: &'static str = "network.sync";
    fn resource_id(&self) -> &str {
        NETWORK_SYNC_RESOURCE
    }
}

/// Everything a cloud should hold beyond its networks and ports.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CloudNetworkState {
    /// Bound ports whose filters must be current (security groups change under them).
    pub ports: Vec<Port>,
    pub routers: Vec<RouterSpec>,
    pub floating_ips: Vec<FloatingIpSpec>,
    /// External networks the routers' gateways need on this cloud.
    pub external_networks: BTreeSet<String>,
}

pub fn sync_operation() -> Operation {
    crate::operations::operation(
        <NetworkSync as crate::operations::Params>::KIND,
        NETWORK_SYNC_RESOURCE,
        serde_json::json!({}),
    )
}

fn bound_on(p: &Port, cloud: &str) -> bool {
    p.host_id == cloud && p.device_owner.starts_with("compute:")
}

impl Networking {
    /// The groups with their rules as a cloud enforces them; a rule naming a remote group
    /// carries the addresses of that group's ports now.
    pub async fn security_group_specs(&self, ids: &[String]) -> Result<Vec<SecurityGroupSpec>, CoreError> {
        let mut out = Vec::new();
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut ports: Option<Vec<Port>> = None;
        for id in ids {
            let Some(g) = self.load::<SecurityGroup>(id).await? else { continue };
            let rules = self.children::<SecurityGroupRule>(id).await?;
            let mut specs = Vec::new();
            for r in rules {
                let mut remote_addresses = Vec::new();
                if let Some(remote) = &r.remote_group_id {
                    if !members.contains_key(remote) {
                        if ports.is_none() {
                            ports = Some(self.all::<Port>().await?);
                        }
                        let addrs = ports
                            .iter()
                            .flatten()
                            .filter(|p| p.security_groups.iter().any(|g| g == remote))
                            .flat_map(|p| p.fixed_ips.iter().map(|f| f.ip_address.clone()))
                            .collect();
                        members.insert(remote.clone(), addrs);
                    }
                    remote_addresses = members.get(remote).cloned().unwrap_or_default();
                }
                specs.push(RuleSpec {
                    direction: r.direction,
                    ethertype: r.ethertype,
                    protocol: r.protocol,
                    port_range_min: r.port_range_min,
                    port_range_max: r.port_range_max,
                    remote_ip_prefix: r.remote_ip_prefix,
                    remote_group_id: r.remote_group_id,
                    remote_addresses,
                });
            }
            out.push(SecurityGroupSpec { id: g.id, name: g.name, rules: specs });
        }
        Ok(out)
    }

    /// What `cloud` should hold for its bound ports.
    pub async fn cloud_state(&self, cloud: &str) -> Result<CloudNetworkState, CoreError> {
        let ports = self.all::<Port>().await?;
        let subnets = self.all::<Subnet>().await?;
        let here: BTreeSet<&str> = ports.iter().filter(|p| bound_on(p, cloud)).map(|p| p.network_id.as_str()).collect();
        let mut state = CloudNetworkState {
            ports: ports.iter().filter(|p| bound_on(p, cloud)).cloned().collect(),
            ..Default::default()
        };
        let mut routers_here = BTreeSet::new();
        for r in self.all::<Router>().await? {
            if !r.admin_state_up {
                continue;
            }
            let interfaces: Vec<RouterInterface> = ports
                .iter()
                .filter(|p| p.device_id == r.id && p.device_owner == ROUTER_INTERFACE)
                .filter(|p| here.contains(p.network_id.as_str()))
                .flat_map(|p| {
                    p.fixed_ips.iter().filter(|f| !f.ip_address.contains(':')).filter_map(|f| {
                        let s = subnets.iter().find(|s| s.id == f.subnet_id)?;
                        Some(RouterInterface {
                            network_id: p.network_id.clone(),
                            subnet_id: s.id.clone(),
                            cidr: s.cidr.clone(),
                            address: f.ip_address.clone(),
                        })
                    })
                })
                .collect();
            if interfaces.is_empty() {
                continue;
            }
            let gateway = match &r.external_gateway_info {
                Some(g) => match g.external_fixed_ips.iter().find(|f| !f.ip_address.contains(':')) {
                    Some(f) => Some(RouterGateway {
                        network: self.network_spec(&g.network_id).await?,
                        address: f.ip_address.clone(),
                        snat: g.enable_snat,
                    }),
                    None => None,
                },
                None => None,
            };
            if let Some(g) = &gateway {
                state.external_networks.insert(g.network.id.clone());
            }
            routers_here.insert(r.id.clone());
            state.routers.push(RouterSpec { id: r.id, gateway, interfaces });
        }
        for f in self.all::<FloatingIp>().await? {
            let (Some(port_id), Some(fixed), Some(router)) = (&f.port_id, &f.fixed_ip_address, &f.router_id) else {
                continue;
            };
            let Some(p) = ports.iter().find(|p| &p.id == port_id && bound_on(p, cloud)) else { continue };
            if !routers_here.contains(router) {
                continue;
            }
            state.floating_ips.push(FloatingIpSpec {
                id: f.id.clone(),
                floating_network_id: f.floating_network_id.clone(),
                floating_ip_address: f.floating_ip_address.clone(),
                port_id: port_id.clone(),
                fixed_ip_address: fixed.clone(),
                fixed_network_id: p.network_id.clone(),
                router_id: router.clone(),
            });
        }
        Ok(state)
    }
}

impl Networking {
    /// Whether a network is external (a router gateway's); a missing one is not.
    pub async fn network_is_external(&self, id: &str) -> Result<bool, CoreError> {
        Ok(self.load::<super::model::Network>(id).await?.is_some_and(|n| n.external))
    }

    /// Queues a `network.sync` unless one is already waiting (after a server's network is
    /// realised or removed, so routers and floating IPs follow its ports).
    pub async fn request_sync(&self) -> Result<(), CoreError> {
        let c = hybridstack_store::write::Write { follow_up: Some(sync_operation()), ..Default::default() };
        self.apply(c).await
    }
}
