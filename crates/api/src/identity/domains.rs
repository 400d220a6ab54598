//! `/v3/domains`.

use async_trait::async_trait;
use hybridstack_core::identity::Domain;
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Map, Value};

use super::{self_link, Keystone};
use crate::body::Fields;
use crate::routes::Router;
use crate::toolkit::{routes, How, Params, Resource};
use crate::{ApiError, AppState};

pub(crate) fn render(state: &AppState, d: &Domain) -> Value {
    let mut v = json!({
        "id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
        "tags": [], "options": {}, "links": self_link(state, &format!("/domains/{}", d.id)),
    });
    for (k, x) in &d.extra {
        v[k] = x.clone();
    }
    v
}

struct Domains;

#[async_trait]
impl Resource for Domains {
    type Service = Keystone;
    type Item = Domain;
    const ONE: &'static str = "domain";
    const MANY: &'static str = "domains";
    const PATH: &'static str = "/domains";

    fn render(state: &AppState, _: &RequestContext, item: &Domain, _: &How<Self::Service>) -> Result<Value, ApiError> {
        Ok(render(state, item))
    }

    async fn list(state: &AppState, ctx: &RequestContext, _: &Params) -> Result<Vec<Domain>, ApiError> {
        Ok(state.identity.domain_list(ctx).await?)
    }

    async fn show(state: &AppState, ctx: &RequestContext, id: &str) -> Result<Domain, ApiError> {
        Ok(state.identity.domain_get(ctx, id).await?)
    }

    async fn create(state: &AppState, ctx: &RequestContext, b: Map<String, Value>) -> Result<Domain, ApiError> {
        let d = Domain {
            id: b.opt_str("explicit_domain_id")?.unwrap_or_default(),
            name: b.req_str("name")?,
            description: b.opt_str("description")?.unwrap_or_default(),
            enabled: b.opt_bool("enabled")?.unwrap_or(true),
            extra: extra_of(&b).into_iter().filter(|(k, _)| k != "explicit_domain_id").collect(),
        };
        Ok(state.identity.domain_create(ctx, d).await?)
    }

    async fn update(
        state: &AppState,
        ctx: &RequestContext,
        id: &str,
        b: Map<String, Value>,
    ) -> Result<Domain, ApiError> {
        let mut d = state.identity.domain_get(ctx, id).await?;
        if let Some(n) = b.opt_str("name")? {
            d.name = n;
        }
        if let Some(x) = b.opt_str("description")? {
            d.description = x;
        }
        if let Some(e) = b.opt_bool("enabled")? {
            d.enabled = e;
        }
        d.extra.extend(extra_of(&b));
        Ok(state.identity.domain_update(ctx, d).await?)
    }

    async fn delete(state: &AppState, ctx: &RequestContext, id: &str) -> Result<(), ApiError> {
        Ok(state.identity.domain_delete(ctx, id).await?)
    }
}

const KNOWN: [&str; 6] = ["id", "name", "description", "enabled", "tags", "options"];

fn extra_of(b: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    b.iter()
        .filter(|(k, _)| !KNOWN.contains(&k.as_str()) && k.as_str() != "links")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(super) fn router() -> Router<AppState> {
    routes::<Domains>()
}
