//! `/v3/services`.

use std::collections::HashMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use hybridstack_core::identity::Service;
use serde_json::{json, Value};

use super::{collection, created, filter, no_content, ok, path, self_link};
use crate::auth::Caller;
use crate::body::{object, Fields};
use crate::{ApiError, AppState};

fn render(state: &AppState, s: &Service) -> Value {
    json!({"id": s.id, "type": s.service_type, "name": s.name, "description": s.description, "enabled": s.enabled,
           "links": self_link(state, &format!("/services/{}", s.id))})
}

async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let items = state.identity.service_list(&ctx).await?.iter().map(|s| render(&state, s)).collect();
    Ok(collection(&state, "services", "/services", filter(items, &q, &[])))
}

async fn show(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok("service", render(&state, &state.identity.service_get(&ctx, &id).await?)))
}

async fn create(State(state): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response, ApiError> {
    let b = object(&body, "service")?;
    let s = Service {
        id: String::new(),
        service_type: b.req_str("type")?,
        name: b.opt_str("name")?.unwrap_or_default(),
        description: b.opt_str("description")?.unwrap_or_default(),
        enabled: b.opt_bool("enabled")?.unwrap_or(true),
    };
    Ok(created("service", render(&state, &state.identity.service_create(&ctx, s).await?)))
}

async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b = object(&body, "service")?;
    let mut s = state.identity.service_get(&ctx, &id).await?;
    if let Some(x) = b.opt_str("type")? {
        s.service_type = x;
    }
    if let Some(x) = b.opt_str("name")? {
        s.name = x;
    }
    if let Some(x) = b.opt_str("description")? {
        s.description = x;
    }
    if let Some(x) = b.opt_bool("enabled")? {
        s.enabled = x;
    }
    Ok(ok("service", render(&state, &state.identity.service_update(&ctx, s).await?)))
}

async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.identity.service_delete(&ctx, &id).await?;
    Ok(no_content())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/services"), get(list).post(create))
        .route(&path("/services/{id}"), get(show).patch(update).delete(delete))
}
