//! `GET /volume/` and `GET /volume/v3/`: the version documents, with the microversion range.

use crate::routes::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

use super::{MAX_MINOR, PREFIX};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(PREFIX, get(versions))
        .route(&format!("{PREFIX}/"), get(versions))
        .route(&format!("{PREFIX}/v3"), get(current))
        .route(&format!("{PREFIX}/v3/"), get(current))
}

fn v3(base: &str) -> Value {
    json!({
        "id": "v3.0",
        "status": "CURRENT",
        "version": format!("3.{MAX_MINOR}"),
        "min_version": "3.0",
        "updated": "2023-08-31T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}{PREFIX}/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}],
    })
}

/// Cinder answers the unversioned root with 300 Multiple Choices.
async fn versions(State(st): State<AppState>) -> Response {
    (StatusCode::MULTIPLE_CHOICES, axum::Json(json!({"versions": [v3(st.public_url())]}))).into_response()
}

async fn current(State(st): State<AppState>) -> Response {
    axum::Json(json!({"versions": [v3(st.public_url())]})).into_response()
}
