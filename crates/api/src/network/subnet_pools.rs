//! `/v2.0/subnetpools`.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::network::model::SubnetPool;
use hybridstack_core::network::SubnetPoolRequest;
use serde_json::{Map, Value};

use super::{body_object, listing, one, path, show, showing, Body, Result};
use crate::auth::Caller;
use crate::AppState;

fn render(p: &SubnetPool) -> Result<Map<String, Value>> {
    show(p, &[])
}

fn request(b: &Map<String, Value>) -> Result<SubnetPoolRequest> {
    let len = |k: &str| -> Result<Option<u8>> { Ok(b.int(k)?.map(|v| u8::try_from(v).unwrap_or(u8::MAX))) };
    Ok(SubnetPoolRequest {
        name: b.string("name")?,
        project_id: b.string("project_id")?.or(b.string("tenant_id")?),
        prefixes: b.strings("prefixes")?,
        default_prefixlen: len("default_prefixlen")?,
        min_prefixlen: len("min_prefixlen")?,
        max_prefixlen: len("max_prefixlen")?,
        shared: b.boolean("shared")?,
        description: b.string("description")?,
    })
}

async fn list(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    listing(&s, q, "subnetpools", "/subnetpools", &s.networking.subnetpool_list(&ctx).await?, render)
}

async fn get_one(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    showing(q, "subnetpool", &s.networking.subnetpool_get(&ctx, &id).await?, render)
}

async fn create(State(s): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response> {
    let b = body_object(&body, "subnetpool")?;
    let p = s.networking.subnetpool_create(&ctx, request(&b)?).await?;
    Ok(one("subnetpool", render(&p)?, StatusCode::CREATED))
}

async fn update(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let b = body_object(&body, "subnetpool")?;
    let p = s.networking.subnetpool_update(&ctx, &id, request(&b)?).await?;
    Ok(one("subnetpool", render(&p)?, StatusCode::OK))
}

async fn delete(State(s): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
    s.networking.subnetpool_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/subnetpools"), get(list).post(create))
        .route(&path("/subnetpools/{id}"), get(get_one).put(update).delete(delete))
}
