//! `/v2.0/subnetpools`.

use hybridstack_core::network::model::SubnetPool;
use hybridstack_core::network::SubnetPoolRequest;
use hybridstack_core::policy::RequestContext;
use serde_json::{Map, Value};

use super::{show, Body, Neutron, Result};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::AppState;

fn render(p: &SubnetPool) -> Result<Map<String, Value>> {
    show(p, &[])
}

fn request(b: &Map<String, Value>) -> Result<SubnetPoolRequest> {
    let len = |k: &str| -> Result<Option<u8>> { Ok(b.int(k)?.map(|v| u8::try_from(v).unwrap_or(u8::MAX))) };
    Ok(SubnetPoolRequest {
        name: b.string("name")?,
        project_id: b.string("project_id")?.or(b.string("tenant_id")?),
        prefixes: b.strings("prefixes")?,
        default_prefixlen: len("default_prefixlen")?,
        min_prefixlen: len("min_prefixlen")?,
        max_prefixlen: len("max_prefixlen")?,
        shared: b.boolean("shared")?,
        description: b.string("description")?,
    })
}

struct SubnetPools;

impl Resource for SubnetPools {
    names!(Neutron, SubnetPool, "subnetpool", "subnetpools", "/subnetpools"; networking: list subnetpool_list, show subnetpool_get, delete subnetpool_delete);

    fn render(_: &AppState, _: &RequestContext, item: &SubnetPool, _: &How<Self::Service>) -> Result<Value> {
        render(item).map(Value::Object)
    }

    async fn create(s: &AppState, ctx: &RequestContext, b: Object) -> Result<SubnetPool> {
        Ok(s.networking.subnetpool_create(ctx, request(&b)?).await?)
    }

    async fn update(s: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<SubnetPool> {
        Ok(s.networking.subnetpool_update(ctx, id, request(&b)?).await?)
    }
}

pub(super) fn router() -> Router<AppState> {
    routes::<SubnetPools>()
}
