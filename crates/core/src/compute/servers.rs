//! Servers: create (validation, quota, the desired state and its operation in one write),
//! list with Nova's filters and keyset paging, show, update, delete, metadata and tags.

use std::collections::BTreeMap;

use hybridstack_store::servers::{ServerQuery, ServerRow};
use hybridstack_store::write::{Expect, Write};
use regex::Regex;

use super::instance_actions::action_row;
use super::model::{RequestedNetwork, Server};
use super::{new_id, now, ops, Compute};
use crate::clock::parse_iso;
use crate::operations::operation_of;
use crate::policy::RequestContext;
use crate::CoreError;

/// The networks a server asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum NetworkRequest {
    /// Nova picks: the project's one network, or none when it has none.
    #[default]
    Auto,
    None,
    List(Vec<RequestedNetwork>),
}

#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: String,
    pub image_ref: String,
    pub flavor_ref: String,
    pub networks: NetworkRequest,
    pub key_name: Option<String>,
    pub user_data: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub availability_zone: Option<String>,
    pub security_groups: Vec<String>,
    pub min_count: u32,
    pub max_count: u32,
    pub tags: Vec<String>,
    pub access_ipv4: Option<String>,
    pub access_ipv6: Option<String>,
    pub description: Option<String>,
    pub config_drive: bool,
    pub server_group: Option<String>,
    /// block_device_mapping_v2 (boot from volume, volumes made or attached at create).
    pub block_devices: Vec<super::BlockDeviceRequest>,
    /// The HTTP request's id: the instance actions of the new servers are recorded under it.
    pub request_id: String,
}

pub struct Created {
    pub servers: Vec<Server>,
    pub reservation_id: String,
}

#[derive(Debug, Clone, Default)]
pub struct ServerUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub access_ipv4: Option<String>,
    pub access_ipv6: Option<String>,
}

/// A server list request, already parsed from the query string.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub name: Option<String>,
    pub status: Option<String>,
    pub flavor: Option<String>,
    pub image: Option<String>,
    pub ip: Option<String>,
    pub ip6: Option<String>,
    pub changes_since: Option<String>,
    pub changes_before: Option<String>,
    pub availability_zone: Option<String>,
    pub tags: Vec<String>,
    pub tags_any: Vec<String>,
    pub not_tags: Vec<String>,
    pub not_tags_any: Vec<String>,
    pub all_tenants: bool,
    pub project_id: Option<String>,
    pub deleted: bool,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

pub const MAX_LIMIT: i64 = 1000;

pub(crate) fn server_not_found(id: &str) -> CoreError {
    CoreError::NotFound(format!("Instance {id} could not be found."))
}

pub(crate) fn check_name(name: &str) -> Result<(), CoreError> {
    if name.trim().is_empty() {
        return Err(CoreError::BadRequest("Invalid input for field/attribute name: the name is blank.".into()));
    }
    if name.chars().count() > 255 {
        return Err(CoreError::BadRequest(
            "Invalid input for field/attribute name: it is longer than 255 characters.".into(),
        ));
    }
    if name.trim() != name {
        return Err(CoreError::BadRequest(
            "Invalid input for field/attribute name: leading or trailing whitespace.".into(),
        ));
    }
    Ok(())
}

pub(crate) fn check_metadata(m: &BTreeMap<String, String>) -> Result<(), CoreError> {
    for (k, v) in m {
        if k.is_empty() || k.chars().count() > 255 {
            return Err(CoreError::BadRequest(format!(
                "Invalid input for field/attribute metadata: key {k:?} must have 1 to 255 characters."
            )));
        }
        if v.chars().count() > 255 {
            return Err(CoreError::BadRequest(format!(
                "Invalid input for field/attribute metadata: the value of {k:?} is longer than 255 characters."
            )));
        }
    }
    Ok(())
}

/// An access address as Nova keeps it: empty, or the address in canonical form (RFC 5952
/// for IPv6, so `0:0:0:0:0:babe:220.12.22.2` reads back as `::babe:dc0c:1602`).
fn canonical_ip(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.parse::<std::net::IpAddr>().map_or_else(|_| s.clone(), |ip| ip.to_string()))
}

