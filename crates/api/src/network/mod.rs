//! Neutron v2.0 at `/network`. One module per resource; this file holds what every list and
//! body shares: `fields=` selection, attribute filters, sorting and marker paging, and
//! Neutron's error body.

mod floating_ips;
mod networks;
mod ports;
mod quotas;
mod routers;
mod security_group_rules;
mod security_groups;
mod subnet_pools;
mod subnets;
mod tags;
mod versions;

#[cfg(test)]
mod tests;

use crate::routes::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hybridstack_core::CoreError;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::AppState;

pub(crate) const PREFIX: &str = "/network";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(versions::router())
        .merge(networks::router())
        .merge(subnets::router())
        .merge(ports::router())
        .merge(quotas::router())
        .merge(routers::router())
        .merge(floating_ips::router())
        .merge(security_groups::router())
        .merge(security_group_rules::router())
        .merge(subnet_pools::router())
        .merge(tags::router())
}

/// `/network/v2.0` + `rest`.
pub(crate) fn path(rest: &str) -> String {
    format!("{PREFIX}/v2.0{rest}")
}

/// Neutron's error body: `{"NeutronError": {"type", "message", "detail"}}`.
#[derive(Debug)]
pub struct NeutronError(pub CoreError);

impl From<CoreError> for NeutronError {
    fn from(e: CoreError) -> Self {
        NeutronError(e)
    }
}

impl From<crate::ApiError> for NeutronError {
    fn from(e: crate::ApiError) -> Self {
        NeutronError(e.0)
    }
}

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        let (status, message) = crate::error::status_and_message(&self.0);
        // Network faults carry their Neutron type as a `Type: ` prefix (see core::network::fault).
        let (kind, message) = match message.split_once(": ") {
            Some((k, m))
                if !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric())
                    && k.starts_with(|c: char| c.is_ascii_uppercase()) =>
            {
                (k.to_string(), m.to_string())
            }
            _ => {
                let k = match status {
                    StatusCode::NOT_FOUND => "NotFound",
                    StatusCode::CONFLICT => "Conflict",
                    StatusCode::FORBIDDEN => "PolicyNotAuthorized",
                    StatusCode::UNAUTHORIZED => "NotAuthorized",
                    StatusCode::BAD_REQUEST => "BadRequest",
                    _ => "InternalError",
                };
                (k.to_string(), message)
            }
        };
        (status, axum::Json(json!({"NeutronError": {"type": kind, "message": message, "detail": ""}}))).into_response()
    }
}

pub(crate) type Result<T> = std::result::Result<T, NeutronError>;

fn bad(m: String) -> NeutronError {
    NeutronError(CoreError::BadRequest(format!("InvalidInput: {m}")))
}

/// A resource as Neutron shows it: its fields plus the `tenant_id` alias, without internals.
pub(crate) fn show<T: Serialize>(item: &T, hide: &[&str]) -> Result<Map<String, Value>> {
    let v = serde_json::to_value(item).map_err(|e| NeutronError(CoreError::Internal(e.to_string())))?;
    let Value::Object(mut m) = v else { return Err(NeutronError(CoreError::Internal("not an object".into()))) };
    for h in hide {
        m.remove(*h);
    }
    if let Some(p) = m.get("project_id").cloned() {
        m.insert("tenant_id".into(), p);
    }
    Ok(m)
}

/// The query of a list or show: `fields`, filters, sort and paging.
#[derive(Default)]
pub(crate) struct ListQuery {
    pub fields: Vec<String>,
    pub filters: Vec<(String, String)>,
    pub sort: Vec<(String, bool)>,
    pub limit: Option<usize>,
    pub marker: Option<String>,
}

