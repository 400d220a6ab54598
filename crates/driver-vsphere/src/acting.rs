//! The engine's traits over a vCenter cloud: the calls that change it. Servers go to
//! `servers.rs`; what is not built yet says so ("not supported by this cloud") instead of
//! pretending.

use std::path::Path;

use async_trait::async_trait;
use hybridstack_driver::{
    DriverError, FloatingIpSpec, Foreign, NetworkSpec, Owned, OwnedServer, OwnedVolume, PortSpec, PowerAction,
    PowerState, RouterSpec, SecurityGroupSpec, ServerSpec, VolumeSpec,
};
use hybridstack_driver_act::{BlockStorage, Compute, Network, Ownership};

use crate::VsphereCloud;

fn not_yet(what: &str) -> DriverError {
    DriverError::NotSupported(format!("{what} on a vCenter cloud is not built yet"))
}

#[async_trait]
impl Compute for VsphereCloud {
    async fn ensure_server(&self, s: &ServerSpec) -> Result<(), DriverError> {
        VsphereCloud::ensure_vm(self, s).await
    }

    async fn delete_server(&self, id: &str) -> Result<(), DriverError> {
        VsphereCloud::delete_vm(self, id).await
    }

    async fn power(&self, id: &str, action: PowerAction) -> Result<(), DriverError> {
        VsphereCloud::vm_power(self, id, action).await
    }

    async fn power_state(&self, id: &str) -> Result<PowerState, DriverError> {
        VsphereCloud::vm_power_state(self, id).await
    }

    async fn rebuild(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.rebuild_vm(s).await
    }

    async fn resize(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.resize_vm(s).await
    }

    async fn confirm_resize(&self, id: &str) -> Result<(), DriverError> {
        self.confirm_resize_vm(id).await
    }

    async fn revert_resize(&self, s: &ServerSpec) -> Result<(), DriverError> {
        self.revert_resize_vm(s).await
    }

    /// Images of a vCenter cloud are made on its datastore (`snapshot_to_cloud_image`).
    async fn snapshot(&self, id: &str, _dest: &Path) -> Result<(), DriverError> {
        Err(DriverError::NotSupported(format!(
            "server {id}: a vCenter cloud makes images on its datastore, not as local files"
        )))
    }

    async fn snapshot_to_cloud_image(&self, id: &str, image_id: &str, _name: &str) -> Result<String, DriverError> {
        self.server_to_image(id, image_id).await
    }

    async fn list_owned(&self) -> Result<Vec<OwnedServer>, DriverError> {
        VsphereCloud::owned_vms(self).await
    }
}

#[async_trait]
impl Network for VsphereCloud {
    async fn ensure_network(&self, n: &NetworkSpec) -> Result<String, DriverError> {
        self.ensure_port_group(n).await
    }

    async fn delete_network(&self, id: &str) -> Result<(), DriverError> {
        self.delete_port_group(id).await
    }

    /// A port is a NIC its server's VM gets at creation; here it only needs its network.
    async fn ensure_port(&self, p: &PortSpec) -> Result<String, DriverError> {
        self.port_group_of(&p.network_id)
            .await?
            .map(|pg| pg.key)
            .ok_or_else(|| DriverError::NotFound(format!("network {} is not realised on this cloud", p.network_id)))
    }

    /// Nothing filters a port here (security groups are off in the capabilities).
    async fn refresh_port(&self, _p: &PortSpec) -> Result<(), DriverError> {
        Ok(())
    }

    /// The NIC goes with its VM.
    async fn delete_port(&self, _id: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn ensure_security_group(&self, g: &SecurityGroupSpec) -> Result<String, DriverError> {
        Err(DriverError::NotSupported(format!(
            "security group {}: a vCenter cloud's distributed switch filters no traffic per port",
            g.id
        )))
    }

    async fn delete_security_group(&self, _id: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn ensure_router(&self, _r: &RouterSpec) -> Result<String, DriverError> {
        Err(not_yet("a router"))
    }

    /// Never made here, so nothing to remove.
    async fn delete_router(&self, _id: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn ensure_floating_ip(&self, _f: &FloatingIpSpec) -> Result<String, DriverError> {
        Err(not_yet("a floating IP"))
    }

    /// Never made here, so nothing to remove.
    async fn delete_floating_ip(&self, _id: &str) -> Result<(), DriverError> {
        Ok(())
    }

    async fn list_owned(&self) -> Result<Vec<Owned>, DriverError> {
        self.owned_port_groups().await
    }
}

#[async_trait]
impl BlockStorage for VsphereCloud {
    async fn ensure_volume(&self, v: &VolumeSpec) -> Result<(), DriverError> {
        self.ensure_vmdk(v).await
    }

    async fn delete_volume(&self, id: &str) -> Result<(), DriverError> {
        self.delete_vmdk_volume(id).await
    }

    async fn extend_volume(&self, id: &str, size_gb: u64) -> Result<(), DriverError> {
        self.extend_vmdk(id, size_gb).await
    }

    async fn ensure_snapshot(&self, snapshot_id: &str, volume_id: &str) -> Result<(), DriverError> {
        self.snapshot_vmdk(snapshot_id, volume_id).await
    }

    async fn delete_snapshot(&self, id: &str) -> Result<(), DriverError> {
        self.delete_snapshot_vmdk(id).await
    }

    async fn attach_volume(
        &self,
        server_id: &str,
        volume_id: &str,
        device: Option<&str>,
    ) -> Result<String, DriverError> {
        self.attach_vmdk(server_id, volume_id, device).await
    }

    async fn detach_volume(&self, server_id: &str, volume_id: &str) -> Result<(), DriverError> {
        self.detach_vmdk(server_id, volume_id).await
    }

    async fn volume_to_file(&self, id: &str, dest: &Path) -> Result<(), DriverError> {
        self.vmdk_to_file(id, dest).await
    }

    async fn volume_to_cloud_image(&self, volume_id: &str, image_id: &str, _name: &str) -> Result<String, DriverError> {
        self.volume_to_image(volume_id, image_id).await
    }

    async fn list_owned_volumes(&self) -> Result<Vec<OwnedVolume>, DriverError> {
        self.owned_vmdks().await
    }
}

#[async_trait]
impl Ownership for VsphereCloud {
    async fn adopt(&self, o: &Foreign) -> Result<(), DriverError> {
        Err(DriverError::Rejected(format!(
            "{} {}: no vCenter object predates installation ids, so none is adopted",
            o.kind, o.reference
        )))
    }
}
