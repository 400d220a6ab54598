//! `/v3/projects`, with tags.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::identity::{Project, DEFAULT_DOMAIN_ID};
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::{no_content, path, self_link, Keystone};
use crate::auth::Call;
use crate::body::Fields;
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Params, Resource};
use crate::{ApiError, AppState};

pub(crate) fn render(state: &AppState, p: &Project) -> Value {
    let mut v = json!({
        "id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
        "enabled": p.enabled, "is_domain": false,
        // Keystone reports a top-level project's domain as its parent.
        "parent_id": p.parent_id.clone().unwrap_or_else(|| p.domain_id.clone()),
        "tags": p.tags, "options": {}, "links": self_link(state, &format!("/projects/{}", p.id)),
    });
    for (k, x) in &p.extra {
        v[k] = x.clone();
    }
    v
}

fn tag_set(q: &HashMap<String, String>, k: &str) -> Option<Vec<String>> {
    q.get(k).map(|s| s.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect())
}

/// Keystone's tag filters: `tags` (all of), `tags-any`, `not-tags` (not all of), `not-tags-any`.
fn tag_filter(p: &Project, q: &HashMap<String, String>) -> bool {
    let has = |t: &String| p.tags.contains(t);
    tag_set(q, "tags").is_none_or(|ts| ts.iter().all(has))
        && tag_set(q, "tags-any").is_none_or(|ts| ts.iter().any(has))
        && tag_set(q, "not-tags").is_none_or(|ts| !ts.iter().all(has))
        && tag_set(q, "not-tags-any").is_none_or(|ts| !ts.iter().any(has))
}

struct Projects;

impl Resource for Projects {
    names!(Keystone, Project, "project", "projects", "/projects"; identity: show project_get, delete project_delete);
    const HANDLED: &'static [&'static str] = &["tags", "tags-any", "not-tags", "not-tags-any"];

    fn render(state: &AppState, _: &RequestContext, item: &Project, _: &How<Self::Service>) -> Result<Value, ApiError> {
        Ok(render(state, item))
    }

    async fn list(state: &AppState, ctx: &RequestContext, q: &Params) -> Result<Vec<Project>, ApiError> {
        let q: HashMap<String, String> = q.iter().cloned().collect();
        Ok(state.identity.project_list(ctx).await?.into_iter().filter(|p| tag_filter(p, &q)).collect())
    }

    async fn create(state: &AppState, ctx: &RequestContext, b: Object) -> Result<Project, ApiError> {
        if b.opt_bool("is_domain")? == Some(true) {
            return Err(CoreError::NotSupported(
                "Projects acting as domains are not supported; create a domain.".into(),
            )
            .into());
        }
        let p = Project {
            id: String::new(),
            name: b.req_str("name")?,
            domain_id: b.opt_str("domain_id")?.unwrap_or_else(|| ctx.user_domain_id.clone()),
            parent_id: b.opt_str("parent_id")?,
            description: b.opt_str("description")?.unwrap_or_default(),
            enabled: b.opt_bool("enabled")?.unwrap_or(true),
            tags: b.opt_str_list("tags")?.unwrap_or_default(),
            extra: extra_of(&b),
        };
        let p = Project { domain_id: if p.domain_id.is_empty() { DEFAULT_DOMAIN_ID.into() } else { p.domain_id }, ..p };
        // A parent that is the domain itself means "top level".
        let p = Project { parent_id: p.parent_id.clone().filter(|x| *x != p.domain_id), ..p };
        Ok(state.identity.project_create(ctx, p).await?)
    }

    async fn update(state: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<Project, ApiError> {
        let mut p = state.identity.project_get(ctx, id).await?;
        if let Some(d) = b.opt_str("domain_id")? {
            if d != p.domain_id {
                return Err(CoreError::BadRequest("A project cannot move to another domain.".into()).into());
            }
        }
        b.patch("name", &mut p.name)?;
        b.patch("description", &mut p.description)?;
        b.patch("enabled", &mut p.enabled)?;
        b.patch("tags", &mut p.tags)?;
        p.extra.extend(extra_of(&b));
        Ok(state.identity.project_update(ctx, p).await?)
    }
}

const KNOWN: [&str; 10] =
    ["id", "name", "domain_id", "parent_id", "description", "enabled", "is_domain", "tags", "options", "links"];

fn extra_of(b: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    b.iter().filter(|(k, _)| !KNOWN.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

async fn tags(Call(state, ctx): Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let p = state.identity.project_get(&ctx, &id).await?;
    Ok(axum::Json(json!({"tags": p.tags, "links": self_link(&state, &format!("/projects/{id}/tags"))})).into_response())
}

async fn replace_tags(Call(state, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| CoreError::BadRequest(format!("The request body is not valid JSON: {e}")))?;
    let tags: Vec<String> = v
        .get("tags")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|t| t.as_str().map(str::to_string)).collect())
        .ok_or_else(|| CoreError::BadRequest("'tags' must be a list of strings.".into()))?;
    let mut p = state.identity.project_get(&ctx, &id).await?;
    p.tags = tags;
    let p = state.identity.project_update(&ctx, p).await?;
    Ok(axum::Json(json!({"tags": p.tags, "links": self_link(&state, &format!("/projects/{id}/tags"))})).into_response())
}

async fn clear_tags(Call(state, ctx): Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let mut p = state.identity.project_get(&ctx, &id).await?;
    p.tags.clear();
    state.identity.project_update(&ctx, p).await?;
    Ok(no_content())
}

async fn check_tag(Call(state, ctx): Call, Path((id, tag)): Path<(String, String)>) -> Result<Response, ApiError> {
    let p = state.identity.project_get(&ctx, &id).await?;
    if p.tags.contains(&tag) {
        Ok(no_content())
    } else {
        Err(CoreError::not_found("tag", &tag).into())
    }
}

async fn add_tag(Call(state, ctx): Call, Path((id, tag)): Path<(String, String)>) -> Result<Response, ApiError> {
    let mut p = state.identity.project_get(&ctx, &id).await?;
    if !p.tags.contains(&tag) {
        p.tags.push(tag);
    }
    state.identity.project_update(&ctx, p).await?;
    Ok(axum::http::StatusCode::CREATED.into_response())
}

async fn remove_tag(Call(state, ctx): Call, Path((id, tag)): Path<(String, String)>) -> Result<Response, ApiError> {
    let mut p = state.identity.project_get(&ctx, &id).await?;
    let before = p.tags.len();
    p.tags.retain(|t| *t != tag);
    if p.tags.len() == before {
        return Err(CoreError::not_found("tag", &tag).into());
    }
    state.identity.project_update(&ctx, p).await?;
    Ok(no_content())
}

pub(super) fn router() -> Router<AppState> {
    routes::<Projects>()
        .route(&path("/projects/{id}/tags"), get(tags).put(replace_tags).delete(clear_tags))
        .route(&path("/projects/{id}/tags/{tag}"), get(check_tag).put(add_tag).delete(remove_tag))
}
