//! `/v3/users/{user}/application_credentials`.

use std::collections::HashMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use hybridstack_core::clock::parse_iso;
use hybridstack_core::identity::{AppCredential, NewAppCredential};
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::{collection, created, filter, no_content, ok, path, self_link};
use crate::auth::Call;
use crate::body::{object, Fields};
use crate::{ApiError, AppState};

/// Keystone echoes `expires_at` without a zone and with microseconds.
fn expiry(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

async fn render(state: &AppState, c: &AppCredential) -> Result<Value, ApiError> {
    let roles: Vec<Value> = state
        .identity
        .roles_by_id(&c.role_ids)
        .await?
        .iter()
        .map(|r| json!({"id": r.id, "name": r.name, "domain_id": r.domain_id}))
        .collect();
    Ok(json!({
        "id": c.id, "name": c.name, "description": c.description, "user_id": c.user_id,
        "project_id": c.project_id, "expires_at": c.expires_at.map(expiry), "unrestricted": c.unrestricted,
        "roles": roles, "access_rules": [], "system": null,
        "links": self_link(state, &format!("/users/{}/application_credentials/{}", c.user_id, c.id)),
    }))
}

async fn list(
    Call(state, ctx): Call,
    Path(user): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut items = Vec::new();
    for c in state.identity.app_credential_list(&ctx, &user).await? {
        items.push(render(&state, &c).await?);
    }
    Ok(collection(
        &state,
        "application_credentials",
        &format!("/users/{user}/application_credentials"),
        filter(items, &q, &[]),
    ))
}

async fn show(Call(state, ctx): Call, Path((user, id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let c = state.identity.app_credential_get(&ctx, &user, &id).await?;
    Ok(ok("application_credential", render(&state, &c).await?))
}

async fn create(Call(state, ctx): Call, Path(user): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let b = object(&body, "application_credential")?;
    if b.get("access_rules").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
        return Err(CoreError::NotSupported(
            "Access rules on application credentials are not supported by hybridstack.".into(),
        )
        .into());
    }
    let expires_at = match b.opt_str("expires_at")? {
        Some(s) => Some(
            parse_iso(&s).ok_or_else(|| CoreError::BadRequest(format!("Invalid expires_at {s:?}: use ISO 8601.")))?,
        ),
        None => None,
    };
    let mut roles = Vec::new();
    if let Some(list) = b.get("roles") {
        let arr = list.as_array().ok_or_else(|| CoreError::BadRequest("'roles' must be a list.".into()))?;
        for r in arr {
            let id = r.get("id").and_then(Value::as_str).map(str::to_string);
            let name = r.get("name").and_then(Value::as_str).map(str::to_string);
            if id.is_none() && name.is_none() {
                return Err(CoreError::BadRequest("Each role needs an id or a name.".into()).into());
            }
            roles.push((id, name));
        }
    }
    let req = NewAppCredential {
        name: b.req_str("name")?,
        description: b.opt_str("description")?.unwrap_or_default(),
        secret: b.opt_str("secret")?,
        expires_at,
        unrestricted: b.opt_bool("unrestricted")?.unwrap_or(false),
        roles,
    };
    let (c, secret) = state.identity.app_credential_create(&ctx, &user, req).await?;
    let mut v = render(&state, &c).await?;
    v["secret"] = json!(secret);
    Ok(created("application_credential", v))
}

async fn delete(Call(state, ctx): Call, Path((user, id)): Path<(String, String)>) -> Result<Response, ApiError> {
    state.identity.app_credential_delete(&ctx, &user, &id).await?;
    Ok(no_content())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/users/{user}/application_credentials"), get(list).post(create))
        .route(&path("/users/{user}/application_credentials/{id}"), get(show).delete(delete))
}
