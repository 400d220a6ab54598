//! `/v2.0/networks`.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use hybridstack_core::network::model::Network;
use hybridstack_core::network::NetworkRequest;
use serde_json::{Map, Value};

use super::{body_object, listing, one, path, show, showing, Body, Result};
use crate::auth::Caller;
use crate::AppState;

fn render(n: &Network) -> Result<Map<String, Value>> {
    show(n, &[])
}

fn request(b: &Map<String, Value>) -> Result<NetworkRequest> {
    Ok(NetworkRequest {
        name: b.string("name")?,
        project_id: b.string("project_id")?.or(b.string("tenant_id")?),
        admin_state_up: b.boolean("admin_state_up")?,
        shared: b.boolean("shared")?,
        external: b.boolean("router:external")?,
        mtu: b.int("mtu")?.map(|m| u32::try_from(m).unwrap_or(0)),
        port_security_enabled: b.boolean("port_security_enabled")?,
        description: b.string("description")?,
        availability_zone_hints: b.strings("availability_zone_hints")?,
        provider: b.keys().filter(|k| k.starts_with("provider:") || k.as_str() == "segments").cloned().collect(),
    })
}

async fn list(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    listing(&s, q, "networks", "/networks", &s.networking.network_list(&ctx).await?, render)
}

async fn get_one(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    showing(q, "network", &s.networking.network_get(&ctx, &id).await?, render)
}

async fn create(State(s): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response> {
    let b = body_object(&body, "network")?;
    let n = s.networking.network_create(&ctx, request(&b)?).await?;
    Ok(one("network", render(&n)?, StatusCode::CREATED))
}

async fn update(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let b = body_object(&body, "network")?;
    let n = s.networking.network_update(&ctx, &id, request(&b)?).await?;
    Ok(one("network", render(&n)?, StatusCode::OK))
}

async fn delete(State(s): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
    s.networking.network_delete(&ctx, &id).await?;
    Ok(axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT))
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/networks"), get(list).post(create))
        .route(&path("/networks/{id}"), get(get_one).put(update).delete(delete))
}
