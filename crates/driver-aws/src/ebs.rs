//! `BlockStorage` on EBS: a volume is an EBS volume and a snapshot an EBS snapshot, each
//! tagged with our id, in the cloud's zone. Attaching uses AWS's device-name slots for data
//! volumes (`/dev/sdf` to `/dev/sdp`). Every change waits for the state it asks for, polling
//! with a growing interval and a bound, never for a fixed time. AWS's own rules are enforced
//! here because the moto server does not: no volume under 1 GiB or over 16 TiB, no attaching
//! a volume another instance holds, no shrinking.

use std::path::Path;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    ResourceType, Snapshot, SnapshotState, Volume, VolumeAttachmentState, VolumeState, VolumeType,
};
use hybridstack_driver::{BlockQuery, DriverError, OwnedVolume, VolumeCapabilities, VolumeSource, VolumeSpec};
use hybridstack_driver_act::BlockStorage;

use crate::errors::aws;
use crate::{tag_value, AwsCloud, TAG_ID};

pub(crate) const VOLUME: &str = "volume";
pub(crate) const SNAPSHOT: &str = "snapshot";
/// A snapshot made only to copy a volume (EBS has no direct clone); it goes once the copy
/// is made.
const CLONE: &str = "clone";
/// gp3's limits, the default volume type.
const MAX_GIB: u64 = 16_384;
/// The slots AWS recommends for EBS data volumes on Linux instances.
const SLOTS: std::ops::RangeInclusive<char> = 'f'..='p';

fn gone_ok(r: Result<(), DriverError>) -> Result<(), DriverError> {
    match r {
        Err(DriverError::NotFound(_)) => Ok(()),
        other => other,
    }
}

/// The slot for a requested device (`/dev/vdf`, `/dev/sdg`, `/dev/xvdh` all name their last
/// letter), else the first free one.
pub(crate) fn pick_slot(requested: Option<&str>, taken: &[String]) -> Result<String, DriverError> {
    let free =
        |c: char| !taken.iter().any(|t| t.ends_with(c) && (t.starts_with("/dev/sd") || t.starts_with("/dev/xvd")));
    if let Some(c) = requested.and_then(|r| r.chars().last()).filter(|c| SLOTS.contains(c)) {
        if free(c) {
            return Ok(format!("/dev/sd{c}"));
        }
    }
    SLOTS
        .clone()
        .find(|c| free(*c))
        .map(|c| format!("/dev/sd{c}"))
        .ok_or_else(|| DriverError::Rejected("the instance has no free device slot (/dev/sdf to /dev/sdp)".into()))
}

impl AwsCloud {
    pub(crate) async fn ebs_volume(&self, id: &str) -> Result<Option<Volume>, DriverError> {
        let out = self
            .ec2
            .describe_volumes()
            .set_filters(Some(self.ours(VOLUME, Some(id))))
            .send()
            .await
            .map_err(|e| aws("looking up a volume", e))?;
        Ok(out.volumes().iter().find(|v| v.state() != Some(&VolumeState::Deleted)).cloned())
    }

    async fn require_volume(&self, id: &str) -> Result<Volume, DriverError> {
        self.ebs_volume(id)
            .await?
            .ok_or_else(|| DriverError::NotFound(format!("volume {id} is not on cloud {}", self.name)))
    }

    pub(crate) async fn ebs_snapshot(&self, kind: &str, id: &str) -> Result<Option<Snapshot>, DriverError> {
        let out = self
            .ec2
            .describe_snapshots()
            .owner_ids("self")
            .set_filters(Some(self.ours(kind, Some(id))))
            .send()
            .await
            .map_err(|e| aws("looking up a snapshot", e))?;
        Ok(out.snapshots().first().cloned())
    }

    async fn wait_volume(&self, id: &str, want: VolumeState) -> Result<Volume, DriverError> {
        self.wait_until(&format!("volume {id} to be {}", want.as_str()), || async {
            let v = self.require_volume(id).await?;
            if v.state() == Some(&VolumeState::Error) {
                return Err(DriverError::Failed(format!("volume {id} went into error on AWS")));
            }
            Ok((v.state() == Some(&want)).then_some(v))
        })
        .await
    }

