//! `/flavors`, their extra specs and access lists.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hybridstack_core::compute::model::Flavor;
use hybridstack_core::compute::FlavorRequest;
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;
use serde_json::{json, Map, Value};

use super::{bad, json_body, path, views, Mv, Nova, NovaError, Result};
use crate::auth::Call;
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Params, Resource, View};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    routes::<Flavors>()
        .route(&path("/flavors/{id}/os-extra_specs"), get(specs).post(specs_set))
        .route(&path("/flavors/{id}/os-extra_specs/{key}"), get(spec_get).put(spec_put).delete(spec_delete))
        .route(&path("/flavors/{id}/os-flavor-access"), get(access))
        .route(&path("/flavors/{id}/action"), post(access_action))
}

struct Flavors;

impl Resource for Flavors {
    names!(Nova, Flavor, "flavor", "flavors", "/flavors"; compute: show flavor_get, delete flavor_delete);
    const DETAIL: bool = true;

    fn render(st: &AppState, _: &RequestContext, f: &Flavor, how: &How<Nova>) -> Result<Value> {
        Ok(match how.view {
            View::Brief => views::flavor_brief(st.public_url(), f),
            View::Full | View::Created | View::Updated => views::flavor(st.public_url(), f),
        })
    }

    /// The flavors the caller sees, filtered, after the `marker`; `limit` is Nova's (the
    /// service's list).
    async fn list(st: &AppState, ctx: &RequestContext, q: &Params) -> Result<Vec<Flavor>> {
        let mut is_public = None;
        let (mut min_ram, mut min_disk, mut marker) = (0, 0, None);
        for (k, v) in q {
            match k.as_str() {
                // The SDK sends the literal string `None` to mean "public and private".
                "is_public" => {
                    is_public = Some(if v.eq_ignore_ascii_case("none") { None } else { crate::body::query_bool(v) })
                }
                "minRam" => min_ram = v.parse().map_err(|_| bad(format!("Invalid minRam filter [{v}]")))?,
                "minDisk" => min_disk = v.parse().map_err(|_| bad(format!("Invalid minDisk filter [{v}]")))?,
                "marker" => marker = Some(v.clone()),
                _ => {}
            }
        }
        let mut flavors = st.compute.flavor_list(ctx, is_public).await?;
        flavors.retain(|f| f.ram >= min_ram && f.disk >= min_disk);
        if let Some(m) = &marker {
            let pos = flavors.iter().position(|f| &f.id == m).ok_or_else(|| bad(format!("marker [{m}] not found")))?;
            flavors.drain(..=pos);
        }
        Ok(flavors)
    }

    async fn create(st: &AppState, ctx: &RequestContext, f: Map<String, Value>) -> Result<Flavor> {
        let req = FlavorRequest {
            id: match f.get("id") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(_) => return Err(bad("Invalid input for field/attribute id.")),
            },
            name: match f.get("name") {
                Some(Value::String(s)) => s.clone(),
                _ => return Err(bad("Invalid input for field/attribute name: it is required.")),
            },
            vcpus: u32::try_from(num(&f, "vcpus", true)?)
                .map_err(|_| bad("Invalid input for field/attribute vcpus."))?,
            ram: num(&f, "ram", true)?,
            disk: num(&f, "disk", true)?,
            ephemeral: num(&f, "OS-FLV-EXT-DATA:ephemeral", false)?,
            swap: num(&f, "swap", false)?,
            rxtx_factor: f.get("rxtx_factor").and_then(Value::as_f64).unwrap_or(1.0),
            is_public: f.get("os-flavor-access:is_public").and_then(Value::as_bool).unwrap_or(true),
            description: f.get("description").and_then(Value::as_str).map(str::to_string),
        };
        Ok(st.compute.flavor_create(ctx, req).await?)
    }

    async fn update(st: &AppState, ctx: &RequestContext, id: &str, f: Map<String, Value>) -> Result<Flavor> {
        let d = f.get("description").and_then(Value::as_str).map(str::to_string);
        Ok(st.compute.flavor_update_description(ctx, id, d).await?)
    }

    fn deleted(_: Mv) -> StatusCode {
        StatusCode::ACCEPTED
    }
}

