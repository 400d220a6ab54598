//! A server's metadata (`/metadata`), tags (`/tags`, microversion 2.26+) and addresses (`/ips`).

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::compute::TagChange;
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::servers::string_map;
use super::{bad, json_body, path, views, Mv, NovaError, Result};
use crate::auth::Call;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/servers/{id}/metadata"), get(meta_list).put(meta_set::<true>).post(meta_set::<false>))
        .route(&path("/servers/{id}/metadata/{key}"), get(meta_get).put(meta_put).delete(meta_delete))
        .route(&path("/servers/{id}/tags"), get(tags_list).put(tags_replace).delete(tags_clear))
        .route(&path("/servers/{id}/tags/{tag}"), get(tag_check).put(tag_add).delete(tag_remove))
        .route(&path("/servers/{id}/ips"), get(ips))
        .route(&path("/servers/{id}/ips/{network}"), get(ips_of))
}

async fn meta_list(Call(st, ctx): Call, Path(id): Path<String>) -> Result<Response> {
    let s = st.compute.server_get(&ctx, &id).await?;
    Ok(axum::Json(json!({"metadata": s.metadata})).into_response())
}

/// PUT replaces the server's metadata (`REPLACE`); POST merges into it.
async fn meta_set<const REPLACE: bool>(Call(st, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    if v.get("metadata").is_none_or(|m| !m.is_object()) {
        return Err(bad("Invalid input for field/attribute metadata: 'metadata' is a required object."));
    }
    let items = string_map(v.get("metadata"), "metadata")?;
    let m = st.compute.server_metadata_set(&ctx, &id, items, REPLACE).await?;
    Ok(axum::Json(json!({"metadata": m})).into_response())
}

async fn meta_get(Call(st, ctx): Call, Path((id, key)): Path<(String, String)>) -> Result<Response> {
    let s = st.compute.server_get(&ctx, &id).await?;
    let v = s
        .metadata
        .get(&key)
        .ok_or_else(|| NovaError(CoreError::NotFound(format!("Metadata item was not found: {key}"))))?;
    Ok(axum::Json(json!({"meta": {key: v}})).into_response())
}

async fn meta_put(Call(st, ctx): Call, Path((id, key)): Path<(String, String)>, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    let items = string_map(v.get("meta"), "meta")?;
    if items.len() != 1 || !items.contains_key(&key) {
        return Err(bad("Request body and URI mismatch: 'meta' must hold exactly the key in the URI."));
    }
    st.compute.server_metadata_set(&ctx, &id, items.clone(), false).await?;
    Ok(axum::Json(json!({"meta": items})).into_response())
}

async fn meta_delete(Call(st, ctx): Call, Path((id, key)): Path<(String, String)>) -> Result<Response> {
    st.compute.server_metadata_delete(&ctx, &id, &key).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn need_tags(mv: Mv) -> Result<()> {
    if mv.at_least(26) {
        Ok(())
    } else {
        Err(NovaError(CoreError::NotFound("Server tags need microversion 2.26 or later.".into())))
    }
}

async fn tags_list(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>) -> Result<Response> {
    need_tags(mv)?;
    let s = st.compute.server_get(&ctx, &id).await?;
    Ok(axum::Json(json!({"tags": s.tags})).into_response())
}

async fn tags_replace(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    need_tags(mv)?;
    let v = json_body(&body)?;
    let tags = match v.get("tags") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| t.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("Invalid input for field/attribute tags: tags are strings."))?,
        _ => return Err(bad("Invalid input for field/attribute tags: 'tags' is a required list.")),
    };
    let tags = st.compute.server_tags_change(&ctx, &id, TagChange::Replace(tags)).await?;
    Ok(axum::Json(json!({"tags": tags})).into_response())
}

async fn tags_clear(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>) -> Result<Response> {
    need_tags(mv)?;
    st.compute.server_tags_change(&ctx, &id, TagChange::Clear).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn tag_check(Call(st, ctx): Call, mv: Mv, Path((id, tag)): Path<(String, String)>) -> Result<Response> {
    need_tags(mv)?;
    let s = st.compute.server_get(&ctx, &id).await?;
    if s.tags.contains(&tag) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(NovaError(CoreError::NotFound(format!("Tag {tag} could not be found for instance {id}."))))
    }
}

async fn tag_add(Call(st, ctx): Call, mv: Mv, Path((id, tag)): Path<(String, String)>) -> Result<Response> {
    need_tags(mv)?;
    let before = st.compute.server_get(&ctx, &id).await?;
    st.compute.server_tags_change(&ctx, &id, TagChange::Add(tag.clone())).await?;
    let status = if before.tags.contains(&tag) { StatusCode::NO_CONTENT } else { StatusCode::CREATED };
    let mut resp = status.into_response();
    if let Ok(h) =
        axum::http::HeaderValue::from_str(&format!("{}{}", st.public_url(), path(&format!("/servers/{id}/tags/{tag}"))))
    {
        resp.headers_mut().insert(axum::http::header::LOCATION, h);
    }
    Ok(resp)
}

async fn tag_remove(Call(st, ctx): Call, mv: Mv, Path((id, tag)): Path<(String, String)>) -> Result<Response> {
    need_tags(mv)?;
    st.compute.server_tags_change(&ctx, &id, TagChange::Remove(tag)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn ips(Call(st, ctx): Call, Path(id): Path<String>) -> Result<Response> {
    let s = st.compute.server_get(&ctx, &id).await?;
    let addrs = views::addresses(&s);
    let plain = strip(&addrs);
    Ok(axum::Json(json!({"addresses": plain})).into_response())
}

/// `ips` shows only version and address.
fn strip(v: &Value) -> Value {
    let Some(m) = v.as_object() else { return json!({}) };
    Value::Object(
        m.iter()
            .map(|(k, list)| {
                let items: Vec<Value> = list
                    .as_array()
                    .map(|a| a.iter().map(|x| json!({"version": x["version"], "addr": x["addr"]})).collect())
                    .unwrap_or_default();
                (k.clone(), Value::Array(items))
            })
            .collect(),
    )
}

async fn ips_of(Call(st, ctx): Call, Path((id, network)): Path<(String, String)>) -> Result<Response> {
    let s = st.compute.server_get(&ctx, &id).await?;
    let addrs = strip(&views::addresses(&s));
    match addrs.get(&network) {
        Some(list) => Ok(axum::Json(json!({ network: list })).into_response()),
        None => Err(NovaError(CoreError::NotFound("Instance is not a member of specified network".into()))),
    }
}
