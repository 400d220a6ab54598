//! Volumes: create (blank, from an image, a snapshot or another volume), list, show,
//! update, delete, extend, and attach/detach on behalf of compute.

use std::collections::BTreeMap;

use super::model::{Attachment, Snapshot, Volume};
use super::{object, ops, Versioned, Volumes, SNAPSHOT, VOLUME};
use crate::operations::operation_of;
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Default, Clone)]
pub struct VolumeRequest {
    pub size: Option<u64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub volume_type: Option<String>,
    pub availability_zone: Option<String>,
    pub snapshot_id: Option<String>,
    pub source_volid: Option<String>,
    pub image_id: Option<String>,
}

const GIB: u64 = 1 << 30;

impl Volumes {
    pub async fn volume_create(&self, ctx: &RequestContext, r: VolumeRequest) -> Result<Volume, CoreError> {
        ctx.require_member()?;
        let project = ctx.project_id().ok_or_else(crate::policy::forbidden)?.to_string();
        if [&r.snapshot_id, &r.source_volid, &r.image_id].iter().filter(|s| s.is_some()).count() > 1 {
            return Err(CoreError::BadRequest(
                "Only one of snapshot_id, source_volid and imageRef may be given.".into(),
            ));
        }
        let mut zone = None;
        let mut min_size = 1;
        if let Some(id) = &r.snapshot_id {
            let s: Versioned<Snapshot> = self.visible(ctx, SNAPSHOT, "Snapshot", id).await?;
            if s.doc.status != "available" {
                return Err(CoreError::BadRequest(format!("Snapshot {id} is {}, not available.", s.doc.status)));
            }
            let v: Versioned<Volume> = self
                .load(VOLUME, &s.doc.volume_id)
                .await?
                .ok_or_else(|| super::not_found("Volume", &s.doc.volume_id))?;
            zone = Some(v.doc.availability_zone);
            min_size = s.doc.size;
        }
        if let Some(id) = &r.source_volid {
            let v: Versioned<Volume> = self.visible(ctx, VOLUME, "Volume", id).await?;
            if v.doc.status != "available" {
                return Err(CoreError::BadRequest(format!("Source volume {id} is {}, not available.", v.doc.status)));
            }
            zone = Some(v.doc.availability_zone);
            min_size = v.doc.size;
        }
        if let Some(id) = &r.image_id {
            let image = self
                .images
                .image_internal(id)
                .await?
                .filter(|i| i.status == "active")
                .ok_or_else(|| CoreError::BadRequest(format!("Image {id} is not an active image.")))?;
            let bytes = u64::try_from(image.virtual_size.or(image.size).unwrap_or(0)).unwrap_or(0);
            min_size = bytes.div_ceil(GIB).max(1);
        }
        let size = match r.size {
            Some(0) => {
                return Err(CoreError::BadRequest("Invalid input received: size must be greater than 0.".into()))
            }
            Some(s) => s,
            None if r.snapshot_id.is_some() || r.source_volid.is_some() => min_size,
            None => return Err(CoreError::BadRequest("Invalid input received: size is required.".into())),
        };
        if size < min_size {
            return Err(CoreError::BadRequest(format!(
                "Invalid input received: volume size {size} GiB is smaller than its source ({min_size} GiB)."
            )));
        }
        let vtype = self.type_for_volume(ctx, r.volume_type.as_deref()).await?;
        let zone = self.zone_for(&project, r.availability_zone.as_deref(), zone, vtype.zones()).await?;
        self.quota_check_volume(&project, &vtype.id, size).await?;
        let now = crate::clock::now();
        let v = Volume {
            id: crate::clock::new_id(),
            name: r.name,
            description: r.description,
            project_id: project.clone(),
            user_id: ctx.user_id.clone(),
            size,
            status: "creating".into(),
            availability_zone: zone,
            volume_type: vtype.name.clone(),
            volume_type_id: Some(vtype.id.clone()),
            bootable: r.image_id.is_some(),
            readonly: false,
            metadata: r.metadata,
            snapshot_id: r.snapshot_id,
            source_volid: r.source_volid,
            image_id: r.image_id,
            attachments: vec![],
            created_at: now.clone(),
            updated_at: now,
            error: None,
        };
        let op = operation_of(&ops::CreateVolume { volume_id: v.id.clone() })?;
        self.write(vec![object(VOLUME, &v.id, &project, "", &v, None)?], vec![op]).await?;
        Ok(v)
    }

