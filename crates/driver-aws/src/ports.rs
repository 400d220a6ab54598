//! Ports as ENIs: an elastic network interface in the port's subnet, with the port's fixed
//! addresses (the first primary, the rest secondary) and its security groups, tagged with the
//! port's id. A server launches with its ports' ENIs, so its addresses are the ones Neutron
//! gave out. AWS chooses the MAC itself; Neutron's is not carried over.

use aws_sdk_ec2::types::{NetworkInterface, NetworkInterfaceStatus, PrivateIpAddressSpecification, ResourceType};
use hybridstack_driver::{DriverError, PortSpec};

use crate::errors::aws;
use crate::AwsCloud;

pub(crate) const PORT: &str = "port";

impl AwsCloud {
    pub(crate) async fn eni_of(&self, port_id: &str) -> Result<Option<NetworkInterface>, DriverError> {
        let out = self
            .ec2
            .describe_network_interfaces()
            .set_filters(Some(self.ours(PORT, Some(port_id))))
            .send()
            .await
            .map_err(|e| aws("looking up a network interface", e))?;
        Ok(out.network_interfaces().first().cloned())
    }

    pub(crate) async fn all_enis(&self) -> Result<Vec<NetworkInterface>, DriverError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .ec2
                .describe_network_interfaces()
                .set_filters(Some(self.ours(PORT, None)))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws("listing network interfaces", e))?;
            out.extend(page.network_interfaces().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// The AWS groups the port's ENI belongs in, each made or converged in the VPC.
    async fn port_groups(&self, vpc_id: &str, p: &PortSpec) -> Result<Vec<String>, DriverError> {
        if !p.port_security_enabled {
            return Ok(vec![self.vpc_group(vpc_id, true).await?]);
        }
        let mut out = Vec::new();
        for g in &p.security_groups {
            out.push(self.ensure_group_in(vpc_id, g).await?);
        }
        if out.is_empty() {
            out.push(self.vpc_group(vpc_id, false).await?);
        }
        out.sort();
        Ok(out)
    }

    pub(crate) async fn ensure_eni(&self, p: &PortSpec) -> Result<String, DriverError> {
        let _held = self.lock(format!("port:{}", p.id)).await;
        let v4: Vec<&(String, String)> = p.fixed_ips.iter().filter(|(_, a)| !a.contains(':')).collect();
        if p.fixed_ips.len() != v4.len() {
            return Err(DriverError::Rejected(format!(
                "port {}: IPv6 addresses of our choosing cannot be given to an AWS network interface",
                p.id
            )));
        }
        let Some((subnet_id, _)) = v4.first() else {
            return Err(DriverError::Rejected(format!(
                "port {}: an AWS network interface needs an IPv4 address",
                p.id
            )));
        };
        if v4.iter().any(|(s, _)| s != subnet_id) {
            return Err(DriverError::Rejected(format!(
                "port {}: an AWS network interface lives in one subnet, and the port has addresses in several",
                p.id
            )));
        }
        let subnet = self.aws_subnet(subnet_id).await?;
        let vpc_id = subnet.vpc_id().unwrap_or_default().to_string();
        let groups = self.port_groups(&vpc_id, p).await?;
        let eni = match self.eni_of(&p.id).await? {
            Some(e) => e,
            None => {
                let ips = v4.iter().enumerate().map(|(i, (_, a))| {
                    PrivateIpAddressSpecification::builder().private_ip_address(a).primary(i == 0).build()
                });
                let out = self
                    .ec2
                    .create_network_interface()
                    .subnet_id(subnet.subnet_id().unwrap_or_default())
                    .set_private_ip_addresses(Some(ips.collect()))
                    .set_groups(Some(groups.clone()))
                    .tag_specifications(self.tag_spec(ResourceType::NetworkInterface, &p.id, PORT, &p.id, &[]))
                    .send()
                    .await
                    .map_err(|e| aws(&format!("creating the network interface of port {}", p.id), e))?;
                out.network_interface()
                    .cloned()
                    .ok_or_else(|| DriverError::Failed("CreateNetworkInterface gave no interface".into()))?
            }
        };
        let eni_id = eni.network_interface_id().unwrap_or_default().to_string();
        self.converge_eni(&eni, &groups, p).await?;
        Ok(eni_id)
    }

    /// The ENI's groups and source/destination check as the port wants them: the check is
    /// off where the port may send from other addresses (no port security, address pairs).
    async fn converge_eni(&self, eni: &NetworkInterface, groups: &[String], p: &PortSpec) -> Result<(), DriverError> {
        let eni_id = eni.network_interface_id().unwrap_or_default();
        let mut have: Vec<String> = eni.groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect();
        have.sort();
        if have != groups {
            self.ec2
                .modify_network_interface_attribute()
                .network_interface_id(eni_id)
                .set_groups(Some(groups.to_vec()))
                .send()
                .await
                .map_err(|e| aws("setting the interface's security groups", e))?;
        }
        let check = p.port_security_enabled && p.allowed_address_pairs.is_empty();
        if eni.source_dest_check() != Some(check) {
            self.ec2
                .modify_network_interface_attribute()
                .network_interface_id(eni_id)
                .source_dest_check(aws_sdk_ec2::types::AttributeBooleanValue::builder().value(check).build())
                .send()
                .await
                .map_err(|e| aws("setting the interface's source/destination check", e))?;
        }
        Ok(())
    }

    /// A held port's groups and rules brought up to date; a port not held is left alone.
    pub(crate) async fn refresh_eni(&self, p: &PortSpec) -> Result<(), DriverError> {
        let Some(eni) = self.eni_of(&p.id).await? else { return Ok(()) };
        let vpc_id = eni.vpc_id().unwrap_or_default().to_string();
        let groups = self.port_groups(&vpc_id, p).await?;
        self.converge_eni(&eni, &groups, p).await
    }

    /// Deletes the port's ENI, detaching it first from an instance that still holds it.
    pub(crate) async fn delete_eni(&self, port_id: &str) -> Result<(), DriverError> {
        let _held = self.lock(format!("port:{port_id}")).await;
        let Some(eni) = self.eni_of(port_id).await? else { return Ok(()) };
        let eni_id = eni.network_interface_id().unwrap_or_default().to_string();
        // An ENI still shown on a terminated instance is released with it (the moto server
        // keeps showing the attachment; AWS lets it go): it is deleted as it is.
        let holder_gone = match eni.attachment().and_then(|a| a.instance_id()) {
            Some(instance) => self.instance_terminated(instance).await?,
            None => true,
        };
        if let Some(att) = eni.attachment().and_then(|a| a.attachment_id()).filter(|_| !holder_gone) {
            if eni.status() == Some(&NetworkInterfaceStatus::InUse) {
                self.ec2
                    .detach_network_interface()
                    .attachment_id(att)
                    .force(true)
                    .send()
                    .await
                    .map_err(|e| aws("detaching the network interface", e))?;
            }
        }
        self.wait_until(&format!("port {port_id}: the interface to be let go"), || async {
            Ok(match self.eni_of(port_id).await? {
                None => Some(()),
                Some(_) if holder_gone => Some(()),
                Some(e) if e.status() == Some(&NetworkInterfaceStatus::Available) => Some(()),
                Some(_) => None,
            })
        })
        .await?;
        match self.ec2.delete_network_interface().network_interface_id(&eni_id).send().await {
            Ok(_) => Ok(()),
            Err(e) => match aws("deleting the network interface", e) {
                DriverError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn instance_terminated(&self, instance_id: &str) -> Result<bool, DriverError> {
        match self.ec2.describe_instances().instance_ids(instance_id).send().await {
            Ok(out) => Ok(out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .all(|i| i.state().and_then(|s| s.name()).is_some_and(|n| n.as_str() == "terminated"))),
            Err(e) => match aws("looking up the interface's instance", e) {
                DriverError::NotFound(_) => Ok(true),
                other => Err(other),
            },
        }
    }
}
