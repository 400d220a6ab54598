//! `/v3/domains`.

use hybridstack_core::identity::Domain;
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Value};

use super::{self_link, Keystone};
use crate::body::Fields;
use crate::routes::Router;
use crate::toolkit::{names, routes, How, Object, Resource};
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

impl Resource for Domains {
    names!(Keystone, Domain, "domain", "domains", "/domains"; identity: list domain_list, show domain_get, delete domain_delete);

    fn render(state: &AppState, _: &RequestContext, item: &Domain, _: &How<Self::Service>) -> Result<Value, ApiError> {
        Ok(render(state, item))
    }

    async fn create(state: &AppState, ctx: &RequestContext, b: Object) -> Result<Domain, ApiError> {
        let d = Domain {
            id: b.opt_str("explicit_domain_id")?.unwrap_or_default(),
            name: b.req_str("name")?,
            description: b.opt_str("description")?.unwrap_or_default(),
            enabled: b.opt_bool("enabled")?.unwrap_or(true),
            extra: extra_of(&b).into_iter().filter(|(k, _)| k != "explicit_domain_id").collect(),
        };
        Ok(state.identity.domain_create(ctx, d).await?)
    }

    async fn update(state: &AppState, ctx: &RequestContext, id: &str, b: Object) -> Result<Domain, ApiError> {
        let mut d = state.identity.domain_get(ctx, id).await?;
        b.patch("name", &mut d.name)?;
        b.patch("description", &mut d.description)?;
        b.patch("enabled", &mut d.enabled)?;
        d.extra.extend(extra_of(&b));
        Ok(state.identity.domain_update(ctx, d).await?)
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
