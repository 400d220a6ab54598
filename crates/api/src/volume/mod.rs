//! Cinder v3 at `/volume`, under `/volume/v3/{project_id}`. One module per resource; this
//! file holds what they share: the project in the URL, and microversions (`OpenStack-API-
//! Version: volume 3.x`, echoed on every response). Cinder's error body has Nova's shape, so
//! the compute module's error type serves both.

mod snapshots;
mod types;
mod versions;
mod volumes;
mod zones;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hybridstack_core::policy::RequestContext;

use crate::compute::{nova_error, NovaError};
use crate::AppState;

pub(crate) const PREFIX: &str = "/volume";

/// The microversions served: 3.0 only for now; a request for a newer one is refused (406)
/// rather than answered in the 3.0 shape.
const MAX_MINOR: u16 = 0;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(volumes::router())
        .merge(snapshots::router())
        .merge(types::router())
        .merge(zones::router())
        .layer(axum::middleware::from_fn(microversion_layer))
        .merge(versions::router())
}

pub(crate) type Result<T> = std::result::Result<T, NovaError>;

/// `/volume/v3/{project_id}` + `rest`, as the route pattern.
fn route(rest: &str) -> String {
    format!("{PREFIX}/v3/{{project_id}}{rest}")
}

/// The project in the URL must be the token's (Cinder says "Malformed request url"), unless
/// an admin acts on another project.
fn check_project(ctx: &RequestContext, url_project: &str) -> Result<()> {
    if ctx.project_id() == Some(url_project) || ctx.is_admin() {
        return Ok(());
    }
    Err(NovaError(hybridstack_core::CoreError::BadRequest("Malformed request url".into())))
}

fn requested_minor(req: &Request) -> std::result::Result<u16, (StatusCode, String)> {
    let asked = req.headers().get_all("openstack-api-version").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.split(',').find_map(|part| {
            let mut it = part.split_whitespace();
            (it.next()?.eq_ignore_ascii_case("volume")).then(|| it.next().unwrap_or("").to_string())
        })
    });
    let Some(raw) = asked else { return Ok(0) };
    if raw.eq_ignore_ascii_case("latest") {
        return Ok(MAX_MINOR);
    }
    let minor =
        raw.split_once('.').filter(|(major, _)| *major == "3").and_then(|(_, m)| m.parse::<u16>().ok()).ok_or_else(
            || (StatusCode::BAD_REQUEST, format!("Invalid API version request {raw:?}; use the form 3.x.")),
        )?;
    if minor > MAX_MINOR {
        return Err((
            StatusCode::NOT_ACCEPTABLE,
            format!("Version 3.{minor} is not supported by the API. Minimum is 3.0 and maximum is 3.{MAX_MINOR}."),
        ));
    }
    Ok(minor)
}

async fn microversion_layer(req: Request, next: Next) -> Response {
    let (mut resp, minor) = match requested_minor(&req) {
        Ok(m) => (next.run(req).await, m),
        Err((status, message)) => (nova_error(status, &message), 0),
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("volume 3.{minor}")) {
        h.insert("openstack-api-version", v);
    }
    h.insert("vary", HeaderValue::from_static("OpenStack-API-Version"));
    resp
}

/// Cinder's time format: no zone suffix, microseconds.
fn time(t: &str) -> String {
    let t = t.trim_end_matches('Z');
    if t.contains('.') {
        t.to_string()
    } else {
        format!("{t}.000000")
    }
}

fn links(base: &str, project: &str, kind: &str, id: &str) -> serde_json::Value {
    serde_json::json!([
        {"rel": "self", "href": format!("{base}{PREFIX}/v3/{project}/{kind}/{id}")},
        {"rel": "bookmark", "href": format!("{base}{PREFIX}/{project}/{kind}/{id}")},
    ])
}
