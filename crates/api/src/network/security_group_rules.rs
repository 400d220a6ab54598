//! `/v2.0/security-group-rules`.

use async_trait::async_trait;
use hybridstack_core::network::model::SecurityGroupRule;
use hybridstack_core::network::RuleRequest;
use hybridstack_core::policy::RequestContext;
use serde_json::{Map, Value};

use super::{show, Body, Neutron, Result};
use crate::routes::Router;
use crate::toolkit::{routes, How, Params, Resource};
use crate::AppState;

fn render(r: &SecurityGroupRule) -> Result<Map<String, Value>> {
    show(r, &[])
}

struct SecurityGroupRules;

#[async_trait]
impl Resource for SecurityGroupRules {
    type Service = Neutron;
    type Item = SecurityGroupRule;
    const ONE: &'static str = "security_group_rule";
    const MANY: &'static str = "security_group_rules";
    const PATH: &'static str = "/security-group-rules";
    const UPDATABLE: bool = false;

    fn render(_: &AppState, _: &RequestContext, item: &SecurityGroupRule, _: &How<Self::Service>) -> Result<Value> {
        render(item).map(Value::Object)
    }

    async fn list(s: &AppState, ctx: &RequestContext, _: &Params) -> Result<Vec<SecurityGroupRule>> {
        Ok(s.networking.rule_list(ctx).await?)
    }

    async fn show(s: &AppState, ctx: &RequestContext, id: &str) -> Result<SecurityGroupRule> {
        Ok(s.networking.rule_get(ctx, id).await?)
    }

    async fn create(s: &AppState, ctx: &RequestContext, b: Map<String, Value>) -> Result<SecurityGroupRule> {
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

    async fn delete(s: &AppState, ctx: &RequestContext, id: &str) -> Result<()> {
        Ok(s.networking.rule_delete(ctx, id).await?)
    }
}

pub(super) fn router() -> Router<AppState> {
    routes::<SecurityGroupRules>()
}
