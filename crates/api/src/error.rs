//! Errors as OpenStack clients expect them. Identity speaks Keystone's
//! `{"error": {"code", "title", "message"}}`; a 5xx never reveals its cause, which goes to
//! the log with the request id instead.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hybridstack_core::CoreError;

#[derive(Debug)]
pub struct ApiError(pub CoreError);

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError(e)
    }
}

fn title(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "Bad Request",
        StatusCode::UNAUTHORIZED => "Unauthorized",
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::NOT_FOUND => "Not Found",
        StatusCode::METHOD_NOT_ALLOWED => "Method Not Allowed",
        StatusCode::CONFLICT => "Conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "Request Entity Too Large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported Media Type",
        _ => "Internal Server Error",
    }
}

pub(crate) fn keystone_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": status.as_u16(), "title": title(status), "message": message}});
    let mut resp = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Keystone"));
    }
    resp
}

/// The status a service error maps to, and the message a client may see.
pub(crate) fn status_and_message(e: &CoreError) -> (StatusCode, String) {
    match e {
        CoreError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
        CoreError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m.clone()),
        CoreError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
        CoreError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
        CoreError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
        // Something we deliberately do not offer: the request cannot succeed as sent.
        CoreError::NotSupported(m) => (StatusCode::BAD_REQUEST, m.clone()),
        CoreError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
        CoreError::UnsupportedMediaType(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, m.clone()),
        CoreError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error prevented the server from fulfilling your request.".to_string(),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, msg) = status_and_message(&self.0);
        keystone_error(status, &msg)
    }
}

pub(crate) async fn not_found_fallback() -> Response {
    keystone_error(StatusCode::NOT_FOUND, "The resource could not be found.")
}
