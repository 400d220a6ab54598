//! `/os-server-groups`: a group's one policy is shown as `policies: [p]` (the form before
//! microversion 2.64, which is as far as this API goes).

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::compute::model::ServerGroup;
use serde_json::{json, Value};

use super::{bad, json_body, path, Mv, Result};
use crate::auth::Caller;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/os-server-groups"), get(list).post(create))
        .route(&path("/os-server-groups/{id}"), get(show).delete(remove))
}

fn view(g: &ServerGroup, mv: Mv) -> Value {
    let mut v = json!({"id": g.id, "name": g.name, "policies": [g.policy], "members": g.members, "metadata": {}});
    if mv.at_least(13) {
        v["project_id"] = json!(g.project_id);
        v["user_id"] = json!(g.user_id);
    }
    v
}

async fn list(State(st): State<AppState>, Caller(ctx): Caller, mv: Mv, RawQuery(raw): RawQuery) -> Result<Response> {
    let all = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "all_projects" && crate::body::query_bool(&v).unwrap_or(false));
    let groups = st.compute.group_list(&ctx, all).await?;
    Ok(axum::Json(json!({"server_groups": groups.iter().map(|g| view(g, mv)).collect::<Vec<_>>()})).into_response())
}

async fn create(State(st): State<AppState>, Caller(ctx): Caller, mv: Mv, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    let g = v.get("server_group").ok_or_else(|| bad("'server_group' is a required property."))?;
    let name = g.get("name").and_then(Value::as_str).ok_or_else(|| bad("Invalid input for field/attribute name."))?;
    let policies = g.get("policies").and_then(Value::as_array).cloned().unwrap_or_default();
    let [policy] = policies.as_slice() else {
        return Err(bad("Invalid input for field/attribute policies: give exactly one policy."));
    };
    let policy = policy.as_str().ok_or_else(|| bad("Invalid input for field/attribute policies."))?;
    let group = st.compute.group_create(&ctx, name, policy).await?;
    Ok(axum::Json(json!({"server_group": view(&group, mv)})).into_response())
}

async fn show(State(st): State<AppState>, Caller(ctx): Caller, mv: Mv, Path(id): Path<String>) -> Result<Response> {
    let g = st.compute.group_get(&ctx, &id).await?;
    Ok(axum::Json(json!({"server_group": view(&g, mv)})).into_response())
}

async fn remove(State(st): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
    st.compute.group_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
