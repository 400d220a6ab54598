//! `os-availability-zone`: one zone per registered cloud, as for compute.

use crate::routes::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{route, InProject, Result};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(&route("/os-availability-zone"), get(list))
}

async fn list(InProject(st, _ctx): InProject) -> Result<Response> {
    let zones: Vec<_> = st
        .compute
        .clouds
        .list()
        .await?
        .into_iter()
        .map(|c| json!({"zoneName": c.name, "zoneState": {"available": c.error.is_none()}}))
        .collect();
    Ok(axum::Json(json!({"availabilityZoneInfo": zones})).into_response())
}
