//! `POST /servers/{id}/action`: each action checks the server's state as Nova does (a 409
//! naming the state otherwise), checks the cloud can do it (a 409 naming the cloud), then
//! records the task state and queues the operation in one write.

use std::collections::BTreeMap;

use hybridstack_driver::ComputeCapabilities;
use serde_json::json;

use super::instance_actions::action_row;
use super::model::Server;
use super::servers::{check_metadata, check_name};
use super::{ops, Compute};
use crate::images::NewImage;
use crate::operations::{operation_of, Params};
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Clone)]
pub enum ServerAction {
    Start,
    Stop,
    Reboot {
        hard: bool,
    },
    Pause,
    Unpause,
    Suspend,
    Resume,
    Rebuild {
        image_ref: String,
        name: Option<String>,
        metadata: Option<BTreeMap<String, String>>,
        access_ipv4: Option<String>,
        access_ipv6: Option<String>,
        description: Option<Option<String>>,
    },
    Resize {
        flavor_ref: String,
    },
    ConfirmResize,
    RevertResize,
    CreateImage {
        name: String,
        metadata: BTreeMap<String, String>,
    },
    Lock {
        reason: Option<String>,
    },
    Unlock,
}

impl ServerAction {
    /// Nova's instance-action name.
    fn name(&self) -> &'static str {
        match self {
            ServerAction::Start => "start",
            ServerAction::Stop => "stop",
            ServerAction::Reboot { .. } => "reboot",
            ServerAction::Pause => "pause",
            ServerAction::Unpause => "unpause",
            ServerAction::Suspend => "suspend",
            ServerAction::Resume => "resume",
            ServerAction::Rebuild { .. } => "rebuild",
            ServerAction::Resize { .. } => "resize",
            ServerAction::ConfirmResize => "confirmResize",
            ServerAction::RevertResize => "revertResize",
            ServerAction::CreateImage { .. } => "createImage",
            ServerAction::Lock { .. } => "lock",
            ServerAction::Unlock => "unlock",
        }
    }

    /// vm_states the action may start from.
    fn allowed(&self) -> &'static [&'static str] {
        match self {
            ServerAction::Start => &["stopped"],
            ServerAction::Stop => &["active", "paused", "suspended", "error"],
            ServerAction::Reboot { hard: false } => &["active"],
            ServerAction::Reboot { hard: true } => &["active", "stopped", "paused", "suspended", "error"],
            ServerAction::Pause | ServerAction::Suspend => &["active"],
            ServerAction::Unpause => &["paused"],
            ServerAction::Resume => &["suspended"],
            ServerAction::Rebuild { .. } => &["active", "stopped", "error"],
            ServerAction::Resize { .. } => &["active", "stopped"],
            ServerAction::ConfirmResize | ServerAction::RevertResize => &["resized"],
            ServerAction::CreateImage { .. } => &["active", "stopped", "paused", "suspended"],
            ServerAction::Lock { .. } | ServerAction::Unlock => {
                &["active", "stopped", "paused", "suspended", "resized", "error", "building"]
            }
        }
    }

    /// The cloud capability the action needs, if any.
    fn needs(&self, c: &ComputeCapabilities) -> Option<bool> {
        match self {
            ServerAction::Pause | ServerAction::Unpause => Some(c.pause),
            ServerAction::Suspend | ServerAction::Resume => Some(c.suspend),
            ServerAction::Resize { .. } | ServerAction::ConfirmResize | ServerAction::RevertResize => Some(c.resize),
            ServerAction::CreateImage { .. } => Some(c.snapshot),
            _ => None,
        }
    }
}

/// The task state a power action shows while it runs.
fn power_task(action: &ServerAction) -> &'static str {
    match action {
        ServerAction::Start => "powering-on",
        ServerAction::Stop => "powering-off",
        ServerAction::Reboot { hard: false } => "rebooting",
        ServerAction::Reboot { hard: true } => "rebooting_hard",
        ServerAction::Pause => "pausing",
        ServerAction::Unpause => "unpausing",
        ServerAction::Suspend => "suspending",
        ServerAction::Resume => "resuming",
        // Only the power actions above are asked for their task.
        _ => "",
    }
}

fn state_conflict(s: &Server, action: &str) -> CoreError {
    match &s.task_state {
        Some(t) => CoreError::Conflict(format!("Cannot '{action}' instance {} while it is in task_state {t}", s.id)),
        None => {
            CoreError::Conflict(format!("Cannot '{action}' instance {} while it is in vm_state {}", s.id, s.vm_state))
        }
    }
}

