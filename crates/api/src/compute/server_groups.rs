//! `/os-server-groups`: a group's one policy is shown as `policies: [p]` (the form before
//! microversion 2.64, which is as far as this API goes).

use hybridstack_core::compute::model::ServerGroup;
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Map, Value};

use super::{bad, Mv, Nova, Result};
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Params, Resource};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    routes::<ServerGroups>()
}

fn view(g: &ServerGroup, mv: Mv) -> Value {
    let mut v = json!({"id": g.id, "name": g.name, "policies": [g.policy], "members": g.members, "metadata": {}});
    if mv.at_least(13) {
        v["project_id"] = json!(g.project_id);
        v["user_id"] = json!(g.user_id);
    }
    v
}

struct ServerGroups;

impl Resource for ServerGroups {
    names!(Nova, ServerGroup, "server_group", "server_groups", "/os-server-groups"; compute: show group_get, delete group_delete);
    const UPDATABLE: bool = false;

    fn render(_: &AppState, _: &RequestContext, g: &ServerGroup, how: &How<Nova>) -> Result<Value> {
        Ok(view(g, how.version))
    }

    async fn list(st: &AppState, ctx: &RequestContext, q: &Params) -> Result<Vec<ServerGroup>> {
        let all = q.iter().any(|(k, v)| k == "all_projects" && crate::body::query_bool(v).unwrap_or(false));
        Ok(st.compute.group_list(ctx, all).await?)
    }

    async fn create(st: &AppState, ctx: &RequestContext, g: Map<String, Value>) -> Result<ServerGroup> {
        let name =
            g.get("name").and_then(Value::as_str).ok_or_else(|| bad("Invalid input for field/attribute name."))?;
        let policies = g.get("policies").and_then(Value::as_array).cloned().unwrap_or_default();
        let [policy] = policies.as_slice() else {
            return Err(bad("Invalid input for field/attribute policies: give exactly one policy."));
        };
        let policy = policy.as_str().ok_or_else(|| bad("Invalid input for field/attribute policies."))?;
        Ok(st.compute.group_create(ctx, name, policy).await?)
    }
}
