//! `/v3/groups` and membership.

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use hybridstack_core::identity::Group;
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Value};

use super::{collection, filter, no_content, path, self_link, users, Keystone};
use crate::auth::Call;
use crate::body::Fields;
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::{ApiError, AppState};

pub(crate) fn render(state: &AppState, g: &Group) -> Value {
    json!({"id": g.id, "name": g.name, "domain_id": g.domain_id, "description": g.description,
           "links": self_link(state, &format!("/groups/{}", g.id))})
}

struct Groups;

impl Resource for Groups {
    names!(Keystone, Group, "group", "groups", "/groups"; identity: list group_list, show group_get, delete group_delete);

    fn render(state: &AppState, _: &RequestContext, item: &Group, _: &How<Self::Service>) -> Result<Value, ApiError> {
        Ok(render(state, item))
    }

    async fn create(state: &AppState, ctx: &RequestContext, b: Object) -> Result<Group, ApiError> {
        let g = Group {
            id: String::new(),
            name: b.req_str("name")?,
            domain_id: b.opt_str("domain_id")?.unwrap_or_else(|| ctx.user_domain_id.clone()),
            description: b.opt_str("description")?.unwrap_or_default(),
        };
        Ok(state.identity.group_create(ctx, g).await?)
    }

    async fn update(state: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<Group, ApiError> {
        let mut g = state.identity.group_get(ctx, id).await?;
        b.patch("name", &mut g.name)?;
        b.patch("description", &mut g.description)?;
        Ok(state.identity.group_update(ctx, g).await?)
    }
}

async fn members(
    Call(state, ctx): Call,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let items = state.identity.group_members(&ctx, &id).await?.iter().map(|u| users::render(&state, u)).collect();
    Ok(collection(&state, "users", &format!("/groups/{id}/users"), filter(items, &q, &[])))
}

async fn check_member(Call(state, ctx): Call, Path((g, u)): Path<(String, String)>) -> Result<Response, ApiError> {
    state.identity.group_check_member(&ctx, &g, &u).await?;
    Ok(no_content())
}

async fn add_member(Call(state, ctx): Call, Path((g, u)): Path<(String, String)>) -> Result<Response, ApiError> {
    state.identity.group_add_member(&ctx, &g, &u).await?;
    Ok(no_content())
}

async fn remove_member(Call(state, ctx): Call, Path((g, u)): Path<(String, String)>) -> Result<Response, ApiError> {
    state.identity.group_remove_member(&ctx, &g, &u).await?;
    Ok(no_content())
}

pub(super) fn router() -> Router<AppState> {
    routes::<Groups>()
        .route(&path("/groups/{id}/users"), get(members))
        .route(&path("/groups/{id}/users/{user}"), get(check_member).put(add_member).delete(remove_member))
}
