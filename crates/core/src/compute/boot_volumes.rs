//! block_device_mapping_v2 at server create (boot from volume): the API's mappings checked
//! and turned into the server's block devices, and what the create saga's `volumes` step
//! does with them (make the new volumes on the server's cloud, claim the user's, and undo
//! both). The volume records of new ones are written by the step, under ids fixed at
//! create, so a step run again after a crash finds what it made.

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
/// zone the volumes pin the server to, and its block devices with what to make of each.
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
        let mut used: Vec<String> = vec!["vda".into(), "vdb".into()];
        let boots = bdms.iter().filter(|b| b.boot_index == Some(0)).count();
        if boots > 1 {
            return Err(bad("Only one block device mapping may have boot_index 0.".into()));
        }
        // Named devices first, so a free one picked for another does not take it.
        for b in bdms.iter().filter(|b| b.boot_index != Some(0)) {
            if let Some(d) = &b.device_name {
                let name = d.trim_start_matches("/dev/").to_string();
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) || used.contains(&name) {
                    return Err(bad(format!("The supplied device path ({d}) is invalid or in use.")));
                }
                used.push(name);
            }
        }
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
            let device = if boot {
                "/dev/vda".to_string()
            } else if let Some(d) = &b.device_name {
                format!("/dev/{}", d.trim_start_matches("/dev/"))
            } else {
                let d = ('c'..='z')
                    .map(|c| format!("vd{c}"))
                    .find(|d| !used.contains(d))
                    .ok_or_else(|| bad("The server has no free device name.".into()))?;
                used.push(d.clone());
                format!("/dev/{d}")
            };
            let uuid = || b.uuid.clone().ok_or_else(|| bad(format!("A {} mapping needs a uuid.", b.source_type)));
            let (volume_id, new) = match b.source_type.as_str() {
                "volume" => {
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
                    zones.push(v.availability_zone.clone());
                    if boot {
                        plan.boot_image = v.image_id.clone();
                    }
                    (id, None)
                }
                src @ ("image" | "snapshot" | "blank") => {
                    let mut size = b.volume_size;
                    let (mut image_id, mut snapshot_id) = (None, None);
                    match src {
                        "image" => {
                            let id = uuid()?;
                            let image = self
                                .images
                                .get(ctx, &id)
                                .await
                                .map_err(|_| bad(format!("Image {id} could not be found.")))?;
                            if image.status != "active" {
                                return Err(bad(format!("Image {id} is not active.")));
                            }
                            if boot {
                                plan.boot_image = Some(id.clone());
                            }
                            image_id = Some(id);
                        }
                        "snapshot" => {
                            let id = uuid()?;
                            let s = self.volumes.snapshot_get(ctx, &id).await.map_err(|_| {
                                bad(format!("Block Device Mapping is Invalid: failed to get snapshot {id}."))
                            })?;
                            if s.status != "available" {
                                return Err(bad(format!("Snapshot {id} is {}, not available.", s.status)));
                            }
                            if let Some(v) = self.volumes.volume_internal(&s.volume_id).await? {
                                zones.push(v.availability_zone);
                                if boot {
                                    plan.boot_image = v.image_id;
                                }
                            }
                            size = size.or(Some(s.size));
                            snapshot_id = Some(id);
                        }
                        _ => {}
                    }
                    let size = size.filter(|s| *s > 0).ok_or_else(|| {
                        bad(format!("Block Device Mapping is Invalid: a {src} to volume mapping needs volume_size."))
                    })?;
                    let vtype = self.volumes.type_for_volume(ctx, b.volume_type.as_deref()).await?;
                    let id = super::new_id();
                    let new = NewVolume {
                        volume_id: id.clone(),
                        size,
                        image_id,
                        snapshot_id,
                        type_id: vtype.id,
                        type_name: vtype.name,
                    };
                    (id, Some(new))
                }
                other => return Err(bad(format!("Block device mapping source_type {other} is invalid."))),
            };
            plan.devices.push(BlockDevice {
                volume_id: volume_id.clone(),
                device,
                boot,
                delete_on_termination: b.delete_on_termination,
                create: new,
            });
        }
        if let Some(first) = zones.first() {
            if zones.iter().any(|z| z != first) {
                return Err(bad("The server's volumes are in different availability zones.".into()));
            }
            if let Some(a) = asked_zone.map(|z| z.split(':').next().unwrap_or_default()).filter(|z| !z.is_empty()) {
                if a != first {
                    return Err(bad(format!("The volumes are in availability zone {first}, not the {a} asked for.")));
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

    /// The create saga's `volumes` step: makes the new volumes on the server's cloud and
    /// claims the user's, each attached to the server at its device. Returns how many it holds.
    pub async fn realise_block_devices(&self, id: &str) -> Result<usize, CoreError> {
        let s = self.server_internal(id).await?;
        let cloud = self.clouds.require(&s.cloud).await?;
        for bd in &s.block_devices {
            if let Some(n) = &bd.create {
                let v = match self.volumes.volume_internal(&n.volume_id).await? {
                    Some(v) => v,
                    None => self.volumes.record_server_volume(&s, n).await?,
                };
                let spec = self.volumes.volume_spec(&v).await?;
                if let Err(e) = cloud.block.ensure_volume(&spec).await {
                    let _ = cloud.block.delete_volume(&v.id).await;
                    return Err(CoreError::Conflict(format!("volume {} could not be made: {e}", v.id)));
                }
            }
            let (server, device) = (s.id.clone(), bd.device.clone());
            let claimed = self
                .volumes
                .modify_volume(&bd.volume_id, move |v| {
                    let mine = v.attachments.iter().any(|a| a.server_id == server);
                    if v.status == "available" || v.status == "creating" || mine {
                        v.status = "in-use".into();
                        v.attachments = vec![Attachment {
                            id: v.attachments.first().map_or_else(super::new_id, |a| a.id.clone()),
                            server_id: server.clone(),
                            device: device.clone(),
                            attached_at: super::now(),
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
            self.note_volume(&s.id, &bd.volume_id).await?;
        }
        Ok(s.block_devices.len())
    }

    /// Undoes `realise_block_devices`: new volumes are deleted, the user's freed.
    pub async fn unrealise_block_devices(&self, id: &str) -> Result<(), CoreError> {
        let s = self.server_internal(id).await?;
        for bd in s.block_devices.iter().rev() {
            if bd.create.is_some() {
                if !s.cloud.is_empty() {
                    let cloud = self.clouds.require(&s.cloud).await?;
                    cloud.block.delete_volume(&bd.volume_id).await.map_err(|e| {
                        CoreError::Conflict(format!("volume {} could not be removed: {e}", bd.volume_id))
                    })?;
                }
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
            self.forget_volume_of_server(&s.id, &bd.volume_id).await?;
        }
        Ok(())
    }
}

impl crate::volume::Volumes {
    /// Writes the record of a volume a server's create makes (kept when it exists).
    pub(crate) async fn record_server_volume(&self, s: &Server, n: &NewVolume) -> Result<Volume, CoreError> {
        let now = super::now();
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
