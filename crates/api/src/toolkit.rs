//! The one skeleton the list, show, create, update and delete routes of a resource share. A
//! resource says what it is called, how core lists, reads, makes, changes and removes it, and
//! how one is rendered; its service says how a body is read and how a list and a single
//! object are answered (Neutron's filters, sort, paging and `fields`; Keystone's attribute
//! filters and links), and carries its own error body.

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;
use serde_json::{json, Map, Value};

use crate::auth::Caller;
use crate::routes::Router;
use crate::AppState;

/// A request's query parameters, in order.
pub(crate) type Params = Vec<(String, String)>;

/// How one OpenStack service answers.
pub(crate) trait Service: Send + Sync + 'static {
    /// The service's error body.
    type Error: From<CoreError> + IntoResponse + Send + 'static;

    /// Updates are PATCH (Keystone) rather than PUT (Neutron).
    const PATCH: bool;

    /// The route of `rest` under the service's prefix.
    fn path(rest: &str) -> String;

    /// The object under `key` in a request body.
    fn body(bytes: &[u8], key: &str) -> Result<Map<String, Value>, Self::Error>;

    /// A list response of rendered items; `skip` names parameters the resource handled.
    fn list(
        state: &AppState,
        query: Params,
        key: &str,
        rest: &str,
        items: Vec<Value>,
        skip: &[&str],
    ) -> Result<Response, Self::Error>;

    /// A single object's response.
    fn show(query: Params, key: &str, item: Value) -> Result<Response, Self::Error>;
}

pub(crate) type Error<R> = <<R as Resource>::Service as Service>::Error;

/// One resource served by the skeleton.
#[async_trait]
pub(crate) trait Resource: Send + Sync + 'static {
    type Service: Service;
    /// What core hands back.
    type Item: Send + Sync;

    /// `network`: the key of one in a body.
    const ONE: &'static str;
    /// `networks`: the key of a list.
    const MANY: &'static str;
    /// `/networks`: the collection's route under the service's prefix.
    const PATH: &'static str;
    /// Whether one can be changed once made (a security-group rule cannot).
    const UPDATABLE: bool = true;
    /// List parameters `list` handles itself, left out of the service's attribute filters.
    const HANDLED: &'static [&'static str] = &[];

    fn render(state: &AppState, ctx: &RequestContext, item: &Self::Item) -> Result<Value, Error<Self>>;

    async fn list(state: &AppState, ctx: &RequestContext, query: &Params) -> Result<Vec<Self::Item>, Error<Self>>;

    async fn show(state: &AppState, ctx: &RequestContext, id: &str) -> Result<Self::Item, Error<Self>>;

    async fn create(
        state: &AppState,
        ctx: &RequestContext,
        body: Map<String, Value>,
    ) -> Result<Self::Item, Error<Self>>;

    async fn update(
        state: &AppState,
        ctx: &RequestContext,
        id: &str,
        body: Map<String, Value>,
    ) -> Result<Self::Item, Error<Self>> {
        let _ = (state, ctx, body);
        Err(CoreError::BadRequest(format!("{} {id} cannot be changed once made.", Self::ONE)).into())
    }

    async fn delete(state: &AppState, ctx: &RequestContext, id: &str) -> Result<(), Error<Self>>;
}

async fn list<R: Resource>(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Query(q): Query<Params>,
) -> Result<Response, Error<R>> {
    let items = R::list(&s, &ctx, &q).await?;
    let rendered = items.iter().map(|i| R::render(&s, &ctx, i)).collect::<Result<Vec<_>, _>>()?;
    R::Service::list(&s, q, R::MANY, R::PATH, rendered, R::HANDLED)
}

async fn show<R: Resource>(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response, Error<R>> {
    let item = R::show(&s, &ctx, &id).await?;
    R::Service::show(q, R::ONE, R::render(&s, &ctx, &item)?)
}

fn one(status: StatusCode, key: &str, item: Value) -> Response {
    (status, axum::Json(json!({ key: item }))).into_response()
}

async fn create<R: Resource>(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    body: Bytes,
) -> Result<Response, Error<R>> {
    let b = R::Service::body(&body, R::ONE)?;
    let item = R::create(&s, &ctx, b).await?;
    Ok(one(StatusCode::CREATED, R::ONE, R::render(&s, &ctx, &item)?))
}

async fn update<R: Resource>(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Error<R>> {
    let b = R::Service::body(&body, R::ONE)?;
    let item = R::update(&s, &ctx, &id, b).await?;
    Ok(one(StatusCode::OK, R::ONE, R::render(&s, &ctx, &item)?))
}

async fn delete<R: Resource>(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, Error<R>> {
    R::delete(&s, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The collection route (list, create) and the member route (show, update, delete).
pub(crate) fn routes<R: Resource>() -> Router<AppState> {
    let mut member = get(show::<R>).delete(delete::<R>);
    if R::UPDATABLE {
        member = if R::Service::PATCH { member.patch(update::<R>) } else { member.put(update::<R>) };
    }
    Router::new()
        .route(&R::Service::path(R::PATH), get(list::<R>).post(create::<R>))
        .route(&R::Service::path(&format!("{}/{{id}}", R::PATH)), member)
}
