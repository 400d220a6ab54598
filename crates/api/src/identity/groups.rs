//! `/v3/groups` and membership.

use std::collections::HashMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use hybridstack_core::identity::Group;
use serde_json::{json, Value};

use super::{collection, created, filter, no_content, ok, path, self_link, users};
use crate::auth::Caller;
use crate::body::{object, Fields};
use crate::{ApiError, AppState};

pub(crate) fn render(state: &AppState, g: &Group) -> Value {
    json!({"id": g.id, "name": g.name, "domain_id": g.domain_id, "description": g.description,
           "links": self_link(state, &format!("/groups/{}", g.id))})
}

async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let items = state.identity.group_list(&ctx).await?.iter().map(|g| render(&state, g)).collect();
    Ok(collection(&state, "groups", "/groups", filter(items, &q, &[])))
}

async fn show(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok("group", render(&state, &state.identity.group_get(&ctx, &id).await?)))
}

async fn create(State(state): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response, ApiError> {
    let b = object(&body, "group")?;
    let g = Group {
        id: String::new(),
        name: b.req_str("name")?,
        domain_id: b.opt_str("domain_id")?.unwrap_or_else(|| ctx.user_domain_id.clone()),
        description: b.opt_str("description")?.unwrap_or_default(),
    };
    Ok(created("group", render(&state, &state.identity.group_create(&ctx, g).await?)))
}

async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b = object(&body, "group")?;
    let mut g = state.identity.group_get(&ctx, &id).await?;
    if let Some(n) = b.opt_str("name")? {
        g.name = n;
    }
    if let Some(x) = b.opt_str("description")? {
        g.description = x;
    }
    Ok(ok("group", render(&state, &state.identity.group_update(&ctx, g).await?)))
}

async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.identity.group_delete(&ctx, &id).await?;
    Ok(no_content())
}

async fn members(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let items = state.identity.group_members(&ctx, &id).await?.iter().map(|u| users::render(&state, u)).collect();
    Ok(collection(&state, "users", &format!("/groups/{id}/users"), filter(items, &q, &[])))
}

async fn check_member(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((g, u)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.identity.group_check_member(&ctx, &g, &u).await?;
    Ok(no_content())
}

async fn add_member(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((g, u)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.identity.group_add_member(&ctx, &g, &u).await?;
    Ok(no_content())
}

async fn remove_member(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((g, u)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.identity.group_remove_member(&ctx, &g, &u).await?;
    Ok(no_content())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/groups"), get(list).post(create))
        .route(&path("/groups/{id}"), get(show).patch(update).delete(delete))
        .route(&path("/groups/{id}/users"), get(members))
        .route(&path("/groups/{id}/users/{user}"), get(check_member).put(add_member).delete(remove_member))
}
