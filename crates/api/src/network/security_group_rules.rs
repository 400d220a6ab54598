//! `/v2.0/security-group-rules`.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::network::model::SecurityGroupRule;
use hybridstack_core::network::RuleRequest;
use serde_json::{Map, Value};

use super::{body_object, listing, one, path, show, showing, Body, Result};
use crate::auth::Caller;
use crate::AppState;

fn render(r: &SecurityGroupRule) -> Result<Map<String, Value>> {
    show(r, &[])
}

async fn list(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    listing(&s, q, "security_group_rules", "/security-group-rules", &s.networking.rule_list(&ctx).await?, render)
}

async fn get_one(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    showing(q, "security_group_rule", &s.networking.rule_get(&ctx, &id).await?, render)
}

async fn create(State(s): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response> {
    let b = body_object(&body, "security_group_rule")?;
    let r = RuleRequest {
        security_group_id: b.string("security_group_id")?,
        project_id: b.string("project_id")?.or(b.string("tenant_id")?),
        direction: b.string("direction")?,
        ethertype: b.string("ethertype")?,
        protocol: b.string("protocol")?,
        port_range_min: b.int("port_range_min")?,
        port_range_max: b.int("port_range_max")?,
        remote_ip_prefix: b.string("remote_ip_prefix")?,
        remote_group_id: b.string("remote_group_id")?,
        description: b.string("description")?,
    };
    let rule = s.networking.rule_create(&ctx, r).await?;
    Ok(one("security_group_rule", render(&rule)?, StatusCode::CREATED))
}

async fn delete(State(s): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
    s.networking.rule_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/security-group-rules"), get(list).post(create))
        .route(&path("/security-group-rules/{id}"), get(get_one).delete(delete))
}
