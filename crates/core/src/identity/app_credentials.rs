//! Application credentials: a user delegates some of its roles on one project to a secret
//! that automation can log in with.

use serde::{Deserialize, Serialize};

use super::domains::validate_name;
use super::{new_id, Identity, Role};
use crate::clock::now_micros;
use crate::error::OrNotFound;
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppCredential {
    pub id: String,
    pub name: String,
    pub user_id: String,
    pub project_id: String,
    pub description: String,
    /// Tagged hash of the secret (see the `secrets` module for the formats).
    pub secret_hash: String,
    pub expires_at: Option<i64>,
    pub unrestricted: bool,
    pub created_at: i64,
    /// The roles it delegates.
    pub role_ids: Vec<String>,
}

pub struct NewAppCredential {
    pub name: String,
    pub description: String,
    pub secret: Option<String>,
    pub expires_at: Option<i64>,
    pub unrestricted: bool,
    /// Each role by id or by name; empty means every role of the creating token.
    pub roles: Vec<(Option<String>, Option<String>)>,
}

impl Identity {
    fn own_or_admin(ctx: &RequestContext, user_id: &str) -> Result<(), CoreError> {
        if ctx.user_id == user_id || ctx.is_admin() {
            Ok(())
        } else {
            Err(crate::policy::forbidden())
        }
    }

    /// Returns the credential and its secret, which is shown this once only.
    pub async fn app_credential_create(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        req: NewAppCredential,
    ) -> Result<(AppCredential, String), CoreError> {
        if ctx.user_id != user_id {
            return Err(crate::policy::forbidden());
        }
        if ctx.app_cred_id.is_some() && !ctx.app_cred_unrestricted {
            return Err(CoreError::Forbidden(
                "A restricted application credential cannot create application credentials.".into(),
            ));
        }
        let project_id = ctx
            .project_id()
            .ok_or_else(|| CoreError::Forbidden("Application credentials need a project-scoped token.".into()))?
            .to_string();
        validate_name(&req.name)?;
        if req.expires_at.is_some_and(|e| e <= now_micros()) {
            return Err(CoreError::BadRequest("expires_at must be in the future.".into()));
        }
        let all_roles = self.store.role_list::<Role>().await?;
        let held: Vec<_> = all_roles.iter().filter(|r| ctx.roles.contains(&r.name)).collect();
        let mut role_ids = Vec::new();
        if req.roles.is_empty() {
            role_ids = held.iter().map(|r| r.id.clone()).collect();
        }
        for (id, name) in &req.roles {
            let found = held.iter().find(|r| Some(&r.id) == id.as_ref() || Some(&r.name) == name.as_ref());
            match found {
                Some(r) if !role_ids.contains(&r.id) => role_ids.push(r.id.clone()),
                Some(_) => {}
                None => {
                    return Err(CoreError::BadRequest(format!(
                        "Role {} is not held by the user on this project.",
                        id.clone().or(name.clone()).unwrap_or_default()
                    )))
                }
            }
        }
        let (secret, secret_hash) = match req.secret {
            Some(s) if !s.is_empty() => {
                let copy = s.clone();
                (s, self.blocking(move |h| h.hash(&copy)).await??)
            }
            _ => self.hasher.generate_secret(),
        };
        let cred = AppCredential {
            id: new_id(),
            name: req.name,
            user_id: user_id.to_string(),
            project_id,
            description: req.description,
            secret_hash,
            expires_at: req.expires_at,
            unrestricted: req.unrestricted,
            created_at: now_micros(),
            role_ids,
        };
        match self.store.app_credential_create(&cred).await {
            Err(hybridstack_store::StoreError::Conflict(_)) => {
                return Err(CoreError::Conflict(format!(
                    "An application credential named {} already exists.",
                    cred.name
                )))
            }
            other => other?,
        }
        Ok((cred, secret))
    }

    pub async fn app_credential_list(
        &self,
        ctx: &RequestContext,
        user_id: &str,
    ) -> Result<Vec<AppCredential>, CoreError> {
        Self::own_or_admin(ctx, user_id)?;
        Ok(self.store.app_credential_list(user_id).await?)
    }

    pub async fn app_credential_get(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        id: &str,
    ) -> Result<AppCredential, CoreError> {
        Self::own_or_admin(ctx, user_id)?;
        let c = self.store.app_credential_get::<AppCredential>(id).await.or_not_found("application credential", id)?;
        if c.user_id != user_id {
            return Err(CoreError::not_found("application credential", id));
        }
        Ok(c)
    }

    /// Deleting a credential also revokes the tokens it issued.
    pub async fn app_credential_delete(&self, ctx: &RequestContext, user_id: &str, id: &str) -> Result<(), CoreError> {
        self.app_credential_get(ctx, user_id, id).await?;
        self.store.app_credential_delete(id).await.or_not_found("application credential", id)?;
        self.revoke(super::revocation::BY_APP_CRED, id).await?;
        self.changed();
        Ok(())
    }

    /// Role records of a credential, for rendering.
    pub async fn roles_by_id(&self, ids: &[String]) -> Result<Vec<super::Role>, CoreError> {
        Ok(self.store.role_list::<Role>().await?.into_iter().filter(|r| ids.contains(&r.id)).collect())
    }
}
