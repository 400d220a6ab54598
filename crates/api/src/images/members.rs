//! `/v2/images/{id}/members`: sharing an image with other projects.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::images::ImageMember;
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::{path, ts, GlanceError};
use crate::auth::Call;
use crate::AppState;

fn render(m: &ImageMember) -> Value {
    json!({"image_id": m.image_id, "member_id": m.member_id, "status": m.status,
           "created_at": ts(m.created_at), "updated_at": ts(m.updated_at), "schema": "/v2/schemas/member"})
}

fn field(body: &Bytes, key: &str) -> Result<String, GlanceError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| GlanceError(CoreError::BadRequest(format!("The request body is not valid JSON: {e}"))))?;
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| GlanceError(CoreError::BadRequest(format!("'{key}' is required."))))
}

async fn list(Call(state, ctx): Call, Path(id): Path<String>) -> Result<Response, GlanceError> {
    let members: Vec<Value> = state.images.member_list(&ctx, &id).await?.iter().map(render).collect();
    Ok(axum::Json(json!({"members": members, "schema": "/v2/schemas/members"})).into_response())
}

async fn create(Call(state, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response, GlanceError> {
    let member = field(&body, "member")?;
    let m = state.images.member_add(&ctx, &id, &member).await?;
    Ok((StatusCode::OK, axum::Json(render(&m))).into_response())
}

async fn show(Call(state, ctx): Call, Path((id, member)): Path<(String, String)>) -> Result<Response, GlanceError> {
    Ok(axum::Json(render(&state.images.member_get(&ctx, &id, &member).await?)).into_response())
}

async fn update(
    Call(state, ctx): Call,
    Path((id, member)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, GlanceError> {
    let status = field(&body, "status")?;
    let m = state.images.member_set_status(&ctx, &id, &member, &status).await?;
    Ok(axum::Json(render(&m)).into_response())
}

async fn delete(Call(state, ctx): Call, Path((id, member)): Path<(String, String)>) -> Result<Response, GlanceError> {
    state.images.member_delete(&ctx, &id, &member).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/images/{id}/members"), get(list).post(create))
        .route(&path("/images/{id}/members/{member}"), get(show).put(update).delete(delete))
}