fn check_access_ip(v: &Option<String>, six: bool) -> Result<(), CoreError> {
    let Some(s) = v else { return Ok(()) };
    if s.is_empty() {
        return Ok(());
    }
    let ok = match s.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => !six,
        Ok(std::net::IpAddr::V6(_)) => six,
        Err(_) => false,
    };
    if ok {
        Ok(())
    } else {
        let field = if six { "accessIPv6" } else { "accessIPv4" };
        Err(CoreError::BadRequest(format!("Invalid input for field/attribute {field}: {s:?} is not an IP address.")))
    }
}

pub(crate) fn check_tag(t: &str) -> Result<(), CoreError> {
    if t.is_empty() || t.chars().count() > 60 || t.contains('/') || t.contains(',') {
        return Err(CoreError::BadRequest(format!(
            "Invalid tag {t:?}: tags have 1 to 60 characters and no '/' or ','."
        )));
    }
    Ok(())
}

pub const MAX_TAGS: usize = 50;

/// What a server create is made of, once planned.
struct CreatePlan {
    flavor: super::model::Flavor,
    boot: super::boot_volumes::BootPlan,
    image: Option<crate::images::Image>,
    key_data: Option<String>,
    networks: Vec<RequestedNetwork>,
    network_mode: String,
    sg_names: Vec<String>,
    count: u32,
}

/// The checks a create request passes on its own, before anything is read.
fn check_create_request(r: &CreateRequest) -> Result<(), CoreError> {
    check_name(&r.name)?;
    check_metadata(&r.metadata)?;
    check_access_ip(&r.access_ipv4, false)?;
    check_access_ip(&r.access_ipv6, true)?;
    if r.description.as_ref().is_some_and(|d| d.chars().count() > 255) {
        return Err(CoreError::BadRequest("Descriptions have at most 255 characters.".into()));
    }
    for t in &r.tags {
        check_tag(t)?;
    }
    if r.tags.len() > MAX_TAGS {
        return Err(CoreError::BadRequest(format!("A server has at most {MAX_TAGS} tags.")));
    }
    if r.max_count != 0 && r.max_count < r.min_count {
        return Err(CoreError::BadRequest("min_count must be no greater than max_count.".into()));
    }
    Ok(())
}

impl Compute {
    /// A server the caller may see; deleted servers are gone (404).
    pub async fn server_get(&self, ctx: &RequestContext, id: &str) -> Result<Server, CoreError> {
        match self.server_row(id).await? {
            Some((s, row)) if row.deleted_at == 0 && ctx.sees_project(&s.project_id) => Ok(s),
            _ => Err(server_not_found(id)),
        }
    }

    /// A server the caller may change: it must see it and hold `member`.
    pub(crate) async fn server_owned(&self, ctx: &RequestContext, id: &str) -> Result<Server, CoreError> {
        let s = self.server_get(ctx, id).await?;
        ctx.require_member()?;
        Ok(s)
    }

    pub(crate) fn check_unlocked(ctx: &RequestContext, s: &Server) -> Result<(), CoreError> {
        if s.locked && !ctx.is_admin() {
            return Err(CoreError::Conflict(format!("Instance {} is locked", s.id)));
        }
        Ok(())
    }

