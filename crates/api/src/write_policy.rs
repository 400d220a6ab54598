//! Writes need a writer. Every POST, PUT, PATCH and DELETE route of every service refuses a
//! caller whose token carries neither `member` nor `admin` (OpenStack's secure-RBAC
//! defaults: a reader never writes), except the routes OpenStack lets any user write for
//! itself (`READER_WRITES`, each with the policy that allows it). This is the one place all
//! services share for it; each service's own checks (admin-only routes, ownership, another
//! project's resource being a 404) come after it.
//!
//! A request without a token, or with one that does not validate, passes on: its route
//! answers it (some write routes need no token, and the others answer 401 in their own
//! service's error body). The context resolved here is handed to the route's `Caller`, so a
//! token is validated once per request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;

use crate::AppState;

/// Write routes any user may call (for itself), with the OpenStack policy that allows it.
/// Paths are route patterns; the legacy compute endpoint (`/compute/v2/…`) is matched as
/// the `/compute/v2.1/…` route it serves.
pub(crate) const READER_WRITES: &[(&str, &str, &str)] = &[
    ("POST", "/identity/v3/auth/tokens", "none: authenticating needs no role"),
    ("DELETE", "/identity/v3/auth/tokens", "identity:revoke_token (the caller's own token)"),
    ("POST", "/identity/v3/users/{id}/password", "identity:change_password (the caller's own password)"),
    (
        "POST",
        "/identity/v3/users/{user}/application_credentials",
        "identity:create_application_credential (user_id:%(user_id)s)",
    ),
    (
        "DELETE",
        "/identity/v3/users/{user}/application_credentials/{id}",
        "identity:delete_application_credential (user_id:%(user_id)s)",
    ),
    ("POST", "/compute/v2.1/os-keypairs", "os_compute_api:os-keypairs:create (user_id:%(user_id)s)"),
    ("DELETE", "/compute/v2.1/os-keypairs/{name}", "os_compute_api:os-keypairs:delete (user_id:%(user_id)s)"),
];

/// The context a write policy check resolved, for the route's `Caller`.
#[derive(Clone)]
pub(crate) struct Resolved(pub Arc<RequestContext>);

pub(crate) fn is_write(m: &Method) -> bool {
    matches!(*m, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

pub(crate) fn may_write(ctx: &RequestContext) -> bool {
    ctx.has_role("member") || ctx.is_admin()
}

/// Whether `path` is an instance of the route pattern `pattern` (`{x}` is one segment).
fn matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| (a.starts_with('{') && a.ends_with('}')) || a == b)
}

/// Whether a reader may call `method path` (a concrete request path).
pub(crate) fn reader_may(method: &Method, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    let path = match path.strip_prefix("/compute/v2/") {
        Some(rest) => format!("/compute/v2.1/{rest}"),
        None => path.to_string(),
    };
    READER_WRITES.iter().any(|(m, pattern, _)| *m == method.as_str() && matches(pattern, &path))
}

/// The refusal in the error body of the service that owns `path`.
fn refusal(path: &str) -> Response {
    let message =
        "You are not authorized to perform the requested action: it changes state, and the caller's roles only read.";
    let e = CoreError::Forbidden(message.into());
    let service = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    match service {
        "compute" | "volume" => crate::compute::nova_error(StatusCode::FORBIDDEN, message),
        "network" => crate::network::NeutronError(e).into_response(),
        "image" => crate::images::GlanceError(e).into_response(),
        _ => crate::error::keystone_error(StatusCode::FORBIDDEN, message),
    }
}

pub(crate) async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !is_write(req.method()) {
        return next.run(req).await;
    }
    let token = req.headers().get("x-auth-token").and_then(|v| v.to_str().ok()).map(str::to_string);
    let Some(token) = token else { return next.run(req).await };
    let Ok((_, ctx)) = state.identity.context(&token).await else { return next.run(req).await };
    if !may_write(&ctx) && !reader_may(req.method(), req.uri().path()) {
        tracing::info!(user = %ctx.user_id, method = %req.method(), path = %req.uri().path(), "write refused to a reader");
        return refusal(req.uri().path());
    }
    req.extensions_mut().insert(Resolved(ctx));
    next.run(req).await
}

#[cfg(test)]
mod tests;
