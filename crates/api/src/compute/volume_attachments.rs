//! `/servers/{id}/os-volume_attachments`: attach (200 with the reserved device), list, show
//! and detach (202); swap (PUT) is refused as Nova refuses a swap the block storage service
//! did not ask for. The volume moves available → attaching → in-use, and back through
//! detaching, as block storage runs the operations.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

use super::{bad, json_body, path, Result};
use crate::auth::Call;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/servers/{id}/os-volume_attachments"), get(list).post(attach))
        .route(&path("/servers/{id}/os-volume_attachments/{volume_id}"), get(show).put(swap).delete(detach))
}

/// Nova (before 2.89) uses the volume id as the attachment's id.
fn view(server_id: &str, volume_id: &str, device: &str) -> Value {
    json!({"id": volume_id, "serverId": server_id, "volumeId": volume_id, "device": device})
}

async fn attach(Call(st, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let body = json_body(&body)?;
    let a = body
        .get("volumeAttachment")
        .filter(|v| v.is_object())
        .ok_or_else(|| bad("Invalid input for field/attribute volumeAttachment."))?;
    let volume_id = a
        .get("volumeId")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Invalid input for field/attribute volumeId: it is required."))?
        .to_string();
    let device = match a.get("device") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => Some(d.clone()),
        Some(other) => return Err(bad(format!("Invalid input for field/attribute device: {other}."))),
    };
    let (_, device) = st.compute.attach_volume(&ctx, &id, &volume_id, device).await?;
    Ok(axum::Json(json!({"volumeAttachment": view(&id, &volume_id, &device)})).into_response())
}

async fn list(Call(st, ctx): Call, Path(id): Path<String>) -> Result<Response> {
    let items: Vec<Value> =
        st.compute.volume_attachments(&ctx, &id).await?.iter().map(|(v, d)| view(&id, v, d)).collect();
    Ok(axum::Json(json!({"volumeAttachments": items})).into_response())
}

async fn show(Call(st, ctx): Call, Path((id, volume_id)): Path<(String, String)>) -> Result<Response> {
    let found = st.compute.volume_attachments(&ctx, &id).await?.into_iter().find(|(v, _)| *v == volume_id);
    let (v, d) = found.ok_or_else(|| {
        super::NovaError(hybridstack_core::CoreError::NotFound(format!(
            "Instance {id} is not attached to volume {volume_id}."
        )))
    })?;
    Ok(axum::Json(json!({"volumeAttachment": view(&id, &v, &d)})).into_response())
}

async fn swap(Call(st, ctx): Call, Path((id, volume_id)): Path<(String, String)>, body: Bytes) -> Result<Response> {
    let body = json_body(&body)?;
    let new = body
        .get("volumeAttachment")
        .filter(|v| v.is_object())
        .ok_or_else(|| bad("Invalid input for field/attribute volumeAttachment."))?
        .get("volumeId")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Invalid input for field/attribute volumeId: it is required."))?
        .to_string();
    st.compute.swap_volume(&ctx, &id, &volume_id, &new).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn detach(Call(st, ctx): Call, Path((id, volume_id)): Path<(String, String)>) -> Result<Response> {
    st.compute.detach_volume(&ctx, &id, &volume_id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
