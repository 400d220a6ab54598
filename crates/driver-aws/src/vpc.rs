//! Networks as VPCs: one VPC per network per cloud, tagged with the network's id, holding
//! one subnet per Neutron subnet (tagged with the subnet's id) in the cloud's zone. The VPC's
//! first CIDR block is the first subnet's; each further subnet outside the VPC's blocks adds
//! its own (AssociateVpcCidrBlock), so the subnets of one network need not be contiguous.
//!
//! AWS hosts only what its rules allow, and the moto server does not check them all, so they
//! are checked here first (`check_subnet`), with the reason: IPv4 blocks from /16 to /28,
//! and no IPv6 subnet of our choosing (AWS hands out a VPC's IPv6 /56 itself).

use aws_sdk_ec2::types::{Filter, ResourceType, Subnet, Vpc};
use hybridstack_driver::{DriverError, NetworkSpec, SubnetSpec};
use ipnet::IpNet;

use crate::errors::aws;
use crate::{tag_value, AwsCloud, TAG_ID};

pub(crate) const NETWORK: &str = "network";
const SUBNET: &str = "subnet";

/// Whether AWS can host the subnet, and if not, why.
pub fn check_subnet(s: &SubnetSpec) -> Result<IpNet, DriverError> {
    let net: IpNet =
        s.cidr.parse().map_err(|_| DriverError::Rejected(format!("subnet {}: {} is not a CIDR", s.id, s.cidr)))?;
    match net {
        IpNet::V6(_) => Err(DriverError::Rejected(format!(
            "subnet {} ({}): an AWS VPC takes IPv6 prefixes only from AWS (an Amazon-provided /56), so an IPv6 subnet \
             with its own CIDR cannot be hosted",
            s.id, s.cidr
        ))),
        IpNet::V4(v4) if !(16..=28).contains(&v4.prefix_len()) => {
            Err(DriverError::Rejected(format!("subnet {} ({}): AWS hosts IPv4 subnets from /16 to /28", s.id, s.cidr)))
        }
        IpNet::V4(_) => Ok(net.trunc()),
    }
}

fn contains(blocks: &[IpNet], net: &IpNet) -> bool {
    blocks.iter().any(|b| b.contains(net))
}