    /// Writes a new volume's record (as is) without an operation: its maker realises it.
    pub(crate) async fn insert_volume(&self, v: &Volume) -> Result<(), CoreError> {
        self.write(vec![object(VOLUME, &v.id, &v.project_id, "", v, None)?], vec![]).await
    }

    /// The cloud a new volume goes to: its source's (a snapshot or volume stays on its
    /// cloud), else one of the zone asked for, else of any zone the type allows; the
    /// project's own cloud first, then by name. A source outside the zone asked for
    /// conflicts, and so does a zone the volume type excludes.
    async fn zone_for(
        &self,
        project: &str,
        asked: Option<&str>,
        source: Option<String>,
        allowed: Option<Vec<String>>,
    ) -> Result<String, CoreError> {
        // Fresh, so a cloud registered since the last look is known with its project and zone.
        self.clouds.refresh().await?;
        let mut clouds = self.clouds.list().await?;
        // Another project's own cloud does not hold this project's volumes.
        clouds.retain(|c| self.clouds.serves(&c.name, project));
        let answers = |cloud: &str, zones: &[String]| zones.iter().any(|z| self.clouds.answers_to(cloud, z));
        if let Some(allowed) = &allowed {
            let refused = match (asked, source.as_deref()) {
                (Some(a), _) if !allowed.iter().any(|z| z == a) => Some(a.to_string()),
                (None, Some(s)) if !answers(s, allowed) => Some(self.clouds.zone_of(s)),
                _ => None,
            };
            if let Some(z) = refused {
                return Err(CoreError::BadRequest(format!(
                    "Invalid input received: the volume type only allows availability zones {}, not {z}.",
                    allowed.join(", ")
                )));
            }
            clouds.retain(|c| answers(&c.name, allowed));
        }
        if let Some(a) = asked {
            clouds.retain(|c| self.clouds.answers_to(&c.name, a));
            if clouds.is_empty() {
                return Err(CoreError::BadRequest(format!(
                    "Invalid input received: availability zone {a} is invalid."
                )));
            }
        }
        match (asked, source) {
            (Some(a), Some(s)) if !self.clouds.answers_to(&s, a) => Err(CoreError::BadRequest(format!(
                "Invalid input received: the source is in availability zone {}, not {a}.",
                self.clouds.zone_of(&s)
            ))),
            (_, Some(s)) => Ok(s),
            (asked, None) => {
                let mut names: Vec<String> = clouds.into_iter().filter(|c| c.error.is_none()).map(|c| c.name).collect();
                // The project's own cloud first, then by name.
                names.sort_by_key(|n| (!self.clouds.dedicated_to(n, project), n.clone()));
                names.into_iter().next().ok_or_else(|| match asked {
                    Some(a) => CoreError::BadRequest(format!(
                        "Invalid input received: no cloud of availability zone {a} can hold volumes now."
                    )),
                    None => CoreError::BadRequest(
                        "No cloud (of those the volume type allows) is registered to hold volumes.".into(),
                    ),
                })
            }
        }
    }

    pub async fn volume_get(&self, ctx: &RequestContext, id: &str) -> Result<Volume, CoreError> {
        let mut v = self.visible::<Volume>(ctx, VOLUME, "Volume", id).await?.doc;
        self.name_types(std::slice::from_mut(&mut v)).await?;
        Ok(v)
    }

    /// The caller's volumes (all projects' for an admin asking for them), oldest first.
    pub async fn volume_list(&self, ctx: &RequestContext, all_projects: bool) -> Result<Vec<Volume>, CoreError> {
        let mut vols = self.list_of(ctx, VOLUME, all_projects).await?;
        self.name_types(&mut vols).await?;
        Ok(vols)
    }

    /// Shows each volume's type by its current name.
    async fn name_types(&self, vols: &mut [Volume]) -> Result<(), CoreError> {
        let names = self.type_names().await?;
        for v in vols {
            if let Some(n) = names.get(v.type_id()) {
                v.volume_type = n.clone();
            }
        }
        Ok(())
    }

    /// Deletes a volume that is not attached and has no snapshots (Cinder's 400s).
    pub async fn volume_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        let Versioned { doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", id).await?;
        if !matches!(
            doc.status.as_str(),
            "available" | "error" | "error_restoring" | "error_extending" | "error_managing"
        ) {
            return Err(CoreError::BadRequest(format!(
                "Invalid volume: volume status must be available or error or error_restoring or error_extending \
                 or error_managing and must not be migrating, attached, belong to a group, have snapshots or be \
                 disassociated from snapshots after volume transfer; it is {}.",
                doc.status
            )));
        }
        if !self.store.doc_children(SNAPSHOT, id).await?.is_empty() {
            return Err(CoreError::BadRequest(format!("Invalid volume: volume {id} still has dependent snapshots.")));
        }
        self.queue_delete(doc, version).await
    }

