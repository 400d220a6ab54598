//! `/snapshots`: create, list (summary and detail, filtered, sorted and paged), show,
//! update, delete, and metadata.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hybridstack_core::volume::model::Snapshot;
use hybridstack_core::volume::SnapshotRequest;
use serde_json::{json, Value};

use super::{action_of, check_project, metadata, object_in, route, time, ListQuery, Result, VolMv, PREFIX};
use crate::auth::Caller;
use crate::compute::{bad, json_body};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&route("/snapshots"), post(create).get(list))
        .route(&route("/snapshots/detail"), get(detail))
        .route(&route("/snapshots/{id}"), get(show).put(update).delete(delete))
        .route(&route("/snapshots/{id}/action"), post(action))
        .merge(metadata::router(metadata::Owner::Snapshot))
}

/// The body create and update answer with, and the summary list's items.
fn common(s: &Snapshot) -> Value {
    json!({
        "id": s.id,
        "volume_id": s.volume_id,
        "name": s.name,
        "description": s.description,
        "status": s.status,
        "size": s.size,
        "metadata": s.metadata,
        "created_at": time(&s.created_at),
        "updated_at": time(&s.updated_at),
    })
}

/// Show and the detail list add the extended attributes (and from 3.14 the group snapshot).
fn detailed(s: &Snapshot, mv: VolMv) -> Value {
    let mut v = common(s);
    if mv.0 >= 14 {
        v["group_snapshot_id"] = Value::Null;
    }
    v["os-extended-snapshot-attributes:project_id"] = json!(s.project_id);
    v["os-extended-snapshot-attributes:progress"] = json!(if s.status == "available" { "100%" } else { "0%" });
    v
}

async fn create(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path(project): Path<String>,
    body: Bytes,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let body = json_body(&body)?;
    let s = object_in(&body, "snapshot")?;
    let string = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
    // Cinder looks the volume up whatever was sent, so a missing one is "not found".
    let volume_id = string("volume_id").unwrap_or_else(|| "None".into());
    let r = SnapshotRequest {
        volume_id,
        name: string("name").or_else(|| string("display_name")),
        description: string("description"),
        metadata: metadata::parse(s, "metadata")?.unwrap_or_default(),
        force: metadata::boolean(s, "force")?.unwrap_or(false),
    };
    let created = st.compute.volumes.snapshot_create(&ctx, r).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({"snapshot": common(&created)}))).into_response())
}

async fn listed(
    st: &AppState,
    ctx: &hybridstack_core::policy::RequestContext,
    raw: Option<String>,
    detail: bool,
    mv: VolMv,
) -> Result<Value> {
    let q = ListQuery::parse(raw);
    let mut snaps = st.compute.volumes.snapshot_list(ctx, q.flag("all_tenants")).await?;
    if let Some(n) = q.get("name").or_else(|| q.get("display_name")) {
        snaps.retain(|s| s.name.as_deref() == Some(n));
    }
    if let Some(v) = q.get("status") {
        snaps.retain(|s| s.status == v);
    }
    if let Some(v) = q.get("volume_id") {
        snaps.retain(|s| s.volume_id == v);
    }
    if let Some(m) = q.metadata()? {
        snaps.retain(|s| m.iter().all(|(k, val)| s.metadata.get(k) == Some(val)));
    }
    let project = ctx.project_id().unwrap_or_default();
    let next_base =
        format!("{}{PREFIX}/v3/{project}/snapshots{}", st.public_url(), if detail { "/detail" } else { "" });
    let (page, next) = q.page(snaps, |s| s.id.as_str(), sort_field, &next_base)?;
    let items: Vec<Value> = page.iter().map(|s| if detail { detailed(s, mv) } else { common(s) }).collect();
    let mut body = json!({"snapshots": items});
    if let Some(n) = next {
        body["snapshots_links"] = n;
    }
    Ok(body)
}

fn sort_field(s: &Snapshot, k: &str) -> Option<String> {
    match k {
        "created_at" => Some(s.created_at.clone()),
        "updated_at" => Some(s.updated_at.clone()),
        "id" => Some(s.id.clone()),
        "name" => s.name.clone(),
        "size" => Some(format!("{:020}", s.size)),
        "status" => Some(s.status.clone()),
        _ => None,
    }
}

async fn list(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    mv: VolMv,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    Ok(axum::Json(listed(&st, &ctx, raw, false, mv).await?).into_response())
}

async fn detail(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    mv: VolMv,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    Ok(axum::Json(listed(&st, &ctx, raw, true, mv).await?).into_response())
}

async fn update(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let body = json_body(&body)?;
    let s = object_in(&body, "snapshot")?;
    let field = |k: &str, alt: &str| s.get(k).or_else(|| s.get(alt)).map(|v| v.as_str().map(str::to_string));
    let updated = st
        .compute
        .volumes
        .snapshot_update(&ctx, &id, field("name", "display_name"), field("description", "display_description"), None)
        .await?;
    Ok(axum::Json(json!({"snapshot": common(&updated)})).into_response())
}

async fn show(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    mv: VolMv,
    Path((project, id)): Path<(String, String)>,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let s = st.compute.volumes.snapshot_get(&ctx, &id).await?;
    Ok(axum::Json(json!({"snapshot": detailed(&s, mv)})).into_response())
}

/// Snapshot actions: os-reset_status and os-force_delete (admin).
async fn action(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let body = json_body(&body)?;
    let (name, args) = action_of(&body)?;
    match name {
        "os-reset_status" => {
            let status = args
                .get("status")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("Invalid input received: status is required."))?;
            st.compute.volumes.snapshot_reset_status(&ctx, &id, status).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-force_delete" => {
            st.compute.volumes.snapshot_force_delete(&ctx, &id).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        other => Err(bad(format!("There is no such action: {other}"))),
    }
}

async fn delete(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, String)>,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    st.compute.volumes.snapshot_delete(&ctx, &id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
