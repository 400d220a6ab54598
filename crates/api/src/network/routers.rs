//! `/v2.0/routers` and `add_router_interface` / `remove_router_interface`.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use hybridstack_core::network::model::Router as RouterDoc;
use hybridstack_core::network::{Gateway, InterfaceChange, InterfaceInfo, InterfaceRef};
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;
use serde_json::{json, Map, Value};

use super::{path, show, Body, Neutron, NeutronError, Result};
use crate::auth::Call;
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::AppState;

fn render(r: &RouterDoc) -> Result<Map<String, Value>> {
    show(r, &["gw_port_id"])
}

/// `external_gateway_info`: absent → `None`; null or `{}` → `Some(None)`; else the network.
fn gateway(b: &Map<String, Value>) -> Result<Option<Option<Gateway>>> {
    match b.get("external_gateway_info") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Object(g)) if g.is_empty() => Ok(Some(None)),
        Some(Value::Object(g)) => {
            let net = g.string("network_id")?.ok_or_else(|| {
                NeutronError(CoreError::BadRequest(
                    "InvalidInput: Invalid input for external_gateway_info. Reason: network_id is required.".into(),
                ))
            })?;
            Ok(Some(Some((net, g.boolean("enable_snat")?))))
        }
        Some(_) => {
            Err(NeutronError(CoreError::BadRequest("InvalidInput: Invalid input for external_gateway_info.".into())))
        }
    }
}

struct Routers;

impl Resource for Routers {
    names!(Neutron, RouterDoc, "router", "routers", "/routers"; networking: list router_list, show router_get, delete router_delete);

    fn render(_: &AppState, _: &RequestContext, item: &RouterDoc, _: &How<Self::Service>) -> Result<Value> {
        render(item).map(Value::Object)
    }

    async fn create(s: &AppState, ctx: &RequestContext, b: Object) -> Result<RouterDoc> {
        Ok(s.networking
            .router_create(
                ctx,
                b.string("name")?.unwrap_or_default(),
                b.boolean("admin_state_up")?.unwrap_or(true),
                b.string("description")?.unwrap_or_default(),
                gateway(&b)?.flatten(),
                b.string("project_id")?.or(b.string("tenant_id")?),
            )
            .await?)
    }

    async fn update(s: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<RouterDoc> {
        Ok(s.networking
            .router_update(
                ctx,
                id,
                b.string("name")?,
                b.boolean("admin_state_up")?,
                b.string("description")?,
                gateway(&b)?,
            )
            .await?)
    }
}

fn interface(i: InterfaceInfo) -> Response {
    axum::Json(json!({"id": i.router_id, "tenant_id": i.project_id, "project_id": i.project_id, "port_id": i.port_id,
        "network_id": i.network_id, "subnet_id": i.subnet_id, "subnet_ids": i.subnet_ids}))
    .into_response()
}

fn interface_args(body: &Bytes) -> Result<InterfaceRef> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        NeutronError(CoreError::BadRequest(format!("InvalidInput: The request body is not valid JSON: {e}")))
    })?;
    let m = v.as_object().cloned().unwrap_or_default();
    Ok(InterfaceRef { subnet_id: m.string("subnet_id")?, port_id: m.string("port_id")? })
}

async fn add_interface(Call(s, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let change = InterfaceChange::Add(interface_args(&body)?);
    Ok(interface(s.networking.router_interface(&ctx, &id, change).await?))
}

async fn remove_interface(Call(s, ctx): Call, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let change = InterfaceChange::Remove(interface_args(&body)?);
    Ok(interface(s.networking.router_interface(&ctx, &id, change).await?))
}

pub(super) fn router() -> Router<AppState> {
    routes::<Routers>()
        .route(&path("/routers/{id}/add_router_interface"), put(add_interface))
        .route(&path("/routers/{id}/remove_router_interface"), put(remove_interface))
}
