//! Domains.

use serde::{Deserialize, Serialize};

use super::{new_id, Identity};
use crate::error::OrNotFound;
use crate::policy::{RequestContext, Scope};
use crate::{CoreError, Extra};

/// A Keystone domain; its fields are its row's columns in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub extra: Extra,
}

impl Identity {
    /// Whether a non-admin may see the domain: its own user's, or its project's or domain scope's.
    fn sees_domain(ctx: &RequestContext, id: &str) -> bool {
        ctx.is_admin()
            || ctx.user_domain_id == id
            || match &ctx.scope {
                Scope::Project { domain_id, .. } => domain_id == id,
                Scope::Domain { id: d } => d == id,
                _ => false,
            }
    }

    pub async fn domain_list(&self, ctx: &RequestContext) -> Result<Vec<Domain>, CoreError> {
        let all = self.store.domain_list::<Domain>().await?;
        Ok(all.into_iter().filter(|d| Self::sees_domain(ctx, &d.id)).collect())
    }

    pub async fn domain_get(&self, ctx: &RequestContext, id: &str) -> Result<Domain, CoreError> {
        if !Self::sees_domain(ctx, id) {
            return Err(CoreError::not_found("domain", id));
        }
        self.store.domain_get(id).await.or_not_found("domain", id)
    }

    pub async fn domain_create(&self, ctx: &RequestContext, mut d: Domain) -> Result<Domain, CoreError> {
        ctx.require_admin()?;
        validate_name(&d.name)?;
        if d.id.is_empty() {
            d.id = new_id();
        }
        self.announce(self.store.domain_create(&d).await).map(|()| d)
    }

    pub async fn domain_update(&self, ctx: &RequestContext, d: Domain) -> Result<Domain, CoreError> {
        ctx.require_admin()?;
        validate_name(&d.name)?;
        if d.id == super::DEFAULT_DOMAIN_ID && !d.enabled {
            return Err(CoreError::Forbidden("The default domain cannot be disabled.".into()));
        }
        self.announce(self.store.domain_update(&d).await.or_not_found("domain", &d.id)).map(|()| d)
    }

    /// A domain must be disabled before it is deleted, and must own nothing.
    pub async fn domain_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        let d = self.store.domain_get::<Domain>(id).await.or_not_found("domain", id)?;
        if d.enabled {
            return Err(CoreError::Forbidden(
                "Cannot delete a domain that is enabled, please disable it first.".into(),
            ));
        }
        self.announce(self.store.domain_delete(id).await)
    }
}

pub(super) fn validate_name(name: &str) -> Result<(), CoreError> {
    if name.trim().is_empty() || name.len() > 255 {
        return Err(CoreError::BadRequest("A name must have 1 to 255 characters.".into()));
    }
    Ok(())
}
