//! Authentication: credentials in, token out (`POST /v3/auth/tokens`), and tokens back into
//! principals for validation and for every other request.

use std::sync::Arc;

use serde_json::Value;

use super::revocation::{BY_AUDIT_ID, BY_USER};
use super::token::new_audit_id;
use super::{AppCredential, Domain, Identity, Principal, Project, TokenPayload, TokenScope, User};
use crate::clock::now_micros;
use crate::policy::RequestContext;
use crate::secrets::PasswordHasher;
use crate::CoreError;

/// The `auth` object of a token request, as sent.
pub struct AuthRequest(pub Value);

pub struct IssuedToken {
    pub token: String,
    pub payload: TokenPayload,
    pub principal: Arc<Principal>,
}

fn unauthorized() -> CoreError {
    CoreError::Unauthorized("The request you have made requires authentication.".into())
}

fn bad(msg: &str) -> CoreError {
    CoreError::BadRequest(msg.to_string())
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Who the methods proved the caller to be, and what the methods constrain.
struct Proven {
    user: User,
    methods: Vec<String>,
    audit_ids: Vec<String>,
    expires_at: Option<i64>,
    scope: Option<TokenScope>,
    app_cred_id: Option<String>,
}

impl Identity {
    async fn domain_ref(&self, v: &Value) -> Result<String, CoreError> {
        if let Some(id) = str_at(v, "id") {
            return Ok(id.to_string());
        }
        match str_at(v, "name") {
            Some(name) => Ok(self.store.domain_by_name::<Domain>(name).await.map_err(|_| unauthorized())?.id),
            None => Err(bad("A domain must be given by id or name.")),
        }
    }

    async fn user_ref(&self, v: &Value) -> Result<User, CoreError> {
        if let Some(id) = str_at(v, "id") {
            return self.store.user_get(id).await.map_err(|_| unauthorized());
        }
        let name = str_at(v, "name").ok_or_else(|| bad("A user must be given by id, or by name and domain."))?;
        let domain = v.get("domain").ok_or_else(|| bad("A user given by name needs its domain."))?;
        let domain_id = self.domain_ref(domain).await?;
        self.store.user_by_name(&domain_id, name).await.map_err(|_| unauthorized())
    }

    async fn prove_password(&self, v: &Value) -> Result<User, CoreError> {
        let u = v.get("user").ok_or_else(|| bad("password.user is required."))?;
        let password = str_at(u, "password").ok_or_else(|| bad("password.user.password is required."))?.to_string();
        let user = self.user_ref(u).await?;
        let Some(stored) = self.store.user_password_hash(&user.id).await.map_err(|_| unauthorized())? else {
            return Err(unauthorized());
        };
        if !self.blocking(move |h| h.verify(&password, &stored)).await? {
            return Err(unauthorized());
        }
        if user.password_expires_at.is_some_and(|e| e <= now_micros()) {
            return Err(CoreError::Unauthorized("The password is expired and needs to be changed.".into()));
        }
        Ok(user)
    }

    async fn prove_app_cred(&self, v: &Value) -> Result<(User, super::AppCredential), CoreError> {
        let secret = str_at(v, "secret").ok_or_else(|| bad("application_credential.secret is required."))?.to_string();
        let cred = if let Some(id) = str_at(v, "id") {
            self.store.app_credential_get(id).await.map_err(|_| unauthorized())?
        } else {
            let name =
                str_at(v, "name").ok_or_else(|| bad("An application credential needs an id, or a name and user."))?;
            let user = self
                .user_ref(v.get("user").ok_or_else(|| bad("application_credential.user is required with a name."))?)
                .await?;
            self.store.app_credential_by_name::<AppCredential>(&user.id, name).await.map_err(|_| unauthorized())?
        };
        let stored = cred.secret_hash.clone();
        let valid = if PasswordHasher::is_cheap(&stored) {
            self.hasher.verify(&secret, &stored)
        } else {
            self.blocking(move |h| h.verify(&secret, &stored)).await?
        };
        if !valid {
            return Err(unauthorized());
        }
        if cred.expires_at.is_some_and(|e| e <= now_micros()) {
            return Err(unauthorized());
        }
        let user = self.store.user_get(&cred.user_id).await.map_err(|_| unauthorized())?;
        Ok((user, cred))
    }

    async fn prove(&self, identity: &Value) -> Result<Proven, CoreError> {
        let methods: Vec<String> = identity
            .get("methods")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("auth.identity.methods is required."))?
            .iter()
            .map(|m| m.as_str().map(str::to_string).ok_or_else(|| bad("methods must be strings.")))
            .collect::<Result<_, _>>()?;
        if methods.is_empty() {
            return Err(bad("auth.identity.methods must not be empty."));
        }
        let mut proven: Option<Proven> = None;
        for m in &methods {
            let body = identity.get(m.as_str()).ok_or_else(|| bad(&format!("auth.identity.{m} is required.")))?;
            let next = match m.as_str() {
                "password" => Proven {
                    user: self.prove_password(body).await?,
                    methods: vec!["password".into()],
                    audit_ids: vec![],
                    expires_at: None,
                    scope: None,
                    app_cred_id: None,
                },
                "token" => {
                    let id = str_at(body, "id").ok_or_else(|| bad("auth.identity.token.id is required."))?;
                    let (old, _) = self.validate(id).await?;
                    let old = (*old).clone();
                    if old.app_cred_id.is_some() {
                        return Err(CoreError::Forbidden(
                            "A token from an application credential cannot be rescoped.".into(),
                        ));
                    }
                    let user = self.store.user_get(&old.user_id).await.map_err(|_| unauthorized())?;
                    Proven {
                        user,
                        methods: old.methods.clone(),
                        audit_ids: old.audit_ids.first().cloned().into_iter().collect(),
                        expires_at: Some(old.expires_at),
                        scope: None,
                        app_cred_id: None,
                    }
                }
                "application_credential" => {
                    let (user, cred) = self.prove_app_cred(body).await?;
                    Proven {
                        user,
                        methods: vec!["application_credential".into()],
                        audit_ids: vec![],
                        expires_at: cred.expires_at,
                        scope: Some(TokenScope::Project(cred.project_id.clone())),
                        app_cred_id: Some(cred.id),
                    }
                }
                other => {
                    return Err(CoreError::Unauthorized(format!(
                        "Attempted to authenticate with an unsupported method: {other}."
                    )))
                }
            };
            proven = Some(match proven {
                None => next,
                Some(mut p) => {
                    if p.user.id != next.user.id {
                        return Err(unauthorized());
                    }
                    for m in next.methods {
                        if !p.methods.contains(&m) {
                            p.methods.push(m);
                        }
                    }
                    p.audit_ids.extend(next.audit_ids);
                    p.expires_at = match (p.expires_at, next.expires_at) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    p.scope = p.scope.or(next.scope);
                    p.app_cred_id = p.app_cred_id.or(next.app_cred_id);
                    p
                }
            });
        }
        proven.ok_or_else(|| bad("auth.identity.methods must not be empty."))
    }

    async fn requested_scope(&self, scope: Option<&Value>) -> Result<Option<TokenScope>, CoreError> {
        let Some(scope) = scope else { return Ok(None) };
        if scope.as_str() == Some("unscoped") {
            return Ok(Some(TokenScope::Unscoped));
        }
        if let Some(p) = scope.get("project") {
            let project = if let Some(id) = str_at(p, "id") {
                self.store.project_get(id).await.map_err(|_| unauthorized())?
            } else {
                let name = str_at(p, "name").ok_or_else(|| bad("scope.project needs an id or a name."))?;
                let d = p.get("domain").ok_or_else(|| bad("scope.project given by name needs its domain."))?;
                let domain_id = self.domain_ref(d).await?;
                self.store.project_by_name::<Project>(&domain_id, name).await.map_err(|_| unauthorized())?
            };
            return Ok(Some(TokenScope::Project(project.id)));
        }
        if let Some(d) = scope.get("domain") {
            return Ok(Some(TokenScope::Domain(self.domain_ref(d).await?)));
        }
        if let Some(s) = scope.get("system") {
            if s.get("all").and_then(Value::as_bool) == Some(true) {
                return Ok(Some(TokenScope::System));
            }
            return Err(bad("scope.system must be {\"all\": true}."));
        }
        if scope.get("OS-TRUST:trust").is_some() {
            return Err(CoreError::NotSupported("Trusts are not supported by hybridstack.".into()));
        }
        Err(bad("scope must name a project, a domain or the system."))
    }

    /// `POST /v3/auth/tokens`.
    pub async fn authenticate(&self, req: &AuthRequest) -> Result<IssuedToken, CoreError> {
        let identity = req.0.get("identity").ok_or_else(|| bad("auth.identity is required."))?;
        let proven = self.prove(identity).await?;
        let requested = self.requested_scope(req.0.get("scope")).await?;
        let scope = match (&proven.scope, requested) {
            (Some(forced), Some(asked)) if asked != *forced && asked != TokenScope::Unscoped => {
                return Err(CoreError::Unauthorized(
                    "An application credential token is always scoped to its project.".into(),
                ))
            }
            (Some(forced), _) => forced.clone(),
            (None, Some(asked)) => asked,
            (None, None) => self.default_scope(&proven.user).await,
        };
        let now = now_micros();
        let mut expires_at = now + self.cfg.token_ttl_secs * 1_000_000;
        if let Some(cap) = proven.expires_at {
            expires_at = expires_at.min(cap);
        }
        let mut audit_ids = vec![new_audit_id()];
        audit_ids.extend(proven.audit_ids);
        let payload = TokenPayload {
            user_id: proven.user.id.clone(),
            methods: proven.methods,
            scope,
            issued_at: now,
            expires_at,
            audit_ids,
            app_cred_id: proven.app_cred_id,
        };
        let principal = self.principal(&payload).await.map_err(|e| match e {
            CoreError::Unauthorized(_) => CoreError::Unauthorized("User has no access to the requested scope.".into()),
            other => other,
        })?;
        let token = payload.seal(&self.keys.token)?;
        Ok(IssuedToken { token, payload, principal })
    }

    /// A user with a default project and a role on it gets that scope, as in Keystone.
    async fn default_scope(&self, user: &User) -> TokenScope {
        if let Some(pid) = &user.default_project_id {
            if let Ok(p) = self.store.project_get(pid).await {
                if matches!(self.effective_roles_on_project(&user.id, &p).await, Ok(r) if !r.is_empty()) {
                    return TokenScope::Project(pid.clone());
                }
            }
        }
        TokenScope::Unscoped
    }

    /// Checks a subject token: 404 when it is not a live token of ours.
    pub async fn validate(&self, token: &str) -> Result<(Arc<TokenPayload>, Arc<Principal>), CoreError> {
        let nf = || CoreError::NotFound(format!("Could not find token: {}.", short(token)));
        let opened = self.opened.open(token, &self.keys.token).ok_or_else(nf)?;
        let payload = opened.payload.clone();
        // Expiry and revocation are checked on every use; only decryption and resolution are cached.
        if payload.expires_at <= now_micros() || self.revocations.is_revoked(&payload) {
            return Err(nf());
        }
        let gen = self.generation();
        let fresh = opened.principal.read().as_ref().and_then(|s| s.fresh(gen, super::principal::TTL));
        let principal = match fresh {
            Some(p) => p,
            None => {
                let p = self.principal(&payload).await.map_err(|_| nf())?;
                *opened.principal.write() = Some(super::stamped::Stamped::new(gen, p.clone()));
                p
            }
        };
        Ok((payload, principal))
    }

    /// The caller of a request, from its `X-Auth-Token`: 401 unless it is a live token.
    pub async fn context(&self, token: &str) -> Result<(Arc<TokenPayload>, Arc<RequestContext>), CoreError> {
        let (payload, principal) = self.validate(token).await.map_err(|_| unauthorized())?;
        Ok((payload, principal.context()))
    }

    /// May the caller see or revoke this subject token?
    pub fn may_inspect(&self, ctx: &RequestContext, subject: &TokenPayload) -> Result<(), CoreError> {
        if ctx.is_admin() || ctx.user_id == subject.user_id {
            Ok(())
        } else {
            Err(crate::policy::forbidden())
        }
    }

    /// `DELETE /v3/auth/tokens`: revokes the subject token (and tokens rescoped from it).
    pub async fn revoke_token(&self, ctx: &RequestContext, token: &str) -> Result<(), CoreError> {
        let (payload, _) = self.validate(token).await?;
        self.may_inspect(ctx, &payload)?;
        let audit = payload.audit_ids.first().cloned().unwrap_or_default();
        self.revoke(BY_AUDIT_ID, &audit).await
    }

    /// Records a revocation and applies it here at once (other nodes pick it up by `sync`).
    pub(super) async fn revoke(&self, kind: &str, value: &str) -> Result<(), CoreError> {
        let now = now_micros();
        let max_life = self.cfg.token_ttl_secs * 1_000_000;
        self.store.revocation_add(kind, value, now, now + max_life).await?;
        self.revocations.sync(&self.store).await?;
        Ok(())
    }

    pub(super) async fn revoke_user_tokens(&self, user_id: &str) -> Result<(), CoreError> {
        self.revoke(BY_USER, user_id).await
    }

    pub fn revocation_count(&self) -> usize {
        self.revocations.len()
    }
}

fn short(token: &str) -> String {
    token.chars().take(8).collect::<String>() + "…"
}
