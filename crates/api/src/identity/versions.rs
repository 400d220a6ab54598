//! Version discovery: `GET /identity` (300, every version) and `GET /identity/v3` (200).

use crate::routes::Router;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

use super::PREFIX;
use crate::AppState;

fn v3(state: &AppState) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}{PREFIX}/v3/", state.public_url())}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

async fn versions(State(state): State<AppState>) -> Response {
    let mut resp =
        (StatusCode::MULTIPLE_CHOICES, axum::Json(json!({"versions": {"values": [v3(&state)]}}))).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("{}{PREFIX}/v3/", state.public_url())) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

async fn version(State(state): State<AppState>) -> Response {
    (StatusCode::OK, axum::Json(json!({"version": v3(&state)}))).into_response()
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(PREFIX, get(versions))
        .route(&format!("{PREFIX}/"), get(versions))
        .route(&format!("{PREFIX}/v3"), get(version))
        .route(&format!("{PREFIX}/v3/"), get(version))
}
