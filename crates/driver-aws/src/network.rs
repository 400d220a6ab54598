//! `Network` on AWS: each call goes to the file of the object it realises. The external
//! network is the internet itself, reached through a router's internet gateway, so realising
//! it makes nothing.

use async_trait::async_trait;
use hybridstack_driver::{
    DriverError, FloatingIpSpec, NetworkCapabilities, NetworkQuery, NetworkSpec, Owned, PortSpec, RouterSpec,
    SecurityGroupSpec,
};
use hybridstack_driver_act::Network;

use crate::errors::aws;
use crate::{tag_value, AwsCloud, TAG_ID};

impl NetworkQuery for AwsCloud {
    fn capabilities(&self) -> NetworkCapabilities {
        NetworkCapabilities {
            ipv6: false,
            routers: true,
            floating_ips: true,
            security_groups: true,
            remote_group_rules: true,
            vif_type: "other",
        }
    }

    fn check_subnet(&self, s: &hybridstack_driver::SubnetSpec) -> Result<(), DriverError> {
        crate::vpc::check_subnet(s).map(|_| ())
    }
}

#[async_trait]
impl Network for AwsCloud {
    async fn ensure_network(&self, n: &NetworkSpec) -> Result<String, DriverError> {
        if n.external {
            return Ok("internet".into());
        }
        self.ensure_vpc(n).await
    }

    async fn delete_network(&self, id: &str) -> Result<(), DriverError> {
        self.delete_vpc(id).await
    }

    async fn ensure_port(&self, p: &PortSpec) -> Result<String, DriverError> {
        self.ensure_eni(p).await
    }

    async fn refresh_port(&self, p: &PortSpec) -> Result<(), DriverError> {
        self.refresh_eni(p).await
    }

    async fn delete_port(&self, id: &str) -> Result<(), DriverError> {
        self.delete_eni(id).await
    }

    /// A group is made in a VPC when a port there needs it (`ensure_port`); on its own it
    /// belongs to no VPC, so here it is only converged where it already is.
    async fn ensure_security_group(&self, g: &SecurityGroupSpec) -> Result<String, DriverError> {
        let mut last = String::new();
        for (_, aws_id) in self.owned_groups().await?.into_iter().filter(|(id, _)| *id == g.id) {
            let out = self
                .ec2
                .describe_security_groups()
                .group_ids(&aws_id)
                .send()
                .await
                .map_err(|e| aws("reading a security group", e))?;
            for sg in out.security_groups() {
                if let Some(vpc) = sg.vpc_id() {
                    last = self.ensure_group_in(vpc, g).await?;
                }
            }
        }
        Ok(last)
    }

    async fn delete_security_group(&self, id: &str) -> Result<(), DriverError> {
        self.delete_group(id).await
    }

    async fn ensure_router(&self, r: &RouterSpec) -> Result<String, DriverError> {
        self.ensure_gateways(r).await
    }

    async fn delete_router(&self, id: &str) -> Result<(), DriverError> {
        self.delete_gateways(id).await
    }

    async fn ensure_floating_ip(&self, f: &FloatingIpSpec) -> Result<String, DriverError> {
        self.ensure_eip(f).await
    }

    async fn delete_floating_ip(&self, id: &str) -> Result<(), DriverError> {
        self.delete_eip(id).await
    }

    async fn list_owned(&self) -> Result<Vec<Owned>, DriverError> {
        let mut out = Vec::new();
        let vpcs = self
            .ec2
            .describe_vpcs()
            .set_filters(Some(self.ours(crate::vpc::NETWORK, None)))
            .send()
            .await
            .map_err(|e| aws("listing VPCs", e))?;
        for v in vpcs.vpcs() {
            if let Some(id) = tag_value(v.tags(), TAG_ID) {
                out.push(Owned { kind: "network", id, reference: v.vpc_id().unwrap_or_default().into() });
            }
        }
        for e in self.all_enis().await? {
            if let Some(id) = tag_value(e.tag_set(), TAG_ID) {
                out.push(Owned { kind: "port", id, reference: e.network_interface_id().unwrap_or_default().into() });
            }
        }
        for (id, reference) in self.owned_groups().await? {
            out.push(Owned { kind: "security_group", id, reference });
        }
        for id in self.owned_routers().await? {
            out.push(Owned { kind: "router", reference: id.clone(), id });
        }
        for (id, reference) in self.owned_eips().await? {
            out.push(Owned { kind: "floatingip", id, reference });
        }
        Ok(out)
    }
}
