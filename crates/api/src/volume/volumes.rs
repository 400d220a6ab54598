//! `/volumes`: create, list (summary and detail), show, update, delete (with `force` from
//! 3.23), `volumes/summary` (3.12), and the actions: os-extend, os-set_bootable,
//! os-update_readonly_flag, os-volume_upload_image, os-retype, os-attach/os-detach, and for admins
//! os-reset_status, os-force_delete and os-force_detach.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hybridstack_core::policy::RequestContext;
use hybridstack_core::volume::model::Volume;
use hybridstack_core::volume::{Edit, VolumeRequest};
use serde_json::{json, Map, Value};

use super::{action_of, links, metadata, require, route, text, time, Cinder, InProject, ListQuery, Result, VolMv};
use crate::compute::{bad, json_body, NovaError};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Params, Resource, View};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    routes::<Volumes>()
        .route(&route("/volumes/summary"), get(summary_of_all))
        .route(&route("/volumes/{id}/action"), post(action))
        .merge(metadata::router(metadata::Owner::Volume))
}

/// The fields later microversions add to a volume.
fn versioned(mut body: Value, mv: VolMv, admin: bool) -> Value {
    if mv.0 >= 13 {
        body["group_id"] = Value::Null;
    }
    if mv.0 >= 21 && admin {
        body["provider_id"] = Value::Null;
    }
    body
}

pub(super) fn view(base: &str, v: &Volume) -> Value {
    let attachments: Vec<Value> = v
        .attachments
        .iter()
        // Cinder lists an attachment once it is made.
        .filter(|_| matches!(v.status.as_str(), "in-use" | "detaching"))
        .map(|a| {
            json!({
                "id": v.id,
                "attachment_id": a.id,
                "volume_id": v.id,
                "server_id": a.server_id,
                "host_name": null,
                "device": a.device,
                "attached_at": time(&a.attached_at),
            })
        })
        .collect();
    json!({
        "id": v.id,
        "name": v.name,
        "description": v.description,
        "status": v.status,
        "size": v.size,
        "availability_zone": v.availability_zone,
        "created_at": time(&v.created_at),
        "updated_at": time(&v.updated_at),
        "volume_type": v.volume_type,
        "snapshot_id": v.snapshot_id,
        "source_volid": v.source_volid,
        "metadata": v.metadata,
        "bootable": if v.bootable { "true" } else { "false" },
        "encrypted": false,
        "multiattach": false,
        "replication_status": null,
        "consistencygroup_id": null,
        "migration_status": null,
        "attachments": attachments,
        "user_id": v.user_id,
        "os-vol-tenant-attr:tenant_id": v.project_id,
        "links": links(base, &v.project_id, "volumes", &v.id),
    })
}

/// Create and update answer without the extended attributes show and detail carry (as
/// Cinder does, and Tempest's schemas require).
fn created(base: &str, v: &Volume) -> Value {
    let mut body = view(base, v);
    if let Some(o) = body.as_object_mut() {
        o.remove("os-vol-tenant-attr:tenant_id");
    }
    body
}

fn summary(base: &str, v: &Volume) -> Value {
    json!({"id": v.id, "name": v.name, "links": links(base, &v.project_id, "volumes", &v.id)})
}

/// A size in GiB: a positive integer, also as a string (the CLI and Tempest send both).
fn size(v: &Value) -> Result<Option<u64>> {
    match v.get("size").or_else(|| v.get("new_size")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(format!("Invalid input received: size {n} must be a positive integer."))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad(format!("Invalid input received: size {s:?} must be a positive integer."))),
        Some(other) => Err(bad(format!("Invalid input received: size {other} must be a positive integer."))),
    }
}

struct Volumes;

impl Resource for Volumes {
    names!(Cinder, Volume, "volume", "volumes", "/volumes"; compute.volumes: show volume_get, delete volume_delete);

    fn render(st: &AppState, ctx: &RequestContext, v: &Volume, how: &How<Cinder>) -> Result<Value> {
        let base = st.public_url();
        let mut body = match how.view {
            View::Brief => return Ok(summary(base, v)),
            View::Full => versioned(view(base, v), how.version, ctx.is_admin()),
            View::Created | View::Updated => versioned(created(base, v), how.version, ctx.is_admin()),
        };
        // The volume records its cloud; Cinder shows the zone that cloud is in.
        body["availability_zone"] = st.compute.clouds.zone_of(&v.availability_zone).into();
        Ok(body)
    }

    /// The caller's volumes, filtered by the query's exact-match fields, sorted and paged.
    async fn list(st: &AppState, ctx: &RequestContext, q: &Params) -> Result<Vec<Volume>> {
        let q = ListQuery::of(q);
        let mut vols = st.compute.volumes.volume_list(ctx, q.flag("all_tenants")).await?;
        if let Some(n) = q.get("name").or_else(|| q.get("display_name")) {
            vols.retain(|v| v.name.as_deref() == Some(n));
        }
        if let Some(s) = q.get("status") {
            vols.retain(|v| v.status == s);
        }
        if let Some(p) = q.get("project_id").or_else(|| q.get("tenant_id")) {
            vols.retain(|v| v.project_id == p);
        }
        if let Some(z) = q.get("availability_zone") {
            vols.retain(|v| st.compute.clouds.answers_to(&v.availability_zone, z));
        }
        if let Some(b) = q.get("bootable") {
            let want = matches!(b.to_ascii_lowercase().as_str(), "true" | "1" | "yes");
            vols.retain(|v| v.bootable == want);
        }
        if let Some(m) = q.metadata()? {
            vols.retain(|v| m.iter().all(|(k, val)| v.metadata.get(k) == Some(val)));
        }
        q.page(vols)
    }

