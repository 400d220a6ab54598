//! `os-availability-zone`: the zones of the registered clouds, as compute lists them.

use crate::routes::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{route, InProject, Result};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(&route("/os-availability-zone"), get(list))
}

async fn list(InProject(st, ctx): InProject) -> Result<Response> {
    let zones: Vec<_> = st
        .compute
        .zones(&ctx)
        .await?
        .into_iter()
        .map(|z| json!({"zoneName": z.name, "zoneState": {"available": z.available}}))
        .collect();
    Ok(axum::Json(json!({"availabilityZoneInfo": zones})).into_response())
}
