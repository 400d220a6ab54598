//! `/v3/endpoints`.

use async_trait::async_trait;
use hybridstack_core::identity::Endpoint;
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Map, Value};

use super::{self_link, Keystone};
use crate::body::Fields;
use crate::routes::Router;
use crate::toolkit::{routes, How, Params, Resource};
use crate::{ApiError, AppState};

fn render(state: &AppState, e: &Endpoint) -> Value {
    json!({"id": e.id, "service_id": e.service_id, "interface": e.interface, "region_id": e.region_id,
           "region": e.region_id, "url": e.url, "enabled": e.enabled,
           "links": self_link(state, &format!("/endpoints/{}", e.id))})
}

struct Endpoints;

#[async_trait]
impl Resource for Endpoints {
    type Service = Keystone;
    type Item = Endpoint;
    const ONE: &'static str = "endpoint";
    const MANY: &'static str = "endpoints";
    const PATH: &'static str = "/endpoints";

    fn render(
        state: &AppState,
        _: &RequestContext,
        item: &Endpoint,
        _: &How<Self::Service>,
    ) -> Result<Value, ApiError> {
        Ok(render(state, item))
    }

    async fn list(state: &AppState, ctx: &RequestContext, _: &Params) -> Result<Vec<Endpoint>, ApiError> {
        Ok(state.identity.endpoint_list(ctx).await?)
    }

    async fn show(state: &AppState, ctx: &RequestContext, id: &str) -> Result<Endpoint, ApiError> {
        Ok(state.identity.endpoint_get(ctx, id).await?)
    }

    async fn create(state: &AppState, ctx: &RequestContext, b: Map<String, Value>) -> Result<Endpoint, ApiError> {
        let e = Endpoint {
            id: String::new(),
            service_id: b.req_str("service_id")?,
            interface: b.req_str("interface")?,
            region_id: region_of(&b)?,
            url: b.req_str("url")?,
            enabled: b.opt_bool("enabled")?.unwrap_or(true),
        };
        Ok(state.identity.endpoint_create(ctx, e).await?)
    }

    async fn update(
        state: &AppState,
        ctx: &RequestContext,
        id: &str,
        b: Map<String, Value>,
    ) -> Result<Endpoint, ApiError> {
        let mut e = state.identity.endpoint_get(ctx, id).await?;
        if let Some(x) = b.opt_str("service_id")? {
            e.service_id = x;
        }
        if let Some(x) = b.opt_str("interface")? {
            e.interface = x;
        }
        if b.contains_key("region_id") || b.contains_key("region") {
            e.region_id = region_of(&b)?;
        }
        if let Some(x) = b.opt_str("url")? {
            e.url = x;
        }
        if let Some(x) = b.opt_bool("enabled")? {
            e.enabled = x;
        }
        Ok(state.identity.endpoint_update(ctx, e).await?)
    }

    async fn delete(state: &AppState, ctx: &RequestContext, id: &str) -> Result<(), ApiError> {
        Ok(state.identity.endpoint_delete(ctx, id).await?)
    }
}

fn region_of(b: &serde_json::Map<String, Value>) -> Result<Option<String>, ApiError> {
    Ok(b.opt_str("region_id")?.or(b.opt_str("region")?))
}

pub(super) fn router() -> Router<AppState> {
    routes::<Endpoints>()
}
