//! Glance's error body: `{"message", "code": "404 Not Found", "title"}`, always JSON.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hybridstack_core::CoreError;

use crate::ApiError;

#[derive(Debug)]
pub struct GlanceError(pub CoreError);

impl From<CoreError> for GlanceError {
    fn from(e: CoreError) -> Self {
        GlanceError(e)
    }
}

impl From<ApiError> for GlanceError {
    fn from(e: ApiError) -> Self {
        GlanceError(e.0)
    }
}

impl IntoResponse for GlanceError {
    fn into_response(self) -> Response {
        let (status, message) = crate::error::status_and_message(&self.0);
        let reason = status.canonical_reason().unwrap_or("Error");
        let body =
            serde_json::json!({"message": message, "code": format!("{} {reason}", status.as_u16()), "title": reason});
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            resp.headers_mut().insert(
                "accept-patch",
                axum::http::HeaderValue::from_static(
                    "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch",
                ),
            );
        }
        resp
    }
}
