//! The one skeleton the list, show, create, update and delete routes of a resource share. A
//! resource says what it is called, how core lists, reads, makes, changes and removes it, and
//! how one is rendered; its service says how a body is read, how a list and a single object
//! are answered (Neutron's filters, sort, paging and `fields`; Keystone's attribute filters
//! and links; Cinder's summary and detail lists and next links), which version of the API a
//! request asks for (Cinder's microversion), what the path holds beside the id (Cinder's
//! project), and carries its own error body.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::policy::RequestContext;
use hybridstack_core::CoreError;
use serde_json::{json, Map, Value};

use crate::auth::Call;
use crate::routes::Router;
use crate::AppState;

/// A request's query parameters, in order.
pub(crate) type Params = Vec<(String, String)>;

/// The object a create or an update carries, taken out of its wrapper key.
pub(crate) type Object = Map<String, Value>;

/// The parameters of a request's path, by name (`id`, and Cinder's `project_id`).
pub(crate) type PathParams = Vec<(String, String)>;

/// Which answer an item is rendered for. Neutron and Keystone render one shape for all;
/// Cinder answers a create, an update, a plain list and a show (or detail list) each in
/// its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Created,
    Updated,
    /// An item of `/things` where the service also serves `/things/detail`.
    Brief,
    Full,
}

/// How to render: the view and the API version the request asked for.
pub(crate) struct How<S: Service> {
    pub view: View,
    pub version: S::Version,
}

/// How one OpenStack service answers.
pub(crate) trait Service: Send + Sync + 'static {
    /// The service's error body.
    type Error: From<CoreError> + IntoResponse + Send + 'static;

    /// The API version a request asks for (`()` where the service has none).
    type Version: FromRequestParts<AppState> + Copy + Send + Sync + 'static;

    /// Updates are PATCH (Keystone) rather than PUT (Neutron, Cinder).
    const PATCH: bool;

    /// What a create and a delete answer.
    const CREATED: StatusCode = StatusCode::CREATED;
    const DELETED: StatusCode = StatusCode::NO_CONTENT;

    /// Whether lists come in two shapes: `/things` (brief) and `/things/detail` (full).
    const DETAIL: bool = false;

    /// Checks what the path holds beside the id.
    fn check(ctx: &RequestContext, path: &PathParams) -> Result<(), Self::Error> {
        let _ = (ctx, path);
        Ok(())
    }

    /// The route of `rest` under the service's prefix.
    fn path(rest: &str) -> String;

    /// The object under `key` in a request body.
    fn body(bytes: &[u8], key: &str) -> Result<Map<String, Value>, Self::Error>;

    /// A list response of rendered items; `skip` names parameters the resource handled, and
    /// `uri` is the path the request came to.
    fn list(
        state: &AppState,
        query: Params,
        key: &str,
        rest: &str,
        items: Vec<Value>,
        skip: &[&str],
        uri: &str,
    ) -> Result<Response, Self::Error>;

    /// A single object's response.
    fn show(query: Params, key: &str, item: Value) -> Result<Response, Self::Error>;
}

pub(crate) type Error<R> = <<R as Resource>::Service as Service>::Error;
pub(crate) type Version<R> = <<R as Resource>::Service as Service>::Version;