    pub(crate) async fn wait_snapshot(&self, kind: &str, id: &str) -> Result<Snapshot, DriverError> {
        self.wait_until(&format!("snapshot {id} to complete"), || async {
            let s = self
                .ebs_snapshot(kind, id)
                .await?
                .ok_or_else(|| DriverError::NotFound(format!("snapshot {id} is not on cloud {}", self.name)))?;
            match s.state() {
                Some(SnapshotState::Completed) => Ok(Some(s)),
                Some(SnapshotState::Error) => Err(DriverError::Failed(format!(
                    "snapshot {id} failed on AWS: {}",
                    s.state_message().unwrap_or_default()
                ))),
                _ => Ok(None),
            }
        })
        .await
    }

    /// Snapshots an EBS volume under our tags (`kind`, `id`) and waits until it is complete;
    /// one already made is returned.
    pub(crate) async fn snapshot_volume(&self, ebs_id: &str, kind: &str, id: &str) -> Result<Snapshot, DriverError> {
        if self.ebs_snapshot(kind, id).await?.is_none() {
            self.ec2
                .create_snapshot()
                .volume_id(ebs_id)
                .tag_specifications(self.tag_spec(ResourceType::Snapshot, id, kind, id, &[]))
                .send()
                .await
                .map_err(|e| aws("creating a snapshot", e))?;
        }
        self.wait_snapshot(kind, id).await
    }

    pub(crate) async fn delete_ebs_snapshot(&self, snapshot_id: &str) -> Result<(), DriverError> {
        gone_ok(
            self.ec2
                .delete_snapshot()
                .snapshot_id(snapshot_id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws("deleting a snapshot", e)),
        )
    }

    /// The EBS snapshot a new volume starts from, and whether it is a temporary one to drop.
    async fn source_snapshot(&self, v: &VolumeSpec) -> Result<Option<(String, i32, bool)>, DriverError> {
        let found = |s: Snapshot| (s.snapshot_id().unwrap_or_default().to_string(), s.volume_size().unwrap_or(0));
        Ok(match &v.source {
            VolumeSource::Blank => None,
            VolumeSource::Snapshot(s) => {
                let snap = self.wait_snapshot(SNAPSHOT, s).await?;
                let (id, size) = found(snap);
                Some((id, size, false))
            }
            VolumeSource::Volume(src) => {
                let from = self.require_volume(src).await?;
                let snap = self.snapshot_volume(from.volume_id().unwrap_or_default(), CLONE, &v.id).await?;
                let (id, size) = found(snap);
                Some((id, size, true))
            }
            VolumeSource::CloudImage(ami) => {
                let (snap, size) = self.root_snapshot(ami).await?;
                Some((snap, size, false))
            }
            VolumeSource::Image(f) => {
                let (snap, size) = self.upload_snapshot(&f.path, &f.format, CLONE, &v.id).await?;
                Some((snap, size, true))
            }
        })
    }

    async fn ensure_ebs_volume(&self, v: &VolumeSpec) -> Result<(), DriverError> {
        let _held = self.lock(format!("vol:{}", v.id)).await;
        if v.size_gb == 0 || v.size_gb > MAX_GIB {
            return Err(DriverError::Rejected(format!("volume {}: EBS volumes are 1 to {MAX_GIB} GiB", v.id)));
        }
        if self.ebs_volume(&v.id).await?.is_none() {
            let source = self.source_snapshot(v).await?;
            if let Some((_, size, _)) = &source {
                if u64::try_from(*size).unwrap_or(0) > v.size_gb {
                    return Err(DriverError::Rejected(format!(
                        "volume {}: its source is {size} GiB, more than the {} GiB asked for",
                        v.id, v.size_gb
                    )));
                }
            }
            self.ec2
                .create_volume()
                .availability_zone(&self.zone)
                .size(i32::try_from(v.size_gb).unwrap_or(i32::MAX))
                .volume_type(VolumeType::Gp3)
                .set_snapshot_id(source.as_ref().map(|s| s.0.clone()))
                .tag_specifications(self.tag_spec(ResourceType::Volume, &v.id, VOLUME, &v.id, &[]))
                .send()
                .await
                .map_err(|e| aws(&format!("creating volume {}", v.id), e))?;
            self.wait_volume(&v.id, VolumeState::Available).await?;
        }
        // The copy is made: a temporary snapshot taken to make it goes (also after a retry
        // that found the volume already there).
        if let Some(s) = self.ebs_snapshot(CLONE, &v.id).await? {
            self.delete_ebs_snapshot(s.snapshot_id().unwrap_or_default()).await?;
        }
        Ok(())
    }

