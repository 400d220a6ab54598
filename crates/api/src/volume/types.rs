//! Volume types: every cloud serves the one default type (`__DEFAULT__`) for now; types with
//! extra specs that pick a backend come with more than one kind of storage per cloud.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hybridstack_core::volume::{DEFAULT_TYPE, DEFAULT_TYPE_ID};
use serde_json::{json, Value};

use super::{check_project, route, Result};
use crate::auth::Caller;
use crate::compute::NovaError;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&route("/types"), get(list))
        .route(&route("/types/default"), get(default))
        .route(&route("/types/{id}"), get(show))
}

fn default_type() -> Value {
    json!({
        "id": DEFAULT_TYPE_ID,
        "name": DEFAULT_TYPE,
        "description": "Default Volume Type",
        "is_public": true,
        "extra_specs": {},
        "os-volume-type-access:is_public": true,
        "qos_specs_id": null,
    })
}

async fn list(Caller(ctx): Caller, Path(project): Path<String>) -> Result<Response> {
    check_project(&ctx, &project)?;
    Ok(axum::Json(json!({"volume_types": [default_type()]})).into_response())
}

async fn default(Caller(ctx): Caller, Path(project): Path<String>) -> Result<Response> {
    check_project(&ctx, &project)?;
    Ok(axum::Json(json!({"volume_type": default_type()})).into_response())
}

async fn show(
    State(_): State<AppState>,
    Caller(ctx): Caller,
    Path((project, id)): Path<(String, String)>,
) -> Result<Response> {
    check_project(&ctx, &project)?;
    if id == DEFAULT_TYPE_ID || id == DEFAULT_TYPE {
        return Ok(axum::Json(json!({"volume_type": default_type()})).into_response());
    }
    Err(NovaError(hybridstack_core::CoreError::NotFound(format!("Volume type {id} could not be found."))))
}
