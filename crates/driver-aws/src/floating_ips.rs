//! Floating IPs as Elastic IPs: an address allocated in the region (tagged with the
//! floating IP's id) and associated with the port's ENI at its fixed address. AWS gives the
//! public address itself; it is what `ensure_floating_ip` returns. As on AWS, an association
//! needs the port's VPC to reach the internet: the router named by the floating IP must have
//! its gateway on the port's network first (until then the sync skips it as not realised).

use aws_sdk_ec2::types::{Address, DomainType, ResourceType};
use hybridstack_driver::{DriverError, FloatingIpSpec};

use crate::errors::aws;
use crate::{tag_value, AwsCloud, TAG_ID};

pub(crate) const FLOATING_IP: &str = "floatingip";

impl AwsCloud {
    async fn addresses(&self, id: Option<&str>) -> Result<Vec<Address>, DriverError> {
        let out = self
            .ec2
            .describe_addresses()
            .set_filters(Some(self.ours(FLOATING_IP, id)))
            .send()
            .await
            .map_err(|e| aws("listing Elastic IPs", e))?;
        Ok(out.addresses().to_vec())
    }

    pub(crate) async fn ensure_eip(&self, f: &FloatingIpSpec) -> Result<String, DriverError> {
        let _held = self.lock(format!("fip:{}", f.id)).await;
        let eni = self.eni_of(&f.port_id).await?.ok_or_else(|| {
            DriverError::NotFound(format!("port {} is not realised on cloud {}", f.port_id, self.name))
        })?;
        if self.gateway_of(&f.router_id, &f.fixed_network_id).await?.is_none() {
            return Err(DriverError::NotFound(format!(
                "router {} does not route network {} to the internet on cloud {} yet",
                f.router_id, f.fixed_network_id, self.name
            )));
        }
        let addr = match self.addresses(Some(&f.id)).await?.into_iter().next() {
            Some(a) => a,
            None => {
                let out = self
                    .ec2
                    .allocate_address()
                    .domain(DomainType::Vpc)
                    .tag_specifications(self.tag_spec(ResourceType::ElasticIp, &f.id, FLOATING_IP, &f.id, &[]))
                    .send()
                    .await
                    .map_err(|e| aws("allocating an Elastic IP", e))?;
                Address::builder()
                    .set_allocation_id(out.allocation_id().map(str::to_string))
                    .set_public_ip(out.public_ip().map(str::to_string))
                    .build()
            }
        };
        let eni_id = eni.network_interface_id().unwrap_or_default();
        let bound = addr.network_interface_id() == Some(eni_id)
            && addr.private_ip_address() == Some(f.fixed_ip_address.as_str());
        if !bound {
            self.ec2
                .associate_address()
                .set_allocation_id(addr.allocation_id().map(str::to_string))
                .network_interface_id(eni_id)
                .private_ip_address(&f.fixed_ip_address)
                .allow_reassociation(true)
                .send()
                .await
                .map_err(|e| aws("associating the Elastic IP", e))?;
        }
        Ok(addr.public_ip().unwrap_or_default().to_string())
    }

    pub(crate) async fn delete_eip(&self, id: &str) -> Result<(), DriverError> {
        let _held = self.lock(format!("fip:{id}")).await;
        for a in self.addresses(Some(id)).await? {
            if let Some(assoc) = a.association_id() {
                match self.ec2.disassociate_address().association_id(assoc).send().await {
                    Ok(_) => {}
                    Err(e) => match aws("disassociating an Elastic IP", e) {
                        DriverError::NotFound(_) => {}
                        other => return Err(other),
                    },
                }
            }
            match self.ec2.release_address().set_allocation_id(a.allocation_id().map(str::to_string)).send().await {
                Ok(_) => {}
                Err(e) => match aws("releasing an Elastic IP", e) {
                    DriverError::NotFound(_) => {}
                    other => return Err(other),
                },
            }
        }
        Ok(())
    }

    pub(crate) async fn owned_eips(&self) -> Result<Vec<(String, String)>, DriverError> {
        Ok(self
            .addresses(None)
            .await?
            .iter()
            .filter_map(|a| Some((tag_value(a.tags(), TAG_ID)?, a.allocation_id().unwrap_or_default().to_string())))
            .collect())
    }
}
