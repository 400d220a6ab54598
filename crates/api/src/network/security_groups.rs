//! `/v2.0/security-groups`.

use hybridstack_core::network::model::SecurityGroup;
use hybridstack_core::policy::RequestContext;
use serde_json::{Map, Value};

use super::{show, Body, Neutron, Result};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::AppState;

pub(crate) fn render(g: &SecurityGroup) -> Result<Map<String, Value>> {
    let mut m = show(g, &[])?;
    if let Some(Value::Array(rules)) = m.get_mut("security_group_rules") {
        for r in rules.iter_mut() {
            if let Some(o) = r.as_object_mut() {
                if let Some(p) = o.get("project_id").cloned() {
                    o.insert("tenant_id".into(), p);
                }
            }
        }
    }
    Ok(m)
}

struct SecurityGroups;

impl Resource for SecurityGroups {
    names!(Neutron, SecurityGroup, "security_group", "security_groups", "/security-groups"; networking: list sg_list, show sg_get, delete sg_delete);

    fn render(_: &AppState, _: &RequestContext, item: &SecurityGroup, _: &How<Self::Service>) -> Result<Value> {
        render(item).map(Value::Object)
    }

    async fn create(s: &AppState, ctx: &RequestContext, b: Object) -> Result<SecurityGroup> {
        Ok(s.networking
            .sg_create(
                ctx,
                b.string("name")?.unwrap_or_default(),
                b.string("description")?.unwrap_or_default(),
                b.string("project_id")?.or(b.string("tenant_id")?),
            )
            .await?)
    }

    async fn update(s: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<SecurityGroup> {
        Ok(s.networking.sg_update(ctx, id, b.string("name")?, b.string("description")?).await?)
    }
}

pub(super) fn router() -> Router<AppState> {
    routes::<SecurityGroups>()
}
