//! `/flavors`, their extra specs and access lists.

use std::collections::BTreeMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hybridstack_core::compute::model::Flavor;
use hybridstack_core::compute::FlavorRequest;
use hybridstack_core::CoreError;
use serde_json::{json, Map, Value};

use super::{bad, json_body, path, views, NovaError, Result};
use crate::auth::Caller;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/flavors"), get(list).post(create))
        .route(&path("/flavors/detail"), get(detail))
        .route(&path("/flavors/{id}"), get(show).delete(remove).put(update))
        .route(&path("/flavors/{id}/os-extra_specs"), get(specs).post(specs_set))
        .route(&path("/flavors/{id}/os-extra_specs/{key}"), get(spec_get).put(spec_put).delete(spec_delete))
        .route(&path("/flavors/{id}/os-flavor-access"), get(access))
        .route(&path("/flavors/{id}/action"), post(access_action))
}

struct Query {
    is_public: Option<Option<bool>>,
    min_ram: u64,
    min_disk: u64,
    limit: Option<usize>,
    marker: Option<String>,
}

fn query(raw: Option<&str>) -> Result<Query> {
    let mut q = Query { is_public: None, min_ram: 0, min_disk: 0, limit: None, marker: None };
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            // The SDK sends the literal string `None` to mean "public and private".
            "is_public" => {
                q.is_public = Some(if v.eq_ignore_ascii_case("none") { None } else { crate::body::query_bool(&v) })
            }
            "minRam" => q.min_ram = v.parse().map_err(|_| bad(format!("Invalid minRam filter [{v}]")))?,
            "minDisk" => q.min_disk = v.parse().map_err(|_| bad(format!("Invalid minDisk filter [{v}]")))?,
            "limit" => q.limit = Some(v.parse().map_err(|_| bad(format!("Invalid limit [{v}]")))?),
            "marker" => q.marker = Some(v.into_owned()),
            _ => {}
        }
    }
    Ok(q)
}

async fn listing(
    st: AppState,
    ctx: &hybridstack_core::policy::RequestContext,
    raw: Option<String>,
    detail: bool,
) -> Result<Response> {
    let q = query(raw.as_deref())?;
    let mut flavors: Vec<Flavor> = st
        .compute
        .flavor_list(ctx, q.is_public)
        .await?
        .into_iter()
        .filter(|f| f.ram >= q.min_ram && f.disk >= q.min_disk)
        .collect();
    if let Some(m) = &q.marker {
        let pos = flavors.iter().position(|f| &f.id == m).ok_or_else(|| bad(format!("marker [{m}] not found")))?;
        flavors.drain(..=pos);
    }
    let base = st.public_url().to_string();
    let mut body = json!({});
    if let Some(l) = q.limit {
        if flavors.len() > l {
            flavors.truncate(l);
            if let Some(last) = flavors.last() {
                let key = if detail { "/flavors/detail" } else { "/flavors" };
                body["flavors_links"] =
                    json!([{"rel": "next", "href": format!("{base}{}?limit={l}&marker={}", path(key), last.id)}]);
            }
        }
    }
    body["flavors"] = Value::Array(
        flavors.iter().map(|f| if detail { views::flavor(&base, f) } else { views::flavor_brief(&base, f) }).collect(),
    );
    Ok(axum::Json(body).into_response())
}

async fn list(State(st): State<AppState>, Caller(ctx): Caller, RawQuery(raw): RawQuery) -> Result<Response> {
    listing(st, &ctx, raw, false).await
}

async fn detail(State(st): State<AppState>, Caller(ctx): Caller, RawQuery(raw): RawQuery) -> Result<Response> {
    listing(st, &ctx, raw, true).await
}

async fn show(State(st): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
    let f = st.compute.flavor_get(&ctx, &id).await?;
    Ok(axum::Json(json!({"flavor": views::flavor(st.public_url(), &f)})).into_response())
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

async fn create(State(st): State<AppState>, Caller(ctx): Caller, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    let Some(Value::Object(f)) = v.get("flavor") else { return Err(bad("'flavor' is a required property.")) };
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
        vcpus: u32::try_from(num(f, "vcpus", true)?).map_err(|_| bad("Invalid input for field/attribute vcpus."))?,
        ram: num(f, "ram", true)?,
        disk: num(f, "disk", true)?,
        ephemeral: num(f, "OS-FLV-EXT-DATA:ephemeral", false)?,
        swap: num(f, "swap", false)?,
        rxtx_factor: f.get("rxtx_factor").and_then(Value::as_f64).unwrap_or(1.0),
        is_public: f.get("os-flavor-access:is_public").and_then(Value::as_bool).unwrap_or(true),
        description: f.get("description").and_then(Value::as_str).map(str::to_string),
    };
    let flavor = st.compute.flavor_create(&ctx, req).await?;
    Ok(axum::Json(json!({"flavor": views::flavor(st.public_url(), &flavor)})).into_response())
}

async fn update(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let v = json_body(&body)?;
    let d = v.get("flavor").and_then(|f| f.get("description")).and_then(Value::as_str).map(str::to_string);
    let f = st.compute.flavor_update_description(&ctx, &id, d).await?;
    Ok(axum::Json(json!({"flavor": views::flavor(st.public_url(), &f)})).into_response())
}

async fn remove(State(st): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
    st.compute.flavor_delete(&ctx, &id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn specs(State(st): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
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

async fn specs_set(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let v = json_body(&body)?;
    let m = st.compute.flavor_set_specs(&ctx, &id, spec_map(v.get("extra_specs"))?).await?;
    Ok(axum::Json(json!({"extra_specs": m})).into_response())
}

async fn spec_get(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response> {
    let f = st.compute.flavor_get(&ctx, &id).await?;
    let v = f.extra_specs.get(&key).ok_or_else(|| {
        NovaError(CoreError::NotFound(format!("Flavor {id} does not have extra specs with key {key}.")))
    })?;
    Ok(axum::Json(json!({ key: v })).into_response())
}

async fn spec_put(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((id, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let v = json_body(&body)?;
    let m = spec_map(Some(&v))?;
    if m.len() != 1 || !m.contains_key(&key) {
        return Err(bad("Request body and URI mismatch"));
    }
    let m = st.compute.flavor_set_specs(&ctx, &id, m).await?;
    Ok(axum::Json(json!(m)).into_response())
}

async fn spec_delete(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response> {
    st.compute.flavor_delete_spec(&ctx, &id, &key).await?;
    Ok(StatusCode::OK.into_response())
}

fn access_body(id: &str, projects: &[String]) -> Value {
    json!({"flavor_access": projects.iter().map(|p| json!({"flavor_id": id, "tenant_id": p})).collect::<Vec<_>>()})
}

async fn access(State(st): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Response> {
    let list = st.compute.flavor_access(&ctx, &id).await?;
    Ok(axum::Json(access_body(&id, &list)).into_response())
}

async fn access_action(
    State(st): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
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
