//! block_device_mapping_v2 at server create (boot from volume): the API's mappings checked
//! and turned into the server's block devices, and the records the create saga's `volumes`
//! step keeps while the engine makes the new volumes on the server's cloud and claims the
//! user's (and undoes both). The volume records of new ones are written by the step, under
//! ids fixed at create, so a step run again after a crash finds what it made.

use hybridstack_driver::VolumeSpec;

use super::model::{BlockDevice, NewVolume, Server};
use super::Compute;
use crate::policy::RequestContext;
use crate::volume::model::{Attachment, Volume};
use crate::CoreError;

/// One entry of block_device_mapping_v2, as the API parsed it.
#[derive(Debug, Clone, Default)]
pub struct BlockDeviceRequest {
    /// image, volume, snapshot or blank
    pub source_type: String,
    /// volume or local
    pub destination_type: String,
    pub uuid: Option<String>,
    pub boot_index: Option<i64>,
    pub volume_size: Option<u64>,
    pub delete_on_termination: bool,
    pub device_name: Option<String>,
    pub volume_type: Option<String>,
}

/// What the mappings come to: the image to boot from (empty when the root is a volume), the
/// cloud the volumes pin the server to (a cloud name answers as a zone), and its block devices with what to make of each.
pub(crate) struct BootPlan {
    pub image_ref: String,
    pub zone: Option<String>,
    pub devices: Vec<BlockDevice>,
    /// The image whose boot properties (kernel, ramdisk, command line) a volume root uses.
    pub boot_image: Option<String>,
}

fn bad(m: String) -> CoreError {
    CoreError::BadRequest(m)
}

/// The device names the mappings ask for, checked, with the root's and the config drive's;
/// named devices go first, so a free one picked for another does not take one.
fn named_devices(bdms: &[BlockDeviceRequest]) -> Result<Vec<String>, CoreError> {
    let mut used: Vec<String> = vec!["vda".into(), "vdb".into()];
    for b in bdms.iter().filter(|b| b.boot_index != Some(0)) {
        if let Some(d) = &b.device_name {
            let name = d.trim_start_matches("/dev/").to_string();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) || used.contains(&name) {
                return Err(bad(format!("The supplied device path ({d}) is invalid or in use.")));
            }
            used.push(name);
        }
    }
    Ok(used)
}

/// The device a mapping's volume is attached at: the root's, the one named, or the next free.
fn device_for(b: &BlockDeviceRequest, boot: bool, used: &mut Vec<String>) -> Result<String, CoreError> {
    if boot {
        return Ok("/dev/vda".to_string());
    }
    if let Some(d) = &b.device_name {
        return Ok(format!("/dev/{}", d.trim_start_matches("/dev/")));
    }
    let d = ('c'..='z')
        .map(|c| format!("vd{c}"))
        .find(|d| !used.contains(d))
        .ok_or_else(|| bad("The server has no free device name.".into()))?;
    used.push(d.clone());
    Ok(format!("/dev/{d}"))
}

/// One mapping's volume: the user's, or one to make, with the zone it pins the server to
/// and, for the root, the image whose boot properties it uses (`Some(None)`: none).
struct Mapped {
    volume_id: String,
    create: Option<NewVolume>,
    zone: Option<String>,
    boot_image: Option<Option<String>>,
}

