//! Servers as VMs. A VM's `config.instanceUuid` is our server id and its extraConfig names
//! the id, the cloud and the installation; it is found by that id (SearchIndex.FindByUuid)
//! and its marks checked, never by a remembered moref. Creating one is four steps, each
//! found done or redone on a retry: the VM (CPU, memory, a SCSI controller, our marks) in
//! the cloud's folder; its root disk copied from the image's datastore copy into the VM's
//! directory and grown to the flavor's size; the disk attached; the power on.

use std::collections::HashMap;

use hybridstack_driver::{DriverError, Foreign, Maker, OwnedServer, PowerAction, PowerState, ServerSpec};

use crate::collector::{all_of, by_path, properties_of, Object};
use crate::tasks::{wait, wait_for};
use crate::xml::{Mor, Node, Xml};
use crate::{VsphereCloud, KEY_CLOUD, KEY_ID, KEY_INSTALLATION};

/// The root disk's file name in the VM's directory.
pub(crate) const ROOT_DISK: &str = "root.vmdk";
/// The config drive's ISO in the VM's directory.
const CONFIG_DRIVE: &str = "config-2.iso";
/// The file the VM's serial port writes its console to, in the VM's directory.
const CONSOLE_LOG: &str = "console.log";
/// The key the SCSI controller takes in a create spec (negative: assigned by vCenter).
const NEW_CONTROLLER: i32 = -100;
/// The keys NICs take in a create spec: -200, -201…
const NEW_NIC: i32 = -200;
/// How long a graceful shutdown through VMware Tools may take before the VM is powered off.
const SHUTDOWN_GRACE_SECS: u64 = 60;

/// The last value of each extraConfig key: the simulator appends on every reconfigure where
/// vCenter replaces, so the last entry is the current one on both.
pub(crate) fn extra_config(o: &Object) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Some(v) = o.prop("config.extraConfig") {
        for ov in &v.children {
            if let (Some(k), Some(val)) = (ov.text_at(&["key"]), ov.text_at(&["value"])) {
                out.insert(k.to_string(), val.to_string());
            }
        }
    }
    out
}

fn power_of(o: &Object) -> PowerState {
    match o.text("runtime.powerState") {
        Some("poweredOn") => PowerState::Running,
        Some("poweredOff") => PowerState::Shutdown,
        Some("suspended") => PowerState::Suspended,
        _ => PowerState::NoState,
    }
}

/// `[ds] dir/file` split into the datastore path's directory: `[ds] dir`.
/// A device backed by a datastore file, connected at power-on, added to a VM; `tail` holds
/// the fields its type adds after the controller's key.
fn file_device(
    kind: &str,
    backing: &str,
    key: i32,
    file: &str,
    guest_control: bool,
    controller: i32,
    tail: Xml,
) -> Xml {
    let connect = Xml::new()
        .text("startConnected", "true")
        .text("allowGuestControl", guest_control.to_string())
        .text("connected", "true");
    let device = Xml::new()
        .text("key", key.to_string())
        .typed_node("backing", backing, Xml::new().text("fileName", file))
        .node("connectable", connect)
        .text("controllerKey", controller.to_string())
        .append(tail);
    Xml::new().text("operation", "add").typed_node("device", kind, device)
}

/// The VM's directory on the datastore, where its own files are.
pub(crate) fn vm_dir(vm: &Vm) -> String {
    directory_of(&vm.vmx).to_string()
}

pub(crate) fn directory_of(ds_path: &str) -> &str {
    ds_path.rsplit_once('/').map_or(ds_path, |(d, _)| d)
}

fn extra_option(key: &str, value: &str) -> Xml {
    Xml::new().text("key", key).typed_text("value", "xsd:string", value)
}

/// What a VM of ours holds that the create steps look at.
pub(crate) struct Vm {
    pub(crate) mor: Mor,
    pub(crate) power: PowerState,
    pub(crate) vmx: String,
    /// The SCSI controller's key, and whether a disk sits on its unit 0.
    pub(crate) controller: Option<i32>,
    pub(crate) root_attached: bool,
    /// The root disk's device key, when attached.
    pub(crate) root_key: Option<i32>,
    /// Every disk on the VM: its own root and the volumes attached.
    pub(crate) disks: Vec<crate::volumes::Disk>,
    /// The first IDE controller's key (the config drive's CD-ROM goes there), and whether
    /// the drive is attached.
    ide: Option<i32>,
    config_drive_attached: bool,
    /// The SIO controller's key (the serial port's), and whether the console file is there.
    sio: Option<i32>,
    console_attached: bool,
    tools_running: bool,
}

