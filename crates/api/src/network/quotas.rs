//! `/v2.0/quotas/{project_id}` (with `/default` and `/details`).

use std::collections::BTreeMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::network::Networking;
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::{body_object, path, NeutronError, Result};
use crate::auth::{Call, Caller};
use crate::AppState;

async fn show(Call(s, ctx): Call, Path(project): Path<String>) -> Result<Response> {
    Ok(axum::Json(json!({"quota": s.networking.quota_get(&ctx, &project).await?})).into_response())
}

async fn defaults(Caller(_): Caller, Path(_project): Path<String>) -> Response {
    axum::Json(json!({"quota": Networking::quota_defaults()})).into_response()
}

async fn details(Call(s, ctx): Call, Path(project): Path<String>) -> Result<Response> {
    let d: serde_json::Map<String, Value> = s
        .networking
        .quota_details(&ctx, &project)
        .await?
        .into_iter()
        .map(|(k, (limit, used))| (k, json!({"limit": limit, "used": used, "reserved": 0})))
        .collect();
    Ok(axum::Json(json!({"quota": d})).into_response())
}

async fn update(Call(s, ctx): Call, Path(project): Path<String>, body: Bytes) -> Result<Response> {
    let b = body_object(&body, "quota")?;
    let mut limits = BTreeMap::new();
    for (k, v) in b {
        let n = v.as_i64().or_else(|| v.as_str().and_then(|x| x.parse().ok())).ok_or_else(|| {
            NeutronError(CoreError::BadRequest(format!(
                "InvalidInput: Invalid input for {k}. Reason: '{v}' is not an integer."
            )))
        })?;
        limits.insert(k, n);
    }
    Ok(axum::Json(json!({"quota": s.networking.quota_set(&ctx, &project, &limits).await?})).into_response())
}

async fn reset(Call(s, ctx): Call, Path(project): Path<String>) -> Result<Response> {
    s.networking.quota_reset(&ctx, &project).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/quotas/{project}"), get(show).put(update).delete(reset))
        .route(&path("/quotas/{project}/default"), get(defaults))
        .route(&path("/quotas/{project}/details"), get(details))
}