impl ListQuery {
    pub fn parse(pairs: Vec<(String, String)>) -> Result<Self> {
        let mut q = ListQuery::default();
        let (mut keys, mut dirs) = (Vec::new(), Vec::new());
        for (k, v) in pairs {
            match k.as_str() {
                "fields" => q.fields.push(v),
                "sort_key" => keys.push(v),
                "sort_dir" => dirs.push(match v.as_str() {
                    "asc" => true,
                    "desc" => false,
                    _ => return Err(bad(format!("Invalid input for operation: {v} is not a valid sort direction."))),
                }),
                "limit" => {
                    q.limit = Some(
                        v.parse().map_err(|_| bad(format!("Invalid input for operation: '{v}' is not an integer.")))?,
                    )
                }
                "marker" => q.marker = Some(v),
                "page_reverse" => {}
                _ => q.filters.push((k, v)),
            }
        }
        if !dirs.is_empty() && dirs.len() != keys.len() {
            return Err(bad("Invalid input for operation: The number of sort_keys and sort_dirs must be same.".into()));
        }
        q.sort = keys.into_iter().enumerate().map(|(i, k)| (k, dirs.get(i).copied().unwrap_or(true))).collect();
        Ok(q)
    }

    fn matches(&self, item: &Map<String, Value>) -> bool {
        let mut by_key: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (k, v) in &self.filters {
            by_key.entry(k.as_str()).or_default().push(v.as_str());
        }
        by_key.into_iter().all(|(k, wants)| match item.get(k) {
            // Filters on attributes this resource does not have select nothing extra.
            None => true,
            Some(Value::String(s)) => wants.contains(&s.as_str()),
            Some(Value::Bool(b)) => wants.iter().any(|w| w.eq_ignore_ascii_case(if *b { "true" } else { "false" })),
            Some(Value::Null) => wants.iter().any(|w| w.is_empty() || *w == "None"),
            Some(Value::Number(n)) => wants.contains(&n.to_string().as_str()),
            Some(Value::Array(a)) => wants.iter().any(|w| a.iter().any(|x| x.as_str() == Some(w))),
            Some(Value::Object(_)) => true,
        })
    }

    /// Keeps only the asked-for fields (all when none were asked).
    pub fn select(&self, mut item: Map<String, Value>) -> Map<String, Value> {
        if !self.fields.is_empty() {
            item.retain(|k, _| self.fields.contains(k));
        }
        item
    }

    /// Filters, sorts, pages and selects; adds `<key>_links` when a limit was given.
    pub fn respond(&self, key: &str, items: Vec<Map<String, Value>>, base: &str) -> Response {
        let mut items: Vec<Map<String, Value>> = items.into_iter().filter(|i| self.matches(i)).collect();
        for (k, asc) in self.sort.iter().rev() {
            items.sort_by(|a, b| {
                let o = cmp_values(a.get(k), b.get(k));
                if *asc {
                    o
                } else {
                    o.reverse()
                }
            });
        }
        if let Some(m) = &self.marker {
            if let Some(pos) = items.iter().position(|i| i.get("id").and_then(Value::as_str) == Some(m)) {
                items.drain(..=pos);
            }
        }
        let mut links = Vec::new();
        if let Some(limit) = self.limit.filter(|l| *l > 0) {
            if items.len() > limit {
                items.truncate(limit);
                if let Some(last) = items.last().and_then(|i| i.get("id")).and_then(Value::as_str) {
                    links.push(json!({"rel": "next", "href": format!("{base}?limit={limit}&marker={last}")}));
                }
            }
        }
        let items: Vec<Value> = items.into_iter().map(|i| Value::Object(self.select(i))).collect();
        let mut body = Map::new();
        body.insert(key.into(), Value::Array(items));
        if self.limit.is_some() {
            body.insert(format!("{key}_links"), Value::Array(links));
        }
        axum::Json(Value::Object(body)).into_response()
    }
}

fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(std::cmp::Ordering::Equal)
        }
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

/// Neutron's answers for the shared skeleton (`toolkit`).
pub(crate) struct Neutron;