fn num(m: &Map<String, Value>, k: &str, required: bool) -> Result<u64> {
    match m.get(k) {
        None | Some(Value::Null) if !required => Ok(0),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad(format!("Invalid input for field/attribute {k}."))),
        Some(Value::String(s)) if s.is_empty() && !required => Ok(0),
        Some(Value::String(s)) => s.parse().map_err(|_| bad(format!("Invalid input for field/attribute {k}."))),
        _ => Err(bad(format!("Invalid input for field/attribute {k}: it is required."))),
    }
}

async fn specs(Call(st, ctx): Call, Path(id): Path<String>) -> Result<Response> {
    let f = st.compute.flavor_get(&ctx, &id).await?;
    Ok(axum::Json(json!({"extra_specs": f.extra_specs})).into_response())
}

fn spec_map(v: Option<&Value>) -> Result<BTreeMap<String, String>> {
    let Some(Value::Object(m)) = v else { return Err(bad("'extra_specs' is a required object.")) };
    m.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Number(n) => Ok((k.clone(), n.to_string())),
            Value::Bool(b) => Ok((k.clone(), b.to_string())),
            _ => Err(bad(format!("Invalid value for extra spec {k}."))),
        })
        .collect()
}

async fn specs_set(Call(st, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    let m = st.compute.flavor_set_specs(&ctx, &id, spec_map(v.get("extra_specs"))?).await?;
    Ok(axum::Json(json!({"extra_specs": m})).into_response())
}

async fn spec_get(Call(st, ctx): Call, Path((id, key)): Path<(String, String)>) -> Result<Response> {
    let f = st.compute.flavor_get(&ctx, &id).await?;
    let v = f.extra_specs.get(&key).ok_or_else(|| {
        NovaError(CoreError::NotFound(format!("Flavor {id} does not have extra specs with key {key}.")))
    })?;
    Ok(axum::Json(json!({ key: v })).into_response())
}

async fn spec_put(Call(st, ctx): Call, Path((id, key)): Path<(String, String)>, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    let m = spec_map(Some(&v))?;
    if m.len() != 1 || !m.contains_key(&key) {
        return Err(bad("Request body and URI mismatch"));
    }
    let m = st.compute.flavor_set_specs(&ctx, &id, m).await?;
    Ok(axum::Json(json!(m)).into_response())
}

async fn spec_delete(Call(st, ctx): Call, Path((id, key)): Path<(String, String)>) -> Result<Response> {
    st.compute.flavor_delete_spec(&ctx, &id, &key).await?;
    Ok(StatusCode::OK.into_response())
}

fn access_body(id: &str, projects: &[String]) -> Value {
    json!({"flavor_access": projects.iter().map(|p| json!({"flavor_id": id, "tenant_id": p})).collect::<Vec<_>>()})
}

async fn access(Call(st, ctx): Call, Path(id): Path<String>) -> Result<Response> {
    let list = st.compute.flavor_access(&ctx, &id).await?;
    Ok(axum::Json(access_body(&id, &list)).into_response())
}

async fn access_action(Call(st, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    let (add, args) = match (v.get("addTenantAccess"), v.get("removeTenantAccess")) {
        (Some(a), None) => (true, a),
        (None, Some(r)) => (false, r),
        _ => return Err(bad("Use addTenantAccess or removeTenantAccess.")),
    };
    let tenant = args.get("tenant").and_then(Value::as_str).ok_or_else(|| bad("'tenant' is a required property."))?;
    let list = st.compute.flavor_access_change(&ctx, &id, tenant, add).await?;
    Ok(axum::Json(access_body(&id, &list)).into_response())
}