impl Compute {
    /// Checks the mappings against what exists and the caller may use.
    pub(crate) async fn plan_block_devices(
        &self,
        ctx: &RequestContext,
        image_ref: &str,
        asked_zone: Option<&str>,
        bdms: &[BlockDeviceRequest],
    ) -> Result<BootPlan, CoreError> {
        let mut plan = BootPlan { image_ref: image_ref.to_string(), zone: None, devices: vec![], boot_image: None };
        let mut zones: Vec<String> = Vec::new();
        let boots = bdms.iter().filter(|b| b.boot_index == Some(0)).count();
        if boots > 1 {
            return Err(bad("Only one block device mapping may have boot_index 0.".into()));
        }
        let mut used = named_devices(bdms)?;
        for b in bdms {
            let boot = b.boot_index == Some(0);
            match (b.source_type.as_str(), b.destination_type.as_str()) {
                ("image", "local") if boot => {
                    let uuid = b.uuid.clone().ok_or_else(|| bad("An image mapping needs a uuid.".into()))?;
                    if !plan.image_ref.is_empty() && plan.image_ref != uuid {
                        return Err(bad("imageRef and the boot mapping's image differ.".into()));
                    }
                    plan.image_ref = uuid;
                    continue;
                }
                (_, "local") => {
                    return Err(CoreError::NotSupported(format!(
                        "Block device mapping from {} to local (ephemeral or swap disks) is not supported by \
                         this cloud; use a flavor's disk or a volume.",
                        b.source_type
                    )))
                }
                (_, "volume") => {}
                (s, d) => return Err(bad(format!("Block device mapping from {s} to {d} is invalid."))),
            }
            let device = device_for(b, boot, &mut used)?;
            let m = self.map_volume(ctx, b, boot).await?;
            zones.extend(m.zone);
            if let Some(image) = m.boot_image {
                plan.boot_image = image;
            }
            let (volume_id, new) = (m.volume_id, m.create);
            plan.devices.push(BlockDevice {
                volume_id: volume_id.clone(),
                device,
                boot,
                delete_on_termination: b.delete_on_termination,
                create: new,
            });
        }
        // The volumes' clouds: the server must run on theirs.
        if let Some(first) = zones.first() {
            if zones.iter().any(|z| z != first) {
                return Err(bad("The server's volumes are on different clouds.".into()));
            }
            if let Some(a) = asked_zone.filter(|z| !z.is_empty()) {
                let (zone, host) = a.split_once(':').unwrap_or((a, ""));
                if !self.clouds.answers_to(first, zone) || !(host.is_empty() || host == first) {
                    return Err(bad(format!(
                        "The volumes are in availability zone {} (cloud {first}), not the {a} asked for.",
                        self.clouds.zone_of(first)
                    )));
                }
            }
            plan.zone = Some(first.clone());
        }
        if plan.image_ref.is_empty() && !plan.devices.iter().any(|d| d.boot) {
            return Err(bad("Block Device Mapping is Invalid: boot sequence for the instance and image/block \
                 device mapping combination is not valid (give imageRef or a boot volume)."
                .into()));
        }
        if plan.devices.iter().any(|d| d.boot) {
            plan.image_ref = String::new();
        }
        let project = ctx.project_id().ok_or_else(crate::policy::forbidden)?;
        for n in plan.devices.iter().filter_map(|d| d.create.as_ref()) {
            self.volumes.quota_check_volume(project, &n.type_id, n.size).await?;
        }
        Ok(plan)
    }

    /// Where a `… to volume` mapping's volume comes from, checked.
    async fn map_volume(&self, ctx: &RequestContext, b: &BlockDeviceRequest, boot: bool) -> Result<Mapped, CoreError> {
        let uuid = || b.uuid.clone().ok_or_else(|| bad(format!("A {} mapping needs a uuid.", b.source_type)));
        let src = b.source_type.as_str();
        let mut m = Mapped { volume_id: String::new(), create: None, zone: None, boot_image: None };
        if src == "volume" {
            let id = uuid()?;
            let v = self
                .volumes
                .volume_get(ctx, &id)
                .await
                .map_err(|_| bad(format!("Block Device Mapping is Invalid: failed to get volume {id}.")))?;
            if v.status != "available" {
                return Err(bad(format!(
                    "Block Device Mapping is Invalid: volume {id} is {}, not available.",
                    v.status
                )));
            }
            m.zone = Some(v.availability_zone.clone());
            m.boot_image = boot.then(|| v.image_id.clone());
            m.volume_id = id;
            return Ok(m);
        }
        let mut size = b.volume_size;
        let (mut image_id, mut snapshot_id) = (None, None);
        match src {
            "image" => {
                let id = uuid()?;
                let image =
                    self.images.get(ctx, &id).await.map_err(|_| bad(format!("Image {id} could not be found.")))?;
                if image.status != "active" {
                    return Err(bad(format!("Image {id} is not active.")));
                }
                m.boot_image = boot.then(|| Some(id.clone()));
                image_id = Some(id);
            }
            "snapshot" => {
                let id = uuid()?;
                let s = self
                    .volumes
                    .snapshot_get(ctx, &id)
                    .await
                    .map_err(|_| bad(format!("Block Device Mapping is Invalid: failed to get snapshot {id}.")))?;
                if s.status != "available" {
                    return Err(bad(format!("Snapshot {id} is {}, not available.", s.status)));
                }
                if let Some(v) = self.volumes.volume_internal(&s.volume_id).await? {
                    m.zone = Some(v.availability_zone);
                    m.boot_image = boot.then_some(v.image_id);
                }
                size = size.or(Some(s.size));
                snapshot_id = Some(id);
            }
            "blank" => {}
            other => return Err(bad(format!("Block device mapping source_type {other} is invalid."))),
        }
        let size = size.filter(|s| *s > 0).ok_or_else(|| {
            bad(format!("Block Device Mapping is Invalid: a {src} to volume mapping needs volume_size."))
        })?;
        let vtype = self.volumes.type_for_volume(ctx, b.volume_type.as_deref()).await?;
        m.volume_id = crate::clock::new_id();
        m.create = Some(NewVolume {
            volume_id: m.volume_id.clone(),
            size,
            image_id,
            snapshot_id,
            type_id: vtype.id,
            type_name: vtype.name,
        });
        Ok(m)
    }