    async fn create(st: &AppState, ctx: &RequestContext, v: Map<String, Value>) -> Result<Volume> {
        let v = Value::Object(v);
        let r = VolumeRequest {
            size: size(&v)?,
            name: text(&v, "name")?,
            description: text(&v, "description")?,
            metadata: metadata::parse(&v, "metadata")?.unwrap_or_default(),
            volume_type: text(&v, "volume_type")?,
            availability_zone: text(&v, "availability_zone")?,
            snapshot_id: text(&v, "snapshot_id")?,
            source_volid: text(&v, "source_volid")?,
            image_id: text(&v, "imageRef")?,
        };
        Ok(st.compute.volumes.volume_create(ctx, r).await?)
    }

    async fn update(st: &AppState, ctx: &RequestContext, id: &str, v: Map<String, Value>) -> Result<Volume> {
        let v = Value::Object(v);
        let field = |k: &str| -> Result<Option<Option<String>>> { v.get(k).map(|_| text(&v, k)).transpose() };
        let (name, description, metadata) = (field("name")?, field("description")?, metadata::parse(&v, "metadata")?);
        Ok(st.compute.volumes.volume_update(ctx, id, Edit { name, description, metadata }).await?)
    }

    /// From 3.23, `?force=true` is an admin's force delete.
    async fn delete_asked(st: &AppState, ctx: &RequestContext, id: &str, q: &Params, mv: VolMv) -> Result<()> {
        let q = ListQuery::of(q);
        if q.get("force").is_some() && mv.0 >= 23 && q.flag("force") {
            return Ok(st.compute.volumes.volume_force_delete(ctx, id).await?);
        }
        Self::delete(st, ctx, id).await
    }
}

/// 3.12: how many volumes the caller has and their total size.
async fn summary_of_all(InProject(st, ctx): InProject, mv: VolMv, RawQuery(raw): RawQuery) -> Result<Response> {
    require(mv, 12)?;
    let q = ListQuery::parse(raw);
    let vols = st.compute.volumes.volume_list(&ctx, q.flag("all_tenants")).await?;
    let total: u64 = vols.iter().map(|v| v.size).sum();
    Ok(axum::Json(json!({"volume-summary": {"total_size": total, "total_count": vols.len()}})).into_response())
}

async fn action(InProject(st, ctx): InProject, Path((_, id)): Path<(String, String)>, body: Bytes) -> Result<Response> {
    let body = json_body(&body)?;
    let (name, args) = action_of(&body)?;
    match name {
        "os-extend" => {
            let new_size = size(args)?.ok_or_else(|| bad("Invalid input received: new_size is required."))?;
            st.compute.volumes.volume_extend(&ctx, &id, new_size).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-set_bootable" => {
            let b = required_bool(args, "bootable")?;
            st.compute.volumes.volume_set_flags(&ctx, &id, Some(b), None).await?;
            Ok(StatusCode::OK.into_response())
        }
        "os-volume_upload_image" => {
            let name = args
                .get("image_name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("Invalid input received: image_name is required."))?;
            let string = |k: &str| args.get(k).and_then(Value::as_str);
            let up = st
                .compute
                .volumes
                .volume_upload_image(&ctx, &id, name, string("disk_format"), string("container_format"))
                .await?;
            Ok((
                StatusCode::ACCEPTED,
                axum::Json(json!({"os-volume_upload_image": {
                    "id": up.volume.id,
                    "updated_at": time(&up.volume.updated_at),
                    "status": up.volume.status,
                    "display_description": up.volume.description,
                    "size": up.volume.size,
                    "volume_type": {"name": up.volume.volume_type},
                    "image_id": up.image_id,
                    "container_format": up.container_format,
                    "disk_format": up.disk_format,
                    "image_name": up.image_name,
                }})),
            )
                .into_response())
        }
        "os-update_readonly_flag" => {
            let r = required_bool(args, "readonly")?;
            st.compute.volumes.volume_set_flags(&ctx, &id, None, Some(r)).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-reset_status" => {
            let string = |k: &str| args.get(k).and_then(Value::as_str);
            if args.get("migration_status").is_some() {
                return Err(NovaError(hybridstack_core::CoreError::NotSupported(
                    "Volumes are not migrated on this cloud, so there is no migration_status to reset.".into(),
                )));
            }
            st.compute.volumes.volume_reset_status(&ctx, &id, string("status"), string("attach_status")).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-force_delete" => {
            st.compute.volumes.volume_force_delete(&ctx, &id).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-retype" => {
            let new_type = args
                .get("new_type")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("Invalid input received: new_type is required."))?;
            st.compute.volumes.volume_retype(&ctx, &id, new_type).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        // The actions Nova used before the attachments API: here they do the attach and
        // detach themselves (there is no separate compute service to finish them).
        "os-attach" => {
            let server = args.get("instance_uuid").and_then(Value::as_str).ok_or_else(|| {
                NovaError(hybridstack_core::CoreError::NotSupported(
                    "instance_uuid is required: volumes attach to servers of their cloud, not to hosts.".into(),
                ))
            })?;
            let device = args.get("mountpoint").and_then(Value::as_str).map(str::to_string);
            st.compute.attach_volume(&ctx, server, &id, device).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-detach" | "os-force_detach" => {
            let attachment = args.get("attachment_id").and_then(Value::as_str);
            st.compute.detach_by_attachment(&ctx, &id, attachment, name == "os-force_detach").await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        other => Err(bad(format!("There is no such action: {other}"))),
    }
}

fn required_bool(args: &Value, key: &str) -> Result<bool> {
    metadata::boolean(args, key)?.ok_or_else(|| bad(format!("Invalid input received: {key} must be a boolean.")))
}