    /// Deletes a volume its server let go of (delete_on_termination). A volume already
    /// being deleted, gone, or taken meanwhile by something else is left as it is.
    pub(crate) async fn delete_released(&self, id: &str) -> Result<(), CoreError> {
        let Some(Versioned { doc, version }) = self.load::<Volume>(VOLUME, id).await? else { return Ok(()) };
        if doc.status != "available" || !self.store.doc_children(SNAPSHOT, id).await?.is_empty() {
            return Ok(());
        }
        self.queue_delete(doc, version).await
    }

    /// Marks a volume deleting and queues the operation that removes it from its cloud.
    pub(super) async fn queue_delete(&self, mut doc: Volume, version: i64) -> Result<(), CoreError> {
        doc.status = "deleting".into();
        doc.updated_at = crate::clock::now();
        let op = operation_of(&ops::DeleteVolume { volume_id: doc.id.clone() })?;
        self.write(vec![object(VOLUME, &doc.id, &doc.project_id, "", &doc, Some(version))?], vec![op]).await
    }

    /// Grows a volume (os-extend); an attached one only where its cloud grows disks online.
    pub async fn volume_extend(&self, ctx: &RequestContext, id: &str, new_size: u64) -> Result<(), CoreError> {
        ctx.require_member()?;
        let Versioned { mut doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", id).await?;
        if new_size <= doc.size {
            return Err(CoreError::BadRequest(format!(
                "Invalid input received: new size {new_size} GiB must be greater than the current {} GiB.",
                doc.size
            )));
        }
        match doc.status.as_str() {
            "available" => {}
            "in-use" => {
                let cloud = self.clouds.require(&doc.availability_zone).await?;
                if !cloud.block.volume_capabilities().online_extend {
                    return Err(CoreError::BadRequest(format!(
                        "Invalid volume: cloud {} cannot extend an attached volume.",
                        doc.availability_zone
                    )));
                }
            }
            other => {
                return Err(CoreError::BadRequest(format!(
                    "Invalid volume: volume status must be available or in-use to extend; it is {other}."
                )))
            }
        }
        let grow = i64::try_from(new_size - doc.size).unwrap_or(i64::MAX);
        self.quota_check(&doc.project_id, doc.type_id(), 0, 0, grow, Some(new_size)).await?;
        let back_to = doc.status.clone();
        doc.status = "extending".into();
        doc.updated_at = crate::clock::now();
        let op = operation_of(&ops::ExtendVolume { volume_id: id.into(), new_size, back_to })?;
        self.write(vec![object(VOLUME, id, &doc.project_id, "", &doc, Some(version))?], vec![op]).await
    }

    /// Starts attaching a volume to a server on the same cloud (Nova's os-volume_attachments),
    /// at the device compute reserved for it. A volume reserved for this server (attachments
    /// API) keeps its attachment id. Returns the attachment id.
    pub async fn volume_attach(
        &self,
        ctx: &RequestContext,
        volume_id: &str,
        server_id: &str,
        server_cloud: &str,
        device: &str,
    ) -> Result<String, CoreError> {
        ctx.require_member()?;
        let Versioned { mut doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", volume_id).await?;
        let reservation = doc.attachments.iter().find(|a| a.reserved && a.server_id == server_id).map(|a| a.id.clone());
        if doc.status != "available" && !(doc.status == "reserved" && reservation.is_some()) {
            return Err(CoreError::BadRequest(format!(
                "Invalid volume: volume {volume_id} status must be available to attach; it is {}.",
                doc.status
            )));
        }
        self.check_same_cloud(&doc, server_cloud)?;
        let attachment = Attachment {
            id: reservation.unwrap_or_else(crate::clock::new_id),
            server_id: server_id.into(),
            device: device.into(),
            attached_at: crate::clock::now(),
            reserved: false,
        };
        doc.status = "attaching".into();
        doc.attachments = vec![attachment.clone()];
        doc.updated_at = crate::clock::now();
        let op = operation_of(&ops::AttachVolume { volume_id: volume_id.into(), server_id: server_id.into() })?;
        self.write(vec![object(VOLUME, volume_id, &doc.project_id, "", &doc, Some(version))?], vec![op]).await?;
        Ok(attachment.id)
    }

    fn check_same_cloud(&self, v: &Volume, server_cloud: &str) -> Result<(), CoreError> {
        if v.availability_zone != server_cloud {
            let zone = |c: &str| self.clouds.zone_of(c);
            return Err(CoreError::BadRequest(format!(
                "Volume {} is on cloud {} (availability zone {}) and the server on cloud {server_cloud} (availability \
                 zone {}); a volume attaches only to servers of its own cloud.",
                v.id,
                v.availability_zone,
                zone(&v.availability_zone),
                zone(server_cloud)
            )));
        }
        Ok(())
    }

    /// Holds an available volume for a server (the attachments API without a connector).
    pub async fn volume_reserve(
        &self,
        ctx: &RequestContext,
        volume_id: &str,
        server_id: &str,
        server_cloud: &str,
    ) -> Result<Attachment, CoreError> {
        ctx.require_member()?;
        let Versioned { mut doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", volume_id).await?;
        if doc.status != "available" {
            return Err(CoreError::BadRequest(format!(
                "Invalid volume: volume {volume_id} status must be available to reserve; it is {}.",
                doc.status
            )));
        }
        self.check_same_cloud(&doc, server_cloud)?;
        let a = Attachment {
            id: crate::clock::new_id(),
            server_id: server_id.into(),
            device: String::new(),
            attached_at: crate::clock::now(),
            reserved: true,
        };
        doc.status = "reserved".into();
        doc.attachments = vec![a.clone()];
        doc.updated_at = crate::clock::now();
        self.write(vec![object(VOLUME, volume_id, &doc.project_id, "", &doc, Some(version))?], vec![]).await?;
        Ok(a)
    }

    /// Lets go of a reservation: the volume is available again.
    pub async fn volume_unreserve(
        &self,
        ctx: &RequestContext,
        volume_id: &str,
        attachment_id: &str,
    ) -> Result<(), CoreError> {
        ctx.require_member()?;
        let Versioned { mut doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", volume_id).await?;
        if doc.status != "reserved" || !doc.attachments.iter().any(|a| a.id == attachment_id && a.reserved) {
            return Err(CoreError::BadRequest(format!(
                "Invalid volume: attachment {attachment_id} is not a reservation of volume {volume_id}."
            )));
        }
        doc.attachments.clear();
        doc.status = "available".into();
        doc.updated_at = crate::clock::now();
        self.write(vec![object(VOLUME, volume_id, &doc.project_id, "", &doc, Some(version))?], vec![]).await
    }

    /// Starts detaching a volume from the server it is attached to; `force` (an admin's
    /// os-force_detach) whatever state the volume's record is in.
    pub async fn volume_detach(
        &self,
        ctx: &RequestContext,
        volume_id: &str,
        server_id: &str,
        force: bool,
    ) -> Result<(), CoreError> {
        ctx.require_member()?;
        let Versioned { mut doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", volume_id).await?;
        let attached = doc.attachments.iter().any(|a| a.server_id == server_id && !a.reserved);
        if !attached || (!force && doc.status != "in-use") {
            return Err(CoreError::BadRequest(format!(
                "Invalid volume: volume {volume_id} is {} and not attached to server {server_id}.",
                doc.status
            )));
        }
        doc.status = "detaching".into();
        doc.updated_at = crate::clock::now();
        let op = operation_of(&ops::DetachVolume { volume_id: volume_id.into(), server_id: server_id.into() })?;
        self.write(vec![object(VOLUME, volume_id, &doc.project_id, "", &doc, Some(version))?], vec![op]).await
    }
}

impl Volumes {
    /// Cinder's os-set_bootable and os-update_readonly_flag.
    pub async fn volume_set_flags(
        &self,
        ctx: &RequestContext,
        id: &str,
        bootable: Option<bool>,
        readonly: Option<bool>,
    ) -> Result<Volume, CoreError> {
        ctx.require_member()?;
        let Versioned { mut doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", id).await?;
        if readonly.is_some() && !matches!(doc.status.as_str(), "available" | "in-use") {
            return Err(CoreError::BadRequest(format!(
                "Invalid volume: volume status must be available or in-use to change its read-only flag; it is {}.",
                doc.status
            )));
        }
        if let Some(b) = bootable {
            doc.bootable = b;
        }
        if let Some(r) = readonly {
            doc.readonly = r;
            doc.metadata.insert("readonly".into(), if r { "True" } else { "False" }.into());
        }
        doc.updated_at = crate::clock::now();
        self.write(vec![object(VOLUME, id, &doc.project_id, "", &doc, Some(version))?], vec![]).await?;
        Ok(doc)
    }
}
