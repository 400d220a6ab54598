//! Rebuilding a VM from an image (Nova's rebuild): the VM, its NICs and volumes stay, its
//! root disk is replaced by a copy of the new image's datastore copy grown to the flavor's
//! size, and its config drive is written again (the name, metadata and key may have
//! changed). Each step redone on a retry gives the same VM.

use hybridstack_driver::{DriverError, ServerSpec};

use crate::servers::{directory_of, vm_dir, ROOT_DISK};
use crate::xml::Xml;
use crate::VsphereCloud;

impl VsphereCloud {
    pub(crate) async fn rebuild_vm(&self, s: &ServerSpec) -> Result<(), DriverError> {
        if s.root_volume.is_some() {
            return Err(DriverError::Rejected(format!(
                "server {} boots from a volume: a vCenter cloud rebuilds only servers with their own root disk",
                s.id
            )));
        }
        let vm = self.find_vm(&s.id).await?.ok_or_else(|| DriverError::NotFound(format!("VM of server {}", s.id)))?;
        self.power_off(&vm).await?;
        if let Some(key) = vm.root_key {
            self.remove_disk_device(&vm, key, "take the old root disk off").await?;
        }
        let root = format!("{}/{ROOT_DISK}", directory_of(&vm.vmx));
        self.delete_vmdk(&root).await?;
        let kb = self.root_disk_at(s, &root).await?;
        let vm = self.find_vm(&s.id).await?.ok_or_else(|| DriverError::NotFound(format!("VM of server {}", s.id)))?;
        self.attach_root(&vm, &root, kb).await?;
        self.write_config_drive(&vm_dir(&vm), s).await?;
        if s.start {
            self.task(&vm.mor, "PowerOnVM_Task", Xml::new(), "power on").await?;
        }
        Ok(())
    }
}
