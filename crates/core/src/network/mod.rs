//! The network service (Neutron v2.0): networks, subnets with IPAM, ports, routers, floating
//! IPs, security groups and subnet pools. Objects are stored as documents (see
//! `store::documents`); every multi-object change is one `Write`, applied atomically.

pub mod binding;
mod floating_ips;
pub mod ipam;
pub mod model;
mod networks;
mod ports;
mod quotas;
pub mod realisation;
mod routers;
mod security_groups;
mod subnet_pools;
mod subnets;
mod tags;

use std::sync::Arc;

use hybridstack_store::documents::Document;
use hybridstack_store::write::{Expect, Write};
use hybridstack_store::{Store, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::clouds::Clouds;
use crate::policy::RequestContext;
use crate::CoreError;

pub use networks::NetworkRequest;
pub use ports::{IpRequest, PortRequest};
pub use quotas::QUOTAS;
pub use routers::{Gateway, InterfaceChange, InterfaceInfo, InterfaceRef};
pub use security_groups::RuleRequest;
pub use subnet_pools::SubnetPoolRequest;
pub use subnets::SubnetRequest;
pub use tags::TagOp;

/// Neutron's fault names. Clients and Tempest read them from the error body's `type`.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    NetworkNotFound,
    SubnetNotFound,
    PortNotFound,
    RouterNotFound,
    FloatingIpNotFound,
    SecurityGroupNotFound,
    SecurityGroupRuleNotFound,
    SubnetPoolNotFound,
    InvalidInput,
    BadRequest,
    InvalidAllocationPool,
    OverlappingAllocationPools,
    GatewayConflictWithAllocationPools,
    InvalidIpForSubnet,
    InvalidIpForNetwork,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
    NetworkInUse,
    SubnetInUse,
    RouterInUse,
    RouterInterfaceNotFound,
    RouterInterfaceNotFoundForSubnet,
    ExternalGatewayForFloatingIpNotFound,
    SecurityGroupInUse,
    SecurityGroupDefaultAlreadyExists,
    SecurityGroupCannotRemoveDefault,
    SecurityGroupCannotUpdateDefault,
    SecurityGroupRuleExists,
    SecurityGroupRuleInvalidProtocol,
    SecurityGroupRuleInvalidEtherType,
    InvalidCidr,
    ServicePortInUse,
    PolicyNotAuthorized,
}

impl Fault {
    fn name(self) -> String {
        match self {
            Fault::FloatingIpNotFound => "FloatingIPNotFound".into(),
            Fault::ExternalGatewayForFloatingIpNotFound => "ExternalGatewayForFloatingIPNotFound".into(),
            Fault::InvalidCidr => "InvalidCIDR".into(),
            // The other names are spelled as the variants.
            other => format!("{other:?}"),
        }
    }
}

/// A Neutron fault: the API shows `name` as the error `type`. The message carries the name
/// as a `Name: ` prefix, which the Neutron error renderer splits off.
pub fn fault(kind: Fault, message: String) -> CoreError {
    let m = format!("{}: {message}", kind.name());
    match kind {
        Fault::NetworkNotFound
        | Fault::SubnetNotFound
        | Fault::PortNotFound
        | Fault::RouterNotFound
        | Fault::FloatingIpNotFound
        | Fault::SecurityGroupNotFound
        | Fault::SecurityGroupRuleNotFound
        | Fault::SubnetPoolNotFound
        | Fault::RouterInterfaceNotFound
        | Fault::RouterInterfaceNotFoundForSubnet
        | Fault::ExternalGatewayForFloatingIpNotFound => CoreError::NotFound(m),
        Fault::IpAddressAlreadyAllocated
        | Fault::IpAddressGenerationFailure
        | Fault::NetworkInUse
        | Fault::SubnetInUse
        | Fault::RouterInUse
        | Fault::SecurityGroupInUse
        | Fault::SecurityGroupDefaultAlreadyExists
        | Fault::SecurityGroupCannotRemoveDefault
        | Fault::SecurityGroupCannotUpdateDefault
        | Fault::SecurityGroupRuleExists
        | Fault::GatewayConflictWithAllocationPools
        | Fault::ServicePortInUse => CoreError::Conflict(m),
        Fault::PolicyNotAuthorized => CoreError::Forbidden(m),
        _ => CoreError::BadRequest(m),
    }
}