const VM_PROPS: &[&str] = &[
    "runtime.powerState",
    "config.files.vmPathName",
    "config.hardware.device",
    "config.extraConfig",
    "guest.toolsRunningStatus",
];

impl VsphereCloud {
    /// The VM carrying our server `id`, if it is this cloud's of this installation.
    pub(crate) async fn find_vm(&self, id: &str) -> Result<Option<Vm>, DriverError> {
        let si = self.soap.content().search_index.clone();
        let body = Xml::new()
            .mor("datacenter", &self.place.datacenter)
            .text("uuid", id)
            .text("vmSearch", "true")
            .text("instanceUuid", "true");
        let Some(mor) = self.soap.call("FindByUuid", &si, body).await?.as_mor() else { return Ok(None) };
        self.read_vm(mor).await
    }

    /// What a VM of ours holds, read in one call; `None` when it is gone or not ours.
    async fn read_vm(&self, mor: Mor) -> Result<Option<Vm>, DriverError> {
        let o = match properties_of(&self.soap, &mor, VM_PROPS).await {
            Ok(o) => o,
            // Destroyed between the search and the read.
            Err(DriverError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !self.ours(&extra_config(&o)) {
            return Ok(None);
        }
        let devices: Vec<&Node> =
            o.prop("config.hardware.device").map(|d| d.children.iter().collect()).unwrap_or_default();
        let key = |d: &Node| d.text_at(&["key"]).and_then(|k| k.parse::<i32>().ok());
        let controller = devices.iter().find(|d| d.kind().ends_with("SCSIController")).and_then(|d| key(d));
        let backed_by = |kind: &str, file: &str| {
            devices.iter().any(|d| {
                d.kind() == kind
                    && d.text_at(&["backing", "fileName"]).is_some_and(|f| f.ends_with(&format!("/{file}")))
            })
        };
        // The root is whatever sits on SCSI unit 0: the VM's own disk, or a volume it boots from.
        let disks = crate::volumes::disks_of(&devices);
        let root_key = disks.iter().find(|d| d.unit == 0).map(|d| d.key);
        let root_attached = root_key.is_some();
        let config_drive_attached = backed_by("VirtualCdrom", CONFIG_DRIVE);
        let ide = devices.iter().find(|d| d.kind() == "VirtualIDEController").and_then(|d| key(d));
        let sio = devices.iter().find(|d| d.kind() == "VirtualSIOController").and_then(|d| key(d));
        let console_attached = backed_by("VirtualSerialPort", CONSOLE_LOG);
        Ok(Some(Vm {
            power: power_of(&o),
            vmx: o.text("config.files.vmPathName").unwrap_or_default().to_string(),
            tools_running: o.text("guest.toolsRunningStatus") == Some("guestToolsRunning"),
            controller,
            root_attached,
            root_key,
            disks,
            ide,
            config_drive_attached,
            sio,
            console_attached,
            mor,
        }))
    }

    /// The VM folder of this cloud: the configured one under the datacenter's VM folder
    /// (made on first use), else that folder itself.
    pub(crate) async fn vm_folder(&self) -> Result<Mor, DriverError> {
        self.folder
            .get_or_try_init(|| async {
                let Some(name) = &self.cfg.folder else { return Ok(self.place.vm_root.clone()) };
                let path = format!("{}/vm/{}", self.cfg.datacenter, name);
                if let Some(f) = by_path(&self.soap, &path).await? {
                    return Ok(f);
                }
                match self.soap.call_raw("CreateFolder", &self.place.vm_root, Xml::new().text("name", name)).await? {
                    Ok(n) => n.as_mor().ok_or_else(|| DriverError::Failed("CreateFolder returned no folder".into())),
                    // Made by another call meanwhile.
                    Err(f) if f.kind == "DuplicateName" => by_path(&self.soap, &path)
                        .await?
                        .ok_or_else(|| DriverError::Failed(format!("folder {path} exists and cannot be found"))),
                    Err(f) => Err(f.into_driver_error("CreateFolder")),
                }
            })
            .await
            .cloned()
    }

    fn datastore_path(&self, rel: &str) -> String {
        format!("[{}] {rel}", self.place.datastore_name)
    }

    pub(crate) async fn ensure_vm(&self, s: &ServerSpec) -> Result<(), DriverError> {
        if s.kernel.is_some() || s.ramdisk.is_some() {
            return Err(DriverError::NotSupported(
                "direct kernel boot (kernel_id/ramdisk_id): a vCenter VM boots from its disk".into(),
            ));
        }
        let vm = match if s.fresh { None } else { self.find_vm(&s.id).await? } {
            Some(vm) => {
                // Found: a VM an earlier attempt (or an older release) made, brought up to
                // the spec below. Its config drive is written again in case it was not.
                if !vm.config_drive_attached {
                    self.write_config_drive(&vm_dir(&vm), s).await?;
                }
                vm
            }
            None => self.create_vm(s).await?,
        };
        if !vm.root_attached {
            match &s.root_volume {
                Some(v) => {
                    let path = self.volume_path(v);
                    let kb = self.disk_kb(&path).await?;
                    self.attach_root(&vm, &path, kb).await?;
                }
                None => {
                    let dest = format!("{}/{ROOT_DISK}", vm_dir(&vm));
                    let kb = self.root_disk_at(s, &dest).await?;
                    self.attach_root(&vm, &dest, kb).await?;
                }
            }
        }
        for v in &s.volumes {
            self.attach_vmdk(&s.id, &v.volume_id, Some(&v.device)).await?;
        }
        // The CD-ROM and the serial port go on the VM's own IDE and SIO controllers, which
        // exist once it does: one reconfigure for both.
        let mut devices = Vec::new();
        if !vm.config_drive_attached {
            devices.push(self.cdrom_device(&vm)?);
        }
        if !vm.console_attached {
            devices.push(self.serial_device(&vm)?);
        }
        if !devices.is_empty() {
            let spec = Xml::new().nodes("deviceChange", devices);
            self.task(&vm.mor, "ReconfigVM_Task", Xml::new().node("spec", spec), "attach the config drive and console")
                .await?;
        }
        if s.start && vm.power != PowerState::Running {
            self.task(&vm.mor, "PowerOnVM_Task", Xml::new(), "power on").await?;
        }
        Ok(())
    }

    /// Makes the VM whole in one CreateVM_Task: its directory first holds the root disk
    /// (copied from the image and grown, or a volume it boots from) and the config drive, and
    /// the VM is registered there with its SCSI controller, root disk and NICs.
    async fn create_vm(&self, s: &ServerSpec) -> Result<Vm, DriverError> {
        let dir = self.datastore_path(&s.id);
        crate::datastore::make_directory(self, &dir).await?;
        let (root, kb) = match &s.root_volume {
            Some(v) => {
                let path = self.volume_path(v);
                let kb = self.disk_kb(&path).await?;
                (path, kb)
            }
            None => {
                let dest = format!("{dir}/{ROOT_DISK}");
                let kb = self.root_disk_at(s, &dest).await?;
                (dest, kb)
            }
        };
        self.write_config_drive(&dir, s).await?;
        let controller =
            Xml::new().text("key", NEW_CONTROLLER.to_string()).text("busNumber", "0").text("sharedBus", "noSharing");
        let disk = crate::volumes::disk_device(-101, &root, NEW_CONTROLLER, 0, kb, None);
        let nics = self.nic_devices(s).await?;
        let config = Xml::new()
            .text("name", &s.id)
            .text("instanceUuid", &s.id)
            .text("guestId", "otherLinux64Guest")
            .text("annotation", format!("hybridstack server {} ({})", s.name, s.id))
            .node("files", Xml::new().text("vmPathName", format!("{dir}/{}.vmx", s.id)))
            .text("numCPUs", s.vcpus.to_string())
            .text("memoryMB", s.ram_mb.to_string())
            .node(
                "deviceChange",
                Xml::new().text("operation", "add").typed_node("device", "ParaVirtualSCSIController", controller),
            )
            .node("deviceChange", Xml::new().text("operation", "add").typed_node("device", "VirtualDisk", disk))
            .nodes("deviceChange", nics)
            .node("extraConfig", extra_option(KEY_ID, &s.id))
            .node("extraConfig", extra_option(KEY_CLOUD, &self.name))
            .node("extraConfig", extra_option(KEY_INSTALLATION, &self.installation));
        let folder = self.vm_folder().await?;
        let body = Xml::new().node("config", config).mor("pool", &self.place.pool);
        let made = match self.soap.call_raw("CreateVM_Task", &folder, body).await? {
            Ok(task) => {
                let task = task.as_mor().ok_or_else(|| DriverError::Failed("CreateVM_Task returned no task".into()))?;
                match wait(&self.soap, &task, "create VM").await {
                    Ok(result) => result.and_then(|r| r.as_mor()),
                    // A first attempt made it (the step is being retried with fresh unset).
                    Err(DriverError::Rejected(m)) if m.contains("DuplicateName") => None,
                    Err(e) => return Err(e),
                }
            }
            Err(f) => return Err(f.into_driver_error("CreateVM_Task")),
        };
        let vm = match made {
            Some(mor) => self.read_vm(mor).await?,
            None => self.find_vm(&s.id).await?,
        };
        vm.ok_or_else(|| DriverError::Failed(format!("VM {} was created but cannot be found", s.id)))
    }

    /// Copies the image's datastore copy to `dest` and grows it to the flavor's disk;
    /// returns its size in KiB.
    pub(crate) async fn root_disk_at(&self, s: &ServerSpec, dest: &str) -> Result<u64, DriverError> {
        let source = s.cloud_image.as_deref().ok_or_else(|| {
            DriverError::Rejected(format!("server {}: the image has no copy on this cloud's datastore", s.id))
        })?;
        self.copy_disk(source, dest).await?;
        let image_kb = self.image_kb(source).await?;
        self.grow_from(dest, image_kb, s.disk_gb << 20).await
    }

    /// A VMXNET3 NIC per port, on its network's port group, with the port's MAC.
    async fn nic_devices(&self, s: &ServerSpec) -> Result<Vec<Xml>, DriverError> {
        if s.nics.is_empty() {
            return Ok(Vec::new());
        }
        let switch = self.switch().await?;
        let groups = self.port_groups().await?;
        let mut out = Vec::with_capacity(s.nics.len());
        for (i, nic) in s.nics.iter().enumerate() {
            let pg = groups
                .iter()
                .find(|pg| self.ours(&pg.marks) && pg.marks.get(KEY_ID) == Some(&nic.network_id))
                .ok_or_else(|| {
                    DriverError::NotFound(format!("network {} is not realised on this cloud", nic.network_id))
                })?;
            let port = Xml::new().text("switchUuid", &switch.uuid).text("portgroupKey", &pg.key);
            let connect =
                Xml::new().text("startConnected", "true").text("allowGuestControl", "true").text("connected", "true");
            let card = Xml::new()
                .text("key", (NEW_NIC - i32::try_from(i).unwrap_or(0)).to_string())
                .typed_node(
                    "backing",
                    "VirtualEthernetCardDistributedVirtualPortBackingInfo",
                    Xml::new().node("port", port),
                )
                .node("connectable", connect)
                .text("addressType", "manual")
                .text("macAddress", &nic.mac_address);
            out.push(Xml::new().text("operation", "add").typed_node("device", "VirtualVmxnet3", card));
        }
        Ok(out)
    }

    /// Copies the image's disk into the VM's directory (over a partial copy of an earlier
    /// attempt), grows it to the flavor's size and attaches it at SCSI 0:0.
    /// Attaches the root disk file at SCSI 0:0 with its size.
    pub(crate) async fn attach_root(&self, vm: &Vm, file: &str, kb: u64) -> Result<(), DriverError> {
        let controller =
            vm.controller.ok_or_else(|| DriverError::Failed(format!("VM {} has no SCSI controller", vm.mor.value)))?;
        let disk = crate::volumes::disk_device(-101, file, controller, 0, kb, None);
        let spec = Xml::new()
            .node("deviceChange", Xml::new().text("operation", "add").typed_node("device", "VirtualDisk", disk));
        self.task(&vm.mor, "ReconfigVM_Task", Xml::new().node("spec", spec), "attach the root disk").await?;
        Ok(())
    }

    /// Builds the config drive (the cloud has no DHCP: addresses are given statically) and
    /// writes it into the VM's directory `dir`; returns its datastore path.
    pub(crate) async fn write_config_drive(&self, dir: &str, s: &ServerSpec) -> Result<String, DriverError> {
        let work = tempfile::tempdir().map_err(|e| DriverError::Failed(format!("temporary directory: {e}")))?;
        let local = work.path().to_path_buf();
        let spec = s.clone();
        let iso =
            tokio::task::spawn_blocking(move || hybridstack_driver::config_drive::build_iso(&spec, false, &local))
                .await
                .map_err(|e| DriverError::Failed(format!("building the config drive: {e}")))??;
        let dest = format!("{dir}/{CONFIG_DRIVE}");
        crate::datastore::put_file(self, &dest, &iso).await?;
        Ok(dest)
    }

    /// A CD-ROM on the VM's first IDE controller holding the config drive.
    fn cdrom_device(&self, vm: &Vm) -> Result<Xml, DriverError> {
        let ide = vm.ide.ok_or_else(|| DriverError::Failed(format!("VM {} has no IDE controller", vm.mor.value)))?;
        let file = format!("{}/{CONFIG_DRIVE}", vm_dir(vm));
        Ok(file_device(
            "VirtualCdrom",
            "VirtualCdromIsoBackingInfo",
            -300,
            &file,
            true,
            ide,
            Xml::new().text("unitNumber", "0"),
        ))
    }

    /// A serial port writing to a file in the VM's directory: the console output vCenter
    /// keeps for a guest that logs to its serial console (as Nova's vmwareapi driver reads it).
    fn serial_device(&self, vm: &Vm) -> Result<Xml, DriverError> {
        let sio = vm.sio.ok_or_else(|| DriverError::Failed(format!("VM {} has no SIO controller", vm.mor.value)))?;
        let file = format!("{}/{CONSOLE_LOG}", vm_dir(vm));
        let tail = Xml::new().text("yieldOnPoll", "true");
        Ok(file_device("VirtualSerialPort", "VirtualSerialPortFileBackingInfo", -400, &file, false, sio, tail))
    }

    /// The last `lines` lines of the console file; empty while the guest has written none.
    pub(crate) async fn console(&self, id: &str, lines: Option<usize>) -> Result<String, DriverError> {
        let vm = self.find_vm(id).await?.ok_or_else(|| DriverError::NotFound(format!("VM of server {id}")))?;
        let file = format!("{}/{CONSOLE_LOG}", vm_dir(&vm));
        let text = match crate::datastore::get_text(self, &file).await {
            Ok(t) => t,
            Err(DriverError::NotFound(_)) => String::new(),
            Err(e) => return Err(e),
        };
        Ok(match lines {
            Some(n) => {
                let all: Vec<&str> = text.lines().collect();
                all[all.len().saturating_sub(n)..].join("\n")
            }
            None => text,
        })
    }

    /// A virtual disk's size in KiB, from the extent lines of its descriptor (ours: the
    /// image store wrote it), which is exact where the datastore browser's file sizes differ
    /// between vCenter (descriptor and extent shown as one) and the simulator (as two).
    pub(crate) async fn disk_kb(&self, ds_path: &str) -> Result<u64, DriverError> {
        let descriptor = crate::datastore::get_text(self, ds_path).await?;
        Ok(crate::datastore::descriptor_sectors(&descriptor)
            .ok_or_else(|| DriverError::Failed(format!("{ds_path} is not a VMDK descriptor")))?
            .div_ceil(2))
    }

    /// Calls a method that returns a task and waits for it.
    pub(crate) async fn task(
        &self,
        this: &Mor,
        method: &str,
        body: Xml,
        doing: &str,
    ) -> Result<Option<Node>, DriverError> {
        let task = self
            .soap
            .call(method, this, body)
            .await?
            .as_mor()
            .ok_or_else(|| DriverError::Failed(format!("{method} returned no task")))?;
        wait(&self.soap, &task, doing).await
    }

    pub(crate) async fn delete_vm(&self, id: &str) -> Result<(), DriverError> {
        // The VM's directory: where a create put the root disk and the config drive before
        // registering the VM, so it may exist without a VM after a failed create.
        let mut dir = self.datastore_path(id);
        if let Some(vm) = self.find_vm(id).await? {
            if vm.power != PowerState::Shutdown {
                self.task(&vm.mor, "PowerOffVM_Task", Xml::new(), "power off").await?;
            }
            // vCenter deletes the files of a destroyed VM's disks: volumes are taken off first.
            self.release_volumes(&vm).await?;
            dir = vm_dir(&vm);
            match self.task(&vm.mor, "Destroy_Task", Xml::new(), "destroy VM").await {
                Ok(_) | Err(DriverError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        crate::datastore::delete(self, &dir).await
    }

    pub(crate) async fn vm_power_state(&self, id: &str) -> Result<PowerState, DriverError> {
        Ok(self.find_vm(id).await?.ok_or_else(|| DriverError::NotFound(format!("VM of server {id}")))?.power)
    }

    pub(crate) async fn vm_power(&self, id: &str, action: PowerAction) -> Result<(), DriverError> {
        let vm = self.find_vm(id).await?.ok_or_else(|| DriverError::NotFound(format!("VM of server {id}")))?;
        let on = vm.power == PowerState::Running;
        match action {
            PowerAction::Start | PowerAction::Resume if !on => {
                self.task(&vm.mor, "PowerOnVM_Task", Xml::new(), "power on").await?;
            }
            PowerAction::Stop if on => self.power_off(&vm).await?,
            PowerAction::SoftReboot if on && vm.tools_running => {
                self.soap.call("RebootGuest", &vm.mor, Xml::new()).await?;
            }
            // Without VMware Tools in the guest there is no soft reboot: a reset, as Nova's
            // vmwareapi driver does.
            PowerAction::SoftReboot | PowerAction::HardReboot if on => {
                self.task(&vm.mor, "ResetVM_Task", Xml::new(), "reset").await?;
            }
            PowerAction::SoftReboot | PowerAction::HardReboot => {
                self.task(&vm.mor, "PowerOnVM_Task", Xml::new(), "power on").await?;
            }
            PowerAction::Suspend if on => {
                self.task(&vm.mor, "SuspendVM_Task", Xml::new(), "suspend").await?;
            }
            PowerAction::Pause | PowerAction::Unpause => {
                return Err(DriverError::NotSupported(
                    "pause: a vSphere VM has no paused state (suspend it instead)".into(),
                ))
            }
            // Already in the state asked for.
            _ => {}
        }
        Ok(())
    }

    /// Shuts the guest down through VMware Tools when they run, else (or when it does not stop
    /// in time) powers the VM off. A VM already off is left so.
    pub(crate) async fn power_off(&self, vm: &Vm) -> Result<(), DriverError> {
        if vm.power == PowerState::Shutdown {
            return Ok(());
        }
        if vm.power == PowerState::Running && vm.tools_running {
            self.soap.call("ShutdownGuest", &vm.mor, Xml::new()).await?;
            if wait_for(&self.soap, &vm.mor, "runtime.powerState", "poweredOff", SHUTDOWN_GRACE_SECS).await? {
                return Ok(());
            }
        }
        self.task(&vm.mor, "PowerOffVM_Task", Xml::new(), "power off").await?;
        Ok(())
    }

    /// Every VM of the cloud's folder with its marks read.
    async fn marked_vms(&self) -> Result<Vec<(Object, HashMap<String, String>)>, DriverError> {
        let folder = self.vm_folder().await?;
        let vms = all_of(&self.soap, &folder, "VirtualMachine", &["name", "config.extraConfig", "runtime.powerState"])
            .await?;
        Ok(vms
            .into_iter()
            .map(|o| {
                let extra = extra_config(&o);
                (o, extra)
            })
            .filter(|(_, e)| e.keys().any(|k| k.starts_with("hybridstack.")))
            .collect())
    }

    pub(crate) async fn owned_vms(&self) -> Result<Vec<OwnedServer>, DriverError> {
        Ok(self
            .marked_vms()
            .await?
            .into_iter()
            .filter(|(_, e)| self.ours(e))
            .filter_map(|(o, e)| Some(OwnedServer { id: e.get(KEY_ID)?.clone(), power: power_of(&o) }))
            .collect())
    }
}

/// The VMs marked as hybridstack's that are not this cloud's of this installation.
pub(crate) async fn foreign(c: &VsphereCloud) -> Result<Vec<Foreign>, DriverError> {
    Ok(c.marked_vms()
        .await?
        .into_iter()
        .filter(|(_, e)| !c.ours(e))
        .map(|(o, e)| {
            let cloud = e.get(KEY_CLOUD).cloned().unwrap_or_default();
            let maker = match (e.get(KEY_INSTALLATION), cloud.is_empty()) {
                (Some(i), _) => Maker::Installation { installation: i.clone(), cloud },
                (None, false) => Maker::Legacy { cloud },
                (None, true) => Maker::Unmarked,
            };
            Foreign {
                kind: "server",
                id: e.get(KEY_ID).cloned().unwrap_or_default(),
                reference: format!("{} ({})", o.text("name").unwrap_or_default(), o.obj.value),
                maker,
                // vCenter clouds were never marked without installation ids.
                adoptable: false,
            }
        })
        .collect())
}
