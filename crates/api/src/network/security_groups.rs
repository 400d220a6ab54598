//! `/v2.0/security-groups`.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::network::model::SecurityGroup;
use serde_json::{Map, Value};

use super::{body_object, listing, one, path, show, showing, Body, Result};
use crate::auth::Caller;
use crate::AppState;

pub(crate) fn render(g: &SecurityGroup) -> Result<Map<String, Value>> {
    let mut m = show(g, &[])?;
    if let Some(Value::Array(rules)) = m.get_mut("security_group_rules") {
        for r in rules.iter_mut() {
            if let Some(o) = r.as_object_mut() {
                if let Some(p) = o.get("project_id").cloned() {
                    o.insert("tenant_id".into(), p);
                }
            }
        }
    }
    Ok(m)
}

async fn list(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    listing(&s, q, "security_groups", "/security-groups", &s.networking.sg_list(&ctx).await?, render)
}

async fn get_one(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    showing(q, "security_group", &s.networking.sg_get(&ctx, &id).await?, render)
}

async fn create(State(s): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response> {
    let b = body_object(&body, "security_group")?;
    let g = s
        .networking
        .sg_create(
            &ctx,
            b.string("name")?.unwrap_or_default(),
            b.string("description")?.unwrap_or_default(),
            b.string("project_id")?.or(b.string("tenant_id")?),
        )
        .await?;
    Ok(one("security_group", render(&g)?, StatusCode::CREATED))
}

async fn update(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let b = body_object(&body, "security_group")?;
    let g = s.networking.sg_update(&ctx, &id, b.string("name")?, b.string("description")?).await?;
    Ok(one("security_group", render(&g)?, StatusCode::OK))
}

async fn delete(State(s): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
    s.networking.sg_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/security-groups"), get(list).post(create))
        .route(&path("/security-groups/{id}"), get(get_one).put(update).delete(delete))
}
