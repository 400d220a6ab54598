//! `/v2.0/floatingips`.

use hybridstack_core::network::model::FloatingIp;
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;
use serde_json::{Map, Value};

use super::{show, Body, Neutron, NeutronError, Result};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::AppState;

fn render(f: &FloatingIp) -> Result<Map<String, Value>> {
    show(f, &["fip_port_id"])
}

struct FloatingIps;

impl Resource for FloatingIps {
    names!(Neutron, FloatingIp, "floatingip", "floatingips", "/floatingips"; networking: list fip_list, show fip_get, delete fip_delete);

    fn render(_: &AppState, _: &RequestContext, item: &FloatingIp, _: &How<Self::Service>) -> Result<Value> {
        render(item).map(Value::Object)
    }

    async fn create(s: &AppState, ctx: &RequestContext, b: Object) -> Result<FloatingIp> {
        let net = b.string("floating_network_id")?.ok_or_else(|| {
            NeutronError(CoreError::BadRequest(
                "BadRequest: Bad floatingip request: floating_network_id is required.".into(),
            ))
        })?;
        let f = s
            .networking
            .fip_create(
                ctx,
                net,
                b.string("port_id")?,
                b.string("fixed_ip_address")?,
                b.string("floating_ip_address")?,
                b.string("description")?.unwrap_or_default(),
                b.string("project_id")?.or(b.string("tenant_id")?),
            )
            .await?;
        Ok(f)
    }

    async fn update(s: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<FloatingIp> {
        Ok(s.networking
            .fip_update(ctx, id, b.nullable_string("port_id")?, b.string("fixed_ip_address")?, b.string("description")?)
            .await?)
    }
}

pub(super) fn router() -> Router<AppState> {
    routes::<FloatingIps>()
}
