//! `/os-keypairs`: create, import, list, show, delete (types from microversion 2.2).

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::compute::model::Keypair;
use hybridstack_core::compute::KeypairRequest;
use serde_json::{json, Value};

use super::{bad, json_body, path, Mv, Result};
use crate::auth::Call;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/os-keypairs"), get(list).post(create))
        .route(&path("/os-keypairs/{name}"), get(show).delete(remove))
}

fn user_param(raw: Option<&str>, mv: Mv) -> Option<String> {
    if !mv.at_least(10) {
        return None;
    }
    form_urlencoded::parse(raw.unwrap_or("").as_bytes()).find(|(k, _)| k == "user_id").map(|(_, v)| v.into_owned())
}

fn brief(k: &Keypair, mv: Mv) -> Value {
    let mut v = json!({"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint});
    if mv.at_least(2) {
        v["type"] = json!(k.kind);
    }
    v
}

async fn create(Call(st, ctx): Call, mv: Mv, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    let Some(Value::Object(k)) = v.get("keypair") else { return Err(bad("'keypair' is a required property.")) };
    let name = match k.get("name") {
        Some(Value::String(n)) => n.clone(),
        _ => return Err(bad("Invalid input for field/attribute name: it is required.")),
    };
    let kind = if mv.at_least(2) { k.get("type").and_then(Value::as_str).map(str::to_string) } else { None };
    let req = KeypairRequest {
        name,
        public_key: k.get("public_key").and_then(Value::as_str).map(str::to_string),
        kind,
        user_id: if mv.at_least(10) { k.get("user_id").and_then(Value::as_str).map(str::to_string) } else { None },
    };
    let (kp, private) = st.compute.keypair_create(&ctx, req).await?;
    let mut body = brief(&kp, mv);
    body["user_id"] = json!(kp.user_id);
    if let Some(p) = private {
        body["private_key"] = json!(p);
    }
    let status = if mv.at_least(2) { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(json!({"keypair": body}))).into_response())
}

async fn list(Call(st, ctx): Call, mv: Mv, RawQuery(raw): RawQuery) -> Result<Response> {
    let user = user_param(raw.as_deref(), mv);
    let list = st.compute.keypair_list(&ctx, user.as_deref()).await?;
    let items: Vec<Value> = list.iter().map(|k| json!({"keypair": brief(k, mv)})).collect();
    Ok(axum::Json(json!({"keypairs": items})).into_response())
}

async fn show(Call(st, ctx): Call, mv: Mv, Path(name): Path<String>, RawQuery(raw): RawQuery) -> Result<Response> {
    let user = user_param(raw.as_deref(), mv);
    let k = st.compute.keypair_get(&ctx, &name, user.as_deref()).await?;
    let mut body = brief(&k, mv);
    body["user_id"] = json!(k.user_id);
    body["created_at"] = json!(k.created_at.trim_end_matches('Z'));
    body["deleted"] = json!(false);
    body["deleted_at"] = Value::Null;
    body["updated_at"] = Value::Null;
    body["id"] = json!(k.id);
    Ok(axum::Json(json!({"keypair": body})).into_response())
}

async fn remove(Call(st, ctx): Call, mv: Mv, Path(name): Path<String>, RawQuery(raw): RawQuery) -> Result<Response> {
    let user = user_param(raw.as_deref(), mv);
    st.compute.keypair_delete(&ctx, &name, user.as_deref()).await?;
    Ok(if mv.at_least(2) { StatusCode::NO_CONTENT } else { StatusCode::ACCEPTED }.into_response())
}
