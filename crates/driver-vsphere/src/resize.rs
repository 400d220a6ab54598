//! Resizing a VM, with Nova's confirm and revert. A resize powers the VM off, keeps a copy
//! of its root disk beside it (`root.pre-resize.vmdk`, the first copy kept when a crashed
//! attempt runs again), grows the disk to the new flavor's size and sets its CPUs and memory
//! (ReconfigVM_Task). Confirming removes the copy; reverting puts the copy back in the disk's
//! place and sets the old flavor's CPUs and memory. A disk never shrinks: vCenter cannot.

use hybridstack_driver::{DriverError, ServerSpec};

use crate::servers::{directory_of, Vm, ROOT_DISK};
use crate::xml::Xml;
use crate::VsphereCloud;

const BACKUP: &str = "root.pre-resize.vmdk";

impl VsphereCloud {
    async fn require_vm(&self, id: &str) -> Result<Vm, DriverError> {
        self.find_vm(id).await?.ok_or_else(|| DriverError::NotFound(format!("VM of server {id}")))
    }

    async fn set_size(&self, vm: &Vm, s: &ServerSpec) -> Result<(), DriverError> {
        let spec = Xml::new().text("numCPUs", s.vcpus.to_string()).text("memoryMB", s.ram_mb.to_string());
        self.task(&vm.mor, "ReconfigVM_Task", Xml::new().node("spec", spec), "set CPUs and memory").await?;
        Ok(())
    }

    pub(crate) async fn resize_vm(&self, s: &ServerSpec) -> Result<(), DriverError> {
        let vm = self.require_vm(&s.id).await?;
        self.power_off(&vm).await?;
        if s.root_volume.is_none() {
            let dir = directory_of(&vm.vmx).to_string();
            let (root, backup) = (format!("{dir}/{ROOT_DISK}"), format!("{dir}/{BACKUP}"));
            if !self.disk_exists(&backup).await? {
                self.copy_disk(&root, &backup).await?;
            }
            let have = self.disk_kb(&root).await?;
            let want = s.disk_gb << 20;
            if want > have {
                self.grow_root(&vm, &root, want).await?;
            }
        }
        self.set_size(&vm, s).await?;
        if s.start {
            self.task(&vm.mor, "PowerOnVM_Task", Xml::new(), "power on").await?;
        }
        Ok(())
    }

    /// Grows the attached root disk (an edit of its device: the disk's file and the size the
    /// VM reports follow together).
    async fn grow_root(&self, vm: &Vm, root: &str, kb: u64) -> Result<(), DriverError> {
        let key = vm.root_key.ok_or_else(|| DriverError::Failed(format!("VM {} has no root disk", vm.mor.value)))?;
        let controller =
            vm.controller.ok_or_else(|| DriverError::Failed(format!("VM {} has no SCSI controller", vm.mor.value)))?;
        let disk = crate::volumes::disk_device(key, root, controller, 0, kb, Some("Hard disk 1"));
        let spec = Xml::new()
            .node("deviceChange", Xml::new().text("operation", "edit").typed_node("device", "VirtualDisk", disk));
        self.task(&vm.mor, "ReconfigVM_Task", Xml::new().node("spec", spec), "grow the root disk").await?;
        // vCenter grows the file with the edit; the simulator keeps the file as it was. Where
        // the descriptor still says the old size, the file is grown as an unattached disk is.
        self.grow_to(root, kb).await.map(|_| ())
    }

    pub(crate) async fn confirm_resize_vm(&self, id: &str) -> Result<(), DriverError> {
        let vm = self.require_vm(id).await?;
        let backup = format!("{}/{BACKUP}", directory_of(&vm.vmx));
        self.delete_vmdk(&backup).await
    }

    pub(crate) async fn revert_resize_vm(&self, s: &ServerSpec) -> Result<(), DriverError> {
        let vm = self.require_vm(&s.id).await?;
        self.power_off(&vm).await?;
        let dir = directory_of(&vm.vmx).to_string();
        let (root, backup) = (format!("{dir}/{ROOT_DISK}"), format!("{dir}/{BACKUP}"));
        if self.disk_exists(&backup).await? {
            if let Some(key) = vm.root_key {
                self.remove_disk_device(&vm, key, "take the grown disk off").await?;
            }
            self.copy_disk(&backup, &root).await?;
            let vm = self.require_vm(&s.id).await?;
            let kb = self.disk_kb(&root).await?;
            self.attach_root(&vm, &root, kb).await?;
            self.delete_vmdk(&backup).await?;
        }
        self.set_size(&vm, s).await?;
        if s.start {
            self.task(&vm.mor, "PowerOnVM_Task", Xml::new(), "power on").await?;
        }
        Ok(())
    }
}