/// One resource served by the skeleton. Its methods are the trait's own `async fn`s (their
/// futures `Send`, as axum's handlers need), so that `names!` and `passes_to!` can write the
/// lines every resource would otherwise repeat.
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
    /// What a create answers (a Cinder volume type: 200, where its volumes answer 202).
    const CREATED: StatusCode = <Self::Service as Service>::CREATED;
    /// Whether it has a detail list beside the plain one (Cinder's volume types do not).
    const DETAIL: bool = <Self::Service as Service>::DETAIL;
    /// List parameters `list` handles itself, left out of the service's attribute filters.
    const HANDLED: &'static [&'static str] = &[];

    fn render(
        state: &AppState,
        ctx: &RequestContext,
        item: &Self::Item,
        how: &How<Self::Service>,
    ) -> Result<Value, Error<Self>>;

    fn list(
        state: &AppState,
        ctx: &RequestContext,
        query: &Params,
    ) -> impl Future<Output = Result<Vec<Self::Item>, Error<Self>>> + Send;

    fn show(
        state: &AppState,
        ctx: &RequestContext,
        id: &str,
    ) -> impl Future<Output = Result<Self::Item, Error<Self>>> + Send;

    fn create(
        state: &AppState,
        ctx: &RequestContext,
        body: Object,
    ) -> impl Future<Output = Result<Self::Item, Error<Self>>> + Send;

    fn update(
        state: &AppState,
        ctx: &RequestContext,
        id: &str,
        body: Object,
    ) -> impl Future<Output = Result<Self::Item, Error<Self>>> + Send {
        let _ = (state, ctx, body);
        let refused = Err(CoreError::BadRequest(format!("{} {id} cannot be changed once made.", Self::ONE)).into());
        std::future::ready(refused)
    }

    fn delete(state: &AppState, ctx: &RequestContext, id: &str)
        -> impl Future<Output = Result<(), Error<Self>>> + Send;

    /// What a delete answers (a Nova flavor: 202, where its server groups answer 204).
    fn deleted(version: Version<Self>) -> StatusCode {
        let _ = version;
        <Self::Service as Service>::DELETED
    }

    /// A delete that reads the query and the version (Cinder's `force` from 3.23).
    fn delete_asked(
        state: &AppState,
        ctx: &RequestContext,
        id: &str,
        query: &Params,
        version: Version<Self>,
    ) -> impl Future<Output = Result<(), Error<Self>>> + Send {
        let _ = (query, version);
        Self::delete(state, ctx, id)
    }
}

/// A resource's service, item type and names, in one line:
/// `names!(Keystone, Group, "group", "groups", "/groups");`, optionally followed by what
/// `passes_to!` takes: `…, "/groups"; identity: list group_list, show group_get);`.
macro_rules! names {
    ($service:ty, $item:ty, $one:literal, $many:literal, $path:literal) => {
        type Service = $service;
        type Item = $item;
        const ONE: &'static str = $one;
        const MANY: &'static str = $many;
        const PATH: &'static str = $path;
    };
    ($service:ty, $item:ty, $one:literal, $many:literal, $path:literal; $($passes:tt)+) => {
        crate::toolkit::names!($service, $item, $one, $many, $path);
        crate::toolkit::passes_to!($($passes)+);
    };
}
pub(crate) use names;

/// The methods that pass straight to one core service, named by what they call:
/// `passes_to!(identity: list group_list, show group_get, delete group_delete);` (any of
/// the three, in that order).
macro_rules! passes_to {
    (@one [$($svc:ident).+] list $f:ident) => {
        async fn list(
            st: &crate::AppState,
            ctx: &hybridstack_core::policy::RequestContext,
            _: &crate::toolkit::Params,
        ) -> std::result::Result<Vec<Self::Item>, crate::toolkit::Error<Self>> {
            Ok(st.$($svc).+.$f(ctx).await?)
        }
    };
    (@one [$($svc:ident).+] show $f:ident) => {
        async fn show(
            st: &crate::AppState,
            ctx: &hybridstack_core::policy::RequestContext,
            id: &str,
        ) -> std::result::Result<Self::Item, crate::toolkit::Error<Self>> {
            Ok(st.$($svc).+.$f(ctx, id).await?)
        }
    };
    (@one [$($svc:ident).+] delete $f:ident) => {
        async fn delete(
            st: &crate::AppState,
            ctx: &hybridstack_core::policy::RequestContext,
            id: &str,
        ) -> std::result::Result<(), crate::toolkit::Error<Self>> {
            Ok(st.$($svc).+.$f(ctx, id).await?)
        }
    };
    (@all $svc:tt $($method:ident $f:ident),+) => {
        $(crate::toolkit::passes_to!(@one $svc $method $f);)+
    };
    ($($svc:ident).+: $($method:ident $f:ident),+) => {
        crate::toolkit::passes_to!(@all [$($svc).+] $($method $f),+);
    };
}
pub(crate) use passes_to;

