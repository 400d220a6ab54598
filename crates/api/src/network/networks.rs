//! `/v2.0/networks`.

use hybridstack_core::network::model::Network;
use hybridstack_core::network::NetworkRequest;
use hybridstack_core::policy::RequestContext;
use serde_json::{Map, Value};

use super::{show, Body, Neutron, Result};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::AppState;

fn request(b: &Map<String, Value>) -> Result<NetworkRequest> {
    Ok(NetworkRequest {
        name: b.string("name")?,
        project_id: b.string("project_id")?.or(b.string("tenant_id")?),
        admin_state_up: b.boolean("admin_state_up")?,
        shared: b.boolean("shared")?,
        external: b.boolean("router:external")?,
        mtu: b.int("mtu")?.map(|m| u32::try_from(m).unwrap_or(0)),
        port_security_enabled: b.boolean("port_security_enabled")?,
        description: b.string("description")?,
        availability_zone_hints: b.strings("availability_zone_hints")?,
        provider: b.keys().filter(|k| k.starts_with("provider:") || k.as_str() == "segments").cloned().collect(),
    })
}

struct Networks;

impl Resource for Networks {
    names!(Neutron, Network, "network", "networks", "/networks"; networking: list network_list, show network_get, delete network_delete);

    fn render(_: &AppState, _: &RequestContext, n: &Network, _: &How<Self::Service>) -> Result<Value> {
        show(n, &[]).map(Value::Object)
    }

    async fn create(s: &AppState, ctx: &RequestContext, b: Object) -> Result<Network> {
        Ok(s.networking.network_create(ctx, request(&b)?).await?)
    }

    async fn update(s: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<Network> {
        Ok(s.networking.network_update(ctx, id, request(&b)?).await?)
    }
}

pub(super) fn router() -> Router<AppState> {
    routes::<Networks>()
}
