//! `/v2.0/security-group-rules`.

use hybridstack_core::network::model::SecurityGroupRule;
use hybridstack_core::network::RuleRequest;
use hybridstack_core::policy::RequestContext;
use serde_json::{Map, Value};

use super::{show, Body, Neutron, Result};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
use crate::AppState;

fn render(r: &SecurityGroupRule) -> Result<Map<String, Value>> {
    show(r, &[])
}

struct SecurityGroupRules;

impl Resource for SecurityGroupRules {
    names!(Neutron, SecurityGroupRule, "security_group_rule", "security_group_rules", "/security-group-rules"; networking: list rule_list, show rule_get, delete rule_delete);
    const UPDATABLE: bool = false;

    fn render(_: &AppState, _: &RequestContext, item: &SecurityGroupRule, _: &How<Self::Service>) -> Result<Value> {
        render(item).map(Value::Object)
    }

    async fn create(s: &AppState, ctx: &RequestContext, b: Object) -> Result<SecurityGroupRule> {
        let r = RuleRequest {
            security_group_id: b.string("security_group_id")?,
            project_id: b.string("project_id")?.or(b.string("tenant_id")?),
            direction: b.string("direction")?,
            ethertype: b.string("ethertype")?,
            protocol: b.string("protocol")?,
            port_range_min: b.int("port_range_min")?,
            port_range_max: b.int("port_range_max")?,
            remote_ip_prefix: b.string("remote_ip_prefix")?,
            remote_group_id: b.string("remote_group_id")?,
            description: b.string("description")?,
        };
        let rule = s.networking.rule_create(ctx, r).await?;
        Ok(rule)
    }
}

pub(super) fn router() -> Router<AppState> {
    routes::<SecurityGroupRules>()
}
