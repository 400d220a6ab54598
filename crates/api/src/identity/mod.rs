//! Keystone v3 at `/identity`. One module per resource.

mod app_credentials;
mod auth_scopes;
mod domains;
mod endpoints;
mod groups;
mod projects;
mod regions;
mod role_assignments;
mod roles;
mod services;
mod tokens;
mod users;
mod versions;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::routes::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::AppState;

pub(crate) const PREFIX: &str = "/identity";

pub(crate) use tokens::TokenDocs;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(versions::router())
        .merge(tokens::router())
        .merge(auth_scopes::router())
        .merge(domains::router())
        .merge(projects::router())
        .merge(users::router())
        .merge(groups::router())
        .merge(roles::router())
        .merge(role_assignments::router())
        .merge(regions::router())
        .merge(services::router())
        .merge(endpoints::router())
        .merge(app_credentials::router())
}

/// `/identity/v3` + `rest`.
pub(crate) fn path(rest: &str) -> String {
    format!("{PREFIX}/v3{rest}")
}

pub(crate) fn self_link(state: &AppState, rest: &str) -> Value {
    json!({"self": format!("{}{}", state.public_url(), path(rest))})
}

pub(crate) fn collection(state: &AppState, key: &str, rest: &str, items: Vec<Value>) -> Response {
    let mut body = serde_json::Map::new();
    body.insert(key.into(), Value::Array(items));
    body.insert(
        "links".into(),
        json!({"self": format!("{}{}", state.public_url(), path(rest)), "previous": null, "next": null}),
    );
    (StatusCode::OK, axum::Json(Value::Object(body))).into_response()
}

pub(crate) fn created(key: &str, v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(json!({ key: v }))).into_response()
}

pub(crate) fn ok(key: &str, v: Value) -> Response {
    (StatusCode::OK, axum::Json(json!({ key: v }))).into_response()
}

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Keystone's answers for the shared skeleton (`toolkit`): attribute filters on lists, and
/// a `links` block; no `fields` selection on a single object.
pub(crate) struct Keystone;

impl crate::toolkit::Service for Keystone {
    type Error = crate::ApiError;
    type Version = ();
    const PATCH: bool = true;

    fn path(rest: &str) -> String {
        path(rest)
    }

    fn body(bytes: &[u8], key: &str) -> Result<serde_json::Map<String, Value>, crate::ApiError> {
        crate::body::object(bytes, key)
    }

    fn list(
        state: &AppState,
        query: Vec<(String, String)>,
        key: &str,
        rest: &str,
        items: Vec<Value>,
        skip: &[&str],
        _: &str,
    ) -> Result<Response, crate::ApiError> {
        let q: HashMap<String, String> = query.into_iter().collect();
        Ok(collection(state, key, rest, filter(items, &q, skip)))
    }

    fn show(_: Vec<(String, String)>, key: &str, item: Value) -> Result<Response, crate::ApiError> {
        Ok(ok(key, item))
    }
}

/// Keeps the items whose top-level attributes equal every query parameter that names one;
/// parameters in `skip` are handled by the caller. This is how every identity list takes
/// Keystone's attribute filters (`?name=…&enabled=true&domain_id=…`).
pub(crate) fn filter(items: Vec<Value>, q: &HashMap<String, String>, skip: &[&str]) -> Vec<Value> {
    items
        .into_iter()
        .filter(|item| {
            q.iter().filter(|(k, _)| !skip.contains(&k.as_str())).all(|(k, want)| match item.get(k) {
                None => true,
                Some(Value::String(s)) => s == want,
                Some(Value::Bool(b)) => crate::body::query_bool(want) == Some(*b),
                Some(Value::Null) => want.is_empty() || want == "null",
                Some(other) => &other.to_string() == want,
            })
        })
        .collect()
}
