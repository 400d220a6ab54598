//! `/v3/domains`.

use std::collections::HashMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use hybridstack_core::identity::Domain;
use serde_json::{json, Value};

use super::{collection, created, filter, no_content, ok, path, self_link};
use crate::auth::Caller;
use crate::body::{object, Fields};
use crate::{ApiError, AppState};

pub(crate) fn render(state: &AppState, d: &Domain) -> Value {
    let mut v = json!({
        "id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
        "tags": [], "options": {}, "links": self_link(state, &format!("/domains/{}", d.id)),
    });
    for (k, x) in &d.extra {
        v[k] = x.clone();
    }
    v
}

async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let items = state.identity.domain_list(&ctx).await?.iter().map(|d| render(&state, d)).collect();
    Ok(collection(&state, "domains", "/domains", filter(items, &q, &[])))
}

async fn show(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok("domain", render(&state, &state.identity.domain_get(&ctx, &id).await?)))
}

const KNOWN: [&str; 6] = ["id", "name", "description", "enabled", "tags", "options"];

fn extra_of(b: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    b.iter()
        .filter(|(k, _)| !KNOWN.contains(&k.as_str()) && k.as_str() != "links")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

async fn create(State(state): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response, ApiError> {
    let b = object(&body, "domain")?;
    let d = Domain {
        id: b.opt_str("explicit_domain_id")?.unwrap_or_default(),
        name: b.req_str("name")?,
        description: b.opt_str("description")?.unwrap_or_default(),
        enabled: b.opt_bool("enabled")?.unwrap_or(true),
        extra: extra_of(&b).into_iter().filter(|(k, _)| k != "explicit_domain_id").collect(),
    };
    Ok(created("domain", render(&state, &state.identity.domain_create(&ctx, d).await?)))
}

async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b = object(&body, "domain")?;
    let mut d = state.identity.domain_get(&ctx, &id).await?;
    if let Some(n) = b.opt_str("name")? {
        d.name = n;
    }
    if let Some(x) = b.opt_str("description")? {
        d.description = x;
    }
    if let Some(e) = b.opt_bool("enabled")? {
        d.enabled = e;
    }
    d.extra.extend(extra_of(&b));
    Ok(ok("domain", render(&state, &state.identity.domain_update(&ctx, d).await?)))
}

async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.identity.domain_delete(&ctx, &id).await?;
    Ok(no_content())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/domains"), get(list).post(create))
        .route(&path("/domains/{id}"), get(show).patch(update).delete(delete))
}
