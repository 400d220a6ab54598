//! Nova v2.1 at `/compute`. One module per resource; this file holds what they share: Nova's
//! error body, and microversions (read from `OpenStack-API-Version: compute X` or
//! `X-OpenStack-Nova-API-Version`, echoed on every response).

mod flavors;
mod images;
mod instance_actions;
mod keypairs;
mod quotas;
mod security_groups;
mod server_actions;
mod server_groups;
mod server_meta;
mod servers;
mod versions;
mod views;
mod volume_attachments;
mod zones;

use crate::routes::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hybridstack_core::CoreError;
use serde_json::json;

use crate::AppState;

pub(crate) const PREFIX: &str = "/compute";

/// The newest microversion served. Every change up to it that touches a resource served
/// here is implemented (see `views` for the server body's per-version fields).
pub const MAX_VERSION: Mv = Mv(2, 38);
pub const MIN_VERSION: Mv = Mv(2, 1);

pub(crate) fn router() -> Router<AppState> {
    v21()
        // The version documents are outside the microversion layer: they describe it.
        .merge(versions::router())
        .route(&format!("{PREFIX}/v2/{{*rest}}"), axum::routing::any(legacy))
}

fn v21() -> Router<AppState> {
    Router::new()
        .merge(servers::router())
        .merge(server_actions::router())
        .merge(server_meta::router())
        .merge(server_groups::router())
        .merge(flavors::router())
        .merge(images::router())
        .merge(keypairs::router())
        .merge(instance_actions::router())
        .merge(quotas::router())
        .merge(zones::router())
        .merge(security_groups::router())
        .merge(volume_attachments::router())
        .layer(axum::middleware::from_fn(microversion_layer))
}

/// The legacy v2.0 endpoint: the v2.1 API at microversion 2.1, whatever version is asked.
async fn legacy(axum::extract::State(st): axum::extract::State<AppState>, mut req: Request) -> Response {
    use tower::ServiceExt;
    let rest = req.uri().path().strip_prefix(&format!("{PREFIX}/v2/")).unwrap_or("").to_string();
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    match format!("{PREFIX}/v2.1/{rest}{query}").parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return nova_error(StatusCode::NOT_FOUND, "The resource could not be found."),
    }
    req.headers_mut().remove("openstack-api-version");
    req.headers_mut().remove("x-openstack-nova-api-version");
    let router = st.legacy_compute.get_or_init(|| v21().with_state(st.clone())).clone();
    match router.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// `/compute/v2.1` + `rest`.
pub(crate) fn path(rest: &str) -> String {
    format!("{PREFIX}/v2.1{rest}")
}

/// Nova's error body: `{"itemNotFound": {"code": 404, "message": "…"}}`.
#[derive(Debug)]
pub struct NovaError(pub CoreError);

impl From<CoreError> for NovaError {
    fn from(e: CoreError) -> Self {
        NovaError(e)
    }
}

impl From<crate::ApiError> for NovaError {
    fn from(e: crate::ApiError) -> Self {
        NovaError(e.0)
    }
}

pub(crate) fn nova_error(status: StatusCode, message: &str) -> Response {
    let key = match status {
        StatusCode::BAD_REQUEST => "badRequest",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "itemNotFound",
        StatusCode::METHOD_NOT_ALLOWED => "badMethod",
        StatusCode::NOT_ACCEPTABLE => "notAcceptable",
        StatusCode::CONFLICT => "conflictingRequest",
        StatusCode::PAYLOAD_TOO_LARGE => "overLimit",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupportedMediaType",
        StatusCode::NOT_IMPLEMENTED => "notImplemented",
        _ => "computeFault",
    };
    (status, axum::Json(json!({ key: {"code": status.as_u16(), "message": message} }))).into_response()
}

impl IntoResponse for NovaError {
    fn into_response(self) -> Response {
        let (status, message) = crate::error::status_and_message(&self.0);
        nova_error(status, &message)
    }
}

pub(crate) type Result<T> = std::result::Result<T, NovaError>;

/// Nova's answers for the shared skeleton (`toolkit`): the microversion, a required body
/// object named in Nova's words, `limit` with a next link only when more remain, and Nova's
/// error body.
pub(crate) struct Nova;

impl crate::toolkit::Service for Nova {
    type Error = NovaError;
    type Version = Mv;
    const PATCH: bool = false;
    const CREATED: StatusCode = StatusCode::OK;

