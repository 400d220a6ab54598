//! `GET /compute/` and `GET /compute/v2.1`: the version documents, with the microversion range.

use crate::routes::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

use super::{MAX_VERSION, MIN_VERSION, PREFIX};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(PREFIX, get(versions))
        .route(&format!("{PREFIX}/"), get(versions))
        .route(&format!("{PREFIX}/v2.1"), get(current))
        .route(&format!("{PREFIX}/v2.1/"), get(current))
        .route(&format!("{PREFIX}/v2"), get(legacy_doc))
        .route(&format!("{PREFIX}/v2/"), get(legacy_doc))
}

/// v2.0 is v2.1 pinned at microversion 2.1 (as Nova serves its legacy endpoint); see
/// `legacy` in `mod.rs`.
fn v20(base: &str) -> Value {
    json!({
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{base}{PREFIX}/v2/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}],
    })
}

fn v21(base: &str) -> Value {
    json!({
        "id": "v2.1",
        "status": "CURRENT",
        "version": format!("{}.{}", MAX_VERSION.0, MAX_VERSION.1),
        "min_version": format!("{}.{}", MIN_VERSION.0, MIN_VERSION.1),
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{base}{PREFIX}/v2.1/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    })
}

async fn versions(State(st): State<AppState>) -> Response {
    let base = st.public_url();
    axum::Json(json!({"versions": [v20(base), v21(base)]})).into_response()
}

async fn current(State(st): State<AppState>) -> Response {
    axum::Json(json!({"version": v21(st.public_url())})).into_response()
}

async fn legacy_doc(State(st): State<AppState>) -> Response {
    axum::Json(json!({"version": v20(st.public_url())})).into_response()
}