impl Compute {
    /// Runs an action; returns the new image's id for `createImage`. Lock and unlock change
    /// the record only; the others check the server may take the action on its cloud, then
    /// queue the operation that carries it out.
    pub async fn server_action(
        &self,
        ctx: &RequestContext,
        id: &str,
        action: ServerAction,
        request_id: &str,
    ) -> Result<Option<String>, CoreError> {
        let s = self.server_owned(ctx, id).await?;
        match &action {
            ServerAction::Lock { reason } => return self.lock(ctx, id, reason.clone(), request_id).await.map(|_| None),
            ServerAction::Unlock => return self.unlock(ctx, &s, request_id).await.map(|_| None),
            _ => {}
        }
        self.check_action(ctx, &s, &action).await?;
        let (server_id, rid) = (s.id.clone(), Some(request_id.to_string()));
        match &action {
            ServerAction::Rebuild { .. } => self.rebuild(ctx, &s, &action, request_id).await.map(|_| None),
            ServerAction::CreateImage { name, metadata } => {
                self.create_image(ctx, &s, name, metadata, request_id).await.map(Some)
            }
            ServerAction::Resize { flavor_ref } => {
                let flavor_id = self.resize_flavor(ctx, &s, flavor_ref).await?;
                let p = ops::ResizeServer { server_id, request_id: rid, flavor_id };
                self.queue_action(ctx, &action, "resize_prep", p, request_id).await
            }
            ServerAction::ConfirmResize => {
                let p = ops::ConfirmResize { server_id, request_id: rid };
                self.queue_action(ctx, &action, "resize_confirming", p, request_id).await
            }
            ServerAction::RevertResize => {
                let p = ops::RevertResize { server_id, request_id: rid };
                self.queue_action(ctx, &action, "resize_reverting", p, request_id).await
            }
            other => {
                let hard = matches!(other, ServerAction::Reboot { hard: true });
                let p = ops::PowerServer { server_id, request_id: rid, action: other.name().into(), hard };
                self.queue_action(ctx, &action, power_task(other), p, request_id).await
            }
        }
    }

    async fn lock(
        &self,
        ctx: &RequestContext,
        id: &str,
        reason: Option<String>,
        request_id: &str,
    ) -> Result<(), CoreError> {
        if reason.as_ref().is_some_and(|r| r.chars().count() > 255) {
            return Err(CoreError::BadRequest("A lock reason has at most 255 characters.".into()));
        }
        let (user, admin) = (ctx.user_id.clone(), ctx.is_admin());
        self.modify(id, |s| {
            s.locked = true;
            s.locked_reason = reason.clone();
            s.locked_by = Some(if admin { "admin".into() } else { "owner".into() });
            let a = action_row(s, "lock", request_id, &user)?;
            Ok((vec![], vec![a]))
        })
        .await
        .map(|_| ())
    }

    async fn unlock(&self, ctx: &RequestContext, s: &Server, request_id: &str) -> Result<(), CoreError> {
        if s.locked && s.locked_by.as_deref() == Some("admin") && !ctx.is_admin() {
            return Err(CoreError::Forbidden("The server was locked by an administrator.".into()));
        }
        let user = ctx.user_id.clone();
        self.modify(&s.id, |s| {
            s.locked = false;
            s.locked_reason = None;
            s.locked_by = None;
            let a = action_row(s, "unlock", request_id, &user)?;
            Ok((vec![], vec![a]))
        })
        .await
        .map(|_| ())
    }

