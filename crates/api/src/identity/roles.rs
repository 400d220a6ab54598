//! `/v3/roles` and role inference (`/v3/roles/{prior}/implies/{implied}`, `/v3/role_inferences`).

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::identity::Role;
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Value};

use super::{created, no_content, ok, path, self_link, Keystone};
use crate::auth::Call;
use crate::body::Fields;
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::{ApiError, AppState};

pub(crate) fn render(state: &AppState, r: &Role) -> Value {
    json!({"id": r.id, "name": r.name, "domain_id": r.domain_id, "description": r.description, "options": {},
           "links": self_link(state, &format!("/roles/{}", r.id))})
}

fn brief(state: &AppState, r: &Role) -> Value {
    json!({"id": r.id, "name": r.name, "links": self_link(state, &format!("/roles/{}", r.id))})
}

struct Roles;

impl Resource for Roles {
    names!(Keystone, Role, "role", "roles", "/roles"; identity: list role_list, show role_get, delete role_delete);

    fn render(state: &AppState, _: &RequestContext, item: &Role, _: &How<Self::Service>) -> Result<Value, ApiError> {
        Ok(render(state, item))
    }

    async fn create(state: &AppState, ctx: &RequestContext, b: Object) -> Result<Role, ApiError> {
        let r = Role {
            id: String::new(),
            name: b.req_str("name")?,
            domain_id: b.opt_str("domain_id")?,
            description: b.opt_str("description")?.unwrap_or_default(),
        };
        Ok(state.identity.role_create(ctx, r).await?)
    }

    async fn update(state: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<Role, ApiError> {
        let mut r = state.identity.role_get(ctx, id).await?;
        b.patch("name", &mut r.name)?;
        b.patch("description", &mut r.description)?;
        Ok(state.identity.role_update(ctx, r).await?)
    }
}

async fn implies_list(Call(state, ctx): Call, Path(prior): Path<String>) -> Result<Response, ApiError> {
    let p = state.identity.role_get(&ctx, &prior).await?;
    let implies: Vec<Value> = state
        .identity
        .implied_role_list(&ctx)
        .await?
        .iter()
        .filter(|(a, _)| a.id == prior)
        .map(|(_, i)| brief(&state, i))
        .collect();
    Ok(axum::Json(json!({"role_inference": {"prior_role": brief(&state, &p), "implies": implies},
                          "links": self_link(&state, &format!("/roles/{prior}/implies"))}))
    .into_response())
}

async fn implies_put(
    Call(state, ctx): Call,
    Path((prior, implied)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (p, i) = state.identity.implied_role_add(&ctx, &prior, &implied).await?;
    Ok(created("role_inference", json!({"prior_role": brief(&state, &p), "implies": brief(&state, &i)})))
}

async fn implies_get(
    Call(state, ctx): Call,
    Path((prior, implied)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let pair = state
        .identity
        .implied_role_list(&ctx)
        .await?
        .into_iter()
        .find(|(a, b)| a.id == prior && b.id == implied)
        .ok_or_else(|| hybridstack_core::CoreError::not_found("implied role", &format!("{prior} implies {implied}")))?;
    Ok(ok("role_inference", json!({"prior_role": brief(&state, &pair.0), "implies": brief(&state, &pair.1)})))
}

async fn implies_delete(
    Call(state, ctx): Call,
    Path((prior, implied)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.identity.implied_role_remove(&ctx, &prior, &implied).await?;
    Ok(no_content())
}

async fn inferences(Call(state, ctx): Call) -> Result<Response, ApiError> {
    let pairs = state.identity.implied_role_list(&ctx).await?;
    let mut by_prior: Vec<(Role, Vec<Value>)> = Vec::new();
    for (p, i) in &pairs {
        match by_prior.iter_mut().find(|(r, _)| r.id == p.id) {
            Some((_, v)) => v.push(brief(&state, i)),
            None => by_prior.push((p.clone(), vec![brief(&state, i)])),
        }
    }
    let items: Vec<Value> =
        by_prior.iter().map(|(p, i)| json!({"prior_role": brief(&state, p), "implies": i})).collect();
    Ok(axum::Json(json!({"role_inferences": items, "links": self_link(&state, "/role_inferences")})).into_response())
}

pub(super) fn router() -> Router<AppState> {
    routes::<Roles>()
        .route(&path("/roles/{id}/implies"), get(implies_list))
        .route(&path("/roles/{id}/implies/{implied}"), get(implies_get).put(implies_put).delete(implies_delete))
        .route(&path("/role_inferences"), get(inferences))
}
