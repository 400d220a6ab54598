//! `/v2.0/subnets`.

use hybridstack_core::network::model::{HostRoute, Pool, Subnet};
use hybridstack_core::network::SubnetRequest;
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;
use serde_json::{Map, Value};

use super::{show, Body, Neutron, NeutronError, Result};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::AppState;

fn render(s: &Subnet) -> Result<Map<String, Value>> {
    show(s, &[])
}

fn parse<T: serde::de::DeserializeOwned>(b: &Map<String, Value>, k: &str) -> Result<Option<T>> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| {
            NeutronError(CoreError::BadRequest(format!("InvalidInput: Invalid input for {k}. Reason: {e}.")))
        }),
    }
}

fn request(b: &Map<String, Value>) -> Result<SubnetRequest> {
    Ok(SubnetRequest {
        name: b.string("name")?,
        project_id: b.string("project_id")?.or(b.string("tenant_id")?),
        network_id: b.string("network_id")?,
        cidr: b.string("cidr")?,
        ip_version: b.int("ip_version")?.map(|v| u8::try_from(v).unwrap_or(0)),
        gateway_ip: b.nullable_string("gateway_ip")?,
        allocation_pools: parse::<Vec<Pool>>(b, "allocation_pools")?,
        host_routes: parse::<Vec<HostRoute>>(b, "host_routes")?,
        dns_nameservers: b.strings("dns_nameservers")?,
        enable_dhcp: b.boolean("enable_dhcp")?,
        ipv6_ra_mode: b.string("ipv6_ra_mode")?,
        ipv6_address_mode: b.string("ipv6_address_mode")?,
        subnetpool_id: b.string("subnetpool_id")?,
        description: b.string("description")?,
    })
}

struct Subnets;

impl Resource for Subnets {
    names!(Neutron, Subnet, "subnet", "subnets", "/subnets"; networking: list subnet_list, show subnet_get, delete subnet_delete);

    fn render(_: &AppState, _: &RequestContext, item: &Subnet, _: &How<Self::Service>) -> Result<Value> {
        render(item).map(Value::Object)
    }

    async fn create(s: &AppState, ctx: &RequestContext, b: Object) -> Result<Subnet> {
        Ok(s.networking.subnet_create(ctx, request(&b)?).await?)
    }

    async fn update(s: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<Subnet> {
        Ok(s.networking.subnet_update(ctx, id, request(&b)?).await?)
    }
}

pub(super) fn router() -> Router<AppState> {
    routes::<Subnets>()
}