fn object_of(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl crate::toolkit::Service for Neutron {
    type Error = NeutronError;
    type Version = ();
    const PATCH: bool = false;

    fn path(rest: &str) -> String {
        path(rest)
    }

    fn body(bytes: &[u8], key: &str) -> Result<Map<String, Value>> {
        body_object(bytes, key)
    }

    fn list(
        state: &AppState,
        query: Vec<(String, String)>,
        key: &str,
        rest: &str,
        items: Vec<Value>,
        _: &[&str],
        _: &str,
    ) -> Result<Response> {
        let q = ListQuery::parse(query)?;
        let items = items.into_iter().map(object_of).collect();
        Ok(q.respond(key, items, &format!("{}{}", state.public_url(), path(rest))))
    }

    fn show(query: Vec<(String, String)>, key: &str, item: Value) -> Result<Response> {
        let q = ListQuery::parse(query)?;
        Ok(one(key, q.select(object_of(item)), StatusCode::OK))
    }
}

/// A list response: the items rendered, then filtered, sorted, paged and field-selected.
pub(crate) fn listing<T>(
    s: &AppState,
    query: Vec<(String, String)>,
    key: &str,
    collection: &str,
    items: &[T],
    render: impl Fn(&T) -> Result<Map<String, Value>>,
) -> Result<Response> {
    let q = ListQuery::parse(query)?;
    let items = items.iter().map(render).collect::<Result<Vec<_>>>()?;
    Ok(q.respond(key, items, &format!("{}{}", s.public_url(), path(collection))))
}

/// A show response with `fields=` applied.
pub(crate) fn showing<T>(
    query: Vec<(String, String)>,
    key: &str,
    item: &T,
    render: impl Fn(&T) -> Result<Map<String, Value>>,
) -> Result<Response> {
    let q = ListQuery::parse(query)?;
    Ok(one(key, q.select(render(item)?), StatusCode::OK))
}

pub(crate) fn one(key: &str, item: Map<String, Value>, status: StatusCode) -> Response {
    (status, axum::Json(json!({ key: Value::Object(item) }))).into_response()
}

/// The object under `key` in a request body.
pub(crate) fn body_object(bytes: &[u8], key: &str) -> Result<Map<String, Value>> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("The request body is not valid JSON: {e}")))?;
    match v.get(key) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(NeutronError(CoreError::BadRequest(format!(
            "BadRequest: Bad request: the body must hold an object '{key}'."
        )))),
    }
}

/// Typed access to request fields, with Neutron's 400s.
pub(crate) trait Body {
    fn string(&self, k: &str) -> Result<Option<String>>;
    /// `None` when absent, `Some(None)` when JSON null.
    fn nullable_string(&self, k: &str) -> Result<Option<Option<String>>>;
    fn boolean(&self, k: &str) -> Result<Option<bool>>;
    fn int(&self, k: &str) -> Result<Option<i64>>;
    fn strings(&self, k: &str) -> Result<Option<Vec<String>>>;
}

impl Body for Map<String, Value> {
    fn string(&self, k: &str) -> Result<Option<String>> {
        Ok(self.nullable_string(k)?.flatten())
    }

    fn nullable_string(&self, k: &str) -> Result<Option<Option<String>>> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
            Some(Value::Number(n)) => Ok(Some(Some(n.to_string()))),
            Some(_) => Err(bad(format!("Invalid input for {k}. Reason: not a string."))),
        }
    }

    fn boolean(&self, k: &str) -> Result<Option<bool>> {
        match self.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(bad(format!("Invalid input for {k}. Reason: '{v}' cannot be converted to boolean."))),
        }
    }

    fn int(&self, k: &str) -> Result<Option<i64>> {
        match self.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                n.as_i64().map(Some).ok_or_else(|| bad(format!("Invalid input for {k}. Reason: not an integer.")))
            }
            Some(Value::String(s)) => {
                s.parse().map(Some).map_err(|_| bad(format!("Invalid input for {k}. Reason: '{s}' is not an integer.")))
            }
            Some(v) => Err(bad(format!("Invalid input for {k}. Reason: '{v}' is not an integer."))),
        }
    }

    fn strings(&self, k: &str) -> Result<Option<Vec<String>>> {
        match self.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(format!("Invalid input for {k}. Reason: not a list of strings.")))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(bad(format!("Invalid input for {k}. Reason: not a list."))),
        }
    }
}
