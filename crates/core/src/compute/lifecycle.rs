//! What the engine's server sagas call: the domain work of each step (placement, ports,
//! boot specs) and the state each step leaves the server in. Every function here is safe to
//! call again after a crash: it finds what an earlier call did instead of doing it twice.

use hybridstack_driver::{DriverError, GuestConfig, ImageFile, NicSpec, ServerSpec, VolumeAtDevice};
use hybridstack_store::server_actions::ActionRow;
use hybridstack_store::servers::ServerRow;

use super::model::{Fault, FlavorCopy, Server};
use super::{now, Compute};
use crate::network::binding::acting_for;
use crate::CoreError;

/// A driver failure as the API shows it (a 409 for what the cloud cannot do).
pub fn driver_error(e: DriverError) -> CoreError {
    match e {
        DriverError::NotSupported(m) => CoreError::Conflict(format!("Not supported by this cloud: {m}")),
        DriverError::NotFound(m) => CoreError::NotFound(m),
        DriverError::Rejected(m) => CoreError::BadRequest(m),
        other => CoreError::Internal(other.to_string()),
    }
}

/// Whether a driver failure is worth retrying.
pub fn transient(e: &DriverError) -> bool {
    matches!(e, DriverError::Transient(_))
}

impl Compute {
    pub async fn server_internal(&self, id: &str) -> Result<Server, CoreError> {
        self.server_row(id).await?.map(|(s, _)| s).ok_or_else(|| super::servers::server_not_found(id))
    }

    /// Changes the stored server with no operation attached. A delete asked for while
    /// another operation ran stays visible (`deleting`) until the delete itself finishes.
    pub async fn transition<F>(&self, id: &str, f: F) -> Result<Server, CoreError>
    where
        F: FnMut(&mut Server),
    {
        self.transition_recording(id, None, None, f).await
    }

    /// `transition` from the server as the caller has just read it (`server_row`).
    pub async fn transition_from<F>(&self, seen: (Server, ServerRow), f: F) -> Result<Server, CoreError>
    where
        F: FnMut(&mut Server),
    {
        let id = seen.0.id.clone();
        self.transition_recording(&id, Some(seen), None, f).await
    }

    /// `transition`, writing `action` (an instance action's new row) in the same commit.
    async fn transition_recording<F>(
        &self,
        id: &str,
        seen: Option<(Server, ServerRow)>,
        action: Option<ActionRow>,
        mut f: F,
    ) -> Result<Server, CoreError>
    where
        F: FnMut(&mut Server),
    {
        self.modify_from(id, seen, |s| {
            let deleting = s.task_state.as_deref() == Some("deleting");
            f(s);
            if deleting && s.vm_state != "deleted" {
                s.task_state = Some("deleting".into());
            }
            Ok((vec![], action.iter().cloned().collect()))
        })
        .await
    }

