//! Nova's deprecated network proxies `/os-security-groups` and `/os-security-group-rules`
//! (up to microversion 2.35; gone, as 404, from 2.36). They read and write the network
//! service's security groups, in Nova's shapes.

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use hybridstack_core::network::model::{SecurityGroup, SecurityGroupRule};
use hybridstack_core::network::RuleRequest;
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::{bad, json_body, path, Mv, NovaError, Result};
use crate::auth::Call;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/os-security-groups"), get(list).post(create))
        .route(&path("/os-security-groups/{id}"), get(show).put(update).delete(remove))
        .route(&path("/os-security-group-rules"), post(rule_create))
        .route(&path("/os-security-group-rules/{id}"), delete(rule_delete))
        .route(&path("/servers/{id}/os-security-groups"), get(of_server))
}

fn proxy(mv: Mv) -> Result<()> {
    if mv.at_least(36) {
        return Err(NovaError(CoreError::NotFound("The network proxy APIs were removed in microversion 2.36.".into())));
    }
    Ok(())
}

/// Neutron faults arrive as `Type: message`; Nova shows only the message, and maps the
/// in-use and default-group conflicts to 400 as nova-network did.
fn translate(e: CoreError) -> NovaError {
    let strip = |m: String| match m.split_once(": ") {
        Some((k, rest)) if k.chars().all(|c| c.is_ascii_alphanumeric()) => rest.to_string(),
        _ => m,
    };
    NovaError(match e {
        CoreError::Conflict(m) => CoreError::BadRequest(strip(m)),
        CoreError::NotFound(m) => CoreError::NotFound(strip(m)),
        CoreError::BadRequest(m) => CoreError::BadRequest(strip(m)),
        other => other,
    })
}

fn rule_view(r: &SecurityGroupRule, groups: &[SecurityGroup]) -> Value {
    let group = r
        .remote_group_id
        .as_ref()
        .and_then(|g| groups.iter().find(|x| &x.id == g))
        .map(|g| json!({"name": g.name, "tenant_id": g.project_id}))
        .unwrap_or_else(|| json!({}));
    let cidr =
        r.remote_ip_prefix
            .clone()
            .or_else(|| if r.remote_group_id.is_none() { Some("0.0.0.0/0".into()) } else { None });
    json!({
        "id": r.id,
        "parent_group_id": r.security_group_id,
        "ip_protocol": r.protocol,
        "from_port": r.port_range_min.unwrap_or(-1),
        "to_port": r.port_range_max.unwrap_or(-1),
        "ip_range": cidr.map(|c| json!({"cidr": c})).unwrap_or_else(|| json!({})),
        "group": group,
    })
}

fn view(g: &SecurityGroup, groups: &[SecurityGroup]) -> Value {
    // Nova shows ingress rules only: egress is not a nova-network concept.
    let rules: Vec<Value> =
        g.security_group_rules.iter().filter(|r| r.direction == "ingress").map(|r| rule_view(r, groups)).collect();
    json!({"id": g.id, "name": g.name, "description": g.description, "tenant_id": g.project_id, "rules": rules})
}

async fn list(Call(st, ctx): Call, mv: Mv) -> Result<Response> {
    proxy(mv)?;
    let groups = st.networking.sg_list(&ctx).await.map_err(translate)?;
    let items: Vec<Value> = groups.iter().map(|g| view(g, &groups)).collect();
    Ok(axum::Json(json!({"security_groups": items})).into_response())
}

fn name_desc(body: &Bytes) -> Result<(Option<String>, Option<String>)> {
    let v = json_body(body)?;
    let Some(Value::Object(g)) = v.get("security_group") else {
        return Err(bad("'security_group' is a required property."));
    };
    let s = |k: &str| -> Result<Option<String>> {
        match g.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(x)) if x.chars().count() <= 255 => Ok(Some(x.clone())),
            _ => Err(bad(format!("Invalid input for field/attribute {k}."))),
        }
    };
    Ok((s("name")?, s("description")?))
}

async fn create(Call(st, ctx): Call, mv: Mv, body: Bytes) -> Result<Response> {
    proxy(mv)?;
    let (name, desc) = name_desc(&body)?;
    let name = name.filter(|n| !n.trim().is_empty()).ok_or_else(|| bad("Security group name is required."))?;
    let g = st.networking.sg_create(&ctx, name, desc.unwrap_or_default(), None).await.map_err(translate)?;
    Ok(axum::Json(json!({"security_group": view(&g, &[])})).into_response())
}

async fn show(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>) -> Result<Response> {
    proxy(mv)?;
    let g = st.networking.sg_get(&ctx, &id).await.map_err(translate)?;
    let groups = st.networking.sg_list(&ctx).await.map_err(translate)?;
    Ok(axum::Json(json!({"security_group": view(&g, &groups)})).into_response())
}

async fn update(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    proxy(mv)?;
    let (name, desc) = name_desc(&body)?;
    let g = st.networking.sg_update(&ctx, &id, name, desc).await.map_err(translate)?;
    Ok(axum::Json(json!({"security_group": view(&g, &[])})).into_response())
}

async fn remove(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>) -> Result<Response> {
    proxy(mv)?;
    st.networking.sg_delete(&ctx, &id).await.map_err(translate)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn rule_create(Call(st, ctx): Call, mv: Mv, body: Bytes) -> Result<Response> {
    proxy(mv)?;
    let v = json_body(&body)?;
    let Some(Value::Object(r)) = v.get("security_group_rule") else {
        return Err(bad("'security_group_rule' is a required property."));
    };
    let text =
        |k: &str| r.get(k).and_then(|x| x.as_str().map(str::to_string).or_else(|| x.as_i64().map(|n| n.to_string())));
    let port = |k: &str| -> Result<Option<i64>> {
        match text(k) {
            None => Ok(None),
            Some(p) => p.parse::<i64>().map(Some).map_err(|_| bad(format!("Invalid port {k}: {p}"))),
        }
    };
    let protocol = text("ip_protocol").map(|p| p.to_ascii_lowercase());
    let (mut min, mut max) = (port("from_port")?, port("to_port")?);
    if protocol.as_deref() == Some("icmp") && min == Some(-1) {
        (min, max) = (None, None);
    }
    let req = RuleRequest {
        security_group_id: Some(text("parent_group_id").ok_or_else(|| bad("parent_group_id is required."))?),
        direction: Some("ingress".into()),
        ethertype: Some("IPv4".into()),
        protocol,
        port_range_min: min,
        port_range_max: max,
        remote_ip_prefix: text("cidr"),
        remote_group_id: text("group_id"),
        ..Default::default()
    };
    let rule = st.networking.rule_create(&ctx, req).await.map_err(translate)?;
    let groups = st.networking.sg_list(&ctx).await.map_err(translate)?;
    Ok(axum::Json(json!({"security_group_rule": rule_view(&rule, &groups)})).into_response())
}

async fn rule_delete(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>) -> Result<Response> {
    proxy(mv)?;
    st.networking.rule_delete(&ctx, &id).await.map_err(translate)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn of_server(Call(st, ctx): Call, mv: Mv, Path(id): Path<String>) -> Result<Response> {
    proxy(mv)?;
    let s = st.compute.server_get(&ctx, &id).await?;
    let groups = st.networking.sg_list(&ctx).await.map_err(translate)?;
    let items: Vec<Value> = groups
        .iter()
        .filter(|g| g.project_id == s.project_id && s.security_groups.iter().any(|n| n == &g.name || n == &g.id))
        .map(|g| view(g, &groups))
        .collect();
    Ok(axum::Json(json!({"security_groups": items})).into_response())
}
