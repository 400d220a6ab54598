//! `/types`: volume types (list, show, the default, and for admins create, update and
//! delete), their extra specs, and the access list of private types
//! (`os-volume-type-access`, `addProjectAccess`/`removeProjectAccess`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hybridstack_core::policy::RequestContext;
use hybridstack_core::volume::types::{TypeUpdate, VolumeType};
use serde_json::{json, Map, Value};

use super::{action_of, metadata, object_in, route, text, Cinder, InProject, ListQuery, Result};
use crate::compute::{bad, json_body, NovaError};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Params, Resource, View};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    routes::<Types>()
        .route(&route("/types/{id}/extra_specs"), get(specs).post(specs_set))
        .route(&route("/types/{id}/extra_specs/{key}"), get(spec_show).put(spec_put).delete(spec_delete))
        .route(&route("/types/{id}/os-volume-type-access"), get(access))
        .route(&route("/types/{id}/action"), post(action))
}

/// Show and list carry the QoS link (none: QoS specs are not served); create and update
/// answer without it (and update without the access alias), as Cinder does.
fn view(t: &VolumeType) -> Value {
    let mut v = written(t);
    v["qos_specs_id"] = Value::Null;
    v
}

fn written(t: &VolumeType) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "is_public": t.is_public,
        "extra_specs": t.extra_specs,
        "os-volume-type-access:is_public": t.is_public,
    })
}

/// `is_public`: true (the default), false, or `None` for all ("None" or "all" as Cinder).
fn is_public(q: &ListQuery) -> Result<Option<bool>> {
    match q.get("is_public").map(str::to_ascii_lowercase).as_deref() {
        None | Some("true") | Some("1") | Some("yes") => Ok(Some(true)),
        Some("false") | Some("0") | Some("no") => Ok(Some(false)),
        Some("none") | Some("all") => Ok(None),
        Some(other) => Err(bad(format!("Invalid input received: is_public {other:?} must be a boolean."))),
    }
}

/// Extra specs are strings; numbers and booleans are taken as their text, as Cinder does.
fn specs_of(v: &Value) -> Result<BTreeMap<String, String>> {
    let Some(m) = v.as_object() else { return Err(bad("Invalid input received: extra_specs must be an object.")) };
    m.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Number(n) => Ok((k.clone(), n.to_string())),
            Value::Bool(b) => Ok((k.clone(), if *b { "True" } else { "False" }.to_string())),
            other => Err(bad(format!("Invalid input received: extra spec {k} must be a string, not {other}."))),
        })
        .collect()
}

struct Types;

impl Resource for Types {
    names!(Cinder, VolumeType, "volume_type", "volume_types", "/types"; compute.volumes: show type_get, delete type_delete);
    const CREATED: StatusCode = StatusCode::OK;
    const DETAIL: bool = false;

    fn render(_: &AppState, _: &RequestContext, t: &VolumeType, how: &How<Cinder>) -> Result<Value> {
        Ok(match how.view {
            View::Full | View::Brief => view(t),
            View::Created => written(t),
            View::Updated => {
                let mut body = written(t);
                if let Some(o) = body.as_object_mut() {
                    o.remove("os-volume-type-access:is_public");
                }
                body
            }
        })
    }

    async fn list(st: &AppState, ctx: &RequestContext, q: &Params) -> Result<Vec<VolumeType>> {
        Ok(st.compute.volumes.type_list(ctx, is_public(&ListQuery::of(q))?).await?)
    }

    async fn create(st: &AppState, ctx: &RequestContext, t: Map<String, Value>) -> Result<VolumeType> {
        let t = Value::Object(t);
        let name = text(&t, "name")?.ok_or_else(|| bad("Invalid input received: name is required."))?;
        let public = metadata::boolean(&t, "os-volume-type-access:is_public")?
            .or(metadata::boolean(&t, "is_public")?)
            .unwrap_or(true);
        let specs = t.get("extra_specs").map(specs_of).transpose()?.unwrap_or_default();
        Ok(st.compute.volumes.type_create(ctx, name, text(&t, "description")?, public, specs).await?)
    }

    async fn update(st: &AppState, ctx: &RequestContext, id: &str, t: Map<String, Value>) -> Result<VolumeType> {
        let t = Value::Object(t);
        let u = TypeUpdate {
            name: text(&t, "name")?,
            description: t.get("description").map(|_| text(&t, "description")).transpose()?,
            is_public: metadata::boolean(&t, "is_public")?,
        };
        Ok(st.compute.volumes.type_update(ctx, id, u).await?)
    }
}

async fn specs(InProject(st, ctx): InProject, Path((_, id)): Path<(String, String)>) -> Result<Response> {
    let specs = st.compute.volumes.type_specs(&ctx, &id).await?;
    Ok(axum::Json(json!({"extra_specs": specs})).into_response())
}

async fn specs_set(
    InProject(st, ctx): InProject,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let body = json_body(&body)?;
    let specs = specs_of(object_in(&body, "extra_specs")?)?;
    let set = st.compute.volumes.type_specs_set(&ctx, &id, specs).await?;
    Ok(axum::Json(json!({"extra_specs": set})).into_response())
}

async fn spec_show(
    InProject(st, ctx): InProject,
    Path((_, id, key)): Path<(String, String, String)>,
) -> Result<Response> {
    let specs = st.compute.volumes.type_specs(&ctx, &id).await?;
    let value = specs.get(&key).ok_or_else(|| {
        NovaError(hybridstack_core::CoreError::NotFound(format!("Volume Type {id} has no extra specs with key {key}.")))
    })?;
    Ok(axum::Json(json!({ key: value })).into_response())
}

/// `PUT …/extra_specs/{key}` with `{key: value}`: the body must name that one key.
async fn spec_put(
    InProject(st, ctx): InProject,
    Path((_, id, key)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response> {
    let body = json_body(&body)?;
    let specs = specs_of(&body)?;
    if specs.len() != 1 || !specs.contains_key(&key) {
        return Err(bad("Request body and URI mismatch: the body must hold exactly the key in the URL."));
    }
    let set = st.compute.volumes.type_specs_set(&ctx, &id, specs).await?;
    Ok(axum::Json(Value::Object(set.into_iter().map(|(k, v)| (k, json!(v))).collect::<Map<_, _>>())).into_response())
}

async fn spec_delete(
    InProject(st, ctx): InProject,
    Path((_, id, key)): Path<(String, String, String)>,
) -> Result<Response> {
    st.compute.volumes.type_spec_delete(&ctx, &id, &key).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn access(InProject(st, ctx): InProject, Path((_, id)): Path<(String, String)>) -> Result<Response> {
    let projects = st.compute.volumes.type_access(&ctx, &id).await?;
    let items: Vec<Value> = projects.iter().map(|p| json!({"volume_type_id": id, "project_id": p})).collect();
    Ok(axum::Json(json!({"volume_type_access": items})).into_response())
}

async fn action(InProject(st, ctx): InProject, Path((_, id)): Path<(String, String)>, body: Bytes) -> Result<Response> {
    let body = json_body(&body)?;
    let (name, args) = action_of(&body)?;
    let add = match name {
        "addProjectAccess" => true,
        "removeProjectAccess" => false,
        other => return Err(bad(format!("There is no such action: {other}"))),
    };
    let target = text(args, "project")?.ok_or_else(|| bad("Invalid input received: project is required."))?;
    st.compute.volumes.type_access_change(&ctx, &id, &target, add).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
