//! Every request gets an `x-openstack-request-id`; it names the tracing span the request
//! runs in (so every log line of the request carries it) and is returned to the client.
//! Only method, path, status and duration are logged: headers carry tokens.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The request's id, for handlers that record it (Nova's instance actions are keyed by it).
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(format!("req-{}", uuid::Uuid::new_v4()))))
    }
}

pub(crate) async fn layer(mut req: Request, next: Next) -> Response {
    let id = format!("req-{}", uuid::Uuid::new_v4());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // Nova's clients (Tempest among them) read the id under its older compute name too.
    let compute = path.starts_with("/compute");
    let started = Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(%method, %path, status = resp.status().as_u16(), elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "handled");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        if compute {
            resp.headers_mut().insert("x-compute-request-id", v.clone());
        }
        resp.headers_mut().insert("x-openstack-request-id", v);
    }
    resp
}
