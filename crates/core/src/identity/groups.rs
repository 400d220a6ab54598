//! Groups and their members.

use serde::{Deserialize, Serialize};

use super::domains::validate_name;
use super::{new_id, Domain, Identity, User};
use crate::error::OrNotFound;
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
}

impl Identity {
    pub async fn group_list(&self, ctx: &RequestContext) -> Result<Vec<Group>, CoreError> {
        ctx.require_admin()?;
        Ok(self.store.group_list().await?)
    }

    pub async fn group_get(&self, ctx: &RequestContext, id: &str) -> Result<Group, CoreError> {
        ctx.require_admin()?;
        self.store.group_get(id).await.or_not_found("group", id)
    }

    pub async fn group_create(&self, ctx: &RequestContext, mut g: Group) -> Result<Group, CoreError> {
        ctx.require_admin()?;
        validate_name(&g.name)?;
        self.store
            .domain_get::<Domain>(&g.domain_id)
            .await
            .map_err(|_| CoreError::BadRequest(format!("Domain {} not found.", g.domain_id)))?;
        g.id = new_id();
        self.announce(self.store.group_create(&g).await).map(|()| g)
    }

    pub async fn group_update(&self, ctx: &RequestContext, g: Group) -> Result<Group, CoreError> {
        ctx.require_admin()?;
        validate_name(&g.name)?;
        self.announce(self.store.group_update(&g).await.or_not_found("group", &g.id)).map(|()| g)
    }

    pub async fn group_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.announce(self.store.group_delete(id).await.or_not_found("group", id))
    }

    async fn group_and_user(&self, group_id: &str, user_id: &str) -> Result<(), CoreError> {
        self.store.group_get::<Group>(group_id).await.or_not_found("group", group_id)?;
        self.store.user_get::<User>(user_id).await.or_not_found("user", user_id)?;
        Ok(())
    }

    pub async fn group_add_member(&self, ctx: &RequestContext, group_id: &str, user_id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.group_and_user(group_id, user_id).await?;
        self.announce(self.store.group_add_member(group_id, user_id).await)
    }

    pub async fn group_remove_member(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        user_id: &str,
    ) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.group_and_user(group_id, user_id).await?;
        self.store
            .group_remove_member(group_id, user_id)
            .await
            .or_not_found("membership", &format!("{user_id} in {group_id}"))?;
        self.changed();
        Ok(())
    }

    pub async fn group_check_member(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        user_id: &str,
    ) -> Result<(), CoreError> {
        if !(ctx.is_admin() || ctx.user_id == user_id) {
            return Err(crate::policy::forbidden());
        }
        self.group_and_user(group_id, user_id).await?;
        if self.store.group_members(group_id).await?.iter().any(|u| u == user_id) {
            Ok(())
        } else {
            Err(CoreError::not_found("membership", &format!("{user_id} in {group_id}")))
        }
    }

    pub async fn group_members(&self, ctx: &RequestContext, group_id: &str) -> Result<Vec<User>, CoreError> {
        ctx.require_admin()?;
        self.store.group_get::<Group>(group_id).await.or_not_found("group", group_id)?;
        let ids = self.store.group_members(group_id).await?;
        Ok(self.store.user_list::<User>().await?.into_iter().filter(|u| ids.contains(&u.id)).collect())
    }

    pub async fn groups_of_user(&self, ctx: &RequestContext, user_id: &str) -> Result<Vec<Group>, CoreError> {
        if !(ctx.is_admin() || ctx.user_id == user_id) {
            return Err(crate::policy::forbidden());
        }
        self.store.user_get::<User>(user_id).await.or_not_found("user", user_id)?;
        let ids = self.store.user_groups(user_id).await?;
        Ok(self.store.group_list::<Group>().await?.into_iter().filter(|g| ids.contains(&g.id)).collect())
    }
}
