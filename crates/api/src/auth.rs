//! The caller of a request, from its `X-Auth-Token`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;

use crate::{ApiError, AppState};

pub(crate) struct Caller(pub std::sync::Arc<RequestContext>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Already validated by the write policy layer for this request.
        if let Some(crate::write_policy::Resolved(ctx)) = parts.extensions.get::<crate::write_policy::Resolved>() {
            return Ok(Caller(ctx.clone()));
        }
        let token = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| CoreError::Unauthorized("The request you have made requires authentication.".into()))?;
        let (_, ctx) = state.identity.context(token).await?;
        Ok(Caller(ctx))
    }
}

/// The state and the caller together: what nearly every handler takes first, as one
/// argument, so a handler's signature says only what is particular to it.
pub(crate) struct Call(pub AppState, pub std::sync::Arc<RequestContext>);

impl FromRequestParts<AppState> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(ctx) = Caller::from_request_parts(parts, state).await?;
        Ok(Call(state.clone(), ctx))
    }
}
