//! `/v2.0/subnetpools`.

use async_trait::async_trait;
use hybridstack_core::network::model::SubnetPool;
use hybridstack_core::network::SubnetPoolRequest;
use hybridstack_core::policy::RequestContext;
use serde_json::{Map, Value};

use super::{show, Body, Neutron, Result};
use crate::routes::Router;
use crate::toolkit::{routes, How, Params, Resource};
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

#[async_trait]
impl Resource for SubnetPools {
    type Service = Neutron;
    type Item = SubnetPool;
    const ONE: &'static str = "subnetpool";
    const MANY: &'static str = "subnetpools";
    const PATH: &'static str = "/subnetpools";

    fn render(_: &AppState, _: &RequestContext, item: &SubnetPool, _: &How<Self::Service>) -> Result<Value> {
        render(item).map(Value::Object)
    }

    async fn list(s: &AppState, ctx: &RequestContext, _: &Params) -> Result<Vec<SubnetPool>> {
        Ok(s.networking.subnetpool_list(ctx).await?)
    }

    async fn show(s: &AppState, ctx: &RequestContext, id: &str) -> Result<SubnetPool> {
        Ok(s.networking.subnetpool_get(ctx, id).await?)
    }

    async fn create(s: &AppState, ctx: &RequestContext, b: Map<String, Value>) -> Result<SubnetPool> {
        Ok(s.networking.subnetpool_create(ctx, request(&b)?).await?)
    }

    async fn update(s: &AppState, ctx: &RequestContext, id: &str, b: Map<String, Value>) -> Result<SubnetPool> {
        Ok(s.networking.subnetpool_update(ctx, id, request(&b)?).await?)
    }

    async fn delete(s: &AppState, ctx: &RequestContext, id: &str) -> Result<()> {
        Ok(s.networking.subnetpool_delete(ctx, id).await?)
    }
}

pub(super) fn router() -> Router<AppState> {
    routes::<SubnetPools>()
}
