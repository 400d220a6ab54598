//! `/v2/images/{id}/tags/{tag}`.

use crate::routes::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;

use super::{path, GlanceError};
use crate::auth::Call;
use crate::AppState;

async fn add(Call(state, ctx): Call, Path((id, tag)): Path<(String, String)>) -> Result<Response, GlanceError> {
    state.images.add_tag(&ctx, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn remove(Call(state, ctx): Call, Path((id, tag)): Path<(String, String)>) -> Result<Response, GlanceError> {
    state.images.remove_tag(&ctx, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route(&path("/images/{id}/tags/{tag}"), put(add).delete(remove))
}
