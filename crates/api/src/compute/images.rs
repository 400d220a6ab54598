//! Nova's image proxy `/images` (deprecated upstream, still what Tempest's compute tests
//! read at 2.1): Glance images in Nova's shape.

use crate::routes::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::clock::iso;
use hybridstack_core::images::Image;
use serde_json::{json, Map, Value};

use super::{path, views, Mv, NovaError, Result};
use crate::auth::Call;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(&path("/images/{id}"), get(show).delete(remove))
}

fn proxy(mv: Mv) -> Result<()> {
    if mv.at_least(36) {
        return Err(NovaError(hybridstack_core::CoreError::NotFound(
            "The image proxy API was removed in microversion 2.36; use the image service.".into(),
        )));
    }
    Ok(())
}

fn view(base: &str, i: &Image) -> Value {
    let (status, progress) = match i.status.as_str() {
        "active" => ("ACTIVE", 100),
        "queued" => ("SAVING", 25),
        "saving" | "importing" | "uploading" => ("SAVING", 50),
        "deleted" | "pending_delete" => ("DELETED", 0),
        "killed" => ("ERROR", 0),
        _ => ("UNKNOWN", 0),
    };
    let metadata: Map<String, Value> =
        i.properties.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.clone(), |s| json!(s)))).collect();
    let mut v = json!({
        "id": i.id,
        "name": i.name,
        "status": status,
        "progress": progress,
        "created": iso(i.created_at).split('.').next().map(|t| format!("{t}Z")),
        "updated": iso(i.updated_at).split('.').next().map(|t| format!("{t}Z")),
        "minDisk": i.min_disk,
        "minRam": i.min_ram,
        "metadata": metadata,
        "OS-EXT-IMG-SIZE:size": i.size,
        "links": views::links(base, &format!("/images/{}", i.id)),
    });
    if let Some(server) = i.properties.get("instance_uuid").and_then(Value::as_str) {
        v["server"] = json!({"id": server, "links": views::links(base, &format!("/servers/{server}"))});
    }
    v
}

async fn show(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>) -> Result<Response> {
    proxy(mv)?;
    let i = st.images.get(&ctx, &id).await?;
    Ok(axum::Json(json!({"image": view(st.public_url(), &i)})).into_response())
}

async fn remove(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>) -> Result<Response> {
    proxy(mv)?;
    st.images.delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
