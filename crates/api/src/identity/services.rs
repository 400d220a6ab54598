//! `/v3/services`.

use hybridstack_core::identity::Service;
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Value};

use super::{self_link, Keystone};
use crate::body::Fields;
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::{ApiError, AppState};

fn render(state: &AppState, s: &Service) -> Value {
    json!({"id": s.id, "type": s.service_type, "name": s.name, "description": s.description, "enabled": s.enabled,
           "links": self_link(state, &format!("/services/{}", s.id))})
}

struct Services;

impl Resource for Services {
    names!(Keystone, Service, "service", "services", "/services"; identity: list service_list, show service_get, delete service_delete);

    fn render(state: &AppState, _: &RequestContext, item: &Service, _: &How<Self::Service>) -> Result<Value, ApiError> {
        Ok(render(state, item))
    }

    async fn create(state: &AppState, ctx: &RequestContext, b: Object) -> Result<Service, ApiError> {
        let s = Service {
            id: String::new(),
            service_type: b.req_str("type")?,
            name: b.opt_str("name")?.unwrap_or_default(),
            description: b.opt_str("description")?.unwrap_or_default(),
            enabled: b.opt_bool("enabled")?.unwrap_or(true),
        };
        Ok(state.identity.service_create(ctx, s).await?)
    }

    async fn update(state: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<Service, ApiError> {
        let mut s = state.identity.service_get(ctx, id).await?;
        b.patch("type", &mut s.service_type)?;
        b.patch("name", &mut s.name)?;
        b.patch("description", &mut s.description)?;
        b.patch("enabled", &mut s.enabled)?;
        Ok(state.identity.service_update(ctx, s).await?)
    }
}

pub(super) fn router() -> Router<AppState> {
    routes::<Services>()
}