    async fn ebs_attach(&self, server_id: &str, volume_id: &str, device: Option<&str>) -> Result<String, DriverError> {
        let instance = self.require(server_id).await?;
        let instance_id = Self::instance_id(&instance)?;
        let v = self.require_volume(volume_id).await?;
        if let Some(a) = v.attachments().iter().find(|a| a.state() != Some(&VolumeAttachmentState::Detached)) {
            if a.instance_id() == Some(instance_id.as_str()) {
                return self.wait_attached(volume_id, &instance_id).await;
            }
            return Err(DriverError::Rejected(format!(
                "volume {volume_id} is attached to another instance ({})",
                a.instance_id().unwrap_or_default()
            )));
        }
        let taken: Vec<String> =
            instance.block_device_mappings().iter().filter_map(|m| m.device_name().map(str::to_string)).collect();
        let slot = pick_slot(device, &taken)?;
        self.ec2
            .attach_volume()
            .instance_id(&instance_id)
            .volume_id(v.volume_id().unwrap_or_default())
            .device(&slot)
            .send()
            .await
            .map_err(|e| aws(&format!("attaching volume {volume_id}"), e))?;
        self.wait_attached(volume_id, &instance_id).await
    }

    async fn wait_attached(&self, volume_id: &str, instance_id: &str) -> Result<String, DriverError> {
        self.wait_until(&format!("volume {volume_id} to attach"), || async {
            let v = self.require_volume(volume_id).await?;
            Ok(v.attachments()
                .iter()
                .find(|a| a.instance_id() == Some(instance_id) && a.state() == Some(&VolumeAttachmentState::Attached))
                .map(|a| a.device().unwrap_or_default().to_string()))
        })
        .await
    }

    async fn ebs_detach(&self, server_id: &str, volume_id: &str) -> Result<(), DriverError> {
        let Some(v) = self.ebs_volume(volume_id).await? else { return Ok(()) };
        let instance = self.instance(server_id).await?;
        let instance_id = instance.as_ref().and_then(|i| i.instance_id().map(str::to_string));
        let held = v.attachments().iter().any(|a| {
            a.instance_id().map(str::to_string) == instance_id && a.state() != Some(&VolumeAttachmentState::Detached)
        });
        if held {
            gone_ok(
                self.ec2
                    .detach_volume()
                    .volume_id(v.volume_id().unwrap_or_default())
                    .set_instance_id(instance_id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws(&format!("detaching volume {volume_id}"), e)),
            )?;
        }
        if v.attachments().is_empty() || held {
            self.wait_volume(volume_id, VolumeState::Available).await?;
        }
        Ok(())
    }
}

impl BlockQuery for AwsCloud {
    fn volume_capabilities(&self) -> VolumeCapabilities {
        VolumeCapabilities { online_extend: true, snapshot_in_use: true }
    }

    fn data_devices(&self) -> Vec<String> {
        SLOTS.map(|c| format!("sd{c}")).collect()
    }
}

#[async_trait]
impl BlockStorage for AwsCloud {
    async fn ensure_volume(&self, v: &VolumeSpec) -> Result<(), DriverError> {
        self.ensure_ebs_volume(v).await
    }

