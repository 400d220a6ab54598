//! The service catalog: services, their endpoints and regions, and the per-token view.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::stamped::Stamped;
use super::{new_id, Identity};
use crate::error::OrNotFound;
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub id: String,
    pub description: String,
    pub parent_region_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    #[serde(rename = "type")]
    pub service_type: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub service_id: String,
    pub interface: String,
    pub region_id: Option<String>,
    pub url: String,
    pub enabled: bool,
}

const TTL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, serde::Serialize)]
pub struct CatalogEndpoint {
    pub id: String,
    pub interface: String,
    pub region: Option<String>,
    pub region_id: Option<String>,
    pub url: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CatalogEntry {
    pub id: String,
    #[serde(rename = "type")]
    pub service_type: String,
    pub name: String,
    pub endpoints: Vec<CatalogEndpoint>,
}

#[derive(Default)]
pub(super) struct Cache {
    entry: RwLock<Option<Stamped<Vec<CatalogEntry>>>>,
}

const INTERFACES: [&str; 3] = ["public", "internal", "admin"];
const PROJECT_PLACEHOLDERS: [&str; 4] = ["$(project_id)s", "%(project_id)s", "$(tenant_id)s", "%(tenant_id)s"];

/// Fills in the project id of URL templates (`…/v3/$(project_id)s`); `None` when the URL
/// needs a project and the token has none, so the endpoint is left out, as Keystone does.
fn substitute(url: &str, project_id: Option<&str>) -> Option<String> {
    let mut out = url.to_string();
    for p in PROJECT_PLACEHOLDERS {
        if out.contains(p) {
            out = out.replace(p, project_id?);
        }
    }
    Some(out)
}

impl Identity {
    async fn raw_catalog(&self) -> Result<Arc<Vec<CatalogEntry>>, CoreError> {
        let gen = self.generation();
        if let Some(c) = self.catalog.entry.read().as_ref().and_then(|s| s.fresh(gen, TTL)) {
            return Ok(c);
        }
        let services = self.store.service_list::<Service>().await?;
        let endpoints = self.store.endpoint_list::<Endpoint>().await?;
        let entries: Vec<CatalogEntry> = services
            .into_iter()
            .filter(|s| s.enabled)
            .map(|s| CatalogEntry {
                endpoints: endpoints
                    .iter()
                    .filter(|e| e.service_id == s.id && e.enabled)
                    .map(|e| CatalogEndpoint {
                        id: e.id.clone(),
                        interface: e.interface.clone(),
                        region: e.region_id.clone(),
                        region_id: e.region_id.clone(),
                        url: e.url.clone(),
                    })
                    .collect(),
                id: s.id,
                service_type: s.service_type,
                name: s.name,
            })
            .collect();
        let entries = Arc::new(entries);
        *self.catalog.entry.write() = Some(Stamped::new(gen, entries.clone()));
        Ok(entries)
    }

    /// The catalog as a token scoped to `project_id` (or to no project) sees it.
    pub async fn catalog_for(&self, project_id: Option<&str>) -> Result<Vec<CatalogEntry>, CoreError> {
        let raw = self.raw_catalog().await?;
        Ok(raw
            .iter()
            .map(|s| CatalogEntry {
                endpoints: s
                    .endpoints
                    .iter()
                    .filter_map(|e| Some(CatalogEndpoint { url: substitute(&e.url, project_id)?, ..e.clone() }))
                    .collect(),
                ..s.clone()
            })
            .collect())
    }

    // Regions are readable by any authenticated caller (clients pick endpoints by region).

    pub async fn region_list(&self) -> Result<Vec<Region>, CoreError> {
        Ok(self.store.region_list().await?)
    }

    pub async fn region_get(&self, id: &str) -> Result<Region, CoreError> {
        self.store.region_get(id).await.or_not_found("region", id)
    }

    pub async fn region_create(&self, ctx: &RequestContext, mut r: Region) -> Result<Region, CoreError> {
        ctx.require_admin()?;
        if r.id.is_empty() {
            r.id = new_id();
        }
        if let Some(parent) = &r.parent_region_id {
            self.store
                .region_get::<Region>(parent)
                .await
                .map_err(|_| CoreError::BadRequest(format!("Parent region {parent} not found.")))?;
        }
        self.announce(self.store.region_create(&r).await).map(|()| r)
    }