    async fn resolve_networks(
        &self,
        ctx: &RequestContext,
        req: &NetworkRequest,
    ) -> Result<(Vec<RequestedNetwork>, String), CoreError> {
        match req {
            NetworkRequest::None => Ok((vec![], "none".into())),
            NetworkRequest::Auto => {
                let nets = self.networking.networks_for_auto(ctx).await?;
                match nets.len() {
                    0 => Ok((vec![], "auto".into())),
                    1 => Ok((
                        vec![RequestedNetwork { network_id: Some(nets[0].id.clone()), ..Default::default() }],
                        "auto".into(),
                    )),
                    _ => Err(CoreError::Conflict(
                        "Multiple possible networks found, use a Network ID to be more specific.".into(),
                    )),
                }
            }
            NetworkRequest::List(list) => {
                let mut out = Vec::new();
                for n in list {
                    let mut n = n.clone();
                    if let Some(port) = &n.port_id {
                        let p = self
                            .networking
                            .port_get(ctx, port)
                            .await
                            .map_err(|_| CoreError::BadRequest(format!("Port id {port} could not be found.")))?;
                        if !p.device_id.is_empty() {
                            return Err(CoreError::Conflict(format!(
                                "Port {port} is still in use by {}.",
                                p.device_id
                            )));
                        }
                        n.network_id = Some(p.network_id);
                    } else if let Some(net) = &n.network_id {
                        self.networking
                            .network_for_server(ctx, net)
                            .await
                            .map_err(|_| CoreError::BadRequest(format!("Network {net} could not be found.")))?;
                    } else {
                        return Err(CoreError::BadRequest("Each network needs a uuid or a port.".into()));
                    }
                    if let Some(ip) = &n.fixed_ip {
                        if ip.parse::<std::net::IpAddr>().is_err() {
                            return Err(CoreError::BadRequest(format!(
                                "Invalid input for field/attribute fixed_ip: {ip:?} is not an IP address."
                            )));
                        }
                    }
                    out.push(n);
                }
                Ok((out, String::new()))
            }
        }
    }

    /// `POST /servers`: the request checked, then planned (flavor, image, block devices,
    /// networks, quota), then written, each server with its create operation.
    pub async fn server_create(&self, ctx: &RequestContext, r: CreateRequest) -> Result<Created, CoreError> {
        ctx.require_member()?;
        let project_id = ctx
            .project_id()
            .ok_or_else(|| CoreError::Forbidden("Creating a server needs a project-scoped token.".into()))?
            .to_string();
        check_create_request(&r)?;
        let plan = self.plan_create(ctx, &project_id, &r).await?;
        self.write_create(ctx, &project_id, &r, plan).await
    }

