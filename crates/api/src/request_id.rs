//! Every request gets an `x-openstack-request-id`; it names the tracing span the request
//! runs in (so every log line of the request carries it) and is returned to the client.
//! Only method, path, status and duration are logged: headers carry tokens.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub(crate) async fn layer(req: Request, next: Next) -> Response {
    let id = format!("req-{}", uuid::Uuid::new_v4());
    let span = tracing::info_span!("request", request_id = %id);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(%method, %path, status = resp.status().as_u16(), elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "handled");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-openstack-request-id", v);
    }
    resp
}
