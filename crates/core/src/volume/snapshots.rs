//! Snapshots: point-in-time copies of a volume, kept on the volume's cloud.

use std::collections::BTreeMap;

use super::model::{Snapshot, Volume};
use super::{object, ops, Versioned, Volumes, SNAPSHOT, VOLUME};
use crate::operations::operation_of;
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Default, Clone)]
pub struct SnapshotRequest {
    pub volume_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Cinder's `force`: snapshot an attached volume.
    pub force: bool,
}

impl Volumes {
    pub async fn snapshot_create(&self, ctx: &RequestContext, r: SnapshotRequest) -> Result<Snapshot, CoreError> {
        ctx.require_member()?;
        let v: Versioned<Volume> = self.visible(ctx, VOLUME, "Volume", &r.volume_id).await?;
        match v.doc.status.as_str() {
            "available" => {}
            "in-use" if r.force => {
                let cloud = self.clouds.require(&v.doc.availability_zone).await?;
                if !cloud.block.volume_capabilities().snapshot_in_use {
                    return Err(CoreError::BadRequest(format!(
                        "Invalid volume: cloud {} cannot snapshot an attached volume; detach it first.",
                        v.doc.availability_zone
                    )));
                }
            }
            other => {
                return Err(CoreError::BadRequest(format!(
                    "Invalid volume: volume {} must be available to snapshot; it is {other}.",
                    r.volume_id
                )))
            }
        }
        let gib = i64::try_from(v.doc.size).unwrap_or(i64::MAX);
        self.quota_check(&v.doc.project_id, v.doc.type_id(), 0, 1, gib, None).await?;
        let now = crate::clock::now();
        let s = Snapshot {
            id: crate::clock::new_id(),
            volume_id: r.volume_id.clone(),
            name: r.name,
            description: r.description,
            project_id: v.doc.project_id.clone(),
            user_id: ctx.user_id.clone(),
            size: v.doc.size,
            status: "creating".into(),
            metadata: r.metadata,
            created_at: now.clone(),
            updated_at: now,
            error: None,
        };
        // Ordered with the volume's own operations: a delete queued later waits for it.
        let op = operation_of(&ops::CreateSnapshot { snapshot_id: s.id.clone(), volume_id: r.volume_id.clone() })?;
        self.write(vec![object(SNAPSHOT, &s.id, &s.project_id, &s.volume_id, &s, None)?], vec![op]).await?;
        Ok(s)
    }

    pub async fn snapshot_get(&self, ctx: &RequestContext, id: &str) -> Result<Snapshot, CoreError> {
        Ok(self.visible::<Snapshot>(ctx, SNAPSHOT, "Snapshot", id).await?.doc)
    }

    pub async fn snapshot_list(&self, ctx: &RequestContext, all_projects: bool) -> Result<Vec<Snapshot>, CoreError> {
        self.list_of(ctx, SNAPSHOT, all_projects).await
    }

    pub async fn snapshot_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        self.snapshot_delete_checked(ctx, id, false).await
    }

    /// An admin's os-force_delete: whatever the status. The delete is ordered after the
    /// volume's operations in flight, so a create still running finishes first.
    pub async fn snapshot_force_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.snapshot_delete_checked(ctx, id, true).await
    }

    async fn snapshot_delete_checked(&self, ctx: &RequestContext, id: &str, force: bool) -> Result<(), CoreError> {
        let Versioned { mut doc, version } = self.visible::<Snapshot>(ctx, SNAPSHOT, "Snapshot", id).await?;
        if !force && !matches!(doc.status.as_str(), "available" | "error" | "error_deleting") {
            return Err(CoreError::BadRequest(format!(
                "Invalid snapshot: snapshot status must be available or error; it is {}.",
                doc.status
            )));
        }
        doc.status = "deleting".into();
        doc.updated_at = crate::clock::now();
        let op = operation_of(&ops::DeleteSnapshot { snapshot_id: id.into(), volume_id: doc.volume_id.clone() })?;
        self.write(vec![object(SNAPSHOT, id, &doc.project_id, &doc.volume_id, &doc, Some(version))?], vec![op]).await
    }
}