    /// What the servers are made of: the flavor, the image and block devices, the key, the
    /// networks and groups, and how many quota allows.
    async fn plan_create(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        r: &CreateRequest,
    ) -> Result<CreatePlan, CoreError> {
        let (min, max) = (r.min_count.max(1), r.max_count.max(r.min_count.max(1)));
        let flavor = match self.flavor_get(ctx, &r.flavor_ref).await {
            Ok(f) if !f.disabled => f,
            _ => return Err(CoreError::BadRequest(format!("Flavor {} could not be found.", r.flavor_ref))),
        };
        let boot = self.plan_block_devices(ctx, &r.image_ref, r.availability_zone.as_deref(), &r.block_devices).await?;
        if !boot.devices.is_empty() && max > 1 {
            return Err(CoreError::BadRequest(
                "Several servers cannot be created at once with block device mappings to volumes.".into(),
            ));
        }
        // A volume-backed server boots with the properties of the image its volume came from.
        let boot_image = if boot.image_ref.is_empty() { boot.boot_image.clone() } else { Some(boot.image_ref.clone()) };
        let image = match &boot_image {
            Some(id) => match self.images.get(ctx, id).await {
                Ok(i) => Some(i),
                Err(_) if boot.image_ref.is_empty() => self.images.image_internal(id).await?,
                Err(_) => return Err(CoreError::BadRequest(format!("Image {id} could not be found."))),
            },
            None => None,
        };
        if let Some(image) = image.as_ref().filter(|_| !boot.image_ref.is_empty()) {
            if image.status != "active" {
                return Err(CoreError::BadRequest(format!("Image {} is not active.", image.id)));
            }
            if image.min_ram > 0 && i64::try_from(flavor.ram).unwrap_or(i64::MAX) < image.min_ram {
                return Err(CoreError::BadRequest("Flavor's memory is too small for requested image.".into()));
            }
            if image.min_disk > 0 && flavor.disk > 0 && i64::try_from(flavor.disk).unwrap_or(i64::MAX) < image.min_disk
            {
                return Err(CoreError::BadRequest("Flavor's disk is too small for requested image.".into()));
            }
        }
        let key_data = match &r.key_name {
            Some(k) => Some(
                self.keypair_get(ctx, k, None)
                    .await
                    .map_err(|_| CoreError::BadRequest(format!("Invalid key_name provided: {k}.")))?
                    .public_key,
            ),
            None => None,
        };
        if let Some(z) = r.availability_zone.as_deref().filter(|z| !z.is_empty()) {
            let (zone, host) = z.split_once(':').unwrap_or((z, ""));
            let project = ctx.project_id().unwrap_or_default();
            let mut usable = Vec::new();
            for cloud in self.clouds.clouds_in(zone).await? {
                if self.clouds.require(&cloud).await.is_ok() && self.clouds.serves(&cloud, project) {
                    usable.push(cloud);
                }
            }
            if usable.is_empty() || !(host.is_empty() || usable.iter().any(|c| c == host)) {
                return Err(CoreError::BadRequest(format!("The requested availability zone is not available: {z}")));
            }
        }
        let (networks, network_mode) = self.resolve_networks(ctx, &r.networks).await?;
        if networks.iter().filter(|n| n.port_id.is_some()).count() > 0 && max > 1 {
            return Err(CoreError::BadRequest("Multiple instances cannot share one port.".into()));
        }
        let sg_names =
            if r.security_groups.is_empty() { vec!["default".to_string()] } else { r.security_groups.clone() };
        if !networks.is_empty() {
            self.networking.resolve_security_groups(ctx, project_id, &sg_names).await?;
        }
        if !r.metadata.is_empty() {
            let limit = self.quota_limit(project_id, "metadata_items").await?;
            if limit >= 0 && i64::try_from(r.metadata.len()).unwrap_or(i64::MAX) > limit {
                return Err(CoreError::Forbidden(format!("Quota exceeded for metadata_items: at most {limit} items.")));
            }
        }
        let n = i64::from(max);
        let cores = i64::from(flavor.vcpus);
        let ram = i64::try_from(flavor.ram).unwrap_or(i64::MAX);
        // Nova creates as many as quota allows between min and max; we check the max, then the min.
        let count = if self.quota_check(project_id, n, cores * n, ram * n).await.is_ok() {
            max
        } else {
            let m = i64::from(min);
            self.quota_check(project_id, m, cores * m, ram * m).await?;
            min
        };
        Ok(CreatePlan { flavor, boot, image, key_data, networks, network_mode, sg_names, count })
    }

