//! Role assignments: grants on projects, domains and the system
//! (`/v3/{projects|domains}/{id}/{users|groups}/{actor}/roles/{role}`,
//! `/v3/system/{users|groups}/{actor}/roles/{role}`) and the `/v3/role_assignments` listing.

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::identity::{ActorType, Assignment, AssignmentFilter, EffectiveAssignment, Named, TargetType};
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Value};

use super::{no_content, path, roles, self_link};
use crate::auth::Call;
use crate::body::query_bool;
use crate::routes::Router;
use crate::{ApiError, AppState};

type Kinds = (TargetType, ActorType);

fn grant_of((t, a): Kinds, tid: String, aid: String, role: String) -> Assignment {
    Assignment { actor_type: a, actor_id: aid, target_type: t, target_id: tid, role_id: role, inherited: false }
}

async fn put_grant(
    s: AppState,
    ctx: std::sync::Arc<RequestContext>,
    k: Kinds,
    (tid, aid, role): (String, String, String),
) -> Result<Response, ApiError> {
    s.identity.grant(&ctx, &grant_of(k, tid, aid, role)).await?;
    Ok(no_content())
}

async fn check_grant(
    s: AppState,
    ctx: std::sync::Arc<RequestContext>,
    k: Kinds,
    (tid, aid, role): (String, String, String),
) -> Result<Response, ApiError> {
    s.identity.check_grant(&ctx, &grant_of(k, tid, aid, role)).await?;
    Ok(no_content())
}

async fn delete_grant(
    s: AppState,
    ctx: std::sync::Arc<RequestContext>,
    k: Kinds,
    (tid, aid, role): (String, String, String),
) -> Result<Response, ApiError> {
    s.identity.revoke_grant(&ctx, &grant_of(k, tid, aid, role)).await?;
    Ok(no_content())
}

async fn list_grants(
    s: AppState,
    ctx: std::sync::Arc<RequestContext>,
    (t, a): Kinds,
    (tid, aid): (String, String),
    link: String,
) -> Result<Response, ApiError> {
    let list = s.identity.grants_on(&ctx, a, &aid, t, &tid).await?;
    let items: Vec<Value> = list.iter().map(|r| roles::render(&s, r)).collect();
    Ok(axum::Json(json!({"roles": items, "links": self_link(&s, &link)})).into_response())
}

fn flag(q: &HashMap<String, String>, k: &str) -> bool {
    q.get(k).is_some_and(|v| query_bool(v).unwrap_or(true))
}

/// An assignment's parts with their names, as Keystone's `include_names` renders them.
async fn names(s: &AppState, e: &EffectiveAssignment) -> (Value, Value, Value) {
    let n = s.identity.assignment_names(e).await;
    let part = |p: &Named| {
        let mut v = json!({"id": p.id});
        if let Some(name) = &p.name {
            v["name"] = json!(name);
        }
        if let Some((id, name)) = &p.domain {
            v["domain"] = json!({"id": id, "name": name});
        }
        v
    };
    let target = n.target.as_ref().map_or_else(|| json!({"all": true}), part);
    (part(&n.role), part(&n.actor), target)
}

async fn list_assignments(Call(s, ctx): Call, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let f = AssignmentFilter {
        user_id: q.get("user.id").cloned(),
        group_id: q.get("group.id").cloned(),
        role_id: q.get("role.id").cloned(),
        project_id: q.get("scope.project.id").cloned(),
        domain_id: q.get("scope.domain.id").cloned(),
        system: q.contains_key("scope.system"),
        inherited: q.get("scope.OS-INHERIT:inherited_to").map(|_| true),
        effective: flag(&q, "effective"),
    };
    let include_names = flag(&q, "include_names");
    let lines = s.identity.list_assignments(&ctx, &f).await?;
    let base = s.public_url().to_string();
    let mut items = Vec::with_capacity(lines.len());
    for e in &lines {
        let (role, actor, target) = if include_names {
            names(&s, e).await
        } else {
            let t = if e.target_type == "system" { json!({"all": true}) } else { json!({"id": e.target_id}) };
            (json!({"id": e.role_id}), json!({"id": e.actor_id}), t)
        };
        let tseg = match e.target_type {
            "project" => format!("projects/{}", e.target_id),
            "domain" => format!("domains/{}", e.target_id),
            _ => "system".to_string(),
        };
        let mut links = json!({"assignment": format!("{base}{}", path(&format!("/{tseg}/{}s/{}/roles/{}", e.actor_type, e.actor_id, e.role_id)))});
        if let Some(g) = &e.via_group {
            links["membership"] = json!(format!("{base}{}", path(&format!("/groups/{g}/users/{}", e.actor_id))));
        }
        let mut scope = json!({ e.target_type: target });
        if e.inherited {
            scope["OS-INHERIT:inherited_to"] = json!("projects");
        }
        items.push(json!({ "role": role, e.actor_type: actor, "scope": scope, "links": links }));
    }
    Ok(axum::Json(json!({"role_assignments": items, "links": self_link(&s, "/role_assignments")})).into_response())
}

pub(super) fn router() -> Router<AppState> {
    let mut r = Router::new().route(&path("/role_assignments"), get(list_assignments));
    // Spelled out per target and actor kind: a parameter in those positions would shadow
    // sibling routes such as `/projects/{id}/tags/{tag}`.
    let kinds = [
        ("projects", TargetType::Project, "users", ActorType::User),
        ("projects", TargetType::Project, "groups", ActorType::Group),
        ("domains", TargetType::Domain, "users", ActorType::User),
        ("domains", TargetType::Domain, "groups", ActorType::Group),
        ("system", TargetType::System, "users", ActorType::User),
        ("system", TargetType::System, "groups", ActorType::Group),
    ];
    for (tseg, t, aseg, a) in kinds {
        let k = (t, a);
        let (one, many) = if t == TargetType::System {
            (format!("/system/{aseg}/{{aid}}/roles/{{role}}"), format!("/system/{aseg}/{{aid}}/roles"))
        } else {
            (format!("/{tseg}/{{tid}}/{aseg}/{{aid}}/roles/{{role}}"), format!("/{tseg}/{{tid}}/{aseg}/{{aid}}/roles"))
        };
        let is_system = t == TargetType::System;
        let ids = move |params: HashMap<String, String>| -> (String, String, String) {
            let get = |k: &str| params.get(k).cloned().unwrap_or_default();
            let tid = if is_system { "all".to_string() } else { get("tid") };
            (tid, get("aid"), get("role"))
        };
        r = r
            .route(
                &path(&one),
                get(move |Call(s, c): Call, Path(p): Path<HashMap<String, String>>| check_grant(s, c, k, ids(p)))
                    .put(move |Call(s, c): Call, Path(p): Path<HashMap<String, String>>| put_grant(s, c, k, ids(p)))
                    .delete(move |Call(s, c): Call, Path(p): Path<HashMap<String, String>>| {
                        delete_grant(s, c, k, ids(p))
                    }),
            )
            .route(
                &path(&many),
                get(move |Call(s, c): Call, Path(p): Path<HashMap<String, String>>| {
                    let (tid, aid, _) = ids(p);
                    let link = if is_system {
                        format!("/system/{aseg}/{aid}/roles")
                    } else {
                        format!("/{tseg}/{tid}/{aseg}/{aid}/roles")
                    };
                    list_grants(s, c, k, (tid, aid), link)
                }),
            );
    }
    r
}
