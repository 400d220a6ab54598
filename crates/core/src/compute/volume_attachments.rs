//! Nova's os-volume_attachments: a volume attached to a server on the same cloud. Compute
//! reserves the device name (as Nova does, so the answer can name it) and records the volume
//! on the server; block storage runs the attach (see `volume::volumes`).

use super::model::Server;
use super::Compute;
use crate::policy::RequestContext;
use crate::CoreError;

/// Devices every server on the built-in clouds holds: the root disk and the config drive.
const RESERVED: [&str; 2] = ["vda", "vdb"];

/// (volume id, device) of an attachment as Nova shows it.
pub type VolumeAttachment = (String, String);

impl Compute {
    /// Attaches a volume; returns the attachment's id and the device reserved for it.
    pub async fn attach_volume(
        &self,
        ctx: &RequestContext,
        server_id: &str,
        volume_id: &str,
        device: Option<String>,
    ) -> Result<(String, String), CoreError> {
        let s = self.server_get(ctx, server_id).await?;
        if !matches!(s.status(), "ACTIVE" | "SHUTOFF") {
            return Err(CoreError::Conflict(format!(
                "Cannot 'attach_volume' instance {server_id} while it is in vm_state {}",
                s.vm_state
            )));
        }
        let held = self
            .volumes
            .volume_internal(volume_id)
            .await?
            .is_some_and(|v| v.attachments.iter().any(|a| a.reserved && a.server_id == s.id));
        if s.volumes_attached.iter().any(|v| v == volume_id) && !held {
            return Err(CoreError::BadRequest(format!("Volume {volume_id} is already attached to {server_id}.")));
        }
        let used = self.devices_of(&s).await?;
        // The names the server's cloud gives data volumes (vdc… on libvirt, sdf… on EC2),
        // so the answer names the device the cloud will use.
        let names = self.clouds.get(&s.cloud).map(|c| c.block.data_devices()).unwrap_or_default();
        let free = |n: &String| !used.contains(n);
        let device = match device {
            Some(d) => {
                let name = d.strip_prefix("/dev/").unwrap_or(&d);
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
                    return Err(CoreError::BadRequest(format!("The supplied device path ({d}) is invalid.")));
                }
                if used.iter().any(|u| u == name) {
                    return Err(CoreError::BadRequest(format!("The supplied device path ({d}) is in use.")));
                }
                if names.is_empty() || names.iter().any(|n| n == name) {
                    format!("/dev/{name}")
                } else {
                    // A name the cloud does not give (vdc asked of EC2): its slot with the
                    // same letter, else its first free one.
                    let last = name.chars().last().unwrap_or('a');
                    names
                        .iter()
                        .filter(|n| free(n))
                        .find(|n| n.ends_with(last))
                        .or_else(|| names.iter().find(|n| free(n)))
                        .map(|n| format!("/dev/{n}"))
                        .ok_or_else(|| CoreError::BadRequest(format!("Server {server_id} has no free device name.")))?
                }
            }
            None => names
                .iter()
                .find(|n| free(n))
                .cloned()
                .or_else(|| ('c'..='z').map(|c| format!("vd{c}")).find(|d| names.is_empty() && !used.contains(d)))
                .map(|d| format!("/dev/{d}"))
                .ok_or_else(|| CoreError::BadRequest(format!("Server {server_id} has no free device name.")))?,
        };
        let attachment = self.volumes.volume_attach(ctx, volume_id, &s.id, &s.cloud, &device).await?;
        self.note_volume(&s.id, volume_id).await?;
        Ok((attachment, device))
    }

    pub(crate) async fn note_volume(&self, server_id: &str, volume_id: &str) -> Result<(), CoreError> {
        let vol = volume_id.to_string();
        self.transition(server_id, move |s| {
            if !s.volumes_attached.contains(&vol) {
                s.volumes_attached.push(vol.clone());
            }
        })
        .await
        .map(|_| ())
    }

    /// Holds a volume for a server (Cinder's attachments API without a connector); the
    /// server lists it so that deleting the server lets it go.
    pub async fn reserve_volume(
        &self,
        ctx: &RequestContext,
        server_id: &str,
        volume_id: &str,
    ) -> Result<crate::volume::model::Attachment, CoreError> {
        let s = self.server_get(ctx, server_id).await?;
        let a = self.volumes.volume_reserve(ctx, volume_id, &s.id, &s.cloud).await?;
        self.note_volume(&s.id, volume_id).await?;
        Ok(a)
    }

    /// Ends an attachment made through the attachments API: a reservation is let go, an
    /// attached volume detached.
    pub async fn end_attachment(
        &self,
        ctx: &RequestContext,
        volume_id: &str,
        attachment_id: &str,
    ) -> Result<(), CoreError> {
        let v = self.volumes.volume_get(ctx, volume_id).await?;
        let a = v
            .attachments
            .iter()
            .find(|a| a.id == attachment_id)
            .ok_or_else(|| CoreError::NotFound(format!("Attachment {attachment_id} could not be found.")))?;
        if a.reserved {
            self.volumes.volume_unreserve(ctx, volume_id, attachment_id).await?;
            return self.forget_volume_of_server(&a.server_id, volume_id).await;
        }
        self.detach_volume(ctx, &a.server_id, volume_id).await
    }

    /// The device names a server's disks hold, reserved ones included.
    async fn devices_of(&self, s: &Server) -> Result<Vec<String>, CoreError> {
        let mut used: Vec<String> = RESERVED.iter().map(|d| d.to_string()).collect();
        for (_, device) in self.volume_attachments_of(s).await? {
            used.push(device.trim_start_matches("/dev/").to_string());
        }
        Ok(used)
    }

    async fn volume_attachments_of(&self, s: &Server) -> Result<Vec<VolumeAttachment>, CoreError> {
        let mut out = Vec::new();
        for id in &s.volumes_attached {
            if let Some(v) = self.volumes.volume_internal(id).await? {
                if let Some(a) = v.attachments.iter().find(|a| a.server_id == s.id && !a.reserved) {
                    out.push((id.clone(), a.device.clone()));
                }
            }
        }
        Ok(out)
    }

    pub async fn volume_attachments(
        &self,
        ctx: &RequestContext,
        server_id: &str,
    ) -> Result<Vec<VolumeAttachment>, CoreError> {
        let s = self.server_get(ctx, server_id).await?;
        self.volume_attachments_of(&s).await
    }

    /// Starts detaching; a volume the server does not have is "not found".
    pub async fn detach_volume(&self, ctx: &RequestContext, server_id: &str, volume_id: &str) -> Result<(), CoreError> {
        let s = self.server_get(ctx, server_id).await?;
        if !s.volumes_attached.iter().any(|v| v == volume_id) {
            return Err(CoreError::NotFound(format!("volume_id not found: {volume_id}")));
        }
        if s.root_volume() == Some(volume_id) {
            return Err(CoreError::BadRequest(format!("Cannot detach a root device volume ({volume_id}).")));
        }
        if !matches!(s.status(), "ACTIVE" | "SHUTOFF") {
            return Err(CoreError::Conflict(format!(
                "Cannot 'detach_volume' instance {server_id} while it is in vm_state {}",
                s.vm_state
            )));
        }
        self.volumes.volume_detach(ctx, volume_id, server_id, false).await
    }

    /// Nova's swap volume. Since OSSA-2025-001 Nova swaps only for the block storage service
    /// migrating the volume; a direct call is refused with a conflict, and so it is here,
    /// where volumes are never migrated (one storage pool per cloud). The checks a real swap
    /// would pass come first, so a wrong request gets its own answer.
    pub async fn swap_volume(
        &self,
        ctx: &RequestContext,
        server_id: &str,
        old: &str,
        new: &str,
    ) -> Result<(), CoreError> {
        ctx.require_admin()?;
        let s = self.server_get(ctx, server_id).await?;
        if !s.volumes_attached.iter().any(|v| v == old) {
            return Err(CoreError::NotFound(format!("volume_id not found: {old}")));
        }
        self.volumes.volume_get(ctx, new).await?;
        Err(CoreError::Conflict(format!(
            "Swapping volume {old} for {new} is done only for a migration by the block storage service, and \
             volume {old} is not being migrated."
        )))
    }

    /// Cinder's os-detach (`force`: os-force_detach, an admin's, whatever the volume's
    /// status): detaches the volume from the server of the attachment named, or of its only one.
    pub async fn detach_by_attachment(
        &self,
        ctx: &RequestContext,
        volume_id: &str,
        attachment_id: Option<&str>,
        force: bool,
    ) -> Result<(), CoreError> {
        if force {
            ctx.require_admin()?;
        }
        let v = self.volumes.volume_get(ctx, volume_id).await?;
        // Cinder answers a detach of a volume attached to nothing as done.
        if v.attachments.is_empty() && attachment_id.is_none() {
            return Ok(());
        }
        let a = match attachment_id {
            Some(id) => v.attachments.iter().find(|a| a.id == id),
            None => v.attachments.first(),
        }
        .ok_or_else(|| CoreError::BadRequest(format!("Invalid volume: volume {volume_id} has no such attachment.")))?;
        if a.reserved {
            return self.end_attachment(ctx, volume_id, &a.id.clone()).await;
        }
        if !force {
            return self.detach_volume(ctx, &a.server_id.clone(), volume_id).await;
        }
        let s = self.server_get(ctx, &a.server_id).await?;
        if s.root_volume() == Some(volume_id) {
            return Err(CoreError::BadRequest(format!("Cannot detach a root device volume ({volume_id}).")));
        }
        if s.task_state.is_some() {
            return Err(CoreError::Conflict(format!(
                "Cannot 'detach_volume' instance {} while it is {}",
                s.id,
                s.task_state.as_deref().unwrap_or_default()
            )));
        }
        self.volumes.volume_detach(ctx, volume_id, &s.id, true).await
    }

    /// Takes a volume off a server's list (after a detach, or a failed attach).
    pub async fn forget_volume_of_server(&self, server_id: &str, volume_id: &str) -> Result<(), CoreError> {
        let vol = volume_id.to_string();
        match self.transition(server_id, move |s| s.volumes_attached.retain(|v| *v != vol)).await {
            Ok(_) | Err(CoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// After its server is gone, each attached volume is free again (Nova detaches them), and
    /// those marked delete_on_termination are deleted (through their own operation).
    pub async fn release_volumes(&self, s: &Server) -> Result<(), CoreError> {
        for id in &s.volumes_attached {
            let server = s.id.clone();
            match self
                .volumes
                .modify_volume(id, move |v| {
                    v.attachments.retain(|a| a.server_id != server);
                    if v.attachments.is_empty()
                        && matches!(v.status.as_str(), "in-use" | "attaching" | "detaching" | "reserved")
                    {
                        v.status = "available".into();
                    }
                })
                .await
            {
                Ok(_) | Err(CoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
            if s.deletes_volume(id) {
                self.volumes.delete_released(id).await?;
            }
        }
        Ok(())
    }
}