fn vpc_blocks(v: &Vpc) -> Vec<IpNet> {
    let mut out: Vec<IpNet> = v
        .cidr_block_association_set()
        .iter()
        .filter(|a| a.cidr_block_state().and_then(|s| s.state()).is_none_or(|s| s.as_str() == "associated"))
        .filter_map(|a| a.cidr_block().and_then(|c| c.parse().ok()))
        .collect();
    if let Some(c) = v.cidr_block().and_then(|c| c.parse().ok()) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

impl AwsCloud {
    /// The VPC of a network, when it is realised here.
    pub(crate) async fn vpc_of(&self, network_id: &str) -> Result<Option<Vpc>, DriverError> {
        let out = self
            .ec2
            .describe_vpcs()
            .set_filters(Some(self.ours(NETWORK, Some(network_id))))
            .send()
            .await
            .map_err(|e| aws("listing VPCs", e))?;
        Ok(out.vpcs().first().cloned())
    }

    pub(crate) async fn vpc_id(&self, network_id: &str) -> Result<String, DriverError> {
        self.vpc_of(network_id).await?.and_then(|v| v.vpc_id().map(str::to_string)).ok_or_else(|| {
            DriverError::NotFound(format!("network {network_id} is not realised on cloud {}", self.name))
        })
    }

    pub(crate) async fn subnets_in(&self, vpc_id: &str) -> Result<Vec<Subnet>, DriverError> {
        let out = self
            .ec2
            .describe_subnets()
            .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
            .send()
            .await
            .map_err(|e| aws("listing subnets", e))?;
        Ok(out.subnets().to_vec())
    }

    /// The AWS subnet of one of our subnets.
    pub(crate) async fn aws_subnet(&self, subnet_id: &str) -> Result<Subnet, DriverError> {
        let out = self
            .ec2
            .describe_subnets()
            .set_filters(Some(self.ours(SUBNET, Some(subnet_id))))
            .send()
            .await
            .map_err(|e| aws("looking up a subnet", e))?;
        out.subnets()
            .first()
            .cloned()
            .ok_or_else(|| DriverError::NotFound(format!("subnet {subnet_id} is not realised on cloud {}", self.name)))
    }

    /// Creates or converges the network's VPC and subnets; returns the VPC id.
    pub(crate) async fn ensure_vpc(&self, n: &NetworkSpec) -> Result<String, DriverError> {
        let _held = self.lock(format!("net:{}", n.id)).await;
        let mut wanted = Vec::new();
        for s in &n.subnets {
            wanted.push((s, check_subnet(s)?));
        }
        let Some((_, first)) = wanted.first() else {
            return Err(DriverError::Rejected(format!(
                "network {}: a VPC needs an IPv4 subnet to be made from, and the network has none",
                n.id
            )));
        };
        let vpc = match self.vpc_of(&n.id).await? {
            Some(v) => v,
            None => {
                let out = self
                    .ec2
                    .create_vpc()
                    .cidr_block(first.to_string())
                    .tag_specifications(self.tag_spec(ResourceType::Vpc, &n.id, NETWORK, &n.name, &[]))
                    .send()
                    .await
                    .map_err(|e| aws("creating the VPC", e))?;
                out.vpc().cloned().ok_or_else(|| DriverError::Failed("CreateVpc returned no VPC".into()))?
            }
        };
        let vpc_id = vpc.vpc_id().unwrap_or_default().to_string();
        let mut blocks = vpc_blocks(&vpc);
        let present = self.subnets_in(&vpc_id).await?;
        for (s, net) in &wanted {
            if present.iter().any(|p| tag_value(p.tags(), TAG_ID).as_deref() == Some(s.id.as_str())) {
                continue;
            }
            if !contains(&blocks, net) {
                self.ec2
                    .associate_vpc_cidr_block()
                    .vpc_id(&vpc_id)
                    .cidr_block(net.to_string())
                    .send()
                    .await
                    .map_err(|e| aws(&format!("adding {net} to the VPC of network {}", n.id), e))?;
                blocks.push(*net);
            }
            self.ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(net.to_string())
                .availability_zone(&self.zone)
                .tag_specifications(self.tag_spec(ResourceType::Subnet, &s.id, SUBNET, &s.id, &[]))
                .send()
                .await
                .map_err(|e| aws(&format!("creating subnet {}", s.id), e))?;
        }
        // Subnets removed from the network since go too (a subnet in use cannot be removed
        // in Neutron, so nothing of ours is in them).
        for p in &present {
            let Some(ours) = tag_value(p.tags(), TAG_ID) else { continue };
            if !wanted.iter().any(|(s, _)| s.id == ours) {
                self.delete_subnet(p).await?;
            }
        }
        Ok(vpc_id)
    }

    async fn delete_subnet(&self, s: &Subnet) -> Result<(), DriverError> {
        let Some(id) = s.subnet_id() else { return Ok(()) };
        match self.ec2.delete_subnet().subnet_id(id).send().await {
            Ok(_) => Ok(()),
            Err(e) => match aws("deleting a subnet", e) {
                DriverError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Removes the network's VPC with everything of ours still in it: route tables and
    /// internet gateways of routers, security groups, subnets. Its ports (ENIs) went first.
    pub(crate) async fn delete_vpc(&self, network_id: &str) -> Result<(), DriverError> {
        let _held = self.lock(format!("net:{network_id}")).await;
        let Some(vpc) = self.vpc_of(network_id).await? else { return Ok(()) };
        let vpc_id = vpc.vpc_id().unwrap_or_default().to_string();
        self.remove_gateways_of(&vpc_id, None).await?;
        self.remove_groups_in(&vpc_id).await?;
        for s in self.subnets_in(&vpc_id).await? {
            self.delete_subnet(&s).await?;
        }
        match self.ec2.delete_vpc().vpc_id(&vpc_id).send().await {
            Ok(_) => Ok(()),
            Err(e) => match aws("deleting the VPC", e) {
                DriverError::NotFound(_) => Ok(()),
                // Something still in it (an ENI being detached): the step is retried.
                DriverError::Rejected(m) if m.contains("DependencyViolation") => Err(DriverError::Transient(m)),
                other => Err(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(cidr: &str) -> SubnetSpec {
        crate::test_support::subnet_spec("s", cidr)
    }

    #[test]
    fn only_what_aws_can_host_is_accepted() {
        assert_eq!(check_subnet(&subnet("10.0.0.0/16")).map(|n| n.to_string()).ok(), Some("10.0.0.0/16".into()));
        assert_eq!(check_subnet(&subnet("10.1.2.16/28")).map(|n| n.to_string()).ok(), Some("10.1.2.16/28".into()));
        for bad in ["10.0.0.0/8", "10.0.0.0/15", "10.0.0.0/29", "192.168.0.0/30", "2001:db8::/64", "not-a-cidr"] {
            let e = check_subnet(&subnet(bad)).expect_err(bad);
            assert!(matches!(e, DriverError::Rejected(_)), "{bad}: {e:?}");
        }
    }
}
