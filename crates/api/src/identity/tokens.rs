//! `/v3/auth/tokens`: issue, validate, check and revoke.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::clock::iso;
use hybridstack_core::identity::{AuthRequest, Principal, PrincipalScope, TokenPayload};
use hybridstack_core::CoreError;
use serde_json::{json, Value};

use super::path;
use crate::auth::Call;
use crate::{ApiError, AppState};

/// Keystone's token document. Identical for issue and validation of the same token.
pub(crate) async fn render(
    state: &AppState,
    p: &TokenPayload,
    who: &Principal,
    with_catalog: bool,
) -> Result<Value, ApiError> {
    let mut t = json!({
        "methods": p.methods,
        "user": {
            "domain": {"id": who.user_domain.id, "name": who.user_domain.name},
            "id": who.user.id,
            "name": who.user.name,
            "password_expires_at": who.user.password_expires_at.map(iso),
        },
        "audit_ids": p.audit_ids,
        "expires_at": iso(p.expires_at),
        "issued_at": iso(p.issued_at),
    });
    let project_id = match &who.scope {
        PrincipalScope::Project { project, domain } => {
            t["project"] =
                json!({"domain": {"id": domain.id, "name": domain.name}, "id": project.id, "name": project.name});
            t["is_domain"] = json!(false);
            Some(project.id.as_str())
        }
        PrincipalScope::Domain(d) => {
            t["domain"] = json!({"id": d.id, "name": d.name});
            None
        }
        PrincipalScope::System => {
            t["system"] = json!({"all": true});
            None
        }
        PrincipalScope::Unscoped => return Ok(json!({ "token": t })),
    };
    t["roles"] = who.roles.iter().map(|r| json!({"id": r.id, "name": r.name})).collect();
    if let Some(c) = &who.app_cred {
        t["application_credential"] = json!({"id": c.id, "name": c.name, "restricted": !c.unrestricted});
    }
    if with_catalog {
        t["catalog"] = serde_json::to_value(state.identity.catalog_for(project_id).await?)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
    }
    Ok(json!({ "token": t }))
}

/// Rendered validation documents, keyed by token and catalog choice. An entry is reused only
/// while the identity service still hands out the very principal it was rendered from (a
/// pointer comparison); any identity change rebuilds the principal and so the document.
/// Validation is the hottest identity call (every service validates every request's token).
#[derive(Default)]
pub(crate) struct TokenDocs {
    /// Keyed by token, one map per catalog choice, so a lookup needs no allocation.
    with_catalog: RwLock<HashMap<String, Doc>>,
    without_catalog: RwLock<HashMap<String, Doc>>,
}

type Doc = (Arc<Principal>, bytes::Bytes);

const MAX_DOCS: usize = 100_000;

impl TokenDocs {
    fn map(&self, catalog: bool) -> &RwLock<HashMap<String, Doc>> {
        if catalog {
            &self.with_catalog
        } else {
            &self.without_catalog
        }
    }

    fn get(&self, token: &str, catalog: bool, who: &Arc<Principal>) -> Option<bytes::Bytes> {
        let map = self.map(catalog).read().ok()?;
        let (p, doc) = map.get(token)?;
        Arc::ptr_eq(p, who).then(|| doc.clone())
    }

    fn put(&self, token: &str, catalog: bool, who: Arc<Principal>, doc: bytes::Bytes) {
        if let Ok(mut map) = self.map(catalog).write() {
            if map.len() >= MAX_DOCS {
                map.clear();
            }
            map.insert(token.to_string(), (who, doc));
        }
    }
}

fn wants_catalog(q: &HashMap<String, String>) -> bool {
    !q.contains_key("nocatalog")
}

fn with_subject(status: StatusCode, token: &str, body: Value) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(token) {
        resp.headers_mut().insert("x-subject-token", v);
    }
    resp
}

async fn issue(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let auth = crate::body::object(&body, "auth")?;
    let issued = state.identity.authenticate(&AuthRequest(Value::Object(auth))).await?;
    let doc = render(&state, &issued.payload, &issued.principal, wants_catalog(&q)).await?;
    Ok(with_subject(StatusCode::CREATED, &issued.token, doc))
}

fn subject(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| CoreError::BadRequest("X-Subject-Token is required.".into()).into())
}

async fn validate(
    Call(state, ctx): Call,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = subject(&headers)?;
    let (payload, principal) = state.identity.validate(token).await?;
    state.identity.may_inspect(&ctx, &payload)?;
    let catalog = wants_catalog(&q);
    let doc = match state.token_docs.get(token, catalog, &principal) {
        Some(doc) => doc,
        None => {
            let v = render(&state, &payload, &principal, catalog).await?;
            let doc = bytes::Bytes::from(serde_json::to_vec(&v).map_err(|e| CoreError::Internal(e.to_string()))?);
            state.token_docs.put(token, catalog, principal, doc.clone());
            doc
        }
    };
    let mut resp = (StatusCode::OK, [(axum::http::header::CONTENT_TYPE, "application/json")], doc).into_response();
    if let Ok(v) = HeaderValue::from_str(token) {
        resp.headers_mut().insert("x-subject-token", v);
    }
    Ok(resp)
}

async fn revoke(Call(state, ctx): Call, headers: HeaderMap) -> Result<Response, ApiError> {
    let token = subject(&headers)?;
    state.identity.revoke_token(&ctx, token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route(&path("/auth/tokens"), get(validate).post(issue).delete(revoke))
}
