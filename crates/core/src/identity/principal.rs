//! A token's subject, resolved against the store: the user, the scope target and the
//! effective roles. Cached per (user, scope, application credential) because every API
//! request needs one and the store reads behind it do not change between requests.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use super::stamped::Stamped;
use super::{AppCredential, Domain, Identity, Project, Role, TokenPayload, TokenScope, User};
use crate::error::OrNotFound;
use crate::policy::{RequestContext, Scope};
use crate::CoreError;

/// How long a cached principal may lag behind another node's write.
pub(super) const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone)]
pub enum PrincipalScope {
    Project { project: Project, domain: Domain },
    Domain(Domain),
    System,
    Unscoped,
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub user_domain: Domain,
    pub scope: PrincipalScope,
    pub roles: Vec<Role>,
    pub app_cred: Option<AppCredential>,
    /// The request context every call made with this principal's tokens runs under, built
    /// once rather than per request.
    ctx: Arc<RequestContext>,
}

impl Principal {
    fn new(
        user: User,
        user_domain: Domain,
        scope: PrincipalScope,
        roles: Vec<Role>,
        app_cred: Option<AppCredential>,
    ) -> Self {
        let ctx = Arc::new(RequestContext {
            user_id: user.id.clone(),
            user_domain_id: user.domain_id.clone(),
            scope: match &scope {
                PrincipalScope::Project { project, .. } => {
                    Scope::Project { id: project.id.clone(), domain_id: project.domain_id.clone() }
                }
                PrincipalScope::Domain(d) => Scope::Domain { id: d.id.clone() },
                PrincipalScope::System => Scope::System,
                PrincipalScope::Unscoped => Scope::Unscoped,
            },
            roles: roles.iter().map(|r| r.name.clone()).collect(),
            app_cred_id: app_cred.as_ref().map(|c| c.id.clone()),
            app_cred_unrestricted: app_cred.as_ref().is_some_and(|c| c.unrestricted),
        });
        Self { user, user_domain, scope, roles, app_cred, ctx }
    }

    pub fn context(&self) -> Arc<RequestContext> {
        self.ctx.clone()
    }
}

type Key = (String, TokenScope, Option<String>);

#[derive(Default)]
pub(super) struct Cache {
    map: RwLock<HashMap<Key, Stamped<Principal>>>,
}

fn unauthorized() -> CoreError {
    CoreError::Unauthorized("The request you have made requires authentication.".into())
}

impl Identity {
    /// Resolves a token's subject. Fails when the user, project or credential is gone or
    /// disabled, or when no role remains on the scope: such tokens are no longer valid.
    pub(super) async fn principal(&self, t: &TokenPayload) -> Result<Arc<Principal>, CoreError> {
        let key: Key = (t.user_id.clone(), t.scope.clone(), t.app_cred_id.clone());
        let gen = self.generation();
        if let Some(p) = self.principals.map.read().get(&key).and_then(|s| s.fresh(gen, TTL)) {
            return Ok(p);
        }
        let p = Arc::new(self.resolve(&t.user_id, &t.scope, t.app_cred_id.as_deref()).await?);
        let mut map = self.principals.map.write();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, Stamped::new(gen, p.clone()));
        Ok(p)
    }

    pub(super) async fn resolve(
        &self,
        user_id: &str,
        scope: &TokenScope,
        app_cred: Option<&str>,
    ) -> Result<Principal, CoreError> {
        let user = self.store.user_get::<User>(user_id).await.map_err(|_| unauthorized())?;
        let user_domain =
            self.store.domain_get::<Domain>(&user.domain_id).await.or_not_found("domain", &user.domain_id)?;
        if !user.enabled || !user_domain.enabled {
            return Err(unauthorized());
        }
        let app_cred = match app_cred {
            Some(id) => {
                let c = self.store.app_credential_get::<AppCredential>(id).await.map_err(|_| unauthorized())?;
                if c.user_id != user.id || c.expires_at.is_some_and(|e| e <= crate::clock::now_micros()) {
                    return Err(unauthorized());
                }
                Some(c)
            }
            None => None,
        };
        let (scope, mut roles) = match scope {
            TokenScope::Project(pid) => {
                let project = self.store.project_get::<Project>(pid).await.map_err(|_| unauthorized())?;
                let domain = self.store.domain_get::<Domain>(&project.domain_id).await.map_err(|_| unauthorized())?;
                if !project.enabled || !domain.enabled {
                    return Err(unauthorized());
                }
                let roles = self.effective_roles_on_project(&user.id, &project).await?;
                (PrincipalScope::Project { project, domain }, roles)
            }
            TokenScope::Domain(did) => {
                let domain = self.store.domain_get::<Domain>(did).await.map_err(|_| unauthorized())?;
                if !domain.enabled {
                    return Err(unauthorized());
                }
                let roles = self.effective_roles_on(&user.id, super::TargetType::Domain, did).await?;
                (PrincipalScope::Domain(domain), roles)
            }
            TokenScope::System => {
                let roles = self.effective_roles_on(&user.id, super::TargetType::System, "all").await?;
                (PrincipalScope::System, roles)
            }
            TokenScope::Unscoped => (PrincipalScope::Unscoped, Vec::new()),
        };
        if let Some(c) = &app_cred {
            // A credential delegates at most the roles it was created with, and only while
            // the user still holds them.
            roles.retain(|r| c.role_ids.contains(&r.id));
        }
        if !matches!(scope, PrincipalScope::Unscoped) && roles.is_empty() {
            return Err(unauthorized());
        }
        Ok(Principal::new(user, user_domain, scope, roles, app_cred))
    }
}