    fn path(rest: &str) -> String {
        path(rest)
    }

    fn body(bytes: &[u8], key: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
        match json_body(bytes)?.get(key) {
            Some(serde_json::Value::Object(m)) => Ok(m.clone()),
            _ => Err(bad(format!("'{key}' is a required property."))),
        }
    }

    fn list(
        state: &AppState,
        query: crate::toolkit::Params,
        key: &str,
        _: &str,
        mut items: Vec<serde_json::Value>,
        _: &[&str],
        uri: &str,
    ) -> Result<Response> {
        let mut body = json!({});
        if let Some((_, l)) = query.iter().find(|(k, _)| k == "limit") {
            let l: usize = l.parse().map_err(|_| bad(format!("Invalid limit [{l}]")))?;
            if items.len() > l {
                items.truncate(l);
                if let Some(last) = items.last().and_then(|i| i.get("id")).and_then(serde_json::Value::as_str) {
                    let href = format!("{}{uri}?limit={l}&marker={last}", state.public_url());
                    body[format!("{key}_links")] = json!([{"rel": "next", "href": href}]);
                }
            }
        }
        body[key] = serde_json::Value::Array(items);
        Ok(axum::Json(body).into_response())
    }

    fn show(_: crate::toolkit::Params, key: &str, item: serde_json::Value) -> Result<Response> {
        Ok(axum::Json(json!({ key: item })).into_response())
    }
}

pub(crate) fn bad(m: impl Into<String>) -> NovaError {
    NovaError(CoreError::BadRequest(m.into()))
}

/// A compute microversion, `2.x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mv(pub u16, pub u16);

impl Mv {
    pub fn at_least(self, minor: u16) -> bool {
        self >= Mv(2, minor)
    }

    fn parse(s: &str) -> Option<Mv> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("latest") {
            return Some(MAX_VERSION);
        }
        let (a, b) = s.split_once('.')?;
        Some(Mv(a.parse().ok()?, b.parse().ok()?))
    }

    fn render(self) -> String {
        format!("{}.{}", self.0, self.1)
    }
}

/// The requested microversion, or why it cannot be served.
fn requested(headers: &HeaderMap) -> std::result::Result<Mv, (StatusCode, String)> {
    let from_new = headers.get_all("openstack-api-version").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.split(',').find_map(|part| {
            let mut it = part.split_whitespace();
            (it.next()?.eq_ignore_ascii_case("compute")).then(|| it.next().unwrap_or("").to_string())
        })
    });
    let raw = from_new
        .or_else(|| headers.get("x-openstack-nova-api-version").and_then(|v| v.to_str().ok()).map(str::to_string));
    let Some(raw) = raw else { return Ok(MIN_VERSION) };
    let Some(v) = Mv::parse(&raw) else {
        return Err((StatusCode::BAD_REQUEST, format!("Version {raw} is not a valid microversion; use the form 2.x.")));
    };
    if v < MIN_VERSION || v > MAX_VERSION {
        return Err((
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {} is not supported by the API. Minimum is {} and maximum is {}.",
                v.render(),
                MIN_VERSION.render(),
                MAX_VERSION.render()
            ),
        ));
    }
    Ok(v)
}

fn stamp(resp: &mut Response, v: Mv) {
    let h = resp.headers_mut();
    if let Ok(x) = HeaderValue::from_str(&format!("compute {}", v.render())) {
        h.insert("openstack-api-version", x);
    }
    if let Ok(x) = HeaderValue::from_str(&v.render()) {
        h.insert("x-openstack-nova-api-version", x);
    }
    h.insert("vary", HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"));
}

async fn microversion_layer(mut req: Request, next: Next) -> Response {
    match requested(req.headers()) {
        Ok(v) => {
            req.extensions_mut().insert(v);
            let mut resp = next.run(req).await;
            stamp(&mut resp, v);
            resp
        }
        Err((status, message)) => {
            let mut resp = nova_error(status, &message);
            stamp(&mut resp, MIN_VERSION);
            resp
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Mv {
    type Rejection = NovaError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> std::result::Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Mv>().copied().unwrap_or(MIN_VERSION))
    }
}

/// The JSON body of a request, parsed; a malformed one is a 400 that says why.
pub(crate) fn json_body(bytes: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(bytes).map_err(|e| bad(format!("Malformed request body: {e}")))
}

/// Nova answers an action it accepted with 202 and no body.
pub(crate) fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}
