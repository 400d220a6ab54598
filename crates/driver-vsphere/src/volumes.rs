//! Cinder volumes as VMDKs on the cloud's datastore, under
//! `hybridstack/<installation>/<cloud>/volumes/<id>.vmdk`, and their snapshots as copies under
//! `…/snapshots/<id>.vmdk`: the path is the mark, so a retried step finds what the first
//! made and the reconciler lists ours by browsing the two directories. A volume is made
//! blank (CreateVirtualDisk_Task), or copied (CopyVirtualDisk_Task) from an image's datastore
//! copy, a snapshot or another volume, and grown (ExtendVirtualDisk_Task) to its size.
//! Attaching adds it to the VM's SCSI controller (hot-plugged where the VM runs); detaching
//! removes the device and keeps the file. A VM's own disks live in its directory, so a
//! volume is never taken for one.

use hybridstack_driver::{DriverError, OwnedVolume, VolumeSource, VolumeSpec};

use crate::datastore;
use crate::servers::Vm;
use crate::xml::{Mor, Node, Xml};
use crate::VsphereCloud;

/// SCSI unit 7 is the controller's own; unit 0 is the root disk.
const DATA_UNITS: [u8; 14] = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15];

/// The device name a guest sees for a SCSI unit (sda is unit 0, the root).
fn device_of(unit: u8) -> String {
    let i = DATA_UNITS.iter().position(|u| *u == unit).unwrap_or(0);
    format!("/dev/sd{}", char::from(b'b' + u8::try_from(i).unwrap_or(0)))
}

fn unit_of(device: &str) -> Option<u8> {
    let letter = device.strip_prefix("/dev/sd")?.bytes().next()?;
    DATA_UNITS.get(usize::from(letter.checked_sub(b'b')?)).copied()
}

impl VsphereCloud {
    fn volumes_dir(&self) -> String {
        format!("[{}] hybridstack/{}/{}/volumes", self.place.datastore_name, self.installation, self.name)
    }

    fn snapshots_dir(&self) -> String {
        format!("[{}] hybridstack/{}/{}/snapshots", self.place.datastore_name, self.installation, self.name)
    }

    pub(crate) fn volume_path(&self, id: &str) -> String {
        format!("{}/{id}.vmdk", self.volumes_dir())
    }

    fn snapshot_path(&self, id: &str) -> String {
        format!("{}/{id}.vmdk", self.snapshots_dir())
    }

    pub(crate) fn disk_manager_ref(&self) -> Result<Mor, DriverError> {
        self.soap.content().virtual_disk_manager.clone().ok_or_else(|| {
            DriverError::NotSupported("this endpoint has no VirtualDiskManager (a lone ESXi host?)".into())
        })
    }

