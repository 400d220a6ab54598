//! `/v3/endpoints`.

use hybridstack_core::identity::Endpoint;
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Value};

use super::{self_link, Keystone};
use crate::body::Fields;
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::{ApiError, AppState};

fn render(state: &AppState, e: &Endpoint) -> Value {
    json!({"id": e.id, "service_id": e.service_id, "interface": e.interface, "region_id": e.region_id,
           "region": e.region_id, "url": e.url, "enabled": e.enabled,
           "links": self_link(state, &format!("/endpoints/{}", e.id))})
}

struct Endpoints;

impl Resource for Endpoints {
    names!(Keystone, Endpoint, "endpoint", "endpoints", "/endpoints"; identity: list endpoint_list, show endpoint_get, delete endpoint_delete);

    fn render(
        state: &AppState,
        _: &RequestContext,
        item: &Endpoint,
        _: &How<Self::Service>,
    ) -> Result<Value, ApiError> {
        Ok(render(state, item))
    }

    async fn create(state: &AppState, ctx: &RequestContext, b: Object) -> Result<Endpoint, ApiError> {
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

    async fn update(state: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<Endpoint, ApiError> {
        let mut e = state.identity.endpoint_get(ctx, id).await?;
        b.patch("service_id", &mut e.service_id)?;
        b.patch("interface", &mut e.interface)?;
        if b.contains_key("region_id") || b.contains_key("region") {
            e.region_id = region_of(&b)?;
        }
        b.patch("url", &mut e.url)?;
        b.patch("enabled", &mut e.enabled)?;
        Ok(state.identity.endpoint_update(ctx, e).await?)
    }
}

fn region_of(b: &serde_json::Map<String, Value>) -> Result<Option<String>, ApiError> {
    Ok(b.opt_str("region_id")?.or(b.opt_str("region")?))
}

pub(super) fn router() -> Router<AppState> {
    routes::<Endpoints>()
}
