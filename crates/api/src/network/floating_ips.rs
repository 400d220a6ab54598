//! `/v2.0/floatingips`.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::network::model::FloatingIp;
use hybridstack_core::CoreError;
use serde_json::{Map, Value};

use super::{body_object, listing, one, path, show, showing, Body, NeutronError, Result};
use crate::auth::Caller;
use crate::AppState;

fn render(f: &FloatingIp) -> Result<Map<String, Value>> {
    show(f, &["fip_port_id"])
}

async fn list(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    listing(&s, q, "floatingips", "/floatingips", &s.networking.fip_list(&ctx).await?, render)
}

async fn get_one(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    showing(q, "floatingip", &s.networking.fip_get(&ctx, &id).await?, render)
}

async fn create(State(s): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response> {
    let b = body_object(&body, "floatingip")?;
    let net = b.string("floating_network_id")?.ok_or_else(|| {
        NeutronError(CoreError::BadRequest(
            "BadRequest: Bad floatingip request: floating_network_id is required.".into(),
        ))
    })?;
    let f = s
        .networking
        .fip_create(
            &ctx,
            net,
            b.string("port_id")?,
            b.string("fixed_ip_address")?,
            b.string("floating_ip_address")?,
            b.string("description")?.unwrap_or_default(),
            b.string("project_id")?.or(b.string("tenant_id")?),
        )
        .await?;
    Ok(one("floatingip", render(&f)?, StatusCode::CREATED))
}

async fn update(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let b = body_object(&body, "floatingip")?;
    let f = s
        .networking
        .fip_update(&ctx, &id, b.nullable_string("port_id")?, b.string("fixed_ip_address")?, b.string("description")?)
        .await?;
    Ok(one("floatingip", render(&f)?, StatusCode::OK))
}

async fn delete(State(s): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
    s.networking.fip_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/floatingips"), get(list).post(create))
        .route(&path("/floatingips/{id}"), get(get_one).put(update).delete(delete))
}
