//! `/attachments` (3.27+): Cinder's attachments API. An attachment with an `instance_uuid`
//! and no connector reserves the volume for that server; given a connector (at create or
//! by update) the volume is hot-plugged into the server, as Nova would after asking Cinder.
//! Deleting it lets a reservation go or detaches the volume.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::policy::RequestContext;
use hybridstack_core::volume::model::{Attachment, Volume};
use serde_json::{json, Value};

use super::{object_in, require, route, time, InProject, ListQuery, Result, VolMv};
use crate::compute::{bad, json_body, NovaError};
use crate::AppState;

const MIN: u16 = 27;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&route("/attachments"), get(list::<false>).post(create))
        .route(&route("/attachments/detail"), get(list::<true>))
        .route(&route("/attachments/{id}"), get(show).put(update).delete(delete))
}

fn status(v: &Volume, a: &Attachment) -> &'static str {
    if a.reserved {
        return "reserved";
    }
    match v.status.as_str() {
        "attaching" => "attaching",
        "detaching" => "detaching",
        _ => "attached",
    }
}

fn summary(v: &Volume, a: &Attachment) -> Value {
    json!({"id": a.id, "status": status(v, a), "instance": a.server_id, "volume_id": v.id})
}

fn detailed(v: &Volume, a: &Attachment) -> Value {
    let mut out = summary(v, a);
    out["attached_at"] = if a.reserved { Value::Null } else { json!(time(&a.attached_at)) };
    out["detached_at"] = Value::Null;
    out["attach_mode"] = json!(if v.readonly { "ro" } else { "rw" });
    // What the cloud did, in place of the host connection Cinder hands to Nova: the guest
    // sees the volume at this device of this server.
    out["connection_info"] = if a.reserved {
        json!({})
    } else {
        json!({"driver_volume_type": "hybridstack", "data": {"server_id": a.server_id, "device": a.device}})
    };
    out
}

/// Every attachment of the caller's volumes, with its volume.
async fn all(st: &AppState, ctx: &RequestContext, q: &ListQuery) -> Result<Vec<(Volume, Attachment)>> {
    let vols = st.compute.volumes.volume_list(ctx, q.flag("all_tenants")).await?;
    let mut out = Vec::new();
    for v in vols {
        for a in v.attachments.clone() {
            // Nova's path shows an attachment once it is being made, not before.
            if !a.reserved && v.status == "available" {
                continue;
            }
            out.push((v.clone(), a));
        }
    }
    out.retain(|(v, a)| {
        q.get("volume_id").is_none_or(|x| x == v.id)
            && q.get("instance_id").is_none_or(|x| x == a.server_id)
            && q.get("status").is_none_or(|x| x == status(v, a))
    });
    Ok(out)
}

async fn one(st: &AppState, ctx: &RequestContext, id: &str) -> Result<(Volume, Attachment)> {
    all(st, ctx, &ListQuery::parse(None))
        .await?
        .into_iter()
        .find(|(_, a)| a.id == id)
        .ok_or_else(|| NovaError(hybridstack_core::CoreError::NotFound(format!("Attachment {id} could not be found."))))
}

async fn listed(st: &AppState, ctx: &RequestContext, raw: Option<String>, detail: bool) -> Result<Response> {
    let q = ListQuery::parse(raw);
    let items: Vec<Value> =
        all(st, ctx, &q).await?.iter().map(|(v, a)| if detail { detailed(v, a) } else { summary(v, a) }).collect();
    Ok(axum::Json(json!({"attachments": items})).into_response())
}

/// The attachments, in summary or (`DETAIL`) in full.
async fn list<const DETAIL: bool>(
    InProject(st, ctx): InProject,
    mv: VolMv,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    require(mv, MIN)?;
    listed(&st, &ctx, raw, DETAIL).await
}

async fn show(InProject(st, ctx): InProject, mv: VolMv, Path((_, id)): Path<(String, String)>) -> Result<Response> {
    require(mv, MIN)?;
    let (v, a) = one(&st, &ctx, &id).await?;
    Ok(axum::Json(json!({"attachment": detailed(&v, &a)})).into_response())
}

/// The connector, when one is given; an empty one is none (as Cinder reads it).
fn connector(a: &Value) -> Result<Option<&Value>> {
    match a.get("connector") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) if m.is_empty() => Ok(None),
        Some(c) if c.is_object() => Ok(Some(c)),
        Some(other) => Err(bad(format!("Invalid input received: connector must be an object, not {other}."))),
    }
}

async fn create(InProject(st, ctx): InProject, mv: VolMv, body: Bytes) -> Result<Response> {
    require(mv, MIN)?;
    let body = json_body(&body)?;
    let a = object_in(&body, "attachment")?;
    let volume_id = a
        .get("volume_uuid")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Invalid input received: volume_uuid is required."))?;
    // The volume is only ever exported into a server of its own cloud; a bare host
    // connector has nothing on our clouds to connect to.
    let server_id = a.get("instance_uuid").and_then(Value::as_str).ok_or_else(|| {
        NovaError(hybridstack_core::CoreError::NotSupported(
            "instance_uuid is required: volumes attach to servers of their cloud, not to other hosts.".into(),
        ))
    })?;
    if let Some(m) = a.get("mode").and_then(Value::as_str).filter(|m| !matches!(*m, "rw" | "ro")) {
        return Err(bad(format!("Invalid input received: mode {m:?} must be rw or ro.")));
    }
    let id = match connector(a)? {
        None => st.compute.reserve_volume(&ctx, server_id, volume_id).await?.id,
        Some(_) => st.compute.attach_volume(&ctx, server_id, volume_id, None).await?.0,
    };
    let (v, att) = one(&st, &ctx, &id).await?;
    Ok(axum::Json(json!({"attachment": detailed(&v, &att)})).into_response())
}

/// Giving a reservation its connector attaches the volume.
async fn update(
    InProject(st, ctx): InProject,
    mv: VolMv,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    require(mv, MIN)?;
    let body = json_body(&body)?;
    let a = object_in(&body, "attachment")?;
    if connector(a)?.is_none() {
        return Err(bad("Invalid input received: connector is required."));
    }
    let (v, att) = one(&st, &ctx, &id).await?;
    if !att.reserved {
        return Err(bad(format!("Invalid volume: attachment {id} is already connected.")));
    }
    st.compute.attach_volume(&ctx, &att.server_id, &v.id, None).await?;
    let (v, att) = one(&st, &ctx, &id).await?;
    Ok(axum::Json(json!({"attachment": detailed(&v, &att)})).into_response())
}

async fn delete(InProject(st, ctx): InProject, mv: VolMv, Path((_, id)): Path<(String, String)>) -> Result<Response> {
    require(mv, MIN)?;
    let (v, _) = one(&st, &ctx, &id).await?;
    st.compute.end_attachment(&ctx, &v.id, &id).await?;
    let left: Vec<Value> = all(&st, &ctx, &ListQuery::parse(None))
        .await?
        .iter()
        .filter(|(x, a)| x.id == v.id && a.id != id)
        .map(|(x, a)| summary(x, a))
        .collect();
    Ok(axum::Json(json!({"attachments": left})).into_response())
}
