//! `/v2/images` and `/v2/images/{id}`: create, list, show, update (JSON patch), delete, and
//! the deactivate/reactivate actions.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hybridstack_core::images::attributes::{SERVER_SET, SETTABLE};
use hybridstack_core::images::Image;
use hybridstack_core::images::{ListQuery, NewImage, PatchOp, SortKey, DEFAULT_LIMIT};
use hybridstack_core::CoreError;
use serde_json::{json, Map, Value};

use super::{path, ts, GlanceError};
use crate::auth::Call;
use crate::AppState;

/// One image, with the stores that hold it.
pub(crate) async fn render_one(state: &AppState, i: &Image) -> Result<Value, GlanceError> {
    let stores = state.images.active_stores(std::slice::from_ref(&i.id)).await?;
    Ok(render(i, stores.get(&i.id).map(Vec::as_slice).unwrap_or_default()))
}

pub(crate) fn render(i: &Image, stores: &[String]) -> Value {
    let mut v: Map<String, Value> = i.properties.clone();
    let base = json!({
        "id": i.id, "name": i.name, "status": i.status, "visibility": i.visibility, "protected": i.protected,
        "os_hidden": i.os_hidden, "checksum": i.checksum, "os_hash_algo": i.os_hash_algo, "os_hash_value": i.os_hash_value,
        "size": i.size, "virtual_size": i.virtual_size, "min_disk": i.min_disk, "min_ram": i.min_ram, "owner": i.owner,
        "container_format": i.container_format, "disk_format": i.disk_format, "tags": i.tags,
        "created_at": ts(i.created_at), "updated_at": ts(i.updated_at),
        "self": format!("/v2/images/{}", i.id), "file": format!("/v2/images/{}/file", i.id), "schema": "/v2/schemas/image",
    });
    if let Value::Object(b) = base {
        v.extend(b);
    }
    if !stores.is_empty() {
        v.insert("stores".into(), json!(stores.join(",")));
    }
    Value::Object(v)
}

fn bad(m: String) -> GlanceError {
    GlanceError(CoreError::BadRequest(m))
}

fn opt_string(b: &Map<String, Value>, k: &str) -> Result<Option<String>, GlanceError> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("{k} must be a string."))),
    }
}

fn opt_int(b: &Map<String, Value>, k: &str) -> Result<i64, GlanceError> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v.as_i64().filter(|n| *n >= 0).ok_or_else(|| bad(format!("{k} must be a non-negative integer."))),
    }
}

fn opt_bool(b: &Map<String, Value>, k: &str) -> Result<bool, GlanceError> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(x)) => Ok(*x),
        Some(_) => Err(bad(format!("{k} must be a boolean."))),
    }
}

async fn create(Call(state, ctx): Call, body: Bytes) -> Result<Response, GlanceError> {
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| bad(format!("The request body is not valid JSON: {e}")))?;
    let b = v.as_object().ok_or_else(|| bad("The request body must be a JSON object.".into()))?;
    for k in b.keys() {
        if SERVER_SET.contains(&k.as_str()) || ["owner", "locations"].contains(&k.as_str()) {
            return Err(GlanceError(CoreError::Forbidden(format!("Attribute '{k}' is read-only."))));
        }
    }
    let tags = match b.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| t.as_str().map(str::to_string).ok_or_else(|| bad("tags must be strings.".into())))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("tags must be a list.".into())),
    };
    let mut properties = Map::new();
    for (k, val) in b.iter().filter(|(k, _)| *k != "id" && !SETTABLE.contains(&k.as_str())) {
        match val {
            Value::String(_) => {
                properties.insert(k.clone(), val.clone());
            }
            _ => return Err(bad(format!("Property {k} must be a string."))),
        }
    }
    let n = NewImage {
        id: opt_string(b, "id")?,
        name: opt_string(b, "name")?,
        visibility: opt_string(b, "visibility")?,
        protected: opt_bool(b, "protected")?,
        os_hidden: opt_bool(b, "os_hidden")?,
        min_disk: opt_int(b, "min_disk")?,
        min_ram: opt_int(b, "min_ram")?,
        container_format: opt_string(b, "container_format")?,
        disk_format: opt_string(b, "disk_format")?,
        tags,
        properties,
    };
    if n.name.as_ref().is_some_and(|x| x.chars().count() > 255) {
        return Err(bad("name has at most 255 characters.".into()));
    }
    let i = state.images.create(&ctx, n).await?;
    let mut resp = (StatusCode::CREATED, axum::Json(render(&i, &[]))).into_response();
    if let Ok(loc) = format!("{}{}", state.public_url(), path(&format!("/images/{}", i.id))).parse() {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

fn parse_query(pairs: Vec<(String, String)>) -> Result<ListQuery, GlanceError> {
    let mut q = ListQuery { limit: DEFAULT_LIMIT, ..Default::default() };
    let (mut sort_keys, mut sort_dirs, mut sort) = (Vec::new(), Vec::new(), None);
    for (k, v) in pairs {
        match k.as_str() {
            "limit" => q.limit = v.parse().map_err(|_| bad("limit must be a non-negative integer.".into()))?,
            "marker" => q.marker = Some(v),
            "tag" => q.tags.push(v),
            "sort_key" => sort_keys.push(SortKey::parse(&v)?),
            "sort_dir" => sort_dirs.push(match v.as_str() {
                "asc" => true,
                "desc" => false,
                _ => return Err(bad(format!("Invalid sort_dir {v:?}."))),
            }),
            "sort" => sort = Some(v),
            "changes-since" => return Err(bad("changes-since is not supported; use updated_at=gte:TIME.".into())),
            _ => {
                q.filters.insert(k, v);
            }
        }
    }
    if let Some(s) = sort {
        if !sort_keys.is_empty() || !sort_dirs.is_empty() {
            return Err(bad("Use either sort or sort_key/sort_dir, not both.".into()));
        }
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let (k, d) = part.split_once(':').unwrap_or((part, "desc"));
            let asc = match d {
                "asc" => true,
                "desc" => false,
                _ => return Err(bad(format!("Invalid sort direction {d:?}."))),
            };
            q.sort.push((SortKey::parse(k)?, asc));
        }
    } else {
        if sort_dirs.len() > sort_keys.len().max(1) {
            return Err(bad("More sort directions than sort keys.".into()));
        }
        let default_dir = sort_dirs.first().copied().unwrap_or(false);
        for (n, k) in sort_keys.into_iter().enumerate() {
            q.sort.push((k, sort_dirs.get(n).copied().unwrap_or(default_dir)));
        }
        if q.sort.is_empty() && !sort_dirs.is_empty() {
            q.sort.push((SortKey::CreatedAt, default_dir));
        }
    }
    Ok(q)
}

