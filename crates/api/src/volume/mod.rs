//! Cinder v3 at `/volume`, under `/volume/v3/{project_id}`. One module per resource; this
//! file holds what they share: the project in the URL, and microversions (`OpenStack-API-
//! Version: volume 3.x`, echoed on every response). Cinder's error body has Nova's shape, so
//! the compute module's error type serves both.

mod attachments;
mod extensions;
mod limits;
mod metadata;
mod quotas;
mod snapshots;
#[cfg(test)]
mod tests;
mod types;
mod versions;
mod volumes;
mod zones;

use crate::routes::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hybridstack_core::policy::RequestContext;

use crate::auth::Call;
use crate::compute::{nova_error, NovaError};
use crate::AppState;

pub(crate) const PREFIX: &str = "/volume";

/// The newest microversion served. Between 3.0 and it, hybridstack answers in each
/// version's shape: `volumes/summary` (3.12), `group_id` (3.13), `group_snapshot_id` (3.14),
/// `provider_id` for admins (3.21), delete with `force` (3.23) and the attachments API
/// (3.27). A request for a newer one is refused (406) rather than answered in an older shape.
pub(crate) const MAX_MINOR: u16 = 27;

/// The volume microversion of a request, `3.x` as its minor number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct VolMv(pub u16);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for VolMv {
    type Rejection = NovaError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<VolMv>().copied().unwrap_or(VolMv(0)))
    }
}

/// Refuses a resource or action that only exists from `3.{minor}` on, as Cinder does: the
/// route is not there below it.
fn require(mv: VolMv, minor: u16) -> Result<()> {
    if mv.0 >= minor {
        return Ok(());
    }
    Err(NovaError(hybridstack_core::CoreError::NotFound(format!(
        "The resource could not be found: it needs volume microversion 3.{minor} or later."
    ))))
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(volumes::router())
        .merge(snapshots::router())
        .merge(types::router())
        .merge(zones::router())
        .merge(extensions::router())
        .merge(quotas::router())
        .merge(limits::router())
        .merge(attachments::router())
        .layer(axum::middleware::from_fn(microversion_layer))
        .merge(versions::router())
}

pub(crate) type Result<T> = std::result::Result<T, NovaError>;

/// Cinder's answers for the shared skeleton (`toolkit`): the project in the path, the
/// microversion, 202 for a create or delete, summary and detail lists with next links, and
/// Nova's error body.
pub(crate) struct Cinder;

impl crate::toolkit::Service for Cinder {
    type Error = NovaError;
    type Version = VolMv;
    const PATCH: bool = false;
    const CREATED: StatusCode = StatusCode::ACCEPTED;
    const DELETED: StatusCode = StatusCode::ACCEPTED;
    const DETAIL: bool = true;

    fn check(ctx: &RequestContext, path: &crate::toolkit::PathParams) -> Result<()> {
        let project = path.iter().find(|(k, _)| k == "project_id").map_or("", |(_, v)| v.as_str());
        check_project(ctx, project)
    }

    fn path(rest: &str) -> String {
        route(rest)
    }

    fn body(bytes: &[u8], key: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
        let body = crate::compute::json_body(bytes)?;
        Ok(object_in(&body, key)?.as_object().cloned().unwrap_or_default())
    }

    fn list(
        state: &AppState,
        query: crate::toolkit::Params,
        key: &str,
        _: &str,
        items: Vec<serde_json::Value>,
        _: &[&str],
        uri: &str,
    ) -> Result<Response> {
        let next = ListQuery { pairs: query }.next(&items, &format!("{}{uri}", state.public_url()))?;
        let mut body = serde_json::json!({ key: items });
        if let Some(n) = next {
            body[format!("{key}_links")] = n;
        }
        Ok(axum::response::IntoResponse::into_response(axum::Json(body)))
    }

    fn show(_: crate::toolkit::Params, key: &str, item: serde_json::Value) -> Result<Response> {
        Ok(axum::response::IntoResponse::into_response(axum::Json(serde_json::json!({ key: item }))))
    }
}

/// `/volume/v3/{project_id}` + `rest`, as the route pattern.
fn route(rest: &str) -> String {
    format!("{PREFIX}/v3/{{project_id}}{rest}")
}

/// The project in the URL must be the token's (Cinder says "Malformed request url"), unless
/// an admin acts on another project.
/// The state and a caller allowed in the path's project (its own, or any for an
/// administrator): every Cinder route's first argument, so none can forget the check.
pub(crate) struct InProject(pub AppState, pub std::sync::Arc<RequestContext>);

impl axum::extract::FromRequestParts<AppState> for InProject {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        use axum::extract::Path;
        let Call(st, ctx) = Call::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let project = params.iter().find(|(k, _)| k == "project_id").map(|(_, v)| v.as_str()).unwrap_or_default();
        check_project(&ctx, project).map_err(IntoResponse::into_response)?;
        Ok(InProject(st, ctx))
    }
}

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

async fn microversion_layer(mut req: Request, next: Next) -> Response {
    let (mut resp, minor) = match requested_minor(&req) {
        Ok(m) => {
            req.extensions_mut().insert(VolMv(m));
            (next.run(req).await, m)
        }
        Err((status, message)) => (nova_error(status, &message), 0),
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("volume 3.{minor}")) {
        h.insert("openstack-api-version", v);
    }
    h.insert("vary", HeaderValue::from_static("OpenStack-API-Version"));
    resp
}

/// The object under `key` of a request body (`{"volume": {…}}`).
fn object_in<'a>(body: &'a serde_json::Value, key: &str) -> Result<&'a serde_json::Value> {
    body.get(key)
        .filter(|v| v.is_object())
        .ok_or_else(|| crate::compute::bad(format!("The request body must hold a {key} object.")))
}