    async fn delete_volume(&self, id: &str) -> Result<(), DriverError> {
        let Some(v) = self.ebs_volume(id).await? else { return Ok(()) };
        if v.state() == Some(&VolumeState::InUse) {
            return Err(DriverError::Rejected(format!("volume {id} is still attached")));
        }
        gone_ok(
            self.ec2
                .delete_volume()
                .volume_id(v.volume_id().unwrap_or_default())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws(&format!("deleting volume {id}"), e)),
        )?;
        self.wait_until(&format!("volume {id} to go"), || async {
            Ok(self.ebs_volume(id).await?.is_none().then_some(()))
        })
        .await
    }

    /// ModifyVolume: EBS grows volumes in place, attached or not.
    async fn extend_volume(&self, id: &str, size_gb: u64) -> Result<(), DriverError> {
        if size_gb > MAX_GIB {
            return Err(DriverError::Rejected(format!("volume {id}: EBS volumes are at most {MAX_GIB} GiB")));
        }
        let v = self.require_volume(id).await?;
        let now = u64::try_from(v.size().unwrap_or(0)).unwrap_or(0);
        if now >= size_gb {
            return Ok(());
        }
        self.ec2
            .modify_volume()
            .volume_id(v.volume_id().unwrap_or_default())
            .size(i32::try_from(size_gb).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| aws(&format!("growing volume {id}"), e))?;
        self.wait_until(&format!("volume {id} to grow"), || async {
            let v = self.require_volume(id).await?;
            Ok((u64::try_from(v.size().unwrap_or(0)).unwrap_or(0) >= size_gb).then_some(()))
        })
        .await
    }

    async fn ensure_snapshot(&self, snapshot_id: &str, volume_id: &str) -> Result<(), DriverError> {
        if self.ebs_snapshot(SNAPSHOT, snapshot_id).await?.is_none() {
            let v = self.require_volume(volume_id).await?;
            self.snapshot_volume(v.volume_id().unwrap_or_default(), SNAPSHOT, snapshot_id).await?;
        }
        self.wait_snapshot(SNAPSHOT, snapshot_id).await.map(|_| ())
    }

    async fn delete_snapshot(&self, id: &str) -> Result<(), DriverError> {
        match self.ebs_snapshot(SNAPSHOT, id).await? {
            Some(s) => self.delete_ebs_snapshot(s.snapshot_id().unwrap_or_default()).await,
            None => Ok(()),
        }
    }

    async fn attach_volume(&self, server: &str, volume: &str, device: Option<&str>) -> Result<String, DriverError> {
        self.ebs_attach(server, volume, device).await
    }

    async fn detach_volume(&self, server_id: &str, volume_id: &str) -> Result<(), DriverError> {
        self.ebs_detach(server_id, volume_id).await
    }

    async fn volume_to_file(&self, id: &str, _: &Path) -> Result<(), DriverError> {
        Err(DriverError::NotSupported(format!(
            "volume {id}: an AWS cloud uploads a volume as an AMI (a snapshot registered as an image), not as a file"
        )))
    }

    async fn volume_to_cloud_image(&self, volume_id: &str, image_id: &str, name: &str) -> Result<String, DriverError> {
        let v = self.require_volume(volume_id).await?;
        let snap = self.snapshot_volume(v.volume_id().unwrap_or_default(), crate::amis::IMAGE, image_id).await?;
        self.register_ami(image_id, name, snap.snapshot_id().unwrap_or_default()).await
    }

    async fn list_owned_volumes(&self) -> Result<Vec<OwnedVolume>, DriverError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .ec2
                .describe_volumes()
                .set_filters(Some(self.ours(VOLUME, None)))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws("listing volumes", e))?;
            for v in page.volumes() {
                if let Some(id) = tag_value(v.tags(), TAG_ID) {
                    out.push(OwnedVolume { kind: "volume", id });
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        let snaps = self
            .ec2
            .describe_snapshots()
            .owner_ids("self")
            .set_filters(Some(self.ours(SNAPSHOT, None)))
            .send()
            .await
            .map_err(|e| aws("listing snapshots", e))?;
        for s in snaps.snapshots() {
            if let Some(id) = tag_value(s.tags(), TAG_ID) {
                out.push(OwnedVolume { kind: "snapshot", id });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_request_when_free() {
        assert_eq!(pick_slot(Some("/dev/vdg"), &[]).ok().as_deref(), Some("/dev/sdg"));
        assert_eq!(pick_slot(None, &["/dev/xvda".into()]).ok().as_deref(), Some("/dev/sdf"));
        assert_eq!(pick_slot(Some("/dev/sdf"), &["/dev/sdf".into()]).ok().as_deref(), Some("/dev/sdg"));
        assert_eq!(pick_slot(Some("/dev/vdb"), &[]).ok().as_deref(), Some("/dev/sdf"));
        let all: Vec<String> = SLOTS.map(|c| format!("/dev/sd{c}")).collect();
        assert!(pick_slot(None, &all).is_err());
    }
}
