//! `/v2.0/ports` (with bulk create).

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::network::model::Port;
use hybridstack_core::network::{IpRequest, PortRequest};
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;
use serde_json::{json, Map, Value};

use super::{listing, one, path, show, showing, Body, NeutronError, Result};
use crate::auth::Call;
use crate::AppState;

/// Binding details other than the vnic type are for administrators only (Neutron's policy).
fn render(ctx: &RequestContext, p: &Port) -> Result<Map<String, Value>> {
    let hide: &[&str] =
        if ctx.is_admin() { &[] } else { &["binding:host_id", "binding:vif_type", "binding:vif_details"] };
    show(p, hide)
}

fn request(b: &Map<String, Value>) -> Result<PortRequest> {
    let fixed_ips = match b.get("fixed_ips") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|f| {
                    let o = f.as_object().ok_or_else(|| {
                        NeutronError(CoreError::BadRequest("InvalidInput: Invalid input for fixed_ips.".into()))
                    })?;
                    Ok(IpRequest { subnet_id: o.string("subnet_id")?, ip_address: o.string("ip_address")? })
                })
                .collect::<Result<Vec<_>>>()?,
        ),
        Some(_) => {
            return Err(NeutronError(CoreError::BadRequest(
                "InvalidInput: Invalid input for fixed_ips. Reason: not a list.".into(),
            )))
        }
    };
    Ok(PortRequest {
        name: b.string("name")?,
        network_id: b.string("network_id")?,
        project_id: b.string("project_id")?.or(b.string("tenant_id")?),
        mac_address: b.string("mac_address")?,
        admin_state_up: b.boolean("admin_state_up")?,
        device_id: b.string("device_id")?,
        device_owner: b.string("device_owner")?,
        fixed_ips,
        security_groups: b.strings("security_groups")?,
        port_security_enabled: b.boolean("port_security_enabled")?,
        allowed_address_pairs: match b.get("allowed_address_pairs") {
            Some(Value::Array(a)) => Some(a.clone()),
            _ => None,
        },
        description: b.string("description")?,
        host_id: b.string("binding:host_id")?,
    })
}

async fn list(Call(s, ctx): Call, Query(q): Query<Vec<(String, String)>>) -> Result<Response> {
    listing(&s, q, "ports", "/ports", &s.networking.port_list(&ctx).await?, |p| render(&ctx, p))
}

async fn get_one(
    Call(s, ctx): Call,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    showing(q, "port", &s.networking.port_get(&ctx, &id).await?, |p| render(&ctx, p))
}

/// One port (`{"port": …}`) or several (`{"ports": [...]}`); a bulk create that fails part
/// way deletes the ports it made.
async fn create(Call(s, ctx): Call, body: Bytes) -> Result<Response> {
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        NeutronError(CoreError::BadRequest(format!("InvalidInput: The request body is not valid JSON: {e}")))
    })?;
    if let Some(Value::Array(many)) = v.get("ports") {
        let mut made: Vec<Port> = Vec::new();
        for item in many {
            let b = item.as_object().cloned().unwrap_or_default();
            let outcome = match request(&b) {
                Ok(r) => s.networking.port_create(&ctx, r).await.map_err(NeutronError),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(p) => made.push(p),
                Err(e) => {
                    for p in &made {
                        let _ = s.networking.port_delete(&ctx, &p.id).await;
                    }
                    return Err(e);
                }
            }
        }
        let items = made.iter().map(|p| render(&ctx, p).map(Value::Object)).collect::<Result<Vec<_>>>()?;
        return Ok((StatusCode::CREATED, axum::Json(json!({ "ports": items }))).into_response());
    }
    let b = match v.get("port") {
        Some(Value::Object(m)) => m.clone(),
        _ => {
            return Err(NeutronError(CoreError::BadRequest(
                "BadRequest: Bad request: the body must hold 'port' or 'ports'.".into(),
            )))
        }
    };
    let p = s.networking.port_create(&ctx, request(&b)?).await?;
    Ok(one("port", render(&ctx, &p)?, StatusCode::CREATED))
}

async fn update(Call(s, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let b = super::body_object(&body, "port")?;
    let p = s.networking.port_update(&ctx, &id, request(&b)?).await?;
    Ok(one("port", render(&ctx, &p)?, StatusCode::OK))
}

async fn delete(Call(s, ctx): Call, Path(id): Path<String>) -> Result<Response> {
    s.networking.port_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/ports"), get(list).post(create))
        .route(&path("/ports/{id}"), get(get_one).put(update).delete(delete))
}