    /// Writes each server with its create operation and instance action, in one transaction
    /// a server, and wakes the engine.
    async fn write_create(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        r: &CreateRequest,
        p: CreatePlan,
    ) -> Result<Created, CoreError> {
        let prop = |k: &str| {
            p.image.as_ref().and_then(|i| i.properties.get(k)).and_then(|v| v.as_str()).unwrap_or_default().to_string()
        };
        let reservation_id = format!("r-{}", &new_id()[..8]);
        let ids: Vec<String> = (0..p.count).map(|_| new_id()).collect();
        if let Some(g) = &r.server_group {
            self.group_join(ctx, g, &ids).await?;
        }
        let mut created = Vec::new();
        for (i, id) in (0..p.count).zip(ids) {
            let name = if p.count > 1 { format!("{}-{}", r.name, i + 1) } else { r.name.clone() };
            let t = now();
            let s = Server {
                id: id.clone(),
                name: name.clone(),
                project_id: project_id.to_string(),
                user_id: ctx.user_id.clone(),
                vm_state: "building".into(),
                task_state: Some("scheduling".into()),
                power_state: 0,
                cloud: String::new(),
                // The volumes' cloud, when they pin one, within the zone asked for.
                requested_zone: p.boot.zone.clone().or_else(|| r.availability_zone.clone().filter(|z| !z.is_empty())),
                flavor: (&p.flavor).into(),
                old_flavor: None,
                image_id: p.boot.image_ref.clone(),
                key_name: r.key_name.clone(),
                key_data: p.key_data.clone(),
                metadata: r.metadata.clone(),
                tags: r.tags.clone(),
                user_data: r.user_data.clone(),
                access_ipv4: canonical_ip(&r.access_ipv4).unwrap_or_default(),
                access_ipv6: canonical_ip(&r.access_ipv6).unwrap_or_default(),
                description: r.description.clone(),
                locked: false,
                locked_reason: None,
                locked_by: None,
                created: t.clone(),
                updated: t,
                launched_at: None,
                terminated_at: None,
                fault: None,
                networks: p.networks.clone(),
                network_mode: p.network_mode.clone(),
                ports: vec![],
                addresses: vec![],
                security_groups: p.sg_names.clone(),
                volumes_attached: vec![],
                block_devices: p.boot.devices.clone(),
                config_drive: if r.config_drive { "True".into() } else { String::new() },
                reservation_id: reservation_id.clone(),
                launch_index: i,
                hostname: hostname_of(&name),
                kernel_id: prop("kernel_id"),
                ramdisk_id: prop("ramdisk_id"),
                server_group: r.server_group.clone(),
                pending_action: None,
            };
            let request_id = if r.request_id.is_empty() { new_id() } else { r.request_id.clone() };
            let mut s = s;
            s.pending_action = Some(request_id.clone());
            let row = Self::row_of(&s, None)?;
            let op = operation_of(&ops::CreateServer { server_id: id.clone(), request_id: Some(request_id.clone()) })?;
            let action = action_row(&s, "create", &request_id, &ctx.user_id)?;
            self.store
                .write(&Write {
                    server: Some((row, Expect::New)),
                    ops: vec![op],
                    actions: vec![action],
                    ..Default::default()
                })
                .await?;
            created.push(s);
        }
        // One idle worker per operation: waking them all would send each to claim the one op.
        for _ in &created {
            self.wake.notify_one();
        }
        Ok(Created { servers: created, reservation_id })
    }

    /// One page of servers and whether more may follow.
    pub async fn server_list(&self, ctx: &RequestContext, q: &ListQuery) -> Result<Vec<Server>, CoreError> {
        let limit = match q.limit {
            Some(l) if l < 0 => {
                return Err(CoreError::BadRequest("Invalid input for query parameters limit: must be >= 0.".into()))
            }
            Some(l) => l.min(MAX_LIMIT),
            None => MAX_LIMIT,
        };
        let admin_wide = ctx.is_admin() && (q.all_tenants || q.project_id.is_some());
        let project = if admin_wide {
            q.project_id.clone()
        } else {
            Some(ctx.project_id().ok_or_else(crate::policy::forbidden)?.to_string())
        };
        let changes_since = match &q.changes_since {
            Some(s) => Some(parse_iso(s).ok_or_else(|| {
                CoreError::BadRequest(format!(
                    "Invalid input for query parameters changes-since: {s:?} is not a date-time."
                ))
            })?),
            None => None,
        };
        let changes_before = match &q.changes_before {
            Some(s) => Some(parse_iso(s).ok_or_else(|| {
                CoreError::BadRequest(format!(
                    "Invalid input for query parameters changes-before: {s:?} is not a date-time."
                ))
            })?),
            None => None,
        };
        if let (Some(a), Some(b)) = (changes_since, changes_before) {
            if b < a {
                return Err(CoreError::BadRequest("changes-before must not be earlier than changes-since.".into()));
            }
        }
        let regex = |p: &Option<String>, what: &str| -> Result<Option<Regex>, CoreError> {
            p.as_ref()
                .map(|s| Regex::new(s).map_err(|_| CoreError::BadRequest(format!("Invalid {what} filter {s:?}."))))
                .transpose()
        };
        let name_re = regex(&q.name, "name")?;
        // Nova matches addresses with Python's re.match: anchored at the start only.
        let anchored = |p: &Option<String>| p.as_ref().map(|s| format!("^(?:{s})"));
        let ip_re = regex(&anchored(&q.ip), "ip")?;
        let ip6_re = regex(&anchored(&q.ip6), "ip6")?;
        let after = match &q.marker {
            Some(m) => match self.server_row(m).await? {
                Some((s, row)) if ctx.sees_project(&s.project_id) => Some((row.created_at, row.id)),
                _ => return Err(CoreError::BadRequest(format!("marker [{m}] not found"))),
            },
            None => None,
        };
        // Deleted servers appear only to admins who ask, and in changes-since queries.
        let deleted = if q.deleted && ctx.is_admin() {
            Some(true)
        } else if changes_since.is_some() || changes_before.is_some() {
            Some(false)
        } else {
            None
        };
        let in_app = name_re.is_some()
            || ip_re.is_some()
            || ip6_re.is_some()
            || !q.tags.is_empty()
            || !q.tags_any.is_empty()
            || !q.not_tags.is_empty()
            || !q.not_tags_any.is_empty();
        let mut sq = ServerQuery {
            project_id: project,
            deleted,
            status: q.status.clone(),
            flavor_id: q.flavor.clone(),
            image_id: q.image.clone(),
            clouds: match q.availability_zone.as_deref() {
                Some(z) => Some(self.clouds.clouds_in(z).await?),
                None => None,
            },
            changes_since,
            changes_before,
            after,
            limit: if in_app { 200 } else { limit },
        };
        let mut out = Vec::new();
        loop {
            let rows: Vec<ServerRow> = self.store.server_list(&sq).await?;
            let exhausted = i64::try_from(rows.len()).unwrap_or(0) < sq.limit;
            for row in &rows {
                let s = Self::decode(row)?;
                if in_app && !matches(&s, &name_re, &ip_re, &ip6_re, q) {
                    continue;
                }
                out.push(s);
                if i64::try_from(out.len()).unwrap_or(i64::MAX) >= limit {
                    return Ok(out);
                }
            }
            match rows.last() {
                Some(last) if !exhausted => sq.after = Some((last.created_at, last.id.clone())),
                _ => return Ok(out),
            }
        }
    }