    pub async fn region_update(&self, ctx: &RequestContext, r: Region) -> Result<Region, CoreError> {
        ctx.require_admin()?;
        if r.parent_region_id.as_deref() == Some(r.id.as_str()) {
            return Err(CoreError::BadRequest("A region cannot be its own parent.".into()));
        }
        self.announce(self.store.region_update(&r).await.or_not_found("region", &r.id)).map(|()| r)
    }

    pub async fn region_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.announce(self.store.region_delete(id).await.or_not_found("region", id))
    }

    pub async fn service_list(&self, ctx: &RequestContext) -> Result<Vec<Service>, CoreError> {
        ctx.require_admin()?;
        Ok(self.store.service_list().await?)
    }

    pub async fn service_get(&self, ctx: &RequestContext, id: &str) -> Result<Service, CoreError> {
        ctx.require_admin()?;
        self.store.service_get(id).await.or_not_found("service", id)
    }

    pub async fn service_create(&self, ctx: &RequestContext, mut s: Service) -> Result<Service, CoreError> {
        ctx.require_admin()?;
        if s.service_type.trim().is_empty() {
            return Err(CoreError::BadRequest("A service needs a type.".into()));
        }
        s.id = new_id();
        self.announce(self.store.service_create(&s).await).map(|()| s)
    }

    pub async fn service_update(&self, ctx: &RequestContext, s: Service) -> Result<Service, CoreError> {
        ctx.require_admin()?;
        self.announce(self.store.service_update(&s).await.or_not_found("service", &s.id)).map(|()| s)
    }

    pub async fn service_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.announce(self.store.service_delete(id).await.or_not_found("service", id))
    }

    pub async fn endpoint_list(&self, ctx: &RequestContext) -> Result<Vec<Endpoint>, CoreError> {
        ctx.require_admin()?;
        Ok(self.store.endpoint_list().await?)
    }

    pub async fn endpoint_get(&self, ctx: &RequestContext, id: &str) -> Result<Endpoint, CoreError> {
        ctx.require_admin()?;
        self.store.endpoint_get(id).await.or_not_found("endpoint", id)
    }

    async fn check_endpoint(&self, e: &Endpoint) -> Result<(), CoreError> {
        if !INTERFACES.contains(&e.interface.as_str()) {
            return Err(CoreError::BadRequest(format!(
                "Invalid interface {:?}: use public, internal or admin.",
                e.interface
            )));
        }
        if e.url.trim().is_empty() {
            return Err(CoreError::BadRequest("An endpoint needs a url.".into()));
        }
        self.store
            .service_get::<Service>(&e.service_id)
            .await
            .map_err(|_| CoreError::BadRequest(format!("Service {} not found.", e.service_id)))?;
        if let Some(r) = &e.region_id {
            self.store
                .region_get::<Region>(r)
                .await
                .map_err(|_| CoreError::BadRequest(format!("Region {r} not found.")))?;
        }
        Ok(())
    }

    pub async fn endpoint_create(&self, ctx: &RequestContext, mut e: Endpoint) -> Result<Endpoint, CoreError> {
        ctx.require_admin()?;
        self.check_endpoint(&e).await?;
        e.id = new_id();
        self.announce(self.store.endpoint_create(&e).await).map(|()| e)
    }

    pub async fn endpoint_update(&self, ctx: &RequestContext, e: Endpoint) -> Result<Endpoint, CoreError> {
        ctx.require_admin()?;
        self.check_endpoint(&e).await?;
        self.announce(self.store.endpoint_update(&e).await.or_not_found("endpoint", &e.id)).map(|()| e)
    }

    pub async fn endpoint_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.announce(self.store.endpoint_delete(id).await.or_not_found("endpoint", id))
    }
}

#[cfg(test)]
mod tests {
    use super::substitute;

    #[test]
    fn project_templates_fill_in_or_drop_the_endpoint() {
        assert_eq!(
            substitute("http://h/volume/v3/$(project_id)s", Some("p1")).as_deref(),
            Some("http://h/volume/v3/p1")
        );
        assert_eq!(substitute("http://h/volume/v3/%(tenant_id)s", None), None);
        assert_eq!(substitute("http://h/identity/v3", None).as_deref(), Some("http://h/identity/v3"));
    }
}
