//! `/v3/regions`.

use std::collections::HashMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use hybridstack_core::identity::Region;
use serde_json::{json, Value};

use super::{collection, created, filter, no_content, ok, path, self_link};
use crate::auth::Call;
use crate::body::{object, Fields};
use crate::{ApiError, AppState};

fn render(state: &AppState, r: &Region) -> Value {
    json!({"id": r.id, "description": r.description, "parent_region_id": r.parent_region_id,
           "links": self_link(state, &format!("/regions/{}", r.id))})
}

async fn list(Call(state, _): Call, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let items = state.identity.region_list().await?.iter().map(|r| render(&state, r)).collect();
    Ok(collection(&state, "regions", "/regions", filter(items, &q, &[])))
}

async fn show(Call(state, _): Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(ok("region", render(&state, &state.identity.region_get(&id).await?)))
}

async fn create(Call(state, ctx): Call, body: Bytes) -> Result<Response, ApiError> {
    let b = object(&body, "region")?;
    let r = Region {
        id: b.opt_str("id")?.unwrap_or_default(),
        description: b.opt_str("description")?.unwrap_or_default(),
        parent_region_id: b.opt_str("parent_region_id")?,
    };
    Ok(created("region", render(&state, &state.identity.region_create(&ctx, r).await?)))
}

async fn update(Call(state, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let b = object(&body, "region")?;
    let mut r = state.identity.region_get(&id).await?;
    b.patch("description", &mut r.description)?;
    if b.contains_key("parent_region_id") {
        r.parent_region_id = b.opt_str("parent_region_id")?;
    }
    Ok(ok("region", render(&state, &state.identity.region_update(&ctx, r).await?)))
}

async fn delete(Call(state, ctx): Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    state.identity.region_delete(&ctx, &id).await?;
    Ok(no_content())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/regions"), get(list).post(create))
        .route(&path("/regions/{id}"), get(show).patch(update).put(create_with_id).delete(delete))
}

async fn create_with_id(Call(state, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let b = object(&body, "region")?;
    let r = Region {
        id,
        description: b.opt_str("description")?.unwrap_or_default(),
        parent_region_id: b.opt_str("parent_region_id")?,
    };
    Ok(created("region", render(&state, &state.identity.region_create(&ctx, r).await?)))
}