pub(crate) use crate::clock::{new_id, now};

pub struct Networking {
    store: Store,
    /// The clouds, for what a network's zone hints ask of them.
    clouds: Arc<Clouds>,
}

/// A resource kind and how it is stored.
pub(crate) trait Doc: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn project_id(&self) -> &str;
    fn parent_id(&self) -> &str {
        ""
    }
}

/// Declares how a model type is stored: `stored_as!(Port, "port", parent: network_id)`.
macro_rules! stored_as {
    ($t:ty, $kind:literal) => {
        stored_as!($t, $kind, parent: );
    };
    ($t:ty, $kind:literal, parent: $($parent:ident)?) => {
        impl $crate::network::Doc for $t {
            const KIND: &'static str = $kind;
            fn id(&self) -> &str {
                &self.id
            }
            fn project_id(&self) -> &str {
                &self.project_id
            }
            $(fn parent_id(&self) -> &str {
                &self.$parent
            })?
        }
    };
}
pub(crate) use stored_as;

impl Networking {
    pub fn new(store: Store, clouds: Arc<Clouds>) -> Arc<Self> {
        Arc::new(Self { store, clouds })
    }

    /// A document written afresh, as every Neutron change writes it.
    pub(crate) fn object<T: Doc>(doc: &T) -> Result<(Document, Expect), CoreError> {
        let d = crate::documents::document(T::KIND, doc.id(), doc.project_id(), doc)?;
        Ok((Document { parent_id: doc.parent_id().into(), ..d }, Expect::Replace))
    }

    fn decode<T: Doc>(o: &Document) -> Result<T, CoreError> {
        crate::documents::decode(o)
    }

    pub(crate) async fn load<T: Doc>(&self, id: &str) -> Result<Option<T>, CoreError> {
        match self.store.doc_get(T::KIND, id).await {
            Ok(o) => Ok(Some(Self::decode(&o)?)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn all<T: Doc>(&self) -> Result<Vec<T>, CoreError> {
        self.store.doc_list(T::KIND, None).await?.iter().map(Self::decode).collect()
    }

    pub(crate) async fn children<T: Doc>(&self, parent: &str) -> Result<Vec<T>, CoreError> {
        self.store.doc_children(T::KIND, parent).await?.iter().map(Self::decode).collect()
    }

    pub(crate) async fn apply(&self, mut c: Write) -> Result<(), CoreError> {
        // Filters, routers and floating IPs on the clouds follow these objects.
        const REALISED: [&str; 5] = ["port", "router", "floatingip", "security_group", "security_group_rule"];
        if c.put.iter().any(|(o, _)| REALISED.contains(&o.kind.as_str()))
            || c.delete.iter().any(|(k, _)| REALISED.contains(&k.as_str()))
        {
            c.follow_up = Some(realisation::sync_operation());
        }
        let done = self.store.write(&c).await;
        if done.is_ok() && c.follow_up.is_some() {
            self.clouds.doorbell().notify_one();
        }
        match done {
            Err(StoreError::Conflict(m)) if m.starts_with("ip:") => {
                let mut parts = m.splitn(3, ':').skip(1);
                let (subnet, ip) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
                Err(fault(
                    Fault::IpAddressAlreadyAllocated,
                    format!("IP address {ip} already allocated in subnet {subnet}"),
                ))
            }
            other => other.map_err(CoreError::from),
        }
    }

    /// Whether the caller may see an object of `project_id` (admins see everything).
    pub(crate) fn owns(ctx: &RequestContext, project_id: &str) -> bool {
        ctx.is_admin() || ctx.project_id() == Some(project_id)
    }

    /// The project new objects belong to: the token's, or (for admins) the one asked for.
    pub(crate) fn target_project(ctx: &RequestContext, asked: Option<String>) -> Result<String, CoreError> {
        match asked {
            Some(p) if ctx.project_id() != Some(p.as_str()) => {
                if ctx.is_admin() {
                    Ok(p)
                } else {
                    Err(fault(
                        Fault::PolicyNotAuthorized,
                        "Only administrators may create objects for another project.".into(),
                    ))
                }
            }
            Some(p) => Ok(p),
            None => ctx.project_id().map(str::to_string).ok_or_else(|| {
                fault(Fault::BadRequest, "A project-scoped token is needed to create network objects.".into())
            }),
        }
    }
}

#[cfg(test)]
mod tests;