    /// Ends an operation that failed: the server goes to ERROR with the fault, and its
    /// action's event records the error.
    pub async fn fail_server(
        &self,
        id: &str,
        request_id: Option<&str>,
        code: u16,
        message: &str,
    ) -> Result<(), CoreError> {
        let m = message.to_string();
        let r = self
            .transition(id, |s| {
                if s.vm_state != "deleted" {
                    s.vm_state = "error".into();
                }
                s.task_state = None;
                s.pending_action = None;
                s.fault = Some(Fault { code, message: m.clone(), created: now(), details: None });
            })
            .await;
        match r {
            Ok(_) | Err(CoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        if let Some(rid) = request_id {
            self.finish_action(id, rid, Some(message)).await?;
        }
        Ok(())
    }

    /// Ends an operation that succeeded: applies the final state and closes the action, in
    /// one write.
    pub async fn succeed<F>(&self, id: &str, request_id: Option<&str>, f: F) -> Result<Server, CoreError>
    where
        F: FnMut(&mut Server),
    {
        self.succeed_from(id, None, request_id, f).await
    }

    /// `succeed`, from the server as the caller has just read it (`server_row`), if it has.
    pub async fn succeed_from<F>(
        &self,
        id: &str,
        seen: Option<(Server, ServerRow)>,
        request_id: Option<&str>,
        mut f: F,
    ) -> Result<Server, CoreError>
    where
        F: FnMut(&mut Server),
    {
        let action = match request_id {
            Some(rid) => self.closed_action(id, rid, None).await?,
            None => None,
        };
        self.transition_recording(id, seen, action, |s| {
            f(s);
            s.task_state = None;
            s.pending_action = None;
        })
        .await
    }

    /// The ports the server asked for, created or adopted and bound to its cloud. Ports this
    /// server created carry its id as their device, so a rerun finds them instead of making
    /// new ones. Returns (port id, created by us).
    pub async fn ensure_ports(&self, s: &Server) -> Result<Vec<(String, bool)>, CoreError> {
        let ctx = acting_for(&s.user_id, &s.project_id);
        let mut out = Vec::new();
        let sg_ids = if s.networks.is_empty() {
            vec![]
        } else {
            self.networking.resolve_security_groups(&ctx, &s.project_id, &s.security_groups).await?
        };
        let mut taken: Vec<String> = Vec::new();
        for n in &s.networks {
            if let Some(port) = &n.port_id {
                self.networking.bind_port(port, &s.id, &s.cloud).await?;
                out.push((port.clone(), false));
                continue;
            }
            let Some(net) = &n.network_id else { continue };
            let existing = self
                .networking
                .children_ports(net)
                .await?
                .into_iter()
                .find(|p| p.device_id == s.id && !taken.contains(&p.id));
            let port = match existing {
                Some(p) => p,
                None => {
                    self.networking
                        .server_port_create(&ctx, &s.id, net, n.fixed_ip.clone(), Some(sg_ids.clone()))
                        .await?
                }
            };
            taken.push(port.id.clone());
            self.networking.bind_port(&port.id, &s.id, &s.cloud).await?;
            out.push((port.id, true));
        }
        Ok(out)
    }

    /// Lets go of a server's ports: the ones it created are deleted, the ones the user
    /// brought are unbound. Also finds ports a crashed run created but did not record.
    pub async fn release_ports(&self, s: &Server, ports: &[(String, bool)]) -> Result<(), CoreError> {
        for (id, created) in ports {
            if *created {
                self.networking.server_port_delete(id).await?;
            } else {
                self.networking.unbind_port(id).await?;
            }
        }
        for n in &s.networks {
            let Some(net) = &n.network_id else { continue };
            for p in self.networking.children_ports(net).await? {
                if p.device_id == s.id
                    && p.device_owner.starts_with("compute:")
                    && !ports.iter().any(|(id, _)| *id == p.id)
                {
                    self.networking.server_port_delete(&p.id).await?;
                }
            }
        }
        Ok(())
    }

    /// The image the engine must copy into the server's cloud before booting it there: a
    /// cloud that boots only its own images (AMIs) and has no copy yet, of an image with data
    /// in the local store. Copied once; later boots find the copy.
    pub async fn image_to_copy(&self, s: &Server) -> Result<Option<crate::images::Image>, CoreError> {
        if s.root_volume().is_some() || s.image_id.is_empty() {
            return Ok(None);
        }
        // Asked before any read: a cloud that boots image files (libvirt) never needs a copy.
        let copies =
            self.clouds.get(&s.cloud).is_some_and(|c| !c.compute.capabilities().image_files && c.images.is_some());
        if !copies {
            return Ok(None);
        }
        let Some(image) = self.images.image_internal(&s.image_id).await? else { return Ok(None) };
        if crate::images::cloud_images::location_on(&image, &s.cloud).is_some() {
            return Ok(None);
        }
        Ok(self.images.local_file(&image.id).await.is_some().then_some(image))
    }

    /// What the cloud needs to boot (or rebuild, or resize) the server with `flavor`.
    pub async fn boot_spec(&self, s: &Server, flavor: &FlavorCopy, start: bool) -> Result<ServerSpec, CoreError> {
        let root_volume = s.root_volume().map(str::to_string);
        // A volume root boots with the properties of the image its volume was made from.
        let image_id = match &root_volume {
            Some(v) => self.volumes.volume_internal(v).await?.and_then(|v| v.image_id),
            None => Some(s.image_id.clone()),
        };
        let image = match &image_id {
            Some(id) => Some(
                self.images
                    .image_internal(id)
                    .await?
                    .ok_or_else(|| CoreError::BadRequest(format!("Image {id} no longer exists.")))?,
            ),
            None => None,
        };
        let file = |id: &str, format: &str, size: i64| -> Result<ImageFile, CoreError> {
            Ok(ImageFile {
                image_id: id.into(),
                path: Default::default(),
                format: format.into(),
                size: u64::try_from(size).unwrap_or(0),
            })
        };
        // A cloud that keeps its own copy of the image (an AMI) boots from that; the others
        // from the image's data in the local store.
        let cloud_image = image.as_ref().and_then(|i| crate::images::cloud_images::location_on(i, &s.cloud));
        let root = match (&image, &root_volume) {
            (Some(image), None) => match self.images.local_file(&image.id).await {
                Some(path) => {
                    let mut root =
                        file(&image.id, image.disk_format.as_deref().unwrap_or("raw"), image.size.unwrap_or(0))?;
                    root.path = path;
                    Some(root)
                }
                None if cloud_image.is_some() => None,
                None => {
                    return Err(CoreError::Conflict(format!(
                        "Image {} has no data in the local store and no copy on cloud {}.",
                        image.id, s.cloud
                    )))
                }
            },
            _ => None,
        };
        let mut extra = Vec::new();
        for id in [&s.kernel_id, &s.ramdisk_id] {
            if id.is_empty() {
                extra.push(None);
                continue;
            }
            let i =
                self.images.image_internal(id).await?.ok_or_else(|| {
                    CoreError::BadRequest(format!("Image {id} (kernel or ramdisk) no longer exists."))
                })?;
            let mut f = file(id, "raw", i.size.unwrap_or(0))?;
            f.path = self
                .images
                .local_file(id)
                .await
                .ok_or_else(|| CoreError::Conflict(format!("Image {id} has no data in the local store.")))?;
            extra.push(Some(f));
        }
        let ramdisk = extra.pop().flatten();
        let kernel = extra.pop().flatten();
        let cmdline = image
            .as_ref()
            .and_then(|i| i.properties.get("os_command_line"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let mut volumes = Vec::new();
        for id in s.volumes_attached.iter().filter(|v| Some(v.as_str()) != root_volume.as_deref()) {
            let Some(v) = self.volumes.volume_internal(id).await? else { continue };
            if v.status != "in-use" {
                continue;
            }
            if let Some(a) = v.attachments.iter().find(|a| a.server_id == s.id && !a.reserved && !a.device.is_empty()) {
                volumes.push(VolumeAtDevice { volume_id: id.clone(), device: a.device.clone() });
            }
        }
        let mut nics = Vec::new();
        for (port_id, _) in &s.ports {
            if let Some(p) = self.networking.port_internal(port_id).await? {
                let addresses = self.networking.nic_addresses(&p).await?;
                nics.push(NicSpec { port_id: p.id, network_id: p.network_id, mac_address: p.mac_address, addresses });
            }
        }
        Ok(ServerSpec {
            id: s.id.clone(),
            name: s.name.clone(),
            flavor_name: flavor.name.clone(),
            vcpus: flavor.vcpus,
            ram_mb: flavor.ram,
            disk_gb: flavor.disk,
            image: root,
            cloud_image,
            root_volume,
            volumes,
            kernel,
            ramdisk,
            kernel_cmdline: cmdline,
            nics,
            guest: GuestConfig {
                hostname: s.hostname.clone(),
                name: s.name.clone(),
                key_name: s.key_name.clone(),
                public_key: s.key_data.clone(),
                metadata: s.metadata.clone(),
                user_data: s.user_data.clone(),
                availability_zone: s.cloud.clone(),
                project_id: s.project_id.clone(),
            },
            start,
            fresh: false,
        })
    }
}