    /// The spec of a volume the server's create makes on its cloud, its record written first
    /// (kept when it exists, so a step run again finds it).
    pub async fn server_volume_spec(&self, s: &Server, n: &NewVolume) -> Result<VolumeSpec, CoreError> {
        let v = match self.volumes.volume_internal(&n.volume_id).await? {
            Some(v) => v,
            None => self.volumes.record_server_volume(s, n).await?,
        };
        self.volumes.volume_spec(&v).await
    }

    /// Claims a block device's volume for the server, attached at its device; refused when
    /// another server took it meanwhile.
    pub async fn claim_block_device(&self, s: &Server, bd: &BlockDevice) -> Result<(), CoreError> {
        let (server, device) = (s.id.clone(), bd.device.clone());
        let claimed = self
            .volumes
            .modify_volume(&bd.volume_id, move |v| {
                let mine = v.attachments.iter().any(|a| a.server_id == server);
                if v.status == "available" || v.status == "creating" || mine {
                    v.status = "in-use".into();
                    v.attachments = vec![Attachment {
                        id: v.attachments.first().map_or_else(crate::clock::new_id, |a| a.id.clone()),
                        server_id: server.clone(),
                        device: device.clone(),
                        attached_at: crate::clock::now(),
                        reserved: false,
                    }];
                }
            })
            .await?;
        if !claimed.attachments.iter().any(|a| a.server_id == s.id) {
            return Err(CoreError::Conflict(format!(
                "volume {} is {}, no longer available for server {}",
                bd.volume_id, claimed.status, s.id
            )));
        }
        self.note_volume(&s.id, &bd.volume_id).await
    }

    /// Undoes `claim_block_device` (and the record of a volume the create made, once the
    /// engine removed it from the cloud): a made volume's record goes, the user's is freed.
    pub async fn release_block_device(&self, s: &Server, bd: &BlockDevice) -> Result<(), CoreError> {
        if bd.create.is_some() {
            self.volumes.forget_volume(&bd.volume_id).await?;
        } else {
            let server = s.id.clone();
            match self
                .volumes
                .modify_volume(&bd.volume_id, move |v| {
                    if v.attachments.iter().any(|a| a.server_id == server) {
                        v.attachments.clear();
                        v.status = "available".into();
                    }
                })
                .await
            {
                Ok(_) | Err(CoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.forget_volume_of_server(&s.id, &bd.volume_id).await
    }
}

impl crate::volume::Volumes {
    /// Writes the record of a volume a server's create makes (kept when it exists).
    pub(crate) async fn record_server_volume(&self, s: &Server, n: &NewVolume) -> Result<Volume, CoreError> {
        let now = crate::clock::now();
        let v = Volume {
            id: n.volume_id.clone(),
            name: Some(String::new()),
            description: None,
            project_id: s.project_id.clone(),
            user_id: s.user_id.clone(),
            size: n.size,
            status: "creating".into(),
            availability_zone: s.cloud.clone(),
            volume_type: n.type_name.clone(),
            volume_type_id: Some(n.type_id.clone()),
            bootable: n.image_id.is_some(),
            readonly: false,
            metadata: Default::default(),
            snapshot_id: n.snapshot_id.clone(),
            source_volid: None,
            image_id: n.image_id.clone(),
            attachments: vec![],
            created_at: now.clone(),
            updated_at: now,
            error: None,
        };
        self.insert_volume(&v).await?;
        Ok(v)
    }
}