/// The id in a checked path.
fn id_in<R: Resource>(ctx: &RequestContext, path: &PathParams) -> Result<String, Error<R>> {
    R::Service::check(ctx, path)?;
    Ok(path.iter().find(|(k, _)| k == "id").map(|(_, v)| v.clone()).unwrap_or_default())
}

/// A list: `FULL` for the detail route, else the plain one (brief where the resource has a
/// detail route as well).
async fn list<R: Resource, const FULL: bool>(
    Call(s, ctx): Call,
    version: Version<R>,
    Path(path): Path<PathParams>,
    Query(q): Query<Params>,
    uri: Uri,
) -> Result<Response, Error<R>> {
    R::Service::check(&ctx, &path)?;
    let how = How { view: if FULL || !R::DETAIL { View::Full } else { View::Brief }, version };
    let items = R::list(&s, &ctx, &q).await?;
    let rendered = items.iter().map(|i| R::render(&s, &ctx, i, &how)).collect::<Result<Vec<_>, _>>()?;
    R::Service::list(&s, q, R::MANY, R::PATH, rendered, R::HANDLED, uri.path())
}

async fn show<R: Resource>(
    Call(s, ctx): Call,
    version: Version<R>,
    Path(path): Path<PathParams>,
    Query(q): Query<Params>,
) -> Result<Response, Error<R>> {
    let item = R::show(&s, &ctx, &id_in::<R>(&ctx, &path)?).await?;
    R::Service::show(q, R::ONE, R::render(&s, &ctx, &item, &How { view: View::Full, version })?)
}

fn one(status: StatusCode, key: &str, item: Value) -> Response {
    (status, axum::Json(json!({ key: item }))).into_response()
}

async fn create<R: Resource>(
    Call(s, ctx): Call,
    version: Version<R>,
    Path(path): Path<PathParams>,
    body: Bytes,
) -> Result<Response, Error<R>> {
    R::Service::check(&ctx, &path)?;
    let b = R::Service::body(&body, R::ONE)?;
    let item = R::create(&s, &ctx, b).await?;
    Ok(one(R::CREATED, R::ONE, R::render(&s, &ctx, &item, &How { view: View::Created, version })?))
}

async fn update<R: Resource>(
    Call(s, ctx): Call,
    version: Version<R>,
    Path(path): Path<PathParams>,
    body: Bytes,
) -> Result<Response, Error<R>> {
    let id = id_in::<R>(&ctx, &path)?;
    let b = R::Service::body(&body, R::ONE)?;
    let item = R::update(&s, &ctx, &id, b).await?;
    Ok(one(StatusCode::OK, R::ONE, R::render(&s, &ctx, &item, &How { view: View::Updated, version })?))
}

async fn delete<R: Resource>(
    Call(s, ctx): Call,
    version: Version<R>,
    Path(path): Path<PathParams>,
    Query(q): Query<Params>,
) -> Result<Response, Error<R>> {
    R::delete_asked(&s, &ctx, &id_in::<R>(&ctx, &path)?, &q, version).await?;
    Ok(R::deleted(version).into_response())
}

/// The collection route (list, create), the detail list where the service has one, and the
/// member route (show, update, delete).
pub(crate) fn routes<R: Resource>() -> Router<AppState> {
    let mut member = get(show::<R>).delete(delete::<R>);
    if R::UPDATABLE {
        member = if R::Service::PATCH { member.patch(update::<R>) } else { member.put(update::<R>) };
    }
    let mut r = Router::new()
        .route(&R::Service::path(R::PATH), get(list::<R, false>).post(create::<R>))
        .route(&R::Service::path(&format!("{}/{{id}}", R::PATH)), member);
    if R::DETAIL {
        r = r.route(&R::Service::path(&format!("{}/detail", R::PATH)), get(list::<R, true>));
    }
    r
}
