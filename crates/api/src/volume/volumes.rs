//! `/volumes`: create, list (summary and detail), show, update, delete, and the actions
//! served so far (`os-extend`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hybridstack_core::volume::model::Volume;
use hybridstack_core::volume::VolumeRequest;
use serde_json::{json, Value};

use super::{check_project, links, route, time, Result};
use crate::auth::Caller;
use crate::compute::{bad, json_body};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&route("/volumes"), post(create).get(list))
        .route(&route("/volumes/detail"), get(detail))
        .route(&route("/volumes/{id}"), get(show).put(update).delete(delete))
        .route(&route("/volumes/{id}/action"), post(action))
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

fn summary(base: &str, v: &Volume) -> Value {
    json!({"id": v.id, "name": v.name, "links": links(base, &v.project_id, "volumes", &v.id)})
}

fn text(v: &Value, key: &str) -> Result<Option<String>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(format!("Invalid input received: {key} must be a string, not {other}."))),
    }
}

fn metadata(v: &Value) -> Result<Option<BTreeMap<String, String>>> {
    match v.get("metadata") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => {
                    Err(bad(format!("Invalid input received: metadata value of {k} must be a string, not {other}.")))
                }
            })
            .collect::<Result<BTreeMap<_, _>>>()
            .map(Some),
        Some(_) => Err(bad("Invalid input received: metadata must be an object.")),
    }
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

async fn create(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
    body: Bytes,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let body = json_body(&body)?;
    let v = body
        .get("volume")
        .filter(|v| v.is_object())
        .ok_or_else(|| bad("The request body must hold a volume object."))?;
    let r = VolumeRequest {
        size: size(v)?,
        name: text(v, "name")?,
        description: text(v, "description")?,
        metadata: metadata(v)?.unwrap_or_default(),
        volume_type: text(v, "volume_type")?,
        availability_zone: text(v, "availability_zone")?,
        snapshot_id: text(v, "snapshot_id")?,
        source_volid: text(v, "source_volid")?,
        image_id: text(v, "imageRef")?,
    };
    let created = st.compute.volumes.volume_create(&ctx, r).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({"volume": view(st.public_url(), &created)}))).into_response())
}

/// The caller's volumes, filtered by the query's exact-match fields and paged by marker.
async fn listed(
    st: &AppState,
    ctx: &hybridstack_core::policy::RequestContext,
    raw: Option<String>,
) -> Result<Vec<Volume>> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let all = get("all_tenants").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let mut vols = st.compute.volumes.volume_list(ctx, all).await?;
    // Cinder lists newest first.
    vols.reverse();
    if let Some(n) = get("name") {
        vols.retain(|v| v.name.as_deref() == Some(n.as_str()));
    }
    if let Some(s) = get("status") {
        vols.retain(|v| v.status == s);
    }
    if let Some(z) = get("availability_zone") {
        vols.retain(|v| v.availability_zone == z);
    }
    if let Some(m) = get("marker") {
        let at = vols.iter().position(|v| v.id == m).ok_or_else(|| bad(format!("marker [{m}] not found")))?;
        vols.drain(..=at);
    }
    if let Some(l) = get("limit") {
        let l: usize =
            l.parse().map_err(|_| bad(format!("Invalid input received: limit {l:?} must be an integer.")))?;
        vols.truncate(l);
    }
    Ok(vols)
}

async fn list(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let vols = listed(&st, &ctx, raw).await?;
    let items: Vec<Value> = vols.iter().map(|v| summary(st.public_url(), v)).collect();
    Ok(axum::Json(json!({"volumes": items})).into_response())
}

async fn detail(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let vols = listed(&st, &ctx, raw).await?;
    let items: Vec<Value> = vols.iter().map(|v| view(st.public_url(), v)).collect();
    Ok(axum::Json(json!({"volumes": items})).into_response())
}

async fn show(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, String)>,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let v = st.compute.volumes.volume_get(&ctx, &id).await?;
    Ok(axum::Json(json!({"volume": view(st.public_url(), &v)})).into_response())
}

async fn update(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let body = json_body(&body)?;
    let v = body
        .get("volume")
        .filter(|v| v.is_object())
        .ok_or_else(|| bad("The request body must hold a volume object."))?;
    let field = |k: &str| -> Result<Option<Option<String>>> { v.get(k).map(|_| text(v, k)).transpose() };
    let updated =
        st.compute.volumes.volume_update(&ctx, &id, field("name")?, field("description")?, metadata(v)?).await?;
    Ok(axum::Json(json!({"volume": view(st.public_url(), &updated)})).into_response())
}

async fn delete(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, String)>,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    st.compute.volumes.volume_delete(&ctx, &id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn action(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let body = json_body(&body)?;
    let Some((name, args)) = body.as_object().and_then(|o| o.iter().next()) else {
        return Err(bad("The request body must name one action."));
    };
    match name.as_str() {
        "os-extend" => {
            let new_size = size(args)?.ok_or_else(|| bad("Invalid input received: new_size is required."))?;
            st.compute.volumes.volume_extend(&ctx, &id, new_size).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        other => Err(bad(format!("There is no such action: {other}"))),
    }
}
