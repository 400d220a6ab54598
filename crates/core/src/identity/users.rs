//! Users, passwords and self-service password change.

use serde::{Deserialize, Serialize};

use super::domains::validate_name;
use super::{new_id, Domain, Identity, Project};
use crate::clock::now_micros;
use crate::error::OrNotFound;
use crate::policy::RequestContext;
use crate::{CoreError, Extra};

/// A user. Its password hash is not here: the store keeps it apart, so nothing that renders
/// users can hold one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub description: String,
    pub extra: Extra,
    pub password_expires_at: Option<i64>,
    pub created_at: i64,
}

/// Keystone's cap; bcrypt reads only the first 72 bytes, the rest still must match exactly
/// in length-checked comparisons by the client, so we bound input size to keep hashing cheap.
const MAX_PASSWORD_LEN: usize = 4096;

fn check_password(p: &str) -> Result<(), CoreError> {
    if p.is_empty() || p.len() > MAX_PASSWORD_LEN {
        return Err(CoreError::BadRequest(format!("A password must have 1 to {MAX_PASSWORD_LEN} bytes.")));
    }
    Ok(())
}

impl Identity {
    /// Keystone's `identity:list_users`: an administrator lists every user, a reader with a
    /// domain-scoped token those of its domain; a project-scoped token that is not an
    /// administrator's is refused (403), as Keystone does.
    pub async fn user_list(&self, ctx: &RequestContext) -> Result<Vec<User>, CoreError> {
        let domain = match &ctx.scope {
            _ if ctx.is_admin() => None,
            crate::policy::Scope::Domain { id } if ctx.has_role("reader") => Some(id.clone()),
            _ => return Err(crate::policy::forbidden()),
        };
        let all = self.store.user_list::<User>().await?;
        Ok(all.into_iter().filter(|u| domain.as_ref().is_none_or(|d| *d == u.domain_id)).collect())
    }

    pub async fn user_get(&self, ctx: &RequestContext, id: &str) -> Result<User, CoreError> {
        if !(ctx.is_admin() || ctx.user_id == id) {
            return Err(CoreError::not_found("user", id));
        }
        self.store.user_get(id).await.or_not_found("user", id)
    }

    /// Creates a user; `password` is hashed here and never stored in the clear.
    pub async fn user_create(
        &self,
        ctx: &RequestContext,
        mut u: User,
        password: Option<String>,
    ) -> Result<User, CoreError> {
        ctx.require_admin()?;
        validate_name(&u.name)?;
        self.store
            .domain_get::<Domain>(&u.domain_id)
            .await
            .map_err(|_| CoreError::BadRequest(format!("Domain {} not found.", u.domain_id)))?;
        if let Some(pid) = &u.default_project_id {
            self.store
                .project_get::<Project>(pid)
                .await
                .map_err(|_| CoreError::BadRequest(format!("Default project {pid} not found.")))?;
        }
        u.id = new_id();
        u.created_at = now_micros();
        let hash = match password {
            Some(p) => {
                check_password(&p)?;
                Some(self.blocking(move |h| h.hash(&p)).await??)
            }
            None => None,
        };
        self.store.user_create(&u, hash.as_deref()).await?;
        self.changed();
        Ok(u)
    }

    /// Admin update. A new password replaces the old one and ends the user's sessions;
    /// disabling a user ends them too.
    pub async fn user_update(
        &self,
        ctx: &RequestContext,
        u: User,
        password: Option<String>,
    ) -> Result<User, CoreError> {
        ctx.require_admin()?;
        validate_name(&u.name)?;
        let before = self.store.user_get::<User>(&u.id).await.or_not_found("user", &u.id)?;
        self.store.user_update::<User>(&u).await.or_not_found("user", &u.id)?;
        if let Some(p) = password {
            check_password(&p)?;
            let hash = self.blocking(move |h| h.hash(&p)).await??;
            self.store.user_set_password(&u.id, &hash, now_micros(), None, self.cfg.unique_last_password_count).await?;
            self.revoke_user_tokens(&u.id).await?;
        } else if before.enabled && !u.enabled {
            self.revoke_user_tokens(&u.id).await?;
        }
        self.changed();
        self.store.user_get(&u.id).await.or_not_found("user", &u.id)
    }

    pub async fn user_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.store.user_delete(id).await.or_not_found("user", id)?;
        self.revoke_user_tokens(id).await?;
        self.changed();
        Ok(())
    }

    /// `POST /v3/users/{id}/password`: proven by the original password, so no token is needed.
    /// The new password must differ from the newest `unique_last_password_count` ones, and
    /// every token the user holds is revoked.
    pub async fn user_change_password(&self, user_id: &str, original: String, new: String) -> Result<(), CoreError> {
        check_password(&new)?;
        let denied = || CoreError::Unauthorized("Error when changing user password.".into());
        let user = self.store.user_get::<User>(user_id).await.map_err(|_| denied())?;
        let stored = self.store.user_password_hash(user_id).await.map_err(|_| denied())?.ok_or_else(denied)?;
        if !user.enabled || !self.blocking(move |h| h.verify(&original, &stored)).await? {
            return Err(denied());
        }
        let n = self.cfg.unique_last_password_count.max(1);
        let history = self.store.user_password_history(user_id, n).await?;
        let candidate = new.clone();
        let reused = self.blocking(move |h| history.iter().any(|old| h.verify(&candidate, old))).await?;
        if reused {
            return Err(CoreError::BadRequest(format!(
                "The new password cannot be identical to a previous password. The total number which includes the new password must be unique is {n}."
            )));
        }
        let hash = self.blocking(move |h| h.hash(&new)).await??;
        self.store.user_set_password(user_id, &hash, now_micros(), None, n).await?;
        self.revoke_user_tokens(user_id).await?;
        self.changed();
        Ok(())
    }
}