async fn list(
    Call(state, ctx): Call,
    Query(pairs): Query<Vec<(String, String)>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GlanceError> {
    let q = parse_query(pairs)?;
    let (page, more) = state.images.list(&ctx, &q).await?;
    let ids: Vec<String> = page.iter().map(|i| i.id.clone()).collect();
    let stores = state.images.active_stores(&ids).await?;
    let items: Vec<Value> =
        page.iter().map(|i| render(i, stores.get(&i.id).map(Vec::as_slice).unwrap_or_default())).collect();
    let mut body = json!({"images": items, "first": "/v2/images", "schema": "/v2/schemas/images"});
    if more {
        if let Some(last) = page.last() {
            // Keep the caller's filters and sort; replace only the marker.
            let kept: Vec<&str> = raw
                .as_deref()
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("marker="))
                .collect();
            let mut next = format!("/v2/images?marker={}", last.id);
            for p in kept {
                next.push('&');
                next.push_str(p);
            }
            body["next"] = json!(next);
        }
    }
    Ok(axum::Json(body).into_response())
}

async fn show(Call(state, ctx): Call, Path(id): Path<String>) -> Result<Response, GlanceError> {
    let i = state.images.get(&ctx, &id).await?;
    Ok(axum::Json(render_one(&state, &i).await?).into_response())
}

/// Both JSON-patch dialects Glance takes: v2.1 (RFC 6902, `{"op", "path", "value"}`) and
/// v2.0 (draft 4, the operation as the key: `{"replace": "/name", "value": …}`).
fn parse_patch(headers: &HeaderMap, body: &Bytes) -> Result<Vec<PatchOp>, GlanceError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ct = ct.split(';').next().unwrap_or("").trim();
    let v21 = match ct {
        "application/openstack-images-v2.1-json-patch" => true,
        "application/openstack-images-v2.0-json-patch" => false,
        other => {
            return Err(GlanceError(CoreError::UnsupportedMediaType(format!(
                "Content-Type {other:?} is not a supported patch format."
            ))))
        }
    };
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(format!("The request body is not valid JSON: {e}")))?;
    let ops = v.as_array().ok_or_else(|| bad("A patch is a JSON array of operations.".into()))?;
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        let o = op.as_object().ok_or_else(|| bad("Each patch operation is a JSON object.".into()))?;
        let (kind, p) = if v21 {
            let kind = o.get("op").and_then(Value::as_str).ok_or_else(|| bad("Each operation needs 'op'.".into()))?;
            let p = o.get("path").and_then(Value::as_str).ok_or_else(|| bad("Each operation needs 'path'.".into()))?;
            (kind, p)
        } else {
            let found: Vec<&str> = ["add", "remove", "replace"].into_iter().filter(|k| o.contains_key(*k)).collect();
            let [kind] = found[..] else {
                return Err(bad("Each operation names exactly one of add, remove, replace.".into()));
            };
            let p = o.get(kind).and_then(Value::as_str).ok_or_else(|| bad(format!("'{kind}' takes a path.")))?;
            (kind, p)
        };
        if !p.starts_with('/') {
            return Err(bad(format!("Invalid path {p:?}: it must start with '/'.")));
        }
        let p = p.replace("~1", "/").replace("~0", "~");
        let value = || o.get("value").cloned().ok_or_else(|| bad(format!("'{kind}' needs a value.")));
        out.push(match (kind, v21) {
            ("add", true) => PatchOp::Add(p, value()?),
            ("add", false) => PatchOp::AddNew(p, value()?),
            ("replace", _) => PatchOp::Replace(p, value()?),
            ("remove", _) => PatchOp::Remove(p),
            (other, _) => return Err(bad(format!("Unknown patch operation {other:?}."))),
        });
    }
    Ok(out)
}

async fn update(
    Call(state, ctx): Call,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GlanceError> {
    let ops = parse_patch(&headers, &body)?;
    let i = state.images.update(&ctx, &id, &ops).await?;
    Ok(axum::Json(render_one(&state, &i).await?).into_response())
}

async fn delete(Call(state, ctx): Call, Path(id): Path<String>) -> Result<Response, GlanceError> {
    state.images.delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn deactivate(Call(state, ctx): Call, Path(id): Path<String>) -> Result<Response, GlanceError> {
    state.images.set_active(&ctx, &id, false).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn reactivate(Call(state, ctx): Call, Path(id): Path<String>) -> Result<Response, GlanceError> {
    state.images.set_active(&ctx, &id, true).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/images"), get(list).post(create))
        .route(&path("/images/{id}"), get(show).patch(update).delete(delete))
        .route(&path("/images/{id}/actions/deactivate"), post(deactivate))
        .route(&path("/images/{id}/actions/reactivate"), post(reactivate))
}
