//! Admin actions: os-reset_status on volumes and snapshots (the operator's way out of a
//! stuck state; it changes the record only, never the cloud) and os-force_delete; and
//! os-retype, which a volume's owner may do.

use super::model::{Snapshot, Volume};
use super::{object, Versioned, Volumes, SNAPSHOT, VOLUME};
use crate::policy::RequestContext;
use crate::CoreError;

const VOLUME_STATUSES: &[&str] = &[
    "available",
    "creating",
    "deleting",
    "error",
    "error_deleting",
    "error_extending",
    "in-use",
    "attaching",
    "detaching",
    "extending",
    "maintenance",
    "reserved",
    "uploading",
];

const SNAPSHOT_STATUSES: &[&str] = &["available", "creating", "deleting", "error", "error_deleting"];

impl Volumes {
    /// Sets a volume's status and, with `attach_status` `detached`, drops its attachments.
    pub async fn volume_reset_status(
        &self,
        ctx: &RequestContext,
        id: &str,
        status: Option<&str>,
        attach_status: Option<&str>,
    ) -> Result<Volume, CoreError> {
        ctx.require_admin()?;
        if status.is_none() && attach_status.is_none() {
            return Err(CoreError::BadRequest("Invalid input received: give status, attach_status or both.".into()));
        }
        if let Some(s) = status.filter(|s| !VOLUME_STATUSES.contains(s)) {
            return Err(CoreError::BadRequest(format!("Invalid input received: invalid volume status {s:?}.")));
        }
        if let Some(a) = attach_status.filter(|a| !matches!(*a, "attached" | "detached")) {
            return Err(CoreError::BadRequest(format!(
                "Invalid input received: attach_status must be attached or detached, not {a:?}."
            )));
        }
        let Versioned { mut doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", id).await?;
        if let Some(s) = status {
            doc.status = s.into();
        }
        if attach_status == Some("detached") {
            doc.attachments.clear();
        }
        doc.error = None;
        doc.updated_at = crate::clock::now();
        self.write(vec![object(VOLUME, id, &doc.project_id, "", &doc, Some(version))?], vec![]).await?;
        Ok(doc)
    }

    pub async fn snapshot_reset_status(&self, ctx: &RequestContext, id: &str, status: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        if !SNAPSHOT_STATUSES.contains(&status) {
            return Err(CoreError::BadRequest(format!("Invalid input received: invalid snapshot status {status:?}.")));
        }
        let Versioned { mut doc, version } = self.visible::<Snapshot>(ctx, SNAPSHOT, "Snapshot", id).await?;
        doc.status = status.into();
        doc.error = None;
        doc.updated_at = crate::clock::now();
        let row = object(SNAPSHOT, id, &doc.project_id, &doc.volume_id, &doc, Some(version))?;
        self.write(vec![row], vec![]).await
    }

    /// Deletes a volume whatever its status, as long as nothing is attached to it and it
    /// has no snapshots (those would be lost with it).
    pub async fn volume_force_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        let Versioned { doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", id).await?;
        if !doc.attachments.is_empty() {
            return Err(CoreError::BadRequest(format!("Invalid volume: volume {id} is attached; detach it first.")));
        }
        if !self.store.doc_children(SNAPSHOT, id).await?.is_empty() {
            return Err(CoreError::BadRequest(format!("Invalid volume: volume {id} still has dependent snapshots.")));
        }
        self.queue_delete(doc, version).await
    }
}

impl Volumes {
    /// Cinder's os-retype. A cloud keeps all its volumes in one storage pool, so a new type
    /// moves no data: it is allowed when the new type admits the volume's zone (a move to
    /// another cloud would be a migration, which is not offered) and its per-type quotas
    /// have room.
    pub async fn volume_retype(&self, ctx: &RequestContext, id: &str, new_type: &str) -> Result<Volume, CoreError> {
        ctx.require_member()?;
        let t = self.type_for_volume(ctx, Some(new_type)).await?;
        let Versioned { mut doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", id).await?;
        if !matches!(doc.status.as_str(), "available" | "in-use") {
            return Err(CoreError::BadRequest(format!(
                "Invalid volume: volume status must be available or in-use to retype; it is {}.",
                doc.status
            )));
        }
        if doc.type_id() == t.id {
            return Err(CoreError::BadRequest(format!(
                "Invalid input received: volume {id} is already of type {}.",
                t.name
            )));
        }
        let outside = |zones: &Vec<String>| !zones.iter().any(|z| self.clouds.answers_to(&doc.availability_zone, z));
        if let Some(zones) = t.zones().filter(outside) {
            return Err(CoreError::NotSupported(format!(
                "Volume type {} only allows availability zones {}; moving volume {id} out of {} would be a \
                 migration, which is not supported by this cloud.",
                t.name,
                zones.join(", "),
                self.clouds.zone_of(&doc.availability_zone)
            )));
        }
        let used = self.volume_quota_usage(&doc.project_id).await?;
        for (key, add) in [("volumes", 1), ("gigabytes", i64::try_from(doc.size).unwrap_or(i64::MAX))] {
            let k = format!("{key}_{}", t.name);
            let limit = self.limit_of(&doc.project_id, &k, -1).await?;
            let have = used.get(&k).copied().unwrap_or(0);
            if limit >= 0 && have + add > limit {
                return Err(CoreError::PayloadTooLarge(format!(
                    "Maximum {k} allowed ({limit}) exceeded for quota '{k}': {have} in use."
                )));
            }
        }
        doc.volume_type = t.name;
        doc.volume_type_id = Some(t.id);
        doc.updated_at = crate::clock::now();
        self.write(vec![object(VOLUME, id, &doc.project_id, "", &doc, Some(version))?], vec![]).await?;
        Ok(doc)
    }
}
