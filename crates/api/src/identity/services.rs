//! `/v3/services`.

use async_trait::async_trait;
use hybridstack_core::identity::Service;
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Map, Value};

use super::{self_link, Keystone};
use crate::body::Fields;
use crate::routes::Router;
use crate::toolkit::{routes, How, Params, Resource};
use crate::{ApiError, AppState};

fn render(state: &AppState, s: &Service) -> Value {
    json!({"id": s.id, "type": s.service_type, "name": s.name, "description": s.description, "enabled": s.enabled,
           "links": self_link(state, &format!("/services/{}", s.id))})
}

struct Services;

#[async_trait]
impl Resource for Services {
    type Service = Keystone;
    type Item = Service;
    const ONE: &'static str = "service";
    const MANY: &'static str = "services";
    const PATH: &'static str = "/services";

    fn render(state: &AppState, _: &RequestContext, item: &Service, _: &How<Self::Service>) -> Result<Value, ApiError> {
        Ok(render(state, item))
    }

    async fn list(state: &AppState, ctx: &RequestContext, _: &Params) -> Result<Vec<Service>, ApiError> {
        Ok(state.identity.service_list(ctx).await?)
    }

    async fn show(state: &AppState, ctx: &RequestContext, id: &str) -> Result<Service, ApiError> {
        Ok(state.identity.service_get(ctx, id).await?)
    }

    async fn create(state: &AppState, ctx: &RequestContext, b: Map<String, Value>) -> Result<Service, ApiError> {
        let s = Service {
            id: String::new(),
            service_type: b.req_str("type")?,
            name: b.opt_str("name")?.unwrap_or_default(),
            description: b.opt_str("description")?.unwrap_or_default(),
            enabled: b.opt_bool("enabled")?.unwrap_or(true),
        };
        Ok(state.identity.service_create(ctx, s).await?)
    }

    async fn update(
        state: &AppState,
        ctx: &RequestContext,
        id: &str,
        b: Map<String, Value>,
    ) -> Result<Service, ApiError> {
        let mut s = state.identity.service_get(ctx, id).await?;
        if let Some(x) = b.opt_str("type")? {
            s.service_type = x;
        }
        if let Some(x) = b.opt_str("name")? {
            s.name = x;
        }
        if let Some(x) = b.opt_str("description")? {
            s.description = x;
        }
        if let Some(x) = b.opt_bool("enabled")? {
            s.enabled = x;
        }
        Ok(state.identity.service_update(ctx, s).await?)
    }

    async fn delete(state: &AppState, ctx: &RequestContext, id: &str) -> Result<(), ApiError> {
        Ok(state.identity.service_delete(ctx, id).await?)
    }
}

pub(super) fn router() -> Router<AppState> {
    routes::<Services>()
}
