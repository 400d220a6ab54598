//! The interoperable import API: `/v2/info/import`, `/v2/info/stores` and
//! `POST /v2/images/{id}/import` (glance-direct after `/stage`, and copy-image to a cloud).

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hybridstack_core::images::LOCAL_STORE;
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::{path, GlanceError};
use crate::auth::{Call, Caller};
use crate::AppState;

async fn methods(Caller(_): Caller) -> Response {
    axum::Json(json!({"import-methods": {"description": "Import methods available.", "type": "array",
        "value": ["glance-direct", "copy-image"]}}))
    .into_response()
}

async fn stores(Call(state, _): Call) -> Response {
    let list: Vec<Value> = state
        .images
        .stores()
        .iter()
        .map(|s| {
            let mut v = json!({"id": s.id(), "description": s.description()});
            if s.id() == LOCAL_STORE {
                v["default"] = json!(true);
            }
            v
        })
        .collect();
    axum::Json(json!({ "stores": list })).into_response()
}

async fn import(Call(state, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response, GlanceError> {
    let bad = |m: &str| GlanceError(CoreError::BadRequest(m.to_string()));
    let v: Value = serde_json::from_slice(&body).map_err(|_| bad("The request body is not valid JSON."))?;
    let method = v
        .get("method")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("method.name is required."))?;
    for k in ["all_stores", "all_stores_must_succeed"] {
        if v.get(k).is_some_and(|x| !x.is_boolean()) {
            return Err(bad(&format!("{k} must be a boolean.")));
        }
    }
    let mut targets: Vec<String> = match v.get("stores") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| s.as_str().map(str::to_string).ok_or_else(|| bad("stores must be strings.")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("stores must be a list.")),
    };
    if v.get("all_stores").and_then(Value::as_bool) == Some(true) {
        targets = state.images.stores().iter().map(|s| s.id().to_string()).collect();
    }
    state.images.import(&ctx, &id, method, targets).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/info/import"), get(methods))
        .route(&path("/info/stores"), get(stores))
        .route(&path("/images/{id}/import"), post(import))
}