    /// Whether the server may take the action now: unlocked, in a state that allows it, on
    /// an available cloud that supports it, and with an image root where the action needs one.
    async fn check_action(&self, ctx: &RequestContext, s: &Server, action: &ServerAction) -> Result<(), CoreError> {
        let (name, id) = (action.name(), &s.id);
        Self::check_unlocked(ctx, s)?;
        if s.task_state.is_some() || !action.allowed().contains(&s.vm_state.as_str()) {
            return Err(state_conflict(s, name));
        }
        let cloud = self.clouds.require(&s.cloud).await.map_err(|_| {
            CoreError::Conflict(format!("Cannot '{name}' instance {id}: it is not placed on an available cloud."))
        })?;
        if action.needs(&cloud.compute.capabilities()) == Some(false) {
            return Err(CoreError::Conflict(format!(
                "Cannot '{name}' instance {id}: not supported by cloud {} ({}).",
                cloud.name, cloud.kind
            )));
        }
        // Its root is a volume: there is no image disk to rebuild or copy into an image.
        if s.root_volume().is_some()
            && matches!(action, ServerAction::Rebuild { .. } | ServerAction::CreateImage { .. })
        {
            return Err(CoreError::NotSupported(format!(
                "Cannot '{name}' instance {id}: it boots from volume {}; not supported by this cloud for a \
                 volume-backed server (snapshot the volume instead).",
                s.root_volume().unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// Writes the server's task state, its instance action and the operation, in one go.
    async fn queue_action<P: Params>(
        &self,
        ctx: &RequestContext,
        action: &ServerAction,
        task: &str,
        params: P,
        request_id: &str,
    ) -> Result<Option<String>, CoreError> {
        let name = action.name();
        let user = ctx.user_id.clone();
        self.modify(params.resource_id(), |s| {
            if s.task_state.is_some() || !action.allowed().contains(&s.vm_state.as_str()) {
                return Err(state_conflict(s, name));
            }
            s.task_state = Some(task.into());
            s.pending_action = Some(request_id.to_string());
            let op = operation_of(&params)?;
            let a = action_row(s, name, request_id, &user)?;
            Ok((vec![op], vec![a]))
        })
        .await
        .map(|_| None)
    }

    async fn rebuild(
        &self,
        ctx: &RequestContext,
        s: &Server,
        action: &ServerAction,
        request_id: &str,
    ) -> Result<(), CoreError> {
        let ServerAction::Rebuild { image_ref, name, metadata, access_ipv4, access_ipv6, description } = action else {
            return Err(CoreError::Internal("rebuild without its request".into()));
        };
        if let Some(n) = name {
            check_name(n)?;
        }
        if let Some(m) = metadata {
            check_metadata(m)?;
        }
        let image = match self.images.get(ctx, image_ref).await {
            Ok(i) if i.status == "active" => i,
            _ => return Err(CoreError::BadRequest(format!("Image {image_ref} could not be found."))),
        };
        let params = ops::RebuildServer {
            server_id: s.id.clone(),
            request_id: Some(request_id.into()),
            image_id: image.id.clone(),
        };
        let prop = |k: &str| image.properties.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let (kernel, ramdisk) = (prop("kernel_id"), prop("ramdisk_id"));
        let user = ctx.user_id.clone();
        self.modify(&s.id, |s| {
            if s.task_state.is_some() {
                return Err(state_conflict(s, "rebuild"));
            }
            if let Some(n) = name {
                s.name = n.clone();
            }
            if let Some(m) = metadata {
                s.metadata = m.clone();
            }
            if let Some(a) = access_ipv4 {
                s.access_ipv4 = a.clone();
            }
            if let Some(a) = access_ipv6 {
                s.access_ipv6 = a.clone();
            }
            if let Some(d) = description {
                s.description = d.clone();
            }
            s.image_id = image.id.clone();
            s.kernel_id = kernel.clone();
            s.ramdisk_id = ramdisk.clone();
            s.task_state = Some("rebuilding".into());
            s.pending_action = Some(request_id.to_string());
            let op = operation_of(&params)?;
            let a = action_row(s, "rebuild", request_id, &user)?;
            Ok((vec![op], vec![a]))
        })
        .await
        .map(|_| ())
    }

    /// The flavor a resize goes to, checked: another one, no smaller disk, within quota.
    async fn resize_flavor(&self, ctx: &RequestContext, s: &Server, flavor_ref: &str) -> Result<String, CoreError> {
        let flavor = match self.flavor_get(ctx, flavor_ref).await {
            Ok(f) => f,
            Err(_) => return Err(CoreError::BadRequest(format!("Flavor {flavor_ref} could not be found."))),
        };
        if flavor.id == s.flavor.id {
            return Err(CoreError::BadRequest("When resizing, instances must change flavor!".into()));
        }
        if flavor.disk > 0 && flavor.disk < s.flavor.disk {
            return Err(CoreError::BadRequest("Resizing to a smaller disk is not possible.".into()));
        }
        let more_cores = i64::from(flavor.vcpus) - i64::from(s.flavor.vcpus);
        let more_ram = i64::try_from(flavor.ram).unwrap_or(i64::MAX) - i64::try_from(s.flavor.ram).unwrap_or(0);
        self.quota_check(&s.project_id, 0, more_cores, more_ram).await?;
        Ok(flavor.id)
    }

    /// `createImage`: the image record first, then the snapshot operation; returns its id.
    async fn create_image(
        &self,
        ctx: &RequestContext,
        s: &Server,
        image_name: &str,
        metadata: &BTreeMap<String, String>,
        request_id: &str,
    ) -> Result<String, CoreError> {
        if image_name.trim().is_empty() || image_name.chars().count() > 255 {
            return Err(CoreError::BadRequest("Image names have 1 to 255 characters.".into()));
        }
        check_metadata(metadata)?;
        let image_id = self.snapshot_image(ctx, s, image_name, metadata).await?;
        let params = ops::SnapshotServer {
            server_id: s.id.clone(),
            request_id: Some(request_id.into()),
            image_id: image_id.clone(),
        };
        let user = ctx.user_id.clone();
        let queued = self
            .modify(&s.id, |s| {
                if s.task_state.is_some() {
                    return Err(state_conflict(s, "createImage"));
                }
                s.task_state = Some("image_snapshot".into());
                s.pending_action = Some(request_id.to_string());
                let op = operation_of(&params)?;
                let a = action_row(s, "createImage", request_id, &user)?;
                Ok((vec![op], vec![a]))
            })
            .await;
        if let Err(e) = queued {
            // The image record would otherwise stay queued forever.
            let _ = self.images.delete(ctx, &image_id).await;
            return Err(e);
        }
        Ok(image_id)
    }

    /// The Glance record a snapshot fills: queued, owned by the server's project, carrying
    /// Nova's snapshot properties and the base image's boot properties.
    async fn snapshot_image(
        &self,
        ctx: &RequestContext,
        s: &Server,
        name: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<String, CoreError> {
        let base = self.images.image_internal(&s.image_id).await?;
        let mut props = crate::Extra::new();
        if let Some(b) = &base {
            for k in
                ["kernel_id", "ramdisk_id", "os_command_line", "os_distro", "os_type", "architecture", "hw_disk_bus"]
            {
                if let Some(v) = b.properties.get(k) {
                    props.insert(k.into(), v.clone());
                }
            }
        }
        props.insert("image_type".into(), json!("snapshot"));
        props.insert("instance_uuid".into(), json!(s.id));
        props.insert("base_image_ref".into(), json!(s.image_id));
        props.insert("user_id".into(), json!(s.user_id));
        // What the user asked for wins over Nova's own properties, as in Nova.
        for (k, v) in metadata {
            props.insert(k.clone(), json!(v));
        }
        let image = self
            .images
            .create(
                ctx,
                NewImage {
                    name: Some(name.into()),
                    visibility: Some("private".into()),
                    container_format: Some("bare".into()),
                    disk_format: Some("qcow2".into()),
                    min_disk: i64::try_from(s.flavor.disk).unwrap_or(0),
                    min_ram: base.as_ref().map_or(0, |b| b.min_ram),
                    properties: props,
                    ..Default::default()
                },
            )
            .await?;
        Ok(image.id)
    }

    /// The guest's serial console output (synchronous: nothing changes).
    pub async fn console_output(
        &self,
        ctx: &RequestContext,
        id: &str,
        lines: Option<usize>,
    ) -> Result<String, CoreError> {
        let s = self.server_owned(ctx, id).await?;
        if s.vm_state == "building" || s.cloud.is_empty() {
            return Err(CoreError::Conflict(format!("Instance {id} is not ready yet.")));
        }
        let cloud = self.clouds.require(&s.cloud).await?;
        if !cloud.compute.capabilities().console_output {
            return Err(CoreError::Conflict(format!(
                "Console output is not supported by cloud {} ({}).",
                cloud.name, cloud.kind
            )));
        }
        cloud.compute.console_output(id, lines).await.map_err(super::lifecycle::driver_error)
    }
}

impl Compute {
    /// Nova's addSecurityGroup / removeSecurityGroup: the group goes on (or off) every port
    /// of the server, and into (or out of) the server's list.
    pub async fn server_security_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        group: &str,
        add: bool,
    ) -> Result<(), CoreError> {
        let s = self.server_owned(ctx, id).await?;
        let gid = match self.networking.resolve_security_groups(ctx, &s.project_id, &[group.to_string()]).await {
            Ok(ids) => ids.into_iter().next().unwrap_or_default(),
            Err(_) => {
                return Err(CoreError::NotFound(format!(
                    "Security group {group} not found for project {}.",
                    s.project_id
                )))
            }
        };
        let listed = s.security_groups.iter().any(|n| n == group || *n == gid);
        if !add && !listed {
            return Err(CoreError::NotFound(format!("Security group {group} is not associated with the instance.")));
        }
        for (port, _) in &s.ports {
            self.networking.port_security_group(port, &gid, add).await?;
        }
        let g = group.to_string();
        self.modify(id, |s| {
            if add {
                if !s.security_groups.contains(&g) {
                    s.security_groups.push(g.clone());
                }
            } else {
                s.security_groups.retain(|n| *n != g);
            }
            Ok((vec![], vec![]))
        })
        .await?;
        Ok(())
    }
}
