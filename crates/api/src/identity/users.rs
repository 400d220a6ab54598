//! `/v3/users`, self-service password change, and a user's projects and groups.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use hybridstack_core::clock::iso;
use hybridstack_core::identity::User;
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::{collection, filter, groups, no_content, path, projects, self_link, Keystone};
use crate::auth::Call;
use crate::body::{object, Fields};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::{ApiError, AppState};

pub(crate) fn render(state: &AppState, u: &User) -> Value {
    let mut v = json!({
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
        "password_expires_at": u.password_expires_at.map(iso), "options": {},
        "links": self_link(state, &format!("/users/{}", u.id)),
    });
    if let Some(p) = &u.default_project_id {
        v["default_project_id"] = json!(p);
    }
    if !u.description.is_empty() {
        v["description"] = json!(u.description);
    }
    for (k, x) in &u.extra {
        v[k] = x.clone();
    }
    v
}

const KNOWN: [&str; 9] =
    ["id", "name", "domain_id", "enabled", "default_project_id", "description", "password", "options", "links"];

fn extra_of(b: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    b.iter().filter(|(k, _)| !KNOWN.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

struct Users;

impl Resource for Users {
    names!(Keystone, User, "user", "users", "/users"; identity: list user_list, show user_get, delete user_delete);

    fn render(state: &AppState, _: &RequestContext, item: &User, _: &How<Self::Service>) -> Result<Value, ApiError> {
        Ok(render(state, item))
    }

    async fn create(state: &AppState, ctx: &RequestContext, b: Object) -> Result<User, ApiError> {
        let u = User {
            id: String::new(),
            name: b.req_str("name")?,
            domain_id: b.opt_str("domain_id")?.unwrap_or_else(|| ctx.user_domain_id.clone()),
            enabled: b.opt_bool("enabled")?.unwrap_or(true),
            default_project_id: b.opt_str("default_project_id")?,
            description: b.opt_str("description")?.unwrap_or_default(),
            extra: extra_of(&b),
            password_expires_at: None,
            created_at: 0,
        };
        let u = state.identity.user_create(ctx, u, b.opt_str("password")?).await?;
        Ok(u)
    }

    async fn update(state: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<User, ApiError> {
        let mut u = state.identity.user_get(ctx, id).await?;
        if let Some(d) = b.opt_str("domain_id")? {
            if d != u.domain_id {
                return Err(CoreError::BadRequest("A user cannot move to another domain.".into()).into());
            }
        }
        b.patch("name", &mut u.name)?;
        b.patch("enabled", &mut u.enabled)?;
        if b.contains_key("default_project_id") {
            u.default_project_id = b.opt_str("default_project_id")?;
        }
        b.patch("description", &mut u.description)?;
        u.extra.extend(extra_of(&b));
        let u = state.identity.user_update(ctx, u, b.opt_str("password")?).await?;
        Ok(u)
    }
}

/// No token needed: the original password is the proof, as in Keystone (so a user whose
/// password expired can still change it).
async fn change_password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b = object(&body, "user")?;
    state.identity.user_change_password(&id, b.req_str("original_password")?, b.req_str("password")?).await?;
    Ok(no_content())
}

async fn user_projects(
    Call(state, ctx): Call,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if !(ctx.is_admin() || ctx.user_id == id) {
        return Err(hybridstack_core::policy::forbidden().into());
    }
    state.identity.user_get(&ctx, &id).await?;
    let items = state.identity.projects_of_user(&id).await?.iter().map(|p| projects::render(&state, p)).collect();
    Ok(collection(&state, "projects", &format!("/users/{id}/projects"), filter(items, &q, &[])))
}

async fn user_groups(Call(state, ctx): Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let items = state.identity.groups_of_user(&ctx, &id).await?.iter().map(|g| groups::render(&state, g)).collect();
    Ok(collection(&state, "groups", &format!("/users/{id}/groups"), items))
}

pub(super) fn router() -> Router<AppState> {
    routes::<Users>()
        .route(&path("/users/{id}/password"), post(change_password))
        .route(&path("/users/{id}/projects"), get(user_projects))
        .route(&path("/users/{id}/groups"), get(user_groups))
}
