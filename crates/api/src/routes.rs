//! The router every service module builds on: axum's, recording each route's path as it is
//! added, so the API's own route table can be walked (the reader-writes test in
//! `write_policy` covers every route, including ones added later, without a list to keep).
//! axum keeps its table private; this is the one place that sees every `route` call.

use std::convert::Infallible;

use axum::extract::Request;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, Route};
use tower::{Layer, Service};

pub(crate) struct Router<S = crate::AppState> {
    inner: axum::Router<S>,
    paths: Vec<String>,
}

impl<S: Clone + Send + Sync + 'static> Router<S> {
    pub fn new() -> Self {
        Self { inner: axum::Router::new(), paths: Vec::new() }
    }

    pub fn route(mut self, path: &str, method_router: MethodRouter<S>) -> Self {
        self.paths.push(path.to_string());
        Self { inner: self.inner.route(path, method_router), paths: self.paths }
    }

    pub fn merge(mut self, other: Router<S>) -> Self {
        self.paths.extend(other.paths);
        Self { inner: self.inner.merge(other.inner), paths: self.paths }
    }

    pub fn layer<L>(self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        Self { inner: self.inner.layer(layer), paths: self.paths }
    }

    pub fn with_state<S2>(self, state: S) -> axum::Router<S2> {
        self.inner.with_state(state)
    }

    /// axum's router, and the path of every route in it.
    pub fn into_parts(self) -> (axum::Router<S>, Vec<String>) {
        (self.inner, self.paths)
    }
}
