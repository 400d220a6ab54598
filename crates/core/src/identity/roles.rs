//! Roles and role implication.

use serde::{Deserialize, Serialize};

use super::domains::validate_name;
use super::{new_id, Identity};
use crate::error::OrNotFound;
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
    /// `None` for a global role.
    pub domain_id: Option<String>,
    pub description: String,
}

impl Identity {
    pub async fn role_list(&self, ctx: &RequestContext) -> Result<Vec<Role>, CoreError> {
        ctx.require_admin()?;
        Ok(self.store.role_list().await?)
    }

    pub async fn role_get(&self, ctx: &RequestContext, id: &str) -> Result<Role, CoreError> {
        ctx.require_admin()?;
        self.store.role_get(id).await.or_not_found("role", id)
    }

    pub async fn role_create(&self, ctx: &RequestContext, mut r: Role) -> Result<Role, CoreError> {
        ctx.require_admin()?;
        validate_name(&r.name)?;
        let clash = self
            .store
            .role_list::<Role>()
            .await?
            .into_iter()
            .any(|o| o.name.eq_ignore_ascii_case(&r.name) && o.domain_id == r.domain_id);
        if clash {
            return Err(CoreError::Conflict(format!("Duplicate entry found with name {}.", r.name)));
        }
        r.id = new_id();
        self.announce(self.store.role_create(&r).await).map(|()| r)
    }

    pub async fn role_update(&self, ctx: &RequestContext, r: Role) -> Result<Role, CoreError> {
        ctx.require_admin()?;
        validate_name(&r.name)?;
        self.announce(self.store.role_update(&r).await.or_not_found("role", &r.id)).map(|()| r)
    }

    pub async fn role_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.announce(self.store.role_delete(id).await.or_not_found("role", id))
    }

    pub async fn implied_role_add(
        &self,
        ctx: &RequestContext,
        prior: &str,
        implied: &str,
    ) -> Result<(Role, Role), CoreError> {
        ctx.require_admin()?;
        let p = self.store.role_get(prior).await.or_not_found("role", prior)?;
        let i = self.store.role_get(implied).await.or_not_found("role", implied)?;
        if prior == implied {
            return Err(CoreError::BadRequest("A role cannot imply itself.".into()));
        }
        // Refuse cycles: the implied role must not (transitively) imply the prior one.
        let pairs = self.store.implied_role_list().await?;
        let mut stack = vec![implied.to_string()];
        let mut seen = std::collections::HashSet::new();
        while let Some(r) = stack.pop() {
            if r == prior {
                return Err(CoreError::BadRequest("That implication would form a cycle.".into()));
            }
            if seen.insert(r.clone()) {
                stack.extend(pairs.iter().filter(|(a, _)| *a == r).map(|(_, b)| b.clone()));
            }
        }
        self.store.implied_role_add(prior, implied).await?;
        self.changed();
        Ok((p, i))
    }

    pub async fn implied_role_remove(&self, ctx: &RequestContext, prior: &str, implied: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.store
            .implied_role_remove(prior, implied)
            .await
            .or_not_found("implied role", &format!("{prior} implies {implied}"))?;
        self.changed();
        Ok(())
    }

    /// Every (prior, implied) pair, as roles.
    pub async fn implied_role_list(&self, ctx: &RequestContext) -> Result<Vec<(Role, Role)>, CoreError> {
        ctx.require_admin()?;
        let roles = self.store.role_list::<Role>().await?;
        let find = |id: &str| roles.iter().find(|r| r.id == id).cloned();
        Ok(self
            .store
            .implied_role_list()
            .await?
            .into_iter()
            .filter_map(|(p, i)| Some((find(&p)?, find(&i)?)))
            .collect())
    }
}
