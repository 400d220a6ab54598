//! `/v3/endpoints`.

use std::collections::HashMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use hybridstack_core::identity::Endpoint;
use serde_json::{json, Value};

use super::{collection, created, filter, no_content, ok, path, self_link};
use crate::auth::Caller;
use crate::body::{object, Fields};
use crate::{ApiError, AppState};

fn render(state: &AppState, e: &Endpoint) -> Value {
    json!({"id": e.id, "service_id": e.service_id, "interface": e.interface, "region_id": e.region_id,
           "region": e.region_id, "url": e.url, "enabled": e.enabled,
           "links": self_link(state, &format!("/endpoints/{}", e.id))})
}

async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let items = state.identity.endpoint_list(&ctx).await?.iter().map(|e| render(&state, e)).collect();
    Ok(collection(&state, "endpoints", "/endpoints", filter(items, &q, &[])))
}

async fn show(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok("endpoint", render(&state, &state.identity.endpoint_get(&ctx, &id).await?)))
}

fn region_of(b: &serde_json::Map<String, Value>) -> Result<Option<String>, ApiError> {
    Ok(b.opt_str("region_id")?.or(b.opt_str("region")?))
}

async fn create(State(state): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response, ApiError> {
    let b = object(&body, "endpoint")?;
    let e = Endpoint {
        id: String::new(),
        service_id: b.req_str("service_id")?,
        interface: b.req_str("interface")?,
        region_id: region_of(&b)?,
        url: b.req_str("url")?,
        enabled: b.opt_bool("enabled")?.unwrap_or(true),
    };
    Ok(created("endpoint", render(&state, &state.identity.endpoint_create(&ctx, e).await?)))
}

async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b = object(&body, "endpoint")?;
    let mut e = state.identity.endpoint_get(&ctx, &id).await?;
    if let Some(x) = b.opt_str("service_id")? {
        e.service_id = x;
    }
    if let Some(x) = b.opt_str("interface")? {
        e.interface = x;
    }
    if b.contains_key("region_id") || b.contains_key("region") {
        e.region_id = region_of(&b)?;
    }
    if let Some(x) = b.opt_str("url")? {
        e.url = x;
    }
    if let Some(x) = b.opt_bool("enabled")? {
        e.enabled = x;
    }
    Ok(ok("endpoint", render(&state, &state.identity.endpoint_update(&ctx, e).await?)))
}

async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.identity.endpoint_delete(&ctx, &id).await?;
    Ok(no_content())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/endpoints"), get(list).post(create))
        .route(&path("/endpoints/{id}"), get(show).patch(update).delete(delete))
}