    pub async fn server_update(&self, ctx: &RequestContext, id: &str, u: ServerUpdate) -> Result<Server, CoreError> {
        let s = self.server_owned(ctx, id).await?;
        Self::check_unlocked(ctx, &s)?;
        if let Some(n) = &u.name {
            check_name(n)?;
        }
        check_access_ip(&u.access_ipv4, false)?;
        check_access_ip(&u.access_ipv6, true)?;
        if let Some(Some(d)) = &u.description {
            if d.chars().count() > 255 {
                return Err(CoreError::BadRequest("Descriptions have at most 255 characters.".into()));
            }
        }
        self.modify(id, |s| {
            if let Some(n) = &u.name {
                s.name = n.clone();
            }
            if let Some(d) = &u.description {
                s.description = d.clone();
            }
            if let Some(a) = canonical_ip(&u.access_ipv4) {
                s.access_ipv4 = a;
            }
            if let Some(a) = canonical_ip(&u.access_ipv6) {
                s.access_ipv6 = a;
            }
            Ok((vec![], vec![]))
        })
        .await
    }

    /// Queues the server's deletion; it disappears (404) once the cloud has let it go.
    pub async fn server_delete(&self, ctx: &RequestContext, id: &str, request_id: &str) -> Result<(), CoreError> {
        let s = self.server_owned(ctx, id).await?;
        Self::check_unlocked(ctx, &s)?;
        if s.task_state.as_deref() == Some("deleting") {
            return Ok(());
        }
        let request_id = request_id.to_string();
        let user = ctx.user_id.clone();
        self.modify(id, |s| {
            s.task_state = Some("deleting".into());
            let op =
                operation_of(&ops::DeleteServer { server_id: s.id.clone(), request_id: Some(request_id.clone()) })?;
            let a = action_row(s, "delete", &request_id, &user)?;
            Ok((vec![op], vec![a]))
        })
        .await?;
        Ok(())
    }

