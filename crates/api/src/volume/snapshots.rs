//! `/snapshots`: create, list (summary and detail, filtered, sorted and paged), show,
//! update, delete, and metadata.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hybridstack_core::policy::RequestContext;
use hybridstack_core::volume::model::Snapshot;
use hybridstack_core::volume::{Edit, SnapshotRequest};
use serde_json::{json, Map, Value};

use super::{action_of, metadata, route, time, Cinder, InProject, ListQuery, Result, VolMv};
use crate::compute::{bad, json_body};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Params, Resource, View};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    routes::<Snapshots>()
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

struct Snapshots;

impl Resource for Snapshots {
    names!(Cinder, Snapshot, "snapshot", "snapshots", "/snapshots"; compute.volumes: show snapshot_get, delete snapshot_delete);

    fn render(_: &AppState, _: &RequestContext, s: &Snapshot, how: &How<Cinder>) -> Result<Value> {
        Ok(match how.view {
            View::Full => detailed(s, how.version),
            View::Brief | View::Created | View::Updated => common(s),
        })
    }

    async fn list(st: &AppState, ctx: &RequestContext, q: &Params) -> Result<Vec<Snapshot>> {
        let q = ListQuery::of(q);
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
        q.page(snaps)
    }

    async fn create(st: &AppState, ctx: &RequestContext, s: Map<String, Value>) -> Result<Snapshot> {
        let s = Value::Object(s);
        let string = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
        // Cinder looks the volume up whatever was sent, so a missing one is "not found".
        let volume_id = string("volume_id").unwrap_or_else(|| "None".into());
        let r = SnapshotRequest {
            volume_id,
            name: string("name").or_else(|| string("display_name")),
            description: string("description"),
            metadata: metadata::parse(&s, "metadata")?.unwrap_or_default(),
            force: metadata::boolean(&s, "force")?.unwrap_or(false),
        };
        Ok(st.compute.volumes.snapshot_create(ctx, r).await?)
    }

    async fn update(st: &AppState, ctx: &RequestContext, id: &str, s: Map<String, Value>) -> Result<Snapshot> {
        let field = |k: &str, alt: &str| s.get(k).or_else(|| s.get(alt)).map(|v| v.as_str().map(str::to_string));
        let (name, description) = (field("name", "display_name"), field("description", "display_description"));
        Ok(st.compute.volumes.snapshot_update(ctx, id, Edit { name, description, metadata: None }).await?)
    }
}

/// Snapshot actions: os-reset_status and os-force_delete (admin).
async fn action(InProject(st, ctx): InProject, Path((_, id)): Path<(String, String)>, body: Bytes) -> Result<Response> {
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
