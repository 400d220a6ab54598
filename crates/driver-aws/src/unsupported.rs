//! What AWS clouds do not map yet: VPC networking and EBS volumes. Every call that would make
//! something answers "not supported by this cloud"; since nothing is ever made, the deletes
//! have nothing to remove (they succeed, as deletes of absent objects do) and there is
//! nothing of ours to list.

use std::path::Path;

use async_trait::async_trait;
use hybridstack_driver::{
    BlockStorage, DriverError, FloatingIpSpec, Network, NetworkCapabilities, NetworkSpec, Owned, OwnedVolume, PortSpec,
    RouterSpec, SecurityGroupSpec, VolumeCapabilities, VolumeSpec,
};

use crate::AwsCloud;

fn vpc() -> DriverError {
    DriverError::NotSupported("networks (VPC) are not mapped on AWS clouds yet".into())
}

fn ebs() -> DriverError {
    DriverError::NotSupported("volumes (EBS) are not mapped on AWS clouds yet".into())
}

#[async_trait]
impl Network for AwsCloud {
    fn capabilities(&self) -> NetworkCapabilities {
        NetworkCapabilities::default()
    }

    async fn ensure_network(&self, _: &NetworkSpec) -> Result<String, DriverError> {
        Err(vpc())
    }

    async fn delete_network(&self, _: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn ensure_port(&self, _: &PortSpec) -> Result<String, DriverError> {
        Err(vpc())
    }

    async fn refresh_port(&self, _: &PortSpec) -> Result<(), DriverError> {
        Ok(())
    }

    async fn delete_port(&self, _: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn ensure_security_group(&self, _: &SecurityGroupSpec) -> Result<String, DriverError> {
        Err(vpc())
    }

    async fn delete_security_group(&self, _: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn ensure_router(&self, _: &RouterSpec) -> Result<String, DriverError> {
        Err(vpc())
    }

    async fn delete_router(&self, _: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn ensure_floating_ip(&self, _: &FloatingIpSpec) -> Result<String, DriverError> {
        Err(vpc())
    }

    async fn delete_floating_ip(&self, _: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn list_owned(&self) -> Result<Vec<Owned>, DriverError> {
        Ok(vec![])
    }
}

#[async_trait]
impl BlockStorage for AwsCloud {
    fn volume_capabilities(&self) -> VolumeCapabilities {
        VolumeCapabilities::default()
    }

    async fn ensure_volume(&self, _: &VolumeSpec) -> Result<(), DriverError> {
        Err(ebs())
    }

    async fn delete_volume(&self, _: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn extend_volume(&self, _: &str, _: u64) -> Result<(), DriverError> {
        Err(ebs())
    }

    async fn ensure_snapshot(&self, _: &str, _: &str) -> Result<(), DriverError> {
        Err(ebs())
    }

    async fn delete_snapshot(&self, _: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn attach_volume(&self, _: &str, _: &str, _: Option<&str>) -> Result<String, DriverError> {
        Err(ebs())
    }

    async fn detach_volume(&self, _: &str, _: &str) -> Result<(), DriverError> {
        Err(ebs())
    }

    async fn volume_to_file(&self, _: &str, _: &Path) -> Result<(), DriverError> {
        Err(ebs())
    }

    async fn list_owned_volumes(&self) -> Result<Vec<OwnedVolume>, DriverError> {
        Ok(vec![])
    }
}
