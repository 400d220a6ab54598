//! `/v2.0/subnets`.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::network::model::{HostRoute, Pool, Subnet};
use hybridstack_core::network::SubnetRequest;
use hybridstack_core::CoreError;
use serde_json::{Map, Value};

use super::{body_object, listing, one, path, show, showing, Body, NeutronError, Result};
use crate::auth::Caller;
use crate::AppState;

fn render(s: &Subnet) -> Result<Map<String, Value>> {
    show(s, &[])
}

fn parse<T: serde::de::DeserializeOwned>(b: &Map<String, Value>, k: &str) -> Result<Option<T>> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| {
            NeutronError(CoreError::BadRequest(format!("InvalidInput: Invalid input for {k}. Reason: {e}.")))
        }),
    }
}

fn request(b: &Map<String, Value>) -> Result<SubnetRequest> {
    Ok(SubnetRequest {
        name: b.string("name")?,
        project_id: b.string("project_id")?.or(b.string("tenant_id")?),
        network_id: b.string("network_id")?,
        cidr: b.string("cidr")?,
        ip_version: b.int("ip_version")?.map(|v| u8::try_from(v).unwrap_or(0)),
        gateway_ip: b.nullable_string("gateway_ip")?,
        allocation_pools: parse::<Vec<Pool>>(b, "allocation_pools")?,
        host_routes: parse::<Vec<HostRoute>>(b, "host_routes")?,
        dns_nameservers: b.strings("dns_nameservers")?,
        enable_dhcp: b.boolean("enable_dhcp")?,
        ipv6_ra_mode: b.string("ipv6_ra_mode")?,
        ipv6_address_mode: b.string("ipv6_address_mode")?,
        subnetpool_id: b.string("subnetpool_id")?,
        description: b.string("description")?,
    })
}

async fn list(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    listing(&s, q, "subnets", "/subnets", &s.networking.subnet_list(&ctx).await?, render)
}

async fn get_one(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    showing(q, "subnet", &s.networking.subnet_get(&ctx, &id).await?, render)
}

async fn create(State(s): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response> {
    let b = body_object(&body, "subnet")?;
    let n = s.networking.subnet_create(&ctx, request(&b)?).await?;
    Ok(one("subnet", render(&n)?, StatusCode::CREATED))
}

async fn update(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let b = body_object(&body, "subnet")?;
    let n = s.networking.subnet_update(&ctx, &id, request(&b)?).await?;
    Ok(one("subnet", render(&n)?, StatusCode::OK))
}

async fn delete(State(s): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
    s.networking.subnet_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/subnets"), get(list).post(create))
        .route(&path("/subnets/{id}"), get(get_one).put(update).delete(delete))
}
