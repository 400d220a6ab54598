//! `/snapshots`: create, list (summary and detail), show, delete.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hybridstack_core::volume::model::Snapshot;
use hybridstack_core::volume::SnapshotRequest;
use serde_json::{json, Value};

use super::{check_project, links, route, time, Result};
use crate::auth::Caller;
use crate::compute::{bad, json_body};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&route("/snapshots"), post(create).get(list))
        .route(&route("/snapshots/detail"), get(detail))
        .route(&route("/snapshots/{id}"), get(show).delete(delete))
}

fn view(base: &str, s: &Snapshot) -> Value {
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
        "os-extended-snapshot-attributes:project_id": s.project_id,
        "os-extended-snapshot-attributes:progress": if s.status == "available" { "100%" } else { "0%" },
        "links": links(base, &s.project_id, "snapshots", &s.id),
    })
}

/// Cinder's `force` flag, as a boolean or its string forms.
fn force(v: &Value) -> Result<bool> {
    match v.get("force") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "y" | "t" => Ok(true),
            "false" | "0" | "no" | "off" | "n" | "f" => Ok(false),
            _ => Err(bad(format!("Invalid value {s:?} for force."))),
        },
        Some(other) => Err(bad(format!("Invalid value {other} for force."))),
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
    let s = body
        .get("snapshot")
        .filter(|v| v.is_object())
        .ok_or_else(|| bad("The request body must hold a snapshot object."))?;
    let string = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
    let volume_id = string("volume_id").ok_or_else(|| bad("Invalid input received: volume_id is required."))?;
    let metadata = match s.get("metadata") {
        Some(Value::Object(m)) => {
            m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
        }
        _ => Default::default(),
    };
    let r = SnapshotRequest {
        volume_id,
        name: string("name").or_else(|| string("display_name")),
        description: string("description"),
        metadata,
        force: force(s)?,
    };
    let created = st.compute.volumes.snapshot_create(&ctx, r).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({"snapshot": view(st.public_url(), &created)}))).into_response())
}

async fn listed(st: &AppState, ctx: &hybridstack_core::policy::RequestContext) -> Result<Vec<Snapshot>> {
    let mut snaps = st.compute.volumes.snapshot_list(ctx, false).await?;
    snaps.reverse();
    Ok(snaps)
}

async fn list(State(st): State<AppState>, Caller(ctx): Caller, Path(project): Path<String>) -> Result<Response> {
    check_project(&ctx, &project)?;
    let items: Vec<Value> = listed(&st, &ctx).await?.iter().map(|s| view(st.public_url(), s)).collect();
    Ok(axum::Json(json!({"snapshots": items})).into_response())
}

async fn detail(State(st): State<AppState>, Caller(ctx): Caller, Path(project): Path<String>) -> Result<Response> {
    list(State(st), Caller(ctx), Path(project)).await
}

async fn show(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, String)>,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    let s = st.compute.volumes.snapshot_get(&ctx, &id).await?;
    Ok(axum::Json(json!({"snapshot": view(st.public_url(), &s)})).into_response())
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