    pub async fn server_metadata_set(
        &self,
        ctx: &RequestContext,
        id: &str,
        items: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>, CoreError> {
        let s = self.server_owned(ctx, id).await?;
        Self::check_unlocked(ctx, &s)?;
        check_metadata(&items)?;
        let limit = self.quota_limit(&s.project_id, "metadata_items").await?;
        let s = self
            .modify(id, |s| {
                if replace {
                    s.metadata = items.clone();
                } else {
                    s.metadata.extend(items.clone());
                }
                if limit >= 0 && i64::try_from(s.metadata.len()).unwrap_or(i64::MAX) > limit {
                    return Err(CoreError::Forbidden(format!(
                        "Quota exceeded for metadata_items: at most {limit} items."
                    )));
                }
                Ok((vec![], vec![]))
            })
            .await?;
        Ok(s.metadata)
    }

    pub async fn server_metadata_delete(&self, ctx: &RequestContext, id: &str, key: &str) -> Result<(), CoreError> {
        let s = self.server_owned(ctx, id).await?;
        Self::check_unlocked(ctx, &s)?;
        if !s.metadata.contains_key(key) {
            return Err(CoreError::NotFound(format!("Metadata item was not found: {key}")));
        }
        self.modify(id, |s| {
            s.metadata.remove(key);
            Ok((vec![], vec![]))
        })
        .await?;
        Ok(())
    }

    /// Replaces all tags (`Some(list)`), adds one, or removes one or all.
    pub async fn server_tags_change(
        &self,
        ctx: &RequestContext,
        id: &str,
        change: TagChange,
    ) -> Result<Vec<String>, CoreError> {
        let s = self.server_owned(ctx, id).await?;
        match &change {
            TagChange::Replace(list) => {
                for t in list {
                    check_tag(t)?;
                }
                if list.len() > MAX_TAGS {
                    return Err(CoreError::BadRequest(format!("A server has at most {MAX_TAGS} tags.")));
                }
            }
            TagChange::Add(t) => check_tag(t)?,
            TagChange::Remove(t) if !s.tags.contains(t) => {
                return Err(CoreError::NotFound(format!("Tag {t} could not be found for instance {id}.")))
            }
            _ => {}
        }
        let s = self
            .modify(id, |s| {
                match &change {
                    TagChange::Replace(list) => {
                        let mut l = list.clone();
                        l.dedup();
                        s.tags = l;
                    }
                    TagChange::Add(t) => {
                        if !s.tags.contains(t) {
                            if s.tags.len() >= MAX_TAGS {
                                return Err(CoreError::BadRequest(format!("A server has at most {MAX_TAGS} tags.")));
                            }
                            s.tags.push(t.clone());
                        }
                    }
                    TagChange::Remove(t) => s.tags.retain(|x| x != t),
                    TagChange::Clear => s.tags.clear(),
                }
                Ok((vec![], vec![]))
            })
            .await?;
        Ok(s.tags)
    }
}

#[derive(Debug, Clone)]
pub enum TagChange {
    Replace(Vec<String>),
    Add(String),
    Remove(String),
    Clear,
}

/// Nova's hostname rule: the name, lowercased, with anything not a letter, digit or '-'
/// turned into '-', trimmed to 63 characters.
fn hostname_of(name: &str) -> String {
    let h: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let h = h.trim_matches('-');
    let h: String = h.chars().take(63).collect();
    if h.is_empty() {
        "server".into()
    } else {
        h
    }
}

fn matches(s: &Server, name: &Option<Regex>, ip: &Option<Regex>, ip6: &Option<Regex>, q: &ListQuery) -> bool {
    if let Some(re) = name {
        if !re.is_match(&s.name) {
            return false;
        }
    }
    if let Some(re) = ip {
        if !s.addresses.iter().any(|a| a.version == 4 && re.is_match(&a.addr)) {
            return false;
        }
    }
    if let Some(re) = ip6 {
        if !s.addresses.iter().any(|a| a.version == 6 && re.is_match(&a.addr)) {
            return false;
        }
    }
    let has = |t: &String| s.tags.contains(t);
    if !q.tags.is_empty() && !q.tags.iter().all(has) {
        return false;
    }
    if !q.tags_any.is_empty() && !q.tags_any.iter().any(has) {
        return false;
    }
    if !q.not_tags.is_empty() && q.not_tags.iter().all(has) {
        return false;
    }
    if !q.not_tags_any.is_empty() && q.not_tags_any.iter().any(has) {
        return false;
    }
    true
}