/// An action body (`{"os-extend": {…}}`): its name and arguments.
fn action_of(body: &serde_json::Value) -> Result<(&str, &serde_json::Value)> {
    body.as_object()
        .and_then(|o| o.iter().next())
        .map(|(k, v)| (k.as_str(), v))
        .ok_or_else(|| crate::compute::bad("The request body must name one action."))
}

/// An optional string field; anything but a string or null is a 400 naming it.
fn text(v: &serde_json::Value, key: &str) -> Result<Option<String>> {
    match v.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => {
            Err(crate::compute::bad(format!("Invalid input received: {key} must be a string, not {other}.")))
        }
    }
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

/// What a Cinder list sorts by: an id, and each sort key's value as text that sorts in the
/// value's order.
pub(super) trait Sortable {
    fn id(&self) -> &str;
    fn sort_value(&self, key: &str) -> Option<String>;
}

/// Volumes and snapshots sort by the same fields.
macro_rules! sortable {
    ($($t:ty),*) => {$(
        impl Sortable for $t {
            fn id(&self) -> &str {
                &self.id
            }

            fn sort_value(&self, key: &str) -> Option<String> {
                match key {
                    "created_at" => Some(self.created_at.clone()),
                    "updated_at" => Some(self.updated_at.clone()),
                    "id" => Some(self.id.clone()),
                    "name" => self.name.clone(),
                    "size" => Some(format!("{:020}", self.size)),
                    "status" => Some(self.status.clone()),
                    _ => None,
                }
            }
        }
    )*};
}
sortable!(hybridstack_core::volume::model::Volume, hybridstack_core::volume::model::Snapshot);

/// A list request's query: filters, sorting and paging, as Cinder reads them.
pub(super) struct ListQuery {
    pairs: Vec<(String, String)>,
}

impl ListQuery {
    pub(super) fn parse(raw: Option<String>) -> Self {
        Self { pairs: form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect() }
    }

    pub(super) fn of(pairs: &[(String, String)]) -> Self {
        Self { pairs: pairs.to_vec() }
    }

    pub(super) fn get(&self, k: &str) -> Option<&str> {
        self.pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }

    pub(super) fn flag(&self, k: &str) -> bool {
        self.get(k).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
    }

    fn number(&self, k: &str) -> Result<Option<usize>> {
        self.get(k)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    crate::compute::bad(format!("Invalid input received: {k} {v:?} must be a non-negative integer."))
                })
            })
            .transpose()
    }

    /// `metadata={'k': 'v'}` (a Python dict, as Tempest and the CLI send it) or JSON.
    pub(super) fn metadata(&self) -> Result<Option<std::collections::BTreeMap<String, String>>> {
        let Some(raw) = self.get("metadata") else { return Ok(None) };
        let json = raw.replace('\'', "\"");
        serde_json::from_str(&json).map(Some).map_err(|_| {
            crate::compute::bad(format!("Invalid input received: metadata {raw:?} is not a dict of strings."))
        })
    }

    /// (key, descending) pairs from `sort=k:dir,…` or `sort_key`/`sort_dir`; default newest
    /// first.
    fn sort(&self) -> Vec<(String, bool)> {
        let norm = |k: &str| if k == "display_name" { "name".to_string() } else { k.to_string() };
        if let Some(s) = self.get("sort") {
            return s
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once(':') {
                    Some((k, d)) => (norm(k), !d.eq_ignore_ascii_case("asc")),
                    None => (norm(p), true),
                })
                .collect();
        }
        match self.get("sort_key") {
            Some(k) => vec![(norm(k), self.get("sort_dir").is_none_or(|d| !d.eq_ignore_ascii_case("asc")))],
            None => vec![("created_at".into(), true)],
        }
    }

    /// Sorts, then applies `marker`, `offset` and `limit`.
    pub(super) fn page<T: Sortable>(&self, mut items: Vec<T>) -> Result<Vec<T>> {
        let (id, field) = (T::id, T::sort_value);
        let keys = self.sort();
        for (k, _) in &keys {
            if !matches!(k.as_str(), "created_at" | "updated_at" | "id" | "name" | "size" | "status") {
                return Err(crate::compute::bad(format!("Invalid input received: invalid sort key {k}.")));
            }
        }
        items.sort_by(|a, b| {
            for (k, desc) in &keys {
                let o = field(a, k).cmp(&field(b, k));
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            id(b).cmp(id(a))
        });
        if let Some(m) = self.get("marker") {
            let at = items.iter().position(|i| id(i) == m).ok_or_else(|| {
                crate::compute::NovaError(hybridstack_core::CoreError::NotFound(format!(
                    "Marker {m} could not be found."
                )))
            })?;
            items.drain(..=at);
        }
        if let Some(o) = self.number("offset")? {
            items.drain(..o.min(items.len()));
        }
        if let Some(l) = self.number("limit")? {
            items.truncate(l);
        }
        Ok(items)
    }

    /// The link to the page after `page` (rendered items), when it is full: Cinder gives one
    /// even if that page will be empty.
    fn next(&self, page: &[serde_json::Value], base: &str) -> Result<Option<serde_json::Value>> {
        let last = page.last().and_then(|i| i.get("id")).and_then(serde_json::Value::as_str);
        Ok(match (self.number("limit")?, last) {
            (Some(l), Some(last)) if page.len() == l => {
                let mut q: Vec<(String, String)> =
                    self.pairs.iter().filter(|(k, _)| k != "marker" && k != "offset").cloned().collect();
                q.push(("marker".into(), last.to_string()));
                let qs = form_urlencoded::Serializer::new(String::new()).extend_pairs(q).finish();
                Some(serde_json::json!([{"rel": "next", "href": format!("{base}?{qs}")}]))
            }
            _ => None,
        })
    }
}