    pub(crate) async fn disk_exists(&self, ds_path: &str) -> Result<bool, DriverError> {
        match datastore::get_text(self, ds_path).await {
            Ok(_) => Ok(true),
            Err(DriverError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn copy_disk(&self, from: &str, to: &str) -> Result<(), DriverError> {
        let copy = Xml::new()
            .text("sourceName", from)
            .mor("sourceDatacenter", &self.place.datacenter)
            .text("destName", to)
            .mor("destDatacenter", &self.place.datacenter)
            .text("force", "true");
        self.task(&self.disk_manager_ref()?, "CopyVirtualDisk_Task", copy, "copy a disk").await.map(|_| ())
    }

    /// Grows a disk to at least `kb` KiB; returns its size.
    pub(crate) async fn grow_to(&self, ds_path: &str, kb: u64) -> Result<u64, DriverError> {
        let have = self.disk_kb(ds_path).await?;
        self.grow_from(ds_path, have, kb).await
    }

    /// Grows a disk known to hold `have` KiB to at least `want`; returns its size.
    pub(crate) async fn grow_from(&self, ds_path: &str, have: u64, want: u64) -> Result<u64, DriverError> {
        if have >= want {
            return Ok(have);
        }
        let extend = Xml::new()
            .text("name", ds_path)
            .mor("datacenter", &self.place.datacenter)
            .text("newCapacityKb", want.to_string())
            .text("eagerZero", "false");
        self.task(&self.disk_manager_ref()?, "ExtendVirtualDisk_Task", extend, "grow a disk").await?;
        Ok(want)
    }

    /// The size of an image's datastore copy, read once: an image never changes.
    pub(crate) async fn image_kb(&self, reference: &str) -> Result<u64, DriverError> {
        if let Some(kb) = self.image_sizes.lock().get(reference) {
            return Ok(*kb);
        }
        let kb = self.disk_kb(reference).await?;
        self.image_sizes.lock().insert(reference.to_string(), kb);
        Ok(kb)
    }

    pub(crate) async fn delete_vmdk(&self, ds_path: &str) -> Result<(), DriverError> {
        let body = Xml::new().text("name", ds_path).mor("datacenter", &self.place.datacenter);
        match self.task(&self.disk_manager_ref()?, "DeleteVirtualDisk_Task", body, "delete a disk").await {
            Ok(_) | Err(DriverError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn ensure_vmdk(&self, v: &VolumeSpec) -> Result<(), DriverError> {
        let path = self.volume_path(&v.id);
        // A descriptor there means an earlier attempt made it whole (copies and uploads write
        // the descriptor last, or as one task).
        if !self.disk_exists(&path).await? {
            datastore::make_directory(self, &self.volumes_dir()).await?;
            match &v.source {
                VolumeSource::Blank => {
                    let spec = Xml::new()
                        .text("diskType", "thin")
                        .text("adapterType", "lsiLogic")
                        .text("capacityKb", (v.size_gb << 20).to_string());
                    let body = Xml::new().text("name", &path).mor("datacenter", &self.place.datacenter).typed_node(
                        "spec",
                        "FileBackedVirtualDiskSpec",
                        spec,
                    );
                    self.task(&self.disk_manager_ref()?, "CreateVirtualDisk_Task", body, "create a disk").await?;
                }
                VolumeSource::Snapshot(s) => self.copy_disk(&self.snapshot_path(s), &path).await?,
                VolumeSource::Volume(src) => self.copy_disk(&self.volume_path(src), &path).await?,
                VolumeSource::CloudImage(reference) => self.copy_disk(reference, &path).await?,
                VolumeSource::Image(file) => {
                    let made = crate::images::flat_vmdk(&file.path, &file.format, &v.id).await?;
                    let flat = format!("{}/{}-flat.vmdk", self.volumes_dir(), v.id);
                    datastore::put_file(self, &flat, &made.extent).await?;
                    datastore::put_file(self, &path, &made.descriptor).await?;
                }
            }
        }
        self.grow_to(&path, v.size_gb << 20).await.map(|_| ())
    }

    pub(crate) async fn delete_vmdk_volume(&self, id: &str) -> Result<(), DriverError> {
        self.delete_vmdk(&self.volume_path(id)).await
    }

    pub(crate) async fn extend_vmdk(&self, id: &str, size_gb: u64) -> Result<(), DriverError> {
        self.grow_to(&self.volume_path(id), size_gb << 20).await.map(|_| ())
    }

    pub(crate) async fn snapshot_vmdk(&self, snapshot_id: &str, volume_id: &str) -> Result<(), DriverError> {
        let path = self.snapshot_path(snapshot_id);
        if self.disk_exists(&path).await? {
            return Ok(());
        }
        datastore::make_directory(self, &self.snapshots_dir()).await?;
        self.copy_disk(&self.volume_path(volume_id), &path).await
    }

    pub(crate) async fn delete_snapshot_vmdk(&self, id: &str) -> Result<(), DriverError> {
        self.delete_vmdk(&self.snapshot_path(id)).await
    }

    /// The VM's data disks: (SCSI unit, file) of every disk on the root's controller but the root.
    fn data_disks(&self, vm: &Vm) -> Vec<(u8, String, i32)> {
        vm.disks.iter().filter(|d| d.unit != 0).map(|d| (d.unit, d.file.clone(), d.key)).collect()
    }

    pub(crate) async fn attach_vmdk(
        &self,
        server_id: &str,
        volume_id: &str,
        device: Option<&str>,
    ) -> Result<String, DriverError> {
        let vm =
            self.find_vm(server_id).await?.ok_or_else(|| DriverError::NotFound(format!("VM of server {server_id}")))?;
        let path = self.volume_path(volume_id);
        let disks = self.data_disks(&vm);
        if let Some((unit, ..)) = disks.iter().find(|(_, f, _)| *f == path) {
            return Ok(device_of(*unit));
        }
        let taken = |u: u8| disks.iter().any(|(d, ..)| *d == u);
        let unit = device
            .and_then(unit_of)
            .filter(|u| !taken(*u))
            .or_else(|| DATA_UNITS.iter().copied().find(|u| !taken(*u)))
            .ok_or_else(|| DriverError::Rejected(format!("server {server_id} has no free SCSI unit for a volume")))?;
        let controller =
            vm.controller.ok_or_else(|| DriverError::Failed(format!("VM {} has no SCSI controller", vm.mor.value)))?;
        let kb = self.disk_kb(&path).await?;
        let disk = disk_device(-102, &path, controller, unit, kb, None);
        let spec = Xml::new()
            .node("deviceChange", Xml::new().text("operation", "add").typed_node("device", "VirtualDisk", disk));
        self.task(&vm.mor, "ReconfigVM_Task", Xml::new().node("spec", spec), "attach a volume").await?;
        Ok(device_of(unit))
    }

    pub(crate) async fn detach_vmdk(&self, server_id: &str, volume_id: &str) -> Result<(), DriverError> {
        let Some(vm) = self.find_vm(server_id).await? else { return Ok(()) };
        let path = self.volume_path(volume_id);
        for (_, file, key) in self.data_disks(&vm) {
            if file == path {
                self.remove_disk_device(&vm, key, "detach a volume").await?;
            }
        }
        Ok(())
    }

    /// Takes a disk off a VM, keeping its file.
    pub(crate) async fn remove_disk_device(&self, vm: &Vm, key: i32, doing: &str) -> Result<(), DriverError> {
        let remove = Xml::new().text("operation", "remove").typed_node(
            "device",
            "VirtualDisk",
            Xml::new().text("key", key.to_string()),
        );
        self.task(&vm.mor, "ReconfigVM_Task", Xml::new().node("spec", Xml::new().node("deviceChange", remove)), doing)
            .await
            .map(|_| ())
    }

    /// Takes every disk that is not the VM's own (volumes) off it, so destroying the VM, which
    /// deletes the files of its disks on vCenter, leaves them.
    pub(crate) async fn release_volumes(&self, vm: &Vm) -> Result<(), DriverError> {
        let own = crate::servers::directory_of(&vm.vmx).to_string();
        for d in vm.disks.iter().filter(|d| !d.file.starts_with(&format!("{own}/"))) {
            self.remove_disk_device(vm, d.key, "keep a volume from the VM's destruction").await?;
        }
        Ok(())
    }

    pub(crate) async fn vmdk_to_file(&self, id: &str, dest: &std::path::Path) -> Result<(), DriverError> {
        // A flat extent is the raw disk.
        datastore::get_file(self, &format!("{}/{id}-flat.vmdk", self.volumes_dir()), dest).await
    }

    pub(crate) async fn owned_vmdks(&self) -> Result<Vec<OwnedVolume>, DriverError> {
        let mut out = Vec::new();
        for (kind, dir) in [("volume", self.volumes_dir()), ("snapshot", self.snapshots_dir())] {
            for name in datastore::vmdks_in(self, &dir).await? {
                if let Some(id) = name.strip_suffix(".vmdk") {
                    out.push(OwnedVolume { kind, id: id.to_string() });
                }
            }
        }
        Ok(out)
    }
}

/// A VirtualDisk device on a SCSI unit, backed by a flat VMDK file (thin), for a device
/// change. `label` names an existing device being edited (vCenter wants its description).
pub(crate) fn disk_device(key: i32, file: &str, controller: i32, unit: u8, kb: u64, label: Option<&str>) -> Xml {
    let backing = Xml::new().text("fileName", file).text("diskMode", "persistent").text("thinProvisioned", "true");
    let mut disk = Xml::new().text("key", key.to_string());
    if let Some(label) = label {
        disk = disk.typed_node("deviceInfo", "Description", Xml::new().text("label", label).text("summary", ""));
    }
    disk.typed_node("backing", "VirtualDiskFlatVer2BackingInfo", backing)
        .text("controllerKey", controller.to_string())
        .text("unitNumber", unit.to_string())
        .text("capacityInKB", kb.to_string())
}

/// A disk device of a VM as read.
#[derive(Debug, Clone)]
pub(crate) struct Disk {
    pub key: i32,
    pub unit: u8,
    pub file: String,
}

/// The disks on the VM's SCSI controllers.
pub(crate) fn disks_of(devices: &[&Node]) -> Vec<Disk> {
    devices
        .iter()
        .filter(|d| d.kind() == "VirtualDisk")
        .filter_map(|d| {
            Some(Disk {
                key: d.text_at(&["key"])?.parse().ok()?,
                unit: d.text_at(&["unitNumber"])?.parse().ok()?,
                file: d.text_at(&["backing", "fileName"])?.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{device_of, unit_of};

    #[test]
    fn devices_skip_the_root_and_the_controllers_unit() {
        assert_eq!(device_of(1), "/dev/sdb");
        assert_eq!(device_of(6), "/dev/sdg");
        assert_eq!(device_of(8), "/dev/sdh");
        assert_eq!(unit_of("/dev/sdh"), Some(8));
        assert_eq!(unit_of("/dev/sda"), None);
        assert_eq!(unit_of("/dev/vdb"), None);
    }
}
