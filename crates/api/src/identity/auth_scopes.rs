//! What the caller's token may reach: `/v3/auth/catalog`, `/projects`, `/domains`, `/system`.

use crate::routes::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::policy::Scope;
use hybridstack_core::CoreError;
use serde_json::json;

use super::{collection, domains, path, projects, self_link};
use crate::auth::Call;
use crate::{ApiError, AppState};

async fn catalog(Call(state, ctx): Call) -> Result<Response, ApiError> {
    if ctx.scope == Scope::Unscoped {
        return Err(CoreError::Forbidden("A catalog needs a scoped token.".into()).into());
    }
    let catalog = state.identity.catalog_for(ctx.project_id()).await?;
    Ok(axum::Json(json!({"catalog": catalog, "links": self_link(&state, "/auth/catalog")})).into_response())
}

async fn my_projects(Call(state, ctx): Call) -> Result<Response, ApiError> {
    let list = state.identity.projects_of_user(&ctx.user_id).await?;
    let items = list.iter().filter(|p| p.enabled).map(|p| projects::render(&state, p)).collect();
    Ok(collection(&state, "projects", "/auth/projects", items))
}

async fn my_domains(Call(state, ctx): Call) -> Result<Response, ApiError> {
    let list = state.identity.domains_of_user(&ctx.user_id).await?;
    let items = list.iter().filter(|d| d.enabled).map(|d| domains::render(&state, d)).collect();
    Ok(collection(&state, "domains", "/auth/domains", items))
}

async fn my_system(Call(state, ctx): Call) -> Result<Response, ApiError> {
    let system = if state.identity.has_system_role(&ctx.user_id).await? { vec![json!({"all": true})] } else { vec![] };
    Ok(axum::Json(json!({"system": system, "links": self_link(&state, "/auth/system")})).into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/auth/catalog"), get(catalog))
        .route(&path("/auth/projects"), get(my_projects))
        .route(&path("/auth/domains"), get(my_domains))
        .route(&path("/auth/system"), get(my_system))
}
