//! Version discovery: `GET /image/` (300) and `GET /image/versions` (200). We advertise up to
//! v2.9 (hidden images, multi-store, copy-image); the tasks API of v2.12+ is not offered.

use crate::routes::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

use super::PREFIX;
use crate::AppState;

const CURRENT: &str = "v2.9";
const SUPPORTED: &[&str] = &["v2.8", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"];

fn doc(state: &AppState) -> Value {
    let href = format!("{}{PREFIX}/v2/", state.public_url());
    let entry = |id: &str, status: &str| json!({"id": id, "status": status, "links": [{"rel": "self", "href": href}]});
    let mut v = vec![entry(CURRENT, "CURRENT")];
    v.extend(SUPPORTED.iter().map(|id| entry(id, "SUPPORTED")));
    json!({ "versions": v })
}

async fn choices(State(state): State<AppState>) -> Response {
    (StatusCode::MULTIPLE_CHOICES, axum::Json(doc(&state))).into_response()
}

async fn versions(State(state): State<AppState>) -> Response {
    (StatusCode::OK, axum::Json(doc(&state))).into_response()
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(PREFIX, get(choices))
        .route(&format!("{PREFIX}/"), get(choices))
        .route(&format!("{PREFIX}/versions"), get(versions))
}
